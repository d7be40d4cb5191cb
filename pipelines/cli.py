"""`msdb`: the data engineer's handle on the pipeline (run, one stage, SQL, quarantine, docs).

A user error (a bad argument, a missing folder, a busy warehouse) is one line on stderr and a documented exit
code, never a traceback; `msdb --debug ...` shows the traceback of whatever failed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="MSDB nightly pipeline: ingest → build → tag → similar → ads → check → export.", no_args_is_help=True)
console = Console()

# `msdb` exit codes (also in README and `msdb run --help`)
EXIT_OK = 0  # every feed delivered (rows may have been withheld or records quarantined: the summary lists them)
EXIT_STAGE_FAILED = 1  # a stage raised; the run stopped there (also: any other command that failed)
EXIT_USAGE = 2  # a bad argument or setting (missing folder, unwritable target, unknown stage): nothing ran
EXIT_FEED_BLOCKED = 3  # the run finished but at least one partner feed was not published (blocked, held, conflict)
EXIT_BUSY = 4  # another run or stage holds the warehouse (its lock); nothing ran


_debugging = False  # `msdb --debug`: tracebacks shown


def _fail(message: str, exit_code: int = EXIT_USAGE) -> NoReturn:
    """A failure the user can act on: one line on stderr (with `--debug`, the traceback of the exception being
    handled first), then `exit_code`."""
    _print_traceback_when_debugging()
    typer.echo(f"msdb: error: {_one_line(message)}", err=True)
    raise typer.Exit(exit_code)


def _print_traceback_when_debugging() -> None:
    if _debugging and sys.exc_info()[0] is not None:
        import traceback

        traceback.print_exc()


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


@app.callback()
def options(
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an error (before the command).")] = False,
) -> None:
    """MSDB nightly pipeline: ingest → build → tag → similar → ads → check → export."""
    global _debugging

    _debugging = _debugging or debug

DateOption = Annotated[
    str | None, typer.Option("--date", help="Logical date YYYY-MM-DD (default: yesterday in Asia/Tokyo).")
]
LandingOption = Annotated[Path | None, typer.Option("--landing", help="Landing folder (default: data/samples).")]
WarehouseOption = Annotated[Path | None, typer.Option("--warehouse", help="DuckDB warehouse file.")]
DeliverOption = Annotated[str | None, typer.Option("--deliver", help="Delivery folder or s3://bucket/prefix.")]
FullRefreshOption = Annotated[
    bool,
    typer.Option(
        "--full-refresh",
        help="Rebuild instead of updating what changed: dbt's incremental models (dbt --full-refresh) and the "
        "stages' caches.",
    ),
]


WaitOption = Annotated[
    float,
    typer.Option("--wait", min=0, help="Seconds to wait for another run or stage holding the warehouse (default: none)."),
]


def _settings(landing: Path | None = None, warehouse: Path | None = None, deliver: str | None = None):
    from pydantic import ValidationError

    from pipelines.settings import MsdbSettings

    overrides = {k: v for k, v in {"landing": landing, "warehouse": warehouse, "deliver": deliver}.items() if v is not None}
    try:
        return MsdbSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"MSDB_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        _fail(f"bad setting: {problems}")


def _preflight(settings, stages) -> None:
    from pipelines.preflight import PreflightFailed, check_before_run

    try:
        check_before_run(settings, stages)
    except PreflightFailed as exc:
        _fail(str(exc))


def _hold_warehouse(held: ExitStack, settings, command: str, wait: float) -> None:
    """Take the warehouse's run lock for the rest of `held`; busy is one line and EXIT_BUSY."""
    from pipelines.nightly import warehouse_run
    from pipelines.warehouse.run_lock import WarehouseBusy

    try:
        held.enter_context(warehouse_run(settings, command, wait))
    except WarehouseBusy as exc:
        _fail(str(exc), EXIT_BUSY)


def _logical_date(value: str | None) -> date:
    from pipelines.settings import default_logical_date

    if value is None:
        return default_logical_date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--date") from exc


