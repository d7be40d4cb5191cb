"""End to end on data/samples: one nightly run, then what every stage left behind."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.nightly import kansei_shards, report, run_nightly
from tests.conftest import SAMPLE_DATE, SAMPLES, make_settings

pytestmark = pytest.mark.slow


def query(settings, sql: str, params=None):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_every_sample_file_is_loaded_and_reconciles(sample_run):
    files = query(
        sample_run,
        "SELECT file_path, status, records_found, records_loaded, records_quarantined FROM ops.ingest_files ORDER BY file_path",
    )
    assert [f[0] for f in files] == [
        "ads/aoba-fashion/2026-11-24/creatives.jsonl",
        "ads/hibiki-audio/2026-11-24/creatives.jsonl",
        "ads/mori-coffee/2026-11-24/creatives.jsonl",
        "ads/yamabiko-travel/2026-11-24/creatives.jsonl",
        "articles/harbour-review/2026-11-24.jsonl",
        "articles/tokyo-lifestyle/2026-11-24.jsonl",
        "articles/tokyo-lifestyle/2026-11-24/livedoor-style/column-0001.txt",
        "music/sakura-records/2026-11-24/ERN43_SKR0001.xml",
        "video/aozora-pictures/2026-11-24/ADI_AOZ0001.xml",
        "video/aozora-pictures/2026-11-24/ADI_AOZ0002.xml",
    ]
    assert {f[1] for f in files} == {"loaded"}
    assert all(found == loaded + quarantined for _, _, found, loaded, quarantined in files)
    # provenance: every raw row knows its file and position
    assert query(sample_run, "SELECT file_path, record_position FROM raw.ddex_resources WHERE isrc = 'JPSK02600002'") == [
        ("music/sakura-records/2026-11-24/ERN43_SKR0001.xml", "/NewReleaseMessage/ResourceList/SoundRecording[2]")
    ]


def test_dim_work_holds_recordings_release_and_video_titles(sample_run):
    kinds = dict(query(sample_run, "SELECT kind, count(*) FROM marts.dim_work GROUP BY kind"))
    # the sample episode also yields its series and season as works
    assert kinds == {"recording": 8, "release": 1, "movie": 1, "episode": 1, "season": 1, "series": 1}
    assert query(
        sample_run, "SELECT title, title_ja, title_latn, display_artist FROM marts.dim_work WHERE isrc = 'JPSK02600002'"
    ) == [("Yoru no Ame, Hitori", "夜の雨、ひとり", "Yoru no Ame, Hitori", "Hoshino Mina")]
    assert query(sample_run, "SELECT title_ja, kind FROM marts.dim_work WHERE provider_asset_id = 'AOZT0000000000000001'") == [
        ("海辺の約束", "movie")
    ]


def test_dim_article_holds_every_sample_article(sample_run):
    rows = query(sample_run, "SELECT language, count(*) FROM marts.dim_article GROUP BY language ORDER BY language")
    assert rows == [("en", 4), ("ja", 9)]


def test_kansei_tags_come_from_both_signals(sample_run):
    tags = query(
        sample_run,
        "SELECT t.tag_id, t.source FROM kansei.work_tags t JOIN marts.dim_work w USING (work_id) WHERE w.isrc = 'JPSK02600002'",
    )
    assert ("scene.rain", "lexicon") in tags  # 夜の雨、ひとり: the Japanese title carries the mood
    crime = query(
        sample_run,
        "SELECT t.evidence, t.signals.lexicon IS NOT NULL, t.signals.exemplar IS NOT NULL FROM kansei.work_tags t "
        "JOIN marts.dim_work w USING (work_id) WHERE w.provider_asset_id = 'AOZT0000000000000002' AND t.tag_id = 'theme.crime'",
    )
    assert crime == [("探偵団", True, True)]  # a detective series: 探偵 in its Japanese title, its synopsis embedded
    assert query(sample_run, "SELECT count(DISTINCT article_id) FROM kansei.article_tags")[0][0] >= 11


def test_neighbours_stay_within_domain_and_exclude_self(sample_run):
    rows = query(
        sample_run,
        "SELECT a.kind, b.kind, n.work_id = n.neighbor_work_id, n.is_cross_domain FROM similarity.work_neighbors n "
        "JOIN marts.dim_work a ON a.work_id = n.work_id JOIN marts.dim_work b ON b.work_id = n.neighbor_work_id",
    )
    assert rows and not any(same for _, _, same, _ in rows)
    video = {"movie", "episode", "season", "series"}
    within = {(a, b) for a, b, _, cross in rows if not cross}
    assert within <= {("recording", "recording")} | {(a, b) for a in video for b in video}
    across = {(a, b) for a, b, _, cross in rows if cross}
    assert ("recording", "movie") in across or ("recording", "episode") in across
    assert all((a == "recording") != (b == "recording") for a, b in across)
    per_recording = query(
        sample_run,
        "SELECT count(*) FROM similarity.work_neighbors n JOIN marts.dim_work w USING (work_id) "
        "WHERE w.kind = 'recording' AND NOT n.is_cross_domain GROUP BY n.work_id",
    )
    assert {c for (c,) in per_recording} == {7}  # 8 recordings: every other one, capped at 20


def test_feeds_are_licensed_complete_and_manifested(sample_run):
    root = Path(sample_run.deliver)
    music = root / "melody-stream/works/2026-11-24"
    lines = [json.loads(line) for line in (music / "works.jsonl").read_text("utf-8").splitlines()]
    assert len(lines) == 9  # 8 recordings + the album, licensed in JP for streaming from 2026-11-01
    rain = next(line for line in lines if line["isrc"] == "JPSK02600002")
    assert rain["title_ja"] == "夜の雨、ひとり"
    assert rain["territories"] == ["JP"] and "window_start" not in rain
    assert rain["licence_windows"] == [
        {"territory": "JP", "commercial_model": model, "use_type": use, "start": "2026-11-01", "end": None}
        for model in ("AdvertisementSupportedModel", "SubscriptionModel")
        for use in ("OnDemandStream", "Stream")
    ]
    tags = {t["tag_id"]: t for t in rain["kansei_tags"]}
    assert tags["scene.rain"]["label_ja"] == "雨" and tags["scene.rain"]["label_en"] == "Rain"
    assert tags["scene.rain"]["evidence"] == "雨" and 50 <= tags["scene.rain"]["weight"] <= 100
    assert [t["is_primary"] for t in rain["kansei_tags"]].count(True) == 1 and rain["kansei_tags"][0]["is_primary"]
    assert "emotion.joy" not in tags and "scene.morning" not in tags
    assert len(rain["similar_works"]) == 7
    manifest = json.loads((music / "manifest.json").read_text("utf-8"))
    body = (music / "works.jsonl").read_bytes()
    assert manifest["files"] == [
        {"name": "works.jsonl", "rows": 9, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    ]
    assert manifest["delivery_date"] == "2026-11-25" and manifest["delivery_type"] == "full"
    video = [json.loads(line) for line in (root / "cinema-now/works/2026-11-24/works.jsonl").read_text().splitlines()]
    assert sorted(v["provider_asset_id"] for v in video) == ["AOZT0000000000000001", "AOZT0000000000000002"]
    ledger = query(sample_run, "SELECT partner_id, feed, status, row_count FROM exports.delivery_ledger ORDER BY partner_id, feed")
    assert [row[:3] for row in ledger] == [
        ("cinema-now", "works", "delivered"), ("kizuna-ads", "ad_matches", "delivered"),
        ("melody-stream", "mead", "delivered"), ("melody-stream", "mood_stations", "delivered"), ("melody-stream", "works", "delivered"),
    ]  # fmt: skip
    rows = {(partner, feed): count for partner, feed, _, count in ledger}
    assert [rows["cinema-now", "works"], rows["kizuna-ads", "ad_matches"], rows["melody-stream", "works"]] == [2, 65, 9]
    assert rows["melody-stream", "mood_stations"] > 0 and rows["melody-stream", "mead"] > 0


def test_summary_reads_the_run_back(sample_run):
    summary = report(sample_run, SAMPLE_DATE)
    assert {r["kind"]: r["records_loaded"] for r in summary.ingest} == {"ads": 34, "articles": 13, "music": 19, "video": 2}
    assert summary.works == 13 and summary.works_tagged == 13 and summary.articles == 13
    assert [d["status"] for d in summary.deliveries] == ["delivered"] * 5  # melody-stream: works, mood stations, MEAD
    assert summary.failed_stages == [] and summary.quality_failures == []
    assert summary.skipped_files == [] and summary.withheld == [] and summary.blocked_feeds == []


def test_the_gate_runs_after_tag_and_similar_on_what_export_delivers(sample_run):
    stages = query(sample_run, "SELECT stage FROM ops.stage_runs WHERE logical_date = ? ORDER BY started_at", [SAMPLE_DATE])
    assert [s for (s,) in stages] == ["ingest", "build", "tag", "similar", "ads", "check", "export"]
    # the partner suite saw the rows export wrote, tags and similar titles included
    seen = query(
        sample_run,
        "SELECT observed FROM ops.quality_results WHERE suite = 'partner:melody-stream' "
        "AND expectation = 'expect_column_values_to_be_unique'",
    )
    assert seen == [("0 of 9 rows unexpected: []",)]


def test_counts_of_tables_not_built_yet_are_unknown_not_zero(tmp_path):
    from pipelines.warehouse import writer

    settings = make_settings(tmp_path, SAMPLES)
    with writer(settings.warehouse):  # raw and ops tables only: dbt never ran
        pass
    summary = report(settings, SAMPLE_DATE)
    assert summary.works is None and summary.articles is None
    assert summary.works_tagged == 0  # the tag stage's table exists and is empty


def test_a_second_run_of_the_same_date_changes_nothing(copy_run, sample_run):
    deliveries = Path(copy_run.deliver)
    shutil.copytree(sample_run.deliver, deliveries)
    before = {p.relative_to(deliveries): p.read_bytes() for p in deliveries.rglob("*") if p.is_file()}
    again = make_settings(copy_run.warehouse.parent.parent, SAMPLES)
    second = run_nightly(again, SAMPLE_DATE)
    after = {p.relative_to(deliveries): p.read_bytes() for p in deliveries.rglob("*") if p.is_file()}
    assert after == before  # never overwritten
    # the copied folder is a new destination to this warehouse's ledger: the works and ad-match deliveries found
    # there are recognised as the same manifests and recorded, never rewritten; the music feeds (snapshots) are
    # found published
    assert [(d["partner_id"], d["feed"], d["status"], d["reason"]) for d in second.deliveries] == [
        ("cinema-now", "works", "delivered", "published by an earlier attempt; recorded now"),
        ("kizuna-ads", "ad_matches", "delivered", "published by an earlier attempt; recorded now"),
        ("melody-stream", "works", "delivered", "published by an earlier attempt; recorded now"),
        ("melody-stream", "mood_stations", "already_delivered", None),
        ("melody-stream", "mead", "already_delivered", None),
    ]
    assert second.skipped_files == [
        "ads/aoba-fashion/2026-11-24/creatives.jsonl",
        "ads/hibiki-audio/2026-11-24/creatives.jsonl",
        "ads/mori-coffee/2026-11-24/creatives.jsonl",
        "ads/yamabiko-travel/2026-11-24/creatives.jsonl",
        "articles/harbour-review/2026-11-24.jsonl",
        "articles/tokyo-lifestyle/2026-11-24.jsonl",
        "articles/tokyo-lifestyle/2026-11-24/livedoor-style/column-0001.txt",
        "music/sakura-records/2026-11-24/ERN43_SKR0001.xml",
        "video/aozora-pictures/2026-11-24/ADI_AOZ0001.xml",
        "video/aozora-pictures/2026-11-24/ADI_AOZ0002.xml",
    ]
    assert query(again, "SELECT count(*) FROM raw.ddex_resources")[0][0] == 8  # same files, no new rows


def test_embed_is_mapped_over_msdb_kansei_shards(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no msdb.toml
    monkeypatch.delenv("MSDB_KANSEI_SHARDS", raising=False)
    assert kansei_shards() == [{"shard": 0, "shards": 2}, {"shard": 1, "shards": 2}]
    monkeypatch.setenv("MSDB_KANSEI_SHARDS", "3")
    assert kansei_shards() == [{"shard": 0, "shards": 3}, {"shard": 1, "shards": 3}, {"shard": 2, "shards": 3}]
    monkeypatch.setenv("MSDB_KANSEI_SHARDS", "0")
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        kansei_shards()
