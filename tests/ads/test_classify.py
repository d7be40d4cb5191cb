"""Article classification (pipelines/ads/classify.py): IAB 3.1 categories and brand safety, with the real encoder."""

from __future__ import annotations

import pytest

from pipelines.ads.classify import ArticleClassifier
from pipelines.ads.config import load_ads_config
from pipelines.settings import PROJECT_ROOT

# (title, body) we wrote for these tests
ARTICLES = {
    "soccer": ("Jリーグ最終節、首位チームが逆転優勝", "後半ロスタイムのゴールで試合が決まり、選手たちはサポーターと喜びを分かち合った。"),
    "phone": ("新型スマートフォンの実機レビュー", "最新のAndroid端末を一週間使ってみた。カメラの夜景モードとバッテリーの持ちが印象的だ。"),
    "crime": ("容疑者を殺人の疑いで逮捕", "警察によると、男は自宅で知人を殺害した疑いが持たれている。遺体は近くの川で見つかった。"),
    "onsen": ("A weekend of hot springs in Hakone", "We took the slow train up the mountain and stayed at a small inn with an outdoor bath."),
    "knit": ("冬のニットの着こなし術", "今年はボルドーのニットにロングスカートを合わせるコーデが人気。"),
    "accident": ("高速道路で玉突き事故", "午前中に発生した事故の影響で、上り線は三時間にわたり渋滞した。事故の原因を調べている。"),
}


@pytest.fixture(scope="module")
def classified():
    classifier = ArticleClassifier(load_ads_config(PROJECT_ROOT / "models"))
    titles = [title for title, _ in ARTICLES.values()]
    bodies = [body for _, body in ARTICLES.values()]
    contexts = classifier.classify(classifier.embed(titles, bodies), titles, bodies)
    return dict(zip(ARTICLES, contexts, strict=True))


@pytest.mark.parametrize(
    ("article", "top", "also"),
    [
        ("soccer", "483", "533"),  # Sports, Soccer
        ("phone", "635", "632"),  # Smartphones, Consumer Electronics
        ("crime", "380", None),  # Crime
        ("onsen", "653", None),  # Travel
        ("knit", "560", "552"),  # Women's Fashion, Style & Fashion
    ],
)
def test_articles_get_their_iab_categories(classified, article, top, also):
    categories = [c.iab_id for c in classified[article].categories]
    assert categories[0] == top
    assert len(categories) <= 3
    if also:
        assert also in categories
    scores = [c.score for c in classified[article].categories]
    assert scores == sorted(scores, reverse=True) and all(0.35 <= s <= 1.0 for s in scores)


def test_brand_safety_levels_and_their_reasons(classified):
    assert {name: c.level for name, c in classified.items()} == {
        "soccer": "low", "phone": "low", "crime": "high", "onsen": "low", "knit": "low", "accident": "medium",
    }  # fmt: skip
    assert "keywords 殺人, 殺害, 遺体 (high)" in classified["crime"].reasons
    assert "IAB 380 Crime (high)" in classified["crime"].reasons
    assert classified["accident"].reasons == ["keywords 事故 (medium)"]
    assert classified["soccer"].reasons == []