def _date_option(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from exc


def _shown(count: int | None) -> str:
    return "not built" if count is None else str(count)


def print_report(report) -> None:
    ingest = Table(title=f"MSDB nightly run — {report.logical_date}", title_justify="left")
    for column in ("kind", "files loaded", "files quarantined", "records loaded", "records quarantined"):
        ingest.add_column(column, justify="left" if column == "kind" else "right")
    for row in report.ingest:
        ingest.add_row(
            row["kind"],
            str(row["files_loaded"]),
            f"[red]{row['files_quarantined']}[/red]" if row["files_quarantined"] else "0",
            str(row["records_loaded"]),
            f"[red]{row['records_quarantined']}[/red]" if row["records_quarantined"] else "0",
        )
    if not report.ingest:
        ingest.add_row("(no new files)", "0", "0", "0", "0")
    console.print(ingest)
    if report.skipped_files:
        console.print(f"files skipped as already loaded: {len(report.skipped_files)}")
        for path in report.skipped_files:
            console.print(f"  {path}", soft_wrap=True)
    if report.deferred_files:
        console.print(f"files deferred to a later night (their date is after {report.logical_date}): {len(report.deferred_files)}")
        for path in report.deferred_files:
            console.print(f"  {path}", soft_wrap=True)

    totals = Table(show_header=False)
    totals.add_row("works in warehouse / tagged", f"{_shown(report.works)} / {_shown(report.works_tagged)}")
    totals.add_row("articles in warehouse / tagged", f"{_shown(report.articles)} / {_shown(report.articles_tagged)}")
    totals.add_row("similar-work neighbours", _shown(report.neighbors))
    totals.add_row("article → ad matches", _shown(report.ad_matches))
    totals.add_row("quality failures", f"[red]{len(report.quality_failures)}[/red]" if report.quality_failures else "0")
    conflicts = report.identifier_conflicts
    totals.add_row("identifier conflicts (both kept)", f"[yellow]{len(conflicts)}[/yellow]" if conflicts else "0")
    console.print(totals)
    for failure in report.quality_failures:
        console.print(f"  [red]✗[/red] {failure}", soft_wrap=True)
    for conflict in conflicts:
        console.print(f"  [yellow]≠[/yellow] {conflict}", soft_wrap=True)

    feeds = Table(title="feeds")
    for column in ("partner", "feed", "status", "rows", "withheld", "where"):
        feeds.add_column(column, overflow="fold")
    withheld_by_feed: dict[tuple[str, str], int] = {}
    for w in report.withheld:
        withheld_by_feed[(w["partner_id"], w["feed"])] = withheld_by_feed.get((w["partner_id"], w["feed"]), 0) + 1
    for d in report.deliveries:
        colour = {"delivered": "green", "already_delivered": "cyan"}.get(d["status"], "red")
        held = withheld_by_feed.get((d["partner_id"], d["feed"]), 0)
        feeds.add_row(
            d["partner_id"], d["feed"], f"[{colour}]{d['status']}[/{colour}]", str(d["rows"]),
            f"[yellow]{held}[/yellow]" if held else "0", d["reason"] or d["uri"],
        )  # fmt: skip
    console.print(feeds)
    for d in report.blocked_feeds:
        console.print(f"[red]{d['status']} feed[/red] {d['partner_id']}/{d['feed']}: {d['reason']}", soft_wrap=True)
    for w in report.withheld:
        title = f" ({w['title']})" if w["title"] else ""
        console.print(f"[yellow]withheld[/yellow] {w['partner_id']}/{w['feed']} {w['work_id']}{title}: {w['reason']}", soft_wrap=True)


@app.command()
def run(
    date_: DateOption = None,
    landing: LandingOption = None,
    warehouse: WarehouseOption = None,
    deliver: DeliverOption = None,
    full_refresh: FullRefreshOption = False,
    wait: WaitOption = 0,
) -> None:
    """Run the whole nightly pipeline for one logical date and print its summary.

    Exit codes: 0 every feed delivered (withheld rows and quarantined records are listed in the summary);
    1 a stage failed and the run stopped; 2 a bad argument or setting, nothing ran; 3 the run finished but at
    least one feed was not published (blocked by the quality gate, held by the circuit breaker, or in conflict:
    see the README's runbook), the others were; 4 another run holds the warehouse (see --wait).
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from pipelines.nightly import STAGES, run_nightly

    settings = _settings(landing, warehouse, deliver)
    logical_date = _logical_date(date_)
    _preflight(settings, STAGES)
    with ExitStack() as held:
        # held through the partial summary too: no other run can take the file in between
        _hold_warehouse(held, settings, f"run --date {logical_date}", wait)
        progress = held.enter_context(
            Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console)
        )
        task = progress.add_task("starting", total=len(STAGES))

        def on_stage(stage: str, event: str) -> None:
            if event == "start":
                progress.update(task, description=f"{stage} ({logical_date})")
            else:
                progress.advance(task)

        try:
            result = run_nightly(settings, logical_date, on_stage, full_refresh=full_refresh)
        except Exception as exc:
            progress.stop()
            _print_traceback_when_debugging()
            console.print(f"[red]stage failed:[/red] {type(exc).__name__}: {exc}", soft_wrap=True)  # one line, never folded
            _print_partial_report(settings, logical_date)
            failure = exc
        else:
            failure = None
    # the run lock is released and the published copy made: the report reads that copy, like `msdb report`
    if failure is not None:
        _write_run_report(settings, logical_date)
        raise typer.Exit(EXIT_STAGE_FAILED) from failure
    print_report(result)
    _write_run_report(settings, logical_date)
    if result.blocked_feeds:
        names = ", ".join(f"{d['partner_id']}/{d['feed']}" for d in result.blocked_feeds)
        console.print(f"[red]exit {EXIT_FEED_BLOCKED}: blocked feeds: {names}[/red]")
        raise typer.Exit(EXIT_FEED_BLOCKED)


def _write_run_report(settings, logical_date: date) -> None:
    """The run's HTML report (`pipelines.report`), its path as the run's last line; a report that cannot be
    written is said in one line and changes no exit code: the run itself is done."""
    from pipelines.report import write_run_report

    try:
        path = write_run_report(settings, logical_date)
    except Exception as exc:  # noqa: BLE001 (whatever went wrong, the run's outcome stands)
        _print_traceback_when_debugging()
        console.print(f"[yellow]no report:[/yellow] {type(exc).__name__}: {exc}", soft_wrap=True)
        return
    console.print(f"report: {path}", soft_wrap=True, highlight=False)


def _print_partial_report(settings, logical_date: date) -> None:
    """What the failed run left behind; when even that cannot be read, say why instead of staying silent."""
    import duckdb

    from pipelines.nightly import report

    try:
        partial = report(settings, logical_date)
    except (duckdb.Error, OSError, RuntimeError) as exc:
        console.print(f"[red]no summary:[/red] the warehouse could not be read ({type(exc).__name__}: {exc})")
        return
    print_report(partial)


@app.command()
def stage(
    name: Annotated[str, typer.Argument(help="ingest, build, tag, similar, ads, check or export")],
    date_: DateOption = None,
    landing: LandingOption = None,
    warehouse: WarehouseOption = None,
    deliver: DeliverOption = None,
    full_refresh: FullRefreshOption = False,
    wait: WaitOption = 0,
) -> None:
    """Run one stage for a logical date (what an Airflow task runs). Exit codes as `msdb run`'s."""
    import json

    from pipelines.nightly import STAGES, run_stage

    if name not in STAGES:
        raise typer.BadParameter(f"unknown stage {name!r}: one of {', '.join(STAGES)}", param_hint="NAME")
    logical_date = _logical_date(date_)
    settings = _settings(landing, warehouse, deliver)
    _preflight(settings, (name,))
    with ExitStack() as held:
        _hold_warehouse(held, settings, f"stage {name} --date {logical_date}", wait)
        try:
            summary = run_stage(name, logical_date, settings, full_refresh=full_refresh)
        except Exception as exc:
            _fail(f"stage {name} failed: {type(exc).__name__}: {exc}", EXIT_STAGE_FAILED)
    console.print_json(json.dumps(summary, ensure_ascii=False, default=str))
    not_published = [d for d in summary.get("deliveries", []) if d["status"] in ("blocked", "held", "conflict")]
    if not_published:
        names = ", ".join(f"{d['partner_id']}/{d['feed']} ({d['status']})" for d in not_published)
        typer.echo(f"msdb: feeds not published: {names}", err=True)
        raise typer.Exit(EXIT_FEED_BLOCKED)


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--start", help="First logical date, YYYY-MM-DD (included).")],
    end: Annotated[str, typer.Option("--end", help="Last logical date, YYYY-MM-DD (included).")],
    landing: LandingOption = None,
    warehouse: WarehouseOption = None,
    deliver: DeliverOption = None,
    wait: WaitOption = 0,
) -> None:
    """Run the whole nightly for each day from --start to --end, both included, in order, one day at a time
    (each a full `msdb run --date D`), holding the warehouse for the whole backfill. Stops at the first day
    that fails. Days already delivered are delivered again to no one: their feeds are `already_delivered`.

    Exit codes: 0 every day delivered every feed; 1 a day failed (the days before it are done, the ones after
    it were not run); 2 a bad argument or setting; 3 every day ran but a feed was blocked on at least one;
    4 another run holds the warehouse.
    """
    from pipelines.nightly import STAGES, BackfillStopped, backfill_days, run_backfill

    first = _date_option(start, "--start")
    last = _date_option(end, "--end")
    try:
        days = backfill_days(first, last)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--end") from exc
    settings = _settings(landing, warehouse, deliver)
    _preflight(settings, STAGES)
    blocked_days: list[str] = []

    def on_day(day: date, night) -> None:
        statuses: dict[str, int] = {}
        for delivery in night.deliveries:
            statuses[delivery["status"]] = statuses.get(delivery["status"], 0) + 1
        feeds = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())) or "no feeds"
        quarantined = sum(row["records_quarantined"] for row in night.ingest)
        deferred = f"; {len(night.deferred_files)} files deferred to a later night" if night.deferred_files else ""
        console.print(f"{day}: feeds {feeds}; {len(night.withheld)} rows withheld; {quarantined} records quarantined{deferred}")
        for d in night.blocked_feeds:
            console.print(f"  {d['status']} {d['partner_id']}/{d['feed']}: {d['reason']}", soft_wrap=True)
        if night.blocked_feeds:
            names = ", ".join(f"{d['partner_id']}/{d['feed']}" for d in night.blocked_feeds)
            blocked_days.append(f"{day} ({names})")

    console.print(f"backfill {first} .. {last}: {len(days)} days, one at a time")
    with ExitStack() as held:
        _hold_warehouse(held, settings, f"backfill --start {first} --end {last}", wait)
        try:
            run_backfill(settings, first, last, on_day)
        except BackfillStopped as stopped:
            done = f"{stopped.done[0]} .. {stopped.done[-1]} done" if stopped.done else "no day done"
            not_run = f"{stopped.not_run[0]} .. {stopped.not_run[-1]} not run" if stopped.not_run else "no day left"
            _fail(
                f"backfill stopped at {stopped.day}: {type(stopped.cause).__name__}: {stopped.cause} ({done}; "
                f"{not_run}; `msdb run --date {stopped.day}` shows that day)",
                EXIT_STAGE_FAILED,
            )
    if blocked_days:
        console.print(f"[red]exit {EXIT_FEED_BLOCKED}: blocked feeds on {'; '.join(blocked_days)}[/red]")
        raise typer.Exit(EXIT_FEED_BLOCKED)


