"""Publisher feeds (RSS 2.0, Atom 1.0 / 0.3, RSS 1.0) → raw.articles, including broken and legacy-encoded ones."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest import run_ingest
from tests.conftest import make_settings
from tests.ingest.article_marts import build_article_marts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "articles"
LOGICAL_DATE = date(2026, 11, 24)
NABE = "https://tokyo-lifestyle.example/articles/winter-nabe-mille-feuille"


def ingest(tmp_path, landing):
    settings = make_settings(tmp_path, landing.root)
    return settings, run_ingest(settings, LOGICAL_DATE)


def rows(settings, sql, *params):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_rss20_entries_with_html_content_and_a_date_without_offset(tmp_path, landing):
    landing.holder("tokyo-lifestyle", "articles", default_language="ja", timezone="Asia/Tokyo")
    landing.add("articles", "tokyo-lifestyle", FIXTURES / "tokyo-rss20.xml")
    settings, summary = ingest(tmp_path, landing)

    assert summary.by_kind()["articles"] == {"files_loaded": 1, "records_loaded": 3, "records_quarantined": 0}
    assert rows(settings, "SELECT file_format FROM ops.ingest_files") == [("rss-2.0",)]
    got = rows(
        settings,
        "SELECT record_position, canonical_url, title, category, author, source_id, language, language_declared, "
        "published_at_raw, published_at, quality_flags, source_format FROM raw.articles ORDER BY record_position",
    )
    assert got == [
        (
            "entry 1 (line 8)",
            NABE,
            "冬の鍋特集：白菜と豚肉のミルフィーユ鍋",
            "gourmet",
            "山田花子",
            "tokyo-lifestyle-20261120-001",
            "ja",
            "ja",
            "Fri, 20 Nov 2026 18:00:00 +0900",
            datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
            [],
            "rss-2.0",
        ),
        (
            "entry 2 (line 25)",
            "https://tokyo-lifestyle.example/articles/riverside-bakery",
            "週末の朝に行きたい、川沿いのベーカリー",
            "gourmet",
            None,
            None,
            "ja",
            "ja",
            "2026-11-21 08:00:00",
            datetime(2026, 11, 20, 23, 0, tzinfo=UTC),  # no offset: read in Asia/Tokyo
            ["published_at_without_offset"],
            "rss-2.0",
        ),
        (
            "entry 3 (line 32)",
            "https://tokyo-lifestyle.example/articles/year-end-cleaning",
            "年末の大掃除は「上から下へ」が基本",
            "living",
            None,
            None,
            "ja",
            "ja",
            "Sun, 22 Nov 2026 10:30:00 +0900",
            datetime(2026, 11, 22, 1, 30, tzinfo=UTC),
            [],
            "rss-2.0",
        ),
    ]
    # content:encoded wins over description; script, style and the display:none block are gone
    assert rows(settings, "SELECT body FROM raw.articles WHERE canonical_url = ?", NABE) == [
        (
            "白菜と豚肉を交互に重ねて、鍋にぎっしりと詰めるだけ。\n"
            "だしを注いで十五分ほど煮込めば、甘みの出た白菜がとろけるような一皿になります。\n"
            "仕上げにゆずの皮を散らすと、香りがぐっと引き立ちます。",
        )
    ]


def test_atom10_and_rss10(tmp_path, landing):
    landing.holder("gourmet-letters", "articles", default_language="ja")
    landing.holder("kyoto-walks", "articles", default_language="ja")
    landing.add("articles", "gourmet-letters", FIXTURES / "tokyo-atom10.xml")
    landing.add("articles", "kyoto-walks", FIXTURES / "tokyo-rss10.rdf")
    settings, _ = ingest(tmp_path, landing)

    assert rows(
        settings, "SELECT holder_id, file_format, records_loaded FROM ops.ingest_files ORDER BY 1"
    ) == [
        ("gourmet-letters", "atom-1.0", 2),
        ("kyoto-walks", "rss-1.0", 1),
    ]
    got = rows(
        settings,
        "SELECT url, canonical_url, title, category, body, published_at, updated_at, source_format "
        "FROM raw.articles ORDER BY published_at",
    )
    assert got == [
        (
            "https://TOKYO-LIFESTYLE.example/articles/winter-nabe-mille-feuille?utm_campaign=partner#recipe",
            NABE,
            "冬の鍋特集：白菜と豚肉のミルフィーユ鍋",
            "gourmet",
            "白菜と豚肉を重ねるだけの簡単な鍋です。",
            datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
            datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
            "atom-1.0",
        ),
        (
            "https://gourmet-letters.example/posts/sento-fuji-murals",
            "https://gourmet-letters.example/posts/sento-fuji-murals",
            "冬の銭湯めぐり：昭和の富士山壁画を訪ねて",
            "travel",
            "下町の銭湯には、今も職人が描いた富士山の壁画が残っています。\n湯上がりには瓶の牛乳を一本どうぞ。",
            datetime(2026, 11, 22, 0, 0, tzinfo=UTC),
            datetime(2026, 11, 22, 0, 0, tzinfo=UTC),
            "atom-1.0",
        ),
        (
            "https://kyoto-walks.example/walks/philosophers-path",
            "https://kyoto-walks.example/walks/philosophers-path",
            "紅葉の哲学の道を歩く",
            "travel",
            "疏水沿いの小道は、十一月の終わりに紅葉が見ごろを迎えます。",
            datetime(2026, 11, 22, 22, 30, tzinfo=UTC),
            None,
            "rss-1.0",
        ),
    ]


def test_a_malformed_feed_keeps_the_entries_before_the_break(tmp_path, landing):
    landing.holder("minato-news", "articles", default_language="ja")
    landing.add("articles", "minato-news", FIXTURES / "broken-rss20.xml")
    settings, summary = ingest(tmp_path, landing)

    assert summary.by_kind()["articles"] == {
        "files_partial": 1,
        "records_loaded": 2,
        "records_quarantined": 2,
    }
    assert rows(settings, "SELECT title FROM raw.articles ORDER BY record_position") == [
        ("港の朝市が再開",),
        ("灯台の特別公開",),
    ]
    reason = "feed XML is malformed from here: line 20, column 16: not well-formed (invalid token)"
    assert rows(settings, "SELECT location, reason FROM ops.quarantine ORDER BY location") == [
        ("entry 3 (line 19)", reason),
        ("entry 4 (line 25)", reason),
    ]
    assert rows(
        settings,
        "SELECT file_format, status, records_found, records_loaded, records_quarantined FROM ops.ingest_files",
    ) == [("rss-2.0", "partial", 4, 2, 2)]


def test_a_missing_end_tag_reported_late_still_cuts_at_the_damaged_entry(tmp_path, landing):
    items = "".join(
        f"<item><title>記事{n}</title><link>https://minato-news.example/{n}</link>"
        f"<description>本文{n}です。</description>{'' if n == 2 else '</item>'}\n"
        for n in range(1, 5)
    )
    feed = f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>港町</title>\n{items}</channel></rss>\n'
    landing.holder("minato-news", "articles", default_language="ja")
    landing.write("articles", "minato-news", "unclosed.xml", feed)
    settings, _ = ingest(tmp_path, landing)

    # the parser only notices at </channel>; item 2 never closed, so items 2-4 are not trusted
    assert rows(settings, "SELECT title FROM raw.articles") == [("記事1",)]
    assert [location for (location,) in rows(settings, "SELECT location FROM ops.quarantine ORDER BY 1")] == [
        "entry 2 (line 4)",
        "entry 3 (line 5)",
        "entry 4 (line 6)",
    ]


def test_a_truncated_feed_keeps_every_complete_entry(tmp_path, landing):
    text = (FIXTURES / "tokyo-rss20.xml").read_text("utf-8")
    landing.holder("tokyo-lifestyle", "articles", default_language="ja")
    landing.write("articles", "tokyo-lifestyle", "truncated.xml", text[: text.index("</channel>")])
    settings, summary = ingest(tmp_path, landing)

    assert summary.by_kind()["articles"] == {
        "files_partial": 1,
        "records_loaded": 3,
        "records_quarantined": 1,
    }
    assert rows(settings, "SELECT location, reason FROM ops.quarantine") == [
        ("line 39", "feed XML is malformed after the last entry: line 39, column 2: no element found")
    ]


def test_a_feed_broken_before_its_first_entry_is_quarantined_whole(tmp_path, landing):
    landing.holder("minato-news", "articles", default_language="ja")
    landing.write(
        "articles",
        "minato-news",
        "header.xml",
        '<rss version="2.0"><channel><title>A & B</title><item><title>x</title>'
        "<link>https://minato-news.example/x</link></item></channel></rss>",
    )
    settings, _ = ingest(tmp_path, landing)
    assert rows(settings, "SELECT location, reason FROM ops.quarantine") == [
        (
            "file",
            "feed XML breaks before its first complete entry: line 1, column 38: not well-formed (invalid token)",
        )
    ]
    assert rows(settings, "SELECT count(*) FROM raw.articles") == [(0,)]


def test_a_feed_declaring_entities_is_refused(tmp_path, landing):
    landing.holder("minato-news", "articles", default_language="ja")
    landing.write(
        "articles",
        "minato-news",
        "xxe.xml",
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<rss version="2.0"><channel><item><title>&x;</title><link>https://a.example/</link></item></channel></rss>',
    )
    settings, _ = ingest(tmp_path, landing)
    [(reason,)] = rows(settings, "SELECT reason FROM ops.quarantine")
    assert reason.startswith("XML declares entities in its DOCTYPE")


@pytest.mark.parametrize(("encoding", "declared"), [("euc_jp", "EUC-JP"), ("cp932", "Shift_JIS")])
def test_feeds_in_legacy_japanese_encodings(tmp_path, landing, encoding, declared):
    text = (
        (FIXTURES / "tokyo-rss20.xml")
        .read_text("utf-8")
        .replace('encoding="utf-8"', f'encoding="{declared}"')
    )
    landing.holder("tokyo-lifestyle", "articles", default_language="ja")
    landing.write("articles", "tokyo-lifestyle", "legacy.xml", text.encode(encoding))
    settings, _ = ingest(tmp_path, landing)

    got = rows(
        settings, "SELECT title, source_encoding, record_position FROM raw.articles ORDER BY record_position"
    )
    assert got == [
        ("冬の鍋特集：白菜と豚肉のミルフィーユ鍋", encoding, "entry 1 (line 8)"),
        ("週末の朝に行きたい、川沿いのベーカリー", encoding, "entry 2 (line 25)"),
        ("年末の大掃除は「上から下へ」が基本", encoding, "entry 3 (line 32)"),
    ]


def test_xml_that_is_no_feed_is_rejected(tmp_path, landing):
    landing.holder("tokyo-lifestyle", "articles", default_language="ja")
    landing.write(
        "articles",
        "tokyo-lifestyle",
        "sitemap.xml",
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
    )
    settings, _ = ingest(tmp_path, landing)
    assert rows(settings, "SELECT reason FROM ops.quarantine") == [
        (
            "not an RSS or Atom feed: root element 'urlset' in namespace 'http://www.sitemaps.org/schemas/sitemap/0.9'",
        )
    ]


@pytest.mark.slow
def test_the_same_article_in_two_feeds_is_one_article_with_two_versions(tmp_path, landing):
    landing.holder("tokyo-lifestyle", "articles", default_language="ja", timezone="Asia/Tokyo")
    landing.holder("gourmet-letters", "articles", default_language="ja", timezone="Asia/Tokyo")
    landing.add("articles", "tokyo-lifestyle", FIXTURES / "tokyo-rss20.xml")
    landing.add("articles", "gourmet-letters", FIXTURES / "tokyo-atom10.xml")
    settings, _ = ingest(tmp_path, landing)
    build_article_marts(settings)

    assert rows(settings, "SELECT count(*) FROM marts.dim_article") == [(4,)]
    [(article_id, version_count, body)] = rows(
        settings,
        "SELECT article_id, version_count, body FROM marts.dim_article WHERE canonical_url = ?",
        NABE,
    )
    assert version_count == 2
    versions = rows(
        settings,
        "SELECT publisher_id, source_format, url, is_latest FROM marts.fct_article_versions "
        "WHERE article_id = ? ORDER BY version_number",
        article_id,
    )
    # same publish time in both feeds: the later delivery (files are ingested in path order) is the latest
    assert versions == [
        (
            "gourmet-letters",
            "atom-1.0",
            "https://TOKYO-LIFESTYLE.example/articles/winter-nabe-mille-feuille?utm_campaign=partner#recipe",
            False,
        ),
        ("tokyo-lifestyle", "rss-2.0", f"{NABE}?utm_source=rss&utm_medium=feed", True),
    ]
    assert body.startswith("白菜と豚肉を交互に重ねて")


# --- real data ----------------------------------------------------------------------------------------------

# file → (format, entries loaded, entries quarantined, {record position: (title, canonical URL)})
REAL_FEEDS = {
    "mrss_feed.xml": (
        "rss-2.0",
        2,
        0,
        {
            "entry 1 (line 20)": (
                "Shade",
                "http://sample-firetv-web-app.s3-website-us-west-2.amazonaws.com/shade/",
            ),
            "entry 2 (line 36)": (
                "Spectators",
                "http://sample-firetv-web-app.s3-website-us-west-2.amazonaws.com/spectators/",
            ),
        },
    ),
    "feedparser/atom10_large_touchnokia_ru.xml": (
        "atom-1.0",
        15,
        0,
        {
            "entry 1 (line 15)": (
                "Невидимая броня для Вашего Nokia 5800",
                "http://touchnokia.ru/2009/09/nevidimaja-bronja-dlja-vashego-nokia-5800.html",
            ),
            "entry 15 (line 494)": (
                "Программы для Nokia 5800 и Nokia N97: MobileAgent v.1.51",
                "http://touchnokia.ru/2009/05/programmi-dlja-nokia-5800-i-nokia-n97-mobileagent-v151.html",
            ),
        },
    ),
    "feedparser/atom10_threading_blogger_comments.xml": (
        "atom-1.0",
        1,
        0,
        {
            "entry 1 (line 6)": (
                "bloffo bliff by te...",
                "http://salmon-test.blogspot.com/2009/10/test-post.html?showComment=1260320342544",
            )
        },
    ),
    "feedparser/atom10_psc_simplechapter.xml": (
        "atom-1.0",
        1,
        0,
        {"entry 1 (line 15)": ("Fiat Lux", "http://podlove.org/podcast/1")},
    ),
    "feedparser/atom10_georss_polygon.xml": ("atom-1.0", 0, 1, {}),
    "feedparser/atom03_media_group.xml": ("atom-0.3", 0, 1, {}),
    "feedparser/rss10_rdf_item_description.xml": (
        "rss-1.0",
        1,
        0,
        {"entry 1 (line 13)": (None, "http://example.com/1")},
    ),
    "feedparser/rss10_withModules.xml": (
        "rss-1.0",
        1,
        0,
        {
            "entry 1 (line 38)": (
                "Test Item - RSS 1.0",
                "http://www.pocketsoap.com/weblog/rssTests/rss1.0withModules.xml",
            )
        },
    ),
    "feedparser/rss10_withModules_NoDefNS.xml": (
        "rss-1.0",
        1,
        0,
        {
            "entry 1 (line 38)": (
                "Test Item - RSS 1.0 no Default NS",
                "http://www.pocketsoap.com/weblog/rssTests/rss1.0withModulesNoDefNS.xml",
            )
        },
    ),
    "feedparser/rss10_withModules_NoDefNS_LocalNameClash.xml": (
        "rss-1.0",
        1,
        0,
        {
            "entry 1 (line 39)": (
                "Test Item - RSS 1.0 no Default NS, localName clashes",
                "http://www.pocketsoap.com/weblog/rssTests/rss1.0withModulesNoDefNSLocalNameClash.xml",
            )
        },
    ),
    "feedparser/rss20_NS_withModules.xml": (
        "rss-2.0",
        1,
        0,
        {
            "entry 1 (line 39)": (
                "Test Item - RSS2.0 w/ NS",
                "http://www.pocketsoap.com/weblog/rssTests/rss2.0NSwithModules.xml",
            )
        },
    ),
    "feedparser/rss20_noNS_withModules.xml": (
        "rss-2.0",
        1,
        0,
        {
            "entry 1 (line 38)": (
                "Test Item - RSS 2.0 no NS",
                "http://www.pocketsoap.com/weblog/rssTests/rss2.0noNSwithModules.xml",
            )
        },
    ),
    "feedparser/rss20_noNS_withModules_LocalNameClash.xml": (
        "rss-2.0",
        1,
        0,
        {
            "entry 1 (line 40)": (
                "Test Item - RSS2.0 no NS localName clash",
                "http://www.pocketsoap.com/weblog/rssTests/rss2.0noNSwithModulesLocalNameClash.xml",
            )
        },
    ),
    "feedparser/rss20_psc_simplechapter.xml": (
        "rss-2.0",
        1,
        0,
        {"entry 1 (line 16)": ("Fiat Lux", "http://podlove.org/podcast/1")},
    ),
    "feedparser/rss20_psc_simplechapter_2items.xml": ("rss-2.0", 0, 2, {}),
    "feedparser/rss20_withAtomNS.xml": (
        "rss-2.0",
        1,
        0,
        {
            "entry 1 (line 11)": (
                "rsync and vfat | Geek at Play",
                "http://www.kylev.com/2005/03/29/rsync-and-vfat/",
            )
        },
    ),
}


@pytest.mark.real_data
def test_every_shared_feed_is_covered(shared_data):
    found = {p.relative_to(shared_data / "feeds").as_posix() for p in (shared_data / "feeds").rglob("*.xml")}
    assert found == set(REAL_FEEDS)


@pytest.mark.real_data
@pytest.mark.parametrize("name", sorted(REAL_FEEDS))
def test_real_feeds_parse(tmp_path, landing, shared_data, name):
    file_format, loaded, quarantined, entries = REAL_FEEDS[name]
    landing.holder("feeds", "articles", default_language="en", timezone="UTC")
    landing.add("articles", "feeds", shared_data / "feeds" / name)
    settings, _ = ingest(tmp_path, landing)

    assert rows(
        settings, "SELECT file_format, records_loaded, records_quarantined FROM ops.ingest_files"
    ) == [(file_format, loaded, quarantined)]
    got = dict(
        (position, (title, url))
        for position, title, url in rows(
            settings, "SELECT record_position, title, canonical_url FROM raw.articles"
        )
    )
    for position, expected in entries.items():
        assert got[position] == expected
    if quarantined:
        reasons = {reason for (reason,) in rows(settings, "SELECT reason FROM ops.quarantine")}
        assert reasons == {"article without URL (no link, canonical link or http(s) id)"}


@pytest.mark.real_data
def test_real_feed_facts(tmp_path, landing, shared_data):
    """Times, languages and clean bodies from the real feeds."""
    landing.holder("feeds", "articles", default_language="en", timezone="UTC")
    for name in (
        "mrss_feed.xml",
        "feedparser/atom10_large_touchnokia_ru.xml",
        "feedparser/rss20_withAtomNS.xml",
    ):
        landing.add("articles", "feeds", shared_data / "feeds" / name, name=name.replace("/", "__"))
    settings, _ = ingest(tmp_path, landing)

    shade = rows(
        settings,
        "SELECT published_at_raw, published_at, language, body FROM raw.articles WHERE title = 'Shade'",
    )
    assert shade == [
        (
            "Mon, 23 Oct 2017 00:00:00 -0700",
            datetime(2017, 10, 23, 7, 0, tzinfo=UTC),
            "en",
            "Quiet the mind, and the soul will speak. - Ma Jaya Sati Bhagavati",
        )
    ]
    russian = rows(
        settings,
        "SELECT count(*), count(*) FILTER (language = 'other'), count(*) FILTER (language_detected = 'ru'), "
        "count(*) FILTER (body LIKE '%<%' OR body LIKE '%style=%' OR body LIKE '%{%') "
        "FROM raw.articles WHERE file_path LIKE '%touchnokia%'",
    )
    assert russian == [(15, 15, 15, 0)]
    assert rows(
        settings,
        "SELECT quality_flags, author FROM raw.articles WHERE title = 'rsync and vfat | Geek at Play'",
    ) == [(["empty_body", "language_from_declaration"], "wearehugh")]
