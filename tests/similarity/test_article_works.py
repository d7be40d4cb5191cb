"""similarity.article_work_matches: licensed works only, by kansei profile, explained by the shared tags."""

from datetime import date

import numpy as np

from pipelines.kansei.config import load_embedding_config
from pipelines.similarity import run_similarity
from pipelines.similarity.articles import article_matrix, article_neighbours, read_livedoor
from pipelines.warehouse import writer
from tests.similarity.conftest import Catalog, write_item_vectors
from tests.similarity.test_articles import MINI
from tests.similarity.test_run import query

NIGHT = date(2026, 11, 24)


def _licences(settings, windows: list[tuple[str, str, date, date | None, bool]]) -> None:
    with writer(settings.warehouse, publish=False) as con:
        con.execute(
            """
            CREATE OR REPLACE TABLE marts.fct_licence_window (
                work_id VARCHAR, status VARCHAR, window_start DATE, window_end DATE, is_withdrawn BOOLEAN)
            """
        )
        con.executemany("INSERT INTO marts.fct_licence_window VALUES (?, ?, ?, ?, ?)", windows)


def _articles(settings, tags: dict[str, dict[str, float]]) -> None:
    with writer(settings.warehouse, publish=False) as con:
        con.execute(
            """
            CREATE OR REPLACE TABLE marts.dim_article AS
            SELECT article_id, 'ja' AS language, article_id AS title, '' AS body FROM unnest(?::VARCHAR[]) t(article_id)
            """,
            [sorted(tags)],
        )
        con.execute("DELETE FROM kansei.article_tags")
        for article, scores in tags.items():
            for tag, score in scores.items():
                con.execute(
                    """
                    INSERT INTO kansei.article_tags (article_id, tag_id, facet, score, source, model_version, logical_date)
                    VALUES (?, ?, ?, ?, 'lexicon', 'test', ?)
                    """,
                    [article, tag, tag.split(".")[0], score, NIGHT],
                )
        con.execute("DELETE FROM kansei.item_vectors WHERE kind = 'article'")
        write_item_vectors(con, settings, "article", {a: s for a, s in tags.items() if s}, "test")


def test_articles_get_licensed_works_sharing_their_tags_with_an_explanation(similarity_settings):
    settings = similarity_settings()
    catalog = Catalog(settings)
    vector = np.eye(8, dtype=np.float32)
    catalog.add("rec-calm", "recording", vector[0], {"mood.calm": 0.8, "emotion.comfort": 0.6})
    catalog.add("rec-calm-ended", "recording", vector[1], {"mood.calm": 0.9, "emotion.comfort": 0.7})
    catalog.add("rec-calm-withdrawn", "recording", vector[2], {"mood.calm": 0.9})
    catalog.add("rec-calm-later", "recording", vector[3], {"mood.calm": 0.9})
    catalog.add("rec-dark", "recording", vector[4], {"mood.dark": 0.9})
    catalog.add("movie-crime", "movie", vector[5], {"theme.crime": 0.8, "mood.dark": 0.5})
    catalog.add("movie-calm", "movie", vector[6], {"mood.calm": 0.5, "theme.crime": 0.5})
    catalog.write()
    _licences(
        settings,
        [
            ("rec-calm", "active", date(2026, 11, 1), None, False),
            ("rec-calm-ended", "active", date(2026, 1, 1), date(2026, 11, 23), False),  # ended the day before
            ("rec-calm-withdrawn", "active", date(2026, 1, 1), None, True),
            ("rec-calm-later", "active", date(2026, 11, 25), None, False),  # starts the day after
            ("rec-dark", "active", date(2026, 11, 24), date(2026, 11, 24), False),  # bounds inclusive
            ("movie-crime", "active", date(2026, 1, 1), None, False),
            ("movie-calm", "active", date(2026, 1, 1), None, False),
        ],
    )
    _articles(
        settings,
        {
            "art-spa": {"mood.calm": 0.9, "emotion.comfort": 0.8},
            "art-murder": {"theme.crime": 0.9, "mood.dark": 0.6},
            "art-food": {"theme.food": 0.9},
        },
    )
    summary = run_similarity(settings, NIGHT)
    rows = query(
        settings,
        "SELECT article_id, work_id, rank, score, shared_tags, explanation FROM similarity.article_work_matches "
        "ORDER BY article_id, rank",
    )
    assert summary.article_work_matches == len(rows) == 5
    by_article: dict[str, list[tuple]] = {}
    for article, work, rank, score, shared, line in rows:
        by_article.setdefault(article, []).append((work, rank, score, shared, line))
    # the spa article: the calm song licensed today, then the calm crime film; never an unlicensed calm song
    assert [(w, r, shared) for w, r, _, shared, _ in by_article["art-spa"]] == [
        ("rec-calm", 1, ["mood.calm", "emotion.comfort"]),
        ("movie-calm", 2, ["mood.calm"]),
    ]
    assert by_article["art-spa"][0][4] == "Shares the article's Calm (穏やか), Comfort (癒やし)."
    assert by_article["art-spa"][0][2] == 0.996546  # 1.2 / (|(0.9, 0.8)| x |(0.8, 0.6)|)
    assert [(w, shared) for w, _, _, shared, _ in by_article["art-murder"]] == [
        ("movie-crime", ["theme.crime", "mood.dark"]),
        ("movie-calm", ["theme.crime"]),
        ("rec-dark", ["mood.dark"]),
    ]
    assert "art-food" not in by_article  # no licensed work shares its tag


