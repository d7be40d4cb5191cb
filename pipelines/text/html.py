"""Bytes to text: Japanese encodings (UTF-8, Shift_JIS/CP932, EUC-JP, ISO-2022-JP) and HTML to clean text.

Pages are parsed with lxml.html; what a reader does not see as the article (scripts, styles, navigation,
headers and footers, forms, hidden elements, comments) is dropped before the text is read, and block
elements become line breaks so that paragraphs survive.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.text import shift_jis

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# Declared names → the codec that decodes what publishers actually send under that name.
_SUPERSETS = {"shift_jis": "cp932", "iso2022_jp": "iso2022_jp_ext", "ascii": "utf-8", "utf_8": "utf-8"}
# EUC-JP pages often carry ① or ㈱ (eucJP-ms); JIS X 0213's EUC has them where plain EUC-JP does not.
_FALLBACKS = {"euc_jp": ("euc_jp", "euc_jis_2004")}
_UNDECLARED_CANDIDATES = ("cp932", "euc_jp", "euc_jis_2004", "iso2022_jp_ext")
_DECLARED_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)
_HIRAGANA = re.compile(r"[\u3041-\u3096]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_SPACES = re.compile(r"[^\S\n]+")

# Elements whose text is never the article's.
DROPPED = (
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas", "form",
    "button", "select", "textarea", "nav", "header", "footer", "aside", "menu", "dialog",
)  # fmt: skip
_BLOCKS = (
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5",
    "h6", "blockquote", "pre", "table", "tr", "figure", "figcaption", "hr", "address", "details", "summary",
    "caption", "body",
)  # fmt: skip
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the codec that decoded the bytes, e.g. 'utf-8', 'cp932', 'euc_jp'

    def __post_init__(self):
        if self.encoding == "cp932":  # the JIS code points, as XML deliveries get them (`text.shift_jis`)
            object.__setattr__(self, "text", shift_jis.to_jis(self.text))


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    if shift_jis.is_shift_jis(name.strip().strip("\"'")):  # Windows-31J, MS932, x-sjis... (Python knows few)
        return "cp932"
    try:
        canonical = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    canonical = canonical.replace("-", "_")
    return _SUPERSETS.get(canonical, canonical)


def declared_encoding(data: bytes) -> str | None:
    """The charset a page or an XML document declares in its first 4 KiB (meta charset or XML declaration)."""
    match = _DECLARED_CHARSET.search(data[:4096])
    if not match:
        return None
    return (match.group(1) or match.group(2)).decode("ascii", errors="ignore")


def decode(data: bytes, declared: str | None = None) -> Decoded:
    """Text of a Japanese or Western document.

    A BOM wins, then the declared charset (if it decodes cleanly), then UTF-8; otherwise the Japanese legacy
    encoding that decodes cleanly and yields the most hiragana (mojibake of one legacy encoding read as
    another gives almost none).
    """
    if data.startswith(codecs.BOM_UTF8):
        return Decoded(data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8")
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return Decoded(data[len(bom) :].decode(codec, errors="replace"), codec.replace("-", "_"))
    codec = _codec(declared)
    for candidate in _FALLBACKS.get(codec, (codec,)) if codec else ():
        try:
            return Decoded(data.decode(candidate), candidate)
        except UnicodeDecodeError:
            pass  # a wrong declaration is common: sniff instead
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    best: Decoded | None = None
    best_score = -1
    for candidate in _UNDECLARED_CANDIDATES:
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        score = len(_HIRAGANA.findall(text))
        if score > best_score:
            best, best_score = Decoded(text, candidate), score
    if best is not None:
        return best
    return Decoded(data.decode(codec or "cp932", errors="replace"), codec or "cp932")


def decode_markup(data: bytes) -> Decoded:
    """An HTML page or XML document: its own charset declaration is the first guess."""
    return decode(data, declared_encoding(data))


def looks_like_html(text: str) -> bool:
    return bool(_TAG.search(text))


def parse_html(markup: str) -> HtmlElement | None:
    """An lxml tree of a page or fragment, or None when there is nothing to parse."""
    import lxml.html
    from lxml import etree

    markup = _XML_DECLARATION.sub("", markup, count=1)
    if not markup.strip():
        return None
    try:
        return lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return None


def _drop_unseen(root: HtmlElement) -> None:
    from lxml import etree

    for node in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        parent = node.getparent()
        if parent is not None:
            node.drop_tree()
    doomed = [
        el
        for el in root.iter()
        if isinstance(el.tag, str)
        and (
            el.tag in DROPPED
            or el.get("hidden") is not None
            or el.get("aria-hidden") == "true"
            or el.get("role") in ("navigation", "banner", "contentinfo", "complementary")
            or _HIDDEN_STYLE.search(el.get("style") or "")
        )
    ]
    for el in doomed:
        if el.getparent() is not None and el is not root:
            el.drop_tree()


def article_container(root: HtmlElement) -> HtmlElement:
    """The element holding the article: <article>, else <main> or role=main, else <body>."""
    for path in ("//article", "//main", "//*[@role='main']", "//body"):
        found = root.xpath(path)
        if found:
            return found[0]
    return root


def element_text(element: HtmlElement) -> str:
    """Visible text of an element, one line per block, whitespace collapsed within lines."""
    for el in element.iter(*_BLOCKS, "br"):
        if el.tag == "br":
            el.tail = "\n" + (el.tail or "")
        else:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
    lines = (_SPACES.sub(" ", line).strip() for line in element.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def html_to_text(markup: str | HtmlElement | None, whole_document: bool = False) -> str:
    """Clean text of an HTML page or fragment: the article's text, without scripts, styles or navigation."""
    if markup is None:
        return ""
    root = parse_html(markup) if isinstance(markup, str) else markup
    if root is None:
        return ""
    _drop_unseen(root)
    return element_text(root if whole_document else article_container(root))
