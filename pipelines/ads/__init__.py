"""Contextual ads: IAB categories and brand safety per article, and the creatives matched to it.

Every night, after `tag` and `similar` (stage `ads`):
1. articles whose text is new or changed are embedded (multilingual USE), classified into IAB Content
   Taxonomy 3.1 categories and given a brand-safety level → `similarity.article_ad_vectors`,
   `similarity.article_iab`, `similarity.article_brand_safety` (the others keep their rows);
2. every article is matched to the creatives of `marts.dim_ad_creative` in flight on the logical date
   (Asia/Tokyo days, bounds included) → `similarity.ad_matches`, replaced whole for the night.
No user id, cookie or history exists anywhere here: the match reads the article and the creative only.

Memory: one block of `article_block_rows` articles (their texts, 512-d vectors and block x creatives
scores) plus the creatives in flight as matrices (see `pipelines.ads.matching`); the catalog-wide joins run
in DuckDB under DUCKDB_MEMORY_LIMIT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from pipelines.ads.classify import ArticleClassifier, ArticleContext, CategoryScore
from pipelines.ads.config import AdsConfig, load_ads_config
from pipelines.ads.embedding import embed_texts, model_name
from pipelines.ads.iab import IabTaxonomy
from pipelines.ads.matching import AdMatch, Creative, CreativeSet
from pipelines.settings import MsdbSettings
from pipelines.warehouse import ArrowStream, writer

DUCKDB_MEMORY_LIMIT = "512MB"
CONTEXT_TABLES = ("similarity.article_ad_vectors", "similarity.article_iab", "similarity.article_brand_safety")

ARTICLE_TEXTS = """
SELECT article_id, title, body, sha256(coalesce(title, '') || chr(31) || coalesce(body, '')) AS text_sha256
FROM marts.dim_article
"""
# before dbt has built marts.dim_article: no article
NO_ARTICLES = "SELECT NULL::VARCHAR AS article_id, NULL::VARCHAR AS title, NULL::VARCHAR AS body, NULL::VARCHAR AS text_sha256 WHERE false"


@dataclass
class AdsSummary:
    articles: int
    articles_classified: int  # new or changed texts classified tonight; the others kept their rows
    creatives_in_flight: int
    matches: int
    articles_matched: int
    articles_by_level: dict[str, int]
    model_version: str
    full_refresh: bool = False


def ads_model_version(config: AdsConfig, taxonomy: IabTaxonomy) -> str:
    return f"{model_name()}/iab@{taxonomy.version}/ads@{config.version}"


def _exists(con, table: str) -> bool:
    schema, name = table.split(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
        ).fetchone()[0]
    )


def _insert(con, table: str, frame) -> None:
    stream = ArrowStream(frame)  # noqa: F841 (read by DuckDB)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM stream")


def _write_contexts(con, rows: list[tuple], vectors: np.ndarray, contexts: list[ArticleContext], classifier, version, day):
    import polars as pl

    taxonomy = classifier.taxonomy
    ids = [r[0] for r in rows]
    con.begin()
    for table in CONTEXT_TABLES:
        con.execute(f"DELETE FROM {table} WHERE list_contains(?, article_id)", [ids])
    _insert(
        con,
        "similarity.article_ad_vectors",
        pl.DataFrame(
            {
                "article_id": ids,
                "text_sha256": [r[3] for r in rows],
                "model_version": [version] * len(ids),
                "embedding": pl.Series(vectors).cast(pl.List(pl.Float32)),
                "logical_date": [day] * len(ids),
            }
        ),
    )
    iab_rows = [
        {
            "article_id": article_id,
            "iab_id": c.iab_id,
            "iab_name": taxonomy.categories[c.iab_id].name,
            "iab_path": taxonomy.categories[c.iab_id].path_text,
            "rank": rank,
            "score": c.score,
            "source": c.source,
            "model_version": version,
            "logical_date": day,
        }
        for article_id, context in zip(ids, contexts, strict=True)
        for rank, c in enumerate(context.categories, start=1)
    ]
    if iab_rows:
        _insert(con, "similarity.article_iab", pl.DataFrame(iab_rows))
    _insert(
        con,
        "similarity.article_brand_safety",
        pl.DataFrame(
            {
                "article_id": ids,
                "level": [c.level for c in contexts],
                "reasons": pl.Series([c.reasons for c in contexts], dtype=pl.List(pl.String)),
                "model_version": [version] * len(ids),
                "logical_date": [day] * len(ids),
            }
        ),
    )
    con.commit()


def creatives_in_flight(con, day: date) -> list[Creative]:
    if not _exists(con, "marts.dim_ad_creative"):
        return []
    rows = con.execute(
        """
        SELECT creative_id, advertiser_id, campaign_id, headline, body, target_kansei_tags, iab_categories,
               excluded_categories, excluded_risk_levels, flight_start, flight_end
        FROM marts.dim_ad_creative WHERE flight_start <= ? AND ? <= flight_end ORDER BY creative_id
        """,
        [day, day],
    ).fetchall()
    return [
        Creative(r[0], r[1], r[2], r[3], r[4], tuple(r[5] or ()), tuple(r[6] or ()), tuple(r[7] or ()), tuple(r[8] or ()), r[9], r[10])
        for r in rows
    ]


def creative_set(creatives: list[Creative], config: AdsConfig, taxonomy: IabTaxonomy) -> CreativeSet:
    vectors = embed_texts([c.text for c in creatives], config.embedding.batch_size)
    return CreativeSet(creatives, vectors, taxonomy, config.matching)


def _match_rows(matches: list[AdMatch], version: str, day: date) -> list[dict]:
    return [
        {
            "article_id": m.article_id,
            "creative_id": m.creative_id,
            "advertiser_id": m.advertiser_id,
            "campaign_id": m.campaign_id,
            "rank": m.rank,
            "score": m.score,
            "matched_tags": m.matched_tags,
            "iab_category": m.iab_category,
            "iab_category_name": m.iab_category_name,
            "brand_safety_level": m.brand_safety_level,
            "explanation": m.explanation,
            "model_version": version,
            "logical_date": day,
        }
        for m in matches
    ]


def _match_articles(con, creatives: CreativeSet, block_rows: int, version: str, day: date) -> int:
    """Every article with a context, `block_rows` at a time (by article_id), against the creatives."""
    import polars as pl

    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE ads_articles AS
        SELECT row_number() OVER (ORDER BY article_id) AS block_row, article_id FROM similarity.article_ad_vectors
        """
    )
    total = con.execute("SELECT count(*) FROM ads_articles").fetchone()[0]
    written = 0
    schema = {"matched_tags": pl.List(pl.String), "iab_category": pl.String, "iab_category_name": pl.String}
    for start in range(0, total, block_rows):
        rows = con.execute(
            """
            SELECT a.article_id, v.embedding, b.level,
                   (SELECT list({'iab_id': i.iab_id, 'score': i.score, 'source': i.source} ORDER BY i.rank)
                    FROM similarity.article_iab i WHERE i.article_id = a.article_id) AS categories,
                   (SELECT list({'tag_id': t.tag_id, 'score': t.score} ORDER BY t.tag_id)
                    FROM kansei.article_tags t WHERE t.article_id = a.article_id) AS tags
            FROM ads_articles a
            JOIN similarity.article_ad_vectors v USING (article_id)
            JOIN similarity.article_brand_safety b USING (article_id)
            WHERE a.block_row > ? AND a.block_row <= ?
            ORDER BY a.block_row
            """,
            [start, start + block_rows],
        ).fetchall()
        ids = [r[0] for r in rows]
        vectors = np.asarray([r[1] for r in rows], dtype=np.float32)
        contexts = [
            ArticleContext([CategoryScore(c["iab_id"], c["score"], c["source"]) for c in (r[3] or [])], r[2]) for r in rows
        ]
        kansei = [{t["tag_id"]: t["score"] for t in (r[4] or [])} for r in rows]
        matches = creatives.match(ids, vectors, contexts, kansei)
        if matches:
            _insert(con, "similarity.ad_matches", pl.DataFrame(_match_rows(matches, version, day), schema_overrides=schema))
        written += len(matches)
    con.execute("DROP TABLE IF EXISTS ads_articles")
    return written


