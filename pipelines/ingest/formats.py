"""Which adapter reads a landed file: by kind, then by extension, then by the XML root it declares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from pipelines.ingest import ad_creatives, adi, articles, catalog_template, ddex, ern3, mead, xmlsafe
from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile

Adapter = Callable[[Path, FileContext], Iterator[Record | Quarantined]]


def _music_xml(namespace: str | None, root: str) -> tuple[str, Adapter] | None:
    if ddex.accepts(namespace, root):
        return f"ddex-ern-{ddex.ERN4_NAMESPACES[namespace]}", ddex.parse
    if ern3.accepts(namespace, root):
        return f"ddex-ern-{ern3.ERN3_NAMESPACES[namespace]}", ern3.parse
    if mead.accepts(namespace, root):
        return f"ddex-mead-{mead.MEAD_NAMESPACES[namespace]}", mead.parse
    if namespace and namespace.startswith("http://ddex.net/xml/ern/"):
        raise RejectedFile(
            f"unknown DDEX ERN version: root {root!r} in namespace {namespace!r} (not ERN 3.4-3.8.2, 3.7 Draft 2 or 4.1-4.3)"
        )
    if namespace and namespace.startswith("http://ddex.net/xml/mead/"):
        raise RejectedFile(
            f"unknown DDEX MEAD version: root {root!r} in namespace {namespace!r} (only MEAD 1.0.1)"
        )
    return None


def _video_xml(namespace: str | None, root: str) -> tuple[str, Adapter] | None:
    if adi.accepts(namespace, root):
        return "adi-1.1", adi.parse
    if adi.accepts_adi3(namespace, root):
        return "adi-3.0", adi.parse_adi3
    return None


def resource_kinds(adapter: Adapter) -> tuple[str, ...] | None:
    """The ResourceList item kinds of an adapter that can read a message in parts (`part=`), else None."""
    if adapter is ddex.parse:
        return ddex.RESOURCE_KINDS
    if adapter is ern3.parse:
        return tuple(ern3.RESOURCE_PREFIXES)
    return None


def choose(kind: str, path: Path) -> tuple[str, Adapter]:
    """(format name, adapter) for a file, or RejectedFile saying what it is and why it is not read."""
    suffix = path.suffix.lower()
    if kind in ("music", "video") and suffix == ".xml":
        namespace, root = xmlsafe.root_tag(path)
        chosen = _music_xml(namespace, root) if kind == "music" else _video_xml(namespace, root)
        if chosen:
            return chosen
        raise RejectedFile(
            f"unknown {kind} XML: root element {root!r} in namespace {namespace or '(none)'!r}"
        )
    if kind in ("music", "video") and suffix in (".csv", ".jsonl"):
        return f"catalog-template-{suffix[1:]}", catalog_template.parse
    if kind == "articles":
        from pipelines.ingest import feeds

        if suffix == ".jsonl":
            return "articles-jsonl", articles.parse_jsonl
        if suffix == ".txt":
            return "livedoor-text", articles.parse_livedoor
        if suffix in (".html", ".htm"):
            return "html-page", articles.parse_html_page
        if suffix in feeds.FEED_SUFFIXES:
            return feeds.feed_format(path), feeds.parse
    if kind == "ads" and suffix == ".jsonl":
        return "ad-creatives-jsonl", ad_creatives.parse
    raise RejectedFile(f"no reader for {kind} files with extension {suffix or '(none)'!r}")
