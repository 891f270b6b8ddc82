"""Safe YAML loading: timestamps, duplicates, size, bombs, malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest

from dativo_ingest import yamlio
from dativo_ingest.errors import YAMLLoadError


def test_timestamps_stay_strings() -> None:
    assert yamlio.loads("created: 2022-10-03\nat: 2022-10-03T10:00:00Z\n") == {
        "created": "2022-10-03",
        "at": "2022-10-03T10:00:00Z",
    }


def test_duplicate_keys_are_errors_with_line() -> None:
    with pytest.raises(YAMLLoadError) as caught:
        yamlio.loads("a: 1\nb:\n  c: 1\n  c: 2\n", source="dup.yaml")
    assert str(caught.value) == "dup.yaml:4: duplicate key 'c' (first at line 3)"


def test_malformed_yaml_names_file_and_line() -> None:
    with pytest.raises(YAMLLoadError) as caught:
        yamlio.loads("a: [1, 2\nb: 3\n", source="bad.yaml")
    assert caught.value.path == "bad.yaml" and caught.value.line is not None
    assert "malformed YAML" in str(caught.value)


def test_alias_bombs_are_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    lines.append("z: [" + ", ".join(["*j"] * 1200) + "]")
    with pytest.raises(YAMLLoadError, match="alias"):
        yamlio.loads("\n".join(lines))


def test_several_documents_are_refused() -> None:
    with pytest.raises(YAMLLoadError, match="single document"):
        yamlio.loads("---\na: 1\n---\nb: 2\n", source="multi.yaml")
    assert yamlio.loads("---\n- a\n- b\n") == ["a", "b"]


def test_yaml_12_booleans_stay_strings() -> None:
    assert yamlio.loads("country: no\nflag: true\n") == {"country": "no", "flag": True}


def test_a_few_aliases_are_fine() -> None:
    assert yamlio.loads("base: &b {x: 1}\nother: *b\n") == {"base": {"x": 1}, "other": {"x": 1}}


def test_size_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(yamlio, "MAX_YAML_BYTES", 100)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 200)
    with pytest.raises(YAMLLoadError, match="larger than"):
        yamlio.load_file(big)


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(YAMLLoadError, match="file not found"):
        yamlio.load_file(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(YAMLLoadError, match="top level must be a mapping, got list"):
        yamlio.load_mapping(tmp_path / "list.yaml")
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(YAMLLoadError, match="got empty"):
        yamlio.load_mapping(tmp_path / "empty.yaml")


def test_non_utf8_file(tmp_path: Path) -> None:
    (tmp_path / "latin.yaml").write_bytes("a: caf\xe9\n".encode("latin-1"))
    with pytest.raises(YAMLLoadError, match="UTF-8"):
        yamlio.load_file(tmp_path / "latin.yaml")


def test_dumps_is_deterministic_and_round_trips() -> None:
    data = {"b": [{"x": 1, "y": "multi\nline"}], "a": "2022-10-03", "c": "ünïcode"}
    text = yamlio.dumps(data)
    assert text == yamlio.dumps(data)
    assert yamlio.loads(text) == data
    assert text.index("b:") < text.index("a:")


def test_line_of_paths() -> None:
    text = "a: 1\nschema:\n  - name: x\n    type: int\n  - name: y\n    type: str\n"
    assert yamlio.line_of(text, "schema[1].type") == 6
    assert yamlio.line_of(text, "schema[0]") == 3
    assert yamlio.line_of(text, "missing") is None


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffversion: 1.0.0\nschema:\n  - name: id\n".encode())
    assert yamlio.load_mapping(path) == {"version": "1.0.0", "schema": [{"name": "id"}]}
    assert yamlio.loads("\ufeffa: 1\n") == {"a": 1}
    assert yamlio.line_of("\ufeffa: 1\nb: 2\n", "b") == 2


def test_a_document_yaml_rs_refuses_is_refused_even_when_pyyaml_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PyYAML reads YAML 1.1 (``yes`` is true): its result would change the meaning, so it only explains."""

    def refuse(*_: object, **__: object) -> None:
        raise yamlio.yaml_rs.YAMLDecodeError("unsupported construct at line 1")

    monkeypatch.setattr(yamlio.yaml_rs, "loads", refuse)
    with pytest.raises(YAMLLoadError, match="unsupported YAML: unsupported construct at line 1"):
        yamlio.loads("a: yes\n", source="odd.yaml")
    with pytest.raises(YAMLLoadError, match="malformed YAML"):
        yamlio.loads("a: [1\n", source="bad.yaml")