def run_ads(settings: MsdbSettings, logical_date: date, full_refresh: bool = False) -> AdsSummary:
    """Classify what changed, then match every article to the creatives in flight on `logical_date`."""
    config = load_ads_config(settings.models_dir)
    taxonomy = config.taxonomy(settings.iab_taxonomy)
    version = ads_model_version(config, taxonomy)
    block_rows = config.matching.article_block_rows
    with writer(settings.warehouse) as con:
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        con.begin()
        for table in CONTEXT_TABLES:
            con.execute(f"DELETE FROM {table} WHERE ? OR model_version <> ?", [full_refresh, version])
        con.commit()
        texts = ARTICLE_TEXTS if _exists(con, "marts.dim_article") else NO_ARTICLES
        con.execute(f"CREATE OR REPLACE TEMP TABLE ads_texts AS {texts}")
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE ads_stale AS
            SELECT row_number() OVER (ORDER BY t.article_id) AS block_row, t.*
            FROM ads_texts t
            WHERE NOT EXISTS (SELECT 1 FROM similarity.article_ad_vectors v
                              WHERE v.article_id = t.article_id AND v.text_sha256 = t.text_sha256)
            """
        )
        stale = con.execute("SELECT count(*) FROM ads_stale").fetchone()[0]
        classifier = None
        for start in range(0, stale, block_rows):
            rows = con.execute(
                "SELECT article_id, title, body, text_sha256 FROM ads_stale WHERE block_row > ? AND block_row <= ? ORDER BY block_row",
                [start, start + block_rows],
            ).fetchall()
            classifier = classifier or ArticleClassifier(config, taxonomy)
            titles, bodies = [r[1] for r in rows], [r[2] for r in rows]
            vectors = classifier.embed(titles, bodies)
            _write_contexts(con, rows, vectors, classifier.classify(vectors, titles, bodies), classifier, version, logical_date)
        con.begin()
        for table in CONTEXT_TABLES:  # articles gone from the catalog
            con.execute(f"DELETE FROM {table} WHERE article_id NOT IN (SELECT article_id FROM ads_texts)")
        con.commit()

        creatives = creative_set(creatives_in_flight(con, logical_date), config, taxonomy)
        con.begin()
        con.execute("DELETE FROM similarity.ad_matches")
        matches = _match_articles(con, creatives, block_rows, version, logical_date)
        con.commit()
        articles = con.execute("SELECT count(*) FROM ads_texts").fetchone()[0]
        matched = con.execute("SELECT count(DISTINCT article_id) FROM similarity.ad_matches").fetchone()[0]
        levels = dict(con.execute("SELECT level, count(*) FROM similarity.article_brand_safety GROUP BY level ORDER BY level").fetchall())
        for name in ("ads_texts", "ads_stale"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return AdsSummary(articles, stale, len(creatives), matches, matched, levels, version, full_refresh)
