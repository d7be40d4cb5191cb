"""CableLabs ADI (pipelines/ingest/adi.py): the real ADI 1.1 package, an ISO-8859-1 one, and ADI 3.0."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.conftest import SAMPLES
from tests.ingest.conftest import ADVERSARIAL


@pytest.mark.real_data
def test_real_adi11_tvshow(shared_data, landing, ingest):
    landing.holder("lifetime", "video").add("video", "lifetime", shared_data / "adi" / "adi11_tvshow.xml")
    run = ingest(landing)
    assert run.file("adi11_tvshow.xml") == ("loaded", 1, 1, 0, "adi-1.1")
    title = run.one(
        "SELECT provider, provider_id, title, series_name, episode_name, season_number, episode_number, show_type, "
        "rating, run_time_seconds, year, genres, categories, producers, licensing_window_start, licensing_window_end, "
        "adi_version, title_match_key FROM raw.adi_titles"
    )
    assert title == (
        "LIFETIMEMOVIECLUB_HD_UNIFIED",
        "mylifetime.com",
        "Friends Who Kill HD",
        "Friends Who Kill",
        "Friends Who Kill",
        1,
        1,
        "Movie",
        "TV-14",
        3600,
        2020,
        ["Thrillers"],
        ["Lifetime Movie Club/All Movies", "Lifetime Movie Club/Teen", "Lifetime Movie Club/Suspense"],
        ["MarVista Entertainment, Inc."],
        date(2020, 8, 7),
        date(2020, 12, 31),
        "1.1",
        "friends who kill hd",
    )
    assert run.rows(
        "SELECT asset_class, asset_type, content_value FROM raw.adi_assets ORDER BY record_position"
    )[:2] == [
        ("movie", "movie_svod", "LFHM2419582007240000_AMVE_HD.mxf"),
        ("poster", "SVOD_EPISODIC_POSTER_800X450", "LFHM2419582007240000_AMVE_HD_EPISODIC_800X450.jpg"),
    ]
    app_data = dict(
        (k, v) for k, v in json.loads(run.one("SELECT app_data FROM raw.adi_titles")) if k == "TMS_ID"
    )
    assert app_data == {"TMS_ID": "MV013722230000"}


def test_latin1_package_with_doctype(landing, ingest):
    landing.holder("cinema-libre", "video").add(
        "video", "cinema-libre", ADVERSARIAL / "adi11_latin1_doctype.xml"
    )
    run = ingest(landing)
    assert run.one("SELECT title, genres, run_time_seconds, licensing_window_end FROM raw.adi_titles") == (
        "Café Noël à Montréal",
        ["Comédie"],
        5520,
        date(2027, 1, 31),
    )


def test_sample_people_keep_their_last_first_form(landing, ingest):
    landing.holder("aozora-pictures", "video")
    landing.add("video", "aozora-pictures", SAMPLES / "video/aozora-pictures/2026-11-24/ADI_AOZ0001.xml")
    run = ingest(landing)
    assert run.one("SELECT title_ja, actors, directors FROM raw.adi_titles") == (
        "海辺の約束",
        ["Minase,Hikari", "Takeda,Sora", "Oshiro,Kenji"],
        ["Takamura,Ryoko"],
    )


ADI3 = """<?xml version="1.0" encoding="UTF-8"?>
<ADI3 xmlns="http://www.cablelabs.com/namespaces/metadata/xsd/vod30/1"
      xmlns:core="http://www.cablelabs.com/namespaces/metadata/xsd/core/1"
      xmlns:title="http://www.cablelabs.com/namespaces/metadata/xsd/title/1"
      xmlns:content="http://www.cablelabs.com/namespaces/metadata/xsd/content/1"
      xmlns:offer="http://www.cablelabs.com/namespaces/metadata/xsd/offer/1">
  <Offer uriId="aozora.example/Offer/AOZ3" startDateTime="2026-12-01T00:00:00Z" endDateTime="2027-05-31T23:59:59Z"/>
  <Title uriId="aozora.example/Title/AOZ3" providerVersionNum="2" internalVersionNum="0" creationDateTime="2026-11-20T00:00:00Z">
    <core:Provider>AOZORA</core:Provider>
    <core:AlternateId identifierSystem="EIDR">10.5240/7791-8534-2C23-9030-8610-5</core:AlternateId>
    <title:LocalizableTitle lang="en"><title:TitleBrief>Snow Lantern</title:TitleBrief><title:TitleLong>The Snow Lantern</title:TitleLong>
      <title:SummaryShort>A lantern maker's last winter.</title:SummaryShort><title:Actor fullName="Minase Hikari"/><title:Director fullName="Takamura Ryoko"/></title:LocalizableTitle>
    <title:LocalizableTitle lang="ja"><title:TitleLong>雪灯籠</title:TitleLong></title:LocalizableTitle>
    <title:Rating ratingSystem="MPAA">PG</title:Rating><title:DisplayRunTime>01:47</title:DisplayRunTime><title:Year>2026</title:Year>
    <title:Genre>Drama</title:Genre><title:ShowType>Movie</title:ShowType>
  </Title>
  <Movie uriId="aozora.example/Asset/AOZ3M"><content:SourceUrl>AOZ3M.ts</content:SourceUrl></Movie>
  <Poster uriId="aozora.example/Asset/AOZ3P"><content:SourceUrl>AOZ3P.jpg</content:SourceUrl></Poster>
  <ContentGroup uriId="aozora.example/ContentGroup/AOZ3"><offer:TitleRef uriId="aozora.example/Title/AOZ3"/>
    <offer:MovieRef uriId="aozora.example/Asset/AOZ3M"/><offer:PosterRef uriId="aozora.example/Asset/AOZ3P"/></ContentGroup>
</ADI3>
"""


def test_adi3_package(landing, ingest):
    landing.holder("aozora-pictures", "video").write("video", "aozora-pictures", "adi3.xml", ADI3)
    landing.write("video", "aozora-pictures", "adi3_bad_eidr.xml", ADI3.replace("8610-5<", "8610-6<"))
    run = ingest(landing)
    assert run.file("/adi3.xml") == ("loaded", 1, 1, 0, "adi-3.0")
    assert run.one(
        "SELECT asset_id, provider, provider_id, title, title_ja, title_brief, eidr, rating, run_time_seconds, year, "
        "actors, directors, licensing_window_start, licensing_window_end, adi_version FROM raw.adi_titles"
    ) == (
        "aozora.example/Title/AOZ3",
        "AOZORA",
        "aozora.example",
        "The Snow Lantern",
        "雪灯籠",
        "Snow Lantern",
        "10.5240/7791-8534-2C23-9030-8610-5",
        "PG",
        6420,
        2026,
        ["Minase Hikari"],
        ["Takamura Ryoko"],
        date(2026, 12, 1),
        date(2027, 5, 31),
        "3.0",
    )
    assert run.rows("SELECT asset_class, content_value FROM raw.adi_assets ORDER BY asset_class") == [
        ("movie", "AOZ3M.ts"),
        ("poster", "AOZ3P.jpg"),
    ]
    assert run.reasons("adi3_bad_eidr.xml") == [
        (
            "/ADI3/Title[1]",
            "title aozora.example/Title/AOZ3: invalid EIDR '10.5240/7791-8534-2C23-9030-8610-6': "
            "check character should be '5'",
        )
    ]
