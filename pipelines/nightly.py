"""The nightly run: ingest → build → tag → similar → ads → check → export, each stage idempotent for its date.

The gate (`check`) runs after `tag` and `similar` because partner feeds carry tags and similar titles: it
validates the rows export will deliver, read from the same dbt model (`marts.partner_feed_works`).

`run_stage` is what both `msdb run` and the Airflow tasks call, so what is tested is what runs in production.
Stage outcomes are recorded in `ops.stage_runs`; the run summary is read back from the warehouse, so that it
says the same thing whichever scheduler ran the stages.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, date, datetime
from typing import Any

from pipelines.settings import MsdbSettings
from pipelines.warehouse import reader, writer
from pipelines.warehouse.published import deferred_publishing, remove_abandoned_copies
from pipelines.warehouse.run_lock import run_lock

log = logging.getLogger(__name__)

STAGES = ("ingest", "build", "tag", "similar", "ads", "check", "export")


def _stage_function(name: str) -> Callable[[MsdbSettings, date], Any]:
    # Imported lazily: `msdb --help` and the DAG file must not pay for torch, dbt or GX.
    if name == "ingest":
        from pipelines.ingest import run_ingest

        return run_ingest
    if name == "build":
        from pipelines.build import run_build

        return run_build
    if name == "check":
        from pipelines.check import run_check

        return run_check
    if name == "tag":
        from pipelines.kansei import run_tagging

        return run_tagging
    if name == "similar":
        from pipelines.similarity import run_similarity

        return run_similarity
    if name == "ads":
        from pipelines.ads import run_ads

        return run_ads
    if name == "export":
        from pipelines.export import run_export

        return run_export
    raise ValueError(f"unknown stage {name!r}; stages are {', '.join(STAGES)}")


def _jsonable(result: Any) -> dict:
    if is_dataclass(result):
        return json.loads(json.dumps(asdict(result), default=str))
    return {"result": str(result)}


def _record_start(settings: MsdbSettings, logical_date: date, stage: str, started: datetime) -> None:
    """A `running` row first, so that a stage whose process is killed still leaves a trace (see below)."""
    with writer(settings.warehouse) as con:
        con.execute(
            "INSERT INTO ops.stage_runs VALUES (?, ?, 'running', ?, NULL, NULL)", [logical_date, stage, started]
        )


def _record(settings: MsdbSettings, logical_date: date, stage: str, status: str, started: datetime, summary: dict) -> None:
    with writer(settings.warehouse) as con:
        con.execute(
            """
            UPDATE ops.stage_runs SET status = ?, finished_at = ?, summary = ?
            WHERE logical_date = ? AND stage = ? AND started_at = ? AND status = 'running'
            """,
            [status, datetime.now(UTC), json.dumps(summary, ensure_ascii=False), logical_date, stage, started],
        )


def record_killed_stages(settings: MsdbSettings) -> list[tuple[date, str]]:
    """Stage rows left `running` by a process that ended mid-stage (killed, out of memory, machine lost) are
    recorded as `killed`. Called by whoever has just taken the run lock, so no stage of another process can be
    running. Returns (logical date, stage) of each."""
    if not settings.warehouse.exists():
        return []
    with writer(settings.warehouse) as con:
        killed = con.execute(
            """
            UPDATE ops.stage_runs SET status = 'killed', finished_at = now(), summary = ?
            WHERE status = 'running' RETURNING logical_date, stage
            """,
            [json.dumps({"error": "the process running this stage ended before the stage did (killed or lost); "
                         f"recorded by the next run (pid {os.getpid()})"})],
        ).fetchall()
    for logical_date, stage in killed:
        log.warning("stage %s of %s was left running by a process that ended: recorded as killed", stage, logical_date)
    return sorted(killed)


@contextmanager
def warehouse_run(settings: MsdbSettings, command: str, wait: float = 0.0) -> Iterator[None]:
    """The run lock of the warehouse (`pipelines.warehouse.run_lock`) for a run or a stand-alone stage; the
    first to take it removes the partial copies a publish killed mid-copy left beside the warehouse and records
    the stages a killed process left running. Readers get the warehouse once, when the outermost of these ends,
    still under the lock (no other writer can change the file mid-copy)."""
    with run_lock(settings.warehouse, command, wait) as outermost, deferred_publishing(settings.warehouse):
        if outermost:
            remove_abandoned_copies(settings.warehouse)
            record_killed_stages(settings)
        yield


def _accepts_full_refresh(function: Callable[..., Any]) -> bool:
    return "full_refresh" in inspect.signature(function).parameters


def run_stage(
    name: str,
    logical_date: date,
    settings: MsdbSettings | None = None,
    full_refresh: bool = False,
    wait: float = 0.0,
    source: str | None = None,
    partner_id: str | None = None,
) -> dict:
    """Run one stage for a logical date; returns a small JSON-safe summary (fit for an Airflow XCom).

    source (ingest only: `<kind>/<holder_id>`, one of `ingest_sources`) and partner_id (export only) narrow
    the stage to one holder's files or one partner's feed: what one mapped Airflow task does.

    full_refresh rebuilds what the stage otherwise updates incrementally (dbt's incremental models, cached tags
    and neighbours); it reaches the stages whose function takes a `full_refresh` keyword, the others run as usual.
    The stage holds the warehouse's run lock (or runs under the caller's: `run_nightly`); another process
    holding it raises WarehouseBusy after `wait` seconds.
    """
    settings = settings or MsdbSettings()
    function = _stage_function(name)
    keywords: dict[str, Any] = {"full_refresh": True} if full_refresh and _accepts_full_refresh(function) else {}
    for keyword, value, stage in (("source", source, "ingest"), ("partner_id", partner_id, "export")):
        if value is not None:
            if name != stage:
                raise ValueError(f"{keyword} narrows the {stage} stage only, not {name}")
            keywords[keyword] = value
    # readers get the warehouse once, when the stage (or, in `run_nightly`, the night) is over
    with warehouse_run(settings, f"stage {name} --date {logical_date}", wait):
        started = datetime.now(UTC)
        _record_start(settings, logical_date, name, started)
        try:
            result = function(settings, logical_date, **keywords)
        except BaseException as exc:  # interrupted too: the row must not stay `running`
            _record(settings, logical_date, name, "failed", started, {"error": f"{type(exc).__name__}: {exc}"})
            raise
        summary = _jsonable(result)
        if name == "ingest":
            files = {status: sorted(f.path for f in result.files if f.status == status and f.path) for status in ("skipped", "deferred")}
            summary = {"by_kind": result.by_kind(), "skipped_files": files["skipped"], "deferred_files": files["deferred"]}
        summary |= {k: v for k, v in (("source", source), ("partner_id", partner_id)) if v is not None}
        _record(settings, logical_date, name, "success", started, summary)
        if settings.warehouse.resolve() not in _nights:  # a night publishes once, at its end
            publish_lake(settings, logical_date, (name,))
    return summary


# warehouses whose night (`run_nightly`) is in progress in this process
_nights: set = set()


def publish_lake(settings: MsdbSettings, logical_date: date, stages: tuple[str, ...]) -> dict | None:
    """When a lake is configured (`MSDB_LAKE`), publish the tables `stages` make into it
    (`pipelines.warehouse.lake`), recorded in `ops.stage_runs` as stage `lake`; a failure raises
    LakePublishFailed (the stages' own work is committed: the next run or stage publishes again)."""
    from pipelines.warehouse.lake import lake_schemas

    schemas = lake_schemas(stages)
    if not settings.lake or not schemas:
        return None
    from pipelines.warehouse.lake import publish_to_lake

    started = datetime.now(UTC)
    _record_start(settings, logical_date, "lake", started)
    try:
        publication = publish_to_lake(settings, logical_date, schemas, command=" ".join(stages))
    except BaseException as exc:
        _record(settings, logical_date, "lake", "failed", started, {"error": f"{type(exc).__name__}: {exc}"})
        raise
    summary = _jsonable(publication)
    _record(settings, logical_date, "lake", "success", started, summary)
    return summary


ACTIVE_RUN_STATES = ("queued", "running")


def claim_warehouse_for_run(
    run_id: str, earlier_run_active: bool, run_active: Callable[[str], bool], settings: MsdbSettings | None = None
) -> str | None:
    """May this Airflow run start its stages? None when it holds the warehouse's run claim
    (`pipelines.warehouse.run_claim`), else why it waits. Runs go oldest logical date first: a run waits while
    an earlier one is still active, so a backfill's days and the scheduled runs follow one another in date
    order and never interleave. `run_active(run_id)` says whether another run is still queued or running."""
    from pipelines.warehouse.run_claim import try_claim

    if earlier_run_active:
        return "a run of an earlier logical date is still active"
    settings = settings or MsdbSettings()
    holder = try_claim(settings.warehouse, run_id, run_active)
    return None if holder is None else f"run {holder} holds the warehouse"


def release_warehouse_for_run(run_id: str, settings: MsdbSettings | None = None) -> bool:
    """The end of an Airflow run (its teardown, whatever happened to its stages): the next run may start."""
    from pipelines.warehouse.run_claim import release

    return release((settings or MsdbSettings()).warehouse, run_id)


def ingest_sources(settings: MsdbSettings | None = None) -> list[str]:
    """What the ingest stage is mapped over in Airflow: one `<kind>/<holder_id>` per declared rights-holder and
    publisher, plus any folder of the landing no one declared (its files are quarantined by its own task)."""
    from pipelines.ingest.landing import landed_sources
    from pipelines.registry import load_holders

    settings = settings or MsdbSettings()
    declared = [(holder.kind, holder.id) for holder in load_holders(settings.registry_file).holders]
    return landed_sources(settings.landing, declared)


def partner_ids(settings: MsdbSettings | None = None) -> list[str]:
    """What the export stage is mapped over in Airflow: one partner contract each."""
    from pipelines.registry import load_partners

    settings = settings or MsdbSettings()
    return [contract.partner_id for contract in load_partners(settings.partners_dir)]


def kansei_shards(settings: MsdbSettings | None = None) -> list[dict]:
    """What the `embed` task is mapped over in Airflow: one `{"shard": k, "shards": n}` per shard of the texts
    the tag stage will embed (n: MSDB_KANSEI_SHARDS), so that every shard task divides by the same n."""
    shards = (settings or MsdbSettings()).kansei_shards
    return [{"shard": shard, "shards": shards} for shard in range(shards)]


def embed_kansei_shard(shard: int, shards: int, settings: MsdbSettings | None = None) -> dict:
    """One mapped `embed` task: shard `shard` of `shards` of tonight's texts into the embedding cache
    (`pipelines.kansei.embed_shard`; reads the published copy, writes no warehouse row)."""
    from pipelines.kansei import embed_shard

    return _jsonable(embed_shard(settings or MsdbSettings(), shard, shards))


@dataclass
class NightlyReport:
    logical_date: date
    ingest: list[dict] = field(default_factory=list)  # per kind: files/records loaded and quarantined
    skipped_files: list[str] = field(default_factory=list)  # landed files skipped as already loaded
    deferred_files: list[str] = field(default_factory=list)  # landed files of a later date, left for their night
    # counts are None when their table does not exist (the stage that makes it has not run): not "0 works"
    works: int | None = None
    works_tagged: int | None = None
    articles: int | None = None
    articles_tagged: int | None = None
    neighbors: int | None = None
    ad_matches: int | None = None  # article → ad creative matches of the night (similarity.ad_matches)
    quality_failures: list[str] = field(default_factory=list)  # "suite: expectation(column) — what was observed"
    identifier_conflicts: list[str] = field(default_factory=list)  # "ICPN 4589...: Title A / Title B (holders)"
    deliveries: list[dict] = field(default_factory=list)
    withheld: list[dict] = field(default_factory=list)  # rows held back from a partner: partner, feed, work, reason
    failed_stages: list[str] = field(default_factory=list)

    @property
    def blocked_feeds(self) -> list[dict]:
        """Feeds not published: blocked by the gate, held by the circuit breaker, or in conflict (412)."""
        return [d for d in self.deliveries if d["status"] in ("blocked", "held", "conflict")]


def _count(con, table: str, expression: str = "count(*)") -> int | None:
    """A count over a table, or None when the table does not exist yet (dbt or a stage has not made it)."""
    schema, name = table.split(".")
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    ).fetchone()[0]
    if not exists:
        return None
    return con.execute(f"SELECT {expression} FROM {table}").fetchone()[0]


