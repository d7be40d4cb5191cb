"""Hostile ad creatives (tests/fixtures/adversarial/ads/cases.yaml): each lands next to a good advertiser's
creatives and ends as the manifest says, and every file reconciles (found = loaded + quarantined).

The ad creative reader comes with issue 12 (another branch): until pipelines.ingest has it, the module skips.
"""

from __future__ import annotations

import importlib.util
from datetime import date

import duckdb
import pytest
import yaml

from pipelines.ingest import landing as landed_files
from pipelines.ingest import run_ingest
from tests.conftest import SAMPLES, Landing, make_settings
from tests.ingest.conftest import ADVERSARIAL

ADS = ADVERSARIAL / "ads"
CASES = yaml.safe_load((ADS / "cases.yaml").read_text(encoding="utf-8"))
GOOD = SAMPLES / "ads" / "mori-coffee" / "2026-11-24" / "creatives.jsonl"
HAS_AD_READER = (
    importlib.util.find_spec("pipelines.ingest.ad_creatives") is not None
    and "ads" not in landed_files.AWAITING_READER
)

pytestmark = pytest.mark.skipif(
    not HAS_AD_READER or not GOOD.exists(),
    reason="pipelines.ingest has no ad creative reader yet (issue 12); these cases run once it is merged",
)


def _case_param(case: dict):
    marks = [pytest.mark.xfail(reason=case["pending"], strict=True)] if "pending" in case else []
    return pytest.param(case, id=case["file"], marks=marks)


@pytest.mark.parametrize("case", [_case_param(c) for c in CASES])
def test_ad_case_ends_as_the_manifest_says(tmp_path, case):
    landing = Landing(tmp_path / "landing")
    landing.holder("mori-coffee", "ads").holder("hostile-ads", "ads", timezone="Asia/Tokyo")
    good = landing.add("ads", "mori-coffee", GOOD, name="2026-11-24/creatives.jsonl")
    landing.add("ads", "hostile-ads", ADS / case["file"], name=f"2026-11-24/{case['file']}")
    settings = make_settings(tmp_path, landing.root, ingest_helpers=0)
    run_ingest(settings, date(2026, 11, 24))
    relative = f"ads/hostile-ads/2026-11-24/{case['file']}"
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        [(status, found, loaded, quarantined)] = con.execute(
            "SELECT status, records_found, records_loaded, records_quarantined FROM ops.ingest_files "
            "WHERE file_path = ?",
            [relative],
        ).fetchall()
        reasons = con.execute(
            "SELECT location, reason FROM ops.quarantine WHERE file_path = ? ORDER BY location", [relative]
        ).fetchall()
        good_file = con.execute(
            "SELECT status, records_found, records_loaded FROM ops.ingest_files WHERE file_path = ?",
            [good.relative_to(landing.root).as_posix()],
        ).fetchall()
        files = con.execute("SELECT records_found, records_loaded, records_quarantined FROM ops.ingest_files").fetchall()
    assert (status, loaded) == (case["status"], case["loaded"])
    assert [location for location, _ in reasons] == [q["location"] for q in case["quarantine"]]
    for (_, reason), expected in zip(reasons, case["quarantine"], strict=True):
        assert expected["reason"] in reason
    assert good_file == [("loaded", 8, 8)]
    assert len(files) == 2
    assert all(f == lo + q for f, lo, q in files) and found == loaded + quarantined
