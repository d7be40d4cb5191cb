"""Article ingest: JSON Lines dumps, livedoor text files and HTML pages → raw.articles and raw.article_text,
and the dbt marts that deduplicate them (dim_article, fct_article_versions)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest import run_ingest
from pipelines.ingest.article_values import article_time, canonical_url
from tests.conftest import SAMPLES, make_settings
from tests.ingest.article_marts import build_article_marts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "articles"
LOGICAL_DATE = date(2026, 11, 24)
ARTICLE_MODELS = (
    "stg_articles__articles",
    "int_article_versions_grouped",
    "dim_article",
    "fct_article_versions",
)


def ingest(tmp_path, landing):
    settings = make_settings(tmp_path, landing.root)
    summary = run_ingest(settings, LOGICAL_DATE)
    return settings, summary


def rows(settings, sql, *params):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


# --- values -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "HTTP://News.Livedoor.COM:80/article/detail/4597641/?utm_source=x&b=2&a=1#top",
            "http://news.livedoor.com/article/detail/4597641/?a=1&b=2",
        ),
        ("https://a.example:443", "https://a.example/"),
        ("https://a.example:8443/x?fbclid=1&gclid=2", "https://a.example:8443/x"),
        ("https://a.example/x%7e%2fy?q=b+c", "https://a.example/x~%2Fy?q=b%20c"),
        ("https://例え.jp/記事/1", "https://xn--r8jz45g.jp/%E8%A8%98%E4%BA%8B/1"),
        (" https://a.example/p?x=1 ", "https://a.example/p?x=1"),
        ("ftp://a.example/file", None),
        ("/relative/path", None),
        ("https://user:secret@a.example/", None),
        ("", None),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "zone", "utc", "flags"),
    [
        ("2010-02-10T10:50:00+0900", "Asia/Tokyo", datetime(2010, 2, 10, 1, 50, tzinfo=UTC), ()),
        ("Mon, 23 Oct 2017 00:00:00 -0700", "Asia/Tokyo", datetime(2017, 10, 23, 7, 0, tzinfo=UTC), ()),
        ("2026-11-24T08:30:00Z", "Asia/Tokyo", datetime(2026, 11, 24, 8, 30, tzinfo=UTC), ()),
        ("2026年11月24日（火） 08:30 JST", "Europe/London", datetime(2026, 11, 23, 23, 30, tzinfo=UTC), ()),
        # no offset: the publisher's zone, flagged
        (
            "2026-11-24 08:30",
            "Asia/Tokyo",
            datetime(2026, 11, 23, 23, 30, tzinfo=UTC),
            ("published_at_without_offset",),
        ),
        (
            "2026/11/24 08:30",
            "Europe/London",
            datetime(2026, 11, 24, 8, 30, tzinfo=UTC),
            ("published_at_without_offset",),
        ),
        (
            "2026-07-01T12:00:00",
            "Europe/London",
            datetime(2026, 7, 1, 11, 0, tzinfo=UTC),
            ("published_at_without_offset",),
        ),
        (
            "Fri, 25 Dec 2009 03:30:22 -0000",
            "UTC",
            datetime(2009, 12, 25, 3, 30, 22, tzinfo=UTC),
            ("published_at_without_offset",),
        ),
        (
            "2026-11-24",
            "Asia/Tokyo",
            datetime(2026, 11, 23, 15, 0, tzinfo=UTC),
            ("published_at_without_offset",),
        ),
        # the future: kept, flagged
        (
            "2099-12-31T23:00:00+09:00",
            "Asia/Tokyo",
            datetime(2099, 12, 31, 14, 0, tzinfo=UTC),
            ("published_at_in_future",),
        ),
        (
            "2026-11-25T18:15:00+09:00",
            "Asia/Tokyo",
            datetime(2026, 11, 25, 9, 15, tzinfo=UTC),
            ("published_at_in_future",),
        ),
        (
            "2026-11-25T18:05:00+09:00",
            "Asia/Tokyo",
            datetime(2026, 11, 25, 9, 5, tzinfo=UTC),
            (),
        ),  # clock skew
        (
            "2099-01-01 00:00",
            "Asia/Tokyo",
            datetime(2098, 12, 31, 15, 0, tzinfo=UTC),
            ("published_at_without_offset", "published_at_in_future"),
        ),
        ("2026-02-30T00:00:00Z", "Asia/Tokyo", None, ("published_at_unreadable",)),
        ("yesterday", "Asia/Tokyo", None, ("published_at_unreadable",)),
        ("", "Asia/Tokyo", None, ("published_at_missing",)),
    ],
)
def test_article_time(raw, zone, utc, flags):
    parsed = article_time(raw, zone, NOW)
    assert (parsed.utc, parsed.flags) == (utc, flags)
    assert parsed.raw == (raw or None)


# --- JSON Lines ---------------------------------------------------------------------------------------------


def test_sample_dumps_load_with_language_tokens_and_search_keys(tmp_path):
    settings = make_settings(tmp_path, SAMPLES)
    run_ingest(settings, LOGICAL_DATE)

    counts = rows(
        settings, "SELECT holder_id, language, count(*) FROM raw.articles GROUP BY ALL ORDER BY ALL"
    )
    assert counts == [("harbour-review", "en", 4), ("tokyo-lifestyle", "ja", 9)]
    ramen = rows(
        settings,
        """SELECT a.title, a.category, a.published_at, a.language_detected, a.content_hash IS NOT NULL,
                  len(a.minhash), t.tokenizer, t.sentences[1], t.search_keys, t.title_match_key
           FROM raw.articles a JOIN raw.article_text t USING (file_id, record_position)
           WHERE a.canonical_url = 'https://tokyo-lifestyle.example/articles/backstreet-ramen-akariya'""",
    )
    [
        (title, category, published, detected, hashed, signature, tokenizer, first_sentence, keys, title_key)
    ] = ramen
    assert title == "路地裏の小さなラーメン店「灯り屋」、冷えた体にしみる一杯"
    assert (category, detected, hashed, signature, tokenizer) == ("gourmet", "ja", True, 64, "sudachi-core:C")
    assert published == datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    assert (
        first_sentence == "商店街から一本入った細い路地に、カウンター八席だけの小さなラーメン店があります。"
    )
    assert {"ラーメン", "路地", "明かり", "中華そば", "醤油", "スープ", "煮干し"} <= set(
        keys
    )  # 灯り → 明かり
    assert title_key == "路地裏の小さなラーメン店「灯り屋」、冷えた体にしみる一杯"

    [(tokens, lemmas, count, lemma_count)] = rows(
        settings,
        "SELECT tokens, lemmas, len(string_split(tokens, ' ')), len(string_split(lemmas, ' ')) "
        "FROM raw.article_text WHERE canonical_url LIKE '%backstreet-ramen-akariya'",
    )
    assert tokens.startswith(
        "路地 裏 の 小さな ラーメン 店 「 灯り 屋 」 、 冷え た 体 に しみる 一 杯 商店街 から"
    )
    assert lemmas.startswith(
        "路地 裏 の 小さな ラーメン 店 「 明かり 屋 」 、 冷える た 体 に 染みる 1 杯 商店街 から"
    )
    assert count == lemma_count == 125  # one lemma per token

    harbour = rows(
        settings,
        "SELECT published_at_raw, published_at, t.tokenizer, list_contains(t.search_keys, 'encore') "
        "FROM raw.articles JOIN raw.article_text t USING (file_id, record_position) "
        "WHERE articles.canonical_url LIKE '%saltmarsh-jazz-weekend-review'",
    )
    assert harbour == [
        ("2026-11-23T09:15:00+00:00", datetime(2026, 11, 23, 9, 15, tzinfo=UTC), "unicode-words", True)
    ]


def test_dump_with_versions_copies_empty_body_and_odd_timestamps(tmp_path, landing):
    landing.holder("tokyo-lifestyle", "articles", default_language="ja", timezone="Asia/Tokyo")
    landing.add("articles", "tokyo-lifestyle", FIXTURES / "dump-versions.jsonl")
    settings, summary = ingest(tmp_path, landing)

    assert summary.by_kind()["articles"] == {"files_loaded": 1, "records_loaded": 8, "records_quarantined": 0}
    by_line = {
        position: rest
        for position, *rest in rows(
            settings,
            "SELECT record_position, canonical_url, published_at, quality_flags, content_hash IS NULL, body "
            "FROM raw.articles",
        )
    }
    # an empty body is an article (a photo gallery), flagged, with no fingerprint
    assert by_line["line 6"][2:] == [["empty_body"], True, ""]
    # the future is kept as given and flagged
    assert by_line["line 7"][1:3] == [datetime(2099, 12, 31, 14, 0, tzinfo=UTC), ["published_at_in_future"]]
    # no offset: read in the publisher's zone (Asia/Tokyo), flagged
    assert by_line["line 8"][1:3] == [
        datetime(2026, 11, 22, 22, 0, tzinfo=UTC),
        ["published_at_without_offset"],
    ]
    # tracking parameters do not make another article
    assert (
        by_line["line 1"][0]
        == by_line["line 2"][0]
        == "https://tokyo-lifestyle.example/articles/hot-spring-guide"
    )
    # a body with a line break added is the same content
    hashes = dict(rows(settings, "SELECT record_position, content_hash FROM raw.articles"))
    assert hashes["line 2"] == hashes["line 3"] != hashes["line 1"]


@pytest.mark.slow
def test_dim_article_keeps_the_latest_version_history_and_flags_syndicated_copies(tmp_path, landing):
    landing.holder("tokyo-lifestyle", "articles", default_language="ja", timezone="Asia/Tokyo")
    landing.add("articles", "tokyo-lifestyle", FIXTURES / "dump-versions.jsonl")
    settings, _ = ingest(tmp_path, landing)
    build_article_marts(settings)

    assert rows(settings, "SELECT count(*) FROM marts.dim_article") == [(6,)]
    onsen = rows(
        settings,
        "SELECT article_id, url, canonical_url, title, version_count, updated_at FROM marts.dim_article "
        "WHERE canonical_url LIKE '%hot-spring-guide'",
    )
    # three deliveries (same URL twice, then the same text under a mirror URL): one article, latest edit wins
    assert onsen == [
        (
            "a_" + _sha256("https://tokyo-lifestyle.example/articles/hot-spring-guide")[:20],
            "https://tokyo-lifestyle.example/articles/hot-spring-guide?utm_source=newsletter",
            "https://tokyo-lifestyle.example/articles/hot-spring-guide",
            "初冬の温泉ガイド（改訂版）",
            3,
            datetime(2026, 11, 21, 3, 0, tzinfo=UTC),
        )
    ]
    history = rows(
        settings,
        "SELECT version_number, is_latest, record_position, canonical_url FROM marts.fct_article_versions "
        "WHERE article_id = ? ORDER BY version_number",
        onsen[0][0],
    )
    assert history == [
        (1, False, "line 1", "https://tokyo-lifestyle.example/articles/hot-spring-guide"),
        (2, False, "line 3", "https://tokyo-lifestyle.example/mirror/onsen-2026"),
        (3, True, "line 2", "https://tokyo-lifestyle.example/articles/hot-spring-guide"),
    ]
    copies = rows(
        settings,
        "SELECT d.canonical_url, o.canonical_url, d.near_duplicate_similarity >= 0.85 "
        "FROM marts.dim_article d JOIN marts.dim_article o ON d.near_duplicate_of = o.article_id",
    )
    assert copies == [
        (
            "https://news-aggregator.example/lifestyle/98765",
            "https://tokyo-lifestyle.example/articles/knit-care",
            True,
        )
    ]
    flags = dict(rows(settings, "SELECT canonical_url, quality_flags FROM marts.dim_article"))
    assert flags["https://tokyo-lifestyle.example/articles/photo-gallery-autumn-leaves"] == ["empty_body"]
    assert flags["https://tokyo-lifestyle.example/articles/new-year-countdown"] == ["published_at_in_future"]


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.mark.slow
def test_a_large_dump_analysed_in_worker_processes_loads_the_same_rows(tmp_path, landing, monkeypatch):
    from pipelines.ingest import articles
    from pipelines.text import analysis

    landing.holder("tokyo-lifestyle", "articles", default_language="ja", timezone="Asia/Tokyo")
    lines = (FIXTURES / "dump-versions.jsonl").read_text("utf-8").splitlines()
    dump = "\n".join(
        line.replace('"url": "https://', f'"url": "https://copy{n}.') for n in range(40) for line in lines
    )
    landing.write("articles", "tokyo-lifestyle", "large.jsonl", dump + "\nnot json\n")
    columns = (
        "record_position, articles.canonical_url, title, body, articles.language, published_at, content_hash, "
        "minhash, quality_flags, t.tokens, t.lemmas, t.search_keys, t.sentences"
    )
    query = f"SELECT {columns} FROM raw.articles JOIN raw.article_text t USING (file_id, record_position) ORDER BY 1"

    serial_settings, _ = ingest(tmp_path / "serial", landing)
    monkeypatch.setattr(articles, "PARALLEL_MIN_BYTES", 0)
    parallel_settings, summary = ingest(tmp_path / "parallel", landing)

    assert summary.by_kind()["articles"] == {
        "files_partial": 1,
        "records_loaded": 320,
        "records_quarantined": 1,
    }
    assert analysis._workers is not None  # the worker processes really ran
    assert rows(parallel_settings, query) == rows(serial_settings, query)
    assert rows(parallel_settings, "SELECT location, reason FROM ops.quarantine") == [
        ("line 321", "not a JSON object: Expecting value: line 1 column 1 (char 0)")
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            '{"title": "見出し", "body": "本文"}',
            "article without URL (no link, canonical link or http(s) id)",
        ),
        (
            '{"url": "javascript:alert(1)", "title": "見出し"}',
            "article URL 'javascript:alert(1)' is not an http(s) URL",
        ),
        ('{"url": "https://a.example/x", "title": " ", "body": ""}', "article without title and body"),
        ('["not", "an", "object"]', "expected a JSON object, got list"),
        (
            "{broken",
            "not a JSON object: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
    ],
)
def test_unusable_records_are_quarantined_with_a_reason(tmp_path, landing, line, reason):
    landing.holder("tokyo-lifestyle", "articles", default_language="ja")
    good = '{"url": "https://a.example/ok", "title": "良い記事", "body": "本文があります。"}'
    landing.write("articles", "tokyo-lifestyle", "dump.jsonl", f"{good}\n{line}\n")
    settings, _ = ingest(tmp_path, landing)

    assert rows(settings, "SELECT location, reason FROM ops.quarantine") == [("line 2", reason)]
    assert rows(
        settings, "SELECT status, records_found, records_loaded, records_quarantined FROM ops.ingest_files"
    ) == [("partial", 2, 1, 1)]
    assert rows(settings, "SELECT count(*) FROM raw.article_text") == [(1,)]


def test_html_in_a_dump_body_is_cleaned(tmp_path, landing):
    landing.holder("tokyo-lifestyle", "articles", default_language="ja")
    item = (
        '{"url": "https://a.example/html", "title": "<b>太字の</b>見出し", "body": '
        '"<style>p{color:red}</style><p style=\\"margin:0\\">一段落目。</p><script>alert(1)</script><p>二段落目。</p>"}'
    )
    landing.write("articles", "tokyo-lifestyle", "dump.jsonl", item + "\n")
    settings, _ = ingest(tmp_path, landing)
    assert rows(settings, "SELECT title, body FROM raw.articles") == [
        ("太字の見出し", "一段落目。\n二段落目。")
    ]


# --- HTML pages ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "codec", "expected_encoding"),
    [("EUC-JP", "euc_jp", "euc_jp"), ("Shift_JIS", "cp932", "cp932"), ("utf-8", "utf-8", "utf-8")],
)
def test_html_pages_in_japanese_encodings(tmp_path, landing, charset, codec, expected_encoding):
    page = (FIXTURES / "page.html").read_text(encoding="utf-8").replace("{charset}", charset)
    landing.holder("tokyo-lifestyle", "articles", default_language="ja")
    landing.write("articles", "tokyo-lifestyle", "2026-11-22/edo-kiriko.html", page.encode(codec))
    settings, summary = ingest(tmp_path, landing)

    assert summary.by_kind()["articles"]["records_loaded"] == 1
    [article] = rows(
        settings,
        "SELECT canonical_url, title, body, category, author, language, language_declared, published_at, "
        "source_encoding, source_format, quality_flags FROM raw.articles",
    )
    assert article == (
        "https://tokyo-lifestyle.example/articles/edo-kiriko-workshop",
        "職人の手しごと：江戸切子の工房を訪ねて",
        "職人の手しごと：江戸切子の工房を訪ねて\n"
        "下町の小さな工房では、職人がガラスに細かな模様を一本ずつ刻んでいきます。\n"
        "回転する砥石にグラスを当てる手つきは、迷いがなく驚くほど速いものでした。\n"
        "完成した切子は、光を受けて青と透明の模様がきらきらと輝きます。",
        "living",
        "佐藤一郎",
        "ja",
        "ja",
        datetime(2026, 11, 22, 1, 0, tzinfo=UTC),
        expected_encoding,
        "html",
        [],
    )
    assert rows(settings, "SELECT file_format FROM ops.ingest_files") == [("html-page",)]
    [(keys,)] = rows(settings, "SELECT search_keys FROM raw.article_text")
    assert {"江戸", "切り子", "工房", "職人", "ガラス", "砥石"} <= set(keys)  # 切子 → 切り子
    assert not {"スクリプト", "広告", "ランキング", "ファッション"} & set(keys)  # script, hidden, aside, nav


def test_a_page_without_canonical_link_or_og_url_is_quarantined(tmp_path, landing):
    landing.holder("tokyo-lifestyle", "articles", default_language="ja")
    landing.write("articles", "tokyo-lifestyle", "orphan.html", "<html><title>題</title><p>本文。</p></html>")
    settings, _ = ingest(tmp_path, landing)
    assert rows(settings, "SELECT location, reason FROM ops.quarantine") == [
        ("document", "article without URL (no link, canonical link or http(s) id)")
    ]


# --- livedoor text ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("codec", "expected_encoding"), [("cp932", "cp932"), ("euc_jp", "euc_jp")])
def test_livedoor_text_in_legacy_encodings(tmp_path, landing, codec, expected_encoding):
    text = (SAMPLES / "articles" / "tokyo-lifestyle" / "2026-11-24" / "livedoor-style" / "column-0001.txt").read_text(
        "utf-8"
    )
    landing.holder("tokyo-lifestyle", "articles", default_language="ja")
    landing.write("articles", "tokyo-lifestyle", "column/column-0001.txt", text.encode(codec))
    landing.write("articles", "tokyo-lifestyle", "loose-0002.txt", text.replace("0001", "0002"))
    settings, _ = ingest(tmp_path, landing)

    got = rows(
        settings,
        "SELECT url, title, category, published_at, source_encoding, split_part(body, chr(10), 1) "
        "FROM raw.articles ORDER BY url",
    )
    assert got == [
        (
            "https://tokyo-lifestyle.example/column/0001",
            "雨の日こそ行きたい、窓辺の席がうれしい小さなカフェ",
            "column",
            datetime(2026, 11, 23, 23, 30, tzinfo=UTC),
            expected_encoding,
            "朝から冷たい雨が降り続く日は、どこにも出かけたくない気分になりますよね。",
        ),
        # directly in the publisher's folder: no category
        (
            "https://tokyo-lifestyle.example/column/0002",
            "雨の日こそ行きたい、窓辺の席がうれしい小さなカフェ",
            None,
            datetime(2026, 11, 23, 23, 30, tzinfo=UTC),
            "utf-8",
            "朝から冷たい雨が降り続く日は、どこにも出かけたくない気分になりますよね。",
        ),
    ]


def test_a_livedoor_file_too_short_is_quarantined(tmp_path, landing):
    landing.holder("tokyo-lifestyle", "articles", default_language="ja")
    landing.write(
        "articles", "tokyo-lifestyle", "c/short.txt", "https://a.example/x\n2026-11-24T08:30:00+0900\n"
    )
    settings, _ = ingest(tmp_path, landing)
    assert rows(settings, "SELECT location, reason FROM ops.quarantine") == [
        ("file", "livedoor article needs URL, timestamp and title lines")
    ]


# --- real data ----------------------------------------------------------------------------------------------

LIVEDOOR_FACTS = {
    "sports-watch/sports-watch-4597641.txt": (
        "【Sports Watch】秋山成勲、メールで吉田に対戦迫った!?",
        "2010-02-10T10:50:00+0900",
        datetime(2010, 2, 10, 1, 50, tzinfo=UTC),
    ),
    "peachy/peachy-4289213.txt": (
        "韓国の伝統菓子を食べてみませんか？",
        "2009-08-07T20:30:00+0900",
        datetime(2009, 8, 7, 11, 30, tzinfo=UTC),
    ),
    "topic-news/topic-news-5903225.txt": (
        "悪評が次から次へと溢れ出る川越シェフ",
        "2011-10-02T10:00:00+0900",
        datetime(2011, 10, 2, 1, 0, tzinfo=UTC),
    ),
    "dokujo-tsushin/dokujo-tsushin-4778030.txt": (
        "友人代表のスピーチ、独女はどうこなしている？",
        "2010-05-22T14:30:00+0900",
        datetime(2010, 5, 22, 5, 30, tzinfo=UTC),
    ),
    "kaden-channel/kaden-channel-5774093.txt": (
        "【ニュース】電力使用量９日が８社管内で今夏最高",
        "2011-08-10T10:00:00+0900",
        datetime(2011, 8, 10, 1, 0, tzinfo=UTC),
    ),
    "movie-enter/movie-enter-5840081.txt": (
        "インタビュー：宮崎あおい＆堺雅人「一緒にいるのが当たり前」",
        "2011-09-08T10:00:00+0900",
        datetime(2011, 9, 8, 1, 0, tzinfo=UTC),
    ),
}
LIVEDOOR_CATEGORIES = [
    "dokujo-tsushin", "it-life-hack", "kaden-channel", "livedoor-homme", "movie-enter", "peachy", "smax",
    "sports-watch", "topic-news",
]  # fmt: skip


@pytest.mark.real_data
@pytest.mark.slow
def test_all_720_livedoor_articles_load_with_category_title_and_time(tmp_path, landing, shared_data):
    landing.holder(
        "livedoor", "articles", name="livedoor ニュース", default_language="ja", timezone="Asia/Tokyo"
    )
    corpus = shared_data / "livedoor"
    for category in LIVEDOOR_CATEGORIES:
        for article in sorted((corpus / category).glob(f"{category}-*.txt")):
            landing.add("articles", "livedoor", article, name=f"{category}/{article.name}")
        landing.add("articles", "livedoor", corpus / category / "LICENSE.txt", name=f"{category}/LICENSE.txt")
    settings, summary = ingest(tmp_path, landing)

    assert summary.by_kind()["articles"] == {
        "files_loaded": 720,
        "records_loaded": 720,
        "records_quarantined": 0,
    }
    assert rows(settings, "SELECT category, count(*) FROM raw.articles GROUP BY 1 ORDER BY 1") == [
        (category, 80) for category in LIVEDOOR_CATEGORIES
    ]
    assert rows(
        settings,
        "SELECT count(*), count(DISTINCT canonical_url), count(*) FILTER (language = 'ja'), "
        "count(*) FILTER (len(quality_flags) = 0), min(published_at), max(published_at) FROM raw.articles",
    ) == [
        (
            720,
            720,
            720,
            720,
            datetime(2009, 8, 7, 11, 30, tzinfo=UTC),
            datetime(2012, 5, 15, 2, 55, tzinfo=UTC),
        )
    ]
    for name, (title, raw_time, utc) in LIVEDOOR_FACTS.items():
        category, file_name = name.split("/")
        got = rows(
            settings,
            "SELECT category, title, published_at_raw, published_at, url FROM raw.articles WHERE file_path = ?",
            f"articles/livedoor/{category}/{file_name}",
        )
        number = file_name.rsplit("-", 1)[1].removesuffix(".txt")
        assert got == [
            (category, title, raw_time, utc, f"http://news.livedoor.com/article/detail/{number}/")
        ], name
    [(tokens, keys)] = rows(
        settings,
        "SELECT string_split(t.tokens, ' ')[1:6], t.search_keys FROM raw.article_text t "
        "WHERE file_path LIKE '%sports-watch-4597641.txt'",
    )
    assert tokens == ["【", "Sports", "Watch", "】", "秋山", "成勲"]
    assert {"吉田", "秋山", "引退", "試合", "格闘家", "柔道", "メダリスト"} <= set(keys)

    build_article_marts(settings)
    assert rows(settings, "SELECT count(*), count(*) FILTER (is_near_duplicate) FROM marts.dim_article") == [
        (720, 2)
    ]
    # two templated NTT docomo software-update notices: the later one is flagged as a near-copy of the earlier
    pairs = rows(
        settings,
        "SELECT d.url, o.url FROM marts.dim_article d JOIN marts.dim_article o ON d.near_duplicate_of = o.article_id "
        "ORDER BY 1",
    )
    assert (
        "http://news.livedoor.com/article/detail/6543510/",
        "http://news.livedoor.com/article/detail/6543512/",
    ) in pairs
