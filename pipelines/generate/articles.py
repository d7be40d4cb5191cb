"""Japanese and English lifestyle articles as JSON Lines (`url, title, body, published_at, category,
language`), the dump format `pipelines.ingest.articles.parse_jsonl` reads.

Every sentence comes from fixed templates and word lists written for this project; the Japanese ones are
those benchmarks/articles.py has always used, so its figures stay comparable.
"""

from __future__ import annotations

import random
from datetime import date

PLACES = [
    "下町",
    "港町",
    "山あいの温泉街",
    "駅前の商店街",
    "川沿いの遊歩道",
    "古い城下町",
    "海辺の小さな村",
    "高原の避暑地",
]
SHOPS = [
    "喫茶店",
    "ベーカリー",
    "ラーメン店",
    "雑貨店",
    "古書店",
    "和菓子屋",
    "ビストロ",
    "銭湯",
    "花屋",
    "本屋",
]
FOODS = [
    "焼きたてのクロワッサン",
    "濃厚な味噌ラーメン",
    "季節のフルーツタルト",
    "手打ちのそば",
    "自家焙煎のコーヒー",
    "炭火焼きの鶏肉",
]
FEELINGS = [
    "心が落ち着きます",
    "思わず笑みがこぼれます",
    "懐かしい気持ちになります",
    "日常の疲れがほどけていきます",
    "胸が高鳴ります",
]
SEASONS = ["春", "初夏", "真夏", "秋", "初冬", "真冬"]
ITEMS = ["ニット", "ローファー", "トレンチコート", "マフラー", "スニーカー", "ワンピース", "腕時計"]
COLORS = ["ブラウン", "ネイビー", "オフホワイト", "グレー", "ボルドー", "カーキ"]
PEOPLE = ["店主", "職人", "常連客", "スタイリスト", "旅行作家", "料理研究家"]
CATEGORIES = ["fashion", "gourmet", "travel", "entertainment", "beauty", "living"]
TEMPLATES = [
    "{place}にある小さな{shop}では、毎朝{food}が並びます。",
    "{season}になると、{color}の{item}を合わせたくなりますね。",
    "{person}によると、{shop}の人気の秘密は丁寧な下ごしらえにあるそうです。",
    "窓辺の席で{food}を味わっていると、{feeling}。",
    "{place}を歩けば、昔ながらの{shop}がいくつも見つかります。",
    "今年の{season}は、{color}を主役にした着こなしが注目されています。",
    "週末には{place}まで足を延ばして、{shop}めぐりを楽しむのもおすすめです。",
    "{person}が一つずつ手作業で仕上げる{item}は、使うほどに味わいが増していきます。",
    "「{food}を目当てに遠くから来る人も多いんですよ」と{person}は笑います。",
    "価格は税込み{price}円で、{season}限定の販売となっています。",
]

EN_PLACES = [
    "the harbour town",
    "a mountain hot-spring village",
    "the old castle town",
    "a quiet seaside village",
    "the riverside walk",
    "the station arcade",
]
EN_SHOPS = [
    "coffee house",
    "bakery",
    "ramen counter",
    "bookshop",
    "flower stall",
    "bistro",
    "record shop",
    "tea room",
]
EN_FOODS = [
    "warm croissants",
    "rich miso ramen",
    "a seasonal fruit tart",
    "hand-cut soba",
    "house-roasted coffee",
    "charcoal-grilled chicken",
]
EN_FEELINGS = [
    "the day slows down",
    "you cannot help smiling",
    "it feels like coming home",
    "the rain outside stops mattering",
    "the city feels a little kinder",
]
EN_SEASONS = ["spring", "early summer", "midsummer", "autumn", "early winter", "midwinter"]
EN_PEOPLE = ["the owner", "a local craftsman", "a regular", "the head chef", "a travel writer", "a stylist"]
EN_TEMPLATES = [
    "In {place}, a small {shop} sets out {food} every morning.",
    "Sit by the window with {food} and {feeling}.",
    "According to {person}, the secret of the {shop} is patience and very good water.",
    "Walk through {place} in {season} and you will find one {shop} after another.",
    '"People come from far away just for {food}," says {person}, laughing.',
    "This {season}, the {shop} is open late, and {feeling}.",
    "A weekend in {place} is best spent wandering from one {shop} to the next.",
    "Prices start at {price} yen, and the menu changes with every {season}.",
]


def _sentence(rng: random.Random) -> str:
    return rng.choice(TEMPLATES).format(
        place=rng.choice(PLACES),
        shop=rng.choice(SHOPS),
        food=rng.choice(FOODS),
        feeling=rng.choice(FEELINGS),
        season=rng.choice(SEASONS),
        item=rng.choice(ITEMS),
        color=rng.choice(COLORS),
        person=rng.choice(PEOPLE),
        price=f"{rng.randint(3, 60) * 100:,}",
    )


def _english_sentence(rng: random.Random) -> str:
    return rng.choice(EN_TEMPLATES).format(
        place=rng.choice(EN_PLACES),
        shop=rng.choice(EN_SHOPS),
        food=rng.choice(EN_FOODS),
        feeling=rng.choice(EN_FEELINGS),
        season=rng.choice(EN_SEASONS),
        person=rng.choice(EN_PEOPLE),
        price=f"{rng.randint(3, 60) * 100:,}",
    )


def japanese_article(
    n: int, rng: random.Random, host: str = "bench-media.example", published: str | None = None
) -> dict:
    """Article n: 3-5 paragraphs of 3-5 sentences (about 600-900 characters)."""
    paragraphs = ["".join(_sentence(rng) for _ in range(rng.randint(3, 5))) for _ in range(rng.randint(3, 5))]
    return {
        "url": f"https://{host}/articles/{n:07d}",
        "title": f"{rng.choice(PLACES)}の{rng.choice(SHOPS)}で過ごす{rng.choice(SEASONS)}の休日（{n}）",
        "body": "\n".join(paragraphs),
        "published_at": published
        or f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00+09:00",
        "category": CATEGORIES[n % len(CATEGORIES)],
        "language": "ja",
    }


def english_article(n: int, rng: random.Random, host: str, published: str | None = None) -> dict:
    paragraphs = [
        " ".join(_english_sentence(rng) for _ in range(rng.randint(3, 5))) for _ in range(rng.randint(2, 4))
    ]
    title = f"A {rng.choice(EN_SEASONS)} weekend in {rng.choice(EN_PLACES)}: the {rng.choice(EN_SHOPS)} ({n})"
    return {
        "url": f"https://{host}/articles/{n:07d}",
        "title": title[0].upper() + title[1:],
        "body": "\n\n".join(paragraphs),
        "published_at": published
        or f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00+00:00",
        "category": CATEGORIES[n % len(CATEGORIES)],
        "language": "en",
    }


def revised(item: dict, rng: random.Random, day: date) -> dict:
    """The same article (same URL and publish time) revised on `day`: one more paragraph, updated_at set."""
    sentence = _sentence if item["language"] == "ja" else _english_sentence
    joiner = "" if item["language"] == "ja" else " "
    extra = joiner.join(sentence(rng) for _ in range(3))
    return item | {"body": item["body"] + "\n" + extra, "updated_at": f"{day.isoformat()}T09:00:00+09:00"}
