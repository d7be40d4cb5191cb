"""Deals refused at ingest (inverted, unreadable, unknown territory) never become licence windows; the release's
other deals do, and DDEX's 'WW' is Worldwide."""

from __future__ import annotations

from datetime import date

import pytest

from tests.build.conftest import ingest_and_build, rows
from tests.conftest import Landing, make_settings
from tests.ingest.test_deal_windows import ERN43_DEALS

pytestmark = pytest.mark.slow


def test_only_the_valid_deals_become_windows(tmp_path):
    landing = Landing(tmp_path / "landing")
    landing.holder("tsukiyo", "music").write("music", "tsukiyo", "deals.xml", ERN43_DEALS)
    settings = make_settings(tmp_path, landing.root)
    assert ingest_and_build(settings).failures == []
    windows = rows(
        settings,
        "SELECT w.kind, f.territory, f.window_start, f.window_end FROM marts.fct_licence_window_by_territory f "
        "JOIN marts.dim_work w USING (work_id) WHERE f.territory IN ('JP', 'KR', 'US') ORDER BY 1, 2",
    )
    assert windows == [
        ("recording", "JP", date(2026, 12, 1), None),  # deal 1 and Worldwide minus KR (deal 5), merged
        ("recording", "KR", date(2027, 1, 1), date(2027, 1, 1)),  # only the one-day WW deal 6
        ("recording", "US", date(2026, 12, 1), None),
        ("release", "JP", date(2026, 12, 1), None),
        ("release", "KR", date(2027, 1, 1), date(2027, 1, 1)),
        ("release", "US", date(2026, 12, 1), None),
    ]
    assert rows(settings, "SELECT count(*) FROM marts.fct_licence_window WHERE window_start < DATE '2026-12-01'") == [
        (0,)
    ]  # the inverted 2021 deal is nowhere
    assert rows(settings, "SELECT count(*) FROM marts.fct_licence_window WHERE territory = 'XZ'") == [(0,)]
