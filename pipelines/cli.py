"""`msdb`: the data engineer's handle on the pipeline (run, one stage, SQL, quarantine, docs)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="MSDB nightly pipeline: ingest → build → tag → similar → check → export.", no_args_is_help=True)
console = Console()

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


def _settings(landing: Path | None = None, warehouse: Path | None = None, deliver: str | None = None):
    from pipelines.settings import MsdbSettings

    overrides = {k: v for k, v in {"landing": landing, "warehouse": warehouse, "deliver": deliver}.items() if v is not None}
    return MsdbSettings(**overrides)


def _logical_date(value: str | None) -> date:
    from pipelines.settings import default_logical_date

    if value is None:
        return default_logical_date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--date") from exc


# `msdb run` exit codes (also in README and `msdb run --help`)
EXIT_OK = 0  # every feed delivered (rows may have been withheld or records quarantined: the summary lists them)
EXIT_STAGE_FAILED = 1  # a stage raised; the run stopped there
EXIT_FEED_BLOCKED = 3  # the run finished but at least one partner feed was blocked by the quality gate


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

    totals = Table(show_header=False)
    totals.add_row("works in warehouse / tagged", f"{_shown(report.works)} / {_shown(report.works_tagged)}")
    totals.add_row("articles in warehouse / tagged", f"{_shown(report.articles)} / {_shown(report.articles_tagged)}")
    totals.add_row("similar-work neighbours", _shown(report.neighbors))
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
        console.print(f"[red]blocked feed[/red] {d['partner_id']}/{d['feed']}: {d['reason']}", soft_wrap=True)
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
) -> None:
    """Run the whole nightly pipeline for one logical date and print its summary.

    Exit codes: 0 every feed delivered (withheld rows and quarantined records are listed in the summary);
    1 a stage failed and the run stopped; 3 the run finished but the quality gate blocked at least one feed.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from pipelines.nightly import STAGES, run_nightly

    settings = _settings(landing, warehouse, deliver)
    logical_date = _logical_date(date_)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as progress:
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
            console.print(f"[red]stage failed:[/red] {type(exc).__name__}: {exc}")
            _print_partial_report(settings, logical_date)
            raise typer.Exit(EXIT_STAGE_FAILED) from exc
    print_report(result)
    if result.blocked_feeds:
        names = ", ".join(f"{d['partner_id']}/{d['feed']}" for d in result.blocked_feeds)
        console.print(f"[red]exit {EXIT_FEED_BLOCKED}: blocked feeds: {names}[/red]")
        raise typer.Exit(EXIT_FEED_BLOCKED)


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
    name: Annotated[str, typer.Argument(help="ingest, build, tag, similar, check or export")],
    date_: DateOption = None,
    landing: LandingOption = None,
    warehouse: WarehouseOption = None,
    deliver: DeliverOption = None,
    full_refresh: FullRefreshOption = False,
) -> None:
    """Run one stage for a logical date (what an Airflow task runs)."""
    import json

    from pipelines.nightly import run_stage

    summary = run_stage(name, _logical_date(date_), _settings(landing, warehouse, deliver), full_refresh=full_refresh)
    console.print_json(json.dumps(summary, ensure_ascii=False, default=str))


@app.command()
def quarantine(date_: DateOption = None, warehouse: WarehouseOption = None) -> None:
    """List what was quarantined for a logical date: file, location, stage and reason."""
    from pipelines.warehouse import reader

    settings = _settings(warehouse=warehouse)
    logical_date = _logical_date(date_)
    table = Table(title=f"quarantine — {logical_date}")
    for column in ("file", "location", "stage", "reason"):
        table.add_column(column, overflow="fold")
    with reader(settings.warehouse) as con:
        for row in con.execute(
            "SELECT file_path, location, stage, reason FROM ops.quarantine WHERE logical_date = ? ORDER BY ALL",
            [logical_date],
        ).fetchall():
            table.add_row(*row)
    console.print(table)


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

    from pipelines.warehouse import published_reader

    settings = _settings(warehouse=warehouse)
    try:
        with published_reader(settings.warehouse) as con:
            cursor = con.execute(query)
            columns = [column[0] for column in cursor.description or []]
            rows = cursor.fetchall()
    except (duckdb.Error, FileNotFoundError, RuntimeError) as exc:
        console.print(f"[red]{type(exc).__name__}:[/red] {exc}")
        raise typer.Exit(1) from exc
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
    """Build the dbt docs site (models, columns, tests, lineage) into var/docs/."""
    from pipelines.build import build_docs

    index = build_docs(_settings(warehouse=warehouse))
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
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(*summary_tables(nights_written))
    console.print(f"landing: {out} (registry.yaml, partners/, generated.json)")


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


if __name__ == "__main__":
    app()
