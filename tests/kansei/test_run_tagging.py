"""The tag stage on a small warehouse whose marts are written directly: incremental nights equal a full
refresh, unchanged texts are never embedded again, and every work is tagged or untaggable with a reason."""

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

import pipelines.kansei as kansei
from pipelines.kansei import NO_LEXICON_MATCH, NO_TAG, NO_TEXT, run_tagging
from pipelines.settings import PROJECT_ROOT, MsdbSettings
from pipelines.warehouse import writer

NIGHT_1, NIGHT_2 = date(2026, 11, 30), date(2026, 12, 1)
TABLES = ("kansei.work_tags", "kansei.article_tags", "kansei.tag_status", "kansei.work_embeddings", "kansei.text_tags")

# (work_id, kind, title, title_en, title_ja, genres, summary)
WORKS = [
    ("w_01", "movie", "Yoru no Keiji", "The Night Detective", "夜の刑事", ["Crime"], "A detective hunts a killer through a series of murders."),
    ("w_02", "recording", "Natsu Matsuri", None, "夏祭りの花火", ["J-Pop"], None),
    ("w_03", "recording", "Tsuki no Uta No. 5", None, "月の歌 第5番", None, None),
    ("w_04", "recording", "Love Letter", "Love Letter", None, ["Ballad"], "A tender love song about first love."),
    ("w_05", "recording", "Love Letter", "Love Letter", None, ["Ballad"], "A tender love song about first love."),  # same text as w_04
    ("w_06", "movie", "Ramen Road", "Ramen Road", None, ["Documentary"], "A chef travels the country cooking ramen in tiny kitchens."),
    ("w_07", "recording", "Ame", None, "雨", None, None),
    ("w_08", "episode", "Snow Day", "Snow Day", "雪の日", ["Family"], "Children play in the winter snow at Christmas."),
    ("w_09", "recording", None, None, None, None, None),  # nothing to read
    ("w_10", "recording", "Party Tonight", "Party Tonight", None, ["Dance"], "A club dance floor full of people at midnight."),
]
# (article_id, language, title, body)
ARTICLES = [
    ("a_01", "ja", "雨の日のカフェ", "雨の日は窓辺の席で温かいコーヒーを。"),
    ("a_02", "en", "Summer fireworks", "The summer festival ends with fireworks over the beach."),
    ("a_03", "ja", "ＡＢＣ", "１２３"),  # Japanese, but nothing the lexicon knows
    ("a_04", "en", "Summer fireworks", "The summer festival ends with fireworks over the beach."),
]


def _warehouse(tmp_path: Path, name: str = "msdb.duckdb") -> MsdbSettings:
    settings = MsdbSettings(warehouse=tmp_path / name, var_dir=tmp_path / "var", models_dir=PROJECT_ROOT / "models")
    with writer(settings.warehouse, publish=False) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute(
            """
            CREATE TABLE marts.dim_work (work_id VARCHAR, kind VARCHAR, title VARCHAR, title_en VARCHAR,
                title_latn VARCHAR, title_ja VARCHAR, genres VARCHAR[], summary VARCHAR)
            """
        )
        con.execute("CREATE TABLE marts.dim_article (article_id VARCHAR, language VARCHAR, title VARCHAR, body VARCHAR)")
        con.executemany(
            "INSERT INTO marts.dim_work VALUES (?, ?, ?, ?, NULL, ?, ?, ?)", [list(w) for w in WORKS]
        )
        con.executemany("INSERT INTO marts.dim_article VALUES (?, ?, ?, ?)", [list(a) for a in ARTICLES])
    return settings


def _sql(settings: MsdbSettings, statement: str, parameters=None) -> list[tuple]:
    with writer(settings.warehouse, publish=False) as con:
        result = con.execute(statement, parameters or [])
        return result.fetchall() if result.description else []


