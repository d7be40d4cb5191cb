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


# --- rights moved by a newer message whose release was refused (bad GRid) ----------------------------------
MOVED_ICPN = ern38.icpn("458999070002")
MOVED_RECORDINGS = [Recording("A1", "JPHZ02600001", "Hoshizora 1"), Recording("A2", "JPHZ02600002", "Hoshizora 2")]


def moved_rights_messages() -> dict[str, str]:
    old = ern38.message(
        "HZ-1",
        "2026-11-01T10:00:00+09:00",
        MOVED_RECORDINGS,
        [Release("R0", "Hoshizora", ["A1", "A2"], icpn=MOVED_ICPN, is_main=True)],
        [Deal("R0", territories=["Worldwide"])],
    )
    bad_grid = ern38.mischeck(ern38.grid("A1HZ2026000000001"))
    new = ern38.message(
        "HZ-2",
        "2026-11-10T10:00:00+09:00",
        MOVED_RECORDINGS,
        [Release("R0", "Hoshizora", ["A1", "A2"], icpn=MOVED_ICPN, grid=bad_grid, is_main=True)],
        [Deal("R0", territories=["JP"])],
        root="UpdateReleaseMessage",
    )
    return {"HZ_1.xml": old, "HZ_2.xml": new}


# --- a release refused for its ICPN: its deals still license its recordings --------------------------------
REFUSED_ICPN = ern38.mischeck(ern38.icpn("458999070003"))
REFUSED_RECORDINGS = [Recording("A1", "JPUB02600001", "Umibe 1"), Recording("A2", "JPUB02600002", "Umibe 2")]


def refused_release_message() -> str:
    return ern38.message(
        "UB-1",
        "2026-11-02T10:00:00+09:00",
        REFUSED_RECORDINGS,
        [Release("R0", "Umibe", ["A1", "A2"], icpn=REFUSED_ICPN, is_main=True)],
        [Deal("R0", territories=["JP", "KR"], start="2026-12-01", end="2027-05-31")],
    )


# --- ERN 3.8 without IsMainRelease -------------------------------------------------------------------------
UNMARKED_ICPN = ern38.icpn("458999070004")


def unmarked_messages() -> dict[str, str]:
    recordings = [Recording("A1", "JPYB02600001", "Yamabiko 1"), Recording("A2", "JPYB02600002", "Yamabiko 2")]
    album = ern38.message(
        "YB-1",
        "2026-11-03T10:00:00+09:00",
        recordings,
        [
            Release("R1", "Yamabiko 1", ["A1"], release_type="TrackRelease"),
            Release("R0", "Yamabiko no Uta", ["A1", "A2"], icpn=UNMARKED_ICPN),
            Release("R2", "Yamabiko 2", ["A2"], release_type="TrackRelease"),
        ],
        [Deal("R0", territories=["JP"]), Deal("R1", territories=["JP"], uses=["PermanentDownload"])],
    )
    # two track releases and nothing that says which product they belong to
    loose = ern38.message(
        "YB-2",
        "2026-11-04T10:00:00+09:00",
        [Recording("A1", "JPYB02600003", "Kodama 1"), Recording("A2", "JPYB02600004", "Kodama 2")],
        [
            Release("R1", "Kodama 1", ["A1"], release_type="TrackRelease"),
            Release("R2", "Kodama 2", ["A2"], release_type="TrackRelease"),
        ],
        [Deal("R1", territories=["JP"]), Deal("R2", territories=["JP"])],
    )
    return {"YB_1.xml": album, "YB_2.xml": loose}


# --- two different releases under one ICPN ------------------------------------------------------------------
SHARED_ICPN = ern38.icpn("458999070005")


def shared_icpn_messages() -> tuple[str, str]:
    kumo = ern38.message(
        "KM-1",
        "2026-11-05T10:00:00+09:00",
        [Recording("A1", "JPKM02600001", "Kumo 1")],
        [Release("R0", "Kumo no Ue", ["A1"], icpn=SHARED_ICPN, is_main=True)],
        [Deal("R0", territories=["JP"])],
    )
    sora = ern38.message(
        "SR-1",
        "2026-11-06T10:00:00+09:00",
        [Recording("A1", "JPSR02600001", "Sora 1")],
        [Release("R0", "Sora no Iro", ["A1"], icpn=SHARED_ICPN, is_main=True)],
        [Deal("R0", territories=["KR"])],
    )
    return kumo, sora


@pytest.fixture(scope="module")
def rights_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("rights")
    landing = Landing(root / "landing")
    landing.holder("kirigami-sound", "music", name="Kirigami Sound")
    landing.write("music", "kirigami-sound", "2026-11-24/KS_TIED.xml", tied_terms_message())
    landing.holder("hoshizora", "music")
    for name, content in moved_rights_messages().items():
        landing.write("music", "hoshizora", f"2026-11-24/{name}", content)
    landing.holder("umibe", "music")
    landing.write("music", "umibe", "2026-11-24/UB_1.xml", refused_release_message())
    landing.holder("yamabiko", "music")
    for name, content in unmarked_messages().items():
        landing.write("music", "yamabiko", f"2026-11-24/{name}", content)
    kumo, sora = shared_icpn_messages()
    landing.holder("kumo-label", "music").holder("sora-label", "music")
    landing.write("music", "kumo-label", "2026-11-24/KM_1.xml", kumo)
    landing.write("music", "sora-label", "2026-11-24/SR_1.xml", sora)
    settings = make_settings(root, landing.root)
    summary = ingest_and_build(settings)
    return settings, summary


