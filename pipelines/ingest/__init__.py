"""Ingest: landed files → raw tables, with provenance on every row and nothing lost.

Every file ends in `ops.ingest_files` with records found = loaded + quarantined; every record that is not
loaded is in `ops.quarantine` with its file, location and reason. A file is loaded in one transaction: a
file that breaks off half way leaves no half-loaded rows. A file already ingested (same sha256) is skipped.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from pipelines.ingest import formats
from pipelines.ingest.landing import LandedFile, discover, sha256_of
from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile
from pipelines.registry import load_holders
from pipelines.settings import MsdbSettings
from pipelines.warehouse import ArrowStream, writer

if TYPE_CHECKING:
    import duckdb

BATCH_ROWS = 5_000


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
    """Rows buffered per raw table and written in bulk inside the file's transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.pending = 0

    def add(self, record: Record) -> None:
        for table, row in record.rows:
            self.rows[table].append(row)
        self.pending += len(record.rows)
        if self.pending >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        import polars as pl

        for table, rows in self.rows.items():
            if rows:
                stream = ArrowStream(pl.DataFrame(rows, infer_schema_length=None))  # noqa: F841 (read by DuckDB)
                self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM stream")
        self.rows.clear()
        self.pending = 0


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


def ingest_file(con, logical_date: date, landed: LandedFile, registry, report_dir=None) -> FileOutcome:
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
        batches = _Batches(con)
        for item in adapter(landed.path, ctx):
            outcome.found += 1
            if isinstance(item, Quarantined):
                rejected.append(item)
            else:
                batches.add(item)
                outcome.loaded += 1
        batches.flush()
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


def run_ingest(settings: MsdbSettings, logical_date: date, progress=None) -> IngestSummary:
    registry = load_holders(settings.registry_file)
    landed = list(discover(settings.landing))
    summary = IngestSummary()
    with writer(settings.warehouse) as con:
        _load_holders_table(con, registry)
        for item in landed:
            summary.files.append(ingest_file(con, logical_date, item, registry, settings.var_dir / "reports" / "ingest"))
            if progress:
                progress(item.relative_path)
    return summary


def summary_json(summary: IngestSummary) -> str:
    return json.dumps(summary.by_kind(), sort_keys=True)
