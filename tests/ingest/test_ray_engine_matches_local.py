"""The Ray engine lands what a single process lands: the same rows, the same quarantined rows with the same
rules and positions in the whole file, the same counts, cursor and rule failures, in one commit.

Every test runs the same input through ``engine: {type: local}`` and ``engine: {type: ray}`` (on the
in-process cluster of the ``ray_local`` fixture, in small pieces so that files are split) and compares.
"""

from __future__ import annotations

import copy
import json
import random
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dativo_ingest.cli.app import main
from dativo_ingest.errors import ConfigError, DataValidationError
from dativo_ingest.ingest import load_job, run_job
from dativo_ingest.ingest.jobconfig import CatalogConfig
from dativo_ingest.ingest.targets.iceberg import load_catalog_for
from dativo_ingest.workspace import Workspace
from tests.ingest.helpers import CUSTOMERS_CONTRACT, good_rows, write_contract, write_csv, write_job

pytestmark = pytest.mark.usefixtures("ray_local")

CUSTOMERS_HEADER = ["id", "email", "status", "balance", "created_at"]
QUARANTINE_FIELDS = ["source_row", "failed_rules", "record", "source_file", "source_location"]


SPLIT = {"type": "ray", "split_mb": 0.25}  # pieces of 256 KB: small test files are split too


def _run(workspace: Path, name: str, source: dict[str, Any], engine: dict[str, Any], **job: Any) -> Any:
    path = write_job(
        workspace,
        {"name": name, "source": source, "target": {"table": name}, "engine": engine, **job},
        name=f"{name}.yaml",
    )
    return run_job(load_job(path), workspace=Workspace(workspace))


def _tables(workspace: Path, name: str) -> tuple[list[dict], list[dict], int]:
    """The table's rows and its quarantine's rows (sorted), and how many snapshots the table has."""
    catalog = load_catalog_for(CatalogConfig(), workspace / "warehouse")
    table = catalog.load_table(f"bronze.{name}")
    rows = sorted(table.scan().to_arrow().to_pylist(), key=lambda r: json.dumps(r, default=str))
    try:
        quarantine = catalog.load_table(f"bronze.{name}_quarantine").scan().to_arrow()
        kept = sorted(
            quarantine.select(QUARANTINE_FIELDS).to_pylist(), key=lambda r: json.dumps(r, default=str)
        )
    except Exception:  # no quarantine table: nothing was quarantined
        kept = []
    return rows, kept, len(table.metadata.snapshots)


def _same(workspace: Path, source: dict[str, Any], **job: Any) -> tuple[Any, Any]:
    """Run ``source`` on both engines; assert they landed the same; return both results."""
    local = _run(workspace, "by_local", source, {"type": "local"}, **job)
    ray = _run(workspace, "by_ray", source, SPLIT, **job)
    assert ray.status == local.status == "success"
    for field in ("rows_read", "rows_written", "rows_quarantined", "rule_failures", "cursor"):
        assert getattr(ray, field) == getattr(local, field), field
    local_rows, local_quarantine, _ = _tables(workspace, "by_local")
    ray_rows, ray_quarantine, snapshots = _tables(workspace, "by_ray")
    assert ray_rows == local_rows
    assert ray_quarantine == local_quarantine
    assert snapshots == 1  # one commit for the whole run
    return local, ray


def _customers_csv(path: Path, rows: int = 40000) -> Path:
    """A CSV of ~2.7 MB (ten pieces) with bad rows in many pieces, repeated ids across pieces and inside
    one, and a malformed line."""
    lines = good_rows(0, rows)
    lines[10] = lines[10].replace("active", "bogus")  # accepted_values, piece 1
    lines[15000] = lines[3].replace("user3", "again")  # repeats the id of row 3 in a later piece
    lines[15001] = lines[15000].replace("again", "thrice")  # and again, right after
    lines[25000] = "cus_x,not-an-email,active,5,2024-01-01T00:00:00Z"  # pattern
    lines[30000] = "only,two"  # malformed (field count)
    lines[35000] = "cus_neg,neg@example.com,active,-3,2024-01-01T00:00:00Z"  # minimum
    lines[39000] = lines[20000]  # a whole row repeated: unique:id on the later one
    return write_csv(path, lines)


