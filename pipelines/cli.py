"""`msdb`: the data engineer's handle on the pipeline (run, one stage, SQL, quarantine, docs)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="MSDB nightly pipeline: ingest → build → check → tag → similar → export.", no_args_is_help=True)
console = Console()

DateOption = Annotated[
    str | None, typer.Option("--date", help="Logical date YYYY-MM-DD (default: yesterday in Asia/Tokyo).")
]
LandingOption = Annotated[Path | None, typer.Option("--landing", help="Landing folder (default: data/samples).")]
WarehouseOption = Annotated[Path | None, typer.Option("--warehouse", help="DuckDB warehouse file.")]
DeliverOption = Annotated[str | None, typer.Option("--deliver", help="Delivery folder or s3://bucket/prefix.")]


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

    totals = Table(show_header=False)
    totals.add_row("works in warehouse / tagged", f"{report.works} / {report.works_tagged}")
    totals.add_row("articles in warehouse / tagged", f"{report.articles} / {report.articles_tagged}")
    totals.add_row("similar-work neighbours", str(report.neighbors))
    totals.add_row("quality failures", f"[red]{len(report.quality_failures)}[/red]" if report.quality_failures else "0")
    conflicts = report.identifier_conflicts
    totals.add_row("identifier conflicts (both kept)", f"[yellow]{len(conflicts)}[/yellow]" if conflicts else "0")
    console.print(totals)
    for failure in report.quality_failures:
        console.print(f"  [red]✗[/red] {failure}")
    for conflict in conflicts:
        console.print(f"  [yellow]≠[/yellow] {conflict}")

    feeds = Table(title="feeds")
    for column in ("partner", "feed", "status", "rows", "where"):
        feeds.add_column(column, overflow="fold")
    for d in report.deliveries:
        colour = {"delivered": "green", "already_delivered": "cyan"}.get(d["status"], "red")
        feeds.add_row(d["partner_id"], d["feed"], f"[{colour}]{d['status']}[/{colour}]", str(d["rows"]), d["reason"] or d["uri"])
    console.print(feeds)


@app.command()
def run(
    date_: DateOption = None,
    landing: LandingOption = None,
    warehouse: WarehouseOption = None,
    deliver: DeliverOption = None,
) -> None:
    """Run the whole nightly pipeline for one logical date and print its summary."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from pipelines.nightly import STAGES, report, run_nightly

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
            result = run_nightly(settings, logical_date, on_stage)
        except Exception as exc:
            progress.stop()
            console.print(f"[red]stage failed:[/red] {type(exc).__name__}: {exc}")
            try:
                print_report(report(settings, logical_date))
            except Exception:
                pass
            raise typer.Exit(1) from exc
    print_report(result)


@app.command()
def stage(
    name: Annotated[str, typer.Argument(help="ingest, build, check, tag, similar or export")],
    date_: DateOption = None,
    landing: LandingOption = None,
    warehouse: WarehouseOption = None,
    deliver: DeliverOption = None,
) -> None:
    """Run one stage for a logical date (what an Airflow task runs)."""
    import json

    from pipelines.nightly import run_stage

    summary = run_stage(name, _logical_date(date_), _settings(landing, warehouse, deliver))
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


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A SQL query, run read-only.")],
    warehouse: WarehouseOption = None,
) -> None:
    """Query the warehouse read-only, even while a run is writing it.

    Reads the copy published at the end of the last stage that wrote (`<warehouse stem>.published.duckdb`):
    DuckDB's writer locks the live file against every other process, readers included.
    """
    import duckdb

    from pipelines.warehouse import published_reader

    settings = _settings(warehouse=warehouse)
    try:
        with published_reader(settings.warehouse) as con:
            cursor = con.execute(query)
            table = Table()
            for column in cursor.description or []:
                table.add_column(column[0])
            for row in cursor.fetchall():
                table.add_row(*("NULL" if v is None else str(v) for v in row))
    except (duckdb.Error, FileNotFoundError, RuntimeError) as exc:
        console.print(f"[red]{type(exc).__name__}:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(table)


@app.command()
def docs(warehouse: WarehouseOption = None) -> None:
    """Build the dbt docs site (models, columns, tests, lineage) into var/docs/."""
    from pipelines.build import build_docs

    index = build_docs(_settings(warehouse=warehouse))
    console.print(f"dbt docs: {index} (static single page: {index.with_name('static_index.html')})")


if __name__ == "__main__":
    app()
