"""The loader: landed files → raw tables, one transaction per file (see the package docstring)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict, deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from pipelines.ingest import ddex, ddex_parts, ern3, formats
from pipelines.ingest.ddex_message import message_identity
from pipelines.ingest.frames import RowBatches, TableColumns, TableRows, fewer_gc_passes
from pipelines.ingest.helpers import IngestHelpers, default_helper_count
from pipelines.ingest.landing import LandedFile, discover, sha256_of
from pipelines.ingest.records import FileContext, Quarantined, Record, Tally, failure_reason
from pipelines.registry import load_holders
from pipelines.settings import MsdbSettings
from pipelines.warehouse import ArrowStream, writer

if TYPE_CHECKING:
    from concurrent.futures import Future

    import duckdb

log = logging.getLogger(__name__)

WRITES_IN_FLIGHT = 2
INGEST_THREADS = 1


@dataclass
class FileOutcome:
    kind: str
    status: str  # loaded, partial, quarantined, skipped, undeclared_holder, already_loaded, deferred
    found: int = 0
    loaded: int = 0
    quarantined: int = 0
    readers: int = 1  # processes that read the file (the loader, and helpers for a large message)
    reason: str | None = None  # already_loaded: which earlier file holds the message
    path: str | None = None  # relative to the landing root


@dataclass
class IngestSummary:
    files: list[FileOutcome] = field(default_factory=list)

    def by_kind(self) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for outcome in self.files:
            row = totals[outcome.kind]
            status = "quarantined" if outcome.status == "undeclared_holder" else outcome.status
            row[f"files_{status}"] += 1
            if status == "deferred":
                continue
            row["records_loaded"] += outcome.loaded
            row["records_quarantined"] += outcome.quarantined
        return {kind: dict(values) for kind, values in sorted(totals.items())}

    def paths(self, status: str) -> list[str]:
        """The landing paths of the files with that outcome, sorted."""
        return sorted(f.path for f in self.files if f.status == status and f.path)


class _Batches:
    """The loader's rows, buffered per raw table and written in bulk inside the file's transaction.

    Every BATCH_ROWS rows are handed to a writer thread, which makes one polars frame per table of them and
    inserts it while the adapter reads on: DuckDB works without the GIL, so parsing and loading overlap. At
    most WRITES_IN_FLIGHT batches wait for the writer, which bounds the memory a fast parser can fill. Frames
    made elsewhere (by helper processes) are inserted by the same thread. From the first insert until the
    batches are closed (and the caller commits or rolls back) the connection belongs to the writer thread;
    the file's transaction stays the one the caller began.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, columns: TableColumns):
        self.con = con
        self.columns = columns
        self.rows = RowBatches(self._submit)
        self.writes: deque[Future] = deque()
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="msdb-ingest-writer")

    def __enter__(self) -> _Batches:
        return self

    def __exit__(self, *exc_info) -> None:
        """Wait for every insert already handed over (the caller rolls back or commits only afterwards)."""
        self.writer.shutdown(wait=True)

    def add(self, record: Record) -> None:
        self.rows.add(record)

    def _submit(self, table: str, rows: TableRows) -> None:
        while len(self.writes) >= WRITES_IN_FLIGHT:
            self.writes.popleft().result()  # raises what the insert raised
        self.writes.append(self.writer.submit(_insert_rows, self.con, table, self.columns, rows))

    def insert_frame(self, table: str, frame) -> None:
        """Insert a ready frame (from any thread); returns once it is in the transaction."""
        self.writer.submit(_insert, self.con, table, frame).result()

    def close(self) -> None:
        """Flush what is left and wait for every insert; raises the first insert error."""
        self.rows.flush()
        while self.writes:
            self.writes.popleft().result()


def _insert_rows(con: duckdb.DuckDBPyConnection, table: str, columns: TableColumns, rows: TableRows) -> None:
    """In the writer thread: the rows become a frame there too (polars releases the GIL for part of that
    work, e.g. decoding the JSON of list columns), which takes it off the thread that parses."""
    _insert(con, table, columns.frame(table, rows))


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame) -> None:
    stream = ArrowStream(frame)  # noqa: F841 (read by DuckDB)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM stream")