def test_csv_in_byte_ranges_lands_what_one_process_lands(workspace: Path) -> None:
    write_contract(workspace)
    _customers_csv(workspace / "data" / "c.csv")
    local, ray = _same(workspace, {"type": "csv", "path": "../data/c.csv"})
    assert ray.engine["tasks"] >= 8  # the file was split
    assert local.rule_failures["unique:id"] == 3
    assert ray.lineage_run_id is not None
    # the pieces that wrote an id also found in another piece were read again, and only those
    assert 2 <= ray.engine["pieces_read_again"] <= 3 < ray.engine["tasks"]


def test_a_key_repeated_in_every_piece_is_held_where_it_is_read(workspace: Path) -> None:
    """A placeholder id repeated throughout the file repeats within each piece: those rows are held
    back by the first read, and no piece is read again."""
    write_contract(workspace)
    lines = good_rows(0, 40000)
    for i in range(100, 40000, 50):
        lines[i] = lines[i].replace(f"cus_{i:06d}", "cus_000000")
    write_csv(workspace / "data" / "c.csv", lines)
    local, ray = _same(workspace, {"type": "csv", "path": "../data/c.csv"})
    assert local.rule_failures["unique:id"] == 798
    assert ray.engine["tasks"] >= 8 and ray.engine["pieces_read_again"] == 0


def test_a_piece_read_again_that_holds_every_row_leaves_no_data_file(workspace: Path) -> None:
    """The second half of the file repeats the first: every piece wrote ids found in another piece, is
    read again and holds all its rows back, so the files of the first read must go (the driver lands
    the first occurrences)."""
    write_contract(workspace)
    half = good_rows(0, 20000)
    write_csv(workspace / "data" / "c.csv", half + half)
    _, ray = _same(workspace, {"type": "csv", "path": "../data/c.csv"})
    assert ray.engine["pieces_read_again"] == ray.engine["tasks"] >= 8
    table = load_catalog_for(CatalogConfig(), workspace / "warehouse").load_table("bronze.by_ray")
    referenced = {Path(task.file.file_path.removeprefix("file://")) for task in table.scan().plan_files()}
    on_disk = set(Path(table.location().removeprefix("file://"), "data").rglob("*.parquet"))
    assert on_disk == referenced


def test_a_range_cut_inside_a_quoted_line_break_reads_the_file_whole(workspace: Path) -> None:
    contract = copy.deepcopy(CUSTOMERS_CONTRACT)
    contract["schema"].append({"name": "note", "type": "string"})
    write_contract(workspace, contract)
    header = "id,email,status,balance,created_at,note"
    filler = "x" * 300
    rows = [
        f'cus_{i:06d},u{i}@example.com,active,{i},2024-01-01T00:00:00Z,"{filler}\n{filler}\n{filler}"'
        for i in range(5000)
    ]
    rows[4000] = rows[4000].replace("active", "bogus")
    write_csv(workspace / "data" / "c.csv", rows, header=header)  # ~4.5 MB of multi-line values
    _, ray = _same(workspace, {"type": "csv", "path": "../data/c.csv"})
    assert ray.engine["tasks"] == 1  # the ranges were cut inside quotes: read as one piece


def test_parquet_row_groups_keep_their_row_numbers(workspace: Path) -> None:
    write_contract(workspace)
    lines = good_rows(0, 30000)
    table = pa.table(
        {name: [line.split(",")[i] for line in lines] for i, name in enumerate(CUSTOMERS_HEADER)}
    )
    ids = table.column("id").to_pylist()
    ids[20000] = ids[2]  # a repeated id in a later row group
    emails = table.column("email").to_pylist()
    emails[25000] = "nope"
    table = table.set_column(0, "id", pa.array(ids)).set_column(1, "email", pa.array(emails))
    path = workspace / "data" / "c.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path, row_group_size=2000)
    _, ray = _same(workspace, {"type": "parquet", "path": "../data/c.parquet"})
    assert ray.engine["tasks"] >= 2


def test_incremental_runs_carry_the_same_cursor(workspace: Path) -> None:
    write_contract(workspace)
    data = workspace / "data" / "c.csv"
    _customers_csv(data)
    incremental = {"cursor_field": "created_at"}
    local, ray = _same(workspace, {"type": "csv", "path": "../data/c.csv"}, incremental=incremental)
    assert ray.cursor == local.cursor is not None


