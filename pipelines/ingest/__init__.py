"""Ingest: landed files → raw tables, with provenance on every row and nothing lost.

Every file ends in `ops.ingest_files` with records found = loaded + quarantined; every record that is not
loaded is in `ops.quarantine` with its file, location and reason. A file is loaded in one transaction: a
file that breaks off half way leaves no half-loaded rows. A file already ingested (same sha256) is skipped.
"""

from __future__ import annotations

import gc
import json
from collections import defaultdict, deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from pipelines.ingest import formats
from pipelines.ingest.landing import LandedFile, discover, sha256_of
from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile
from pipelines.registry import load_holders
from pipelines.settings import MsdbSettings
from pipelines.warehouse import ArrowStream, writer

if TYPE_CHECKING:
    from concurrent.futures import Future

    import duckdb

BATCH_ROWS = 5_000
WRITES_IN_FLIGHT = 2
INGEST_MEMORY_LIMIT = "128MB"  # DuckDB's buffer pool while loading; the process peaks near 400 MB with it
INGEST_THREADS = 1
GC_THRESHOLD = 50_000  # allocations between young-generation GC passes while a file streams (CPython: 700)


@dataclass
class FileOutcome:
    kind: str
    status: str  # loaded, partial, quarantined, skipped
    found: int = 0
    loaded: int = 0
    quarantined: int = 0


@dataclass
class IngestSummary:
    files: list[FileOutcome] = field(default_factory=list)

    def by_kind(self) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for outcome in self.files:
            row = totals[outcome.kind]
            status = "quarantined" if outcome.status == "undeclared_holder" else outcome.status
            row[f"files_{status}"] += 1
            row["records_loaded"] += outcome.loaded
            row["records_quarantined"] += outcome.quarantined
        return {kind: dict(values) for kind, values in sorted(totals.items())}


class _Batches:
    """Rows buffered per raw table and written in bulk inside the file's transaction.

    Every BATCH_ROWS rows are handed to a writer thread, which makes one polars frame per table of them and
    inserts it while the adapter reads on: DuckDB works without the GIL, so parsing and loading overlap. At
    most WRITES_IN_FLIGHT batches wait for the writer, which bounds the memory a fast parser can fill. From
    the first insert until the batches are closed (and the caller commits or rolls back) the connection
    belongs to the writer thread; the file's transaction stays the one the caller began.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, columns: _TableColumns):
        self.con = con
        self.columns = columns
        self.tables: dict[str, _TableRows] = {}
        self.pending = 0
        self.writes: deque[Future] = deque()
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="msdb-ingest-writer")

    def __enter__(self) -> _Batches:
        return self

    def __exit__(self, *exc_info) -> None:
        """Wait for every insert already handed over (the caller rolls back or commits only afterwards)."""
        self.writer.shutdown(wait=True)

    def add(self, record: Record) -> None:
        for table, row in record.rows:
            rows = self.tables.get(table)
            if rows is None:
                rows = self.tables[table] = _TableRows(row)
            rows.append(row)
        self.pending += len(record.rows)
        if self.pending >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        for table, rows in self.tables.items():
            while len(self.writes) >= WRITES_IN_FLIGHT:
                self.writes.popleft().result()  # raises what the insert raised
            self.writes.append(self.writer.submit(_insert_rows, self.con, table, self.columns, rows))
        self.tables.clear()
        self.pending = 0

    def close(self) -> None:
        """Flush what is left and wait for every insert; raises the first insert error."""
        self.flush()
        while self.writes:
            self.writes.popleft().result()


class _TableRows:
    """One table's buffered rows. While they all have the keys of the first (an adapter's rows for a table
    do), each is kept as a tuple of its values, taken while the dict is fresh, and the batch becomes columns
    in C; a row of another shape turns the batch back into dicts."""

    def __init__(self, first: dict[str, Any]):
        self.keys = tuple(first)
        self.values = itemgetter(*self.keys) if len(self.keys) > 1 else None
        self.tuples: list[tuple] = []
        self.dicts: list[dict[str, Any]] | None = None

    def append(self, row: dict[str, Any]) -> None:
        if self.dicts is None and self.values is not None and len(row) == len(self.keys):
            try:
                self.tuples.append(self.values(row))
                return
            except KeyError:
                pass
        self.as_dicts().append(row)

    def as_dicts(self) -> list[dict[str, Any]]:
        if self.dicts is None:
            self.dicts = [dict(zip(self.keys, values, strict=True)) for values in self.tuples]
            self.tuples = []
        return self.dicts

    def columns(self) -> tuple[list[str], list]:
        """(keys, one sequence of values per key); a key absent from a row is NULL there."""
        if self.dicts is None:
            return list(self.keys), list(zip(*self.tuples, strict=True))
        keys = list(dict.fromkeys(key for row in self.dicts for key in row))
        return keys, [[row.get(key) for row in self.dicts] for key in keys]


def _insert_rows(con: duckdb.DuckDBPyConnection, table: str, columns: _TableColumns, rows: _TableRows) -> None:
    """In the writer thread: the rows become a frame there too (polars releases the GIL for part of that
    work, e.g. decoding the JSON of list columns), which takes it off the thread that parses."""
    _insert(con, table, columns.frame(table, rows))


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame) -> None:
    stream = ArrowStream(frame)  # noqa: F841 (read by DuckDB)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM stream")


class _TableColumns:
    """Turns buffered rows into a polars frame, column by column, typed by the raw table's own columns.

    What the rows hold is what `pl.DataFrame(rows, infer_schema_length=None)` would make of them; that call
    is also the fallback for anything unusual. It is only faster: a column holding one value throughout (the
    file's provenance, the message's creation time) is converted once, text and number columns take their
    type from the table instead of being inferred value by value, and lists of text go through JSON (polars
    converts Python lists several times slower). The catalog is read before any insert is in flight: the
    writer thread owns the connection while a file loads.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection):
        found = con.execute(
            "SELECT schema_name || '.' || table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = 'raw'"
        ).fetchall()
        self.types: dict[str, dict[str, str]] = defaultdict(dict)
        for table, column, data_type in found:
            self.types[table][column] = data_type

    def frame(self, table: str, rows: _TableRows):
        import polars as pl

        keys, columns = rows.columns()
        types = self.types.get(table, {})
        try:
            return pl.DataFrame(
                [_series(key, values, types.get(key)) for key, values in zip(keys, columns, strict=True)]
            )
        except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
            return pl.DataFrame(rows.as_dicts(), infer_schema_length=None)


