"""Top-k search over one domain's matrix: exact in bounded blocks, or through an HNSW index (usearch).

Rows of the matrix are works in work_id order, so a row index orders like its work_id and ties broken by
index are ties broken by work_id. Both searches only *propose* candidates from float32 scores; the kept
neighbours are the candidates rescored in float64 and rounded to 6 decimals, ordered by (score desc, index).
So whatever the blocking, the BLAS kernel or the index's quantisation, equal inputs give equal rows.

Memory: exact search holds one query_block x candidate_block float32 score block (64 MB at the defaults)
plus the candidates within EPSILON of each query's k-th score; the index holds its vectors (i8: 1 byte a
dimension) and its graph (about 2 x connectivity x 4 bytes a work at the base level).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# float32 scores of unit vectors are off by far less than this from the float64 ones; every candidate within
# EPSILON of the k-th float32 score is rescored, so the float64 top-k is never missed.
EPSILON = 1e-5
PAIR_CHUNK = 16_384  # pairs rescored at once: two 16,384 x dims float64 blocks (108 MB at 414 dims)


@dataclass
class Neighbours:
    """For queries q (row indices into the matrix): index[q, r] and score[q, r] of their r-th neighbour,
    -1 and nan where a query has fewer than k other works."""

    index: np.ndarray  # (queries, k) int64
    score: np.ndarray  # (queries, k) float64, rounded to 6 decimals


def rank_pairs(matrix: np.ndarray, queries: np.ndarray, rows: np.ndarray, cols: np.ndarray, k: int) -> Neighbours:
    """Rescore (query position, candidate row) pairs in float64, drop self, and keep the k best of each query
    by (score desc, index). Pairs are scored PAIR_CHUNK at a time, so a large group of tied works (the same
    text, the same tags) costs 20 bytes a pair, not a float64 vector."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    keep = cols != queries[rows]
    rows, cols = rows[keep], cols[keep]
    scores = np.empty(len(rows), dtype=np.float64)
    for start in range(0, len(rows), PAIR_CHUNK):
        chunk = slice(start, start + PAIR_CHUNK)
        left = matrix[queries[rows[chunk]]].astype(np.float64)
        scores[chunk] = np.einsum("pd,pd->p", left, matrix[cols[chunk]].astype(np.float64))
    scores = np.round(scores, 6) + 0.0  # + 0.0: no -0.0
    order = np.lexsort((cols, -scores, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
    top = rank < k
    index = np.full((len(queries), k), -1, dtype=np.int64)
    score = np.full((len(queries), k), np.nan)
    index[rows[top], rank[top]] = cols[top]
    score[rows[top], rank[top]] = scores[top]
    return Neighbours(index=index, score=score)


def rank_candidates(matrix: np.ndarray, queries: np.ndarray, candidates: np.ndarray, k: int) -> Neighbours:
    """rank_pairs for a few candidates a query (queries x m distinct row indices, -1 for none: the index's
    hits), as one queries x m x dims float64 block: faster than pairs when m is small and fixed."""
    candidates = np.asarray(candidates, dtype=np.int64)
    valid = (candidates >= 0) & (candidates != queries[:, None])
    safe = np.where(valid, candidates, 0)
    query_vectors = matrix[queries].astype(np.float64)
    scores = np.einsum("qd,qmd->qm", query_vectors, matrix[safe].astype(np.float64))
    scores = np.round(scores, 6) + 0.0  # + 0.0: no -0.0
    scores[~valid] = -np.inf
    keyed = np.where(valid, candidates, np.iinfo(np.int64).max)
    order = np.lexsort((keyed, -scores), axis=-1)
    keyed = np.take_along_axis(keyed, order, axis=1)
    scores = np.take_along_axis(scores, order, axis=1)
    index = keyed[:, :k]
    score = scores[:, :k]
    if index.shape[1] < k:
        pad = k - index.shape[1]
        index = np.pad(index, ((0, 0), (0, pad)), constant_values=np.iinfo(np.int64).max)
        score = np.pad(score, ((0, 0), (0, pad)), constant_values=-np.inf)
    missing = index == np.iinfo(np.int64).max
    return Neighbours(index=np.where(missing, -1, index), score=np.where(missing, np.nan, score))


def exact_candidates(
    matrix: np.ndarray, queries: np.ndarray, k: int, candidate_block_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """(query position, row) pairs: for each query the rows whose float32 score is within EPSILON of its k-th
    best (self excluded), scanning the matrix in blocks of candidate_block_rows: never a queries x N matrix."""
    n = matrix.shape[0]
    q = len(queries)
    query_vectors = matrix[queries]
    threshold = np.full(q, -np.inf, dtype=np.float32)
    rows_kept = np.empty(0, dtype=np.int64)
    cols_kept = np.empty(0, dtype=np.int64)
    vals_kept = np.empty(0, dtype=np.float32)
    for start in range(0, n, candidate_block_rows):
        block = matrix[start : start + candidate_block_rows]
        scores = query_vectors @ block.T
        inside = (queries >= start) & (queries < start + len(block))
        scores[np.nonzero(inside)[0], queries[inside] - start] = -np.inf
        if scores.shape[1] > k:
            block_kth = np.partition(scores, -k, axis=1)[:, -k]
            threshold = np.maximum(threshold, block_kth)
        rows, cols = np.nonzero(scores >= (threshold - EPSILON)[:, None])
        keep = vals_kept >= threshold[rows_kept] - EPSILON
        rows_kept = np.concatenate([rows_kept[keep], rows])
        cols_kept = np.concatenate([cols_kept[keep], cols + start])
        vals_kept = np.concatenate([vals_kept[keep], scores[rows, cols]])
    # The running threshold was a lower bound of the k-th score: cut at the true k-th now.
    order = np.lexsort((-vals_kept, rows_kept))
    rows_kept, cols_kept, vals_kept = rows_kept[order], cols_kept[order], vals_kept[order]
    starts = np.searchsorted(rows_kept, np.arange(q))
    ends = np.searchsorted(rows_kept, np.arange(q), side="right")
    if not len(vals_kept):
        return rows_kept, cols_kept
    kth = np.where(ends - starts >= k, vals_kept[np.minimum(starts + k - 1, len(vals_kept) - 1)], -np.inf)
    keep = (vals_kept >= kth[rows_kept] - EPSILON) & np.isfinite(vals_kept)
    return rows_kept[keep], cols_kept[keep]


def exact_top_k(
    matrix: np.ndarray, queries: np.ndarray, k: int, query_block_rows: int = 1024, candidate_block_rows: int = 16_384
) -> Neighbours:
    """The exact k nearest other rows of each query (row indices), in blocks of queries x candidates."""
    parts = []
    for start in range(0, len(queries), query_block_rows):
        block = queries[start : start + query_block_rows]
        rows, cols = exact_candidates(matrix, block, k, candidate_block_rows)
        parts.append(rank_pairs(matrix, block, rows, cols, k))
    if not parts:
        return Neighbours(np.empty((0, k), dtype=np.int64), np.empty((0, k)))
    return Neighbours(np.vstack([p.index for p in parts]), np.vstack([p.score for p in parts]))


@dataclass(frozen=True)
class IndexParameters:
    dtype: str = "i8"
    connectivity: int = 16
    expansion_add: int = 64
    expansion_search: int = 48
    candidates: int = 24
    threads: int = 0


class AnnIndex:
    """A usearch HNSW index (cosine) over one domain, keyed by stable 60-bit work keys (see `work_keys`)."""

    def __init__(self, ndim: int, parameters: IndexParameters, index=None):
        from usearch.index import Index

        self.parameters = parameters
        self.index = index or Index(
            ndim=ndim,
            metric="cos",
            dtype=parameters.dtype,
            connectivity=parameters.connectivity,
            expansion_add=parameters.expansion_add,
            expansion_search=parameters.expansion_search,
        )

    @classmethod
    def restore(cls, path: Path, ndim: int, parameters: IndexParameters) -> AnnIndex | None:
        from usearch.index import Index

        if not path.exists():
            return None
        index = Index(
            ndim=ndim,
            metric="cos",
            dtype=parameters.dtype,
            connectivity=parameters.connectivity,
            expansion_add=parameters.expansion_add,
            expansion_search=parameters.expansion_search,
        )
        index.load(str(path))
        index.expansion_search = parameters.expansion_search
        return cls(ndim, parameters, index)

    def __len__(self) -> int:
        return len(self.index)

    def add(self, keys: np.ndarray, vectors: np.ndarray, block_rows: int = 65_536) -> None:
        for start in range(0, len(keys), block_rows):
            self.index.add(
                keys[start : start + block_rows], vectors[start : start + block_rows], threads=self.parameters.threads
            )

    def remove(self, keys: np.ndarray) -> None:
        if len(keys):
            self.index.remove(keys)

    def contains_all(self, keys: np.ndarray) -> bool:
        return bool(np.all(self.index.contains(keys))) if len(keys) else True

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        self.index.save(str(partial))
        partial.replace(path)

    def hits(self, vectors: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(keys, counts) of the `count` nearest indexed works of each vector."""
        count = min(count, len(self.index))
        found = self.index.search(vectors, count, threads=self.parameters.threads)
        keys = np.asarray(found.keys).reshape(len(vectors), -1).astype(np.int64)
        # one query gives Matches (its hits only), several give BatchMatches (padded rows and their counts)
        counts = np.asarray(getattr(found, "counts", [keys.shape[1]])).reshape(len(vectors))
        keys[np.arange(keys.shape[1])[None, :] >= counts[:, None]] = -1
        return keys, counts


def rows_of_keys(keys: np.ndarray, sorted_keys: np.ndarray, key_rows: np.ndarray) -> np.ndarray:
    """Matrix rows of index keys (-1 where a key is unknown or -1)."""
    position = np.clip(np.searchsorted(sorted_keys, keys), 0, len(sorted_keys) - 1)
    found = (sorted_keys[position] == keys) & (keys >= 0)
    return np.where(found, key_rows[position], -1)


def ann_top_k(
    index: AnnIndex,
    matrix: np.ndarray,
    queries: np.ndarray,
    k: int,
    sorted_keys: np.ndarray,
    key_rows: np.ndarray,
    query_block_rows: int = 1024,
) -> Neighbours:
    """The k nearest other rows of each query among the index's hits, rescored exactly."""
    parts = []
    for start in range(0, len(queries), query_block_rows):
        block = queries[start : start + query_block_rows]
        keys, _ = index.hits(matrix[block], max(index.parameters.candidates, k + 1))
        candidates = rows_of_keys(keys, sorted_keys, key_rows)
        parts.append(rank_candidates(matrix, block, candidates, k))
    if not parts:
        return Neighbours(np.empty((0, k), dtype=np.int64), np.empty((0, k)))
    return Neighbours(np.vstack([p.index for p in parts]), np.vstack([p.score for p in parts]))


def recall_at_k(found: Neighbours, truth: Neighbours) -> float:
    """Mean share of each query's true neighbours that were found."""
    shares = []
    for got, want in zip(found.index, truth.index, strict=True):
        want = want[want >= 0]
        if len(want):
            shares.append(len(np.intersect1d(got[got >= 0], want)) / len(want))
    return float(np.mean(shares)) if shares else 1.0
