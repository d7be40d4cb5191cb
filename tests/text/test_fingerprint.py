"""Exact and near fingerprints of article bodies."""

from __future__ import annotations

from pipelines.text.fingerprint import (
    MINHASH_SIZE,
    NEAR_DUPLICATE_JACCARD,
    content_hash,
    estimated_jaccard,
    fingerprints,
    minhash,
)

KNIT = (
    "ウールのニットは、ぬるま湯におしゃれ着用の洗剤を溶かし、押し洗いするのが基本です。"
    "もみ洗いをすると繊維が絡まって縮む原因になります。すすいだ後はタオルで包んで水気を取り、"
    "平らな場所で形を整えて陰干ししましょう。ハンガーに掛けると伸びてしまうので注意が必要です。"
)
RAMEN = (
    "商店街から一本入った細い路地に、カウンター八席だけの小さなラーメン店があります。"
    "看板メニューは、鶏ガラと煮干しをじっくり合わせた澄んだ醤油スープの中華そば。"
    "店主が一杯ずつ丁寧に盛り付ける姿を眺めているだけで、不思議と心が落ち着きます。"
)


def test_content_hash_ignores_width_case_and_whitespace():
    assert content_hash("Ｗｏｏｌ　ニット\n１２３") == content_hash("wool ニット 123")
    assert content_hash("ニット") != content_hash("ニツト")
    assert content_hash("") is None
    assert content_hash("  \n ") is None
    # sha256 of the UTF-8 of the normalised text: '東京 ﾗｰﾒﾝ' → '東京ラーメン'
    assert content_hash("東京 ﾗｰﾒﾝ") == "dad81676a1f135a787ec0e8426993f14f0785d8df1b3bcd2f8694add8123ab78"


def test_a_syndicated_copy_is_a_near_duplicate_and_another_article_is_not():
    original = minhash(KNIT)
    assert len(original) == MINHASH_SIZE
    assert all(0 <= value < 2**58 for value in original)
    copy = minhash(KNIT + "（提供：東京ライフスタイル通信）")
    repunctuated = minhash(KNIT.replace("、", "，"))
    assert estimated_jaccard(original, copy) >= 0.85
    assert estimated_jaccard(original, repunctuated) >= NEAR_DUPLICATE_JACCARD
    assert estimated_jaccard(original, minhash(RAMEN)) < 0.2
    assert estimated_jaccard(original, minhash(KNIT)) == 1.0


def test_short_bodies_still_get_a_full_signature_and_tiny_ones_none():
    short = minhash("短い文章です")
    assert len(short) == MINHASH_SIZE
    assert short == minhash("短い　文章です")
    assert minhash("短い") is None
    assert minhash(None) is None


def test_fingerprints_normalises_once_and_agrees_with_the_parts():
    assert fingerprints(KNIT) == (content_hash(KNIT), minhash(KNIT))
    assert fingerprints("") == (None, None)
