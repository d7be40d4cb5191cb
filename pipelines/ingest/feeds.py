"""Publisher feeds: RSS 2.0, Atom 1.0 (and 0.3) and RSS 1.0 (RDF), read with feedparser.

A feed that breaks off (bad markup, a stray '&', a truncated upload) keeps the entries that came complete
before the break: the document is cut after the last of them, its open elements are closed, and feedparser
reads that. The entries from the break on are quarantined, each with the line and the parser's message.
feedparser's own fallback (a lenient parser that reads through the damage) is not trusted: it turns broken
markup into plausible-looking but wrong entries.
"""

from __future__ import annotations

import re
import xml.sax
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from pipelines.ingest import xmlsafe
from pipelines.ingest.articles import ArticleDraft, ArticleRecords
from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile
from pipelines.text.html import decode_markup

FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")
PARALLEL_MIN_ENTRIES = 1_500  # a feed this long (an archive export) is analysed in worker processes
ATOM_10 = "http://www.w3.org/2005/Atom"
ATOM_03 = "http://purl.org/atom/ns#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
# feedparser's version names → the source_format recorded on each article.
SOURCE_FORMATS = {
    "rss20": "rss-2.0", "rss092": "rss-0.92", "rss091u": "rss-0.91", "rss091n": "rss-0.91", "rss093": "rss-0.93",
    "rss094": "rss-0.94", "rss": "rss", "rss10": "rss-1.0", "rss090": "rss-0.90", "atom10": "atom-1.0",
    "atom03": "atom-0.3", "atom02": "atom-0.2", "atom01": "atom-0.1", "atom": "atom",
}  # fmt: skip

_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]")
_ENTRY_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")
_XML_DECLARATION = re.compile(rb"^<\?xml[^>]*\?>")


def feed_format(path: Path) -> str:
    """'rss-2.0', 'atom-1.0', 'atom-0.3' or 'rss-1.0' from the root element, or RejectedFile."""
    namespace, root = xmlsafe.root_tag(path)
    if root == "rss":
        return "rss-2.0"
    if root == "feed" and namespace in (ATOM_10, ATOM_03):
        return "atom-1.0" if namespace == ATOM_10 else "atom-0.3"
    if root == "RDF" and namespace == RDF:
        return "rss-1.0"
    raise RejectedFile(
        f"not an RSS or Atom feed: root element {root!r} in namespace {namespace or '(none)'!r}"
    )


@dataclass(frozen=True)
class _Span:
    start: int
    end: int  # just after the entry's closing tag
    line: int


@dataclass(frozen=True)
class _Break:
    line: int
    column: int
    message: str
    offset: int


