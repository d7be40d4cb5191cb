"""The run report's charts: matplotlib figures rendered to inline SVG, so the page needs no script, no CDN and
no network to be read.

Figures are made with `matplotlib.figure.Figure` (no pyplot: no global state, no GUI backend). Text stays text
(`svg.fonttype: none`): a third of the size of glyph paths, searchable in the page, and a Japanese label is
drawn by the reader's own fonts. Each chart has its own `svg.hashsalt`, so the ids of two charts inlined in one
page never collide, and the same data gives the same SVG.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

# one colour per meaning, the same in every chart
LOADED = "#2e7d32"
QUARANTINED = "#c62828"
SKIPPED = "#9e9e9e"
PASSED = "#43a047"
FAILED = "#e53935"
ADD, UPDATE, DELETE, FULL = "#1e88e5", "#fb8c00", "#8e24aa", "#90a4ae"
SAME_DOMAIN, CROSS_DOMAIN = "#3949ab", "#00897b"
FACETS = {"mood": "#5e35b1", "emotion": "#d81b60", "theme": "#00897b", "scene": "#f4511e", "impression": "#6d4c41"}
STATUS = {"success": "#43a047", "failed": "#e53935", "killed": "#6d4c41", "running": "#fdd835"}
OTHER = "#78909c"

_LABEL_CHARS = 48


def _figure(width: float, height: float, label_chars: Sequence[int] = (0,), legend: bool = False):
    """A figure with one axes per panel side by side, each with room on its left for its longest tick label.

    Margins are computed rather than left to matplotlib's layout engines, which draw every figure once more to
    measure it (a third of the report's time)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    lefts = [0.35 + 0.068 * chars for chars in label_chars]  # inches: 8pt DejaVu Sans is about 0.068 in a character
    right, top, bottom = 0.25, 0.35, 0.85 if legend else 0.55
    height += 0.3 if legend else 0
    panel = width / len(lefts)
    axes = []
    for number, left in enumerate(lefts):
        x = number * panel + left
        ax = figure.add_axes(
            (x / width, bottom / height, max(panel - left - right, 0.5) / width, max(height - top - bottom, 0.3) / height)
        )
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        axes.append(ax)
    return figure, axes


def _legend(figure, entries: int) -> None:
    """One line of legend along the bottom edge, under the axis label."""
    figure.legend(loc="lower left", bbox_to_anchor=(0.01, 0.0), ncols=max(entries, 1), fontsize=8, frameon=False)


def _chars(labels: Sequence[str]) -> int:
    return max((len(_short(label)) for label in labels), default=0)


def _svg(figure, name: str) -> str:
    """The figure as an `<svg>` element (no XML prolog), deterministic for the same data."""
    import matplotlib

    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"msdb-report-{name}"}):
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": "msdb report"})
    text = out.getvalue()
    return text[text.index("<svg") :].replace("<svg ", f'<svg class="chart" data-chart="{name}" role="img" ', 1)


def _short(label: str) -> str:
    label = " ".join(str(label).split())
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


def _bar_height(bars: int) -> float:
    return min(12.0, 1.2 + 0.3 * max(bars, 1))


def stacked_bars(
    name: str, title: str, labels: Sequence[str], series: dict[str, tuple[Sequence[float], str]], xlabel: str
) -> str:
    """Horizontal bars, one per label (top to bottom in the order given), stacked by series."""
    figure, (ax,) = _figure(9, _bar_height(len(labels)), [_chars(labels)], legend=True)
    positions = list(range(len(labels)))[::-1]
    left = [0.0] * len(labels)
    for series_name, (values, colour) in series.items():
        ax.barh(positions, values, left=left, color=colour, label=series_name, height=0.7)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(positions, [_short(label) for label in labels], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=11)
    _legend(figure, len(series))
    return _svg(figure, name)


def bar_panels(name: str, panels: Sequence[tuple[str, Sequence[str], Sequence[float], Sequence[str], str]]) -> str:
    """Side-by-side horizontal bar charts: (title, labels, values, colours, x label) each."""
    tallest = max((len(labels) for _, labels, _, _, _ in panels), default=1)
    figure, axes = _figure(5.6 * len(panels), _bar_height(tallest), [_chars(panel[1]) for panel in panels])
    for ax, (title, labels, values, colours, xlabel) in zip(axes, panels, strict=True):
        positions = list(range(len(labels)))[::-1]
        ax.barh(positions, values, color=list(colours), height=0.7)
        ax.set_yticks(positions, [_short(label) for label in labels], fontsize=8)
        ax.set_xlabel(xlabel)
        ax.set_title(title, loc="left", fontsize=11)
    return _svg(figure, name)


def diverging_panels(name: str, panels: Sequence[tuple[str, Sequence[str], Sequence[float]]], xlabel: str) -> str:
    """Side-by-side bars around zero (a rise right, a fall left): (title, labels, values) each."""
    tallest = max((len(labels) for _, labels, _ in panels), default=1)
    figure, axes = _figure(5.6 * len(panels), _bar_height(tallest), [_chars(panel[1]) for panel in panels])
    for ax, (title, labels, values) in zip(axes, panels, strict=True):
        positions = list(range(len(labels)))[::-1]
        ax.barh(positions, values, color=[ADD if v >= 0 else QUARANTINED for v in values], height=0.7)
        ax.axvline(0, color="#424242", linewidth=0.8)
        ax.set_yticks(positions, [_short(label) for label in labels], fontsize=8)
        ax.set_xlabel(xlabel)
        ax.set_title(title, loc="left", fontsize=11)
    return _svg(figure, name)


def histogram(
    name: str, title: str, low: float, width: float, series: dict[str, tuple[Sequence[int], str]], xlabel: str
) -> str:
    """Stacked counts per bin, bins of `width` from `low` (counted in SQL: a table of any size draws the same)."""
    figure, (ax,) = _figure(9, 3.2, [3], legend=True)
    bins = max((len(counts) for counts, _ in series.values()), default=0)
    centres = [low + width * (number + 0.5) for number in range(bins)]
    bottom = [0] * bins
    for series_name, (counts, colour) in series.items():
        ax.bar(centres, counts, width=width * 0.95, bottom=bottom, color=colour, label=series_name)
        bottom = [a + b for a, b in zip(bottom, counts, strict=True)]
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rows")
    ax.set_title(title, loc="left", fontsize=11)
    _legend(figure, len(series))
    return _svg(figure, name)


def timeline(name: str, title: str, stages: Sequence[tuple[str, datetime, datetime | None, str]], now: datetime) -> str:
    """One bar per stage attempt from its start to its end (or `now` while unfinished), coloured by status."""
    figure, (ax,) = _figure(9, _bar_height(len(stages)), [_chars([stage for stage, _, _, _ in stages])])
    origin = min(started for _, started, _, _ in stages)
    positions = list(range(len(stages)))[::-1]
    for position, (_, started, finished, status) in zip(positions, stages, strict=True):
        start = (started - origin).total_seconds()
        width = max(((finished or now) - started).total_seconds(), 0.05)
        ax.barh(position, width, left=start, color=STATUS.get(status, OTHER), height=0.6)
        ax.text(start + width, position, f" {width:.1f} s {status}", va="center", fontsize=8)
    ax.set_yticks(positions, [stage for stage, _, _, _ in stages], fontsize=9)
    ax.set_xlabel("seconds since the first stage started")
    ax.set_title(title, loc="left", fontsize=11)
    ax.margins(x=0.15)
    return _svg(figure, name)
