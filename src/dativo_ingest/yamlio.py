"""Safe YAML: timestamps stay strings, duplicate keys are errors, size is bounded, lines are findable.

Documents are parsed by yaml-rs (Rust, YAML 1.2 core schema: ``yes``/``no`` stay strings) with dates left
as text, duplicate keys refused and alias expansion bounded; a 10,000-property contract parses in ~30 ms
where PyYAML's constructor needs ~0.9 s. When yaml-rs refuses a document, PyYAML (:class:`StrictLoader`)
parses it again: its result is used when it parses, otherwise it names the problem and its line. A leading
UTF-8 byte order mark is ignored. :func:`line_of` finds the line of a path such as
``schema[1].type`` for error messages, composing the text again only when asked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
import yaml_rs

from dativo_ingest.errors import YAMLLoadError

#: Files larger than this are refused before parsing (contracts are small; bombs are not).
MAX_YAML_BYTES = 64 * 1024 * 1024
#: Alias expansions allowed per document (guards against "billion laughs").
MAX_ALIASES = 1000

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]  # a base chosen at import time (C or Python)
    """SafeLoader without the timestamp resolver, refusing duplicate keys and alias bombs."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError as exc:
                raise YAMLLoadError(f"unhashable mapping key at line {key_node.start_mark.line + 1}") from exc
            if key in seen:
                raise YAMLLoadError(
                    f"duplicate key {key!r} (first at line {seen[key]})",
                    line=key_node.start_mark.line + 1,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_ALIAS_HINT = re.compile(r"(?<![\w*])\*[\w-]+")


def _check_aliases(text: str, source: str | Path | None) -> None:
    """Refuse documents with more than :data:`MAX_ALIASES` aliases (\"billion laughs\")."""
    if len(_ALIAS_HINT.findall(text)) <= MAX_ALIASES:
        return
    try:
        count = sum(isinstance(token, yaml.AliasToken) for token in yaml.scan(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return  # the parser reports the syntax error with its line
    if count > MAX_ALIASES:
        raise YAMLLoadError(f"more than {MAX_ALIASES} YAML aliases (possible alias bomb)", path=source)


BOM = "\ufeff"
_ALIAS_LIMITS = yaml_rs.AliasLimits(max_total_replayed_events=100_000)
_DOCUMENT_MARKER = re.compile(r"^(---|\.\.\.)", re.MULTILINE)


def loads(text: str, *, source: str | Path | None = None) -> Any:
    """Parse one YAML document; errors name ``source`` and the line."""
    text = text.removeprefix(BOM)
    if len(text.encode("utf-8", errors="ignore")) > MAX_YAML_BYTES:
        raise YAMLLoadError(f"file is larger than {MAX_YAML_BYTES // (1024 * 1024)} MiB", path=source)
    try:
        data = yaml_rs.loads(text, parse_datetime=False, alias_limits=_ALIAS_LIMITS)
    except yaml_rs.YAMLDecodeError as exc:
        reason = str(exc)
    else:
        if isinstance(data, list) and _DOCUMENT_MARKER.search(text):
            return _strict_load(text, source)  # several documents come back as a list: refuse them
        return data
    if "alias" in reason:
        raise YAMLLoadError("too many YAML alias expansions (possible alias bomb)", path=source)
    _strict_load(text, source)  # raises with the problem and its line as PyYAML sees it
    # PyYAML reads it (by YAML 1.1 rules: `yes` is true there): refuse rather than change the meaning
    raise YAMLLoadError(f"unsupported YAML: {reason}", path=source)


def _strict_load(text: str, source: str | Path | None) -> Any:
    """Parse with PyYAML's :class:`StrictLoader` (the slow path that explains errors)."""
    _check_aliases(text, source)
    try:
        return yaml.load(text, Loader=StrictLoader)
    except YAMLLoadError as exc:
        exc.path = str(source) if source is not None else exc.path
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = ", ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        raise YAMLLoadError(f"malformed YAML: {reason}", path=source, line=line) from exc
    except yaml.YAMLError as exc:
        raise YAMLLoadError(f"malformed YAML: {exc}", path=source) from exc
    except RecursionError as exc:
        raise YAMLLoadError("YAML nesting is too deep", path=source) from exc


def read_text(path: str | Path) -> str:
    """A YAML file's text (UTF-8, BOM dropped), with a clear error for a missing, huge or non-UTF-8 file."""
    file = Path(path)
    try:
        size = file.stat().st_size
    except FileNotFoundError as exc:
        raise YAMLLoadError("file not found", path=file) from exc
    except OSError as exc:
        raise YAMLLoadError(f"cannot read file: {exc.strerror}", path=file) from exc
    if size > MAX_YAML_BYTES:
        raise YAMLLoadError(f"file is larger than {MAX_YAML_BYTES // (1024 * 1024)} MiB", path=file)
    try:
        return file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YAMLLoadError("file is not valid UTF-8", path=file) from exc
    except OSError as exc:
        raise YAMLLoadError(f"cannot read file: {exc.strerror}", path=file) from exc


def load_file(path: str | Path) -> Any:
    """Read and parse a YAML file; errors name the file and, where known, the line."""
    return loads(read_text(path), source=Path(path))


def load_mapping(path: str | Path) -> dict[str, Any]:
    """Load a YAML file whose top level must be a mapping."""
    return read_mapping(path)[0]


def read_mapping(path: str | Path) -> tuple[dict[str, Any], str]:
    """A YAML file's top-level mapping and its text (to find lines in)."""
    text = read_text(path)
    data = loads(text, source=Path(path))
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise YAMLLoadError(f"top level must be a mapping, got {kind}", path=path)
    return data, text


class _BlockDumper(yaml.SafeDumper):
    """Dumper that indents lists under their key and never emits aliases."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_representer)


def dumps(data: Any) -> str:
    """Deterministic block-style YAML (keys keep their given order; unicode kept)."""
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def line_of(text: str, path: str) -> int | None:
    """1-based line of a dotted/indexed path (``schema[1].type``) in YAML ``text``, if found."""
    try:
        node = yaml.compose(text.removeprefix(BOM), Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    return node_line(node, path)


def node_line(node: yaml.Node | None, path: str) -> int | None:
    """:func:`line_of` over an already composed document (``yaml.compose``), for callers asking often."""
    best = None
    for key, index in _PATH_TOKEN.findall(path):
        if node is None:
            break
        if index and isinstance(node, yaml.SequenceNode):
            position = int(index)
            if position >= len(node.value):
                break
            node = node.value[position]
        elif key and isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)
            if match is None:
                break
            best = match[0].start_mark.line + 1
            node = match[1]
            continue
        else:
            break
        best = node.start_mark.line + 1
    return best
