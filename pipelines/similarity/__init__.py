"""Similar titles: the top-N neighbours of every work among works of the same domain.

A work's vector blends its text embedding with its kansei tag profile, so that two Japanese songs whose
romanized titles mean little to the English model still meet through their moods and scenes. Search is exact
(usearch brute force), and ties are broken by work_id, so a run is reproducible to the byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from pipelines.kansei import model_version
from pipelines.kansei.config import load_embedding_config, load_taxonomy
from pipelines.settings import MsdbSettings
from pipelines.warehouse import ArrowStream, writer

# Works are only compared within a domain: a partner shows songs next to songs, films next to episodes.
DOMAINS = {"recording": "music-recording", "release": "music-release", "movie": "video", "episode": "video"}


@dataclass
class SimilaritySummary:
    works: int
    neighbors: int


def blend(text: np.ndarray, tags: np.ndarray, text_weight: float, tag_weight: float) -> np.ndarray:
    """Row-normalise each part, weight, concatenate and normalise again."""

    def normalise(matrix: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)

    joined = np.hstack([normalise(text) * text_weight, normalise(tags) * tag_weight])
    return normalise(joined).astype(np.float32)


def nearest(vectors: np.ndarray, ids: list[str], k: int) -> list[tuple[str, str, int, float]]:
    """(work, neighbour, rank, cosine) for the k nearest other works, exact search."""
    from usearch.index import search

    if len(ids) < 2:
        return []
    count = min(k + 1, len(ids))
    matches = search(vectors, vectors, count, metric="cos", exact=True)
    rows = []
    for i, work_id in enumerate(ids):
        candidates = [
            (round(1.0 - float(d), 6), ids[int(j)])
            for j, d in zip(matches.keys[i], matches.distances[i], strict=True)
            if int(j) != i
        ]
        candidates.sort(key=lambda c: (-c[0], c[1]))
        for rank, (score, neighbor) in enumerate(candidates[:k], start=1):
            rows.append((work_id, neighbor, rank, score))
    return rows


def run_similarity(settings: MsdbSettings, logical_date: date) -> SimilaritySummary:
    import polars as pl

    config = load_embedding_config(settings.models_dir).similarity
    tag_ids = [t.id for t in load_taxonomy(settings.models_dir).tags]
    version = model_version(settings)
    with writer(settings.warehouse) as con:
        works = con.execute(
            """
            SELECT w.work_id, w.kind, e.embedding
            FROM marts.dim_work w JOIN kansei.work_embeddings e USING (work_id)
            WHERE e.model_version = ?
            ORDER BY w.work_id
            """,
            [version],
        ).fetchall()
        tag_scores = con.execute("SELECT work_id, tag_id, score FROM kansei.work_tags").fetchall()
        column = {tag_id: i for i, tag_id in enumerate(tag_ids)}
        profile: dict[str, np.ndarray] = {}
        for work_id, tag_id, score in tag_scores:
            profile.setdefault(work_id, np.zeros(len(tag_ids), dtype=np.float32))[column[tag_id]] = score

        rows = []
        for domain in sorted(set(DOMAINS.values())):
            members = [w for w in works if DOMAINS.get(w[1]) == domain]
            if not members:
                continue
            ids = [w[0] for w in members]
            text = np.array([w[2] for w in members], dtype=np.float32)
            tags = np.stack([profile.get(i, np.zeros(len(tag_ids), dtype=np.float32)) for i in ids])
            vectors = blend(text, tags, config.text_weight, config.tag_weight)
            rows += nearest(vectors, ids, config.neighbors)

        con.begin()
        con.execute("DELETE FROM similarity.work_neighbors")
        if rows:
            frame = pl.DataFrame(
                rows, schema=["work_id", "neighbor_work_id", "rank", "score"], orient="row"
            ).with_columns(model_version=pl.lit(version), logical_date=pl.lit(logical_date))
            stream = ArrowStream(frame)  # noqa: F841 (read by DuckDB)
            con.execute("INSERT INTO similarity.work_neighbors BY NAME SELECT * FROM stream")
        con.commit()
    return SimilaritySummary(works=len({r[0] for r in rows}), neighbors=len(rows))
