"""Through `dbt build` (issue 9): recordings without an ISRC become works with their licence windows, a
recording without its own DisplayArtistName shows its release's, territory-only release dates reach
dim_work, and an ADI episode without Show_Type is an episode under its season and series."""

from __future__ import annotations

from datetime import date

import pytest

from tests.build.conftest import ingest_and_build, rows
from tests.conftest import make_settings
from tests.ingest.conftest import FIXTURES

pytestmark = pytest.mark.slow

EPISODE = """<?xml version="1.0" encoding="UTF-8"?>
<ADI xmlns="http://www.eventis.nl/PRODIS/ADI">
  <Metadata><AMS Asset_Class="package" Provider="HORIZON" Provider_ID="horizon.example" Verb="" Version_Major="1"
    Version_Minor="0" Creation_Date="2026-11-20" Asset_ID="HRZP0000000000000204" Asset_Name="pkg"/></Metadata>
  <Asset>
    <Metadata>
      <AMS Asset_Class="title" Provider="HORIZON" Provider_ID="horizon.example" Verb="" Version_Major="1"
        Version_Minor="0" Creation_Date="2026-11-20" Asset_ID="HRZT0000000000000204" Asset_Name="title"/>
      <App_Data App="SVOD" Name="Title" Value="Lighthouse Bakery: The Salt Loaf"/>
      <App_Data App="SVOD" Name="Series_Name" Value="Lighthouse Bakery"/>
      <App_Data App="SVOD" Name="Episode_Name" Value="The Salt Loaf"/>
      <App_Data App="SVOD" Name="Episode_ID" Value="HRZS0001E0204"/>
      <App_Data App="SVOD" Name="Season_Number" Value="2"/>
      <App_Data App="SVOD" Name="Episode_Number" Value="4"/>
      <App_Data App="SVOD" Name="ISAN" Value="ISAN 0000-0002-A1B2-0004-8-0000-0000-D"/>
      <App_Data App="SVOD" Name="Year" Value="2026"/>
      <App_Data App="SVOD" Name="Licensing_Window_Start" Value="2026-12-01"/>
      <App_Data App="SVOD" Name="Licensing_Window_End" Value="2027-05-31"/>
    </Metadata>
  </Asset>
</ADI>
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from tests.conftest import Landing

    root = tmp_path_factory.mktemp("attributes")
    landing = Landing(root / "landing")
    landing.holder("harbour-lights", "music").add(
        "music", "harbour-lights", FIXTURES / "attributes" / "ern382_mix_album.xml"
    )
    landing.holder("horizon-tv", "video").write("video", "horizon-tv", "episode.xml", EPISODE)
    settings = make_settings(root, landing.root)
    summary = ingest_and_build(settings)
    assert summary.failures == []
    return settings


def test_recordings_without_isrc_are_works_with_licence_windows(built):
    works = rows(
        built,
        "SELECT source_key, title, display_artist, isrc FROM marts.dim_work WHERE kind = 'recording' ORDER BY title",
    )
    assert works == [
        ("isrc:JPHL02600002", "Breakwater Waltz", "Minato Yui with the Pier Strings", "JPHL02600002"),
        # only a composer and a conductor credited on the track: the release's DisplayArtistName
        ("isrc:JPHL02600003", "Fog Signal Suite", "Minato Yui", "JPHL02600003"),
        (
            "ddex:PADPIDA2026120101Z:proprietary:HLMIX-0004",
            "Harbour Lights (Continuous Mix)",
            "DJ Tomoshibi",
            None,
        ),
        (
            "ddex:PADPIDA2026120101Z:icpn:4589990300025:resource:A5",
            "Harbour Lights (Intro)",
            "DJ Tomoshibi",
            None,
        ),
        ("isrc:JPHL02600001", "Tidal Lanterns", "Minato Yui feat. Kaiyo Ren", "JPHL02600001"),
    ]
    windows = rows(
        built,
        """
        SELECT w.title, l.territory, l.window_start FROM marts.fct_licence_window_by_territory l JOIN marts.dim_work w USING (work_id)
        WHERE w.kind = 'recording' AND w.isrc IS NULL ORDER BY ALL
        """,
    )
    assert windows == [
        ("Harbour Lights (Continuous Mix)", "JP", date(2026, 12, 1)),
        ("Harbour Lights (Intro)", "JP", date(2026, 12, 1)),
    ]


def test_release_date_from_territory_blocks_reaches_dim_work(built):
    assert rows(
        built, "SELECT title, display_artist, release_date FROM marts.dim_work WHERE kind = 'release'"
    ) == [("Harbour Lights", "Minato Yui", date(2026, 12, 2))]


def test_adi_episode_without_show_type_is_an_episode_of_its_season_and_series(built):
    hierarchy = rows(
        built,
        """
        SELECT e.kind, e.title, e.episode_number, e.isan, s.kind, s.title, s.season_number, r.kind, r.title
        FROM marts.dim_work e
        JOIN marts.dim_work s ON e.parent_work_id = s.work_id
        JOIN marts.dim_work r ON s.parent_work_id = r.work_id
        WHERE e.provider_asset_id = 'HRZT0000000000000204'
        """,
    )
    assert hierarchy == [
        (
            "episode",
            "Lighthouse Bakery: The Salt Loaf",
            4,
            "0000-0002-A1B2-0004-8-0000-0000-D",
            "season",
            "Lighthouse Bakery - Season 2",
            2,
            "series",
            "Lighthouse Bakery",
        )
    ]


def test_recording_without_isrc_in_a_quarantined_release_is_keyed_by_its_message(tmp_path):
    from tests.conftest import Landing

    mix = (FIXTURES / "attributes" / "ern382_mix_album.xml").read_text(encoding="utf-8")
    landing = Landing(tmp_path / "landing")
    # a wrong ICPN check digit quarantines the release: its supplemental tracks must not vanish with it
    bad_icpn = mix.replace("<ICPN>4589990300025</ICPN>", "<ICPN>4589990300026</ICPN>")
    landing.holder("harbour-lights", "music").write("music", "harbour-lights", "bad_icpn.xml", bad_icpn)
    settings = make_settings(tmp_path, landing.root)
    assert ingest_and_build(settings).failures == []
    assert rows(
        settings,
        "SELECT source_key, title FROM marts.dim_work WHERE kind = 'recording' AND isrc IS NULL ORDER BY title",
    ) == [
        ("ddex:PADPIDA2026120101Z:proprietary:HLMIX-0004", "Harbour Lights (Continuous Mix)"),
        ("ddex:PADPIDA2026120101Z:message:MIX-1:resource:A5", "Harbour Lights (Intro)"),
    ]
