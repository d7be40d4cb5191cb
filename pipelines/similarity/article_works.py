"""Articles to works ("songs and titles for this article's mood"): similarity.article_work_matches.

For each article, the top `article_work_matches` works licensed on the logical date (an active window of
marts.fct_licence_window covering the date, the work not withdrawn), by the cosine of their kansei profiles,
each explained by the tags they share (a work sharing no tag with the article is never proposed). Kansei
profiles come from `kansei_profiles`: kansei.item_vectors once the tag stage writes it, else the tag scores
of kansei.work_tags / kansei.article_tags over the taxonomy's tags.

Ties are broken by work_id, so ranks are a total order. Rebuilt every night: it depends on the licences of
the day as much as on the tags.

Memory bound: the licensed works' and the articles' profiles (items x tags float32: 120 MB for a million works
at 30 tags) and one query_block_rows x candidate_block_rows score block (64 MB at the defaults).
"""

from __future__ import annotations

from datetime import date

import numpy as np

from pipelines.kansei.config import SimilaritySettings, Taxonomy
from pipelines.similarity.rescoring import cross_top_k
from pipelines.warehouse import ArrowStream


def has_table(con, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
        ).fetchone()[0]
    )


def kansei_profile_sql(con, kind: str, width: int) -> str:
    """A SELECT of (id, profile FLOAT[width], profile_text) for the items of `kind` ('work' or 'article') that
    have a kansei profile, over the taxonomy's tags given as the query parameter $tags. The one place the
    similarity stage reads kansei vectors: kansei.item_vectors (kind, item_id, vector) when that table exists,
    else the tag scores of kansei.work_tags / kansei.article_tags pivoted over $tags."""
    if has_table(con, "kansei", "item_vectors"):
        return f"""
            SELECT item_id AS id, vector::FLOAT[{width}] AS profile, vector::VARCHAR AS profile_text
            FROM kansei.item_vectors
            WHERE kind = '{kind}' AND len(vector) = {width} AND len($tags) = {width}
        """
    table, key = ("kansei.work_tags", "work_id") if kind == "work" else ("kansei.article_tags", "article_id")
    return f"""
        WITH tag_positions AS (SELECT unnest($tags) AS tag_id, generate_subscripts($tags, 1) AS position),
        scores AS (
            SELECT t.{key} AS id, t.tag_id, p.position, max(t.score)::FLOAT AS score
            FROM {table} t JOIN tag_positions p USING (tag_id) GROUP BY ALL
        ),
        profiles AS (
            SELECT id,
                   map_from_entries(list({{'k': position, 'v': score}})) AS scores,
                   string_agg(tag_id || '=' || score::VARCHAR, ',' ORDER BY tag_id) AS profile_text
            FROM scores GROUP BY id
        )
        SELECT id,
               list_transform(range(1, {width} + 1), j -> coalesce(map_extract_value(scores, j), 0::FLOAT))::FLOAT[{width}]
                   AS profile,
               profile_text
        FROM profiles
    """


def kansei_profiles(con, kind: str, ids_sql: str, tag_ids: list[str]):
    """(ids in id order, items x tags float32) for the items of `kind` that `ids_sql` selects (one column, the
    id) and that have a kansei profile (kansei_profile_sql)."""
    import polars as pl

    source = kansei_profile_sql(con, kind, len(tag_ids))
    found = pl.DataFrame(
        con.sql(f"SELECT s.id, s.profile FROM ({source}) s WHERE s.id IN ({ids_sql}) ORDER BY s.id", params={"tags": tag_ids})
    )
    if not len(found):
        return pl.Series("id", [], dtype=pl.String), np.zeros((0, len(tag_ids)), np.float32)
    return found["id"], found["profile"].to_numpy().astype(np.float32).reshape(len(found), len(tag_ids))


LICENSED_WORKS = """
    SELECT DISTINCT w.work_id FROM marts.fct_licence_window w
    WHERE w.status = 'active' AND NOT coalesce(w.is_withdrawn, false)
      AND w.window_start <= $logical_date AND (w.window_end IS NULL OR w.window_end >= $logical_date)
"""


def explanation(shared: list[str], taxonomy: Taxonomy) -> str:
    """One line naming the shared tags, strongest first: 'Shares the article's calm (穏やか), night (夜).'"""
    tags = taxonomy.by_id()
    names = [f"{tags[t].label_en} ({tags[t].label_ja})" if t in tags else t for t in shared]
    return "Shares the article's " + ", ".join(names) + "."


def match_articles_to_works(
    con, config: SimilaritySettings, taxonomy: Taxonomy, version: str, logical_date: date
) -> int:
    """Rewrite similarity.article_work_matches for the logical date; returns its row count."""
    import polars as pl

    tag_ids = [t.id for t in taxonomy.tags]
    k = config.article_work_matches
    con.execute("DELETE FROM similarity.article_work_matches")
    if k <= 0 or not has_table(con, "marts", "fct_licence_window") or not has_table(con, "marts", "dim_article"):
        return 0
    licensed = LICENSED_WORKS.replace("$logical_date", f"DATE '{logical_date.isoformat()}'")
    work_ids, works = kansei_profiles(con, "work", licensed, tag_ids)
    article_ids, articles = kansei_profiles(con, "article", "SELECT article_id FROM marts.dim_article", tag_ids)
    if not len(work_ids) or not len(article_ids):
        return 0
    work_units = _unit(works)
    article_units = _unit(articles)
    count = min(max(config.rescore_candidates, k), len(work_ids))
    for start in range(0, len(article_ids), config.query_block_rows):
        block = np.arange(start, min(start + config.query_block_rows, len(article_ids)))
        candidates = cross_top_k(article_units[block], work_units, count, config.candidate_block_rows)
        positions = np.repeat(np.arange(len(block)), candidates.shape[1])
        rows = candidates.ravel()
        valid = rows >= 0
        positions, rows = positions[valid], rows[valid]
        both = (articles[block[positions]] > 0) & (works[rows] > 0)
        shares_tag = both.any(axis=1)
        positions, rows, both = positions[shares_tag], rows[shares_tag], both[shares_tag]
        score = np.round(np.einsum("pd,pd->p", article_units[block[positions]].astype(np.float64), work_units[rows]), 6) + 0.0
        order = np.lexsort((rows, -score, positions))
        positions, rows, both, score = positions[order], rows[order], both[order], score[order]
        rank = np.arange(len(positions)) - np.searchsorted(positions, positions)
        top = rank < k
        strength = articles[block[positions[top]]] * works[rows[top]]
        shared = []
        for mask, weights in zip(both[top], strength, strict=True):
            columns = np.nonzero(mask)[0]
            columns = columns[np.lexsort((columns, -weights[columns]))]
            shared.append([tag_ids[c] for c in columns])
        frame = pl.DataFrame(
            {
                "article_id": article_ids.gather(block[positions[top]]),
                "work_id": work_ids.gather(rows[top]),
                "rank": (rank[top] + 1).astype(np.int32),
                "score": score[top],
                "kansei_score": score[top],
                "shared_tags": pl.Series(shared, dtype=pl.List(pl.String)),
                "explanation": [explanation(tags, taxonomy) for tags in shared],
            }
        ).with_columns(model_version=pl.lit(version), logical_date=pl.lit(logical_date))
        stream = ArrowStream(frame)  # noqa: F841 (read by DuckDB)
        con.execute("INSERT INTO similarity.article_work_matches BY NAME SELECT * FROM stream")
    return con.execute("SELECT count(*) FROM similarity.article_work_matches").fetchone()[0]


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0).astype(np.float32)
