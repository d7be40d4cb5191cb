"""The run report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no external link."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from pipelines.report.sections import RunFacts, Section, Table

STYLE = """
body { font-family: "DejaVu Sans", "Noto Sans CJK JP", "Hiragino Sans", sans-serif; margin: 24px auto;
       max-width: 1180px; color: #212121; background: #ffffff; line-height: 1.4; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 18px; border-bottom: 2px solid #3949ab; padding-bottom: 4px; margin-top: 32px; }
.meta { color: #616161; font-size: 13px; }
.stages span { display: inline-block; padding: 2px 8px; margin: 2px; border-radius: 10px; font-size: 12px;
               color: #ffffff; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0; }
.figure { background: #e8eaf6; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.figure b { display: block; font-size: 22px; color: #1a237e; }
.figure span { font-size: 12px; color: #424242; }
svg.chart { max-width: 100%; height: auto; display: block; margin: 8px 0; }
table { border-collapse: collapse; font-size: 12px; margin: 8px 0 16px; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border: 1px solid #e0e0e0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #37474f; background: #eceff1; padding: 6px 10px; border-left: 3px solid #78909c; }
nav a { margin-right: 12px; font-size: 13px; }
"""

STATUS_COLOURS = {"success": "#43a047", "failed": "#e53935", "killed": "#6d4c41", "running": "#f9a825"}


def _cell(value) -> str:
    css = ' class="n"' if isinstance(value, int | float) and not isinstance(value, bool) else ""
    return f"<td{css}>{escape('' if value is None else str(value))}</td>"


def _table(table: Table) -> str:
    caption = f"<caption>{escape(table.caption)}</caption>" if table.caption else ""
    head = "".join(f"<th>{escape(column)}</th>" for column in table.columns)
    body = "\n".join(f"<tr>{''.join(_cell(v) for v in row)}</tr>" for row in table.rows)
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _text(text: str) -> str:
    """Escaped, with `code` spans."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _section(section: Section) -> str:
    parts = [f'<section id="{section.anchor}">', f"<h2>{escape(section.title)}</h2>", f"<p>{_text(section.lead)}</p>"]
    parts += [f'<p class="note">{_text(note)}</p>' for note in section.notes]
    parts += section.charts
    parts += [_table(table) for table in section.tables]
    parts.append("</section>")
    return "\n".join(parts)


def render(facts: RunFacts, sections: list[Section], published: Path) -> str:
    stages = "".join(
        f'<span style="background:{STATUS_COLOURS.get(status, "#78909c")}">{escape(stage)}: {escape(status)}</span>'
        for stage, status in facts.stage_status.items()
    )
    figures = "".join(
        f'<div class="figure" data-figure="{escape(label)}"><b>{escape(value)}</b><span>{escape(label)}</span></div>'
        for label, value in facts.figures
    )
    copied = datetime.fromtimestamp(published.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    nav = "".join(f'<a href="#{s.anchor}">{escape(s.title)}</a>' for s in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>MSDB run report — {facts.logical_date}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>MSDB run report — {facts.logical_date}</h1>
<p class="meta">Read from {escape(str(published))} (published {copied}); written
{datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")} by <code>msdb report --date {facts.logical_date}</code>.</p>
<div class="stages">{stages}</div>
<div class="figures">{figures}</div>
<nav>{nav}</nav>
{"".join(_section(section) for section in sections)}
</body>
</html>
"""