@app.command()
def quarantine(date_: DateOption = None, warehouse: WarehouseOption = None) -> None:
    """List what was quarantined for a logical date: file, location, stage and reason.

    Reads the published copy (as of the end of the last run or stage), so it works while a run writes."""
    settings = _settings(warehouse=warehouse)
    logical_date = _logical_date(date_)
    table = Table(title=f"quarantine — {logical_date}")
    for column in ("file", "location", "stage", "reason"):
        table.add_column(column, overflow="fold")
    with _published(settings) as con:
        rows = con.execute(
            "SELECT file_path, location, stage, reason FROM ops.quarantine WHERE logical_date = ? ORDER BY ALL",
            [logical_date],
        ).fetchall()
    for row in rows:
        table.add_row(*row)
    console.print(table)


@app.command("report")
def run_report(date_: DateOption = None, warehouse: WarehouseOption = None) -> None:
    """Write the run report of a logical date, <var_dir>/reports/<date>.html: records per holder and kind,
    quarantine reasons, quality results, tag distribution and drift, similar works and ad matches, feed deltas
    per partner and stage timings, with charts. One HTML file, readable offline (no script, no CDN).

    Reads the published copy (as of the end of the last run or stage), so it works while a run writes.
    Exit codes: 0 written; 1 it could not be written; 2 no warehouse, or no run for the date."""
    import duckdb

    from pipelines.report import NoRunRecorded, write_run_report

    settings = _settings(warehouse=warehouse)
    logical_date = _logical_date(date_)
    try:
        path = write_run_report(settings, logical_date)
    except (FileNotFoundError, NoRunRecorded) as exc:
        _fail(str(exc))
    except (duckdb.Error, OSError, RuntimeError) as exc:  # RuntimeError: no published copy yet while a run writes
        _fail(f"{type(exc).__name__}: {exc}", 1)
    console.print(f"report: {path}", soft_wrap=True, highlight=False)


