"""A whole nightly run over a small generated landing (night 0 and one follow-up night): everything loads,
the quality gate passes and both partner feeds are delivered. About 40 s of CPU."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from pipelines.generate import Request, generate_landing
from pipelines.nightly import run_nightly
from tests.conftest import make_settings

pytestmark = pytest.mark.slow


def test_nightly_run_over_a_generated_landing(tmp_path):
    landing = tmp_path / "landing"
    request = Request(
        works=150, articles=10, holders=2, nights=1, seed=2, start=date(2026, 11, 24), creatives=5
    )
    nights = generate_landing(landing, request)
    assert nights[1].changes == {"new": 1, "update": 1, "window_end": 0, "takedown": 0}
    settings = make_settings(tmp_path, landing)
    report = run_nightly(settings, date(2026, 11, 25))  # both nights' folders, in one run
    assert not report.failed_stages and not report.quality_failures
    assert sum(row["files_quarantined"] + row["records_quarantined"] for row in report.ingest) == 0
    assert {(d["partner_id"], d["status"]) for d in report.deliveries} == {
        ("melody-stream", "delivered"),
        ("cinema-now", "delivered"),
    }
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        kinds = dict(con.execute("SELECT kind, count(*) FROM marts.dim_work GROUP BY kind").fetchall())
        recut = con.execute(
            "SELECT count(*) FROM marts.dim_work WHERE title LIKE '%(Director''s Cut)'"
        ).fetchone()
    assert (
        kinds["recording"] == 135 and kinds["movie"] + kinds["episode"] == 16
    )  # 15 titles, 1 new on night 1
    assert recut == (1,)  # the title updated on night 1
