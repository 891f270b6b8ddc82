"""Render a model's raw dbt SQL when the manifest has no ``compiled_code`` (``dbt parse``), best effort.

``ref()``/``source()`` become the plain table names the caller chooses; the project's own macros (their
``macro_sql`` in the manifest) are rendered with Jinja, ``adapter.dispatch`` picking ``<adapter>__name``
or ``default__name`` as dbt does; ``config()``, ``var()``, ``env_var()``, ``is_incremental()`` and
anything else unknown render as their default or nothing. Without Jinja (it comes with the ``dbt``
extra), or when a template cannot be rendered, a regex pass resolves ``ref``/``source``, turns a macro
call on quoted column names (``{{ cents_to_dollars('amount') }}``) into a function call on the columns
and blanks the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dativo_ingest.logging import get_logger

logger = get_logger(__name__)

RefResolver = Callable[[str, str | None], str]
SourceResolver = Callable[[str, str], str]

_REF = re.compile(r"\{\{\s*ref\(\s*['\"]([^'\"]+)['\"](?:\s*,\s*['\"]([^'\"]+)['\"])?[^)]*\)\s*\}\}")
_SOURCE = re.compile(r"\{\{\s*source\(\s*['\"]([^'\"]+)['\"]\s*,\s*['\"]([^'\"]+)['\"]\s*\)\s*\}\}")
_MACRO_CALL = re.compile(r"\{\{-?\s*(?:\w+\.)?(\w+)\(([^{}()]*)\)\s*-?\}\}")
_JINJA_EXPR = re.compile(r"\{\{.*?\}\}", re.S)
_JINJA_BLOCK = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)
_CALLED = re.compile(r"\b(\w+)\s*\(")
_IDENTIFIER = re.compile(r"^[A-Za-z_][\w.]*$")
_COMMUNITY = frozenset({"dbt_utils", "dbt_expectations", "dbt_date", "dbt_project_evaluator"})
_BUILTINS = frozenset({"ref", "source", "config", "var", "env_var", "is_incremental", "this", "return"})


@dataclass
class Macros:
    """The manifest's macros usable in rendering: name -> ``macro_sql`` (root project's first)."""

    sql: dict[str, str] = field(default_factory=dict)
    #: package name -> macro name -> ``macro_sql`` (``dbt_utils.star(...)``).
    packages: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any], project: str) -> Macros:
        """Macros of every package but dbt's own and the adapters' (their internals cannot render here)."""
        macros = cls()
        entries = sorted(
            (m for m in (data.get("macros") or {}).values() if isinstance(m, dict)),
            key=lambda m: (m.get("package_name") != project, str(m.get("unique_id"))),
        )
        for macro in entries:
            package, name, sql = macro.get("package_name"), macro.get("name"), macro.get("macro_sql")
            if not (package and name and sql) or _internal(str(package)):
                continue
            macros.sql.setdefault(str(name), str(sql))
            macros.packages.setdefault(str(package), {})[str(name)] = str(sql)
        return macros

    def needed_by(self, text: str) -> dict[str, str]:
        """The macros ``text`` calls, directly or through other macros."""
        needed: dict[str, str] = {}
        pending = set(_CALLED.findall(text))
        while pending:
            name = pending.pop()
            for candidate in (name, f"default__{name}"):
                if candidate in self.sql and candidate not in needed:
                    needed[candidate] = self.sql[candidate]
                    pending.update(_CALLED.findall(self.sql[candidate]))
                    pending.update(n for n in self.sql if n.endswith(f"__{candidate}") and n not in needed)
        return needed


def _internal(package: str) -> bool:
    """dbt's own macros and the adapters' (``dbt_duckdb``); community packages (``dbt_utils``) are kept."""
    return package == "dbt" or (package.startswith("dbt_") and package not in _COMMUNITY)


class _MacroReturn(Exception):
    """dbt's ``{{ return(value) }}``: the value a macro call evaluates to."""

    def __init__(self, value: Any) -> None:
        super().__init__("return")
        self.value = value


def _raise_return(value: Any) -> str:
    raise _MacroReturn(value)


class _Adapter:
    """The ``adapter`` a macro sees: ``dispatch`` as dbt resolves it, ``quote`` verbatim."""

    def __init__(self, adapter: str, lookup: Callable[[str], Any]) -> None:
        self._adapter = adapter
        self._lookup = lookup

    def dispatch(self, name: str, macro_namespace: str | None = None) -> Any:
        for candidate in (f"{self._adapter}__{name}", f"default__{name}", name):
            found = self._lookup(candidate)
            if found is not None:
                return found
        raise LookupError(f"macro {name!r} not found")

    def quote(self, value: Any) -> str:
        return str(value)


def render_raw_sql(
    text: str,
    *,
    ref: RefResolver,
    source: SourceResolver,
    macros: Macros | None = None,
    adapter: str = "",
    variables: Mapping[str, Any] | None = None,
) -> str:
    """``text`` (a model's ``raw_code``) as plain SQL, Jinja rendered (else stripped) as well as can be."""
    try:
        return _render_jinja(text, ref, source, macros or Macros(), adapter, variables or {})
    except ImportError:
        pass
    except Exception as exc:  # any template error: fall back to the regex pass
        logger.debug("jinja rendering failed, stripping instead: %s: %s", type(exc).__name__, exc)
    return strip_jinja(text, ref=ref, source=source)


def strip_jinja(text: str, *, ref: RefResolver, source: SourceResolver) -> str:
    """The regex pass: ``ref``/``source`` resolved, macro calls on columns kept as calls, rest blanked."""

    def macro(match: re.Match[str]) -> str:
        name, args = match.group(1), match.group(2)
        if name in _BUILTINS:
            return match.group(0)
        parts = [a.strip() for a in args.split(",") if a.strip() and "=" not in a]
        columns = [p[1:-1] if p[:1] in "'\"" and _IDENTIFIER.match(p[1:-1]) else p for p in parts]
        return f"{name}({', '.join(columns)})"

    text = _SOURCE.sub(lambda m: source(m.group(1), m.group(2)), text)
    text = _REF.sub(lambda m: ref(m.group(2) or m.group(1), m.group(1) if m.group(2) else None), text)
    text = _MACRO_CALL.sub(macro, _JINJA_BLOCK.sub("", text))
    return _JINJA_EXPR.sub("null", text)


def _render_jinja(
    text: str,
    ref: RefResolver,
    source: SourceResolver,
    macros: Macros,
    adapter: str,
    variables: Mapping[str, Any],
) -> str:
    from jinja2 import ChainableUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        undefined=ChainableUndefined, extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"]
    )
    templates = {name: env.from_string(sql) for name, sql in macros.needed_by(text).items()}

    def lookup(name: str) -> Any:
        template = templates.get(name)
        if template is None:
            return None

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return getattr(template.module, name)(*args, **kwargs)
            except _MacroReturn as returned:
                return returned.value

        return call

    def dbt_ref(*args: str, **_: Any) -> str:
        return ref(args[-1], args[0] if len(args) > 1 else None)

    def dbt_var(name: str, default: Any = "") -> Any:
        return variables.get(name, default)

    env.globals.update(
        ref=dbt_ref,
        source=source,
        config=lambda *a, **k: "",
        var=dbt_var,
        env_var=lambda name, default="": default,
        is_incremental=lambda: False,
        log=lambda *a, **k: "",
        adapter=_Adapter(adapter, lookup),
        execute=False,
        this="this",
        **{"return": _raise_return},
    )
    for name in templates:
        env.globals[name] = lookup(name)
    return env.from_string(text).render()