_SCALAR_TYPES = {
    "VARCHAR": "String",
    "JSON": "String",
    "BOOLEAN": "Boolean",
    "TINYINT": "Int64",
    "SMALLINT": "Int64",
    "INTEGER": "Int64",
    "BIGINT": "Int64",
    "FLOAT": "Float64",
    "DOUBLE": "Float64",
}


def _series(name: str, values, duckdb_type: str | None):
    """One column with the values `pl.DataFrame(rows, infer_schema_length=None)` gives it; raises where
    that call might have decided otherwise (the caller then makes the whole frame that way)."""
    import polars as pl

    first = values[0]
    if all(value is first for value in values):
        return _inferred(name, [first]).new_from_index(0, len(values))
    scalar = _SCALAR_TYPES.get(duckdb_type or "")
    if scalar is not None:
        return pl.Series(name, values, dtype=getattr(pl, scalar), strict=True)
    if duckdb_type == "VARCHAR[]" and all(
        value is None or (type(value) is list and all(type(item) is str for item in value))
        for value in values
    ):
        # lists through JSON: polars decodes a JSON column several times faster than it converts Python lists
        lines = _json_encoder().encode_lines(values).decode().split("\n")[:-1]
        return pl.Series(name, lines, dtype=pl.String).str.json_decode(pl.List(pl.String))
    if duckdb_type == "DATE" and all(value is None or type(value) is date for value in values):
        return pl.Series(name, values)
    if duckdb_type in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP"):
        zones = {value.tzinfo is None for value in values if type(value) is datetime}
        if len(zones) == 1 and all(value is None or type(value) is datetime for value in values):
            return pl.Series(name, values)  # all naive or all aware: what the frame would infer
    return _inferred(name, values)


def _inferred(name: str, values):
    import polars as pl

    return pl.DataFrame([{name: value} for value in values], infer_schema_length=None).to_series()


