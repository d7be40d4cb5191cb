"""The delivery formats of a feed: JSON Lines, CSV and Parquet, each file with the same rows in the same order.

`write_feed` takes the feed's rows in batches (as `PartnerFeed.batches` yields them), writes them once as JSON
Lines into a spool file, and derives every other format from that spool, so the formats carry equal values
whatever the source. Each file goes through `open_file(name)`, a context manager giving a binary handle (a
delivery target's `writing(key)`, or a plain file); the feed's JSON Schema (`<feed>.schema.json`) is one
more file of the delivery.

- JSON Lines: one compact object per line, UTF-8, keys in the row's order (the bytes a works feed always had).
- CSV: RFC 4180 (CRLF, quotes only where needed), UTF-8 without BOM, a header of the schema's columns; a list
  or an object is one cell holding its compact JSON; null is an empty cell (so an empty text reads back as
  null: CSV has no null); booleans true/false.
- Parquet: written by DuckDB from the spool cast to the schema's types (one thread, insertion order kept,
  zstd, fixed row-group size), so identical rows give identical bytes.
- Operations (a schema `with_ops`, `pipelines.export.deltas`): `op` is the first column; a delete's cells beyond
  its op and key are empty (CSV) or null (Parquet), and read back as the JSON Lines delete `{op, key}`.

Memory: one batch of rows in Python; the Parquet conversion streams within DuckDB's memory limit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from pipelines.export.feed_schema import FeedSchema

FORMATS = ("jsonl", "csv", "parquet")
PARQUET_SETTINGS = {"compression": "zstd", "row_group_size": 100_000}
_COPY_CHUNK = 1 << 20

OpenFile = Callable[[str], AbstractContextManager[BinaryIO]]


@dataclass(frozen=True)
class FileSpec:
    """A delivered file as the manifest lists it."""

    name: str
    rows: int
    bytes: int
    sha256: str

    def entry(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "bytes": self.bytes, "sha256": self.sha256}


class CountingWriter:
    """A write-only handle that hashes and counts what goes through it."""

    def __init__(self, fh: BinaryIO):
        self.fh = fh
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.fh.write(chunk)
        self.digest.update(chunk)
        self.size += len(chunk)
        return len(chunk)

    def spec(self, name: str, rows: int) -> FileSpec:
        return FileSpec(name, rows, self.size, self.digest.hexdigest())


def file_name(schema: FeedSchema, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown feed format {fmt!r}: one of {', '.join(FORMATS)}")
    return f"{schema.feed}.{fmt}"


def jsonl_line(row: dict[str, Any]) -> bytes:
    return (json.dumps(row, ensure_ascii=False, default=str, separators=(",", ":")) + "\n").encode("utf-8")


def write_jsonl(fh: BinaryIO, batches: Iterable[list[dict[str, Any]]], name: str) -> FileSpec:
    out = CountingWriter(fh)
    rows = 0
    for batch in batches:
        out.write(b"".join(jsonl_line(row) for row in batch))
        rows += len(batch)
    return out.spec(name, rows)


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(
    fh: BinaryIO, batches: Iterable[list[dict[str, Any]]], schema: FeedSchema, name: str
) -> FileSpec:
    out = CountingWriter(fh)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(schema.names)
    rows = 0
    for batch in batches:
        for row in batch:
            writer.writerow([csv_cell(row.get(column)) for column in schema.names])
        rows += len(batch)
        out.write(text.getvalue().encode("utf-8"))
        text.seek(0)
        text.truncate()
    out.write(text.getvalue().encode("utf-8"))
    return out.spec(name, rows)


def read_csv_rows(data: bytes, schema: FeedSchema) -> list[dict[str, Any]]:
    """A CSV delivery read back into feed rows (what a partner's loader does): the inverse of `write_csv`."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader)
    if header != schema.names:
        raise ValueError(f"CSV header {header} is not the {schema.feed} schema's columns")
    columns = schema.columns
    rows = []
    positions = {name: i for i, name in enumerate(schema.names)}
    for cells in reader:
        if schema.key and cells[0] == "delete":  # a delete is its op and key, as in JSON Lines
            rows.append({name: cells[positions[name]] for name in ("op", *schema.key)})
            continue
        row: dict[str, Any] = {}
        for column, cell in zip(columns, cells, strict=True):
            kind = getattr(column.type, "kind", None)
            if cell == "" and (column.nullable or column.nested):
                row[column.name] = None
            elif column.nested:
                row[column.name] = json.loads(cell)
            elif kind == "integer":
                row[column.name] = int(cell)
            elif kind == "number":
                row[column.name] = float(cell)
            elif kind == "boolean":
                row[column.name] = cell == "true"
            else:
                row[column.name] = cell
        rows.append(row)
    return rows


def _duckdb_struct_literal(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{name}': '{type_}'" for name, type_ in columns.items()) + "}"


def write_parquet(
    fh: BinaryIO, spool: Path, rows: int, schema: FeedSchema, name: str, memory_limit: str = "256MB"
) -> FileSpec:
    """The spooled JSON Lines cast to the schema's types, as Parquet written by DuckDB with fixed settings."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="msdb-parquet-") as scratch:
        target = Path(scratch) / name
        con = duckdb.connect()
        try:
            con.execute("SET threads = 1")
            con.execute("SET preserve_insertion_order = true")
            con.execute(f"SET memory_limit = '{memory_limit}'")
            con.execute(f"SET temp_directory = '{scratch}'")
            columns = _duckdb_struct_literal(schema.duckdb_columns())
            select = ", ".join(f'"{c}"' for c in schema.names)
            con.execute(
                f"COPY (SELECT {select} FROM read_json(?, format = 'newline_delimited', columns = {columns}, "
                f"maximum_object_size = 16777216)) TO '{target}' "
                f"(FORMAT parquet, COMPRESSION {PARQUET_SETTINGS['compression']}, "
                f"ROW_GROUP_SIZE {PARQUET_SETTINGS['row_group_size']})",
                [str(spool)],
            )
        finally:
            con.close()
        return _copy(fh, target, rows, name)


def write_feed(
    batches: Iterable[list[dict[str, Any]]], schema: FeedSchema, formats: Iterable[str], open_file: OpenFile
) -> list[FileSpec]:
    """Every format named (in that order) and then the schema file; returns their manifest entries."""
    formats = list(dict.fromkeys(formats))
    names = {fmt: file_name(schema, fmt) for fmt in formats}
    specs: list[FileSpec] = []
    with tempfile.NamedTemporaryFile(prefix=f"msdb-{schema.feed}-", suffix=".jsonl") as spool:
        spooled = write_jsonl(spool, batches, names.get("jsonl", f"{schema.feed}.jsonl"))
        spool.flush()
        for fmt in formats:
            with open_file(names[fmt]) as fh:
                if fmt == "jsonl":
                    specs.append(_copy(fh, Path(spool.name), spooled.rows, names[fmt]))
                elif fmt == "csv":
                    specs.append(write_csv(fh, _spooled_batches(Path(spool.name)), schema, names[fmt]))
                else:
                    specs.append(write_parquet(fh, Path(spool.name), spooled.rows, schema, names[fmt]))
    schema_name, schema_body = schema.schema_file()
    with open_file(schema_name) as fh:
        out = CountingWriter(fh)
        out.write(schema_body)
        specs.append(out.spec(schema_name, 0))
    return specs


def _copy(fh: BinaryIO, source: Path, rows: int, name: str) -> FileSpec:
    out = CountingWriter(fh)
    with source.open("rb") as src:
        while chunk := src.read(_COPY_CHUNK):
            out.write(chunk)
    return out.spec(name, rows)


def _spooled_batches(spool: Path, batch_rows: int = 10_000) -> Iterator[list[dict[str, Any]]]:
    with spool.open("rb") as fh:
        batch = []
        for line in fh:
            batch.append(json.loads(line))
            if len(batch) == batch_rows:
                yield batch
                batch = []
        if batch:
            yield batch


def folder(out_dir: Path) -> OpenFile:
    """`open_file` for a plain folder (tests, `msdb feeds diff`): files written whole."""

    @contextmanager
    def open_file(name: str) -> Iterator[BinaryIO]:
        out_dir.mkdir(parents=True, exist_ok=True)
        with (out_dir / name).open("wb") as fh:
            yield fh

    return open_file
