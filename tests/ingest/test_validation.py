"""Contract rules compiled and enforced on Arrow batches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dativo_ingest.config import AssetDefinition
from dativo_ingest.ingest import validation
from dativo_ingest.ingest.memory import preferred_pool, run_memory_pool
from dativo_ingest.ingest.rules import compile_rules
from dativo_ingest.ingest.uniqueness import SeenIndex
from dativo_ingest.ingest.validation import Validator
from tests.ingest.helpers import CUSTOMERS_CONTRACT


def validator(contract=None) -> Validator:
    return Validator(compile_rules(AssetDefinition.from_dict(contract or CUSTOMERS_CONTRACT)))


def batch(**columns) -> pa.RecordBatch:
    return pa.record_batch({k: pa.array(v, pa.string()) for k, v in columns.items()})


def test_rules_come_from_flags_options_quality_and_expectations() -> None:
    contract = {
        **CUSTOMERS_CONTRACT,
        "schema": [
            *CUSTOMERS_CONTRACT["schema"],
            {
                "name": "tier",
                "type": "string",
                "quality": [{"rule": "validValues", "validValues": ["a", "b"]}, {"rule": "nullCheck"}],
            },
        ],
        "data_quality": {
            "expectations": [
                {"type": "accepted_values", "column": "status", "values": ["active"]},
                {"type": "not_null", "column": "nope"},
                {"type": "custom_sql", "column": "id"},
            ]
        },
    }
    rules = compile_rules(AssetDefinition.from_dict(contract))
    names = rules.rule_names()
    for expected in (
        "required:id",
        "unique:id",
        "pattern:email",
        "minimum:balance",
        "accepted_values:status",
        "accepted_values:tier",
        "required:tier",
        "type:created_at",
    ):
        assert expected in names
    assert any("column 'nope' is not declared in the schema; enforced nowhere" in w for w in rules.warnings)
    assert any("expectations[2]: a sql rule needs a query; enforced nowhere" in w for w in rules.warnings)
    assert str(rules.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert not rules.schema.field("id").nullable and rules.schema.field("status").nullable


def test_each_failing_row_lists_every_rule_it_breaks_and_valid_rows_are_typed() -> None:
    v = validator()
    outcome = v.validate(
        batch(
            id=["c1", "c2", "c3", None],
            email=["a@x", "bad", "c@x", "d@x"],
            status=["active", "zzz", None, "active"],
            balance=["5", "-1", "x", "1"],
            created_at=["2024-01-01", "2024-01-02T00:00:00Z", None, "2024-01-03"],
        )
    )
    assert outcome.valid.num_rows == 1
    assert outcome.valid.column("balance").to_pylist() == [5]
    assert outcome.failed_rows.tolist() == [1, 2, 3]
    assert sorted(outcome.failed_rules[0]) == ["accepted_values:status", "minimum:balance", "pattern:email"]
    assert sorted(outcome.failed_rules[1]) == ["required:created_at", "type:balance"]
    assert outcome.failed_rules[2] == ["required:id"]


@pytest.mark.parametrize("max_parts", [16, 2])
def test_valid_parts_are_exactly_the_passing_rows_in_order(max_parts: int) -> None:
    ids = [f"c{i}" for i in range(10)]
    email = ["bad" if i in (0, 4, 5, 9) else "a@x" for i in range(10)]
    common = {"status": ["active"] * 10, "balance": ["1"] * 10, "created_at": ["2024-01-01"] * 10}
    outcome = validator().validate(batch(id=ids, email=email, **common))
    parts = outcome.valid_parts(min_rows=1, max_parts=max_parts)
    assert len(parts) == (2 if max_parts == 16 else 1)  # rows 1-3 and 6-8, or one filtered copy
    assert [v for p in parts for v in p.column("id").to_pylist()] == ["c1", "c2", "c3", "c6", "c7", "c8"]
    assert outcome.valid_count == 6 and outcome.valid.column("id").to_pylist() == [
        "c1",
        "c2",
        "c3",
        "c6",
        "c7",
        "c8",
    ]


def test_large_batches_validated_on_worker_threads_give_the_inline_result() -> None:
    rng = np.random.default_rng(3)
    size = validation.PARALLEL_ROWS
    n = 4 * size
    pick = lambda options: [options[i] for i in rng.integers(0, len(options), n)]  # noqa: E731
    columns = {
        "id": [f"c{i}" for i in rng.integers(0, n, n)],  # repeats within and across batches
        "email": pick(["a@x", "b@y", "bad"]),
        "status": pick(["active", "inactive", "zzz", None]),
        "balance": pick(["1", "-1", "x", "250"]),
        "created_at": pick(["2024-01-01", "2024-02-30", None]),
    }
    batches = [batch(**{k: v[i : i + size] for k, v in columns.items()}) for i in range(0, n, size)]
    rules = compile_rules(AssetDefinition.from_dict(CUSTOMERS_CONTRACT))
    streamed, threaded, inline = validator(), validator(), Validator(rules, parallel_rows=10**9)
    got_stream = list(streamed.validate_stream(iter(batches)))
    got = [threaded.validate(b) for b in batches]
    want = [inline.validate(b) for b in batches]
    assert [b for b, _ in got_stream] == batches
    for outcomes in ([o for _, o in got_stream], got):
        for a, b in zip(outcomes, want, strict=True):
            assert a.failed_rows.tolist() == b.failed_rows.tolist() and a.failed_rules == b.failed_rules
            assert a.valid.equals(b.valid)
    assert streamed.failures == threaded.failures == inline.failures
    assert inline.failures["unique:id"] > 0


def test_null_from_an_empty_csv_field_fails_required_but_not_optional_columns() -> None:
    outcome = validator().validate(
        batch(
            id=["c1", "c2"],
            email=[None, "b@x"],
            status=[None, None],
            balance=[None, None],
            created_at=["2024-01-01", "2024-01-01"],
        )
    )
    assert outcome.failed_rules == [["required:email"]]
    assert outcome.valid.num_rows == 1


def test_unique_holds_across_batches_first_occurrence_wins_and_bad_rows_do_not_claim_values() -> None:
    v = validator()
    common = {"status": ["active"] * 3, "balance": ["1"] * 3, "created_at": ["2024-01-01"] * 3}
    first = v.validate(batch(id=["a", "b", "a"], email=["x@y", "bad-email", "x@y"], **common))
    assert first.failed_rules == [["pattern:email"], ["unique:id"]]
    second = v.validate(batch(id=["b", "a", "c"], email=["x@y"] * 3, **common))
    assert second.failed_rows.tolist() == [1]  # "b" never landed (bad email), so it may land now
    assert v.failures["unique:id"] == 2


@pytest.mark.parametrize("seed", range(3))
def test_several_unique_keys_are_settled_row_by_row_whatever_the_batches(seed: int) -> None:
    """Two unique columns and a composite primary key: a row lands when it passes the other rules and none of
    its keys was taken by an earlier row that landed (a row repeating one key claims none of its
    others), the same for one batch as for many."""
    contract = {
        **CUSTOMERS_CONTRACT,
        "schema": [
            {"name": "id", "type": "string", "unique": True},
            {"name": "email", "type": "string", "unique": True},
            {"name": "status", "type": "string", "primaryKey": True, "primaryKeyPosition": 1},
            {"name": "balance", "type": "string", "primaryKey": True, "primaryKeyPosition": 2},
        ],
        "data_quality": {},
    }
    rng = np.random.default_rng(seed)
    n = 3_000
    rows = {
        "id": [f"i{int(k)}" for k in rng.integers(0, 900, n)],
        "email": [None if rng.random() < 0.05 else f"e{int(k)}" for k in rng.integers(0, 900, n)],
        "status": [None if rng.random() < 0.1 else f"s{int(k)}" for k in rng.integers(0, 3, n)],
        "balance": [f"{int(k)}" for k in rng.integers(0, 1_500, n)],
    }
    expected, taken = [], {"id": set(), "email": set(), "key": set()}
    for i in range(n):
        key = (rows["status"][i], rows["balance"][i])
        keys = {"id": rows["id"][i], "email": rows["email"][i], "key": key}
        if rows["status"][i] is None:
            expected.append(False)
            continue
        lands = all(value is None or value not in taken[name] for name, value in keys.items())
        if lands:
            for name, value in keys.items():
                if value is not None:
                    taken[name].add(value)
        expected.append(lands)
    for size in (n, 512, 61):
        v = validator(contract)
        landed: list[bool] = []
        for start in range(0, n, size):
            part = batch(**{name: values[start : start + size] for name, values in rows.items()})
            outcome = v.validate(part)
            kept = np.ones(part.num_rows, dtype=bool)
            kept[outcome.failed_rows] = False
            landed += kept.tolist()
        assert landed == expected, size
    assert 0 < sum(expected) < n


def test_composite_key_parts_cannot_run_into_each_other() -> None:
    """("x\x1fy", "z") and ("x", "y\x1fz") are different keys, whatever the separator."""
    contract = {
        **CUSTOMERS_CONTRACT,
        "schema": [
            {"name": "a", "type": "string", "primaryKey": True, "primaryKeyPosition": 1},
            {"name": "b", "type": "string", "primaryKey": True, "primaryKeyPosition": 2},
        ],
        "data_quality": {},
    }
    v = validator(contract)
    outcome = v.validate(batch(a=["x\x1fy", "x", "x"], b=["z", "y\x1fz", "y\x1fz"]))
    assert outcome.failed_rows.tolist() == [2] and outcome.failed_rules == [["unique:a+b"]]


def test_nan_repeats_nan_within_a_batch_and_across_batches_alike() -> None:
    one = SeenIndex(pa.float64())
    assert one.check_and_add(pa.array([float("nan"), 1.0, float("nan"), None, None])).tolist() == [
        False,
        False,
        True,
        False,
        False,
    ]
    many = SeenIndex(pa.float64())
    found = [many.check_and_add(pa.array([value])).tolist() for value in (float("nan"), 1.0, float("nan"))]
    assert found == [[False], [False], [True]]


def test_seen_index_is_exact_for_strings_and_integers_and_ignores_nulls() -> None:
    strings = SeenIndex(pa.string())
    assert strings.check_and_add(pa.array(["a", "b", "a", None, None])).tolist() == [
        False,
        False,
        True,
        False,
        False,
    ]
    assert strings.check_and_add(pa.array(["b", "c", "c"])).tolist() == [True, False, True]
    ints = SeenIndex(pa.int64())
    assert ints.check_and_add(pa.array([1, -1, 1])).tolist() == [False, False, True]
    for start in range(0, 50_000, 5_000):  # many runs, merged as they grow
        ints.check_and_add(pa.array(range(start + 10, start + 5_010)))
    assert ints.check_and_add(pa.array([-1, 25_000, 10**9])).tolist() == [True, True, False]


@pytest.mark.parametrize("weak_keys", [False, True])
def test_seen_index_matches_a_python_set_even_when_keys_collide(weak_keys: bool) -> None:
    """Random batches with repeats, nulls and partial candidates; weak keys make distinct values collide."""

    def weak(values):  # v1, v510, v1019, ... share a key: only the values can tell them apart
        numbers = pc.cast(pc.utf8_slice_codeunits(values, 1), pa.int64()).fill_null(0)
        return (np.asarray(numbers).astype(np.uint64) % np.uint64(509)) * np.uint64(0x9E3779B97F4A7C15)

    rng = np.random.default_rng(7)
    index, seen = SeenIndex(pa.string(), key_hash=weak if weak_keys else None), set()
    for _ in range(40):
        n = int(rng.integers(1, 3_000))
        raw = [None if rng.random() < 0.02 else f"v{int(rng.integers(0, 20_000))}" for _ in range(n)]
        candidates = rng.random(n) < 0.9
        keep = rng.random(n) < 0.95
        duplicate, pending = index.check(pa.array(raw, pa.string()), candidates)
        expected, batch_seen = [], set()
        for value, considered in zip(raw, candidates, strict=True):
            repeat = considered and value is not None and (value in seen or value in batch_seen)
            expected.append(repeat)
            if considered and value is not None:
                batch_seen.add(value)
        assert duplicate.tolist() == expected
        kept = keep & ~duplicate
        index.add(pending, kept)
        seen |= {v for v, c, k in zip(raw, candidates, kept, strict=True) if c and k and v is not None}
    assert len(index) == len(seen)


def test_prime_unique_rejects_values_already_in_the_table() -> None:
    v = validator()
    v.prime_unique("id", pa.array(["old"]))
    outcome = v.validate(
        batch(
            id=["old", "new"],
            email=["a@b", "a@b"],
            status=[None, None],
            balance=[None, None],
            created_at=["2024-01-01", "2024-01-01"],
        )
    )
    assert outcome.failed_rules == [["unique:id"]]


def test_run_memory_pool_is_switched_for_the_block_and_restored(monkeypatch) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool().backend_name
    with pytest.raises(RuntimeError), run_memory_pool() as pool:
        assert pa.default_memory_pool().backend_name == pool.backend_name == preferred_pool().backend_name
        raise RuntimeError("the run failed")
    assert pa.default_memory_pool().backend_name == before
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", before)  # an explicit choice is left alone
    with run_memory_pool() as pool:
        assert pool.backend_name == before
