"""End to end on the real DDEX and ADI deliveries in ../shared/data."""

from __future__ import annotations

import duckdb
import pytest

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def real_run(real_catalog_run):
    return real_catalog_run


def test_japanese_album_recording_is_a_work_with_both_titles(real_run):
    with duckdb.connect(str(real_run.warehouse), read_only=True) as con:
        row = con.execute(
            "SELECT kind, title, title_ja, title_latn, display_artist, duration_seconds FROM marts.dim_work WHERE isrc = 'JPTO09404900'"
        ).fetchall()
    assert row == [("recording", "Yume no Lullaby", "夢のララバイ", "Yume no Lullaby", "Saeko Shu", 148)]


def test_japanese_album_release_and_its_licence(real_run):
    with duckdb.connect(str(real_run.warehouse), read_only=True) as con:
        release = con.execute("SELECT title, title_ja, genres FROM marts.dim_work WHERE icpn = '00094631432057'").fetchall()
        windows = con.execute(
            """
            SELECT DISTINCT l.territory, l.commercial_model, l.use_type, l.window_start, l.window_end
            FROM marts.fct_licence_window_by_territory l JOIN marts.dim_work w USING (work_id)
            WHERE w.isrc = 'JPTO09404900' AND l.commercial_model = 'SubscriptionModel'
            ORDER BY ALL
            """
        ).fetchall()
    assert release == [("Yume no Hajmari", "夢のはじまり", ["J-Pop"])]
    from datetime import date

    assert windows == [
        ("JP", "SubscriptionModel", "ConditionalDownload", date(2004, 4, 1), None),
        ("JP", "SubscriptionModel", "Stream", date(2004, 4, 1), None),
    ]


def test_adi_title_from_the_cablelabs_package(real_run):
    with duckdb.connect(str(real_run.warehouse), read_only=True) as con:
        row = con.execute(
            "SELECT kind, title, duration_seconds, genres FROM marts.dim_work WHERE provider_asset_id = 'LFHT2419582007240000'"
        ).fetchall()
        quarantined = con.execute("SELECT count(*) FROM ops.ingest_files WHERE status = 'quarantined'").fetchone()[0]
    assert row == [("movie", "Friends Who Kill HD", 3600, ["Thrillers"])]
    assert quarantined == 0