def track_windows(settings, isrc: str, territory: str) -> list[tuple]:
    return rows(
        settings,
        """
        SELECT commercial_model, use_type, window_start, window_end, status, term_count
        FROM marts.fct_licence_window_by_territory l JOIN marts.dim_work w USING (work_id)
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
        "FROM marts.fct_licence_window_by_territory l JOIN marts.dim_work w USING (work_id) WHERE w.icpn = ?",
        [TIED_ALBUM_ICPN],
    )
    assert album == [(249, first, last, 2)]  # SubscriptionModel OnDemandStream: album deals 1 and 2
    # in the mart, each Worldwide window is one row, not one per country
    assert rows(
        settings,
        "SELECT territory, excluded_territories, commercial_model, use_type, term_count "
        "FROM marts.fct_licence_window l JOIN marts.dim_work w USING (work_id) WHERE w.icpn = ? ORDER BY ALL",
        [TIED_ALBUM_ICPN],
    ) == [
        ("Worldwide", [], "AdvertisementSupportedModel", "OnDemandStream", 1),
        ("Worldwide", [], "SubscriptionModel", "OnDemandStream", 2),
    ]


def windows_of(settings, where: str, params: list) -> list[tuple]:
    return rows(
        settings,
        f"""
        SELECT territory, commercial_model, use_type, window_start, window_end, status
        FROM marts.fct_licence_window_by_territory l JOIN marts.dim_work w USING (work_id)
        WHERE {where} ORDER BY ALL
        """,
        params,
    )


def test_a_newer_message_with_a_refused_release_supersedes_the_older_deals(rights_run):
    settings, _ = rights_run
    # the update moved the rights from Worldwide to JP; its release was refused for its GRid, not its rights
    for isrc in ("JPHZ02600001", "JPHZ02600002"):
        assert windows_of(settings, "w.isrc = ?", [isrc]) == [
            ("JP", "SubscriptionModel", "OnDemandStream", date(2026, 12, 1), None, "active")
        ]
    # the album's own Worldwide deal is no longer in force, and the refused state licenses no album
    assert windows_of(settings, "w.icpn = ?", [MOVED_ICPN]) == []
    assert rows(settings, "SELECT title, file_id IS NOT NULL FROM marts.dim_work WHERE icpn = ?", [MOVED_ICPN]) == [
        ("Hoshizora", True)
    ]
    reasons = rows(
        settings,
        "SELECT location, stage, reason FROM ops.quarantine WHERE file_path LIKE '%HZ_2.xml'",
    )
    assert len(reasons) == 1 and reasons[0][:2] == ("/UpdateReleaseMessage/ReleaseList/Release[1]", "ingest")
    assert reasons[0][2].startswith("Release R0: invalid GRid")


def test_a_release_refused_for_its_icpn_keeps_its_recordings_licensed(rights_run):
    settings, _ = rights_run
    for isrc in ("JPUB02600001", "JPUB02600002"):
        assert windows_of(settings, "w.isrc = ?", [isrc]) == [
            ("JP", "SubscriptionModel", "OnDemandStream", date(2026, 12, 1), date(2027, 5, 31), "active"),
            ("KR", "SubscriptionModel", "OnDemandStream", date(2026, 12, 1), date(2027, 5, 31), "active"),
        ]
    # the release itself is no work: it is in quarantine, once, from ingest
    assert rows(settings, "SELECT count(*) FROM marts.dim_work WHERE kind = 'release' AND title = 'Umibe'") == [(0,)]
    assert rows(
        settings, "SELECT location, stage, reason FROM ops.quarantine WHERE file_path LIKE '%UB_1.xml'"
    ) == [
        (
            "/NewReleaseMessage/ReleaseList/Release[1]",
            "ingest",
            f"Release R0: invalid ICPN '{REFUSED_ICPN}': The number's checksum or check digit is invalid.",
        )
    ]
    assert rows(
        settings,
        "SELECT release_reference, rejected_identifiers, resource_references FROM raw.ddex_rejected_releases "
        "WHERE file_path LIKE '%UB_1.xml'",
    ) == [("R0", ["ICPN"], ["A1", "A2"])]


def test_ern3_album_without_is_main_release_is_a_work_with_its_windows(rights_run):
    settings, _ = rights_run
    assert rows(
        settings, "SELECT kind, title, display_artist, rights_holder_id FROM marts.dim_work WHERE icpn = ?", [UNMARKED_ICPN]
    ) == [("release", "Yamabiko no Uta", "Kiriyama Nagi", "yamabiko")]
    assert windows_of(settings, "w.icpn = ?", [UNMARKED_ICPN]) == [
        ("JP", "SubscriptionModel", "OnDemandStream", date(2026, 12, 1), None, "active")
    ]
    # track 1: the album deal and its own track deal (a download)
    assert windows_of(settings, "w.isrc = ?", ["JPYB02600001"]) == [
        ("JP", "SubscriptionModel", "OnDemandStream", date(2026, 12, 1), None, "active"),
        ("JP", "SubscriptionModel", "PermanentDownload", date(2026, 12, 1), None, "active"),
    ]


def test_releases_that_cannot_become_a_work_are_quarantined_and_license_nothing(rights_run):
    settings, summary = rights_run
    reason = (
        'no main release in the message: no IsMainRelease="true", and no release references every recording, '
        "carries an ICPN or GRid, or is an Album, Single or EP; release {} makes no work and its deals license nothing"
    )
    assert rows(
        settings, "SELECT location, stage, reason FROM ops.quarantine WHERE file_path LIKE '%YB_2.xml' ORDER BY location"
    ) == [
        ("/NewReleaseMessage/ReleaseList/Release[1]", "build", reason.format("R1")),
        ("/NewReleaseMessage/ReleaseList/Release[2]", "build", reason.format("R2")),
    ]
    assert summary.releases_quarantined == 2
    # the recordings are works (from the ResourceList); no deal of an unknown release state licenses them
    assert rows(settings, "SELECT count(*) FROM marts.dim_work WHERE isrc IN ('JPYB02600003', 'JPYB02600004')") == [(2,)]
    assert windows_of(settings, "w.isrc IN ('JPYB02600003', 'JPYB02600004')", []) == []


def test_every_delivered_release_is_a_work_a_track_of_one_or_in_quarantine(rights_run):
    settings, _ = rights_run
    # records of each file reconcile: found = loaded + quarantined at ingest
    assert rows(
        settings, "SELECT count(*) FROM ops.ingest_files WHERE records_found <> records_loaded + records_quarantined"
    ) == [(0,)]
    unaccounted = rows(
        settings,
        """
        SELECT r.file_path, r.record_position FROM intermediate.int_ddex_releases_classified r
        WHERE NOT (
            r.is_main_release AND EXISTS (
                SELECT 1 FROM intermediate.int_ddex_release_states s
                JOIN marts.bridge_work_source b ON b.source_key = s.release_key
                WHERE s.file_id = r.file_id AND s.release_reference = r.release_reference
            )
            OR NOT r.is_main_release AND EXISTS (
                SELECT 1 FROM intermediate.int_ddex_release_states s WHERE s.file_id = r.file_id
            )
            OR EXISTS (
                SELECT 1 FROM ops.quarantine q WHERE q.file_id = r.file_id AND q.location = r.record_position
            )
        )
        """,
    )
    assert unaccounted == []


def test_two_releases_under_one_icpn_stay_two_works_and_the_conflict_is_reported(rights_run):
    from pipelines.nightly import report
    from tests.conftest import SAMPLE_DATE

    settings, summary = rights_run
    assert rows(
        settings, "SELECT source_key, title, rights_holder_id FROM marts.dim_work WHERE icpn = ? ORDER BY source_key", [SHARED_ICPN]
    ) == [
        (f"icpn:{SHARED_ICPN}", "Kumo no Ue", "kumo-label"),
        (f"icpn:{SHARED_ICPN}~sora no iro", "Sora no Iro", "sora-label"),
    ]
    # each release keeps its own recording's licence
    assert windows_of(settings, "w.isrc = ?", ["JPKM02600001"]) == [
        ("JP", "SubscriptionModel", "OnDemandStream", date(2026, 12, 1), None, "active")
    ]
    assert windows_of(settings, "w.isrc = ?", ["JPSR02600001"]) == [
        ("KR", "SubscriptionModel", "OnDemandStream", date(2026, 12, 1), None, "active")
    ]
    conflicts = rows(
        settings,
        "SELECT identifier_type, identifier_value, source_keys, titles, holder_ids, len(file_ids), file_paths, logical_date "
        "FROM ops.identifier_conflicts",
    )
    assert conflicts == [
        (
            "ICPN",
            SHARED_ICPN,
            [f"icpn:{SHARED_ICPN}", f"icpn:{SHARED_ICPN}~sora no iro"],
            ["Kumo no Ue", "Sora no Iro"],
            ["kumo-label", "sora-label"],
            2,
            ["music/kumo-label/2026-11-24/KM_1.xml", "music/sora-label/2026-11-24/SR_1.xml"],
            SAMPLE_DATE,
        )
    ]
    assert summary.identifier_conflicts == 1
    assert report(settings, SAMPLE_DATE).identifier_conflicts == [
        f"ICPN {SHARED_ICPN}: Kumo no Ue / Sora no Iro (kumo-label, sora-label)"
    ]
