"""Ad creatives (pipelines/ingest/ad_creatives.py): the JSON Schema, and every refusal quarantined with its line."""

from __future__ import annotations

import json
from datetime import date

import pytest

from pipelines.ingest.ad_creatives import creative_errors
from tests.conftest import SAMPLES

GOOD = {
    "advertiser_id": "kumo-books",
    "campaign_id": "kb-winter",
    "creative_id": "kb-winter-01",
    "language": "ja",
    "headline": "冬の夜に読む長編小説",
    "body": "こたつで一気読みしたい、雪の町の物語。電子書籍なら今日から。",
    "landing_url": "https://kumo-books.example/lp/winter",
    "target_kansei_tags": ["scene.winter", "impression.cozy"],
    "iab_categories": ["42", "48"],
    "brand_safety_exclusions": {"categories": ["380", "v9i3On"], "risk_levels": ["high"]},
    "flight_start": "2026-11-01",
    "flight_end": "2027-01-31",
}


def _line(**changes) -> str:
    item = {k: v for k, v in (GOOD | changes).items() if v is not None}
    return json.dumps(item, ensure_ascii=False)


def test_a_valid_creative_loads_with_its_targeting(landing, ingest):
    landing.holder("kumo-books", "ads").write("ads", "kumo-books", "2026-11-24/creatives.jsonl", _line() + "\n")
    run = ingest(landing)
    assert run.file("creatives.jsonl") == ("loaded", 1, 1, 0, "ad-creatives-jsonl")
    assert run.one(
        "SELECT creative_id, advertiser_id, language, headline, target_kansei_tags, iab_categories, excluded_categories, "
        "excluded_risk_levels, flight_start, flight_end, record_position, line_number FROM raw.ad_creatives"
    ) == (
        "kb-winter-01", "kumo-books", "ja", "冬の夜に読む長編小説", ["scene.winter", "impression.cozy"], ["42", "48"],
        ["380", "v9i3On"], ["high"], date(2026, 11, 1), date(2027, 1, 31), "line 1", 1,
    )  # fmt: skip


def test_without_the_iab_taxonomy_every_creative_is_quarantined_saying_why(landing, ingest, tmp_path, monkeypatch):
    missing = tmp_path / "no-iab" / "Content_Taxonomy_3.1.tsv"
    monkeypatch.setenv("MSDB_IAB_TAXONOMY", str(missing))
    lines = _line() + "\n" + _line(creative_id="kb-winter-02") + "\n"
    landing.holder("kumo-books", "ads").write("ads", "kumo-books", "2026-11-24/creatives.jsonl", lines)
    run = ingest(landing)
    assert run.file("creatives.jsonl") == ("quarantined", 2, 0, 2, "ad-creatives-jsonl")
    reasons = run.rows("SELECT location, reason FROM ops.quarantine ORDER BY location")
    assert [location for location, _ in reasons] == ["line 1", "line 2"]
    assert reasons[0][1] == (
        f"ad creative kb-winter-01 refused: iab_categories: cannot be checked: IAB Content Taxonomy {missing} not found: "
        "set MSDB_IAB_TAXONOMY to the Content Taxonomy 3.1 TSV (IAB Tech Lab, CC BY 3.0, from "
        "https://github.com/InteractiveAdvertisingBureau/Taxonomies ('Content Taxonomies/Content Taxonomy 3.1.tsv'))"
    )
    assert run.rows("SELECT count(*) FROM raw.ad_creatives") == [(0,)]


