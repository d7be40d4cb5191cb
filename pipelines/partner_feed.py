"""What a partner receives on a delivery date: the rows of `marts.partner_feed_works` its contract allows.

The quality gate (`pipelines.check`) validates this and the export (`pipelines.export`) writes this, so the
rows checked are the rows delivered. A work is in a partner's feed when it is of a kind the contract takes and
holds a licence window of the contract (territory, commercial model, use type) in force on the delivery date
(bounds inclusive). Its `licence_windows` are those windows, one per territory × model × use type, so a
partner sees that JP ends earlier than KR.

The feed model keeps a Worldwide window as one entry (`territory` 'Worldwide' and its `excluded_territories`);
it is expanded here, at delivery, to the contract's territories it covers: a contract territory T is covered
by a window whose territory is T, or 'Worldwide' when T is a known country (`pipelines.territories`) the
window does not exclude. So a partner receives per-territory windows, and only for its own territories.

A row that breaks the contract is withheld from that partner, with its reason, and the rest is delivered: a
required field missing, a licence window of the contract that ends before it starts, a window in a territory
that does not exist, a malformed identifier. Only feed-level faults block a whole feed (see `pipelines.check`).

Memory: the contract is applied in DuckDB SQL (`PartnerFeed.delivered_sql`, `PartnerFeed.withheld_sql`), so
the catalog is never held in Python; `PartnerFeed.batches` streams the delivered rows in work_id order, at
most `batch_rows` rows at a time. What DuckDB needs for the sort and the similar-works join stays within the
connection's `memory_limit` (spilling to its temporary directory beyond it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from pipelines.registry import PartnerContract
from pipelines.territories import WORLDWIDE, country_codes

FEED_MODEL = "marts.partner_feed_works"

WORKS_FEED_COLUMNS = [
    "work_id", "kind", "title", "title_ja", "title_en", "title_latn", "display_artist", "genres",
    "summary", "duration_seconds", "release_date", "isrc", "icpn", "grid", "provider_asset_id",
    "rights_holder_id", "territories", "licence_windows", "kansei_tags", "similar_works",
]  # fmt: skip

# identifiers a partner keys on: a malformed one withholds the row (RE2 patterns, anchored)
WELL_FORMED = {
    "work_id": r"^w_[0-9a-f]{20}$",
    "isrc": r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$",
    "icpn": r"^[0-9]{12,14}$",
}

# feed columns computed per contract from the windows in force (lists)
_CUT_COLUMNS = {"territories", "licence_windows"}


def sql_literal(value: str | date) -> str:
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join(sql_literal(v) for v in values) + "]::VARCHAR[]"


def _allows(allowed: list[str], expression: str) -> str:
    """A contract dimension left empty does not restrict."""
    return f"list_contains({_sql_list(allowed)}, {expression})" if allowed else "true"


def _python_repr(expression: str) -> str:
    """SQL for Python's repr() of a string (what the reasons always said: 'XX', "x'y")."""
    escaped = f"replace(replace(replace(replace({expression}, '\\', '\\\\'), chr(10), '\\n'), chr(13), '\\r'), chr(9), '\\t')"
    return (
        f"CASE WHEN contains({expression}, '''') AND NOT contains({expression}, '\"') THEN '\"' || {escaped} || '\"' "
        f"ELSE '''' || replace({escaped}, '''', '\\''') || '''' END"
    )


def _describe(w: str) -> str:
    return (
        f"{w}.territory || ' ' || {w}.commercial_model || '/' || {w}.use_type || ' ' || "
        f"coalesce(CAST({w}.window_start AS VARCHAR), 'None') || '..' || coalesce(CAST({w}.window_end AS VARCHAR), 'open-ended')"
    )


def _is_missing(column: str, column_type: str) -> str:
    """None, or an empty text, list or map."""
    if column_type.endswith("]") or column_type.startswith("MAP"):
        return f"({column} IS NULL OR len({column}) = 0)"
    if column_type == "VARCHAR":
        return f"({column} IS NULL OR {column} = '')"
    return f"({column} IS NULL)"


