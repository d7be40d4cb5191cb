"""Adapter rows → typed polars frames, batched per raw table.

Shared by the loader (which inserts the frames in the file's transaction) and by the helper processes that
read shares of a large message (which send them to the loader as Arrow IPC).
"""

from __future__ import annotations

import gc
import io
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from pipelines.ingest.records import Record

if TYPE_CHECKING:
    import duckdb
    import polars as pl

BATCH_ROWS = 5_000
GC_THRESHOLD = 50_000  # allocations between young-generation GC passes while a file streams (CPython: 700)


class TableRows:
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


class RowBatches:
    """Rows buffered per raw table; every `batch_rows` rows, each table's batch goes to `sink(table, rows)`."""

    def __init__(self, sink: Callable[[str, TableRows], None], batch_rows: int = BATCH_ROWS):
        self.sink = sink
        self.batch_rows = batch_rows
        self.tables: dict[str, TableRows] = {}
        self.pending = 0

    def add(self, record: Record) -> None:
        for table, row in record.rows:
            rows = self.tables.get(table)
            if rows is None:
                rows = self.tables[table] = TableRows(row)
            rows.append(row)
        self.pending += len(record.rows)
        if self.pending >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        for table, rows in self.tables.items():
            self.sink(table, rows)
        self.tables.clear()
        self.pending = 0


class TableColumns:
    """Turns buffered rows into a polars frame, column by column, typed by the raw table's own columns.

    What the rows hold is what `pl.DataFrame(rows, infer_schema_length=None)` would make of them; that call
    is also the fallback for anything unusual. It is only faster: a column holding one value throughout (the
    file's provenance, the message's creation time) is converted once, text and number columns take their
    type from the table instead of being inferred value by value, and lists of text go through JSON (polars
    converts Python lists several times slower).
    """

    def __init__(self, types: dict[str, dict[str, str]]):
        self.types = types  # {"raw.table": {column: DuckDB type}}

    @classmethod
    def of_raw_tables(cls, con: duckdb.DuckDBPyConnection) -> TableColumns:
        """Read from the catalog before any insert is in flight (the writer thread owns the connection while
        a file loads)."""
        found = con.execute(
            "SELECT schema_name || '.' || table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = 'raw'"
        ).fetchall()
        types: dict[str, dict[str, str]] = defaultdict(dict)
        for table, column, data_type in found:
            types[table][column] = data_type
        return cls(dict(types))

    def frame(self, table: str, rows: TableRows) -> pl.DataFrame:
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


def to_ipc(frame: pl.DataFrame) -> memoryview:
    """Arrow IPC bytes of a frame (uncompressed: it only crosses a pipe on the same machine)."""
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="uncompressed")
    return buffer.getbuffer()


def from_ipc(data: bytes) -> pl.DataFrame:
    import polars as pl

    return pl.read_ipc(io.BytesIO(data))


@contextmanager
def fewer_gc_passes() -> Iterator[None]:
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
