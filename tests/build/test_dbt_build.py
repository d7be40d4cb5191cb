"""`dbt build` on the sample deliveries: green, unit tests run, and the marts hold the rows they should."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.build.conftest import rows

pytestmark = pytest.mark.slow


def test_build_is_green_with_data_tests_and_unit_tests(built_samples):
    settings, summary = built_samples
    assert summary.failures == []
    results = json.loads((settings.var_dir / "dbt" / "target" / "run_results.json").read_text())["results"]
    unit_tests = {r["unique_id"].split(".")[-1]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert unit_tests.items() >= {
        "worldwide_is_one_cell_and_only_countries_singled_out_are_cells_of_their_own": "pass",
        "overlapping_and_adjacent_windows_merge_gaps_do_not_and_takedowns_withdraw": "pass",
        "takedowns_withdraw_their_own_message_on_the_single_term_shortcut_too": "pass",
        "worldwide_terms_merge_as_one_cell_and_stay_one_row": "pass",
        "worldwide_windows_expand_to_every_country_but_their_exclusions": "pass",
        "same_isrc_from_two_holders_is_one_work_and_video_matches_on_title_and_year": "pass",
    }.items()
    data_tests = [r for r in results if r["unique_id"].startswith("test.")]
    assert len(data_tests) > 60 and {r["status"] for r in data_tests} == {"pass"}
    for mart in ("dim_work", "dim_party", "bridge_work_party", "dim_rights_holder", "fct_licence_window", "fct_work_descriptor"):
        assert any(f".{mart}" in r["unique_id"] or f"_{mart}_" in r["unique_id"] for r in data_tests), mart


def test_dim_work_holds_every_kind_with_the_video_hierarchy(built_samples):
    settings, _ = built_samples
    kinds = dict(rows(settings, "SELECT kind, count(*) FROM marts.dim_work GROUP BY kind"))
    assert kinds == {"recording": 8, "release": 1, "movie": 1, "episode": 1, "season": 1, "series": 1}
    hierarchy = rows(
        settings,
        """
        SELECT e.episode_number, s.kind, s.title, s.season_number, r.kind, r.title, r.title_ja
        FROM marts.dim_work e
        JOIN marts.dim_work s ON e.parent_work_id = s.work_id
        JOIN marts.dim_work r ON s.parent_work_id = r.work_id
        WHERE e.provider_asset_id = 'AOZT0000000000000002'
        """,
    )
    assert hierarchy == [
        (3, "season", "Midnight Kitchen Detectives - Season 1", 1, "series", "Midnight Kitchen Detectives", "真夜中キッチン探偵団")
    ]
    release = rows(
        settings,
        "SELECT title, title_ja, title_latn, icpn, grid, catalog_number, genres, release_date, rights_holder_id, is_withdrawn "
        "FROM marts.dim_work WHERE kind = 'release'",
    )
    assert release == [
        ("Yoake no Machikado", "夜明けの街角", "Yoake no Machikado", "4589990100014", "A19ZSKRYMK0000001P", "SKRA-26001",
         ["J-Pop"], date(2026, 12, 1), "sakura-records", False)
    ]  # fmt: skip
    # the work id derivation is stable: w_ + sha256('isrc:JPSK02600002')[:20]
    assert rows(settings, "SELECT work_id FROM marts.dim_work WHERE isrc = 'JPSK02600002'") == [("w_e6c670707734023e02e8",)]


def test_parties_with_roles_from_ddex_and_adi(built_samples):
    settings, _ = built_samples
    credits = rows(
        settings,
        """
        SELECT p.name, p.name_ja, b.role_group, b.role FROM marts.bridge_work_party b
        JOIN marts.dim_party p USING (party_id) JOIN marts.dim_work w USING (work_id)
        WHERE w.isrc = 'JPSK02600001' ORDER BY b.role_group
        """,
    )
    assert credits == [
        ("Hoshino Mina", "星野ミナ", "artist", "MainArtist"),
        ("Kishimoto Haruki", "岸本ハルキ", "composer", "Composer"),
        ("Asakura Shiori", "朝倉詩織", "lyricist", "Lyricist"),
    ]
    movie = rows(
        settings,
        """
        SELECT b.role_group, p.name FROM marts.bridge_work_party b
        JOIN marts.dim_party p USING (party_id) JOIN marts.dim_work w USING (work_id)
        WHERE w.provider_asset_id = 'AOZT0000000000000001' ORDER BY b.role_group, b.sequence
        """,
    )
    assert movie == [
        ("cast", "Hikari Minase"), ("cast", "Sora Takeda"), ("cast", "Kenji Oshiro"),
        ("crew", "Ryoko Takamura"), ("crew", "Daisuke Onoda"), ("studio", "Aozora Pictures"),
    ]  # fmt: skip
    assert rows(settings, "SELECT role_groups, work_count FROM marts.dim_party WHERE name = 'Sakura Records'") == [(["label"], 1)]


def test_licence_windows_per_territory_from_deals_and_adi(built_samples):
    settings, _ = built_samples
    rain = rows(
        settings,
        """
        SELECT territory, commercial_model, use_type, window_start, window_end, is_open_ended, status
        FROM marts.fct_licence_window l JOIN marts.dim_work w USING (work_id)
        WHERE w.isrc = 'JPSK02600002' AND territory = 'JP' ORDER BY ALL
        """,
    )
    assert ("JP", "SubscriptionModel", "Stream", date(2026, 11, 1), None, True, "active") in rain
    movie = rows(
        settings,
        "SELECT territory, commercial_model, use_type, window_start, window_end, source FROM marts.fct_licence_window l "
        "JOIN marts.dim_work w USING (work_id) WHERE w.provider_asset_id = 'AOZT0000000000000001'",
    )
    assert movie == [("JP", "SubscriptionModel", "Stream", date(2026, 11, 1), date(2027, 10, 31), "adi")]
    # every territory is an ISO 3166-1 alpha-2 code, or Worldwide (every country but the excluded ones)
    assert rows(
        settings,
        "SELECT count(*) FROM marts.fct_licence_window "
        "WHERE territory NOT IN (SELECT country_code FROM reference.iso_3166_countries) AND territory <> 'Worldwide'",
    ) == [(0,)]
    assert rows(
        settings,
        "SELECT count(*) FROM marts.fct_licence_window WHERE territory <> 'Worldwide' AND len(excluded_territories) > 0",
    ) == [(0,)]
    # per country, a Worldwide window is every country of the seed (249) but its exclusions
    per_country = rows(
        settings,
        """
        SELECT l.licence_window_id, len(l.excluded_territories), count(c.territory)
        FROM marts.fct_licence_window l JOIN marts.fct_licence_window_by_territory c USING (licence_window_id)
        WHERE l.territory = 'Worldwide' GROUP BY ALL
        """,
    )
    assert per_country and all(countries == 249 - excluded for _, excluded, countries in per_country)
    assert rows(
        settings,
        "SELECT count(*) FROM marts.fct_licence_window_by_territory "
        "WHERE territory NOT IN (SELECT country_code FROM reference.iso_3166_countries)",
    ) == [(0,)]


def test_rights_holders_and_sources(built_samples):
    settings, _ = built_samples
    holders = rows(
        settings, "SELECT rights_holder_id, kind, is_declared, licence_territories, work_count FROM marts.dim_rights_holder ORDER BY 1"
    )
    assert ("aozora-pictures", "video", True, ["JP"], 4) in holders
    assert ("sakura-records", "music", True, [], 9) in holders
    assert rows(settings, "SELECT count(*), count(DISTINCT work_id) FROM marts.bridge_work_source") == [(13, 13)]


def test_history_answers_as_of_queries(built_samples):
    settings, _ = built_samples
    # published history (snapshots): nothing before the first build, everything after it
    assert rows(settings, "SELECT count(*) FROM marts.works_as_of(TIMESTAMPTZ '2000-01-01 00:00:00+00')") == [(0,)]
    assert rows(settings, "SELECT count(*) FROM marts.works_as_of(now())") == [(13,)]
    assert rows(settings, "SELECT count(*) FROM marts.licence_windows_as_of(now())") == rows(
        settings, "SELECT count(*) FROM marts.fct_licence_window"
    )
    # delivered history (message time): the album existed from its message's creation on
    assert rows(
        settings, "SELECT title FROM marts.works_delivered_as_of(TIMESTAMPTZ '2026-11-21 00:00:00+09') WHERE kind = 'release'"
    ) == [("Yoake no Machikado",)]
    assert rows(settings, "SELECT count(*) FROM marts.works_delivered_as_of(TIMESTAMPTZ '2026-11-19 00:00:00+09')") == [(0,)]
    # one build: every work changed once, with its licence windows in the same change
    assert rows(settings, "SELECT count(*), max(change_sequence) FROM marts.fct_work_change") == [(13, 1)]
    assert rows(
        settings,
        "SELECT c.change_kinds FROM marts.fct_work_change c JOIN marts.dim_work w USING (work_id) WHERE w.isrc = 'JPSK02600002'",
    ) == [(["licence_changed", "work_created"],)]


def test_dbt_runs_leave_the_environment_as_they_found_it(built_samples, monkeypatch):
    import os

    from pipelines.build import run_dbt

    settings, _ = built_samples
    monkeypatch.delenv("MSDB_WAREHOUSE", raising=False)
    run_dbt(settings, "ls", "--quiet", "--select", "dim_work")
    assert "MSDB_WAREHOUSE" not in os.environ
    monkeypatch.setenv("MSDB_WAREHOUSE", "/srv/msdb/warehouse.duckdb")
    run_dbt(settings, "ls", "--quiet", "--select", "dim_work")
    assert os.environ["MSDB_WAREHOUSE"] == "/srv/msdb/warehouse.duckdb"
