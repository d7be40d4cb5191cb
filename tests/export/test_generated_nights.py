"""Three generated nights through the whole pipeline (new releases, updates, window ends, takedowns): each
night's delta, applied to what the partner held, gives exactly the feed a full cut of that night would give."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.generate import Request, generate_landing
from pipelines.nightly import run_nightly
from pipelines.partner_feed import partner_feed
from pipelines.registry import load_partners
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

START = date(2026, 11, 24)


def test_each_generated_night_delivers_exactly_what_changed(tmp_path):
    landing = tmp_path / "landing"
    nights = generate_landing(landing, Request(works=150, articles=5, holders=2, nights=3, seed=7, start=START, creatives=3))
    changes = [n.changes for n in nights[1:]]
    assert sum(c.get("window_end", 0) + c.get("takedown", 0) for c in changes) > 0, changes
    settings = make_settings(tmp_path, landing)
    (melody,) = [c for c in load_partners(settings.partners_dir) if c.partner_id == "melody-stream"]
    holdings: dict[str, str] = {}
    deletes = 0
    for night in range(4):
        logical_date = START + timedelta(days=night)
        report = run_nightly(settings, logical_date)
        assert not report.failed_stages
        root = Path(settings.deliver, f"melody-stream/works/{logical_date}")
        manifest = json.loads((root / "manifest.json").read_text())
        assert (manifest["delivery_type"], manifest["sequence"]) == ("full" if night == 0 else "delta", night + 1)
        for line in (root / "works.jsonl").read_text("utf-8").splitlines():
            row = json.loads(line)
            if row["op"] == "delete":
                deletes += 1
                del holdings[row["work_id"]]
            else:
                assert (row["op"] == "add") == (row["work_id"] not in holdings)
                holdings[row["work_id"]] = line
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            full_cut = [r[0] for r in con.execute(
                f"SELECT work_id FROM ({partner_feed(con, melody, logical_date + timedelta(days=1)).delivered_sql})"
            ).fetchall()]  # fmt: skip
        assert sorted(holdings) == full_cut
        assert manifest["partner_rows"] == len(full_cut)
    assert deletes > 0  # the window ends and takedowns of the follow-up nights