def _tables(settings: MsdbSettings, without_dates: bool = False) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        out = {}
        for table in TABLES:
            has_date = "logical_date" in [c[0] for c in con.execute(f"DESCRIBE {table}").fetchall()]
            columns = "* EXCLUDE (logical_date)" if without_dates and has_date else "*"
            out[table] = con.execute(f"SELECT {columns} FROM {table} ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


def _change_two_texts(settings: MsdbSettings) -> None:
    _sql(settings, "UPDATE marts.dim_work SET summary = 'A gentle rain falls on a quiet harbour.' WHERE work_id = 'w_06'")
    _sql(settings, "UPDATE marts.dim_article SET body = '夏の海辺で花火を見た。' WHERE article_id = 'a_01'")


@pytest.fixture
def embedded(monkeypatch) -> list[str]:
    """Every text the stage hands to the (real) model."""
    texts: list[str] = []
    real = kansei.embed

    def recording_embed(batch, model, batch_size=64):
        texts.extend(batch)
        return real(batch, model, batch_size)

    monkeypatch.setattr(kansei, "embed", recording_embed)
    return texts


def test_incremental_night_equals_full_refresh(tmp_path):
    settings = _warehouse(tmp_path)
    run_tagging(settings, NIGHT_1)
    _change_two_texts(settings)
    shutil.copy(settings.warehouse, tmp_path / "full.duckdb")
    full = settings.model_copy(update={"warehouse": tmp_path / "full.duckdb"})

    incremental_summary = run_tagging(settings, NIGHT_2)
    full_summary = run_tagging(full, NIGHT_2, full_refresh=True)

    assert (incremental_summary.items_retagged, full_summary.items_retagged) == (2, len(WORKS) + len(ARTICLES))
    assert _tables(settings, without_dates=True) == _tables(full, without_dates=True)
    # The changed texts carry tonight's date, the others the night they were tagged.
    dated = dict(_sql(settings, "SELECT item_id, logical_date FROM kansei.tag_status"))
    assert dated["w_06"] == dated["a_01"] == NIGHT_2 and dated["w_01"] == dated["a_02"] == NIGHT_1
    # The rain summary of w_06 reads as rain now.
    assert ("w_06", "scene.rain") in _sql(settings, "SELECT work_id, tag_id FROM kansei.work_tags")
    assert ("a_01", "scene.summer") in _sql(settings, "SELECT article_id, tag_id FROM kansei.article_tags")


def test_unchanged_texts_are_never_embedded_again(tmp_path, embedded):
    settings = _warehouse(tmp_path)
    first = run_tagging(settings, NIGHT_1)
    # w_04 and w_05 share a text and a_02 and a_04 another: each is embedded once.
    assert embedded.count("Love Letter. Ballad. A tender love song about first love.") == 1
    assert first.texts_scored == len(WORKS) + len(ARTICLES) - 2

    embedded.clear()
    second = run_tagging(settings, NIGHT_2)
    assert embedded == [] and second.items_retagged == second.texts_scored == 0

    _change_two_texts(settings)
    embedded.clear()
    third = run_tagging(settings, NIGHT_2)
    descriptions = len(kansei.load_taxonomy(settings.models_dir).tags)
    # The tag descriptions, then the one changed English text (a_01 is Japanese: the lexicon reads it).
    assert embedded[descriptions:] == ["Ramen Road. Documentary. A gentle rain falls on a quiet harbour."]
    assert (third.items_retagged, third.texts_scored) == (2, 2)


def test_every_work_and_article_is_tagged_or_untaggable_with_a_reason(tmp_path):
    settings = _warehouse(tmp_path)
    summary = run_tagging(settings, NIGHT_1)

    status = {row[0]: row[1:] for row in _sql(settings, "SELECT item_id, tags, untaggable_reason FROM kansei.tag_status")}
    assert len(status) == len(WORKS) + len(ARTICLES)
    assert status["w_09"] == (0, NO_TEXT) and status["a_03"] == (0, NO_LEXICON_MATCH)
    tagged = {row[0] for row in _sql(settings, "SELECT work_id FROM kansei.work_tags UNION SELECT article_id FROM kansei.article_tags")}
    assert tagged == {item for item, (_, reason) in status.items() if reason is None}
    assert summary.works_tagged + summary.works_untaggable == len(WORKS)
    assert (summary.works_untaggable, summary.articles_untaggable) == (1, 1)
    # A bare romanised title is near no tag description, but keeps its best tags (2026.12.1).
    assert status["w_03"][0] >= 1
    # The lexicon still tags Japanese titles; untaggable work w_09 keeps a vector (of the empty text) for similarity.
    assert ("w_07", "scene.rain", "lexicon") in _sql(settings, "SELECT work_id, tag_id, source FROM kansei.work_tags")
    assert _sql(settings, "SELECT count(*), count(DISTINCT work_id) FROM kansei.work_embeddings") == [(len(WORKS), len(WORKS))]


def test_a_text_near_no_tag_is_untaggable_and_a_new_version_replaces_every_row(tmp_path):
    settings = _warehouse(tmp_path)
    run_tagging(settings, NIGHT_1)
    models = tmp_path / "models"
    shutil.copytree(PROJECT_ROOT / "models", models)
    config = (models / "embedding.yaml").read_text("utf-8")
    config = config.replace('version: "2026.12.1"', 'version: "2026.12.1-strict"').replace("embedding_floor: 0.15", "embedding_floor: 0.99")
    (models / "embedding.yaml").write_text(config, "utf-8")
    strict = settings.model_copy(update={"models_dir": models})

    summary = run_tagging(strict, NIGHT_2)

    assert summary.items_retagged == len(WORKS) + len(ARTICLES)
    assert "2026.12.1-strict" in summary.model_version
    for table in TABLES:
        assert _sql(strict, f"SELECT DISTINCT model_version FROM {table}") == [(summary.model_version,)]
    assert _sql(strict, "SELECT untaggable_reason FROM kansei.tag_status WHERE item_id = 'w_03'") == [(NO_TAG,)]


def test_deleted_works_and_articles_lose_their_tags_and_vectors(tmp_path):
    settings = _warehouse(tmp_path)
    run_tagging(settings, NIGHT_1)
    assert _sql(settings, "SELECT count(*) FROM kansei.work_tags WHERE work_id = 'w_01'")[0][0] > 0
    _sql(settings, "DELETE FROM marts.dim_work WHERE work_id IN ('w_01', 'w_04')")
    _sql(settings, "DELETE FROM marts.dim_article WHERE article_id = 'a_02'")

    summary = run_tagging(settings, NIGHT_2)

    assert summary.items_retagged == 0
    for table, key in (
        ("kansei.work_tags", "work_id"),
        ("kansei.work_embeddings", "work_id"),
        ("kansei.article_tags", "article_id"),
        ("kansei.tag_status", "item_id"),
    ):
        assert _sql(settings, f"SELECT count(*) FROM {table} WHERE {key} IN ('w_01', 'w_04', 'a_02')") == [(0,)]
    # w_05 keeps the text it shared with w_04, a_04 the one it shared with a_02; w_01's text is gone from the cache.
    assert _sql(settings, "SELECT count(*) FROM kansei.work_tags WHERE work_id = 'w_05'")[0][0] > 0
    assert _sql(settings, "SELECT count(*) FROM kansei.text_tags") == [(len(WORKS) + len(ARTICLES) - 2 - 1,)]


def test_small_batches_give_what_one_batch_gives(tmp_path):
    one = _warehouse(tmp_path, "one.duckdb")
    small = _warehouse(tmp_path, "small.duckdb")
    run_tagging(one, NIGHT_1)
    summary = run_tagging(small, NIGHT_1, batch_size=3)
    assert summary.texts_scored == len(WORKS) + len(ARTICLES) - 2
    assert _tables(small) == _tables(one)
