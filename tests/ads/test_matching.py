"""Article → creative matching (pipelines/ads/matching.py) on vectors we choose: exclusions, flights, ties."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from pipelines.ads.classify import ArticleContext, CategoryScore
from pipelines.ads.config import MatchingSettings
from pipelines.ads.iab import configured_iab
from pipelines.ads.matching import Creative, CreativeSet

SETTINGS = MatchingSettings(top_k=3, weights={"iab": 0.5, "text": 0.3, "kansei": 0.2}, parent_category_weight=0.7, min_score=0.05)


def _unit(*values: float) -> np.ndarray:
    vector = np.zeros(8, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def _creative(creative_id: str, iab: tuple[str, ...], tags: tuple[str, ...] = (), excluded=(), levels=(), start=None, end=None) -> Creative:
    return Creative(creative_id, "adv", "camp", f"headline {creative_id}", "body", tags, iab, excluded, levels, start, end)


SPORTS = _creative("c-sports", ("483",), ("emotion.excitement",))
SOCCER_SAFE = _creative("c-soccer-safe", ("533",), excluded=("380",), levels=("medium", "high"))
TRAVEL = _creative("c-travel", ("653",), ("scene.travel", "mood.calm"))
TWIN_A = _creative("c-twin-a", ("210",))
TWIN_B = _creative("c-twin-b", ("210",))


@pytest.fixture(scope="module")
def creatives() -> CreativeSet:
    items = [TWIN_B, TRAVEL, SOCCER_SAFE, SPORTS, TWIN_A]
    vectors = np.stack([_unit(0, 0, 1), _unit(0, 1), _unit(1, 0.2), _unit(1), _unit(0, 0, 1)])
    return CreativeSet(items, vectors, configured_iab(), SETTINGS)


def _context(level: str, *categories: tuple[str, float]) -> ArticleContext:
    return ArticleContext([CategoryScore(c, s, "keyword") for c, s in categories], level)


def test_a_soccer_article_gets_the_sports_and_soccer_creatives_with_their_explanations(creatives):
    article = _unit(1, 0.1)[None]
    # c-travel (text 0.10 x 0.3, no category, no tag) stays under min_score: no ad rather than an unrelated one
    first, second = creatives.match(["a1"], article, [_context("low", ("533", 0.9))], [{"emotion.excitement": 0.8}])
    # c-sports: same category score (Sports covers Soccer), closer text, and its kansei tag
    assert [(m.creative_id, m.rank) for m in (first, second)] == [("c-sports", 1), ("c-soccer-safe", 2)]
    assert first.matched_tags == ["emotion.excitement"]
    assert (first.iab_category, first.iab_category_name) == ("533", "Soccer")
    assert first.explanation == "IAB Sports > Soccer (0.90); kansei emotion.excitement; text similarity 1.00; brand safety low"
    assert first.score == pytest.approx(0.5 * 0.9 + 0.3 * float(_unit(1, 0.1) @ _unit(1)) + 0.2 * 0.8, abs=1e-6)
    assert second.score == pytest.approx(0.5 * 0.9 + 0.3 * float(_unit(1, 0.1) @ _unit(1, 0.2)), abs=1e-6)


@pytest.mark.parametrize(
    ("context", "why"),
    [
        (_context("low", ("533", 0.9), ("380", 0.6)), "the article is also about Crime, which c-soccer-safe excludes"),
        (_context("medium", ("533", 0.9)), "c-soccer-safe excludes medium-risk articles"),
        (_context("high", ("533", 0.9)), "c-soccer-safe excludes high-risk articles"),
    ],
)
def test_a_creative_is_never_matched_where_its_exclusions_apply(creatives, context, why):
    matched = {m.creative_id for m in creatives.match(["a1"], _unit(1, 0.2)[None], [context], [{}])}
    assert "c-soccer-safe" not in matched, why
    assert "c-sports" in matched


def test_an_excluded_parent_category_excludes_its_descendants():
    crime_free = _creative("c-no-sensitive", ("483",), excluded=("v9i3On",))
    matcher = CreativeSet([crime_free], _unit(1)[None], configured_iab(), SETTINGS)
    terrorism = _context("low", ("483", 0.9), ("8FD8nI", 0.5))  # Terrorism sits under Sensitive Topics
    assert matcher.match(["a1"], _unit(1)[None], [terrorism], [{}]) == []
    assert [m.creative_id for m in matcher.match(["a2"], _unit(1)[None], [_context("low", ("483", 0.9))], [{}])] == ["c-no-sensitive"]


def test_a_floor_article_gets_no_ad_at_all(creatives):
    assert creatives.match(["a1"], _unit(1)[None], [_context("floor", ("483", 1.0))], [{}]) == []


def test_equal_scores_are_ranked_by_creative_id_and_runs_are_identical(creatives):
    args = (["a1", "a2"], np.stack([_unit(0, 0, 1), _unit(0, 0, 1)]), [_context("low", ("210", 0.8))] * 2, [{}, {}])
    first = creatives.match(*args)
    assert [(m.article_id, m.creative_id, m.rank) for m in first if m.creative_id.startswith("c-twin")] == [
        ("a1", "c-twin-a", 1), ("a1", "c-twin-b", 2), ("a2", "c-twin-a", 1), ("a2", "c-twin-b", 2),
    ]  # fmt: skip
    assert first[0].score == first[1].score
    assert creatives.match(*args) == first


def test_an_article_broader_than_the_creative_counts_less():
    matcher = CreativeSet([SOCCER_SAFE], _unit(1)[None], configured_iab(), SETTINGS)
    [match] = matcher.match(["a1"], _unit(0, 1)[None], [_context("low", ("483", 1.0))], [{}])
    assert (match.iab_category, match.score) == ("483", pytest.approx(0.5 * 0.7, abs=1e-6))


def test_no_creative_in_flight_means_no_match():
    nothing = CreativeSet([], np.zeros((0, 512), dtype=np.float32), configured_iab(), SETTINGS)
    assert len(nothing) == 0
    assert nothing.match(["a1"], _unit(1)[None], [_context("low", ("483", 0.9))], [{}]) == []


def test_flight_window_bounds_are_inclusive():
    creative = _creative("c", ("483",), start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert [creative.in_flight(date(2026, 11, d)) for d in (1, 30)] == [True, True]
    assert creative.in_flight(date(2026, 10, 31)) is False
    assert creative.in_flight(date(2026, 12, 1)) is False
