"""The warehouse on the real DDEX (ERN 3.7, 3.8.2, 4.3, MEAD) and ADI deliveries in ../shared/data."""

from __future__ import annotations

from datetime import date

import pytest

from tests.build.conftest import rows
from tests.conftest import SAMPLE_DATE

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def real_warehouse(real_catalog_run):
    return real_catalog_run


def windows(settings, where: str, params: list) -> list[tuple]:
    return rows(
        settings,
        f"""
        SELECT territory, commercial_model, use_type, window_start, window_end, status
        FROM marts.fct_licence_window_by_territory l JOIN marts.dim_work w USING (work_id)
        WHERE {where} ORDER BY ALL
        """,
        params,
    )


def test_ern43_japanese_album_is_licensed_in_japan_only(real_warehouse):
    # ern43_1_Audio.xml: release deal on ICPN 00094631432057, JP, PayAsYouGoModel, from 2004-04-01, no end
    assert windows(real_warehouse, "w.icpn = ?", ["00094631432057"]) == [
        ("JP", "PayAsYouGoModel", "ConditionalDownload", date(2004, 4, 1), None, "active"),
        ("JP", "PayAsYouGoModel", "PermanentDownload", date(2004, 4, 1), None, "active"),
    ]
    # its first track, through the TrackRelease deal: streaming by subscription and with ads, in JP
    lullaby = windows(real_warehouse, "w.isrc = ? AND use_type = 'Stream'", ["JPTO09404900"])
    assert lullaby == [
        ("JP", "AdvertisementSupportedModel", "Stream", date(2004, 4, 1), None, "active"),
        ("JP", "SubscriptionModel", "Stream", date(2004, 4, 1), None, "active"),
    ]
    credits = rows(
        real_warehouse,
        "SELECT p.name, p.name_ja, b.role_group FROM marts.bridge_work_party b JOIN marts.dim_party p USING (party_id) "
        "JOIN marts.dim_work w USING (work_id) WHERE w.isrc = 'JPTO09404900' AND b.role = 'MainArtist'",
    )
    assert credits == [("Saeko Shu", "しゅうさえこ", "artist")]


def test_ern371_worldwide_deal_expands_to_every_country(real_warehouse):
    # ern371_real_FUGA_669447000013.xml: 'Worldwide', SubscriptionModel OnDemandStream from 2012-02-01
    rows_ = windows(real_warehouse, "w.icpn = ? AND commercial_model = 'SubscriptionModel' AND use_type = 'OnDemandStream'", ["669447000013"])
    assert len(rows_) == 249 and {r[0] for r in rows_} >= {"JP", "US", "GB", "FR", "BR"}
    assert {r[3:] for r in rows_} == {(date(2012, 2, 1), None, "active")}
    # in the mart it is one Worldwide window
    assert rows(
        real_warehouse,
        "SELECT territory, excluded_territories, window_start FROM marts.fct_licence_window l JOIN marts.dim_work w "
        "USING (work_id) WHERE w.icpn = ? AND commercial_model = 'SubscriptionModel' AND use_type = 'OnDemandStream'",
        ["669447000013"],
    ) == [("Worldwide", [], date(2012, 2, 1))]
    assert rows(real_warehouse, "SELECT title FROM marts.dim_work WHERE icpn = '669447000013'") == [("The Art of Translation",)]


def test_ern37_territory_lists_per_deal_and_merged_windows(real_warehouse):
    # ern37_UMG_00602557190298.xml lists countries per deal; the album deal covers US and BG from 2018-02-09
    best_of_betty = "w.icpn = ? AND territory IN ('US', 'BG') AND use_type = 'PermanentDownload'"
    assert windows(real_warehouse, best_of_betty, ["00602557190298"]) == [
        ("BG", "PayAsYouGoModel", "PermanentDownload", date(2018, 2, 9), None, "active"),
        ("US", "PayAsYouGoModel", "PermanentDownload", date(2018, 2, 9), None, "active"),
    ]
    # track 1 (USUM71804534) gets BG from the album deal (2018-02-09) and from its own track deal (2020-07-17):
    # one merged window; streaming in BG only comes with the track deal, from 2020-07-17
    track = rows(
        real_warehouse,
        "SELECT use_type, window_start, window_end, term_count FROM marts.fct_licence_window_by_territory l JOIN marts.dim_work w USING (work_id) "
        "WHERE w.isrc = 'USUM71804534' AND territory = 'BG' AND commercial_model = 'PayAsYouGoModel' ORDER BY ALL",
    )
    assert track == [
        ("ConditionalDownload", date(2018, 2, 9), None, 2),
        ("PermanentDownload", date(2018, 2, 9), None, 2),
        ("Stream", date(2020, 7, 17), None, 1),
    ]


def test_ern43_music_video_release_in_three_countries(real_warehouse):
    territories = rows(
        real_warehouse,
        "SELECT DISTINCT territory FROM marts.fct_licence_window_by_territory l JOIN marts.dim_work w USING (work_id) "
        "WHERE w.icpn = '05099962136853' ORDER BY 1",
    )
    assert territories == [("AT",), ("CH",), ("DE",)]


def test_adi_window_applies_in_the_holders_territories(real_warehouse):
    assert windows(real_warehouse, "w.provider_asset_id = ?", ["LFHT2419582007240000"]) == [
        ("US", "SubscriptionModel", "Stream", date(2020, 8, 7), date(2020, 12, 31), "active")
    ]
    producers = rows(
        real_warehouse,
        "SELECT p.name FROM marts.bridge_work_party b JOIN marts.dim_party p USING (party_id) JOIN marts.dim_work w USING (work_id) "
        "WHERE w.provider_asset_id = 'LFHT2419582007240000' AND b.role = 'Producer'",
    )
    assert producers == [("MarVista Entertainment, Inc.",)]


def test_mead_moods_are_descriptors_of_the_umg_recording(real_warehouse):
    moods = rows(
        real_warehouse,
        "SELECT w.title, d.value FROM marts.fct_work_descriptor d JOIN marts.dim_work w USING (work_id) "
        "WHERE w.isrc = 'USUM71804534' AND d.descriptor = 'Mood' ORDER BY d.value",
    )
    assert moods == [
        ("Two Miles of Bad Road", "Dramatic"), ("Two Miles of Bad Road", "Positive"),
        ("Two Miles of Bad Road", "Sentimental"), ("Two Miles of Bad Road", "Uplifting"),
    ]  # fmt: skip


def test_quality_gate_passes_on_real_data(real_warehouse):
    from pipelines.check import run_check

    summary = run_check(real_warehouse, SAMPLE_DATE)
    assert summary.failed == []
