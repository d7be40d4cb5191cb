"""Message semantics and history on the fixture single (tests/fixtures/history/README.md).

Updates replace the earlier state in MessageCreatedDateTime order, whatever order the files arrive in; the
snapshots keep what was published (SCD2), dim_work_history what was delivered; a purge withdraws.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tests.build.conftest import ingest_and_build, rows
from tests.conftest import Landing, make_settings

pytestmark = pytest.mark.slow

HISTORY = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "history"
ICPN = "4589990100090"
DAY = date(2026, 11, 24)


def _landing(tmp_path) -> Landing:
    landing = Landing(tmp_path / "landing")
    landing.holder("sakura-records", "music", name="Sakura Records K.K.")
    return landing


def _deliver(landing: Landing, name: str, folder: str) -> None:
    landing.add("music", "sakura-records", HISTORY / name, name=f"{folder}/{name}")


def _release(settings):
    return rows(settings, "SELECT work_id, title, title_ja, is_withdrawn FROM marts.dim_work WHERE icpn = ?", [ICPN])


def _release_windows(settings):
    return rows(
        settings,
        "SELECT territory, window_start, status FROM marts.fct_licence_window_by_territory l JOIN marts.dim_work w USING (work_id) "
        "WHERE w.icpn = ? AND territory IN ('JP', 'US', 'GB') ORDER BY territory",
        [ICPN],
    )


def test_update_then_purge_in_order_gives_scd2_versions_and_change_sequence(tmp_path):
    landing = _landing(tmp_path)
    settings = make_settings(tmp_path, landing.root)

    _deliver(landing, "01_new_release.xml", "2026-01-10")
    ingest_and_build(settings, DAY)
    work_id = _release(settings)[0][0]
    assert _release(settings) == [(work_id, "Hoshi no Uta", "星の歌", False)]
    assert _release_windows(settings) == [("JP", date(2026, 2, 1), "active")]
    first_build = rows(settings, "SELECT max(dbt_valid_from) FROM snapshots.snap_dim_work")[0][0]

    _deliver(landing, "02_update_release.xml", "2026-03-01")
    ingest_and_build(settings, DAY + timedelta(days=1))
    assert _release(settings) == [(work_id, "Hoshi no Uta (Deluxe)", "星の歌（デラックス）", False)]
    # the Update replaced the deal: Worldwide minus US from 2026-03-15, the JP-only window is gone
    assert _release_windows(settings) == [("GB", date(2026, 3, 15), "active"), ("JP", date(2026, 3, 15), "active")]

    versions = rows(
        settings,
        "SELECT title, dbt_valid_from, dbt_valid_to FROM snapshots.snap_dim_work WHERE work_id = ? ORDER BY dbt_valid_from",
        [work_id],
    )
    assert [v[0] for v in versions] == ["Hoshi no Uta", "Hoshi no Uta (Deluxe)"]
    assert versions[0][1] == first_build and versions[0][2] == versions[1][1] and versions[1][2] is None
    # the catalog as of a moment between the two builds is the first version
    between = first_build + (versions[1][1] - first_build) / 2
    assert rows(settings, "SELECT title FROM marts.works_as_of(?) WHERE work_id = ?", [between, work_id]) == [("Hoshi no Uta",)]
    assert rows(
        settings,
        "SELECT territory, window_start FROM marts.licence_windows_by_territory_as_of(?) WHERE work_id = ? AND territory IN ('JP', 'GB')",
        [between, work_id],
    ) == [("JP", date(2026, 2, 1))]
    # the JP window of the first deal is closed in the window snapshot, not deleted; the Update's deal is one
    # Worldwide window excluding US, not a version per country
    assert rows(
        settings,
        "SELECT territory, excluded_territories, window_start, dbt_valid_to IS NOT NULL FROM snapshots.snap_fct_licence_window "
        "WHERE work_id = ? ORDER BY dbt_valid_from",
        [work_id],
    ) == [("JP", [], date(2026, 2, 1), True), ("Worldwide", ["US"], date(2026, 3, 15), False)]
    # as of now, per country: JP and GB from the Update, US not licensed
    latest = versions[1][1] + timedelta(seconds=1)
    assert rows(
        settings,
        "SELECT territory, licensed_as, window_start FROM marts.licence_windows_by_territory_as_of(?) "
        "WHERE work_id = ? AND territory IN ('JP', 'GB', 'US') ORDER BY territory",
        [latest, work_id],
    ) == [("GB", "Worldwide", date(2026, 3, 15)), ("JP", "Worldwide", date(2026, 3, 15))]
    changes = rows(settings, "SELECT change_sequence, change_kinds FROM marts.fct_work_change WHERE work_id = ? ORDER BY 1", [work_id])
    assert changes == [(1, ["licence_changed", "work_created"]), (2, ["licence_changed", "work_updated"])]

    _deliver(landing, "03_purge_release.xml", "2026-04-01")
    ingest_and_build(settings, DAY + timedelta(days=2))
    assert _release(settings) == [(work_id, "Hoshi no Uta (Deluxe)", "星の歌（デラックス）", True)]
    assert {status for _, _, status in _release_windows(settings)} == {"withdrawn"}
    assert rows(settings, "SELECT withdrawn_at FROM marts.dim_work WHERE work_id = ?", [work_id]) == [
        (datetime.fromisoformat("2026-04-01T10:00:00+09:00"),)
    ]
    # the recording was only on this single: withdrawn too
    assert rows(settings, "SELECT is_withdrawn FROM marts.dim_work WHERE isrc = 'JPSK02600101'") == [(True,)]
    changes = rows(settings, "SELECT change_sequence, change_kinds FROM marts.fct_work_change WHERE work_id = ? ORDER BY 1", [work_id])
    assert changes[-1] == (3, ["licence_changed", "work_withdrawn"])


def test_update_delivered_before_the_new_release_is_still_the_current_state(tmp_path):
    landing = _landing(tmp_path)
    settings = make_settings(tmp_path, landing.root)

    # the UpdateReleaseMessage (created 2026-03-01) arrives first ...
    _deliver(landing, "02_update_release.xml", "2026-03-02")
    ingest_and_build(settings, DAY)
    work_id, title, _, _ = _release(settings)[0]
    assert title == "Hoshi no Uta (Deluxe)"

    # ... the NewReleaseMessage (created 2026-01-10) a day later: it is older, so it does not win
    _deliver(landing, "01_new_release.xml", "2026-03-03")
    ingest_and_build(settings, DAY + timedelta(days=1))
    arrival = rows(settings, "SELECT file_path FROM ops.ingest_files ORDER BY ingested_at")
    assert [p[0].rsplit("/", 1)[1] for p in arrival] == ["02_update_release.xml", "01_new_release.xml"]
    assert _release(settings) == [(work_id, "Hoshi no Uta (Deluxe)", "星の歌（デラックス）", False)]
    assert _release_windows(settings) == [("GB", date(2026, 3, 15), "active"), ("JP", date(2026, 3, 15), "active")]

    # delivered history puts both versions in message order: two SCD2 versions
    history = rows(
        settings,
        "SELECT version_number, title, valid_from, valid_to, is_current FROM marts.dim_work_history WHERE work_id = ? ORDER BY 1",
        [work_id],
    )
    created_new = datetime.fromisoformat("2026-01-10T10:00:00+09:00")
    created_update = datetime.fromisoformat("2026-03-01T10:00:00+09:00")
    assert history == [
        (1, "Hoshi no Uta", created_new, created_update, False),
        (2, "Hoshi no Uta (Deluxe)", created_update, None, True),
    ]
    assert rows(
        settings, "SELECT title FROM marts.works_delivered_as_of(TIMESTAMPTZ '2026-02-01 00:00:00+09') WHERE work_id = ?", [work_id]
    ) == [("Hoshi no Uta",)]
    # what was published never went back to the older title, so feeds see no change to send
    assert rows(settings, "SELECT count(*) FROM snapshots.snap_dim_work WHERE work_id = ?", [work_id]) == [(1,)]
    assert rows(settings, "SELECT max(change_sequence) FROM marts.fct_work_change WHERE work_id = ?", [work_id]) == [(1,)]
