"""Bytes to text in Japanese encodings, and HTML to the clean text of the article."""

from __future__ import annotations

import pytest

from pipelines.text.html import declared_encoding, decode, decode_markup, html_to_text, looks_like_html

ARTICLE = "白菜と豚肉のミルフィーユ鍋：だしを注いで十五分ほど煮込みます。ｶﾀｶﾅも。"


@pytest.mark.parametrize(
    ("declared", "encoding", "expected_codec"),
    [
        ("Shift_JIS", "cp932", "cp932"),
        ("EUC-JP", "euc_jp", "euc_jp"),
        ("ISO-2022-JP", "iso2022_jp_ext", "iso2022_jp_ext"),
        ("utf-8", "utf-8", "utf-8"),
    ],
)
def test_declared_encodings_decode(declared, encoding, expected_codec):
    page = f'<html><head><meta charset="{declared}"></head><body><p>{ARTICLE}</p></body></html>'
    data = page.encode(encoding)
    decoded = decode_markup(data)
    assert decoded.encoding == expected_codec
    assert ARTICLE in decoded.text


@pytest.mark.parametrize(
    ("declared", "encoding", "expected_codec"),
    [("Shift_JIS", "cp932", "cp932"), ("EUC-JP", "euc_jis_2004", "euc_jis_2004")],
)
def test_vendor_characters_of_legacy_encodings(declared, encoding, expected_codec):
    text = "①限定セット㈱サクラ"  # NEC/IBM extensions in Shift_JIS (CP932), JIS X 0213 in EUC-JP
    decoded = decode(text.encode(encoding), declared)
    assert (decoded.text, decoded.encoding) == (text, expected_codec)


@pytest.mark.parametrize(
    ("encoding", "expected_codec"), [("cp932", "cp932"), ("euc_jp", "euc_jp"), ("utf-8", "utf-8")]
)
def test_undeclared_japanese_encodings_are_sniffed(encoding, expected_codec):
    text = "朝から冷たい雨が降り続く日は、どこにも出かけたくない気分になりますよね。"
    decoded = decode(text.encode(encoding))
    assert (decoded.text, decoded.encoding) == (text, expected_codec)


def test_a_wrong_declaration_does_not_win_over_the_bytes():
    data = '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"><p>窓辺の席</p>'.encode(
        "euc_jp"
    )
    assert declared_encoding(data) == "Shift_JIS"
    decoded = decode_markup(data)
    assert decoded.encoding == "euc_jp"
    assert "窓辺の席" in decoded.text


def test_byte_order_marks_win():
    assert decode("\ufeff東京".encode("utf-8")).text == "東京"
    assert decode("\ufeff東京".encode("utf-16-le")).text == "東京"


def test_scripts_styles_navigation_and_hidden_text_are_stripped():
    page = """<html><head><title>T</title><style>p { color: red }</style>
    <script>var x = "スクリプトの文字列";</script></head>
    <body><nav>ホーム | 記事一覧</nav><header>サイト名</header>
    <main><h1>見出し</h1>
      <p style="font-size:18px">一段落目の文です。<br>改行の後。</p>
      <p>二段落目&nbsp;&nbsp;の   文です。</p>
      <div style="display:none">隠れた文</div><span hidden>隠し属性</span>
      <div aria-hidden="true">読み上げない文</div>
      <!-- コメント -->
      <noscript>JavaScript を有効にしてください</noscript>
      <form><button>送信</button></form>
    </main>
    <aside>おすすめ</aside><footer>© 2026</footer></body></html>"""
    assert html_to_text(page) == "見出し\n一段落目の文です。\n改行の後。\n二段落目 の 文です。"


def test_the_article_element_is_preferred_over_the_rest_of_the_body():
    page = "<body><div>パンくず</div><article><p>本文だけ</p></article><div>関連リンク</div></body>"
    assert html_to_text(page) == "本文だけ"
    assert html_to_text(page, whole_document=True) == "パンくず\n本文だけ\n関連リンク"


def test_fragments_empty_and_plain_text():
    assert html_to_text("<p>一</p><p>二</p>", whole_document=True) == "一\n二"
    assert html_to_text("") == ""
    assert html_to_text("   ") == ""
    assert html_to_text(None) == ""
    assert html_to_text("<script>only()</script>", whole_document=True) == ""


@pytest.mark.parametrize(
    ("text", "is_html"),
    [("<p>本文</p>", True), ("改行<br/>あり", True), ("1 < 2 かつ 3 > 2", False), ("ただの文章", False)],
)
def test_looks_like_html(text, is_html):
    assert looks_like_html(text) is is_html
