"""Article neighbours at scale (issue 10): the content lemmas cached by text, and the large-corpus path
(dense projection, exact rescoring of its candidates, sparse expansion)."""

from datetime import date

import duckdb
import numpy as np

from pipelines.kansei.config import ArticleRepresentation, load_embedding_config
from pipelines.similarity import articles as articles_module
from pipelines.similarity.articles import (
    article_matrix,
    article_neighbours,
    candidate_recall,
    read_livedoor,
    refresh_article_neighbours,
    top_candidates,
)
from pipelines.warehouse import writer
from tests.similarity.test_articles import MINI

NIGHT = date(2026, 11, 24)


def _dim_article(con, rows) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute("CREATE OR REPLACE TABLE marts.dim_article (article_id VARCHAR, language VARCHAR, title VARCHAR, body VARCHAR)")
    con.executemany("INSERT INTO marts.dim_article VALUES (?, 'ja', ?, ?)", rows)


def _counting(monkeypatch) -> list[str]:
    calls: list[str] = []
    tokenise = articles_module.content_lemmas

    def counted(text, language="ja"):
        calls.append(text)
        return tokenise(text, language)

    monkeypatch.setattr(articles_module, "content_lemmas", counted)
    return calls


def _stored(con) -> list[tuple]:
    return con.execute(
        "SELECT article_id, neighbor_article_id, rank, score FROM similarity.article_neighbors ORDER BY article_id, rank"
    ).fetchall()


def test_sudachi_reads_only_new_or_changed_texts_and_the_neighbours_are_the_same(similarity_settings, monkeypatch):
    settings = similarity_settings()
    config = load_embedding_config(settings.models_dir).similarity.articles
    livedoor = read_livedoor(MINI)
    rows = [(a.file.removesuffix(".txt"), a.title, a.body) for a in livedoor]
    calls = _counting(monkeypatch)
    with writer(settings.warehouse, publish=False) as con:
        _dim_article(con, rows)
        assert refresh_article_neighbours(con, config, 4, "test", NIGHT) == 15 * 4
        first = _stored(con)
        assert len(calls) == 15
        assert refresh_article_neighbours(con, config, 4, "test", NIGHT) == 15 * 4
        assert len(calls) == 15  # nothing read again
        assert _stored(con) == first
        # the same neighbours as lemmas read afresh (the eval's path)
        ids = sorted(r[0] for r in rows)
        text = {r[0]: f"{r[1]}\n{r[2]}" for r in rows}
        index, _ = article_neighbours(article_matrix([text[i] for i in ids], config), 4, config)
        assert [(a, n) for a, n, _, _ in first] == [(ids[q], ids[j]) for q in range(15) for j in index[q]]
        calls.clear()  # (article_matrix read the 15 texts)
        # one text changes: only it is read; its old lemmas leave the cache
        con.execute("UPDATE marts.dim_article SET body = body || '追記。' WHERE article_id = 'sports-1'")
        refresh_article_neighbours(con, config, 4, "test", NIGHT)
        assert len(calls) == 1 and calls[0].endswith("追記。")
        assert con.execute("SELECT count(*), count(DISTINCT version) FROM similarity.article_lemmas").fetchone() == (15, 1)
        # another tokenizer or dictionary version reads every text again
        monkeypatch.setattr(articles_module, "lemma_version", lambda: "another")
        refresh_article_neighbours(con, config, 4, "test", NIGHT)
        assert len(calls) == 16
        assert con.execute("SELECT DISTINCT version FROM similarity.article_lemmas").fetchall() == [("another",)]


def _clustered(groups: int = 4, per_group: int = 12) -> list[str]:
    """Texts of `groups` topics, each with its own words, sharing a common filler."""
    rng = np.random.default_rng(7)
    topics = [[f"話題{g}語{w}" for w in range(30)] for g in range(groups)]
    filler = ["今日は", "そして", "しかし", "とても", "ところで"]
    texts = []
    for g in range(groups):
        for _ in range(per_group):
            words = list(rng.choice(topics[g], size=25)) + list(rng.choice(filler, size=10))
            rng.shuffle(words)
            texts.append("。".join(words))
    return texts


def test_the_large_corpus_path_finds_the_exact_neighbours_of_a_clustered_corpus():
    texts = _clustered()
    exact = ArticleRepresentation(lemma_weight=0.0)
    large = exact.model_copy(update={"exact_max_articles": 10, "projection_dims": 8, "projection_candidates": 20})
    matrix = article_matrix(texts, exact)
    wide = top_candidates(matrix, 12, exact)
    narrow = top_candidates(matrix, 12, large)
    assert narrow.shape == wide.shape == (48, 48) and narrow.nnz == 48 * 12
    assert candidate_recall(matrix, narrow, sample=48) == (1.0, 48)
    index_exact, score_exact = article_neighbours(matrix, 5, exact)
    measured: dict = {}
    index_large, score_large = article_neighbours(matrix, 5, large, measured)
    assert measured == {"recall@10": 1.0, "sample": 48}  # recall_sample 100: every article
    assert np.array_equal(index_large, index_exact)
    assert np.allclose(score_large, score_exact, atol=2e-6)
    groups = np.repeat(np.arange(4), 12)
    assert (groups[index_large] == groups[:, None]).all()


def test_a_large_corpus_records_the_recall_of_its_candidates(similarity_settings):
    settings = similarity_settings()
    config = load_embedding_config(settings.models_dir).similarity.articles.model_copy(
        update={"exact_max_articles": 10, "projection_dims": 8, "projection_candidates": 20, "recall_sample": 30}
    )
    texts = _clustered()
    with writer(settings.warehouse, publish=False) as con:
        _dim_article(con, [(f"a{n:02d}", "", text) for n, text in enumerate(texts)])
        assert refresh_article_neighbours(con, config, 5, "test", NIGHT) == 48 * 5
        rows = con.execute(
            "SELECT model, metric, value, sample_size, details->>'articles' FROM ops.model_evals"
        ).fetchall()
    assert rows == [("similarity:article-candidates", "recall@10", 1.0, 30, "48")]


def test_exact_top_by_argpartition_equals_a_stable_argsort_with_ties():
    from pipelines.similarity.articles import _keep_top

    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, size=(40, 30)).astype(np.float32)  # many ties
    kept = _keep_top(scores, 7, 30).toarray()
    columns = np.argsort(-scores, axis=1, kind="stable")[:, :7]
    expected = np.zeros_like(scores)
    np.put_along_axis(expected, columns, np.take_along_axis(scores, columns, axis=1), axis=1)
    assert np.array_equal(kept, expected)
    assert (_keep_top(scores, 7, 30).getnnz(axis=1) == 7).all()  # zeros among the best are kept as entries


def test_warehouse_lemma_cache_table_exists(similarity_settings):
    settings = similarity_settings()
    with writer(settings.warehouse, publish=False):
        pass
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM similarity.article_lemmas").fetchone() == (0,)
