import numpy as np

from pipelines.similarity import blend, nearest


def test_nearest_is_exact_ordered_and_excludes_self():
    vectors = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0.7, 0.7, 0]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = nearest(vectors, ["a", "b", "c", "d"], k=2)
    assert [(w, n, r) for w, n, r, _ in rows if w == "a"] == [("a", "b", 1), ("a", "d", 2)]
    assert all(w != n for w, n, _, _ in rows)
    assert len(rows) == 8


def test_ties_are_broken_by_work_id():
    vectors = np.array([[1, 0], [0, 1], [0, 1]], dtype=np.float32)
    rows = nearest(vectors, ["z", "y", "x"], k=2)
    assert [(n, s) for w, n, _, s in rows if w == "z"] == [("x", 0.0), ("y", 0.0)]


def test_blend_weights_text_and_tags():
    text = np.array([[3.0, 4.0]], dtype=np.float32)
    tags = np.array([[0.0, 0.0, 2.0]], dtype=np.float32)
    out = blend(text, tags, 0.6, 0.8)
    np.testing.assert_allclose(out, [[0.36, 0.48, 0.0, 0.0, 0.8]], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out), 1.0, atol=1e-6)
