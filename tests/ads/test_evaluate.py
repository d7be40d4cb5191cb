"""`msdb ads eval` (pipelines/ads/evaluate.py): per-creative and overall shares, printed and stored."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.ads.evaluate import EvalInputError, evaluate, read_creatives
from pipelines.ads.iab import configured_iab
from pipelines.cli import app
from tests.conftest import make_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ads"


def test_the_eval_command_prints_and_stores_the_shares(tmp_path):
    warehouse = tmp_path / "warehouse" / "msdb.duckdb"
    result = CliRunner().invoke(
        app,
        [
            "ads", "eval", "--creatives", str(FIXTURES / "small_creatives.jsonl"), "--livedoor",
            str(FIXTURES / "livedoor_small"), "--warehouse", str(warehouse), "--date", "2026-11-24",
        ],
        terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert lines[1:5] == [
        "small-gadgets: 1.000 (3/3 matched articles of gadgets)",
        "small-sports: 1.000 (3/3 matched articles of sports)",
        "small-travel: - (0/0 matched articles of travel)",
        "overall expected_category_share@1: 1.000 (6/6 matched articles; macro 1.000; 6 of 6 articles matched)",
    ]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute("SELECT logical_date::VARCHAR, model, metric, value, sample_size, details FROM ops.model_evals").fetchall()
    [(day, model, metric, value, sample, details)] = row
    assert (day, model, metric, value, sample) == ("2026-11-24", "ads:livedoor", "expected_category_share@1", 1.0, 6)
    per_creative = {c["creative_id"]: (c["matched"], c["expected_matched"], c["categories"]) for c in json.loads(details)["creatives"]}
    assert per_creative == {
        "small-gadgets": (3, 3, {"gadgets": 3}),
        "small-sports": (3, 3, {"sports": 3}),
        "small-travel": (0, 0, {}),
    }


def test_a_bad_creative_line_stops_the_eval_naming_it(tmp_path):
    bad = tmp_path / "creatives.jsonl"
    lines = (FIXTURES / "small_creatives.jsonl").read_text("utf-8").splitlines()
    bad.write_text(lines[0] + "\n" + lines[1].replace('"632"', '"IAB19"') + "\n", encoding="utf-8")
    with pytest.raises(EvalInputError, match=r"line 2: iab_categories: unknown IAB Content Taxonomy 3.1 category 'IAB19'"):
        read_creatives(bad, configured_iab())


def test_the_livedoor_eval_creatives_cover_every_category_twice():
    creatives, expected = read_creatives(FIXTURES / "livedoor_creatives.jsonl", configured_iab())
    assert len(creatives) == 18
    own = [c.campaign_id.removeprefix("eval-") for c in creatives]
    assert {name: own.count(name) for name in own} == dict.fromkeys(
        ["dokujo-tsushin", "it-life-hack", "kaden-channel", "livedoor-homme", "movie-enter", "peachy", "smax", "sports-watch", "topic-news"], 2
    )
    assert all(c.campaign_id.removeprefix("eval-") in expected[c.creative_id] for c in creatives)


@pytest.mark.real_data
def test_livedoor_ads_eval_on_the_real_corpus(shared_data, tmp_path):
    """15 articles of each of the 9 categories (the whole corpus takes a few minutes: `msdb ads eval`)."""
    livedoor = shared_data / "livedoor"
    if not livedoor.is_dir():
        pytest.skip(f"no livedoor corpus at {livedoor}")
    result = evaluate(make_settings(tmp_path, tmp_path), FIXTURES / "livedoor_creatives.jsonl", livedoor, per_category=15)
    assert result.articles == 135
    assert result.articles_matched >= 130
    assert result.overall >= 0.6
    sports = {c.creative_id: c for c in result.creatives}["eval-16-sports-watch"]
    assert sports.matched >= 5 and sports.share >= 0.7
