"""The article representation and `msdb similar eval --livedoor` on a livedoor-format folder we wrote."""

import duckdb
import numpy as np
import pytest

from pipelines.kansei.config import ArticleRepresentation, load_embedding_config
from pipelines.similarity.articles import (
    article_matrix,
    article_neighbours,
    category_precision,
    read_livedoor,
)
from pipelines.similarity.evaluation import evaluate_livedoor, halves
from tests.conftest import REPO

MINI = REPO / "tests" / "fixtures" / "livedoor_mini"


def test_read_livedoor_takes_title_and_body_and_skips_licence_and_readme_files():
    articles = read_livedoor(MINI)
    assert len(articles) == 15
    assert sorted({a.category for a in articles}) == ["cooking", "gadget", "sports"]
    first = next(a for a in articles if a.file == "sports-1.txt")
    assert first.title == "延長戦でサヨナラ勝ち、首位に浮上"
    assert first.body.startswith("野球の試合は延長十二回までもつれた。")
    assert not any(a.file.startswith(("LICENSE", "README")) for a in articles)


def test_read_livedoor_refuses_a_folder_without_articles(tmp_path):
    (tmp_path / "empty-category").mkdir()
    (tmp_path / "empty-category" / "LICENSE.txt").write_text("licence", "utf-8")
    with pytest.raises(ValueError, match="no article"):
        read_livedoor(tmp_path)


@pytest.mark.parametrize(("rounds", "expected"), [(0, 0.9833), (2, 1.0)])
def test_precision_at_4_on_the_mini_corpus(rounds, expected):
    """Without expansion one gadget article has a sports article among its 4 nearest (59 of 60 right);
    two rounds of neighbour expansion pull it back to its group."""
    result = evaluate_livedoor(MINI, ArticleRepresentation(expansion_rounds=rounds), k=4, folds=False)
    assert (result.articles, result.categories) == (15, 3)
    assert result.precision == expected


def test_neighbours_never_include_the_article_itself_and_are_ordered_by_score_then_row():
    articles = read_livedoor(MINI)
    matrix = article_matrix([a.text for a in articles], ArticleRepresentation())
    index, score = article_neighbours(matrix, 4, ArticleRepresentation())
    assert not (index == np.arange(15)[:, None]).any()
    assert (np.diff(score, axis=1) <= 0).all()
    assert category_precision([a.category for a in articles], index) == 1.0


def test_character_tfidf_keeps_only_the_columns_in_use_and_scores_as_all_2_to_the_24():
    """The hashed n-grams' columns are renumbered to those some article uses: the same scores, to the bit, as
    the TF-IDF over every hashed column (sklearn on the 2^24 columns here), on a fraction of the width."""
    from scipy import sparse
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

    from pipelines.similarity.articles import _hashed_char_tfidf

    config = ArticleRepresentation()
    texts = [a.text[: config.max_chars] for a in read_livedoor(MINI)] + [""]
    counts = HashingVectorizer(
        analyzer="char", ngram_range=(config.char_ngram_min, config.char_ngram_max), n_features=config.char_features,
        alternate_sign=False, norm=None, dtype=np.float32,
    ).transform(texts)
    frequent = np.bincount(counts.indices, minlength=config.char_features) >= 2
    counts = (counts @ sparse.diags(frequent.astype(np.float32))).tocsr()
    counts.eliminate_zeros()
    wide = TfidfTransformer(sublinear_tf=True).fit_transform(counts).astype(np.float32)
    narrow = _hashed_char_tfidf(texts, config, min_df=2)
    assert wide.shape == (16, 2**24) and narrow.shape == (16, 3026)  # the hashed columns some article uses
    assert narrow.nnz == wide.nnz == 394  # n-grams in at least two of the 15 articles
    assert np.array_equal((narrow @ narrow.T).toarray(), (wide @ wide.T).toarray())
    assert narrow[15].nnz == 0  # the empty text


def test_halves_split_every_category():
    articles = read_livedoor(MINI)
    first, second = halves(articles)
    assert (len(first), len(second)) == (9, 6)  # 3 of each category's 5 in the first half, 2 in the second
    assert {articles[r].category for r in second} == {"cooking", "gadget", "sports"}


def test_the_cli_prints_the_figures_and_stores_them_in_ops_model_evals(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    warehouse = tmp_path / "msdb.duckdb"
    result = CliRunner().invoke(
        app, ["similar", "eval", "--livedoor", str(MINI), "--k", "4", "--warehouse", str(warehouse), "--date", "2026-11-24"]
    )
    assert result.exit_code == 0, result.output
    assert "1.0000" in result.output and "2-fold" in result.output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT logical_date::VARCHAR, model, metric, value, sample_size FROM ops.model_evals ORDER BY metric"
        ).fetchall()
    assert rows[0] == ("2026-11-24", "similarity:articles", "precision@4", 1.0, 15)
    assert rows[1][2] == "precision@4:2-fold" and rows[1][4] == 15


@pytest.mark.real_data
def test_livedoor_precision_at_10_reaches_0_90(shared_data):
    """The 720 articles of ../shared/data/livedoor (9 categories x 80), configured parameters (about 30 s)."""
    config = load_embedding_config(REPO / "models").similarity.articles
    result = evaluate_livedoor(shared_data / "livedoor", config, k=10, folds=False)
    assert (result.articles, result.categories) == (720, 9)
    assert result.precision >= 0.90
