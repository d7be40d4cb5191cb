"""What the run report shows, section by section, read from the published copy of the warehouse.

Tables that keep a row per logical date are read for the report's date: `ops.ingest_files`, `ops.quarantine`,
`ops.quality_results`, `ops.stage_runs`, `kansei.tag_drift`, `exports.delivery_ledger`, `exports.withheld_rows`,
`exports.rights_audit`. The similarity and ads tables hold only the latest state (each night replaces what
changed); their sections say so when a later date has run since.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from pipelines.report import charts

if TYPE_CHECKING:
    import duckdb

STAGE_ORDER = ("ingest", "build", "tag", "similar", "ads", "check", "export")
TOP_TAGS = 15
TOP_REASONS = 15  # in the chart
SHOWN_REASONS = 50  # in the table
NEIGHBOUR_BINS = 20


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple]
    caption: str = ""


@dataclass
class Section:
    anchor: str
    title: str
    lead: str  # one sentence: what the section reads
    charts: list[str] = field(default_factory=list)  # inline <svg> elements
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # "nothing quarantined", "not built" ...


@dataclass
class RunFacts:
    """The run as a whole: what the header and the key figures show."""

    logical_date: date
    stage_status: dict[str, str]  # latest attempt of each stage for the date
    latest_logical_date: date  # the latest date any stage ran for (the state of current-state tables)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (label, value), in order


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
        ).fetchone()[0]
    )


def _rows(con: duckdb.DuckDBPyConnection, query: str, parameters: list[Any] | None = None) -> list[tuple]:
    return con.execute(query, parameters or []).fetchall()


def _later_state_note(facts: RunFacts) -> list[str]:
    if facts.latest_logical_date > facts.logical_date:
        return [
            f"These tables hold the latest state only: what is shown is as of the run of {facts.latest_logical_date}, "
            f"not of {facts.logical_date}."
        ]
    return []


def run_facts(con: duckdb.DuckDBPyConnection, logical_date: date) -> RunFacts:
    latest = dict(
        _rows(
            con,
            """
            SELECT stage, status FROM ops.stage_runs WHERE logical_date = ?
            QUALIFY row_number() OVER (PARTITION BY stage ORDER BY started_at DESC) = 1
            """,
            [logical_date],
        )
    )
    stage_status = {stage: latest[stage] for stage in STAGE_ORDER if stage in latest}
    stage_status |= {stage: status for stage, status in sorted(latest.items()) if stage not in stage_status}
    (latest_date,) = con.execute("SELECT max(logical_date) FROM ops.stage_runs").fetchone()
    facts = RunFacts(logical_date, stage_status, latest_date or logical_date)
    files, records_loaded, records_quarantined = con.execute(
        """
        SELECT count(*) FILTER (WHERE status IN ('loaded', 'partial')), coalesce(sum(records_loaded), 0),
               coalesce(sum(records_quarantined), 0)
        FROM ops.ingest_files WHERE logical_date = ?
        """,
        [logical_date],
    ).fetchone()
    checks, failed = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE NOT success) FROM ops.quality_results WHERE logical_date = ?",
        [logical_date],
    ).fetchone()
    delivered, not_published = con.execute(
        """
        WITH latest AS (
            SELECT status FROM exports.delivery_ledger WHERE logical_date = ?
            QUALIFY row_number() OVER (PARTITION BY partner_id, feed ORDER BY delivered_at DESC) = 1
        )
        SELECT count(*) FILTER (WHERE status IN ('delivered', 'already_delivered', 'acknowledged')),
               count(*) FILTER (WHERE status IN ('blocked', 'held', 'conflict'))
        FROM latest
        """,
        [logical_date],
    ).fetchone()
    facts.figures = [
        ("files loaded", str(files)),
        ("records loaded", str(records_loaded)),
        ("records quarantined", str(records_quarantined)),
        ("quality checks failed", f"{failed} of {checks}"),
        ("feeds delivered", str(delivered)),
        ("feeds not published", str(not_published)),
        ("similar-work neighbours", str(con.execute("SELECT count(*) FROM similarity.work_neighbors").fetchone()[0])),
        ("article → ad matches", str(con.execute("SELECT count(*) FROM similarity.ad_matches").fetchone()[0])),
    ]
    return facts


def ingest_section(con: duckdb.DuckDBPyConnection, facts: RunFacts) -> Section:
    rows = _rows(
        con,
        """
        SELECT kind, coalesce(holder_id, '(none)') AS holder_id, count(*) AS files,
               count(*) FILTER (WHERE status IN ('loaded', 'partial')) AS files_loaded,
               count(*) FILTER (WHERE status IN ('quarantined', 'undeclared_holder')) AS files_quarantined,
               count(*) FILTER (WHERE status = 'already_loaded') AS files_skipped,
               coalesce(sum(records_found), 0) AS records_found,
               coalesce(sum(records_loaded), 0) AS records_loaded,
               coalesce(sum(records_quarantined), 0) AS records_quarantined
        FROM ops.ingest_files WHERE logical_date = ?
        GROUP BY ALL ORDER BY kind, holder_id
        """,
        [facts.logical_date],
    )
    section = Section(
        "ingest", "Records per holder and kind", "What each rights-holder, publisher and advertiser delivered that "
        "ingest read for this date (ops.ingest_files): files and records loaded, quarantined or skipped as already loaded.",
    )  # fmt: skip
    if not rows:
        section.notes.append(f"No file was ingested for {facts.logical_date} (ingest did not run, or found nothing new).")
        return section
    section.charts.append(
        charts.stacked_bars(
            "records-per-holder", f"Records per holder — {facts.logical_date}",
            [f"{kind} / {holder}" for kind, holder, *_ in rows],
            {"loaded": ([r[7] for r in rows], charts.LOADED), "quarantined": ([r[8] for r in rows], charts.QUARANTINED)},
            "records",
        )  # fmt: skip
    )
    section.tables.append(
        Table(
            ["kind", "holder", "files", "files loaded", "files quarantined", "files skipped", "records found",
             "records loaded", "records quarantined"],
            rows,
        )  # fmt: skip
    )
    return section


def quarantine_section(con: duckdb.DuckDBPyConnection, facts: RunFacts) -> Section:
    rows = _rows(
        con,
        """
        SELECT reason, stage, count(*) AS records, count(DISTINCT file_path) AS files, min(file_path) AS example_file
        FROM ops.quarantine WHERE logical_date = ?
        GROUP BY ALL ORDER BY records DESC, reason LIMIT ?
        """,
        [facts.logical_date, SHOWN_REASONS + 1],
    )
    section = Section(
        "quarantine", "Quarantine reasons", "Files and records refused for this date, by reason (ops.quarantine; "
        "`msdb quarantine --date D` lists each one with its location).",
    )  # fmt: skip
    if not rows:
        section.notes.append("Nothing was quarantined.")
        return section
    top = rows[:TOP_REASONS]
    section.charts.append(
        charts.bar_panels(
            "quarantine-reasons",
            [(f"Quarantined records by reason — {facts.logical_date}", [r[0] for r in top], [r[2] for r in top],
              [charts.QUARANTINED] * len(top), "records")],
        )  # fmt: skip
    )
    section.tables.append(Table(["reason", "stage", "records", "files", "example file"], rows[:SHOWN_REASONS]))
    if len(rows) > SHOWN_REASONS:
        section.notes.append(
            f"The {SHOWN_REASONS} most frequent reasons: `msdb quarantine --date {facts.logical_date}` lists every record."
        )
    return section


def quality_section(con: duckdb.DuckDBPyConnection, facts: RunFacts) -> Section:
    suites = _rows(
        con,
        """
        SELECT suite, count(*) FILTER (WHERE success) AS passed, count(*) FILTER (WHERE NOT success) AS failed
        FROM ops.quality_results WHERE logical_date = ? GROUP BY suite ORDER BY suite
        """,
        [facts.logical_date],
    )
    section = Section(
        "quality", "Quality gate", "The gate's expectations per suite (ops.quality_results): a failure holds back "
        "the feeds and partners in its `blocks`.",
    )  # fmt: skip
    if not suites:
        section.notes.append("The check stage has no results for this date.")
        return section
    section.charts.append(
        charts.stacked_bars(
            "quality-results", f"Expectations per suite — {facts.logical_date}", [s[0] for s in suites],
            {"passed": ([s[1] for s in suites], charts.PASSED), "failed": ([s[2] for s in suites], charts.FAILED)},
            "expectations",
        )  # fmt: skip
    )
    failures = _rows(
        con,
        """
        SELECT suite, expectation, coalesce(column_name, ''), observed, array_to_string(blocks, ', ')
        FROM ops.quality_results WHERE logical_date = ? AND NOT success ORDER BY ALL
        """,
        [facts.logical_date],
    )
    section.tables.append(Table(["suite", "passed", "failed"], suites))
    if failures:
        section.tables.append(Table(["suite", "expectation", "column", "observed", "blocks"], failures, "failed expectations"))
    else:
        section.notes.append("Every expectation passed.")
    return section


def _tag_labels(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    rows = _rows(
        con,
        """
        SELECT tag_id, any_value(label_en), any_value(label_ja) FROM (
            SELECT tag_id, label_en, label_ja FROM kansei.work_tags
            UNION ALL SELECT tag_id, label_en, label_ja FROM kansei.article_tags
        ) GROUP BY tag_id
        """,
    )
    return {tag: (en or "", ja or "") for tag, en, ja in rows}


def _tag_colour(tag_id: str) -> str:
    return charts.FACETS.get(tag_id.split(".", 1)[0], charts.OTHER)


def tag_sections(con: duckdb.DuckDBPyConnection, facts: RunFacts) -> list[Section]:
    run = con.execute(
        "SELECT run_id FROM kansei.tag_drift WHERE logical_date = ? ORDER BY run_started_at DESC LIMIT 1",
        [facts.logical_date],
    ).fetchone()
    distribution = Section(
        "tags", "Kansei tag distribution", "Each tag's share of the tagged works and articles after the tag run of "
        "this date (kansei.tag_drift; the tags themselves: kansei.work_tags, kansei.article_tags).",
    )  # fmt: skip
    drift = Section(
        "drift", "Tag drift", "How each tag's share moved against the previous tag run (kansei.tag_drift.delta).",
    )
    if run is None:
        for section in (distribution, drift):
            section.notes.append("The tag stage did not run for this date.")
        return [distribution, drift]
    rows = _rows(
        con,
        """
        SELECT kind, tag_id, items, share, previous_share, delta, previous_run_id, model_version, previous_model_version
        FROM kansei.tag_drift WHERE run_id = ? ORDER BY kind DESC, share DESC, tag_id
        """,
        [run[0]],
    )
    labels = _tag_labels(con)
    panels = []
    for kind, title in (("work", "works"), ("article", "articles")):
        top = [r for r in rows if r[0] == kind][:TOP_TAGS]
        if top:
            panels.append((f"Top tags of {title} (share)", [r[1] for r in top], [r[3] for r in top],
                           [_tag_colour(r[1]) for r in top], "share of tagged items"))  # fmt: skip
    if panels:
        distribution.charts.append(charts.bar_panels("tag-distribution", panels))
    status = _rows(
        con,
        """
        SELECT kind, count(*) FILTER (WHERE untaggable_reason IS NULL) AS tagged,
               count(*) FILTER (WHERE untaggable_reason IS NOT NULL) AS untaggable
        FROM kansei.tag_status GROUP BY kind ORDER BY kind DESC
        """,
    )
    if status:
        distribution.tables.append(Table(["kind", "tagged", "untaggable"], status, "items tagged (latest state)"))
    distribution.tables.append(
        Table(
            ["kind", "tag", "label (en)", "label (ja)", "items", "share"],
            [(r[0], r[1], *labels.get(r[1], ("", "")), r[2], f"{r[3]:.3f}") for r in rows],
            f"run {run[0]}",
        )
    )
    compared = [r for r in rows if r[5] is not None]
    if not compared:
        drift.notes.append("The first tag run of this warehouse: no earlier run to compare with.")
        return [distribution, drift]
    model_changed = {r[8] for r in compared if r[8] is not None and r[8] != r[7]}
    if model_changed:
        drift.notes.append("The model version changed since the previous run: part of the drift is the model's.")
    panels = []
    for kind, title in (("work", "works"), ("article", "articles")):
        moved = sorted((r for r in compared if r[0] == kind), key=lambda r: (-abs(r[5]), r[1]))[:TOP_TAGS]
        if moved:
            panels.append((f"Largest share changes, {title}", [r[1] for r in moved], [r[5] for r in moved]))
    drift.charts.append(charts.diverging_panels("tag-drift", panels, "change in share since the previous run"))
    drift.tables.append(
        Table(
            ["kind", "tag", "previous share", "share", "change"],
            [(r[0], r[1], f"{r[4]:.3f}", f"{r[3]:.3f}", f"{r[5]:+.3f}")
             for r in sorted(compared, key=lambda r: (r[0], -abs(r[5]), r[1])) if r[5] != 0],
            f"against run {compared[0][6]}",
        )  # fmt: skip
    )
    return [distribution, drift]


def neighbours_section(con: duckdb.DuckDBPyConnection, facts: RunFacts) -> Section:
    section = Section(
        "neighbours", "Similar works", "Each work's nearest works (similarity.work_neighbors: text, kansei and "
        "metadata) and the works matched to articles (similarity.article_work_matches).",
        notes=_later_state_note(facts),
    )  # fmt: skip
    rows, works, cross, mean, on_date = con.execute(
        """
        SELECT count(*), count(DISTINCT work_id), count(*) FILTER (WHERE is_cross_domain), avg(score),
               count(*) FILTER (WHERE logical_date = ?)
        FROM similarity.work_neighbors
        """,
        [facts.logical_date],
    ).fetchone()
    if not rows:
        section.notes.append("No neighbours: the similar stage has not run, or found no work.")
        return section
    low, high = con.execute("SELECT min(score), max(score) FROM similarity.work_neighbors").fetchone()
    width = (high - low) / NEIGHBOUR_BINS if high > low else 1.0
    counts = {False: [0] * NEIGHBOUR_BINS, True: [0] * NEIGHBOUR_BINS}
    for number, cross_domain, count in _rows(
        con,
        """
        SELECT least(floor((score - ?) / ?), ? - 1)::INTEGER, coalesce(is_cross_domain, false), count(*)
        FROM similarity.work_neighbors GROUP BY ALL
        """,
        [low, width, NEIGHBOUR_BINS],
    ):
        counts[cross_domain][number] = count
    section.charts.append(
        charts.histogram(
            "neighbour-scores", "Neighbour scores", low, width,
            {"same domain": (counts[False], charts.SAME_DOMAIN), "music ↔ video": (counts[True], charts.CROSS_DOMAIN)},
            "score",
        )  # fmt: skip
    )
    (article_matches,) = con.execute("SELECT count(*) FROM similarity.article_work_matches").fetchone()
    section.tables.append(
        Table(
            ["neighbour rows", "works with neighbours", "music ↔ video rows", "mean score", f"computed on {facts.logical_date}",
             "article → work matches"],
            [(rows, works, cross, f"{mean:.3f}", on_date, article_matches)],
        )  # fmt: skip
    )
    if _exists(con, "marts.dim_work"):
        closest = _rows(
            con,
            """
            SELECT w.title, n.title, round(s.score, 3), CASE WHEN s.is_cross_domain THEN 'yes' ELSE 'no' END
            FROM similarity.work_neighbors s
            JOIN marts.dim_work w ON w.work_id = s.work_id
            JOIN marts.dim_work n ON n.work_id = s.neighbor_work_id
            WHERE s.rank = 1 ORDER BY s.score DESC, w.title LIMIT 10
            """,
        )
        section.tables.append(Table(["work", "nearest work", "score", "music ↔ video"], closest, "closest pairs"))
    return section


def ads_section(con: duckdb.DuckDBPyConnection, facts: RunFacts) -> Section:
    section = Section(
        "ads", "Ad matches", "Ad creatives matched to articles by context (similarity.ad_matches), and each "
        "article's brand-safety level (similarity.article_brand_safety).",
        notes=_later_state_note(facts),
    )  # fmt: skip
    advertisers = _rows(
        con,
        """
        SELECT advertiser_id, count(*) AS matches, count(DISTINCT article_id) AS articles,
               count(DISTINCT creative_id) AS creatives, round(avg(score), 3) AS mean_score
        FROM similarity.ad_matches GROUP BY advertiser_id ORDER BY matches DESC, advertiser_id
        """,
    )
    levels = _rows(
        con,
        """
        SELECT level, count(*) FROM similarity.article_brand_safety GROUP BY level
        ORDER BY array_position(['low', 'medium', 'high', 'floor'], level), level
        """,
    )
    if not advertisers and not levels:
        section.notes.append("No ad matches: the ads stage has not run, or no creative is in flight.")
        return section
    level_colours = {"low": charts.PASSED, "medium": "#fdd835", "high": charts.UPDATE, "floor": charts.FAILED}
    panels = []
    if advertisers:
        panels.append(("Matches per advertiser", [a[0] for a in advertisers], [a[1] for a in advertisers],
                       [charts.ADD] * len(advertisers), "article → creative matches"))  # fmt: skip
    if levels:
        panels.append(("Articles per brand-safety level", [lv[0] for lv in levels], [lv[1] for lv in levels],
                       [level_colours.get(lv[0], charts.OTHER) for lv in levels], "articles"))  # fmt: skip
    section.charts.append(charts.bar_panels("ad-matches", panels))
    section.tables.append(Table(["advertiser", "matches", "articles", "creatives", "mean score"], advertisers))
    if _exists(con, "marts.dim_article") and _exists(con, "marts.dim_ad_creative"):
        best = _rows(
            con,
            """
            SELECT a.title, c.headline, round(m.score, 3), m.brand_safety_level, m.explanation
            FROM similarity.ad_matches m
            JOIN marts.dim_article a USING (article_id)
            JOIN marts.dim_ad_creative c USING (creative_id)
            WHERE m.rank = 1 ORDER BY m.score DESC, a.title LIMIT 10
            """,
        )
        section.tables.append(Table(["article", "creative", "score", "brand safety", "why"], best, "best match per article"))
    return section


def _ops(value: str | None) -> dict[str, int]:
    try:
        parsed = json.loads(value) if value else {}
    except ValueError:
        return {}
    return {k: int(v) for k, v in parsed.items() if k in ("add", "update", "delete")} if isinstance(parsed, dict) else {}


def feeds_section(con: duckdb.DuckDBPyConnection, facts: RunFacts) -> Section:
    rows = _rows(
        con,
        """
        WITH latest AS (
            SELECT * FROM exports.delivery_ledger WHERE logical_date = ?
            QUALIFY row_number() OVER (PARTITION BY partner_id, feed ORDER BY delivered_at DESC) = 1
        ),
        withheld AS (
            SELECT partner_id, feed, count(*) AS rows FROM exports.withheld_rows WHERE logical_date = ? GROUP BY ALL
        ),
        audited AS (
            SELECT partner_id, feed, count(*) AS rows FROM exports.rights_audit WHERE logical_date = ? GROUP BY ALL
        )
        SELECT l.partner_id, l.feed, l.status, coalesce(l.delivery_type, ''), l.sequence, l.row_count, l.ops,
               coalesce(w.rows, 0), coalesce(a.rows, 0), coalesce(l.reason, '')
        FROM latest l
        LEFT JOIN withheld w USING (partner_id, feed)
        LEFT JOIN audited a USING (partner_id, feed)
        ORDER BY l.partner_id, l.feed
        """,
        [facts.logical_date] * 3,
    )
    section = Section(
        "feeds", "Feed deltas per partner", "What each partner's delivery of this date carried (exports.delivery_ledger: "
        "adds, updates and deletes of a delta, or the rows of a full file), the rows withheld from it "
        "(exports.withheld_rows) and the licence windows recorded for it (exports.rights_audit).",
    )  # fmt: skip
    if not rows:
        section.notes.append("No delivery was recorded for this date (the export stage did not run).")
        return section
    deltas = [(r, _ops(r[6])) for r in rows]
    labels = [f"{r[0]} / {r[1]}" for r in rows]
    section.charts.append(
        charts.stacked_bars(
            "feed-deltas", f"Feed rows per partner — {facts.logical_date}", labels,
            {"add": ([ops.get("add", 0) for _, ops in deltas], charts.ADD),
             "update": ([ops.get("update", 0) for _, ops in deltas], charts.UPDATE),
             "delete": ([ops.get("delete", 0) for _, ops in deltas], charts.DELETE),
             "rows (no op per row)": ([0 if ops else r[5] for r, ops in deltas], charts.FULL),
             "withheld": ([r[7] for r, _ in deltas], charts.QUARANTINED)},
            "rows",
        )  # fmt: skip
    )
    section.tables.append(
        Table(
            ["partner", "feed", "status", "type", "sequence", "rows", "add", "update", "delete", "withheld", "rights audit",
             "reason"],
            [(r[0], r[1], r[2], r[3], "" if r[4] is None else r[4], r[5], ops.get("add", ""), ops.get("update", ""),
              ops.get("delete", ""), r[7], r[8], r[9]) for r, ops in deltas],
        )  # fmt: skip
    )
    return section


def timings_section(con: duckdb.DuckDBPyConnection, facts: RunFacts) -> Section:
    rows = _rows(
        con,
        """
        SELECT stage, status, started_at, finished_at, epoch(finished_at - started_at) AS seconds,
               json_extract_string(summary, '$.error') AS error
        FROM ops.stage_runs WHERE logical_date = ? ORDER BY started_at
        """,
        [facts.logical_date],
    )
    section = Section(
        "timings", "Stage timings", "Each stage attempt for this date (ops.stage_runs): when it started, how long "
        "it took and how it ended.",
    )  # fmt: skip
    now = datetime.now(UTC)
    section.charts.append(
        charts.timeline("stage-timings", f"Stages — {facts.logical_date}", [(r[0], r[2], r[3], r[1]) for r in rows], now)
    )
    section.tables.append(
        Table(
            ["stage", "status", "started (UTC)", "finished (UTC)", "seconds", "error"],
            [(stage, status, started.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
              finished.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if finished else "",
              "" if seconds is None else f"{seconds:.1f}", error or "")
             for stage, status, started, finished, seconds, error in rows],
        )  # fmt: skip
    )
    return section