def report(settings: MsdbSettings, logical_date: date) -> NightlyReport:
    """What the run for `logical_date` did, read from the warehouse."""
    out = NightlyReport(logical_date)
    with reader(settings.warehouse) as con:
        rows = con.execute(
            """
            SELECT kind,
                   count(*) FILTER (WHERE status IN ('loaded', 'partial')) AS files_loaded,
                   count(*) FILTER (WHERE status IN ('quarantined', 'undeclared_holder')) AS files_quarantined,
                   coalesce(sum(records_loaded), 0) AS records_loaded,
                   coalesce(sum(records_quarantined), 0) AS records_quarantined
            FROM ops.ingest_files WHERE logical_date = ? GROUP BY kind ORDER BY kind
            """,
            [logical_date],
        ).fetchall()
        out.ingest = [dict(zip(["kind", "files_loaded", "files_quarantined", "records_loaded", "records_quarantined"], r, strict=True)) for r in rows]
        ingest_run = con.execute(
            """
            SELECT summary FROM ops.stage_runs WHERE logical_date = ? AND stage = 'ingest' AND status = 'success'
            ORDER BY started_at DESC LIMIT 1
            """,
            [logical_date],
        ).fetchone()
        ingest_summary = json.loads(ingest_run[0]) if ingest_run else {}
        out.skipped_files = ingest_summary.get("skipped_files", [])
        out.deferred_files = ingest_summary.get("deferred_files", [])
        out.works = _count(con, "marts.dim_work")
        out.articles = _count(con, "marts.dim_article")
        out.works_tagged = _count(con, "kansei.work_tags", "count(DISTINCT work_id)")
        out.articles_tagged = _count(con, "kansei.article_tags", "count(DISTINCT article_id)")
        out.neighbors = _count(con, "similarity.work_neighbors")
        out.ad_matches = _count(con, "similarity.ad_matches")
        out.quality_failures = [
            f"{r[0]}: {r[1]}({r[2] or ''}) — {r[3]}"
            for r in con.execute(
                "SELECT suite, expectation, column_name, observed FROM ops.quality_results "
                "WHERE logical_date = ? AND NOT success ORDER BY ALL",
                [logical_date],
            ).fetchall()
        ]
        out.identifier_conflicts = [
            f"{kind} {value}: {' / '.join(titles or [])} ({', '.join(holders or [])})"
            for kind, value, titles, holders in con.execute(
                "SELECT identifier_type, identifier_value, titles, holder_ids FROM ops.identifier_conflicts "
                "WHERE logical_date = ? ORDER BY ALL",
                [logical_date],
            ).fetchall()
        ]
        withheld = con.execute(
            f"""
            SELECT r.partner_id, r.feed, r.work_id, {"w.title" if out.works is not None else "NULL"} AS title, r.reason
            FROM exports.withheld_rows r
            {"LEFT JOIN marts.dim_work w USING (work_id)" if out.works is not None else ""}
            WHERE r.logical_date = ?
            ORDER BY r.partner_id, r.feed, r.work_id
            """,
            [logical_date],
        ).fetchall()
        out.withheld = [dict(zip(["partner_id", "feed", "work_id", "title", "reason"], w, strict=True)) for w in withheld]
        deliveries = con.execute(
            """
            SELECT partner_id, feed, status, row_count, delivery_uri, reason FROM exports.delivery_ledger
            WHERE logical_date = ?
            QUALIFY row_number() OVER (PARTITION BY partner_id, feed ORDER BY delivered_at DESC) = 1
            ORDER BY partner_id
            """,
            [logical_date],
        ).fetchall()
        out.deliveries = [dict(zip(["partner_id", "feed", "status", "rows", "uri", "reason"], d, strict=True)) for d in deliveries]
        latest = con.execute(
            """
            SELECT stage, status FROM ops.stage_runs WHERE logical_date = ?
            QUALIFY row_number() OVER (PARTITION BY stage ORDER BY started_at DESC) = 1
            """,
            [logical_date],
        ).fetchall()
        out.failed_stages = sorted(stage for stage, status in latest if status in ("failed", "killed"))
    return out


