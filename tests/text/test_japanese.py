"""Japanese text: NFKC match keys, sentence splitting, SudachiPy tokens, lemmas and search keys."""

from __future__ import annotations

import threading
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.text import japanese
from pipelines.text.japanese import (
    SUDACHI_MAX_BYTES,
    match_key,
    nfkc,
    split_sentences,
    sudachi_chunks,
    sudachi_dictionary,
    tokenize,
    tokenize_japanese,
    tokenize_words,
)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("ＴＯＫＹＯ　ﾗｰﾒﾝ〜", "tokyo ラーメン~"),
        ("tokyo ラーメン～", "tokyo ラーメン~"),
        ("Ｎｏ．１　ヒット", "no.1 ヒット"),
        ("㈱サクラ・レコード", "(株)サクラ・レコード"),
        ("ｶﾞｷﾞｸﾞ", "ガギグ"),
        ("夜明けの街角 —  Live", "夜明けの街角 - live"),
        ("  \n ", None),
        (None, None),
    ],
)
def test_match_key_unifies_widths_case_dashes_and_spaces(text, key):
    assert match_key(text) == key


# Kana, kanji, full- and half-width forms, compatibility characters and combining marks: the places where a
# partial NFKC could go wrong.
_JAPANESE_ALPHABET = st.sampled_from(
    [chr(c) for c in range(0x3000, 0x3100)]
    + [chr(c) for c in range(0xFF00, 0xFFEF)]
    + [chr(c) for c in range(0x20, 0x7F)]
    + list("東京都庁㈱①℡ⅱ丼﨑\u3099\u309a\u0301éÅ\u1100\u1161\n\t")
)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_JAPANESE_ALPHABET, max_size=40))
def test_nfkc_equals_unicodedata(text):
    assert nfkc(text) == unicodedata.normalize("NFKC", text)


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "彼は「もう帰る。明日ね！」と言った。本当に？　はい。",
            ["彼は「もう帰る。明日ね！」と言った。", "本当に？", "はい。"],
        ),
        ("すごい！！本当に？！\n次の行です", ["すごい！！", "本当に？！", "次の行です"]),
        ("（注：価格は税込み。）詳しくはこちら。", ["（注：価格は税込み。）詳しくはこちら。"]),
        (
            "Version 1.0 is out. See example.com for details. 次は日本語。",
            ["Version 1.0 is out.", "See example.com for details.", "次は日本語。"],
        ),
        ("", []),
    ],
)
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


def test_sudachi_tokens_lemmas_and_search_keys():
    tokens = tokenize_japanese("附属病院で東京都庁前の選挙管理委員会に行きました。ｽﾏｰﾄﾌｫﾝを買った！")

    assert tokens.tokenizer == "sudachi-core:C"
    assert tokens.surfaces == [
        "附属", "病院", "で", "東京都庁", "前", "の", "選挙管理委員会", "に", "行き", "まし", "た", "。",
        "ｽﾏｰﾄﾌｫﾝ", "を", "買っ", "た", "！",
    ]  # fmt: skip
    # lemmas: dictionary form with spelling unified (附属 → 付属, ｽﾏｰﾄﾌｫﾝ → スマートフォン, 行き → 行く)
    assert tokens.lemmas == [
        "付属", "病院", "で", "東京都庁", "前", "の", "選挙管理委員会", "に", "行く", "ます", "た", "。",
        "スマートフォン", "を", "買う", "た", "!",
    ]  # fmt: skip
    # content words only, mode-C units and their mode-A parts
    assert tokens.search_keys == [
        "付属", "病院", "東京都庁", "東京", "都庁", "前", "選挙管理委員会", "選挙", "管理", "委員", "会",
        "スマートフォン", "買う",
    ]  # fmt: skip


def test_whitespace_is_not_a_token():
    tokens = tokenize_japanese("雨の日の\u3000カフェ\n\n窓辺の席")
    assert tokens.surfaces == ["雨", "の", "日", "の", "カフェ", "窓辺", "の", "席"]


def test_the_sudachi_dictionary_is_opened_once_per_process_and_tokenizers_are_per_thread():
    assert sudachi_dictionary() is sudachi_dictionary()
    tokenize_japanese("一度目")
    first = japanese._local.tokenizer
    tokenize_japanese("二度目")
    assert japanese._local.tokenizer is first

    seen = {}

    def other_thread():
        seen["tokens"] = tokenize_japanese("別のスレッドで形態素解析").surfaces
        seen["tokenizer"] = japanese._local.tokenizer
        seen["dictionary"] = sudachi_dictionary()

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert seen["tokens"] == ["別", "の", "スレッド", "で", "形態素", "解析"]
    assert seen["tokenizer"] is not first
    assert seen["dictionary"] is sudachi_dictionary()


def test_text_above_sudachis_input_limit_is_cut_at_sentences():
    sentence = "今日は雨が降っているので、駅前の喫茶店で本を読みながらゆっくり過ごしました。"
    text = sentence * 1200  # about 130 KB of UTF-8, far above Sudachi's 49,149-byte limit
    chunks = sudachi_chunks(text)

    assert len(chunks) >= 3
    assert all(len(chunk.encode("utf-8")) < SUDACHI_MAX_BYTES for chunk in chunks)
    assert "".join(chunks).replace("\n", "") == text
    tokens = tokenize_japanese(text)
    assert tokens.surfaces.count("喫茶店") == 1200
    assert tokens.lemmas.count("過ごす") == 1200


def test_a_long_run_without_any_sentence_break_is_still_tokenized():
    text = "あ" * 30_000  # 90 KB, no punctuation at all
    assert all(len(chunk.encode("utf-8")) < SUDACHI_MAX_BYTES for chunk in sudachi_chunks(text))
    assert "".join(tokenize_japanese(text).surfaces) == text


def test_words_of_other_languages_drop_function_words_from_search_keys():
    tokens = tokenize_words("The Quiet Ledger: a tense, clever thriller set in a sleepy ＢＡＮＫ.")
    assert tokens.tokenizer == "unicode-words"
    assert tokens.surfaces == [
        "the",
        "quiet",
        "ledger",
        "a",
        "tense",
        "clever",
        "thriller",
        "set",
        "in",
        "a",
        "sleepy",
        "bank",
    ]
    assert tokens.search_keys == ["quiet", "ledger", "tense", "clever", "thriller", "set", "sleepy", "bank"]
    assert tokens.lemmas == tokens.surfaces


def test_tokenize_picks_the_tokenizer_by_language():
    assert tokenize("白い廊下", "ja").tokenizer == "sudachi-core:C"
    assert tokenize("White corridor", "en").tokenizer == "unicode-words"
    assert tokenize("Невидимая броня", "other").surfaces == ["невидимая", "броня"]
