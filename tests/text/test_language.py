"""Language of an article: ja / en / other with py3langid, the declared language breaking ties."""

from __future__ import annotations

import pytest

from pipelines.text.language import bucket, detect_language


@pytest.mark.parametrize(
    ("text", "language", "detected"),
    [
        (
            "この秋はブラウンのニットで、大人のレイヤードを楽しむ。朝晩の冷え込みが深まってきました。",
            "ja",
            "ja",
        ),
        (
            "The Saltmarsh Jazz Weekend returned to the old boathouse this year with three days of music.",
            "en",
            "en",
        ),
        ("Невидимая броня для Вашего Nokia 5800: защитная плёнка для экрана и корпуса.", "other", "ru"),
        (
            "Le festival de jazz revient cette année avec trois jours de musique au bord de la mer.",
            "other",
            "fr",
        ),
    ],
)
def test_detected_language(text, language, detected):
    guess = detect_language(text, declared=None)
    assert (guess.language, guess.detected, guess.from_declaration) == (language, detected, False)
    assert guess.confidence > 0.9


def test_kanji_heavy_japanese_with_kana_is_not_chinese():
    guess = detect_language("東京都知事選挙結果発表、投票率は前回比で上昇した", declared=None)
    assert guess.language == "ja"


def test_an_unsure_detection_falls_back_to_the_declared_language():
    guess = detect_language("Calm Meditation", declared="en-us")
    assert guess.language == "en"
    assert guess.from_declaration is True
    assert guess.detected != "en"  # what the detector thought, kept for the record
    assert guess.confidence < 0.6


def test_a_confident_detection_beats_a_wrong_declaration():
    guess = detect_language(
        "路地裏の小さなラーメン店で、冷えた体にしみる一杯をいただきました。", declared="en"
    )
    assert (guess.language, guess.from_declaration) == ("ja", False)


def test_empty_text_uses_the_declaration_or_other():
    assert detect_language("", declared="ja").language == "ja"
    assert detect_language("   ", declared=None).language == "other"


@pytest.mark.parametrize(
    ("code", "expected"), [("ja-JP", "ja"), ("EN_gb", "en"), ("ru", "other"), ("", None), (None, None)]
)
def test_bucket(code, expected):
    assert bucket(code) == expected