def run_nightly(
    settings: MsdbSettings,
    logical_date: date,
    on_stage: Callable[[str, str], None] | None = None,
    full_refresh: bool = False,
    wait: float = 0.0,
) -> NightlyReport:
    """All stages in order, under one run lock (another process holding it: WarehouseBusy after `wait`
    seconds); stops at the first failing stage (its exception propagates). The published copy is made once,
    at the end (`pipelines.warehouse.published`)."""
    key = settings.warehouse.resolve()
    with warehouse_run(settings, f"run --date {logical_date}", wait):
        outermost_night = key not in _nights
        _nights.add(key)
        try:
            for stage in STAGES:
                if on_stage:
                    on_stage(stage, "start")
                run_stage(stage, logical_date, settings, full_refresh=full_refresh)
                if on_stage:
                    on_stage(stage, "done")
        finally:
            if outermost_night:
                _nights.discard(key)
        if outermost_night:
            publish_lake(settings, logical_date, STAGES)
        return report(settings, logical_date)


class BackfillStopped(RuntimeError):
    """A day of a backfill failed: the days before it are done, it and the days after it are not."""

    def __init__(self, day: date, done: list[date], not_run: list[date], cause: BaseException):
        self.day, self.done, self.not_run, self.cause = day, done, not_run, cause
        super().__init__(f"{day}: {type(cause).__name__}: {cause}")


