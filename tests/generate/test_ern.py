"""Generated ERN 4.3 takedowns and purges read by the real ingest as the warehouse expects them."""

from __future__ import annotations

from datetime import date

import duckdb

from pipelines.generate import ern
from pipelines.generate.catalog import CatalogShape, Edits
from pipelines.ingest import run_ingest
from tests.conftest import make_settings

START = date(2026, 11, 24)


def test_takedown_deal_and_purge_message_load(tmp_path, landing):
    shape = CatalogShape.of(works=100, holders=1)
    landing.holder(shape.labels[0][0], "music")
    folder = landing.root / "music" / shape.labels[0][0] / "2026-11-25"
    folder.mkdir(parents=True)
    taken_down = ern.album(1, shape, 0, 9, START, Edits(version=2))
    purged = ern.album(1, shape, 1, 3, START)
    with (folder / "takedown.xml").open("w", encoding="utf-8") as out:
        found = ern.write_message(
            out, "UpdateReleaseMessage", "T.1", "2026-11-25T02:00:00+09:00", 0, [taken_down], shape, START
        )
    assert found == 1 + 9 + 2
    with (folder / "purge.xml").open("w", encoding="utf-8") as out:
        assert ern.write_purge(out, "P.1", "2026-11-25T02:00:01+09:00", 0, [purged], shape) == 2
    settings = make_settings(tmp_path, landing.root)
    summary = run_ingest(settings, date(2026, 11, 25))
    assert [(o.status, o.loaded) for o in summary.files] == [("loaded", 2), ("loaded", 12)]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT territories, start_date, is_takedown FROM raw.ddex_deals").fetchall() == [
            (["Worldwide"], START, True)
        ]
        assert con.execute("SELECT icpn, title FROM raw.ddex_purges").fetchall() == [
            (purged.icpn, purged.default_title)
        ]
