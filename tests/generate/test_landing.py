"""msdb generate: same arguments give the same bytes, ingest loads every generated work, and a follow-up
night changes about 1% of the works in the ways real deliveries do."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import duckdb
from stdnum import ean

from pipelines.generate import Request, generate_landing
from pipelines.ingest import run_ingest
from pipelines.ingest.values import invalid_eidr, invalid_isrc
from tests.conftest import make_settings

START = date(2026, 11, 24)


def request(**changes) -> Request:
    values = {
        "works": 400,
        "articles": 30,
        "holders": 3,
        "nights": 1,
        "seed": 11,
        "start": START,
        "creatives": 12,
    }
    return Request(**(values | changes))


def digests(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def query(settings, sql: str):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_same_seed_same_bytes_and_another_seed_other_bytes(tmp_path):
    generate_landing(tmp_path / "a", request())
    generate_landing(tmp_path / "b", request())
    generate_landing(tmp_path / "c", request(seed=12))
    first = digests(tmp_path / "a")
    assert len(first) == 14 and first == digests(tmp_path / "b")
    other = digests(tmp_path / "c")
    assert other.keys() == first.keys()  # same shape: holders, nights, file names
    music = [name for name in first if name.startswith("music/")]
    assert all(first[name] != other[name] for name in music)


def test_more_nights_and_more_workers_leave_the_earlier_bytes_alone(tmp_path):
    generate_landing(tmp_path / "one", request(nights=1))
    generate_landing(tmp_path / "two", request(nights=2), workers=2)
    one, two = digests(tmp_path / "one"), digests(tmp_path / "two")
    one.pop("generated.json"), two.pop("generated.json")
    assert {name: two[name] for name in one} == one
    assert any("/2026-11-26/" in name for name in two.keys() - one.keys())


def test_files_are_shaped_like_deliveries(tmp_path):
    generate_landing(tmp_path / "landing", request(nights=0))
    root = tmp_path / "landing"
    assert sorted(p.name for p in root.iterdir()) == [
        "ads", "articles", "generated.json", "music", "partners", "registry.yaml", "video",
    ]  # fmt: skip
    message = (root / "music/hoshizora-records/2026-11-24/ERN43_Z00_000_00000.xml").read_text("utf-8")
    assert (message.count("<SoundRecording>"), message.count("<Release>")) == (182, 14)  # albums of 8-20
    assert "<ISRC>JPZ001000000</ISRC>" in message and invalid_isrc("JPZ001000000") is None
    assert "<ICPN>4500000000018</ICPN>" in message and ean.is_valid("4500000000018")
    assert (
        '<DisplayTitle LanguageAndScriptCode="ja-Jpan" ApplicableTerritoryCode="Worldwide"><TitleText>海辺と約束'
        in message
    )
    for territory in ("JP", "US", "GB", "Worldwide"):
        assert f"<TerritoryCode>{territory}</TerritoryCode>" in message
    package = (root / "video/akatsuki-pictures/2026-11-24/ADI_G00_000_00000.xml").read_text("utf-8")
    assert 'Name="Show_Type" Value="Series"' in package and 'Name="Season_Number" Value="1"' in package
    assert 'Name="Licensing_Window_End"' in package
    eidr = package.split('Name="EIDR" Value="', 1)[1].split('"', 1)[0]
    assert eidr == "10.5240/E000-0000-0000-0000-0000-J" and invalid_eidr(eidr) is None
    ja = json.loads((root / "articles/kurashi-journal/2026-11-24/articles_000_00000.jsonl").open().readline())
    en = json.loads((root / "articles/lantern-weekly/2026-11-24/articles_000_00000.jsonl").open().readline())
    assert (ja["language"], en["language"]) == ("ja", "en") and "の" in ja["title"]
    creative = json.loads((root / "ads/aoba-fashion/2026-11-24/creatives_000.jsonl").open().readline())
    assert set(creative) >= {
        "advertiser_id", "campaign_id", "creative_id", "language", "headline", "body", "landing_url",
        "iab_categories", "brand_safety_exclusions", "flight_start", "flight_end",
    }  # fmt: skip
    assert creative["iab_categories"] == ["552", "560"]  # IAB Content Taxonomy 3.1: Style & Fashion, Women's Fashion
    assert set(creative["brand_safety_exclusions"]) <= {"categories", "risk_levels"}


def test_ingest_loads_every_generated_work_and_quarantines_nothing(tmp_path):
    nights = generate_landing(tmp_path / "landing", request(nights=0))
    assert (nights[0].recordings, nights[0].videos, nights[0].articles, nights[0].creatives) == (
        360,
        40,
        30,
        12,
    )
    settings = make_settings(tmp_path, tmp_path / "landing")
    summary = run_ingest(settings, START)
    assert {outcome.status for outcome in summary.files} == {"loaded"}
    assert sum(outcome.loaded for outcome in summary.files) == nights[0].records
    assert query(settings, "SELECT count(*) FROM ops.quarantine") == [(0,)]
    assert query(settings, "SELECT count(DISTINCT isrc) FROM raw.ddex_resources") == [(360,)]
    assert query(settings, "SELECT work_kind, count(*) FROM raw.adi_titles GROUP BY ALL ORDER BY ALL") == [
        ("episode", 28), ("movie", 12),
    ]  # fmt: skip
    assert query(settings, "SELECT language, count(*) FROM raw.articles GROUP BY ALL ORDER BY ALL") == [
        ("en", 9), ("ja", 21),
    ]  # fmt: skip
    # every generated creative passes the schema, IAB and flight checks
    assert query(settings, "SELECT count(*) FROM raw.ad_creatives") == [(12,)]


def test_a_follow_up_night_changes_about_one_percent(tmp_path):
    nights = generate_landing(tmp_path / "landing", request(works=5000, articles=500, nights=1))
    night = nights[1]
    assert night.changes == {"update": 15, "window_end": 10, "takedown": 5, "new": 20}
    assert sum(night.changes.values()) == 50  # 1% of 5,000
    settings = make_settings(tmp_path, tmp_path / "landing")
    summary = run_ingest(settings, date(2026, 11, 25))
    assert {outcome.status for outcome in summary.files} == {"loaded"}
    assert sum(outcome.loaded for outcome in summary.files) == nights[0].records + night.records
    assert query(settings, "SELECT count(*) FROM ops.quarantine") == [(0,)]
    in_night = "file_path LIKE '%/2026-11-25/%'"
    assert query(settings, f"SELECT message_type, count(*) FROM raw.ddex_messages WHERE {in_night} GROUP BY ALL ORDER BY ALL") == [
        ("NewReleaseMessage", 2), ("UpdateReleaseMessage", 2),
    ]  # fmt: skip
    # an update: the album again under a new title and genre; a window end: its first deal ends tonight
    updates = f"SELECT title, genres FROM raw.ddex_releases WHERE {in_night} AND message_type = 'UpdateReleaseMessage'"
    assert sorted(query(settings, updates)) == [
        ("Umibe to Kioku", ["Jazz"]),
        ("Yoake no Yume (Deluxe Edition)", ["City Pop"]),
    ]
    assert query(
        settings, f"SELECT territories FROM raw.ddex_deals WHERE {in_night} AND end_date = DATE '2026-11-25'"
    ) == [(["Worldwide"],)]
    # takedowns: five titles deleted by their studio
    assert query(settings, f"SELECT verb, count(*) FROM raw.adi_titles WHERE {in_night} GROUP BY ALL") == [
        ("DELETE", 5)
    ]
    # six new articles, one revised back-catalogue article
    assert query(settings, f"SELECT count(*), count(updated_at) FROM raw.articles WHERE {in_night}") == [
        (7, 1)
    ]