def backfill_days(start: date, end: date) -> list[date]:
    """The logical dates of `msdb backfill --start start --end end`: every day from start to end, both included."""
    if end < start:
        raise ValueError(f"the end {end} is before the start {start}")
    return [date.fromordinal(d) for d in range(start.toordinal(), end.toordinal() + 1)]


def run_backfill(
    settings: MsdbSettings,
    start: date,
    end: date,
    on_day: Callable[[date, NightlyReport], None] | None = None,
    wait: float = 0.0,
) -> list[NightlyReport]:
    """`run_nightly` for each day from start to end, in order, one at a time, under one run lock held for the
    whole backfill (no other run can slip in between two days). Stops at the first day whose run fails:
    BackfillStopped says which day, what was done and what was not run. Each day is idempotent, so a backfill
    run again over the same days delivers nothing new (its feeds are `already_delivered`)."""
    days = backfill_days(start, end)
    reports: list[NightlyReport] = []
    with warehouse_run(settings, f"backfill --start {start} --end {end}", wait):
        for number, day in enumerate(days):
            try:
                night = run_nightly(settings, day)
            except Exception as exc:
                raise BackfillStopped(day, days[:number], days[number + 1 :], exc) from exc
            reports.append(night)
            if on_day:
                on_day(day, night)
    return reports