@cache
def _json_encoder():
    import msgspec

    return msgspec.json.Encoder()


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """A streamed file allocates millions of short-lived, acyclic objects (elements, rows): with CPython's
    default threshold the cyclic GC ran ~1,000 times per 200 MB, rescanning every buffered row each time
    it reached the older generations. The previous thresholds come back afterwards."""
    thresholds = gc.get_threshold()
    if thresholds[0]:  # 0: collection disabled by the host, leave it so
        gc.set_threshold(max(thresholds[0], GC_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _quarantine(con, logical_date: date, file_id: str | None, path: str, location: str, reason: str) -> None:
    con.execute(
        "INSERT INTO ops.quarantine VALUES (?, ?, ?, 'ingest', ?, ?, ?)",
        [file_id, path, location, reason, logical_date, datetime.now(UTC)],
    )


def _record_file(con, logical_date: date, landed: LandedFile, file_id: str, file_format: str, outcome: FileOutcome):
    con.execute(
        "INSERT INTO ops.ingest_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            file_id,
            landed.relative_path,
            landed.kind,
            landed.holder_id,
            file_format,
            landed.path.stat().st_size,
            outcome.found,
            outcome.loaded,
            outcome.quarantined,
            outcome.status,
            logical_date,
            datetime.now(UTC),
        ],
    )


def _already_ingested(con, file_id: str) -> bool:
    return (
        con.execute(
            "SELECT count(*) FROM ops.ingest_files WHERE file_id = ? AND status <> 'undeclared_holder'", [file_id]
        ).fetchone()[0]
        > 0
    )


def ingest_file(
    con,
    logical_date: date,
    landed: LandedFile,
    registry,
    report_dir=None,
    columns: _TableColumns | None = None,
    file_id: str | None = None,
) -> FileOutcome:
    """file_id: the file's sha256 when the caller already has it."""
    if file_id is None:
        file_id = sha256_of(landed.path)
    if _already_ingested(con, file_id):
        return FileOutcome(landed.kind, "skipped")
    holder = registry.get(landed.kind, landed.holder_id) if landed.holder_id else None
    if holder is None:
        outcome = FileOutcome(landed.kind, "undeclared_holder")
        con.begin()
        reason = (
            f"holder {landed.holder_id!r} is not declared for kind {landed.kind!r} in the registry"
            if landed.holder_id
            else f"file lies directly under {landed.kind}/: expected {landed.kind}/<holder_id>/..."
        )
        con.execute("DELETE FROM ops.ingest_files WHERE file_id = ? AND status = 'undeclared_holder'", [file_id])
        _quarantine(con, logical_date, file_id, landed.relative_path, "file", reason)
        _record_file(con, logical_date, landed, file_id, "unknown", outcome)
        con.commit()
        return outcome

    ctx = FileContext(landed.path, landed.relative_path, file_id, landed.kind, holder, report_dir)
    outcome = FileOutcome(landed.kind, "loaded")
    rejected: list[Quarantined] = []
    file_format = "unknown"
    con.begin()
    try:
        file_format, adapter = formats.choose(landed.kind, landed.path)
        with _Batches(con, columns or _TableColumns(con)) as batches, _fewer_gc_passes():
            for item in adapter(landed.path, ctx):
                outcome.found += 1
                if isinstance(item, Quarantined):
                    rejected.append(item)
                else:
                    batches.add(item)
                    outcome.loaded += 1
            batches.close()
    except Exception as exc:  # noqa: BLE001 - one bad file (or a reader bug on it) must not stop the night
        con.rollback()
        con.begin()
        outcome = FileOutcome(landed.kind, "quarantined", found=outcome.found, quarantined=outcome.found)
        reason = str(exc) if isinstance(exc, RejectedFile | OSError) else f"reader error {type(exc).__name__}: {exc}"
        rejected = [Quarantined("file", reason)]
    else:
        outcome.quarantined = len(rejected)
        if rejected:
            outcome.status = "partial" if outcome.loaded else "quarantined"
    for item in rejected:
        _quarantine(con, logical_date, file_id, landed.relative_path, item.position, item.reason)
    _record_file(con, logical_date, landed, file_id, file_format, outcome)
    con.commit()
    return outcome


def _load_holders_table(con, registry) -> None:
    con.execute("DELETE FROM raw.holders")
    con.executemany(
        "INSERT INTO raw.holders VALUES (?, ?, ?, ?, ?, ?)",
        [[h.id, h.name, h.kind, h.timezone, h.default_language, h.licence_territories] for h in registry.holders],
    )


@contextmanager
def _loading_settings(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB settings while files load, the previous values restored afterwards.

    memory_limit: a file is loaded in one transaction, and DuckDB keeps what a transaction appended in its
    buffer pool until commit (and the row groups it already wrote out, as cached blocks): under its default
    limit (80% of RAM) a 1 GB delivery held over 1 GB. Under INGEST_MEMORY_LIMIT it moves those blocks to
    its temporary directory instead, and the process stays bounded whatever the file size.
    threads: the writer thread inserts a few thousand rows at a time while Python parses on the other core;
    a second DuckDB thread only competes with the parser for it.
    """
    wanted = {"memory_limit": INGEST_MEMORY_LIMIT, "threads": INGEST_THREADS}
    previous = {name: con.execute("SELECT current_setting(?)", [name]).fetchone()[0] for name in wanted}
    for name, value in wanted.items():
        con.execute(f"SET {name} = '{value}'")
    try:
        yield
    finally:
        for name, value in previous.items():
            con.execute(f"RESET {name}")  # exact when it was the default ('18.8 GiB' would not round-trip)
            if con.execute("SELECT current_setting(?)", [name]).fetchone()[0] != value:
                con.execute(f"SET {name} = '{value}'")


def run_ingest(settings: MsdbSettings, logical_date: date, progress=None) -> IngestSummary:
    registry = load_holders(settings.registry_file)
    landed = list(discover(settings.landing))
    summary = IngestSummary()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="msdb-ingest-sha256") as hasher:
        # The first file's sha256 is computed while the warehouse opens (hashlib and file reads release the
        # GIL); every later one just before its file is read, as always.
        first_id = hasher.submit(sha256_of, landed[0].path) if landed else None
        with writer(settings.warehouse) as con, _loading_settings(con):
            _load_holders_table(con, registry)
            columns = _TableColumns(con)
            for number, item in enumerate(landed):
                reports = settings.var_dir / "reports" / "ingest"
                file_id = first_id.result() if number == 0 else None
                summary.files.append(ingest_file(con, logical_date, item, registry, reports, columns, file_id))
                if progress:
                    progress(item.relative_path)
    return summary


def summary_json(summary: IngestSummary) -> str:
    return json.dumps(summary.by_kind(), sort_keys=True)
