import numpy as np
import pytest

from pipelines.similarity.search import AnnIndex, IndexParameters, ann_top_k, exact_top_k, recall_at_k
from tests.similarity.conftest import clustered


def brute_force(matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = np.round(matrix.astype(np.float64) @ matrix.T.astype(np.float64), 6)
    np.fill_diagonal(scores, -np.inf)
    order = np.array([np.lexsort((np.arange(len(row)), -row))[:k] for row in scores])
    return order, np.take_along_axis(scores, order, axis=1)


@pytest.mark.parametrize(("n", "query_block", "candidate_block"), [(300, 64, 97), (301, 1000, 1000), (40, 7, 5)])
def test_blocked_exact_equals_brute_force(n, query_block, candidate_block):
    matrix = clustered(n, 16, clusters=6, seed=n)
    matrix[10] = matrix[11] = matrix[12] = matrix[13]  # ties, broken by row (= work_id) order
    found = exact_top_k(matrix, np.arange(n), 10, query_block, candidate_block)
    index, scores = brute_force(matrix, 10)
    np.testing.assert_array_equal(found.index, index)
    np.testing.assert_array_equal(found.score, scores)
    assert list(found.index[10][:3]) == [11, 12, 13]


def test_fewer_works_than_neighbours_pads_with_minus_one():
    matrix = clustered(4, 8, clusters=2, seed=1)
    found = exact_top_k(matrix, np.arange(4), 10, 2, 3)
    assert (found.index[:, :3] >= 0).all() and (found.index[:, 3:] == -1).all()
    assert np.isnan(found.score[:, 3:]).all()


def test_index_search_finds_the_exact_neighbours_of_clustered_vectors():
    matrix = clustered(2000, 32, clusters=20, seed=7)
    keys = np.arange(1000, 3000, dtype=np.int64)  # rows and keys differ, as work keys do
    index = AnnIndex(32, IndexParameters(dtype="f16", candidates=20))
    index.add(keys.astype(np.uint64), matrix)
    queries = np.arange(0, 2000, 7)
    approximate = ann_top_k(index, matrix, queries, 10, keys, np.arange(2000))
    exact = exact_top_k(matrix, queries, 10)
    assert recall_at_k(approximate, exact) >= 0.95
    both = approximate.index == exact.index
    np.testing.assert_array_equal(approximate.score[both], exact.score[both])  # scores are exact rescores


def test_a_large_group_of_identical_works_is_ranked_by_work_id():
    matrix = clustered(300, 16, clusters=4, seed=5)
    matrix[50:250] = matrix[50]  # 200 works with the same text and tags
    found = exact_top_k(matrix, np.arange(300), 10, query_block_rows=64, candidate_block_rows=97)
    index, scores = brute_force(matrix, 10)
    np.testing.assert_array_equal(found.index, index)
    np.testing.assert_array_equal(found.score, scores)
    assert list(found.index[100]) == [50, 51, 52, 53, 54, 55, 56, 57, 58, 59]
