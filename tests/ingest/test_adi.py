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


# --- namespaces, ISAN spellings, episodes (issue 9) ----------------------------------------------------------


def _adi11(title_data: str, *, xmlns: str = "", asset_id: str = "HRZT0000000000000001") -> str:
    """A one-title ADI 1.1 package about a fictional series; title_data is its App_Data lines."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ADI{f' xmlns="{xmlns}"' if xmlns else ""}>
  <Metadata>
    <AMS Asset_Class="package" Provider="HORIZON" Provider_ID="horizon.example" Verb="" Version_Major="1"
         Version_Minor="0" Creation_Date="2026-11-20" Asset_ID="HRZP0000000000000001" Asset_Name="pkg"/>
  </Metadata>
  <Asset>
    <Metadata>
      <AMS Asset_Class="title" Provider="HORIZON" Provider_ID="horizon.example" Verb="" Version_Major="1"
           Version_Minor="0" Creation_Date="2026-11-20" Asset_ID="{asset_id}" Asset_Name="title"/>
      <App_Data App="SVOD" Name="Title" Value="Lighthouse Bakery: The Salt Loaf"/>
      {title_data}
    </Metadata>
    <Asset>
      <Metadata><AMS Asset_Class="movie" Asset_ID="HRZM0000000000000001"/><App_Data App="SVOD" Name="Type" Value="movie"/></Metadata>
      <Content Value="HRZM0000000000000001.ts"/>
    </Asset>
  </Asset>
</ADI>
"""


def test_adi11_with_a_default_namespace_loads(landing, ingest):
    package = _adi11(
        '<App_Data App="SVOD" Name="Year" Value="2026"/>', xmlns="http://www.eventis.nl/PRODIS/ADI"
    )
    landing.holder("horizon-tv", "video").write("video", "horizon-tv", "adi11_default_ns.xml", package)
    run = ingest(landing)
    assert run.file("adi11_default_ns.xml") == ("loaded", 1, 1, 0, "adi-1.1")
    assert run.one("SELECT asset_id, provider_id, title, year, adi_version FROM raw.adi_titles") == (
        "HRZT0000000000000001",
        "horizon.example",
        "Lighthouse Bakery: The Salt Loaf",
        2026,
        "1.1",
    )
    assert run.rows("SELECT asset_id, asset_class, content_value FROM raw.adi_assets") == [
        ("HRZM0000000000000001", "movie", "HRZM0000000000000001.ts")
    ]


@pytest.mark.parametrize(
    "delivered",
    [
        "0000-0002-A1B2-0004-8-0000-0000-D",
        "ISAN 0000-0002-A1B2-0004-8-0000-0000-D",
        "0000 0002 a1b2 0004 8 0000 0000 d",
        "0000-0002-A1B2-0004-8-0000-0000 D",
        "urn:isan:0000-0002-a1b2-0004-8-0000-0000-d",
        "0000\u20130002\u2013A1B2\u20130004\u20138\u20130000\u20130000\u2013D",
    ],
)
def test_isan_spellings_are_normalised_before_validation(landing, ingest, delivered):
    package = _adi11(f'<App_Data App="SVOD" Name="ISAN" Value="{delivered}"/>')
    landing.holder("horizon-tv", "video").write("video", "horizon-tv", "adi11_isan.xml", package)
    run = ingest(landing)
    assert run.file("adi11_isan.xml") == ("loaded", 1, 1, 0, "adi-1.1")
    assert run.one("SELECT isan FROM raw.adi_titles") == "0000-0002-A1B2-0004-8-0000-0000-D"
    assert dict(json.loads(run.one("SELECT app_data FROM raw.adi_titles")))["ISAN"] == delivered


def test_invalid_isan_still_quarantines_with_its_reason(landing, ingest):
    package = _adi11('<App_Data App="SVOD" Name="ISAN" Value="ISAN 0000-0002-A1B2-0004-8-0000-0000-E"/>')
    landing.holder("horizon-tv", "video").write("video", "horizon-tv", "adi11_bad_isan.xml", package)
    run = ingest(landing)
    assert run.file("adi11_bad_isan.xml") == ("quarantined", 1, 0, 1, "adi-1.1")
    assert run.reasons("adi11_bad_isan.xml") == [
        (
            "/ADI/Asset[1]",
            "title HRZT0000000000000001: invalid ISAN 'ISAN 0000-0002-A1B2-0004-8-0000-0000-E': "
            "The number's checksum or check digit is invalid.",
        )
    ]


EPISODE_FIELDS = """<App_Data App="SVOD" Name="Series_Name" Value="Lighthouse Bakery"/>
      <App_Data App="SVOD" Name="Series_Id" Value="HRZS0001"/>
      <App_Data App="SVOD" Name="Episode_Name" Value="The Salt Loaf"/>
      <App_Data App="SVOD" Name="Episode_ID" Value="HRZS0001E0204"/>
      <App_Data App="SVOD" Name="Season_Number" Value="2"/>
      <App_Data App="SVOD" Name="Episode_Number" Value="4"/>"""