@contextmanager
def _published(settings) -> Iterator:
    """The published copy, read-only; no warehouse yet is a user error (one line, exit 2)."""
    from pipelines.warehouse import published_reader

    try:
        with published_reader(settings.warehouse) as con:
            yield con
    except FileNotFoundError as exc:
        _fail(str(exc))


class SqlFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _plain_value(value):
    """A value for CSV/JSON: dates and decimals as text, lists and structs kept as JSON-able data."""
    if isinstance(value, list | tuple):
        return [_plain_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain_value(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def write_rows(columns: list[str], rows: list[tuple], output_format: SqlFormat, out=None) -> None:
    """Rows as CSV (header first; list and struct values as JSON) or JSON (one array of objects), whole."""
    import csv
    import json
    import sys

    out = out or sys.stdout
    if output_format is SqlFormat.json:
        records = [dict(zip(columns, (_plain_value(v) for v in row), strict=True)) for row in rows]
        out.write(json.dumps(records, ensure_ascii=False, indent=2) + "\n")
        return
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            "" if v is None else json.dumps(_plain_value(v), ensure_ascii=False) if isinstance(v, list | tuple | dict) else _plain_value(v)
            for v in row
        )


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A SQL query, run read-only.")],
    warehouse: WarehouseOption = None,
    output_format: Annotated[
        SqlFormat, typer.Option("--format", help="table (for reading), csv or json (for other tools); values are never cut.")
    ] = SqlFormat.table,
) -> None:
    """Query the warehouse read-only, even while a run is writing it.

    Reads the copy published at the end of the last run or stage (`<warehouse stem>.published.duckdb`):
    DuckDB's writer locks the live file against every other process, readers included.
    """
    import duckdb

    settings = _settings(warehouse=warehouse)
    try:
        with _published(settings) as con:
            cursor = con.execute(query)
            columns = [column[0] for column in cursor.description or []]
            rows = cursor.fetchall()
    except typer.Exit:
        raise
    except (duckdb.Error, RuntimeError) as exc:  # RuntimeError: no published copy yet while a run writes
        _fail(f"{type(exc).__name__}: {exc}", 1)
    if output_format is not SqlFormat.table:
        write_rows(columns, rows, output_format)
        return
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")  # wrap long values, never cut them with an ellipsis
    for row in rows:
        table.add_row(*("NULL" if v is None else str(v) for v in row))
    console.print(table)