def _quarantine(con, logical_date: date, file_id: str | None, path: str, location: str, reason: str) -> None:
    reason = " ".join(reason.split())  # one line: a parser's message may carry a line break (libxml2's do)
    con.execute(
        "INSERT INTO ops.quarantine VALUES (?, ?, ?, 'ingest', ?, ?, ?)",
        [file_id, path, location, reason, logical_date, datetime.now(UTC)],
    )


def _record_file(
    con, logical_date: date, landed: LandedFile, file_id: str, file_format: str, outcome: FileOutcome
):
    size = landed.size if landed.size is not None else landed.path.stat().st_size
    con.execute(
        "INSERT INTO ops.ingest_files (file_id, file_path, kind, holder_id, file_format, size_bytes, records_found, "
        "records_loaded, records_quarantined, status, logical_date, ingested_at, reason, partition_date) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            file_id,
            landed.relative_path,
            landed.kind,
            landed.holder_id,
            file_format,
            size,
            outcome.found,
            outcome.loaded,
            outcome.quarantined,
            outcome.status,
            logical_date,
            datetime.now(UTC),
            outcome.reason,
            landed.partition_date or logical_date,
        ],
    )


def _earlier_delivery(con, path, adapter: formats.Adapter, file_id: str) -> str | None:
    """Why a DDEX message is not loaded again: the same message (id, creation time, sender) already loaded
    from another file, a resend with a BOM or in another encoding whose sha256 differs. None when new."""
    if adapter not in (ddex.parse, ern3.parse):
        return None
    identity = message_identity(path)
    if identity is None:
        return None
    earlier = con.execute(
        "SELECT m.file_path FROM raw.ddex_messages m JOIN ops.ingest_files f USING (file_id) "
        "WHERE m.message_id = ? AND m.message_created_at = ? "
        "AND coalesce(m.sender_party_id, m.sender_name) = ? AND m.file_id <> ? "
        "ORDER BY f.ingested_at, m.file_path LIMIT 1",
        [identity.message_id, identity.created_at, identity.sender, file_id],
    ).fetchone()
    if earlier is None:
        return None
    return f"{identity.describe()} already loaded from {earlier[0]}; this copy is not loaded again"


# ops.ingest_files.reason of a file that changed while it was read: its bytes are read again next time.
CHANGED_WHILE_READ = "changed while it was read"


def _already_ingested(con, file_id: str) -> bool:
    return (
        con.execute(
            "SELECT count(*) FROM ops.ingest_files WHERE file_id = ? AND status <> 'undeclared_holder' "
            "AND coalesce(reason, '') <> ?",
            [file_id, CHANGED_WHILE_READ],
        ).fetchone()[0]
        > 0
    )


def unread_file_id(landed: LandedFile) -> str:
    """The file id of a file refused unopened (`LandedFile.refusal`): its bytes are never read, so it is the
    sha256 of its landing path instead."""
    return hashlib.sha256(f"unread:{landed.relative_path}".encode()).hexdigest()


def _refuse_unread(con, logical_date: date, landed: LandedFile) -> FileOutcome:
    file_id = unread_file_id(landed)
    if _already_ingested(con, file_id):
        return FileOutcome(landed.kind, "skipped")
    outcome = FileOutcome(landed.kind, "quarantined")
    con.begin()
    _quarantine(con, logical_date, file_id, landed.relative_path, "file", landed.refusal)
    _record_file(con, logical_date, landed, file_id, "unknown", outcome)
    con.commit()
    return outcome


