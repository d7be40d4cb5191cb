"""Mood stations: per kansei mood or scene, the partner's strongest licensed tracks, ranked totally."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import jsonschema
import pytest

from pipelines.export.feed_schema import MOOD_STATIONS
from pipelines.export.formats import folder
from pipelines.export.mood_stations import mood_stations_sql, station_batches, write_mood_stations
from pipelines.kansei.config import load_taxonomy
from pipelines.partner_feed import partner_feed
from tests.test_partner_feed import FEED_TABLE, SOURCE_COLUMNS, contract, window, work

ON = date(2026, 11, 25)
MODELS = Path(__file__).resolve().parents[2] / "models"
OPEN = window("JP", date(2026, 1, 1), None)
ENDED = window("JP", date(2025, 1, 1), date(2026, 11, 24))

CATALOG = [
    work(OPEN, work_id="w_00000000000000000001", isrc="JPZZ02600001", title="Shizuka", title_ja="静か", display_artist="Nagi"),
    work(OPEN, work_id="w_00000000000000000002", isrc="JPZZ02600002", title="Ame", title_ja="雨"),
    work(OPEN, work_id="w_00000000000000000003", isrc="JPZZ02600003", title="Setsunai", title_ja=None),
    work(ENDED, work_id="w_00000000000000000004", isrc="JPZZ02600004", title="Owari"),  # licence ended yesterday
    work(OPEN, work_id="w_00000000000000000005", kind="release", isrc=None, icpn="4988000000005", title="Album"),
]  # fmt: skip
TAGS = [
    ("w_00000000000000000001", "mood.calm", 0.9, "embedding"),
    ("w_00000000000000000001", "scene.rain", 0.35, "embedding"),
    ("w_00000000000000000001", "scene.rain", 0.4, "lexicon"),  # two signals: the higher counts
    ("w_00000000000000000001", "theme.love", 0.95, "lexicon"),  # a theme: no station
    ("w_00000000000000000002", "mood.calm", 0.7, "embedding"),
    ("w_00000000000000000002", "scene.rain", 0.7, "embedding"),
    ("w_00000000000000000003", "mood.calm", 0.7, "embedding"),  # ties with w_...02: work id decides
    ("w_00000000000000000003", "mood.melancholic", 0.6, "embedding"),
    ("w_00000000000000000004", "mood.calm", 0.99, "embedding"),  # not licensed today
    ("w_00000000000000000005", "mood.calm", 0.95, "embedding"),  # a release, not a track
]


@pytest.fixture
def con():
    with duckdb.connect() as con:
        con.execute(FEED_TABLE)
        con.executemany(
            f"INSERT INTO feed_works ({', '.join(SOURCE_COLUMNS)}) VALUES ({', '.join('?' for _ in SOURCE_COLUMNS)})",
            [[w.get(c) for c in SOURCE_COLUMNS] for w in CATALOG],
        )
        con.execute("CREATE SCHEMA kansei")
        con.execute(
            "CREATE TABLE kansei.work_tags (work_id VARCHAR, tag_id VARCHAR, facet VARCHAR, score DOUBLE, "
            "source VARCHAR, model_version VARCHAR, logical_date DATE)"
        )
        con.executemany(
            "INSERT INTO kansei.work_tags VALUES (?, ?, split_part(?, '.', 1), ?, ?, 'test', DATE '2026-11-24')",
            [(w, t, t, s, src) for w, t, s, src in TAGS],
        )
        yield con


def stations(con, top_n: int) -> list[tuple]:
    feed = partner_feed(con, contract(work_kinds=["recording", "release"], territories=["JP"], required_fields=["work_id", "title"]), ON, source="feed_works")
    sql = mood_stations_sql(feed.delivered_sql, load_taxonomy(MODELS).tags, top_n=top_n)
    return [tuple(row.values()) for batch in station_batches(con, sql, 2) for row in batch]


def test_each_station_holds_the_top_licensed_tracks_by_weight_ties_by_work_id(con):
    assert stations(con, top_n=2) == [
        ("mood.melancholic", "mood", "Melancholic", "切ない", 1, "w_00000000000000000003", 0.6, "JPZZ02600003", "Setsunai", None, None),
        ("mood.calm", "mood", "Calm", "穏やか", 1, "w_00000000000000000001", 0.9, "JPZZ02600001", "Shizuka", "静か", "Nagi"),
        ("mood.calm", "mood", "Calm", "穏やか", 2, "w_00000000000000000002", 0.7, "JPZZ02600002", "Ame", "雨", None),
        ("scene.rain", "scene", "Rain", "雨", 1, "w_00000000000000000002", 0.7, "JPZZ02600002", "Ame", "雨", None),
        ("scene.rain", "scene", "Rain", "雨", 2, "w_00000000000000000001", 0.4, "JPZZ02600001", "Shizuka", "静か", "Nagi"),
    ]  # fmt: skip


def test_only_licensed_tracks_and_a_total_ranking(con):
    rows = stations(con, top_n=50)
    assert {r[5] for r in rows} == {"w_00000000000000000001", "w_00000000000000000002", "w_00000000000000000003"}
    calm = [(r[4], r[5]) for r in rows if r[0] == "mood.calm"]
    assert calm == [(1, "w_00000000000000000001"), (2, "w_00000000000000000002"), (3, "w_00000000000000000003")]
    for tag in {r[0] for r in rows}:
        ranks = [r[4] for r in rows if r[0] == tag]
        assert ranks == list(range(1, len(ranks) + 1))
    assert "theme.love" not in {r[0] for r in rows}


def test_the_station_feed_is_delivered_in_every_format_and_fits_its_schema(con, tmp_path):
    feed = partner_feed(con, contract(territories=["JP"], required_fields=["work_id"]), ON, source="feed_works")
    tags = load_taxonomy(MODELS).tags
    specs = write_mood_stations(con, feed.delivered_sql, tags, ["jsonl", "csv", "parquet"], folder(tmp_path), 2, top_n=2)
    assert [(s.name, s.rows) for s in specs][:3] == [
        ("mood_stations.jsonl", 5), ("mood_stations.csv", 5), ("mood_stations.parquet", 5),
    ]  # fmt: skip
    validator = jsonschema.Draft202012Validator(MOOD_STATIONS.json_schema())
    rows = [json.loads(line) for line in (tmp_path / "mood_stations.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(not list(validator.iter_errors(row)) for row in rows)
    assert rows[1] == {
        "tag_id": "mood.calm", "facet": "mood", "label_en": "Calm", "label_ja": "穏やか", "rank": 1,
        "work_id": "w_00000000000000000001", "weight": 0.9, "isrc": "JPZZ02600001", "title": "Shizuka",
        "title_ja": "静か", "display_artist": "Nagi",
    }  # fmt: skip
