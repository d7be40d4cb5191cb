"""Dense candidates rescored into neighbours: text, kansei and metadata parts, duplicates dropped.

score = (w_text x cos(text) + w_kansei x cos(kansei profile) + w_metadata x metadata) / (sum of the weights),
cosines below 0 counted as 0; each part's share of the score is kept (the shares sum to 1; a pair scoring 0
gets the weights' shares). A candidate that is the query itself or a duplicate of it (same ISRC, same provider
asset id, same normalised title and artist) is never kept. Neighbours are ordered by (score desc, candidate
row), rows being in work_id order: a total order.

Memory bound: PAIR_CHUNK pairs of float64 vectors at once (two 16,384 x dims blocks, 108 MB at 414 dims) and
one int64/float64 array per pair of the block of queries (queries x candidates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.kansei.config import SimilaritySettings
from pipelines.similarity.metadata import WorkMetadata, duplicates, metadata_scores
from pipelines.similarity.search import PAIR_CHUNK


@dataclass
class Rescored:
    """One row per kept neighbour, grouped by query position then rank."""

    query: np.ndarray  # position in the block of queries
    neighbour: np.ndarray  # row of the candidate matrix
    rank: np.ndarray  # 1-based
    score: np.ndarray
    search_score: np.ndarray
    text_share: np.ndarray
    kansei_share: np.ndarray
    metadata_share: np.ndarray


def _cosines(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    dots = np.einsum("pd,pd->p", left, right)
    norms = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
    return np.divide(dots, norms, out=np.zeros(len(dots)), where=norms > 0)


def rescore(
    query_matrix: np.ndarray,
    query_rows: np.ndarray,
    candidate_matrix: np.ndarray,
    candidates: np.ndarray,
    text_dims: int,
    meta: WorkMetadata,
    query_meta_rows: np.ndarray,
    candidate_meta_offset: int,
    k: int,
    config: SimilaritySettings,
    same_matrix: bool,
) -> Rescored:
    """Rescore `candidates` (queries x m rows of candidate_matrix, -1 for none) of the queries (rows
    `query_rows` of query_matrix) and keep each query's k best. Metadata rows: query_meta_rows for the queries,
    candidate_meta_offset + row for a candidate."""
    q, m = candidates.shape
    positions = np.repeat(np.arange(q), m)
    rows = candidates.ravel()
    valid = rows >= 0
    if same_matrix:
        valid &= rows != query_rows[positions]
    positions, rows = positions[valid], rows[valid]
    left_meta, right_meta = query_meta_rows[positions], rows + candidate_meta_offset
    keep = ~duplicates(meta, left_meta, right_meta)
    positions, rows, left_meta, right_meta = positions[keep], rows[keep], left_meta[keep], right_meta[keep]

    search = np.empty(len(rows))
    text = np.empty(len(rows))
    kansei = np.empty(len(rows))
    for start in range(0, len(rows), PAIR_CHUNK):
        chunk = slice(start, start + PAIR_CHUNK)
        left = query_matrix[query_rows[positions[chunk]]].astype(np.float64)
        right = candidate_matrix[rows[chunk]].astype(np.float64)
        search[chunk] = np.einsum("pd,pd->p", left, right)
        text[chunk] = _cosines(left[:, :text_dims], right[:, :text_dims])
        kansei[chunk] = _cosines(left[:, text_dims:], right[:, text_dims:])
    metadata = metadata_scores(meta, left_meta, right_meta, config.metadata_weights.model_dump(), config.era_years)

    weights = config.weights
    total = (weights.text + weights.kansei + weights.metadata) or 1.0
    parts = np.stack(
        [weights.text * np.maximum(text, 0), weights.kansei * np.maximum(kansei, 0), weights.metadata * metadata], axis=1
    )
    summed = parts.sum(axis=1)
    shares = np.where(
        summed[:, None] > 0,
        parts / np.where(summed > 0, summed, 1.0)[:, None],
        np.array([weights.text, weights.kansei, weights.metadata]) / total,
    )
    score = np.round(summed / total, 6) + 0.0
    order = np.lexsort((rows, -score, positions))
    positions, rows, score, search, shares = positions[order], rows[order], score[order], search[order], shares[order]
    rank = np.arange(len(positions)) - np.searchsorted(positions, positions)
    top = rank < k
    return Rescored(
        query=positions[top],
        neighbour=rows[top],
        rank=(rank[top] + 1).astype(np.int32),
        score=score[top],
        search_score=np.round(search[top], 6) + 0.0,
        text_share=np.round(shares[top, 0], 6),
        kansei_share=np.round(shares[top, 1], 6),
        metadata_share=np.round(1.0 - np.round(shares[top, 0], 6) - np.round(shares[top, 1], 6), 6),
    )


def cross_top_k(
    queries: np.ndarray, candidates: np.ndarray, count: int, candidate_block_rows: int = 16_384
) -> np.ndarray:
    """Rows of `candidates` with the `count` best float32 scores for each query vector (queries x count, -1
    padded), scanning the candidates in blocks: a queries x candidate_block_rows score block at a time."""
    q, n = len(queries), len(candidates)
    count = min(count, n)
    best_rows = np.full((q, 0), -1, dtype=np.int64)
    best_scores = np.full((q, 0), -np.inf, dtype=np.float32)
    for start in range(0, n, candidate_block_rows):
        block = candidates[start : start + candidate_block_rows]
        scores = np.concatenate([best_scores, queries @ block.T], axis=1)
        rows = np.concatenate([best_rows, np.broadcast_to(np.arange(start, start + len(block)), (q, len(block)))], axis=1)
        if scores.shape[1] > count:
            keep = np.argpartition(-scores, count - 1, axis=1)[:, :count]
            scores, rows = np.take_along_axis(scores, keep, axis=1), np.take_along_axis(rows, keep, axis=1)
        best_scores, best_rows = scores, rows
    if best_rows.shape[1] < count:
        best_rows = np.pad(best_rows, ((0, 0), (0, count - best_rows.shape[1])), constant_values=-1)
    return best_rows
