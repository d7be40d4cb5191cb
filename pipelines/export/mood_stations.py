"""The mood-station feed for music partners: per kansei mood or scene, the partner's strongest licensed tracks.

Like the mood corners of a music service's radio ("rainy night", "calm morning"): for each tag of the chosen
facets, the top `top_n` licensed recordings by the tag's weight on the work, ties broken by work id, so the
ranking is total and the same every night for the same tags. The licensed set is an input relation (the
partner's delivered works, e.g. `PartnerFeed.delivered_sql`), so a station never holds a work the partner is
not licensed for on the delivery date. Rows come out station by station in taxonomy order, then by rank.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pipelines.partner_feed import sql_literal

STATION_FACETS = ("mood", "scene")
TRACK_KINDS = ("recording",)


def _labels_sql(tags: Iterable[Any], facets: Iterable[str]) -> str:
    """The taxonomy's station tags as a relation (position keeps the taxonomy's order)."""
    wanted = set(facets)
    values = [
        f"({position}, {sql_literal(t.id)}, {sql_literal(t.facet)}, {sql_literal(t.label_en)}, {sql_literal(t.label_ja)})"
        for position, t in enumerate(tags)
        if t.facet in wanted
    ]
    if not values:
        return "SELECT NULL::INTEGER AS position, NULL AS tag_id, NULL AS facet, NULL AS label_en, NULL AS label_ja WHERE false"
    return (
        f"SELECT * FROM (VALUES {', '.join(values)}) AS labels(position, tag_id, facet, label_en, label_ja)"
    )


def mood_stations_sql(
    licensed_sql: str,
    tags: Iterable[Any],
    top_n: int = 50,
    facets: Iterable[str] = STATION_FACETS,
    kinds: Iterable[str] = TRACK_KINDS,
    work_tags: str = "kansei.work_tags",
) -> str:
    """SQL for the feed's rows (`feed_schema.MOOD_STATIONS` columns, in delivery order).

    `licensed_sql` yields the partner's licensed works: work_id, kind, isrc, title, title_ja, display_artist.
    `tags` are the taxonomy's tags (id, facet, label_en, label_ja). A work's weight for a tag is its score
    (the highest, where two signals both gave it)."""
    kind_list = "[" + ", ".join(sql_literal(k) for k in kinds) + "]::VARCHAR[]"
    return f"""
        WITH licensed AS (
            SELECT work_id, isrc, title, title_ja, display_artist
            FROM ({licensed_sql})
            WHERE list_contains({kind_list}, kind)
        ),
        labels AS ({_labels_sql(tags, facets)}),
        weights AS (
            SELECT work_id, tag_id, max(score) AS weight
            FROM {work_tags}
            WHERE tag_id IN (SELECT tag_id FROM labels)
            GROUP BY work_id, tag_id
        ),
        ranked AS (
            SELECT weights.*, row_number() OVER (PARTITION BY weights.tag_id ORDER BY weights.weight DESC, weights.work_id) AS rank
            FROM weights SEMI JOIN licensed USING (work_id)
        )
        SELECT labels.tag_id, labels.facet, labels.label_en, labels.label_ja, ranked.rank, ranked.work_id, ranked.weight,
               licensed.isrc, licensed.title, licensed.title_ja, licensed.display_artist
        FROM ranked
        JOIN labels USING (tag_id)
        JOIN licensed USING (work_id)
        WHERE ranked.rank <= {int(top_n)}
        ORDER BY labels.position, ranked.rank
    """


def station_batches(con, sql: str, batch_rows: int) -> Iterator[list[dict[str, Any]]]:
    """The feed's rows as dicts, at most `batch_rows` at a time (DuckDB streams the result)."""
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    while rows := cursor.fetchmany(batch_rows):
        yield [dict(zip(names, values, strict=True)) for values in rows]


def write_mood_stations(
    con, licensed_sql: str, tags: Iterable[Any], formats: Iterable[str], open_file, batch_rows: int, top_n: int = 50
) -> list:
    """A music partner's mood-station delivery: the stations over its licensed works (e.g. the works feed's
    `delivered_sql`) in each format named, then `mood_stations.schema.json`; returns the manifest's files."""
    from pipelines.export.feed_schema import MOOD_STATIONS
    from pipelines.export.formats import write_feed

    sql = mood_stations_sql(licensed_sql, tags, top_n=top_n)
    return write_feed(station_batches(con, sql, batch_rows), MOOD_STATIONS, formats, open_file)