def ingest_file(
    con,
    logical_date: date,
    landed: LandedFile,
    registry,
    report_dir=None,
    columns: TableColumns | None = None,
    file_id: str | None = None,
    helpers: IngestHelpers | None = None,
    helper_min_bytes: int = 0,
) -> FileOutcome:
    """file_id: the file's sha256 when the caller already has it. helpers: processes that share the reading
    of a message at least helper_min_bytes large, when its format allows (see `helpers`)."""
    if landed.refusal:
        return _refuse_unread(con, logical_date, landed)
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
        con.execute(
            "DELETE FROM ops.ingest_files WHERE file_id = ? AND status = 'undeclared_holder'", [file_id]
        )
        _quarantine(con, logical_date, file_id, landed.relative_path, "file", reason)
        _record_file(con, logical_date, landed, file_id, "unknown", outcome)
        con.commit()
        return outcome

    ctx = FileContext(landed.path, landed.relative_path, file_id, landed.kind, holder, report_dir, logical_date)
    read = Tally()
    file_format = "unknown"
    con.begin()
    try:
        file_format, adapter = formats.choose(landed.kind, landed.path)
        resent = _earlier_delivery(con, landed.path, adapter, file_id)
        if resent:
            outcome = FileOutcome(landed.kind, "already_loaded", reason=resent)
            _record_file(con, logical_date, landed, file_id, file_format, outcome)
            con.commit()
            return outcome
        columns = columns or TableColumns.of_raw_tables(con)
        kinds = formats.resource_kinds(adapter)
        plan = None
        if helpers and kinds and landed.path.stat().st_size >= helper_min_bytes:
            plan = ddex_parts.plan(landed.path, helpers.count + 1, kinds)
        if plan is not None:
            try:
                _read_in_parts(con, ctx, adapter, columns, helpers, plan, read)
                log.info("%s: read in %d parts", landed.relative_path, plan.readers)
            except Exception as exc:  # noqa: BLE001 - read whole, which also names the error exactly
                log.warning(
                    "%s: read in parts failed (%s: %s); reading it whole",
                    landed.relative_path,
                    type(exc).__name__,
                    exc,
                )
                con.rollback()
                con.begin()
                plan, read = None, Tally()
        if plan is None:
            _read_whole(con, ctx, adapter, columns, read)
        if adapter in (ddex.parse, ern3.parse):
            _refuse_conflicting_isrcs(con, file_id, read)
    except Exception as exc:  # noqa: BLE001 - one bad file (or a reader bug on it) must not stop the night
        con.rollback()
        con.begin()
        outcome = FileOutcome(landed.kind, "quarantined", found=read.found, quarantined=read.found)
        rejected = [Quarantined("file", failure_reason(exc))]
    else:
        readers = plan.readers if plan else 1
        outcome = FileOutcome(landed.kind, "loaded", read.found, read.loaded, len(read.rejected), readers)
        rejected = read.rejected
        if rejected:
            outcome.status = "partial" if outcome.loaded else "quarantined"
    changed = landed.changed_since_scan()
    if changed:  # an upload still in progress: nothing of it loads, and its next bytes are read again
        con.rollback()
        con.begin()
        con.execute("DELETE FROM ops.ingest_files WHERE file_id = ? AND reason = ?", [file_id, CHANGED_WHILE_READ])
        outcome = FileOutcome(
            landed.kind, "quarantined", read.found, 0, read.found, reason=CHANGED_WHILE_READ
        )
        rejected = [
            Quarantined(
                "file",
                f"file changed while it was read ({changed}): not loaded; it is read again once it holds still",
            )
        ]
    for item in rejected:
        _quarantine(con, logical_date, file_id, landed.relative_path, item.position, item.reason)
    _record_file(con, logical_date, landed, file_id, file_format, outcome)
    con.commit()
    return outcome