def _reasons_sql(contract: PartnerContract, types: dict[str, str]) -> str:
    """Why a row breaks the contract, in the order they were always listed: inverted windows, unknown
    territories, missing required fields (only for a row with a window in force), malformed identifiers."""
    # territories and licence_windows are cut from the windows in force: never empty where this applies
    required = [
        f"CASE WHEN {_is_missing(name, types.get(name, ''))} THEN 'required field {name} is missing' END"
        for name in contract.required_fields
        if name in WORKS_FEED_COLUMNS and name not in _CUT_COLUMNS
    ]
    malformed = [
        f"CASE WHEN {name} IS NOT NULL AND NOT regexp_matches({name}, {sql_literal(pattern)}) "
        f"THEN '{name} ' || {_python_repr(name)} || ' is malformed' END"
        for name, pattern in WELL_FORMED.items()
    ]
    empty = "[]::VARCHAR[]"
    required_sql = empty
    if required:
        required_sql = f"CASE WHEN len(windows_in_force) > 0 THEN list_filter([{', '.join(required)}], r -> r IS NOT NULL) ELSE {empty} END"
    return (
        f"list_transform(inverted_windows, w -> 'licence window ' || {_describe('w')} || ' ends before it starts')"
        f" || list_transform(list_filter(usable_windows, w -> NOT coalesce(w.is_known_territory, false)),"
        f" w -> 'licence window in unknown territory ' || {_python_repr('w.territory')} || ' (' || {_describe('w')} || ')')"
        f" || {required_sql}"
        f" || list_filter([{', '.join(malformed)}], r -> r IS NOT NULL)"
    )


@dataclass(frozen=True)
class PartnerFeed:
    """One partner's works feed for one delivery date, as SQL over the feed model (nothing is read until asked)."""

    contract: PartnerContract
    delivery_date: date
    judged_sql: str | None  # every licensed work of the contract with its `reasons` (None: not a works feed)

    @property
    def delivered_sql(self) -> str:
        """The rows to deliver, in `WORKS_FEED_COLUMNS` order and work_id order; similar works are the nearest
        ones (rank ≤ the contract's `neighbors`) this partner also receives today."""
        if self.judged_sql is None:
            return "SELECT " + ", ".join(f"NULL AS {name}" for name in WORKS_FEED_COLUMNS) + " WHERE false"
        selected = ", ".join(
            "coalesce(kept.similar_works, []) AS similar_works" if name == "similar_works" else f"delivered.{name}"
            for name in WORKS_FEED_COLUMNS
        )
        return f"""
            WITH judged AS ({self.judged_sql}),
            delivered AS (
                SELECT *,
                    list_transform(windows_in_force, w -> {{
                        'territory': w.territory, 'commercial_model': w.commercial_model, 'use_type': w.use_type,
                        'start': w.window_start, 'end': w.window_end
                    }}) AS licence_windows,
                    list_sort(list_distinct(list_transform(windows_in_force, w -> w.territory))) AS territories
                FROM judged WHERE len(reasons) = 0
            ),
            delivered_ids AS (SELECT work_id FROM delivered),
            neighbour_links AS (
                SELECT work_id, neighbour, position
                FROM (
                    SELECT work_id, unnest(similar_works) AS neighbour, generate_subscripts(similar_works, 1) AS position
                    FROM delivered
                )
                WHERE neighbour.rank <= {int(self.contract.neighbors)}
            ),
            kept AS (
                SELECT links.work_id,
                       list({{'work_id': links.neighbour.work_id, 'score': links.neighbour.score}} ORDER BY links.position) AS similar_works
                FROM neighbour_links links
                SEMI JOIN delivered_ids ON links.neighbour.work_id = delivered_ids.work_id
                GROUP BY links.work_id
            )
            SELECT {selected}
            FROM delivered LEFT JOIN kept USING (work_id)
            ORDER BY delivered.work_id
        """

    @property
    def withheld_sql(self) -> str:
        """The rows withheld from this partner: work_id and reason (the reasons joined by '; ')."""
        if self.judged_sql is None:
            return "SELECT NULL::VARCHAR AS work_id, NULL::VARCHAR AS reason WHERE false"
        return f"""
            WITH judged AS ({self.judged_sql})
            SELECT work_id, array_to_string(reasons, '; ') AS reason FROM judged WHERE len(reasons) > 0 ORDER BY work_id
        """

    def materialised(self, con, table: str) -> PartnerFeed:
        """The same feed with the contract applied once, into a temporary table (only the licensed works, with
        their windows in force: DuckDB spills it beyond its memory_limit), so that the delivered rows and the
        withheld ones do not each read the model again."""
        if self.judged_sql is None:
            return self
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {self.judged_sql}")
        return replace(self, judged_sql=f"SELECT * FROM {table}")

    def batches(self, con, batch_rows: int) -> Iterator[list[dict[str, Any]]]:
        """The delivered rows as dicts, at most `batch_rows` at a time (DuckDB streams the result)."""
        cursor = con.execute(self.delivered_sql)
        names = [d[0] for d in cursor.description]
        while rows := cursor.fetchmany(batch_rows):
            yield [dict(zip(names, values, strict=True)) for values in rows]

    def withheld_count(self, con) -> int:
        return con.execute(f"SELECT count(*) FROM ({self.withheld_sql})").fetchone()[0]