@pytest.mark.parametrize(
    ("show_type", "fields", "kind"),
    [
        ("Series", EPISODE_FIELDS, "episode"),
        ("Episode", EPISODE_FIELDS, "episode"),
        ("TV Show", EPISODE_FIELDS, "episode"),
        (None, EPISODE_FIELDS, "episode"),
        ("Special", '<App_Data App="SVOD" Name="Episode_ID" Value="HRZS0001E0204"/>', "episode"),
        # a movie of an anthology that also fills Series_Name and Episode_Name stays a movie
        ("Movie", EPISODE_FIELDS, "movie"),
        (None, '<App_Data App="SVOD" Name="Year" Value="2026"/>', "movie"),
    ],
)
def test_adi11_episode_is_classified_by_show_type_then_episode_fields(
    landing, ingest, show_type, fields, kind
):
    show = f'<App_Data App="SVOD" Name="Show_Type" Value="{show_type}"/>' if show_type else ""
    landing.holder("horizon-tv", "video").write("video", "horizon-tv", "adi11_ep.xml", _adi11(show + fields))
    run = ingest(landing)
    row = run.one(
        "SELECT work_kind, series_name, series_id, season_number, episode_number, episode_id FROM raw.adi_titles"
    )
    assert row[0] == kind
    if fields == EPISODE_FIELDS:
        assert row[1:] == ("Lighthouse Bakery", "HRZS0001", 2, 4, "HRZS0001E0204")


ADI3_SCTE236_2016_EPISODE = """<?xml version="1.0" encoding="UTF-8"?>
<ADI3 xmlns="http://www.scte.org/schemas/236/2016/core"
      xmlns:core="http://www.scte.org/schemas/236/2016/core"
      xmlns:title="http://www.scte.org/schemas/236/2016/title"
      xmlns:content="http://www.scte.org/schemas/236/2016/content"
      xmlns:offer="http://www.scte.org/schemas/236/2016/offer"
      xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Asset xsi:type="offer:OfferType" uriId="horizon.example/Offer/LB0204" startDateTime="2026-12-01T00:00:00Z"
         endDateTime="2027-03-31T23:59:59Z"><offer:ContentGroupRef uriId="horizon.example/ContentGroup/LB0204"/></Asset>
  <Asset xsi:type="title:TitleType" uriId="horizon.example/Title/LB0204" providerVersionNum="1" internalVersionNum="0"
         creationDateTime="2026-11-20T00:00:00Z">
    <core:AlternateId identifierSystem="ISAN">isan 0000 0002 a1b2 0003 a</core:AlternateId>
    <core:Provider>HORIZON</core:Provider>
    <title:LocalizableTitle lang="en"><title:TitleLong>Lighthouse Bakery: The Rye Storm</title:TitleLong>
      <title:EpisodeName>The Rye Storm</title:EpisodeName><title:EpisodeID>HRZS0001E0203</title:EpisodeID></title:LocalizableTitle>
    <title:SeriesInfo><title:SeriesName>Lighthouse Bakery</title:SeriesName><title:SeasonNumber>2</title:SeasonNumber></title:SeriesInfo>
    <title:EpisodeInfo><title:EpisodeNumber>3</title:EpisodeNumber></title:EpisodeInfo>
    <title:ShowType>Series</title:ShowType>
  </Asset>
  <Asset xsi:type="content:MovieType" uriId="horizon.example/Asset/LB0204M"><content:SourceUrl>LB0204M.ts</content:SourceUrl></Asset>
  <Asset xsi:type="offer:ContentGroupType" uriId="horizon.example/ContentGroup/LB0204">
    <offer:TitleRef uriId="horizon.example/Title/LB0204"/><offer:MovieRef uriId="horizon.example/Asset/LB0204M"/></Asset>
</ADI3>
"""


@pytest.mark.parametrize("year", ["2016", "2017"])
def test_adi3_scte236_episode_in_2016_and_2017_namespaces(landing, ingest, year):
    package = ADI3_SCTE236_2016_EPISODE.replace("/236/2016/", f"/236/{year}/")
    landing.holder("horizon-tv", "video").write("video", "horizon-tv", f"adi3_{year}.xml", package)
    run = ingest(landing)
    assert run.file(f"adi3_{year}.xml") == ("loaded", 1, 1, 0, "adi-3.0")
    assert run.one(
        "SELECT asset_id, title, work_kind, show_type, series_name, season_number, episode_number, episode_name, "
        "episode_id, isan, licensing_window_start, licensing_window_end FROM raw.adi_titles"
    ) == (
        "horizon.example/Title/LB0204",
        "Lighthouse Bakery: The Rye Storm",
        "episode",
        "Series",
        "Lighthouse Bakery",
        2,
        3,
        "The Rye Storm",
        "HRZS0001E0203",
        "0000-0002-A1B2-0003-A",
        date(2026, 12, 1),
        date(2027, 3, 31),
    )
    assert run.rows("SELECT asset_class, content_value FROM raw.adi_assets") == [("movie", "LB0204M.ts")]


@pytest.mark.real_data
def test_real_adi11_movie_with_series_fields_stays_a_movie(shared_data, landing, ingest):
    # a Lifetime movie-club title fills Series_Name, Episode_Name and Season/Episode_Number, but its
    # Show_Type says Movie: the show type decides
    landing.holder("lifetime", "video").add("video", "lifetime", shared_data / "adi" / "adi11_tvshow.xml")
    run = ingest(landing)
    assert run.one("SELECT show_type, work_kind, series_name, episode_number FROM raw.adi_titles") == (
        "Movie",
        "movie",
        "Friends Who Kill",
        1,
    )