# Orders a file's ResourceList items as delivered: by item kind, then by their number ('SoundRecording[12]').
_ITEM_ORDER = (
    r"regexp_replace({t}.record_position, '\[\d+\]$', ''), "
    r"TRY_CAST(regexp_extract({t}.record_position, '\[(\d+)\]$', 1) AS INTEGER)"
)
_CONFLICTING_ISRCS = """
WITH same_message AS (
    SELECT r.record_position, r.resource_kind, r.resource_reference, r.isrc, r.title,
           'already given to ' || coalesce('''' || o.title || '''', 'a recording without title')
           || ' at ' || o.record_position || ' in this message' AS earlier,
           row_number() OVER (PARTITION BY r.record_position ORDER BY {theirs}) AS n
    FROM raw.ddex_resources r JOIN raw.ddex_resources o
      ON o.file_id = r.file_id AND o.isrc = r.isrc AND o.title IS DISTINCT FROM r.title
     AND ({theirs}) < ({mine})
    WHERE r.file_id = $file_id
), other_holder AS (
    SELECT r.record_position, r.resource_kind, r.resource_reference, r.isrc, r.title,
           'already delivered by holder ''' || o.holder_id || ''' as '
           || coalesce('''' || o.title || '''', 'a recording without title') || ' (' || o.file_path || ')' AS earlier,
           row_number() OVER (PARTITION BY r.record_position ORDER BY o.file_path, o.record_position) AS n
    FROM raw.ddex_resources r JOIN raw.ddex_resources o
      ON o.isrc = r.isrc AND o.holder_id <> r.holder_id AND o.file_id <> r.file_id
     AND o.title IS DISTINCT FROM r.title
    WHERE r.file_id = $file_id
), found AS (
    SELECT *, 0 AS rank FROM same_message WHERE n = 1
    UNION ALL
    SELECT *, 1 AS rank FROM other_holder WHERE n = 1
)
SELECT record_position, resource_kind, resource_reference, isrc, title, earlier
FROM found
QUALIFY row_number() OVER (PARTITION BY record_position ORDER BY rank) = 1
ORDER BY record_position
""".format(mine=_ITEM_ORDER.format(t="r"), theirs=_ITEM_ORDER.format(t="o"))


def _refuse_conflicting_isrcs(con, file_id: str, read: Tally) -> None:
    """Recordings whose ISRC names another title: given earlier in this message, or already delivered by
    another holder. Which title is right cannot be told, so the later recording is taken out of the file's
    transaction and quarantined, and the earlier stays. The same holder retitling its own ISRC in a later
    message is an update (ordered by MessageCreatedDateTime downstream), not a conflict. Done in SQL on the
    rows already inserted: no per-ISRC memory in the reader, whatever the size of the message."""
    conflicts = con.execute(_CONFLICTING_ISRCS, {"file_id": file_id}).fetchall()
    for position, kind, reference, isrc, title, earlier in conflicts:
        con.execute(
            "DELETE FROM raw.ddex_resources WHERE file_id = ? AND record_position = ?", [file_id, position]
        )
        read.loaded -= 1
        read.rejected.append(Quarantined(position, f"{kind} {reference}: ISRC {isrc} {earlier}; here titled {title!r}"))


def _read_whole(con, ctx: FileContext, adapter: formats.Adapter, columns: TableColumns, read: Tally) -> None:
    with _Batches(con, columns) as batches, fewer_gc_passes():
        read.take(adapter(ctx.path, ctx), batches.add)
        batches.close()


def _read_in_parts(
    con,
    ctx: FileContext,
    adapter: formats.Adapter,
    columns: TableColumns,
    helpers: IngestHelpers,
    plan: ddex_parts.Plan,
    read: Tally,
) -> None:
    """The loader reads part 0 while each helper reads one of the others (see `helpers`, `ddex_parts`)."""
    first = plan.part(0)
    with _Batches(con, columns) as batches, fewer_gc_passes():
        shared = helpers.read_parts(
            adapter, ctx, [plan.part(n) for n in range(1, plan.readers)], columns.types, batches.insert_frame
        )
        try:
            read.take(adapter(ctx.path, ctx, part=first), batches.add)
            batches.close()
            theirs = shared.wait()
        except BaseException:
            shared.abandon()
            raise
    ddex_parts.check_counts(first, [part for part, _ in theirs])
    for _part, tally in theirs:
        read.add(tally)


def _load_holders_table(con, registry) -> None:
    con.execute("DELETE FROM raw.holders")
    con.executemany(
        "INSERT INTO raw.holders VALUES (?, ?, ?, ?, ?, ?)",
        [
            [h.id, h.name, h.kind, h.timezone, h.default_language, h.licence_territories]
            for h in registry.holders
        ],
    )