def test_unique_against_the_table_counts_rows_already_landed(workspace: Path) -> None:
    write_contract(workspace)
    _customers_csv(workspace / "data" / "c.csv")
    source = {"type": "csv", "path": "../data/c.csv"}
    validation = {"unique_against_table": True}
    for name, engine in (("by_local", {"type": "local"}), ("by_ray", SPLIT)):
        _run(workspace, name, source, engine, validation=validation)
    write_csv(workspace / "data" / "c.csv", good_rows(39990, 20))  # ten of them landed before
    local = _run(workspace, "by_local", source, {"type": "local"}, validation=validation)
    ray = _run(workspace, "by_ray", source, SPLIT, validation=validation)
    assert ray.rows_quarantined == local.rows_quarantined == 10
    assert ray.rule_failures == local.rule_failures


def test_strict_mode_names_the_first_bad_row_by_its_line_in_the_file(workspace: Path) -> None:
    write_contract(workspace)
    lines = good_rows(0, 40000)
    lines[30000] = lines[30000].replace("active", "bogus")
    data = write_csv(workspace / "data" / "c.csv", lines)
    with pytest.raises(DataValidationError) as raised:
        _run(
            workspace,
            "by_ray",
            {"type": "csv", "path": "../data/c.csv"},
            SPLIT,
            validation={"mode": "strict"},
        )
    assert raised.value.line == 30002  # header + 30,001st record: a line in the whole file, not the range
    assert str(data) in str(raised.value)
    catalog = load_catalog_for(CatalogConfig(), workspace / "warehouse")
    assert catalog.load_table("bronze.by_ray").current_snapshot() is None  # nothing committed


@pytest.mark.parametrize(
    ("edits", "line", "rule"),
    [
        ({30000: 5}, 30002, "unique:id"),  # a repeated id, and nothing else wrong
        ({12000: 5, 30000: "bogus"}, 12002, "unique:id"),  # the repeat comes before a rejected row
        ({12000: "bogus", 30000: 5}, 12002, "accepted_values:status"),  # and after one
    ],
)
def test_strict_mode_fails_on_the_same_first_row_as_one_process(
    workspace: Path, edits: dict[int, Any], line: int, rule: str
) -> None:
    """A repeated unique key counts as a bad row in strict mode: both engines name the first bad row in
    the run's order, whichever rule it breaks, and commit nothing."""
    write_contract(workspace)
    lines = good_rows(0, 40000)
    for at, edit in edits.items():
        lines[at] = lines[edit] if isinstance(edit, int) else lines[at].replace("active", edit)
    write_csv(workspace / "data" / "c.csv", lines)
    source = {"type": "csv", "path": "../data/c.csv"}
    errors = []
    for name, engine in (("by_local", {"type": "local"}), ("by_ray", SPLIT)):
        with pytest.raises(DataValidationError) as raised:
            _run(workspace, name, source, engine, validation={"mode": "strict"})
        errors.append(raised.value)
    for error in errors:
        assert (error.line, error.path) == (line, str(workspace / "data" / "c.csv"))
        assert f"(line {line}: {rule}" in str(error)
    catalog = load_catalog_for(CatalogConfig(), workspace / "warehouse")
    assert catalog.load_table("bronze.by_ray").current_snapshot() is None
    assert not list((workspace / "warehouse").rglob("*.parquet"))  # no data file left either


def test_task_cpu_and_memory_are_in_the_runs_finops_record(workspace: Path) -> None:
    write_contract(workspace)
    _customers_csv(workspace / "data" / "c.csv")
    ray = _run(workspace, "by_ray", {"type": "csv", "path": "../data/c.csv"}, SPLIT)
    assert ray.finops is not None
    assert ray.finops["cpu_time_sec"] >= ray.engine["task_cpu_seconds"] > 0
    assert ray.finops["memory_peak_mb"] >= ray.engine["worker_peak_rss_mb"] > 0


def test_a_parquet_target_is_refused_in_one_line(workspace: Path) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "c.csv", good_rows(0, 10))
    path = write_job(
        workspace,
        {
            "source": {"type": "csv", "path": "../data/c.csv"},
            "target": {"type": "parquet", "path": "../out"},
            "engine": {"type": "ray"},
        },
    )
    with pytest.raises(ConfigError, match="engine type ray writes Iceberg targets only"):
        run_job(load_job(path))


