"""Article text analysis, in this process or in worker processes, with results in delivery order."""

from __future__ import annotations

from concurrent.futures.process import BrokenProcessPool

import pytest

from pipelines.text import analysis
from pipelines.text.analysis import TextInput, analyse, analysed, wakati

RAMEN = TextInput(
    "路地裏のラーメン店",
    "商店街から一本入った細い路地に、小さなラーメン店があります。\n看板は醤油ラーメン。",
    "ja",
)


def test_analyse_a_japanese_article():
    result = analyse(RAMEN)
    assert (result.language.language, result.language.detected, result.language.from_declaration) == (
        "ja",
        "ja",
        False,
    )
    assert result.title_key == "路地裏のラーメン店"
    assert result.sentences == [
        "商店街から一本入った細い路地に、小さなラーメン店があります。",
        "看板は醤油ラーメン。",
    ]
    assert result.tokenizer == "sudachi-core:C"
    assert result.tokens == (
        "路地 裏 の ラーメン 店 商店街 から 一 本 入っ た 細い 路地 に 、 小さな ラーメン 店 が あり ます 。 "
        "看板 は 醤油ラーメン 。"
    )
    assert result.lemmas.split(" ")[8:11] == ["本", "入る", "た"]
    assert len(result.lemmas.split(" ")) == len(result.tokens.split(" "))
    assert result.search_keys == [
        "路地", "裏", "ラーメン", "商店街", "商店", "街", "入る", "細い", "小さな", "看板", "醤油ラーメン", "醤油",
    ]  # fmt: skip
    assert len(result.content_hash) == 64 and len(result.minhash) == 64


def test_an_english_article_and_an_empty_body():
    result = analyse(TextInput("Wrenmouth out of season", "", "en"))
    assert (result.language.language, result.tokenizer) == ("en", "unicode-words")
    assert (result.tokens, result.search_keys, result.sentences) == (
        "wrenmouth out of season",
        ["wrenmouth", "out", "season"],
        [],
    )
    assert (result.content_hash, result.minhash) == (None, None)


@pytest.mark.parametrize(
    ("words", "text"),
    [(["東京", "都庁"], "東京 都庁"), ([], ""), (["一"], "一"), (["a b", "c"], "ab c"), ([" ", "x"], "_ x")],
)
def test_wakati_gives_one_word_per_token(words, text):
    assert wakati(words) == text


def test_items_without_text_pass_through_in_order():
    items = [("a", RAMEN), ("b", None), ("c", TextInput("Calm Meditation", "", "en"))]
    out = list(analysed(items, parallel=False))
    assert [item for item, _ in out] == ["a", "b", "c"]
    assert out[1][1] is None
    assert out[2][1].language.language == "en"


class _BrokenPool:
    def submit(self, *_args, **_kwargs):
        raise BrokenProcessPool("a worker died")


def test_a_broken_worker_pool_falls_back_to_this_process(monkeypatch):
    monkeypatch.setattr(analysis, "_pool", lambda: _BrokenPool())
    items = [(n, RAMEN if n % 3 else None) for n in range(150)]
    out = list(analysed(items, parallel=True))
    assert [item for item, _ in out] == list(range(150))
    assert [result is None for _, result in out] == [n % 3 == 0 for n in range(150)]
    assert out[1][1].tokens == analyse(RAMEN).tokens


@pytest.mark.slow
def test_worker_processes_give_the_same_results_in_the_same_order():
    texts = [
        TextInput(
            f"記事{n}",
            f"第{n}回の特集です。{'ラーメン' if n % 2 else 'コーヒー'}の名店を{n}軒めぐりました。",
            "ja",
        )
        for n in range(300)
    ]
    items = [(n, texts[n] if n % 7 else None) for n in range(300)]
    serial = list(analysed(items, parallel=False))
    parallel = list(analysed(items, parallel=True))
    assert analysis._workers is not None  # the pool really ran
    assert [item for item, _ in parallel] == list(range(300))
    assert parallel == serial