def _contract_windows(contract: PartnerContract) -> str:
    """SQL: the usable windows per contract territory they cover, sorted as the feed model lists windows
    (territory, model, use, start, end; open bounds last). A Worldwide window covers each known country of the
    contract it does not exclude; any other window its own territory."""
    territories = sorted(set(contract.territories) - {WORLDWIDE})
    known = set(country_codes())
    countries = [t for t in territories if t in known]
    covered = (
        f"CASE WHEN w.territory = {sql_literal(WORLDWIDE)} "
        f"THEN list_filter({_sql_list(countries)}, t -> NOT list_contains(w.excluded_territories, t)) "
        f"WHEN list_contains({_sql_list(territories)}, w.territory) THEN [w.territory] "
        f"ELSE []::VARCHAR[] END"
    )
    window = "{'territory': t, 'commercial_model': w.commercial_model, 'use_type': w.use_type, 'window_start': w.window_start, 'window_end': w.window_end}"
    return f"list_sort(flatten(list_transform(usable_windows, w -> list_transform({covered}, t -> {window}))))"


def _judged_sql(contract: PartnerContract, on: date, source: str, types: dict[str, str]) -> str:
    inverted = "(w.window_start IS NOT NULL AND w.window_end IS NOT NULL AND w.window_end < w.window_start)"
    day = sql_literal(on)
    kinds = f"WHERE {_allows(contract.work_kinds, 'kind')}"
    return f"""
        WITH contracted AS (
            SELECT *,
                list_filter(licence_windows, w -> {_allows(contract.commercial_models, 'w.commercial_model')}
                                                  AND {_allows(contract.use_types, 'w.use_type')}) AS usable_windows
            FROM {source} {kinds}
        ),
        in_territory AS (
            SELECT *, {_contract_windows(contract)} AS contract_windows
            FROM contracted
        ),
        dated AS (
            SELECT *,
                list_filter(contract_windows, w -> {inverted}) AS inverted_windows,
                list_filter(contract_windows, w -> NOT {inverted}
                    AND (w.window_start IS NULL OR w.window_start <= {day})
                    AND (w.window_end IS NULL OR w.window_end >= {day})) AS windows_in_force
            FROM in_territory
        )
        SELECT * EXCLUDE (licence_windows, usable_windows, contract_windows, inverted_windows),
            {_reasons_sql(contract, types)} AS reasons
        FROM dated
        WHERE len(windows_in_force) > 0 OR len(inverted_windows) > 0
    """


def partner_feed(con, contract: PartnerContract, on: date, source: str = FEED_MODEL) -> PartnerFeed:
    """The works feed of `contract` for delivery date `on` (rows to deliver, rows withheld with why), as SQL
    over `source` (the feed model; a test passes a table of the same shape)."""
    if contract.feed != "works":
        return PartnerFeed(contract, on, None)
    types = {name: column_type for name, column_type, *_ in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    return PartnerFeed(contract, on, _judged_sql(contract, on, source, types))
