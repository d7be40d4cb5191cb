"""The tag stage on a small warehouse whose marts are written directly: incremental nights equal a full
refresh, unchanged texts are never embedded again, every work is tagged or untaggable with a reason, and the
tags carry one primary, weights, evidence and versions, with a kansei vector per item and drift between runs."""

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import duckdb

from pipelines.kansei import NO_TAG, NO_TEXT, embed_shard, run_tagging, versions
from pipelines.kansei.config import load_taxonomy
from pipelines.kansei.embedders import text_sha256, text_shard
from pipelines.nightly import embed_kansei_shard
from pipelines.settings import PROJECT_ROOT, MsdbSettings
from pipelines.warehouse import ensure_schema, publish, writer

NIGHT_1, NIGHT_2 = date(2026, 11, 30), date(2026, 12, 1)
TABLES = (
    "kansei.work_tags", "kansei.article_tags", "kansei.tag_status", "kansei.work_embeddings", "kansei.text_tags",
    "kansei.item_vectors",
)  # fmt: skip
RUN_COLUMNS = ("logical_date", "run_id")  # differ between an incremental night and a full refresh

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
    ("w_11", "recording", "Yoru no Ame, Hitori", None, "夜の雨、ひとり", ["J-Pop"], None),
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
            present = [c[0] for c in con.execute(f"DESCRIBE {table}").fetchall() if c[0] in RUN_COLUMNS]
            columns = f"* EXCLUDE ({', '.join(present)})" if without_dates and present else "*"
            out[table] = con.execute(f"SELECT {columns} FROM {table} ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


def _change_two_texts(settings: MsdbSettings) -> None:
    _sql(settings, "UPDATE marts.dim_work SET summary = 'The rainy season: a week of rain on the harbour.' WHERE work_id = 'w_06'")
    _sql(settings, "UPDATE marts.dim_article SET body = '夏の海辺で花火を見た。' WHERE article_id = 'a_01'")


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


def test_unchanged_texts_are_never_embedded_again(tmp_path):
    settings = _warehouse(tmp_path)
    first = run_tagging(settings, NIGHT_1)
    # w_04 and w_05 share a text and a_02 and a_04 another: each is scored once; w_09's empty text is not embedded.
    assert (first.texts_scored, first.texts_embedded) == (len(WORKS) + len(ARTICLES) - 2, len(WORKS) + len(ARTICLES) - 3)

    second = run_tagging(settings, NIGHT_2)
    assert (second.items_retagged, second.texts_scored, second.texts_embedded) == (0, 0, 0)

    _change_two_texts(settings)
    third = run_tagging(settings, NIGHT_2)
    assert (third.items_retagged, third.texts_scored, third.texts_embedded) == (2, 2, 2)

    # A full refresh scores every text again, but the embedding cache (model id, text sha256) holds them all.
    full = run_tagging(settings, NIGHT_2, full_refresh=True)
    assert (full.texts_scored, full.texts_embedded) == (len(WORKS) + len(ARTICLES) - 2, 0)


def test_every_work_and_article_is_tagged_or_untaggable_with_a_reason(tmp_path):
    settings = _warehouse(tmp_path)
    summary = run_tagging(settings, NIGHT_1)

    status = {row[0]: row[1:] for row in _sql(settings, "SELECT item_id, tags, untaggable_reason FROM kansei.tag_status")}
    assert len(status) == len(WORKS) + len(ARTICLES)
    assert status["w_09"] == (0, NO_TEXT) and status["a_03"] == (0, NO_TAG)
    tagged = {row[0] for row in _sql(settings, "SELECT work_id FROM kansei.work_tags UNION SELECT article_id FROM kansei.article_tags")}
    assert tagged == {item for item, (_, reason) in status.items() if reason is None}
    assert summary.works_tagged + summary.works_untaggable == len(WORKS)
    assert (summary.works_untaggable, summary.articles_untaggable) == (1, 1)
    # A romanised title with its Japanese one: 月 (the moon) reads as night.
    assert ("w_03", "scene.night") in _sql(settings, "SELECT work_id, tag_id FROM kansei.work_tags")
    # The lexicon tags Japanese titles; untaggable work w_09 keeps a (zero) vector for similarity.
    assert ("w_07", "scene.rain", "lexicon") in _sql(settings, "SELECT work_id, tag_id, source FROM kansei.work_tags")
    assert _sql(settings, "SELECT count(*), count(DISTINCT work_id) FROM kansei.work_embeddings") == [(len(WORKS), len(WORKS))]


def test_a_text_near_no_tag_is_untaggable_and_a_new_version_replaces_every_row(tmp_path):
    settings = _warehouse(tmp_path)
    run_tagging(settings, NIGHT_1)
    models = tmp_path / "models"
    shutil.copytree(PROJECT_ROOT / "models", models)
    scoring = (models / "kansei" / "scoring.yaml").read_text("utf-8")
    version = scoring.split('version: "', 1)[1].split('"', 1)[0]
    scoring = scoring.replace(f'version: "{version}"', f'version: "{version}-strict"')
    scoring = scoring.replace("min_weight: 50.0", "min_weight: 99.0").replace("floor_weight: 25.0", "floor_weight: 99.0")
    (models / "kansei" / "scoring.yaml").write_text(scoring, "utf-8")
    strict = settings.model_copy(update={"models_dir": models})

    summary = run_tagging(strict, NIGHT_2)

    assert summary.items_retagged == len(WORKS) + len(ARTICLES)
    assert f"scoring@{version}-strict/" in summary.model_version
    for table in TABLES:
        assert _sql(strict, f"SELECT DISTINCT model_version FROM {table}") in ([(summary.model_version,)], [])
    # w_03's best tag (night, from 月) is under 99 now; w_01's crime (its synopsis and 刑事) is not.
    assert _sql(strict, "SELECT untaggable_reason FROM kansei.tag_status WHERE item_id = 'w_03'") == [(NO_TAG,)]
    assert _sql(strict, "SELECT tag_id FROM kansei.work_tags WHERE work_id = 'w_01'") == [("theme.crime",)]


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
        ("kansei.item_vectors", "item_id"),
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
    assert _tables(small, without_dates=True) == _tables(one, without_dates=True)


def test_tagged_items_have_one_primary_weights_evidence_versions_and_a_kansei_vector(tmp_path):
    settings = _warehouse(tmp_path)
    summary = run_tagging(settings, NIGHT_1)
    expected = versions(settings)
    rows = _sql(
        settings,
        """
        SELECT 'work', work_id, tag_id, label_en, label_ja, weight, score, rank, is_primary, evidence, source,
               model_id, taxonomy_version, lexicon_version, model_version, run_id
        FROM kansei.work_tags
        UNION ALL
        SELECT 'article', article_id, tag_id, label_en, label_ja, weight, score, rank, is_primary, evidence, source,
               model_id, taxonomy_version, lexicon_version, model_version, run_id
        FROM kansei.article_tags
        """,
    )
    items: dict[tuple[str, str], list[tuple]] = {}
    for row in rows:
        items.setdefault(row[:2], []).append(row)
    assert len(items) == summary.works_tagged + summary.articles_tagged == 10 + 3
    for tags in items.values():
        assert sum(1 for t in tags if t[8]) == 1  # one primary
        assert sorted(t[7] for t in tags) == list(range(1, len(tags) + 1))
        primary = next(t for t in tags if t[8])
        assert primary[7] == 1 and primary[5] == max(t[5] for t in tags)
    for row in rows:
        assert 0 <= row[5] <= 100 and row[6] == round(row[5] / 100, 3)
        assert row[3] and row[4] and row[9]  # both labels, evidence
        assert row[10] in ("exemplar", "head", "lexicon", "mead")
        assert row[11:14] == (expected["model_id"], expected["taxonomy"], expected["lexicon"])
        assert row[14] == summary.model_version and row[15] == summary.run_id
    assert expected["model_id"].startswith("use:multilingual-v3@") and expected["taxonomy"] == "2026.12.3"
    crime = next(r for r in rows if r[1] == "w_01" and r[2] == "theme.crime")
    assert crime[3:5] == ("Crime and mystery", "事件・ミステリー") and crime[8]

    # One kansei vector per tagged item: its tags' weights / 100 in taxonomy order.
    tag_ids = [t.id for t in load_taxonomy(settings.models_dir).tags]
    vectors = {(k, i): v for k, i, v in _sql(settings, "SELECT kind, item_id, vector FROM kansei.item_vectors")}
    assert vectors.keys() == items.keys()
    for key, tags in items.items():
        assert len(vectors[key]) == len(tag_ids)
        assert {tag_ids[j]: round(x, 3) for j, x in enumerate(vectors[key]) if x} == {t[2]: round(t[5] / 100, 3) for t in tags}


def test_yoru_no_ame_hitori_reads_as_a_lonely_rainy_night(tmp_path):
    settings = _warehouse(tmp_path)
    run_tagging(settings, NIGHT_1)
    tags = dict(_sql(settings, "SELECT tag_id, evidence FROM kansei.work_tags WHERE work_id = 'w_11'"))
    assert {"scene.night", "scene.rain"} <= tags.keys()
    assert tags.keys() & {"mood.melancholic", "emotion.loneliness"}
    assert not tags.keys() & {"emotion.joy", "mood.happy", "scene.morning"}
    assert tags["scene.rain"] == "雨"


def test_delivered_mead_moods_feed_the_mood_signal_and_retag_when_they_change(tmp_path):
    settings = _warehouse(tmp_path)
    _sql(settings, "CREATE TABLE marts.fct_work_descriptor (work_id VARCHAR, descriptor VARCHAR, value VARCHAR)")
    _sql(settings, "INSERT INTO marts.fct_work_descriptor VALUES ('w_10', 'Mood', 'Peaceful'), ('w_10', 'BeatsPerMinute', '120')")
    run_tagging(settings, NIGHT_1)
    calm = _sql(settings, "SELECT evidence, signals.mead FROM kansei.work_tags WHERE work_id = 'w_10' AND tag_id = 'mood.calm'")
    assert calm == [("mead:Peaceful", 0.9)]

    _sql(settings, "DELETE FROM marts.fct_work_descriptor")
    summary = run_tagging(settings, NIGHT_2)
    assert summary.items_retagged == 1
    assert _sql(settings, "SELECT count(*) FROM kansei.work_tags WHERE work_id = 'w_10' AND signals.mead IS NOT NULL") == [(0,)]


def test_drift_compares_each_run_with_the_previous_one(tmp_path):
    settings = _warehouse(tmp_path)
    first = run_tagging(settings, NIGHT_1)
    _change_two_texts(settings)
    second = run_tagging(settings, NIGHT_2)

    runs = _sql(settings, "SELECT run_id, previous_run_id, count(*) FROM kansei.tag_drift GROUP BY ALL ORDER BY min(run_started_at)")
    assert [r[:2] for r in runs] == [(first.run_id, None), (second.run_id, first.run_id)]
    assert _sql(settings, "SELECT count(*) FROM kansei.tag_drift WHERE run_id = ? AND delta IS NOT NULL", [first.run_id]) == [(0,)]
    # Summer: on a_02 and a_04 of the 3 tagged articles, then on a_01 too.
    summer = _sql(
        settings,
        "SELECT items, share, previous_share, delta FROM kansei.tag_drift WHERE run_id = ? AND kind = 'article' AND tag_id = 'scene.summer'",
        [second.run_id],
    )
    assert [(items, round(share, 4), round(before, 4), round(delta, 4)) for items, share, before, delta in summer] == [
        (3, 1.0, 0.6667, 0.3333)
    ]
    # Every tag carried now has a row of this run, with its count of items.
    carried = _sql(settings, "SELECT tag_id, count(*) FROM kansei.work_tags GROUP BY tag_id ORDER BY tag_id")
    assert _sql(
        settings,
        "SELECT tag_id, items FROM kansei.tag_drift WHERE run_id = ? AND kind = 'work' AND items > 0 ORDER BY tag_id",
        [second.run_id],
    ) == carried


def test_tables_of_the_tag_stage_before_fused_scoring_are_recreated(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA kansei")
    con.execute(
        "CREATE TABLE kansei.text_tags (text_sha256 VARCHAR NOT NULL, model_version VARCHAR NOT NULL, "
        "tags STRUCT(tag_id VARCHAR, facet VARCHAR, score DOUBLE, source VARCHAR)[] NOT NULL, untaggable_reason VARCHAR)"
    )
    con.execute("INSERT INTO kansei.text_tags VALUES ('ab', 'minilm', [], 'no text')")
    ensure_schema(con)
    ensure_schema(con)  # and again: nothing more to do
    columns = [c[0] for c in con.execute("DESCRIBE kansei.text_tags").fetchall()]
    assert columns == ["text_sha256", "model_version", "tags", "vector", "untaggable_reason"]
    assert con.execute("SELECT count(*) FROM kansei.text_tags").fetchone() == (0,)
    assert "is_primary" in [c[0] for c in con.execute("DESCRIBE kansei.work_tags").fetchall()]
    con.close()


# The DAG's `embed` tasks: shards of tonight's texts embedded into the cache before the tag stage, read from the
# published copy. 15 items, 13 distinct texts (w_04/w_05 and a_02/a_04 share one), 12 with words (w_09 has none).
DISTINCT_TEXTS, TEXTS_WITH_WORDS = len(WORKS) + len(ARTICLES) - 2, len(WORKS) + len(ARTICLES) - 3


def _cached_keys(var_dir: Path) -> set[str]:
    """The text hashes whose vectors the embedding cache under var_dir holds."""
    keys: set[str] = set()
    for path in (var_dir / "kansei" / "embeddings").glob("*.sqlite"):
        con = sqlite3.connect(path)
        keys |= {key for (key,) in con.execute("SELECT sha256 FROM vectors")}
        con.close()
    return keys


def test_after_the_embedding_shards_the_tag_stage_encodes_nothing_and_tags_the_same(tmp_path):
    sharded = _warehouse(tmp_path / "sharded")
    publish(sharded.warehouse)  # what the build stage's task does when it ends

    shards = [embed_shard(sharded, shard, 2) for shard in (0, 1)]

    assert [(s.shard, s.shards) for s in shards] == [(0, 2), (1, 2)]
    # 6 + 7 texts, 6 + 6 embedded: shard 1 holds w_09's empty text, which is never embedded
    assert [(s.texts, s.texts_embedded) for s in shards] == [(6, 6), (7, 6)]
    assert (sum(s.texts for s in shards), sum(s.texts_embedded for s in shards)) == (DISTINCT_TEXTS, TEXTS_WITH_WORDS)
    tagged = run_tagging(sharded, NIGHT_1)
    assert (tagged.texts_scored, tagged.texts_embedded) == (DISTINCT_TEXTS, 0)

    plain = _warehouse(tmp_path / "plain")
    without_shards = run_tagging(plain, NIGHT_1)
    assert (without_shards.texts_scored, without_shards.texts_embedded) == (DISTINCT_TEXTS, TEXTS_WITH_WORDS)
    assert _tables(sharded, without_dates=True) == _tables(plain, without_dates=True)
    assert ("w_07", "scene.rain") in _sql(sharded, "SELECT work_id, tag_id FROM kansei.work_tags")

    # The next night the shards take only the texts that changed, as the tag stage does.
    _change_two_texts(sharded)
    publish(sharded.warehouse)
    # through what the DAG's mapped `embed` task calls: a JSON summary for its XCom
    shards = [embed_kansei_shard(shard, 2, sharded) for shard in (0, 1)]
    assert [(s["shard"], s["shards"]) for s in shards] == [(0, 2), (1, 2)]
    assert (sum(s["texts"] for s in shards), sum(s["texts_embedded"] for s in shards)) == (2, 2)
    again = run_tagging(sharded, NIGHT_2)
    assert (again.items_retagged, again.texts_scored, again.texts_embedded) == (2, 2, 0)
    assert ("w_06", "scene.rain") in _sql(sharded, "SELECT work_id, tag_id FROM kansei.work_tags")


def test_shards_partition_the_texts(tmp_path):
    settings = _warehouse(tmp_path)
    publish(settings.warehouse)
    cached: dict[tuple[int, int], set[str]] = {}
    for shard, shards in ((0, 1), (0, 3), (1, 3), (2, 3)):
        var_dir = tmp_path / f"var-{shard}-of-{shards}"  # a cache of its own
        embed_shard(settings.model_copy(update={"var_dir": var_dir}), shard, shards)
        cached[shard, shards] = _cached_keys(var_dir)

    everything = cached[0, 1]
    assert len(everything) == TEXTS_WITH_WORDS
    thirds = [cached[shard, 3] for shard in range(3)]
    assert [len(third) for third in thirds] == [3, 6, 3]
    assert thirds[0].isdisjoint(thirds[1]) and thirds[0].isdisjoint(thirds[2]) and thirds[1].isdisjoint(thirds[2])
    assert thirds[0] | thirds[1] | thirds[2] == everything
    # A text is in the shard of its hash (the key of the cache): int(sha256, 16) % shards.
    assert text_sha256("雨. Ame") in thirds[text_shard("雨. Ame", 3)]  # w_07