@contextmanager
def _loading_settings(con: duckdb.DuckDBPyConnection, memory_limit: str) -> Iterator[None]:
    """DuckDB settings while files load, the previous values restored afterwards.

    memory_limit: a file is loaded in one transaction, and DuckDB keeps what a transaction appended in its
    buffer pool until commit (and the row groups it already wrote out, as cached blocks): under its default
    limit (80% of RAM) a 1 GB delivery held over 1 GB. Under `ingest_memory_limit` it moves those blocks to
    its temporary directory instead, and the process stays bounded whatever the file size.
    threads: the writer thread inserts a few thousand rows at a time while Python parses on the other core;
    a second DuckDB thread only competes with the parser for it.
    """
    wanted = {"memory_limit": memory_limit, "threads": INGEST_THREADS}
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


def due_on(item: LandedFile, logical_date: date) -> bool:
    """Does the run for `logical_date` take this file? Those of its date and before (`landing.partition_date`).
    A file refused unopened (`LandedFile.refusal`: a link leading outside, an empty file, a forged name) is
    quarantined by the night that finds it: it holds nothing a later night could load."""
    return item.refusal is not None or item.partition_date is None or item.partition_date <= logical_date


def _later_files(con, later: list[LandedFile]) -> list[FileOutcome]:
    """The files of later dates: `deferred`, or `skipped` when the night of their date already loaded them (a
    past date run again)."""
    if not later:
        return []
    loaded = {
        path
        for (path,) in con.execute(
            "SELECT DISTINCT file_path FROM ops.ingest_files WHERE list_contains(?, file_path)",
            [[item.relative_path for item in later]],
        ).fetchall()
    }
    return [
        FileOutcome(item.kind, "skipped" if item.relative_path in loaded else "deferred", path=item.relative_path)
        for item in later
    ]


def run_ingest(settings: MsdbSettings, logical_date: date, progress=None, source: str | None = None) -> IngestSummary:
    """Loads the landed files of `logical_date` and before; `source` (`<kind>/<holder_id>`, see
    `landing.landed_sources`) only that holder's. A file of a later date is `deferred`: not opened, not
    recorded in `ops.ingest_files` (so not seen), not quarantined; the run of its date loads it."""
    registry = load_holders(settings.registry_file)
    found = [item for item in discover(settings.landing) if source is None or item.source == source]
    landed = [item for item in found if due_on(item, logical_date)]
    later = [item for item in found if not due_on(item, logical_date)]
    summary = IngestSummary()
    helper_count = default_helper_count() if settings.ingest_helpers is None else settings.ingest_helpers
    helper_min_bytes = int(settings.ingest_helper_min_mb * 1_000_000)
    large = any(not item.refusal and (item.size or 0) >= helper_min_bytes for item in landed)
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="msdb-ingest-sha256") as hasher,
        IngestHelpers(helper_count) if helper_count and large else nullcontext() as helpers,
    ):
        # The first file's sha256 is computed while the warehouse opens (hashlib and file reads release the
        # GIL), and the helpers start there too; every later sha256 just before its file is read.
        first_id = hasher.submit(sha256_of, landed[0].path) if landed and not landed[0].refusal else None
        with writer(settings.warehouse) as con, _loading_settings(con, settings.ingest_memory_limit):
            _load_holders_table(con, registry)
            summary.files += _later_files(con, later)
            columns = TableColumns.of_raw_tables(con)
            for number, item in enumerate(landed):
                reports = settings.var_dir / "reports" / "ingest"
                file_id = first_id.result() if number == 0 and first_id else None
                outcome = ingest_file(
                    con,
                    logical_date,
                    item,
                    registry,
                    reports,
                    columns,
                    file_id,
                    helpers,
                    helper_min_bytes,
                )
                outcome.path = str(item.relative_path)
                summary.files.append(outcome)
                if progress:
                    progress(item.relative_path)
    return summary


def summary_json(summary: IngestSummary) -> str:
    return json.dumps(summary.by_kind(), sort_keys=True)
