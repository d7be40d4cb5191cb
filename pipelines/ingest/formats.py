"""Which adapter reads a landed file: by kind, then by extension, then by the XML root it declares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from pipelines.ingest import adi, articles, ddex, xmlsafe
from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile

Adapter = Callable[[Path, FileContext], Iterator[Record | Quarantined]]


def choose(kind: str, path: Path) -> tuple[str, Adapter]:
    """(format name, adapter) for a file, or RejectedFile saying what it is and why it is not read."""
    suffix = path.suffix.lower()
    if kind in ("music", "video") and suffix == ".xml":
        namespace, root = xmlsafe.root_tag(path)
        if kind == "music" and ddex.accepts(namespace, root):
            return f"ddex-ern-{ddex.ERN4_NAMESPACES[namespace]}", ddex.parse
        if kind == "video" and adi.accepts(namespace, root):
            return "adi-1.1", adi.parse
        raise RejectedFile(f"unknown {kind} XML: root element {root!r} in namespace {namespace or '(none)'!r}")
    if kind == "articles":
        if suffix == ".jsonl":
            return "articles-jsonl", articles.parse_jsonl
        if suffix == ".txt":
            return "livedoor-text", articles.parse_livedoor
    raise RejectedFile(f"no reader for {kind} files with extension {suffix or '(none)'!r}")