def test_a_taxonomy_of_another_version_is_refused_by_the_ads_configuration(tmp_path):
    from pipelines.ads.config import load_ads_config
    from pipelines.settings import PROJECT_ROOT

    other = tmp_path / "taxonomy.tsv"  # our own two-category file in the taxonomy's layout, stating version 2.0
    other.write_text(
        "Relational ID System\t\t\tContent Taxonomy v2.0 Tiered Categories\n"
        "Unique ID\tParent\tName\tTier 1\tTier 2\tTier 3\tTier 4\n1\t\tA\tA\n2\t1\tB\tA\tB\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"taxonomy.tsv is IAB Content Taxonomy 2.0; models/ads/ads.yaml is written for 3.1"):
        load_ads_config(PROJECT_ROOT / "models").taxonomy(other)


BAD_LINES = [
    ('{"advertiser_id": "kumo-books", "headline": ', "invalid JSON line: Expecting value at column"),
    (_line(headline=None), "ad creative kb-winter-01 refused: (creative): 'headline' is a required property"),
    (_line(iab_categories=["42", "IAB20"]), "iab_categories: unknown IAB Content Taxonomy 3.1 category 'IAB20'"),
    (
        _line(brand_safety_exclusions={"categories": ["no-such-category"]}),
        "brand_safety_exclusions.categories: exclusion names unknown IAB Content Taxonomy 3.1 category 'no-such-category'",
    ),
    (_line(body="   "), "body: empty body"),
    (_line(flight_start="2026-12-10", flight_end="2026-12-01"), "flight_end: the flight ends 2026-12-01 before it starts 2026-12-10"),
    (_line(flight_start="2026-10-01", flight_end="2026-11-23"), "flight_end: the flight ended 2026-11-23, before the logical date 2026-11-24"),
    (_line(advertiser_id="other-advertiser"), "advertiser_id: 'other-advertiser' is not the advertiser of its folder ('kumo-books')"),
    (_line(target_kansei_tags=["mood.calm", "mood.sleepy"]), "target_kansei_tags: unknown kansei tag 'mood.sleepy'"),
    (_line(landing_url="ftp://kumo-books.example/"), "landing_url: 'ftp://kumo-books.example/' does not match"),
    ("[1, 2]", "invalid creative: expected a JSON object, got list"),
]


def test_every_bad_creative_is_quarantined_with_its_line_and_reason_and_counts_reconcile(landing, ingest):
    lines = [_line(creative_id="kb-ok-1")] + [line for line, _ in BAD_LINES] + ["", _line(creative_id="kb-ok-2")]
    landing.holder("kumo-books", "ads").write("ads", "kumo-books", "2026-11-24/creatives.jsonl", "\n".join(lines) + "\n")
    run = ingest(landing)
    status, found, loaded, quarantined, _ = run.file("creatives.jsonl")
    assert (status, found, loaded, quarantined) == ("partial", 13, 2, 11)
    assert found == loaded + quarantined
    assert run.rows("SELECT creative_id FROM raw.ad_creatives ORDER BY line_number") == [("kb-ok-1",), ("kb-ok-2",)]
    reasons = dict(run.reasons("creatives.jsonl"))
    assert len(reasons) == len(BAD_LINES)
    for number, (_, expected) in enumerate(BAD_LINES, start=2):
        assert expected in reasons[f"line {number}"], (number, reasons[f"line {number}"])
    assert run.one("SELECT DISTINCT stage FROM ops.quarantine") == "ingest"


def test_a_creative_file_of_an_undeclared_advertiser_is_quarantined_whole(landing, ingest):
    landing.holder("kumo-books", "ads").write("ads", "stranger", "2026-11-24/creatives.jsonl", _line() + "\n")
    run = ingest(landing)
    assert run.file("creatives.jsonl")[0] == "undeclared_holder"
    assert run.reasons("creatives.jsonl") == [("file", "holder 'stranger' is not declared for kind 'ads' in the registry")]


@pytest.mark.parametrize("path", sorted((SAMPLES / "ads").glob("*/*/creatives.jsonl")), ids=lambda p: p.parts[-3])
def test_the_sample_creatives_are_all_valid_on_the_sample_night(path):
    advertiser = path.parts[-3]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 8
    for line in lines:
        assert creative_errors(json.loads(line), advertiser, date(2026, 11, 24)) == []


def test_the_samples_hold_thirty_creatives_or_more_in_japanese_and_english():
    items = [json.loads(line) for path in (SAMPLES / "ads").glob("*/*/creatives.jsonl") for line in path.read_text("utf-8").splitlines()]
    assert len(items) == 34
    assert {i["language"] for i in items} == {"ja", "en"}
    assert len({i["creative_id"] for i in items}) == 34
