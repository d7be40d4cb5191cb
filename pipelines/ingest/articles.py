"""Articles from publishers: JSON Lines dumps and the livedoor news corpus text format.

Publish times are kept as given and in UTC; a time without an offset is read in the publisher's zone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile
from pipelines.ingest.values import parse_timestamp

REQUIRED = ("url", "title", "body")


def _published_utc(raw: str | None, ctx: FileContext) -> datetime | None:
    stamp = parse_timestamp(raw)
    if stamp is None:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=ZoneInfo(ctx.holder.timezone))
    return stamp.astimezone(UTC)


def _row(ctx: FileContext, position: str, item: dict, source_format: str) -> Record | Quarantined:
    missing = [name for name in REQUIRED if not str(item.get(name) or "").strip()]
    if missing:
        return Quarantined(position, f"article without {', '.join(missing)}")
    raw_time = item.get("published_at")
    published = _published_utc(raw_time, ctx)
    if raw_time and published is None:
        return Quarantined(position, f"unreadable published_at {raw_time!r}")
    row = ctx.provenance(position) | {
        "url": str(item["url"]).strip(),
        "title": str(item["title"]).strip(),
        "body": str(item["body"]).strip(),
        "language": item.get("language") or ctx.holder.default_language,
        "category": item.get("category"),
        "published_at_raw": raw_time,
        "published_at": published,
        "source_format": source_format,
    }
    return Record(position, [("raw.articles", row)])


def parse_jsonl(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    with path.open("rb") as fh:
        for line_number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            position = f"line {line_number}"
            try:
                item = json.loads(line.decode("utf-8-sig" if line_number == 1 else "utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield Quarantined(position, f"not a JSON object: {exc}")
                continue
            if not isinstance(item, dict):
                yield Quarantined(position, f"expected a JSON object, got {type(item).__name__}")
                continue
            yield _row(ctx, position, item, "jsonl")


def parse_livedoor(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    """Line 1 URL, line 2 timestamp with offset, line 3 title, then the body; category is the folder name."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise RejectedFile(f"not UTF-8 text: {exc}") from exc
    if len(lines) < 3:
        yield Quarantined("file", "livedoor article needs URL, timestamp and title lines")
        return
    item = {
        "url": lines[0].strip(),
        "published_at": lines[1].strip(),
        "title": lines[2].strip(),
        "body": "\n".join(line for line in lines[3:] if line.strip()),
        "category": path.parent.name,
    }
    yield _row(ctx, "line 1", item, "livedoor")