@pytest.mark.postgres
def test_postgres_key_ranges_land_what_one_process_lands(workspace: Path, postgres_url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS dativo_ray_ranges"))
        conn.execute(
            text(
                "CREATE TABLE dativo_ray_ranges (n bigint PRIMARY KEY, id text, email text, status text, "
                "balance bigint, created_at timestamptz)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO dativo_ray_ranges SELECT g, 'cus_' || (g % 4990), 'u' || g || '@x.com', "
                "CASE WHEN g % 997 = 0 THEN 'bogus' ELSE 'active' END, g, now() "
                "FROM generate_series(1, 5000) g"
            )
        )
    engine.dispose()
    contract = copy.deepcopy(CUSTOMERS_CONTRACT)
    contract["schema"].insert(0, {"name": "n", "type": "long", "required": True})
    write_contract(workspace, contract)
    source = {"type": "postgres", "url": postgres_url, "table": "dativo_ray_ranges", "partitions": 4}
    local, ray = _same(workspace, source)
    assert ray.engine["tasks"] == 4  # split by the numeric primary key
    assert local.rule_failures["unique:id"] == 10


# ----- property: both engines agree on random inputs and contracts ----------------------------------
@st.composite
def _inputs(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    """A contract with random rules (unique on one or two columns, a composite key, bounds, a pattern)
    and CSV rows of random ids, emails, statuses and balances, some malformed."""
    contract = copy.deepcopy(CUSTOMERS_CONTRACT)
    fields = {f["name"]: f for f in contract["schema"]}
    fields["id"]["unique"] = draw(st.booleans())
    fields["email"]["unique"] = draw(st.booleans())
    if draw(st.booleans()):  # a composite primary key (its columns become required)
        fields["status"].update(primaryKey=True, primaryKeyPosition=1)
        fields["balance"].update(primaryKey=True, primaryKeyPosition=2)
    fields["balance"]["logicalTypeOptions"] = {"minimum": draw(st.integers(-5, 5))}
    count = draw(st.integers(1, 6000))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = random.Random(seed)
    statuses = ["active", "inactive", "suspended", "bogus"]
    rows = []
    for i in range(count):
        if rng.random() < 0.002:
            rows.append("malformed,row")
            continue
        ident = f"cus_{rng.randrange(count * 2)}"
        email = f"u{rng.randrange(count * 3)}@example.com" if rng.random() > 0.01 else "no-email"
        balance = rng.randrange(-10, 10000)
        rows.append(f"{ident},{email},{rng.choice(statuses)},{balance},2024-01-{1 + i % 28:02d}T00:00:00Z")
    return contract, rows


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_inputs())
def test_engines_agree_on_random_inputs_and_contracts(
    workspace: Path, case: tuple[dict[str, Any], list[str]]
) -> None:
    contract, rows = case
    root = Path(tempfile.mkdtemp(dir=workspace))  # each example in a workspace of its own
    write_contract(root, contract)
    write_csv(root / "data" / "c.csv", rows)
    source = {"type": "csv", "path": "../data/c.csv"}
    local = _run(root, "by_local", source, {"type": "local"})
    ray = _run(root, "by_ray", source, {"type": "ray", "split_mb": 0.05})
    for field in ("rows_read", "rows_written", "rows_quarantined", "rule_failures"):
        assert getattr(ray, field) == getattr(local, field), field
    local_rows, local_quarantine, _ = _tables(root, "by_local")
    ray_rows, ray_quarantine, _ = _tables(root, "by_ray")
    assert ray_rows == local_rows
    assert ray_quarantine == local_quarantine


def test_cli_engine_flag_runs_a_local_job_on_ray(workspace: Path, capsys: pytest.CaptureFixture) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "c.csv", good_rows(0, 20000))
    job = write_job(
        workspace, {"source": {"type": "csv", "path": "../data/c.csv"}, "engine": {"split_mb": 0.2}}
    )
    assert main(["run", "--config", str(job), "--engine", "ray", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rows_written"] == 20000
    assert result["engine"]["type"] == "ray" and result["engine"]["tasks"] >= 4


def test_cli_refuses_an_unknown_engine_and_an_unreachable_cluster_in_one_line(
    workspace: Path, capsys: pytest.CaptureFixture
) -> None:
    write_contract(workspace)
    write_csv(workspace / "data" / "c.csv", good_rows(0, 10))
    job = write_job(workspace, {"source": {"type": "csv", "path": "../data/c.csv"}})
    assert main(["run", "--config", str(job), "--engine", "spark"]) != 0
    assert "unknown engine 'spark' (local or ray)" in capsys.readouterr().err
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "dativo_ingest", "run", "--config", str(job), "--engine", "ray"]
    done = subprocess.run(  # a fresh process: this one is connected to the test's cluster already
        [*command, "--ray-address", f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert f"cannot connect to the Ray cluster at '127.0.0.1:{port}'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