def test_nightly_similar_articles_are_those_the_eval_measures(similarity_settings):
    """similarity.article_neighbors uses the representation of `msdb similar eval`: same neighbours."""
    settings = similarity_settings(article_neighbors=4)
    Catalog(settings).write()
    articles = read_livedoor(MINI)
    with writer(settings.warehouse, publish=False) as con:
        con.execute("CREATE OR REPLACE TABLE marts.dim_article (article_id VARCHAR, language VARCHAR, title VARCHAR, body VARCHAR)")
        con.executemany(
            "INSERT INTO marts.dim_article VALUES (?, 'ja', ?, ?)",
            [(a.file.removesuffix(".txt"), a.title, a.body) for a in articles],
        )
    summary = run_similarity(settings, NIGHT)
    assert summary.article_neighbors == 15 * 4
    stored = query(settings, "SELECT article_id, neighbor_article_id FROM similarity.article_neighbors ORDER BY article_id, rank")
    ids = sorted(a.file.removesuffix(".txt") for a in articles)
    by_id = {a.file.removesuffix(".txt"): a for a in articles}
    config = load_embedding_config(settings.models_dir).similarity.articles
    index, _ = article_neighbours(article_matrix([by_id[i].text for i in ids], config), 4, config)
    assert stored == [(ids[q], ids[j]) for q in range(15) for j in index[q]]
    assert all(a.split("-")[0] == n.split("-")[0] for a, n in stored)  # precision@4 1.0, as the eval test says


def test_kansei_item_vectors_are_read_when_the_tag_stage_writes_them(similarity_settings):
    """kansei.item_vectors is the kansei profile of works and articles, not the tag rows."""
    from pipelines.kansei.config import load_taxonomy

    settings = similarity_settings()
    catalog = Catalog(settings)
    catalog.add("rec-x", "recording", np.eye(8, dtype=np.float32)[0], {"mood.calm": 0.9})  # tags say calm
    catalog.add("rec-y", "recording", np.eye(8, dtype=np.float32)[1], {"mood.dark": 0.9})
    catalog.write()
    _licences(settings, [(w, "active", date(2026, 1, 1), None, False) for w in ("rec-x", "rec-y")])
    _articles(settings, {"art-1": {"mood.calm": 0.9}})  # the tag rows would match rec-x
    tag_ids = [t.id for t in load_taxonomy(settings.models_dir).tags]
    calm = [0.9 if t == "mood.calm" else 0.0 for t in tag_ids]
    with writer(settings.warehouse, publish=False) as con:
        con.execute("DELETE FROM kansei.item_vectors")
        write_item_vectors(
            con, settings, "article", {"art-1": dict(zip(tag_ids, calm, strict=True))}, "test"
        )
        write_item_vectors(con, settings, "work", {"rec-y": {"mood.calm": 0.9}, "rec-x": {}}, "test")
    run_similarity(settings, NIGHT)
    assert query(settings, "SELECT article_id, work_id, rank, shared_tags FROM similarity.article_work_matches") == [
        ("art-1", "rec-y", 1, ["mood.calm"])
    ]
