"""Articles from publishers: JSON Lines dumps, the livedoor news corpus text format and HTML pages.

Every reader turns what it finds into an `ArticleDraft`; `ArticleRecords` gives each draft the same
treatment whatever its source: canonical URL, publish time as given and in UTC, language (ja / en / other),
body fingerprints for deduplication, and Japanese-aware tokens for the kansei lexicon and search keys.
One article lands as two rows: `raw.articles` (the article) and `raw.article_text` (its analysed text).
Feeds (RSS 2.0, Atom, RSS 1.0) are read by `pipelines.ingest.feeds` through the same `ArticleRecords`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

from pipelines.ingest.article_values import ArticleTime, article_time, canonical_url
from pipelines.ingest.landing import date_of_segment
from pipelines.ingest.records import FileContext, Quarantined, Record
from pipelines.ingest.values import unsafe_text
from pipelines.text.analysis import TextAnalysis, TextInput, analysed
from pipelines.text.html import decode, decode_markup, html_to_text, looks_like_html, parse_html

ARTICLES_TABLE = "raw.articles"
ARTICLE_TEXT_TABLE = "raw.article_text"
# Dumps from this size on (about 1,000 articles) are analysed in worker processes: starting them costs a second.
PARALLEL_MIN_BYTES = 2_000_000

# JSON Lines dumps name their fields in more than one way; the first present wins.
_JSON_FIELDS = {
    "url": ("url", "link", "canonical_url"),
    "title": ("title", "headline"),
    "body": ("body", "content", "html", "text", "description"),
    "published": ("published_at", "published", "date", "pubDate"),
    "updated": ("updated_at", "updated", "modified", "modified_at"),
    "category": ("category", "section"),
    "language": ("language", "lang"),
    "author": ("author", "byline"),
    "id": ("id", "guid", "article_id"),
}


@dataclass
class ArticleDraft:
    """What one source says about one article, before the shared rules apply."""

    source_format: str
    url: str | None
    title: str | None
    body: str | None
    body_is_html: bool | None = None  # None: HTML if it contains tags
    category: str | None = None
    author: str | None = None
    source_id: str | None = None
    language_declared: str | None = None
    published_raw: str | None = None
    updated_raw: str | None = None
    source_encoding: str | None = None


@dataclass
class _Checked:
    """A draft that passed the checks, with the values that need no text analysis."""

    position: str
    draft: ArticleDraft
    url: str
    canonical_url: str
    title: str | None
    body: str
    published: ArticleTime
    updated: ArticleTime
    flags: list[str]


class ArticleRecords:
    """Drafts of one delivered file → records, all stamped with the same ingest time."""

    def __init__(self, ctx: FileContext, now: datetime | None = None):
        self.ctx = ctx
        self.ingested_at = now or datetime.now(UTC)
        # (canonical URL, (published, updated) as given) → (position, title, hash(body)) of its first delivery
        self.seen: dict[tuple[str, tuple], tuple[str, str | None, int]] = {}

    def record(self, position: str, draft: ArticleDraft) -> Record | Quarantined:
        return next(self.stream([(position, draft)]))

    def stream(
        self, drafts: Iterable[tuple[str, ArticleDraft | Quarantined]], parallel: bool = False
    ) -> Iterator[Record | Quarantined]:
        """Records in delivery order; with `parallel`, text analysis runs in worker processes."""
        checked = (self._check(position, draft) for position, draft in drafts)
        items = ((item, self._text_input(item) if isinstance(item, _Checked) else None) for item in checked)
        for item, analysis in analysed(items, parallel):
            yield item if analysis is None else self._record(item, analysis)

    def _check(self, position: str, draft: ArticleDraft | Quarantined) -> _Checked | Quarantined:
        if isinstance(draft, Quarantined):
            return draft
        url = _one_line(draft.url)
        if not url:
            return Quarantined(position, "article without URL (no link, canonical link or http(s) id)")
        canonical = canonical_url(url)
        if canonical is None:
            return Quarantined(position, f"article URL {url!r} is not an http(s) URL")
        title = _one_line(
            html_to_text(draft.title, whole_document=True) if _is_html(draft.title) else draft.title
        )
        body = clean_body(draft.body, draft.body_is_html)
        if not title and not body:
            return Quarantined(position, "article without title and body")
        unsafe = unsafe_text("title", title, zero_width=False) or unsafe_text(
            "author", _one_line(draft.author), zero_width=False
        )
        if unsafe:
            return Quarantined(position, f"article {canonical}: {unsafe}")
        # One URL twice in a file: a new version (another update time) is kept for dbt to order; another title
        # or body under the same times is a contradiction no one can resolve, and the later one is refused.
        times = (_one_line(draft.published_raw), _one_line(draft.updated_raw))
        first = self.seen.setdefault((canonical, times), (position, title, hash(body)))
        if first[1:] != (title, hash(body)):
            return Quarantined(
                position,
                f"article {canonical} already delivered at {first[0]} of this file with the same publish and "
                f"update times but another {'title' if first[1] != title else 'body'}; which is right cannot be "
                "told, the first is kept",
            )
        zone = self.ctx.holder.timezone
        published = article_time(draft.published_raw, zone, self.ingested_at)
        updated = (
            article_time(draft.updated_raw, zone, self.ingested_at, field="updated_at")
            if _one_line(draft.updated_raw)
            else ArticleTime(None, None)
        )
        flags = [*published.flags, *updated.flags]
        if not body:
            flags.append("empty_body")
        if not title:
            flags.append("title_missing")
        return _Checked(position, draft, url, canonical, title, body, published, updated, flags)

    def _text_input(self, checked: _Checked) -> TextInput:
        declared = _one_line(checked.draft.language_declared) or self.ctx.holder.default_language
        return TextInput(checked.title, checked.body, declared)

    def _record(self, checked: _Checked, analysis: TextAnalysis) -> Record:
        draft, language = checked.draft, analysis.language
        flags = checked.flags + (["language_from_declaration"] if language.from_declaration else [])
        provenance = self.ctx.provenance(checked.position)
        article = provenance | {
            "url": checked.url,
            "canonical_url": checked.canonical_url,
            "source_id": _one_line(draft.source_id),
            "title": checked.title,
            "body": checked.body,
            "author": _one_line(draft.author),
            "language": language.language,
            "language_declared": _one_line(draft.language_declared),
            "language_detected": language.detected,
            "language_confidence": language.confidence,
            "category": _one_line(draft.category),
            "published_at_raw": checked.published.raw,
            "published_at": checked.published.utc,
            "updated_at_raw": checked.updated.raw,
            "updated_at": checked.updated.utc,
            "content_hash": analysis.content_hash,
            "minhash": analysis.minhash,
            "quality_flags": flags,
            "source_format": draft.source_format,
            "source_encoding": draft.source_encoding,
            "ingested_at": self.ingested_at,
        }
        text = provenance | {
            "canonical_url": checked.canonical_url,
            "language": language.language,
            "title_match_key": analysis.title_key,
            "sentences": analysis.sentences,
            "tokenizer": analysis.tokenizer,
            "tokens": analysis.tokens,
            "lemmas": analysis.lemmas,
            "search_keys": analysis.search_keys,
        }
        return Record(checked.position, [(ARTICLES_TABLE, article), (ARTICLE_TEXT_TABLE, text)])


def clean_body(body: str | None, is_html: bool | None = None) -> str:
    """Body text: HTML made clean text, lines stripped, empty lines dropped."""
    if not body:
        return ""
    if is_html or (is_html is None and _is_html(body)):
        return html_to_text(body, whole_document=True)
    lines = (" ".join(line.split()) for line in body.splitlines())
    return "\n".join(line for line in lines if line)


def _is_html(value: str | None) -> bool:
    return bool(value) and looks_like_html(value)


def _one_line(value) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _json_field(item: dict, name: str):
    for key in _JSON_FIELDS[name]:
        value = item.get(key)
        if value not in (None, ""):
            return value
    return None


def parse_jsonl(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    """One JSON object per line: url, title, body (text or HTML), published_at, category, language...

    A large dump (PARALLEL_MIN_BYTES and up) has its text analysed in worker processes.
    """
    parallel = path.stat().st_size >= PARALLEL_MIN_BYTES
    yield from ArticleRecords(ctx).stream(_jsonl_drafts(path), parallel=parallel)


def _jsonl_drafts(path: Path) -> Iterator[tuple[str, ArticleDraft | Quarantined]]:
    with path.open("rb") as fh:
        for line_number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            position = f"line {line_number}"
            try:
                item = json.loads(line.decode("utf-8-sig" if line_number == 1 else "utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield position, Quarantined(position, f"not a JSON object: {exc}")
                continue
            if not isinstance(item, dict):
                yield position, Quarantined(position, f"expected a JSON object, got {type(item).__name__}")
                continue
            body = _json_field(item, "body")
            yield (
                position,
                ArticleDraft(
                    source_format="jsonl",
                    url=_json_field(item, "url"),
                    title=_json_field(item, "title"),
                    body=body
                    if body is None or isinstance(body, str)
                    else json.dumps(body, ensure_ascii=False),
                    category=_json_field(item, "category"),
                    author=_json_field(item, "author"),
                    source_id=_json_field(item, "id"),
                    language_declared=_json_field(item, "language"),
                    published_raw=_text_or_none(_json_field(item, "published")),
                    updated_raw=_text_or_none(_json_field(item, "updated")),
                    source_encoding="utf-8",
                ),
            )


def _text_or_none(value) -> str | None:
    return None if value is None else str(value)


def parse_livedoor(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    """Line 1 URL, line 2 timestamp with offset, line 3 title, then the body; category is the folder name.

    UTF-8 as the corpus ships, or Shift_JIS / EUC-JP as older exports are; a file directly in the
    publisher's folder, or directly in a date folder, has no category.
    """
    decoded = decode(path.read_bytes())
    lines = decoded.text.splitlines()
    if len(lines) < 3 or not lines[0].strip():
        yield Quarantined("file", "livedoor article needs URL, timestamp and title lines")
        return
    # articles/<publisher>/[<date>/]<category>/<file>: a date folder is the file's partition, not a category
    in_category_folder = len(Path(ctx.relative_path).parts) > 3 and date_of_segment(path.parent.name) is None
    draft = ArticleDraft(
        source_format="livedoor",
        url=lines[0],
        published_raw=lines[1],
        title=lines[2],
        body="\n".join(lines[3:]),
        category=path.parent.name if in_category_folder else None,
        source_encoding=decoded.encoding,
    )
    yield ArticleRecords(ctx).record("line 1", draft)


def parse_html_page(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    """One article page: canonical link, Open Graph and article:* meta tags, <time>, and the article text."""
    decoded = decode_markup(path.read_bytes())
    root = parse_html(decoded.text)
    if root is None:
        yield Quarantined("document", "empty HTML page")
        return
    page_url = _meta(root, "og:url")
    canonical = _first(root.xpath("//link[translate(@rel, 'CANONICAL', 'canonical')='canonical']/@href"))
    url = urljoin(page_url, canonical) if page_url and canonical else canonical or page_url
    draft = ArticleDraft(
        source_format="html",
        url=url,
        title=_meta(root, "og:title")
        or _first(root.xpath("//title/text()"))
        or _first(root.xpath("//h1//text()")),
        body=None,
        category=_meta(root, "article:section"),
        author=_meta(root, "author", "article:author"),
        language_declared=_first(root.xpath("/html/@lang")) or _meta(root, "content-language"),
        published_raw=_meta(root, "article:published_time", "datePublished", "pubdate", "publishdate", "date")
        or _first(root.xpath("//time/@datetime")),
        updated_raw=_meta(root, "article:modified_time", "og:updated_time", "dateModified"),
        source_encoding=decoded.encoding,
    )
    draft.body, draft.body_is_html = html_to_text(root), False  # last: cleaning strips the page's tree
    yield ArticleRecords(ctx).record("document", draft)


def _first(values: list) -> str | None:
    for value in values:
        text = _one_line(value)
        if text:
            return text
    return None


def _meta(root, *names: str) -> str | None:
    """content of the first <meta property|name|itemprop|http-equiv=NAME> among `names` (case-insensitive)."""
    lower = "translate(@{attr}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
    for name in names:
        for attr in ("property", "name", "itemprop", "http-equiv"):
            found = _first(root.xpath(f"//meta[{lower.format(attr=attr)}=$name]/@content", name=name.lower()))
            if found:
                return found
        if name in ("datePublished", "dateModified"):
            found = _first(root.xpath("//*[@itemprop=$name]/@datetime", name=name))
            if found:
                return found
    return None
