"""The ad-match feed: what an ad-platform partner (`feed: ad_matches`) receives for a logical date.

One JSON object per article × creative of `similarity.ad_matches` computed for that date (read in article_id
then rank order, delivered in key order), with the article's URL and publisher so that the platform can key its
placements; never a user.
Delivered like a works feed (`pipelines.export`): `<partner>/ad_matches/<date>/ad_matches.jsonl`, then the
manifest; a full snapshot first, then deltas keyed by (article_id, creative_id): a match that disappeared is a
`delete`. Memory: `batch_rows` rows in Python, streamed from DuckDB.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

from pipelines.partner_feed import sql_literal

FEED_FILE = "ad_matches.jsonl"

AD_MATCH_FEED_COLUMNS = [
    "article_id", "article_url", "publisher_id", "creative_id", "advertiser_id", "campaign_id", "rank", "score",
    "matched_tags", "iab_category", "iab_category_name", "brand_safety_level", "explanation",
]  # fmt: skip


def ad_match_feed_sql(logical_date: date, with_article: bool = True) -> str:
    """The rows of the feed for that logical date (with_article=False when marts.dim_article is not built)."""
    article = (
        "a.url AS article_url, a.publisher_id"
        if with_article
        else "NULL::VARCHAR AS article_url, NULL::VARCHAR AS publisher_id"
    )
    join = "LEFT JOIN marts.dim_article a USING (article_id)" if with_article else ""
    return f"""
        SELECT m.article_id, {article}, m.creative_id, m.advertiser_id, m.campaign_id, m.rank, m.score,
               m.matched_tags, m.iab_category, m.iab_category_name, m.brand_safety_level, m.explanation
        FROM similarity.ad_matches m {join}
        WHERE m.logical_date = {sql_literal(logical_date)}
        ORDER BY m.article_id, m.rank
    """


def feed_sql(con, logical_date: date) -> str:
    built = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' AND table_name = 'dim_article'"
    ).fetchone()[0]
    return ad_match_feed_sql(logical_date, with_article=bool(built))


def ad_match_batches(con, logical_date: date, batch_rows: int) -> Iterator[list[dict]]:
    """The feed's rows as dicts (`AD_MATCH_FEED_COLUMNS`), at most `batch_rows` at a time."""
    cursor = con.execute(feed_sql(con, logical_date))
    names = [d[0] for d in cursor.description]
    while batch := cursor.fetchmany(batch_rows):
        yield [dict(zip(names, values, strict=True)) for values in batch]


def ad_match_rows(con, logical_date: date, batch_rows: int) -> Iterator[list[tuple[str, str]]]:
    """The feed's rows as (key, JSON text as delivered) for the export's delta plan
    (`pipelines.export.deltas.plan_operations`, keyed by article and creative)."""
    from pipelines.export.deltas import AD_MATCH_KEY

    for batch in ad_match_batches(con, logical_date, batch_rows):
        yield [
            (AD_MATCH_KEY.of(row), json.dumps(row, ensure_ascii=False, default=str, separators=(",", ":")))
            for row in batch
        ]


def feed_model_version(con, logical_date: date) -> str:
    found = con.execute(
        "SELECT DISTINCT model_version FROM similarity.ad_matches WHERE logical_date = ? ORDER BY 1", [logical_date]
    ).fetchall()
    return ", ".join(v for (v,) in found) or "none"
