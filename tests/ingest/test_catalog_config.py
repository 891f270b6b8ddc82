"""``target.catalog`` configuration: the shapes a job may name (SQLite default, a shared SQL database,
REST), refused in one line naming the field when wrong, and a catalog that cannot be reached said in one
line naming it, with no secret in the message."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from dativo_ingest.cli.app import main
from dativo_ingest.errors import ConfigError
from dativo_ingest.ingest.jobconfig import CatalogConfig, JobConfig
from dativo_ingest.ingest.targets.catalog import catalog_properties
from tests.ingest.helpers import good_rows, write_contract, write_csv, write_job


def job_with(catalog: dict[str, Any], env: dict[str, str] | None = None) -> JobConfig:
    return JobConfig.from_dict(
        {
            "tenant_id": "acme",
            "name": "customers",
            "asset": "customers.yaml",
            "source": {"type": "csv", "path": "c.csv"},
            "target": {"catalog": catalog},
        },
        source="job.yaml",
        env=env or {},
    )


@pytest.mark.parametrize(
    ("catalog", "field", "words"),
    [
        ({"type": "rest"}, "target.catalog", "a rest catalog needs 'uri'"),
        ({"type": "rest", "uri": "thrift://hive:9083"}, "target.catalog", "http(s) URL"),
        ({"type": "sql", "uri": "catalog.db"}, "target.catalog", "is not a database URL"),
        ({"type": "glue"}, "target.catalog.type", "'sql' or 'rest'"),
        ({"warehouse": "/data/lake"}, "target.catalog.warehouse", "is not a warehouse location"),
        ({"s3": {"endpoint": "127.0.0.1:9000"}}, "target.catalog.s3.endpoint", "is not an http(s) URL"),
        ({"s3": {"secret": "x"}}, "target.catalog.s3.secret", "unknown key"),
    ],
)
def test_a_wrong_catalog_config_is_refused_naming_the_field(
    catalog: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        job_with(catalog)
    assert caught.value.field == field
    assert words in caught.value.message


def test_a_rest_catalog_on_object_storage_is_a_valid_config() -> None:
    job = job_with(
        {
            "type": "rest",
            "uri": "https://catalog.example.com/api/catalog",
            "warehouse": "s3://lake/prod",
            "properties": {"credential": "${CATALOG_CREDENTIAL}"},
        },
        env={"CATALOG_CREDENTIAL": "client:topsecret"},
    )
    props = catalog_properties(job.target.catalog, Path("/unused"))
    assert props["type"] == "rest" and props["uri"] == "https://catalog.example.com/api/catalog"
    assert props["warehouse"] == "s3://lake/prod" and props["credential"] == "client:topsecret"
    assert props["py-io-impl"] == "pyiceberg.io.pyarrow.PyArrowFileIO"


def test_the_s3_block_becomes_pyiceberg_fileio_properties() -> None:
    job = job_with(
        {
            "uri": "postgresql://ingest:${PGPASSWORD}@db:5432/catalog",
            "warehouse": "s3://lake/bronze",
            "s3": {
                "endpoint": "${S3_ENDPOINT}",
                "region": "eu-west-1",
                "access_key_id": "${AWS_ACCESS_KEY_ID}",
                "secret_access_key": "${AWS_SECRET_ACCESS_KEY}",
                "path_style": True,
            },
        },
        env={
            "PGPASSWORD": "pg-pass-1",
            "S3_ENDPOINT": "http://minio:9000",
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "aws-secret-1",
        },
    )
    props = catalog_properties(job.target.catalog, Path("/unused"))
    assert props["uri"] == "postgresql+psycopg://ingest:pg-pass-1@db:5432/catalog"
    assert {k: v for k, v in props.items() if k.startswith("s3.")} == {
        "s3.endpoint": "http://minio:9000",
        "s3.region": "eu-west-1",
        "s3.access-key-id": "AKIAEXAMPLE",
        "s3.secret-access-key": "aws-secret-1",
        "s3.force-virtual-addressing": "false",
    }
    assert props["py-io-impl"] == "pyiceberg.io.pyarrow.PyArrowFileIO"


def test_the_default_catalog_stays_sqlite_in_the_workspace(tmp_path: Path) -> None:
    props = catalog_properties(CatalogConfig(), tmp_path / "warehouse")
    assert props["uri"] == f"sqlite:///{tmp_path / 'warehouse' / 'catalog.db'}"
    assert props["warehouse"] == (tmp_path / "warehouse").as_uri()
    assert "py-io-impl" not in props


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("kind", ["rest", "postgresql"])
def test_an_unreachable_catalog_is_one_line_naming_it_without_secrets(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    port = _free_port()  # nothing listens there: connection refused
    monkeypatch.setenv("CATALOG_PASSWORD", "pw-never-shown")
    catalog = (
        {"type": "rest", "uri": f"http://127.0.0.1:{port}", "properties": {"token": "${CATALOG_PASSWORD}"}}
        if kind == "rest"
        else {"type": "sql", "uri": f"postgresql://ingest:${{CATALOG_PASSWORD}}@127.0.0.1:{port}/catalog"}
    )
    write_contract(workspace)
    write_csv(workspace / "data" / "c.csv", good_rows(0, 3))
    job = write_job(
        workspace, {"source": {"type": "csv", "path": "../data/c.csv"}, "target": {"catalog": catalog}}
    )
    assert main(["run", "--config", str(job)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert f"127.0.0.1:{port}" in err and "connection refused" in err
    assert f"Iceberg {'rest' if kind == 'rest' else 'sql'} catalog" in err
    assert "pw-never-shown" not in err and "Traceback" not in err
