"""Job config: validation errors name file/field/line; ${ENV} values are substituted and redacted."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from dativo_ingest.errors import ConfigError
from dativo_ingest.ingest.envsubst import substitute
from dativo_ingest.ingest.jobconfig import load_job
from dativo_ingest.logging import get_logger, redact_text, setup_logging


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_env_values_are_substituted_and_then_redacted_everywhere(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PG_PASSWORD", "s3cr3t-value-xyz")
    job = load_job(
        write(
            tmp_path,
            """
tenant_id: acme
name: pg-job
asset: a.yaml
source: {type: postgres, url: "postgresql://app:${PG_PASSWORD}@db/shop", table: customers}
""",
        )
    )
    assert job.source.options["url"] == "postgresql://app:s3cr3t-value-xyz@db/shop"
    assert "s3cr3t-value-xyz" not in redact_text("connecting with s3cr3t-value-xyz")
    stream = io.StringIO()
    setup_logging(stream=stream)
    get_logger("test").info("url is %s", job.source.options["url"].replace("@", " at "))
    logging.getLogger("dativo_ingest").handlers.clear()
    assert "s3cr3t-value-xyz" not in stream.getvalue() and "***" in stream.getvalue()


def test_defaults_and_escapes() -> None:
    env = {"SET": "v"}
    assert substitute({"a": "${UNSET:-fallback}", "b": "$${LITERAL}", "c": ["${SET}"]}, env=env) == {
        "a": "fallback",
        "b": "${LITERAL}",
        "c": ["v"],
    }


def test_missing_env_var_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_job(
            write(tmp_path, 'tenant_id: a\nname: b\nasset: x.yaml\nsource: {type: csv, path: "${NOPE_X}"}\n')
        )
    assert "NOPE_X is not set" in str(err.value) and err.value.field == "source.path"


@pytest.mark.parametrize(
    ("text", "field", "line", "message"),
    [
        (
            "tenant_id: a\nname: b\nasset: x.yaml\nsource: {type: csv, path: x}\ntarget: {tabel: t}\n",
            "target.tabel",
            5,
            "unknown key",
        ),
        (
            "tenant_id: a\nname: b\nasset: x.yaml\nsource:\n  type: csv\n  paht: x\n",
            "source.paht",
            6,
            "unknown key",
        ),
        (
            "tenant_id: a\nname: b\nasset: x.yaml\nsource: {type: ftp}\n",
            "source.type",
            4,
            "unknown source type",
        ),
        (
            "tenant_id: a\nname: b c\nasset: x.yaml\nsource: {type: csv, path: x}\n",
            "name",
            2,
            "must be letters",
        ),
        ("tenant_id: a\nname: b\nsource: {type: csv, path: x}\n", "asset", None, "is required"),
        ("tenant_id: a\nname: b\nasset: x.yaml\nsource: {type: http}\n", "source.url", 4, "is required"),
        (
            "tenant_id: a\nname: b\nasset: x.yaml\nsource: {type: postgres, url: 'postgresql://x'}\n",
            "source",
            4,
            "exactly one of 'table' or 'query'",
        ),
    ],
)
def test_bad_configs_fail_with_one_clear_line(tmp_path: Path, text, field, line, message) -> None:
    with pytest.raises(ConfigError) as err:
        load_job(write(tmp_path, text))
    assert err.value.field == field
    assert err.value.line == line
    assert message in err.value.message
    assert str(err.value).startswith(str(tmp_path / "job.yaml"))