def parse(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    import feedparser

    xmlsafe.refuse_entity_declarations(path)
    decoded = decode_markup(path.read_bytes())
    # Re-encoded as UTF-8 so that the byte offsets below and every parser agree, with a UTF-8 declaration on
    # line 1 (in place of the original one): without it feedparser adds one on a line of its own and every
    # line number it reports would be one off.
    data = decoded.text.encode("utf-8")
    declaration = b'<?xml version="1.0" encoding="utf-8"?>'
    original = _XML_DECLARATION.match(data)
    data = declaration + data[original.end() if original else 0 :]
    shift = len(declaration) - (len(original.group()) if original else 0)  # columns of line 1 moved by this
    spans = _entry_spans(data)

    parsed = feedparser.parse(data, sanitize_html=False)
    broken = _break_of(parsed, data)
    if broken is not None and broken.line == 1:
        broken = replace(broken, column=broken.column - shift)
    kept = len(spans)
    if broken is not None:
        parsed, kept = _before_break(data, spans, broken)
    if broken is not None and kept == 0:
        raise RejectedFile(f"feed XML breaks before its first complete entry: {_describe(broken)}")
    if not parsed.get("version") and not parsed.get("entries"):
        raise RejectedFile("not an RSS or Atom feed")

    version = parsed.get("version") or ""
    source_format = SOURCE_FORMATS.get(version, version or "feed")
    feed_language = parsed.feed.get("language")
    lines = [span.line for span in spans[:kept]] if len(parsed.entries) == kept else []
    drafts = (
        (
            f"entry {index}" + (f" (line {lines[index - 1]})" if lines else ""),
            _draft(entry, source_format, feed_language, decoded.encoding),
        )
        for index, entry in enumerate(parsed.entries, start=1)
    )
    yield from ArticleRecords(ctx).stream(drafts, parallel=len(parsed.entries) >= PARALLEL_MIN_ENTRIES)
    if broken is None:
        return
    after = spans[kept:] if kept <= len(spans) else []
    for offset, span in enumerate(after, start=len(parsed.entries) + 1):
        yield Quarantined(
            f"entry {offset} (line {span.line})", f"feed XML is malformed from here: {_describe(broken)}"
        )
    if not after:
        yield Quarantined(
            f"line {broken.line}", f"feed XML is malformed after the last entry: {_describe(broken)}"
        )


def _describe(broken: _Break) -> str:
    return f"line {broken.line}, column {broken.column}: {broken.message}"


def _entry_spans(data: bytes) -> list[_Span]:
    spans = []
    position = 0
    while match := _ENTRY_START.search(data, position):
        end = _ENTRY_END.search(data, match.end())
        stop = end.end() if end else len(data) + 1  # an entry never closed ends after the document
        spans.append(_Span(match.start(), stop, data.count(b"\n", 0, match.start()) + 1))
        position = match.end()
    return spans


def _break_of(parsed, data: bytes) -> _Break | None:
    """Where strict XML parsing stopped, or None for a well-formed feed."""
    error = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not isinstance(error, xml.sax.SAXParseException):
        return None
    line, column = error.getLineNumber(), error.getColumnNumber()
    lines = data.split(b"\n")
    line_index = min(max(line, 1), len(lines)) - 1
    # the column counts characters: turn it into a byte offset within the line
    within = len(lines[line_index].decode("utf-8", errors="replace")[:column].encode("utf-8"))
    offset = sum(len(text) + 1 for text in lines[:line_index]) + within
    return _Break(line, column, error.getMessage(), offset)


def _before_break(data: bytes, spans: list[_Span], broken: _Break):
    """feedparser's reading of the document cut after the last entry that ended before the break, with the
    elements still open there closed; and how many entries that keeps. Entries are dropped from the end
    until the cut document is well-formed (a missing end tag is often reported far after the damage)."""
    import feedparser

    kept = sum(1 for span in spans if span.end <= broken.offset)
    while kept > 0:
        head = data[: spans[kept - 1].end]
        closing, unclosed_entry_line = _closing_tags(head)
        if unclosed_entry_line is not None:
            # an entry that never closed swallowed the ones after it: cut before it
            kept = min(kept - 1, sum(1 for span in spans if span.line < unclosed_entry_line))
            continue
        if closing is not None:
            parsed = feedparser.parse(head + closing, sanitize_html=False)
            if _break_of(parsed, head + closing) is None:
                return parsed, kept
        kept -= 1
    return feedparser.parse(b"", sanitize_html=False), 0


def _closing_tags(head: bytes) -> tuple[bytes | None, int | None]:
    """(end tags for the elements still open at the end of `head`, or None if `head` is not well-formed;
    the line of an item or entry still open there, if any)."""
    from lxml import etree

    parser = etree.XMLPullParser(
        events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    open_elements: list[tuple[str, str, int]] = []
    try:
        parser.feed(head)
        for event, element in parser.read_events():
            if event == "start":
                local = etree.QName(element).localname
                name = f"{element.prefix}:{local}" if element.prefix else local
                open_elements.append((name, local, element.sourceline))
            else:
                open_elements.pop()
    except etree.XMLSyntaxError:
        return None, None
    for _name, local, line in open_elements:
        if local in ("item", "entry"):
            return None, line
    return "".join(f"</{name}>" for name, _local, _line in reversed(open_elements)).encode("utf-8"), None


def _draft(entry, source_format: str, feed_language: str | None, encoding: str) -> ArticleDraft:
    content = _main_content(entry)
    body, body_type = (content.get("value"), content.get("type")) if content else (None, None)
    if not body:
        detail = entry.get("summary_detail") or {}
        body, body_type = entry.get("summary"), detail.get("type")
    link = entry.get("feedburner_origlink") or entry.get("link")
    entry_id = entry.get("id")
    if not link and entry_id and str(entry_id).startswith(("http://", "https://")):
        link = entry_id  # RSS 1.0 rdf:about, RSS 2.0 permalink guid
    tags = entry.get("tags") or []
    title_detail = entry.get("title_detail") or {}
    return ArticleDraft(
        source_format=source_format,
        url=link,
        title=entry.get("title"),
        body=body,
        body_is_html=None if body_type is None else body_type in ("text/html", "application/xhtml+xml"),
        category=(tags[0].get("term") if tags else None) or entry.get("category"),
        author=entry.get("author"),
        source_id=entry_id,
        language_declared=(content or {}).get("language") or title_detail.get("language") or feed_language,
        published_raw=_own(entry, "published") or _own(entry, "created") or _own(entry, "updated"),
        updated_raw=_own(entry, "updated") if _own(entry, "published") else None,
        source_encoding=encoding,
    )


def _own(entry, key: str):
    """entry[key] only if the feed gave it: feedparser answers 'updated' with 'published' when it is missing."""
    return dict.get(entry, key)


def _main_content(entry) -> dict | None:
    """The fullest content of an entry (Atom may carry several; RSS content:encoded lands here too)."""
    contents = [c for c in entry.get("content") or [] if c.get("value")]
    if not contents:
        return None
    return max(contents, key=lambda c: len(c.get("value") or ""))
