"""What a partner receives: the rows of its feed for a delivery date, decided by its contract alone."""

from __future__ import annotations

from datetime import date
from typing import Any

from pipelines.registry import PartnerContract

WORKS_FEED_COLUMNS = [
    "work_id", "kind", "title", "title_ja", "title_en", "title_latn", "display_artist", "genres",
    "summary", "duration_seconds", "release_date", "isrc", "icpn", "grid", "provider_asset_id",
    "rights_holder_id", "territories", "window_start", "window_end", "kansei_tags", "similar_works",
]  # fmt: skip


def _in_list(column: str, values: list[str], params: list) -> str:
    """`column IN (?, ...)` or TRUE when the contract does not restrict that dimension."""
    if not values:
        return "TRUE"
    params.extend(values)
    return f"{column} IN ({', '.join('?' for _ in values)})"


def works_feed_rows(con, contract: PartnerContract, on: date) -> list[dict[str, Any]]:
    """Works licensed to the partner on `on` (a territory of the contract, an allowed commercial model and
    use type, a window containing the day, not withdrawn by a takedown or purge), with kansei tags and licensed
    similar works."""
    params: list = []
    filters = " AND ".join(
        [
            _in_list("territory", contract.territories, params),
            _in_list("commercial_model", contract.commercial_models, params),
            _in_list("use_type", contract.use_types, params),
        ]
    )
    kinds = _in_list("w.kind", contract.work_kinds, params_kinds := [])
    sql = f"""
        WITH licensed AS (
            SELECT work_id,
                   list(DISTINCT territory ORDER BY territory) AS territories,
                   min(window_start) AS window_start,
                   CASE WHEN bool_or(window_end IS NULL) THEN NULL ELSE max(window_end) END AS window_end
            FROM marts.fct_licence_window
            WHERE {filters}
              AND window_start <= ? AND (window_end IS NULL OR window_end >= ?)
              AND status = 'active'
            GROUP BY work_id
        ),
        shown AS (
            SELECT w.* , l.territories, l.window_start, l.window_end
            FROM marts.dim_work w JOIN licensed l USING (work_id)
            WHERE {kinds}
        ),
        tags AS (
            SELECT work_id, list({{'tag_id': tag_id, 'score': score}} ORDER BY score DESC, tag_id) AS kansei_tags
            FROM kansei.work_tags WHERE work_id IN (SELECT work_id FROM shown) GROUP BY work_id
        ),
        neighbours AS (
            SELECT n.work_id,
                   list({{'work_id': n.neighbor_work_id, 'score': n.score}} ORDER BY n.rank) AS similar_works
            FROM similarity.work_neighbors n
            WHERE n.work_id IN (SELECT work_id FROM shown) AND n.neighbor_work_id IN (SELECT work_id FROM shown)
              AND n.rank <= ?
            GROUP BY n.work_id
        )
        SELECT {", ".join(f"s.{c}" for c in WORKS_FEED_COLUMNS[:-2])},
               coalesce(t.kansei_tags, []) AS kansei_tags,
               coalesce(n.similar_works, []) AS similar_works
        FROM shown s LEFT JOIN tags t USING (work_id) LEFT JOIN neighbours n USING (work_id)
        ORDER BY s.work_id
    """
    cursor = con.execute(sql, [*params, on, on, *params_kinds, contract.neighbors])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def feed_frame(con, contract: PartnerContract, on: date):
    """The feed as a pandas frame (for the quality gate), with every feed column even when empty."""
    import pandas as pd

    return pd.DataFrame(works_feed_rows(con, contract, on), columns=WORKS_FEED_COLUMNS)
