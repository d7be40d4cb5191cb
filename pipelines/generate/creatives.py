"""Ad creatives as JSON Lines under `<landing>/ads/<advertiser_id>/<date>/`, one object per creative.

The shape of pipelines/ingest/ad_creative.schema.json: advertiser_id, campaign_id, creative_id, language,
headline, body, landing_url, target_kansei_tags (absent on about a third), iab_categories,
brand_safety_exclusions ({categories, risk_levels}), flight_start, flight_end. Tags are ids of
models/kansei/taxonomy.yaml; IAB ids are Unique IDs of the IAB Content Taxonomy 3.1 (the iab_taxonomy
setting, models/iab/NOTICE.md). Every flight is in progress on the night that delivers it (it may have started up to 29 days before), so ingest loads all.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

# advertiser → (IAB categories, kansei tags it targets, Japanese and English copy)
THEMES = {
    "hanami-travel": (
        ["653", "655"],  # Travel, Travel Locations
        ["scene.travel", "scene.seaside", "mood.calm", "impression.cozy"],
        [
            ("{season}の温泉旅へ", "山あいの宿で、ゆっくり流れる時間を。早期予約で特典付き。"),
            ("海辺の週末プラン", "波の音で目覚める、{season}だけの小さな旅。"),
        ],
        [
            (
                "A {season} escape to the hot springs",
                "Slow mornings in a mountain inn. Book early for a welcome gift.",
            ),
            ("Seaside weekends", "Wake to the sound of waves this {season}."),
        ],
    ),
    "kissa-coffee": (
        ["210", "222"],  # Food & Drink, Non-Alcoholic Beverages
        ["theme.food", "impression.cozy", "mood.nostalgic", "scene.morning"],
        [
            ("自家焙煎の{season}ブレンド", "懐かしい喫茶店の味を、ご自宅で。"),
            ("朝の一杯を特別に", "深煎りの香りで始まる{season}の朝。"),
        ],
        [
            ("Our {season} house blend", "The taste of an old kissaten, at home."),
            ("Make the morning cup count", "A dark roast for {season} mornings."),
        ],
    ),
    "aoba-fashion": (
        ["552", "560"],  # Style & Fashion, Women's Fashion
        ["theme.fashion", "impression.stylish", "scene.winter", "mood.uplifting"],
        [
            ("{season}の新作ニット", "今年の主役はボルドー。軽くて暖かい一枚を。"),
            ("街角スタイル", "毎日の着こなしに、少しの遊び心を。"),
        ],
        [
            ("New knits for {season}", "Bordeaux leads the season: light, warm, easy."),
            ("Street-corner style", "A little play in everyday outfits."),
        ],
    ),
}
SEASONS_JA = ["春", "夏", "秋", "冬"]
SEASONS_EN = ["spring", "summer", "autumn", "winter"]
EXCLUSIONS = [
    {},
    {"categories": ["v9i3On"]},  # Sensitive Topics
    {"categories": ["380", "381"], "risk_levels": ["high"]},  # Crime, Disasters
    {"risk_levels": ["medium", "high"]},
]


def creative(number: int, advertiser: str, rng: random.Random, day: date) -> dict:
    iab, tags, copy_ja, copy_en = THEMES[advertiser]
    language = "ja" if rng.random() < 0.7 else "en"
    season = rng.randrange(4)
    headline, body = rng.choice(copy_ja if language == "ja" else copy_en)
    fill = {"season": (SEASONS_JA if language == "ja" else SEASONS_EN)[season]}
    start = day - timedelta(days=rng.randrange(30))
    item = {
        "advertiser_id": advertiser,
        "campaign_id": f"{advertiser}-c{number // 20:04d}",
        "creative_id": f"{advertiser}-cr{number:06d}",
        "language": language,
        "headline": headline.format(**fill),
        "body": body.format(**fill),
        "landing_url": f"https://{advertiser}.example/lp/{number:06d}",
    }
    if rng.random() < 0.67:
        item["target_kansei_tags"] = sorted(rng.sample(tags, 2))
    return item | {
        "iab_categories": iab,
        "brand_safety_exclusions": rng.choice(EXCLUSIONS),
        "flight_start": start.isoformat(),
        "flight_end": (day + timedelta(days=7 + rng.randrange(83))).isoformat(),
    }