@app.command()
def docs(warehouse: WarehouseOption = None) -> None:
    """Build the dbt docs site (models, columns, tests, lineage) into var/docs/, from the published copy."""
    from pipelines.build import BuildFailed, build_docs

    try:
        index = build_docs(_settings(warehouse=warehouse))
    except FileNotFoundError as exc:
        _fail(str(exc))
    except BuildFailed as exc:
        _fail(str(exc), 1)
    console.print(f"dbt docs: {index} (static single page: {index.with_name('static_index.html')})")


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Landing folder to write (empty, or written by this command before).")],
    works: Annotated[int, typer.Option("--works", min=1, help="Recordings + video titles in night 0 (9 to 1).")] = 1000,
    articles: Annotated[int, typer.Option("--articles", min=0, help="Articles in night 0 (7 Japanese to 3 English).")] = 100,
    holders: Annotated[int, typer.Option("--holders", min=1, help="Rights-holders: labels, and a studio per 4.")] = 4,
    nights: Annotated[int, typer.Option("--nights", min=0, help="Follow-up nights, each changing about 1% of works.")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Same arguments and seed: byte-identical files.")] = 1,
    start: Annotated[str, typer.Option("--start-date", help="Date folder of night 0 (YYYY-MM-DD).")] = "2026-11-24",
    creatives: Annotated[int | None, typer.Option("--creatives", min=0, help="Ad creatives (default 30 + articles/100).")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Writer processes.")] = 1,
) -> None:
    """Write a deterministic landing shaped like real deliveries: night 0 and --nights follow-up date folders."""
    from pipelines.generate import Request, generate_landing
    from pipelines.generate.landing import summary_tables

    try:
        day = date.fromisoformat(start)
    except ValueError as exc:
        raise typer.BadParameter(f"{start!r} is not a date (YYYY-MM-DD)", param_hint="--start-date") from exc
    request = Request(works, articles, holders, nights, seed, day, 30 + articles // 100 if creatives is None else creatives)
    try:
        nights_written = generate_landing(out, request, workers)
    except FileExistsError as exc:
        _fail(str(exc), 1)
    console.print(*summary_tables(nights_written))
    console.print(f"landing: {out} (registry.yaml, partners/, generated.json)")


PartnerOption = Annotated[str | None, typer.Option("--partner", help="One partner's feed (its contract's partner_id).")]


@app.command("export")
def export_feeds(
    partner: PartnerOption = None,
    date_: DateOption = None,
    warehouse: WarehouseOption = None,
    deliver: DeliverOption = None,
    full: Annotated[bool, typer.Option("--full", help="A full snapshot instead of a delta: the partner resyncs.")] = False,
    approve: Annotated[
        bool, typer.Option("--approve", help="Publish a delivery the circuit breaker held (needs --partner).")
    ] = False,
    wait: WaitOption = 0,
) -> None:
    """Deliver the partner feeds of a logical date (all partners, or --partner), as the export stage does.

    Exit codes: 0 delivered (or already delivered); 1 the export failed; 2 a bad argument, setting or
    contract; 3 a feed was held by the circuit breaker (approve it with --partner P --approve), blocked by
    the quality gate, or in conflict (published by another run, 412, or a data file without manifest in the way:
    see the README's runbook), the other partners delivered; 4 another run holds the warehouse.
    """
    from pipelines.export import run_export
    from pipelines.nightly import publish_lake

    if approve and partner is None:
        raise typer.BadParameter("approving a held delivery names its partner", param_hint="--partner")
    logical_date = _logical_date(date_)
    settings = _settings(warehouse=warehouse, deliver=deliver)
    _preflight(settings, ("export",))
    with ExitStack() as held:
        _hold_warehouse(held, settings, f"export --date {logical_date}", wait)
        try:
            summary = run_export(settings, logical_date, partner, full=full, approve=approve)
            publish_lake(settings, logical_date, ("export",))  # the ledger, as the export stage would
        except ValueError as exc:
            _fail(str(exc))
        except Exception as exc:
            _print_traceback_when_debugging()
            _fail(f"export failed: {type(exc).__name__}: {exc}", EXIT_STAGE_FAILED)
    table = Table(title=f"export — {logical_date}", title_justify="left")
    for column in ("partner", "feed", "status", "type", "sequence", "add", "update", "delete", "reason or uri"):
        table.add_column(column, overflow="fold")
    for d in summary.deliveries:
        table.add_row(
            d.partner_id, d.feed, d.status, d.delivery_type or "", str(d.sequence or ""),
            *(str(d.ops.get(op, "")) for op in ("add", "update", "delete")), d.reason or d.uri,
        )  # fmt: skip
    console.print(table)
    for partner_id, feed, acknowledged in summary.acknowledged:
        console.print(f"acknowledged: {partner_id}/{feed} {acknowledged}")
    for path in summary.removed:
        console.print(f"removed {path}: a partial file left by an export that was killed", soft_wrap=True)
    if summary.held:
        for d in summary.held:
            console.print(f"[red]{d.status} feed[/red] {d.partner_id}/{d.feed}: {d.reason}", soft_wrap=True)
        raise typer.Exit(EXIT_FEED_BLOCKED)


feeds_app = typer.Typer(help="Partner feeds: what a delivery would carry.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")


@feeds_app.command("diff")
def feeds_diff(
    partner: Annotated[str, typer.Option("--partner", help="The partner (its contract's partner_id).")],
    date_: DateOption = None,
    warehouse: WarehouseOption = None,
    full: Annotated[bool, typer.Option("--full", help="As `msdb export --full` would deliver.")] = False,
) -> None:
    """The adds, updates and deletes the partner's delivery of --date would carry, before publishing.

    Reads the published copy of the warehouse and writes nothing. One line per work: op and work id."""
    from pipelines.export import circuit_breaker, diff_partner
    from pipelines.registry import RegistryError, load_partners

    settings = _settings(warehouse=warehouse)
    logical_date = _logical_date(date_)
    try:
        (contract,) = [c for c in load_partners(settings.partners_dir) if c.partner_id == partner] or [None]
    except RegistryError as exc:
        _fail(str(exc))
    if contract is None:
        _fail(f"no contract for partner {partner} in {settings.partners_dir}")
    with _published(settings) as con:
        try:
            plan, ops = diff_partner(con, settings, partner, logical_date, full=full)
        except ValueError as exc:
            _fail(str(exc))
    for work_id, op in ops:
        console.print(f"{op} {work_id}", soft_wrap=True, highlight=False)
    cursor_from = plan.cursor_from.isoformat() if plan.cursor_from else "none"
    counts = ", ".join(f"{plan.ops[op]} {op}" for op in ("add", "update", "delete"))
    console.print(
        f"{partner}/{contract.feed} {logical_date}: {plan.delivery_type} sequence {plan.sequence} (cursor {cursor_from} → "
        f"{logical_date}): {counts}; the partner would hold {plan.current_rows} rows (holds {plan.previous_rows})",
        soft_wrap=True, highlight=False,
    )  # fmt: skip
    if contract.feed == "works" and (reason := circuit_breaker(plan, contract)):
        console.print(f"circuit breaker: {reason}", soft_wrap=True, highlight=False)

similar_app = typer.Typer(help="Similar titles and articles: evaluation of the article representation.", no_args_is_help=True)
app.add_typer(similar_app, name="similar")


@similar_app.command("eval")
def similar_eval(
    livedoor: Annotated[
        Path, typer.Option("--livedoor", help="A livedoor-format folder: one sub-folder per category, one .txt per article.")
    ],
    k: Annotated[int, typer.Option("--k", min=1, help="Neighbours per article.")] = 10,
    folds: Annotated[bool, typer.Option("--folds/--no-folds", help="Also tune on one half, measure on the other.")] = True,
    date_: DateOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Nearest-neighbour category precision@k over a livedoor-format folder; stored in ops.model_evals when a
    warehouse is configured (--warehouse, MSDB_WAREHOUSE or an existing default warehouse)."""
    from pipelines.kansei.config import load_embedding_config
    from pipelines.similarity.evaluation import evaluate_livedoor, record_livedoor_eval

    settings = _settings(warehouse=warehouse)
    config = load_embedding_config(settings.models_dir).similarity.articles
    embeddings = None
    if config.embedding_weight > 0:
        from pipelines.similarity.articles import use_embeddings as embeddings
    kansei = None
    if config.kansei_weight > 0:
        from pipelines.similarity.articles import kansei_profiles

        def kansei(texts):
            return kansei_profiles(texts, settings)

    try:
        result = evaluate_livedoor(livedoor, config, k=k, folds=folds, kansei=kansei, embeddings=embeddings)
    except (OSError, ValueError) as exc:
        _fail(f"--livedoor {livedoor}: {type(exc).__name__}: {exc}")
    table = Table(title=f"livedoor precision@{k} — {result.articles} articles, {result.categories} categories")
    for column in ("figure", "articles", "precision", "parameters"):
        table.add_column(column, overflow="fold")
    table.add_row("all articles", str(result.articles), f"{result.precision:.4f}", "configured (models/embedding.yaml)")
    for number, fold in enumerate(result.folds, start=1):
        table.add_row(
            f"fold {number}: tuned on {fold.tuned_on}", str(fold.measured_on), f"{fold.precision:.4f}", str(fold.chosen)
        )
    if result.folds:
        table.add_row("2-fold (held out)", str(sum(f.measured_on for f in result.folds)), f"{result.held_out_precision:.4f}", "")
    console.print(table)
    if warehouse is not None or "MSDB_WAREHOUSE" in os.environ or settings.warehouse.exists():
        with ExitStack() as held:
            _hold_warehouse(held, settings, "similar eval", 0)
            record_livedoor_eval(settings, result, _logical_date(date_))
        console.print(f"stored in ops.model_evals of {settings.warehouse}")


ads_app = typer.Typer(help="Contextual ads: article → ad creative matching (pipelines/ads).", no_args_is_help=True)
app.add_typer(ads_app, name="ads")


@ads_app.command("eval")
def ads_eval(
    creatives: Annotated[Path, typer.Option("--creatives", exists=True, dir_okay=False, help="Creatives (JSON Lines) with \"expected\": [article categories].")],
    livedoor: Annotated[Path, typer.Option("--livedoor", exists=True, file_okay=False, help="Articles in livedoor-corpus layout: <category>/<file>.txt.")],
    warehouse: WarehouseOption = None,
    date_: DateOption = None,
    per_category: Annotated[int | None, typer.Option("--per-category", min=1, help="Only the first N articles of each category.")] = None,
) -> None:
    """For each creative, the share of the articles matched to it (top-1 per article) whose category it expects.

    Prints per-creative and overall figures; stores the overall one in ops.model_evals when a warehouse is
    configured (--warehouse or MSDB_WAREHOUSE).
    """
    import os

    from pipelines.ads.evaluate import EVAL_METRIC, EVAL_MODEL, EvalInputError, evaluate, store_eval

    settings = _settings(warehouse=warehouse)
    try:
        result = evaluate(settings, creatives, livedoor, per_category)
    except EvalInputError as exc:
        _fail(str(exc))
    console.print(f"ads eval: {creatives} x {livedoor}", soft_wrap=True)
    for c in result.creatives:
        share = "-" if c.share is None else f"{c.share:.3f}"
        console.print(
            f"  {c.creative_id}: {share} ({c.expected_matched}/{c.matched} matched articles of "
            f"{', '.join(c.expected) or 'no expected category'})",
            soft_wrap=True,
        )
    expected_matched = sum(c.expected_matched for c in result.creatives if c.expected)
    console.print(
        f"overall {EVAL_METRIC}: {result.overall:.3f} ({expected_matched}/{result.matched} matched articles; "
        f"macro {result.macro:.3f}; {result.articles_matched} of {result.articles} articles matched)",
        soft_wrap=True,
    )
    if warehouse is not None or os.environ.get("MSDB_WAREHOUSE"):
        store_eval(settings, result, _logical_date(date_), f"{creatives} x {livedoor}")
        console.print(f"stored in ops.model_evals ({EVAL_MODEL}, {EVAL_METRIC}) of {settings.warehouse}")


kansei_app = typer.Typer(help="Kansei models: train the emotion heads, measure the emotion scoring.", no_args_is_help=True)
app.add_typer(kansei_app, name="kansei")


@kansei_app.command("train")
def kansei_train(
    data: Annotated[Path | None, typer.Option("--data", help="Folder holding goemotions/ (default: ../shared/data).")] = None,
) -> None:
    """Rebuild the Ekman-7 heads under models/kansei/heads/ from GoEmotions train, reproducibly."""
    from pipelines.kansei.evaluate import train

    manifest = train(_settings(), data)
    table = Table(title=f"Ekman-7 heads — {manifest['embedder']['model_id']}", title_justify="left")
    for column in ("label", "threshold", "held-out F1"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for label, threshold in manifest["thresholds"].items():
        table.add_row(label, f"{threshold:.2f}", f"{manifest['held_out_f1'][label]:.4f}")
    table.add_row("macro", "", f"{manifest['held_out_macro_f1']:.4f}")
    console.print(table)
    console.print(f"training data sha256 {manifest['training_data']['sha256']}, weights sha256 {manifest['weights_sha256']}")


@kansei_app.command("eval")
def kansei_eval(
    dataset: Annotated[str | None, typer.Option("--dataset", help="goemotions-dev (from ../shared/data).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help='JSON Lines of {"text": ..., "labels": [Ekman-7 names]}.')] = None,
    warehouse: WarehouseOption = None,
    date_: DateOption = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="Write ops.model_evals (when a warehouse exists).")] = True,
) -> None:
    """Macro-F1 and F1 per Ekman-7 label of the tag stage's emotion scoring (heads + Japanese lexicon)."""
    from pipelines.kansei.evaluate import evaluate, load_dataset, record_eval
    from pipelines.kansei.scoring import build_scorer

    if (dataset is None) == (file is None):
        raise typer.BadParameter("give one of --dataset or --file")
    settings = _settings(warehouse=warehouse)
    try:
        name, path, data = load_dataset(dataset, file)
    except (ValueError, FileNotFoundError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    result = evaluate(build_scorer(settings.models_dir, settings.var_dir), name, path, data)
    table = Table(title=f"kansei eval — {name} ({result.size} texts)", title_justify="left")
    for column in ("label", "support", "F1"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for label, value in result.f1.items():
        table.add_row(label, str(result.support[label]), f"{value:.4f}")
    table.add_row("macro", "", f"{result.macro_f1:.4f}")
    console.print(table)
    if store and (warehouse is not None or settings.warehouse.exists()):
        rows = record_eval(settings, result, _logical_date(date_))
        console.print(f"ops.model_evals: {rows} rows ({settings.warehouse})")


def main(argv: list[str] | None = None) -> int:
    """The `msdb` entry point: Typer's parsing, our error lines (one line on stderr, exit codes above)."""
    global _debugging

    args = sys.argv[1:] if argv is None else argv
    debug = _debugging = "--debug" in args
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="msdb", standalone_mode=False)
    except typer.Abort:
        typer.echo("msdb: aborted", err=True)
        return 130
    except typer.TyperException as exc:  # Typer's usage errors: bad option, unknown command, bad value
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `msdb`
            typer.echo(exc.ctx.get_help())
            return EXIT_USAGE
        if debug:
            raise
        typer.echo(f"msdb: error: {_one_line(exc.format_message())}", err=True)
        return getattr(exc, "exit_code", EXIT_USAGE)
    except Exception as exc:
        if debug:
            raise
        typer.echo(f"msdb: error: {_one_line(f'{type(exc).__name__}: {exc}')} (msdb --debug shows the traceback)", err=True)
        return EXIT_STAGE_FAILED
    return code if isinstance(code, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
