"""Licence windows and release identity on label deliveries (issue 9): exact, deterministic, never fail-open.

One landing of small ERN 3.8 messages about fictional releases (see `ern38.py`), built once; each case has
its own holder, identifiers and recordings, so the cases do not meet.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.build import ern38
from tests.build.conftest import ingest_and_build, rows
from tests.build.ern38 import Deal, Recording, Release
from tests.conftest import Landing, make_settings

pytestmark = pytest.mark.slow

# --- identical terms: an album deal and track deals with the same start and end -----------------------------
TIED_TRACKS = 60
TIED_ALBUM_ICPN = ern38.icpn("458999070001")


def tied_terms_message() -> str:
    recordings = [Recording(f"A{n}", f"JPKS0260{n:04d}", f"Kaze no Michi {n}") for n in range(1, TIED_TRACKS + 1)]
    album = Release("R0", "Kaze no Michi", [r.reference for r in recordings], icpn=TIED_ALBUM_ICPN, is_main=True)
    tracks = [
        Release(f"R{n}", r.title, [r.reference], release_type="TrackRelease", is_main=False)
        for n, r in enumerate(recordings, start=1)
    ]
    window = {"start": "2026-12-01", "end": "2027-11-30"}
    deals = [
        Deal("R0", models=["SubscriptionModel"], uses=["OnDemandStream"], **window),
        Deal("R0", models=["SubscriptionModel", "AdvertisementSupportedModel"], uses=["OnDemandStream"], **window),
    ] + [
        Deal(t.reference, models=["SubscriptionModel"], uses=["OnDemandStream", "ConditionalDownload"], **window)
        for t in tracks
    ]
    return ern38.message("KS-TIED-1", "2026-11-01T10:00:00+09:00", recordings, [album, *tracks], deals)


@pytest.fixture(scope="module")
def rights_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("rights")
    landing = Landing(root / "landing")
    landing.holder("kirigami-sound", "music", name="Kirigami Sound")
    landing.write("music", "kirigami-sound", "2026-11-24/KS_TIED.xml", tied_terms_message())
    settings = make_settings(root, landing.root)
    summary = ingest_and_build(settings)
    return settings, summary


def track_windows(settings, isrc: str, territory: str) -> list[tuple]:
    return rows(
        settings,
        """
        SELECT commercial_model, use_type, window_start, window_end, status, term_count
        FROM marts.fct_licence_window l JOIN marts.dim_work w USING (work_id)
        WHERE w.isrc = ? AND territory = ? ORDER BY ALL
        """,
        [isrc, territory],
    )


def test_tied_track_and_release_deals_make_one_window_each(rights_run):
    settings, summary = rights_run
    assert summary.failures == []
    # every work × territory × model × use has one window: the id is unique, whatever the query plan
    assert rows(settings, "SELECT count(*) - count(DISTINCT licence_window_id) FROM marts.fct_licence_window") == [(0,)]
    windows_per_key = rows(
        settings,
        "SELECT max(n) FROM (SELECT count(*) AS n FROM marts.fct_licence_window "
        "GROUP BY work_id, territory, commercial_model, use_type)",
    )
    assert windows_per_key == [(1,)]
    first, last = date(2026, 12, 1), date(2027, 11, 30)
    for isrc in ("JPKS02600001", f"JPKS0260{TIED_TRACKS:04d}"):
        assert track_windows(settings, isrc, "JP") == [
            ("AdvertisementSupportedModel", "OnDemandStream", first, last, "active", 1),
            ("SubscriptionModel", "ConditionalDownload", first, last, "active", 1),
            ("SubscriptionModel", "OnDemandStream", first, last, "active", 3),  # album deals 1 and 2, track deal
        ]
    album = rows(
        settings,
        "SELECT count(DISTINCT territory), min(window_start), max(window_end), max(term_count) "
        "FROM marts.fct_licence_window l JOIN marts.dim_work w USING (work_id) WHERE w.icpn = ?",
        [TIED_ALBUM_ICPN],
    )
    assert album == [(249, first, last, 2)]  # SubscriptionModel OnDemandStream: album deals 1 and 2
