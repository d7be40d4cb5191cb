"""The run report: one self-contained HTML page per logical date, `<var_dir>/reports/<date>.html`.

What a data engineer opens the morning after: records per holder and kind, quarantine reasons, the quality
gate's results, kansei tag distribution and drift, similar works and ad matches, feed deltas per partner and
stage timings, each with a chart (matplotlib, inline SVG: readable offline, no script, no CDN).

It reads the published copy of the warehouse (`pipelines.warehouse.published`), never the live file, so
`msdb report` works while a run writes, and shows the state as of the end of the last run or stage. `msdb run`
writes the report of its date once the run has ended (succeeded, blocked a feed, or failed at a stage) and its
copy is published, and prints the path.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.settings import MsdbSettings


class NoRunRecorded(LookupError):
    """No stage ran for the date in this warehouse: there is nothing to report."""


def report_path(settings: MsdbSettings, logical_date: date) -> Path:
    return settings.var_dir / "reports" / f"{logical_date.isoformat()}.html"


def _dates_run(con) -> str:
    dates = [d for (d,) in con.execute("SELECT DISTINCT logical_date FROM ops.stage_runs ORDER BY 1").fetchall()]
    if not dates:
        return "no run is recorded yet"
    if len(dates) <= 3:
        return f"runs are recorded for {', '.join(map(str, dates))}"
    return f"runs are recorded for {len(dates)} dates from {dates[0]} to {dates[-1]}"


def render_run_report(con, logical_date: date, published: Path) -> str:
    """The report's HTML, from an open (read-only) connection to the published copy."""
    from pipelines.report import page, sections

    (runs,) = con.execute("SELECT count(*) FROM ops.stage_runs WHERE logical_date = ?", [logical_date]).fetchone()
    if not runs:
        raise NoRunRecorded(f"no run for {logical_date} in {published}: {_dates_run(con)}")
    facts = sections.run_facts(con, logical_date)
    parts = [
        sections.ingest_section(con, facts),
        sections.quarantine_section(con, facts),
        sections.quality_section(con, facts),
        *sections.tag_sections(con, facts),
        sections.neighbours_section(con, facts),
        sections.ads_section(con, facts),
        sections.feeds_section(con, facts),
        sections.timings_section(con, facts),
    ]
    return page.render(facts, parts, published)


def write_run_report(settings: MsdbSettings, logical_date: date) -> Path:
    """Write `<var_dir>/reports/<date>.html` from the published copy (atomically: a reader never sees half a
    page). FileNotFoundError: no warehouse; NoRunRecorded: no stage ran for the date."""
    from pipelines.warehouse import published_path, published_reader

    with published_reader(settings.warehouse) as con:
        html = render_run_report(con, logical_date, published_path(settings.warehouse))
    target = report_path(settings, logical_date)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(html)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
