"""A domain's work vectors, read from the warehouse in Arrow batches into one float32 matrix.

Tag profiles are pivoted in SQL (one FLOAT[tags] per work) into a temporary table, with a fingerprint of all
a vector is made from (its domain, its text's hash under the embedding model, its tag profile), so that a
night can tell the works whose vectors changed without reading a vector. Python only ever holds the matrix
(works x (embedding + tags) float32: 1.66 GB for a million works at 384 + 30) and one batch being copied in.
"""

from __future__ import annotations

import numpy as np

INPUTS = "similarity_inputs"


def frame(con, sql: str, params: dict | None = None):
    """A query's result as a polars frame, through the Arrow C stream (no pyarrow)."""
    import polars as pl

    return pl.DataFrame(con.sql(sql, params=params or {}))


def prepare_inputs(con, version: str, tag_ids: list[str], domains: dict[str, str]) -> None:
    """TEMP TABLE similarity_inputs: one row per work with an embedding under `version` and a domain; its
    fingerprint covers its metadata (TEMP TABLE similarity_metadata, see metadata.prepare_metadata) too."""
    from pipelines.similarity.article_works import kansei_profile_sql
    from pipelines.similarity.metadata import METADATA

    width = len(tag_ids)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {INPUTS} AS
        WITH
        kinds AS (SELECT unnest($kinds) AS kind, unnest($domains) AS domain),
        profiles AS (SELECT id AS work_id, profile, profile_text FROM ({kansei_profile_sql(con, "work", width)})),
        final AS (
            SELECT
                -- ids
                w.work_id,
                k.domain,
                -- what the vector is made of
                e.text_sha256,
                coalesce(p.profile::FLOAT[], list_transform(range(1, {width} + 1), j -> 0::FLOAT))::FLOAT[{width}] AS tag_profile,
                sha256(concat_ws('|', k.domain, e.text_sha256, coalesce(p.profile_text, ''), coalesce(m.metadata_text, '')))
                    AS vector_sha256
            FROM marts.dim_work w
            JOIN kinds k USING (kind)
            JOIN kansei.work_embeddings e ON e.work_id = w.work_id AND e.model_version = $version
            LEFT JOIN profiles p ON p.work_id = w.work_id
            LEFT JOIN {METADATA} m ON m.work_id = w.work_id
        )
        SELECT * FROM final ORDER BY work_id
        """,
        {"kinds": list(domains), "domains": list(domains.values()), "tags": tag_ids, "version": version},
    )


def read_members(con, domain: str, state_version: str, k: int):
    """The domain's works in work_id order with their fingerprint now and at the last run, their index key and
    the dense score of their k-th stored candidate (-inf when they have fewer)."""
    return frame(
        con,
        f"""
        WITH stored AS (
            SELECT work_id, count(*) AS neighbours, min(search_score) AS lowest
            FROM similarity.work_candidates GROUP BY work_id
        )
        SELECT i.work_id,
               i.vector_sha256,
               s.vector_sha256 AS previous_sha256,
               ('0x' || left(sha256(i.work_id), 15))::UBIGINT AS work_key,
               CASE WHEN coalesce(n.neighbours, 0) >= $k THEN n.lowest ELSE '-inf'::DOUBLE END AS kth_score
        FROM {INPUTS} i
        LEFT JOIN similarity.work_vectors_state s
            ON s.work_id = i.work_id AND s.domain = i.domain AND s.model_version = $state_version
        LEFT JOIN stored n ON n.work_id = i.work_id
        WHERE i.domain = $domain
        ORDER BY i.work_id
        """,
        {"domain": domain, "state_version": state_version, "k": k},
    )


def read_matrix(con, members, domain: str, version: str, weights: tuple[float, float], batch_rows: int) -> np.ndarray:
    """The blended vectors of `members` (in their order), read batch_rows works at a time."""
    from pipelines.similarity import blend

    n = len(members)
    dims = con.execute(
        "SELECT min(len(embedding)), max(len(embedding)) FROM kansei.work_embeddings WHERE model_version = ?",
        [version],
    ).fetchone()
    if dims[0] != dims[1]:
        raise ValueError(f"embeddings of {version} differ in length ({dims[0]} to {dims[1]})")
    width = con.execute(f"SELECT len(tag_profile) FROM {INPUTS} LIMIT 1").fetchone()[0]
    matrix = np.empty((n, dims[0] + width), dtype=np.float32)
    ids = members["work_id"]
    for start in range(0, n, batch_rows):
        end = min(start + batch_rows, n)
        batch = frame(
            con,
            f"""
            SELECT e.embedding::FLOAT[{dims[0]}] AS text, i.tag_profile AS tags
            FROM {INPUTS} i JOIN kansei.work_embeddings e ON e.work_id = i.work_id AND e.model_version = $version
            WHERE i.domain = $domain AND i.work_id BETWEEN $low AND $high
            ORDER BY i.work_id
            """,
            {"version": version, "domain": domain, "low": ids[start], "high": ids[end - 1]},
        )
        if len(batch) != end - start:
            raise ValueError(f"{domain}: read {len(batch)} vectors for works {start}..{end - 1}, expected {end - start}")
        matrix[start:end] = blend(batch["text"].to_numpy(), batch["tags"].to_numpy(), *weights)
    return matrix
