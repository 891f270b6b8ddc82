"""Parquet, CSV and JSON Lines files through pyarrow, on a bounded sample.

SOURCE is a file, or a folder whose files of the kind (``.parquet``; ``.csv``; ``.jsonl``/``.json``/
``.ndjson``) each become one contract named after the file. Parquet declares its schema (nullability
included); CSV and JSON Lines types are inferred by pyarrow from the first ``--sample-rows`` rows, which
are also what ``--profile`` reads.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from dativo_ingest.errors import ContractImportError
from dativo_ingest.importers.arrowtypes import arrow_field
from dativo_ingest.importers.base import ImportedContract, ImportRequest, contract, safe_stem, select
from dativo_ingest.importers.profile import profile_object
from dativo_ingest.odcs.model import SchemaObject

SUFFIXES = {"parquet": (".parquet",), "csv": (".csv",), "jsonl": (".jsonl", ".ndjson", ".json")}
#: ODCS ``local`` server ``format`` per kind.
FORMAT = {"parquet": "parquet", "csv": "csv", "jsonl": "json"}


def import_files(request: ImportRequest) -> list[ImportedContract]:
    """One contract per selected file of ``request.source``."""
    root = Path(request.source)
    if root.is_file():
        files = {root.stem: root}
        where = str(root)
    elif root.is_dir():
        files = {
            p.stem: p
            for p in sorted(root.iterdir())
            if p.is_file() and p.suffix.lower() in SUFFIXES[request.kind]
        }
        where = f"folder {root}"
        if not files:
            raise ContractImportError(f"no {request.kind} files in {where}")
    else:
        raise ContractImportError(f"{root}: no such file or folder")
    results = []
    for name in select(request, files, where):
        results.append(_import_file(request, name, files[name]))
    return results


def _import_file(request: ImportRequest, name: str, path: Path) -> ImportedContract:
    schema, sample = _read(request.kind, path, request.sample_rows)
    nullability = request.kind == "parquet"
    fields = [arrow_field(f, str(path), nullability=nullability) for f in schema]
    obj = SchemaObject.model_validate(
        {"name": name, "physicalName": path.name, "physicalType": "file", "properties": fields}
    )
    proposals = profile_object(obj, sample) if request.profile else []
    server = {"server": "local", "type": "local", "path": path.as_posix(), "format": FORMAT[request.kind]}
    asset = contract(request, source_type=request.kind, obj=obj, servers=[server])
    return ImportedContract(asset, safe_stem(name), proposals)


def _read(kind: str, path: Path, rows: int) -> tuple[pa.Schema, pa.Table]:
    try:
        if kind == "parquet":
            file = pq.ParquetFile(path)
            batches, read = [], 0
            for batch in file.iter_batches(batch_size=min(rows, 65_536)):
                batches.append(batch)
                read += batch.num_rows
                if read >= rows:
                    break
            sample = pa.Table.from_batches(batches, schema=file.schema_arrow).slice(0, rows)
            return file.schema_arrow, sample
        if kind == "csv":
            with path.open(newline="", encoding="utf-8") as handle:
                records = list(itertools.islice(csv.reader(handle), rows + 1))
            if not records:
                raise ContractImportError(f"{path}: the file is empty")
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(records)
            quoted_newlines = pacsv.ParseOptions(newlines_in_values=True)
            table = pacsv.read_csv(
                io.BytesIO(buffer.getvalue().encode("utf-8")), parse_options=quoted_newlines
            )
            return table.schema, table
        with path.open("rb") as handle:
            lines = [line for line in itertools.islice(handle, rows) if line.strip()]
        if not lines:
            raise ContractImportError(f"{path}: the file is empty")
        table = _read_json_lines(lines, path)
        return table.schema, table
    except ContractImportError:
        raise
    except (OSError, UnicodeDecodeError, pa.ArrowException, csv.Error) as exc:
        raise ContractImportError(f"{path}: cannot read as {kind}: {str(exc).splitlines()[0]}") from exc


def _read_json_lines(lines: list[bytes], path: Path) -> pa.Table:
    """The sample as Arrow; a field whose values change type between rows (``"7"`` then ``7``) is text."""
    try:
        return pajson.read_json(io.BytesIO(b"".join(lines)))
    except pa.ArrowInvalid as exc:
        if "changed from" not in str(exc):
            raise
    records: list[dict[str, object]] = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise ContractImportError(f"{path}: record {number} is not JSON: {exc}") from None
        if not isinstance(record, dict):
            raise ContractImportError(f"{path}: record {number} is not a JSON object")
        records.append(record)
    names = list(dict.fromkeys(name for record in records for name in record))
    return pa.table({name: _column([r.get(name) for r in records]) for name in names})


def _column(values: list[object]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowException, TypeError, ValueError):
        texts = [v if v is None or isinstance(v, str) else json.dumps(v, sort_keys=True) for v in values]
        return pa.array(texts, pa.string())
