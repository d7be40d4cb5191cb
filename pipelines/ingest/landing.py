"""Finding delivered files: <landing>/<kind>/<holder_id>/.../<file>, read-only."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

KINDS = ("music", "video", "articles", "ads")
# Kinds that may land but have no reader yet. Their files are left untouched, neither recorded nor quarantined,
# so the night that brings a reader loads them as new files. (Ad creatives have had theirs since issue 12.)
AWAITING_READER: tuple[str, ...] = ()
IGNORED_NAMES = {"README.md", "LICENSE.txt", ".DS_Store"}
# Arrival times become dates in the business time zone (that of `pipelines.settings.BUSINESS_TZ`; not imported
# from there so that the DAG's parse stays free of pydantic).
ARRIVAL_TZ = ZoneInfo("Asia/Tokyo")
_DATE_SEGMENT = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


def date_of_segment(segment: str) -> date | None:
    """The date a path segment names: `2026-11-25` or `20261125` (a real calendar date), else None."""
    match = _DATE_SEGMENT.fullmatch(segment)
    if match is None or (len(segment) == 10) != ("-" in segment):
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def partition_date(relative_path: str, mtime_ns: int | None) -> date | None:
    """The logical date a landed file belongs to: the date folder it lies in below its holder's folder
    (`music/tsukiyo/2026-11-25/x.xml`, or `.../20261125/...`; the innermost when there are several), or a file
    named after its date (`articles/harbour-review/2026-11-24.jsonl`); else the day it arrived, its modification
    time as a date in Asia/Tokyo. The run for D ingests the files of D and before, and leaves the others for
    their night."""
    parts = PurePosixPath(relative_path).parts  # <kind>/<holder_id>/.../<file>
    for segment in reversed([*parts[2:-1], PurePosixPath(parts[-1]).stem] if len(parts) > 2 else []):
        named = date_of_segment(segment)
        if named is not None:
            return named
    if mtime_ns is None:
        return None
    return datetime.fromtimestamp(mtime_ns / 1e9, ARRIVAL_TZ).date()


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative_path: str
    kind: str
    holder_id: str | None  # None when the file sits directly under <kind>/
    # What the landing scan saw: a file whose size or modification time differs once it has been read was
    # being written meanwhile (an upload in progress) and is not loaded (`changed_since_scan`).
    size: int | None = None
    mtime_ns: int | None = None
    refusal: str | None = None  # why the file is not even opened (see `refusal_of`)
    partition_date: date | None = None  # the logical date it belongs to (see `partition_date`)

    def changed_since_scan(self) -> str | None:
        """How the file differs now from what the landing scan saw, or None."""
        if self.size is None:
            return None
        try:
            now = self.path.stat()
        except OSError as exc:
            return f"it can no longer be read ({exc.strerror})"
        if (now.st_size, now.st_mtime_ns) == (self.size, self.mtime_ns):
            return None
        return f"size {self.size} → {now.st_size} bytes, modified {self.mtime_ns} → {now.st_mtime_ns} (ns)"

    @property
    def source(self) -> str:
        """`<kind>/<holder_id>` (or `<kind>` for a file directly under it): what one Airflow ingest task loads."""
        return f"{self.kind}/{self.holder_id}" if self.holder_id else self.kind


def discover(landing: Path) -> Iterator[LandedFile]:
    """Every file under a kind folder, in a stable order so that runs are reproducible."""
    for kind in KINDS:
        if kind in AWAITING_READER:
            continue
        root = landing / kind
        if not root.is_dir():
            continue
        # A folder that is a link is not descended into: it is listed itself, and refused if it leads outside.
        for path in sorted(p for p in root.rglob("*") if p.is_file() or (p.is_symlink() and p.is_dir())):
            parts = path.relative_to(root).parts
            if any(part.startswith(".") for part in parts) or path.name in IGNORED_NAMES:
                continue
            holder_id = parts[0] if len(parts) > 1 else None
            stat = path.stat() if path.is_file() else path.lstat()
            refusal = refusal_of(landing, root, path, stat.st_size)
            if refusal is None and not path.is_file():
                continue  # a folder link within the landing: its files are found where they are
            yield LandedFile(
                path,
                path.relative_to(landing).as_posix(),
                kind,
                holder_id,
                stat.st_size,
                stat.st_mtime_ns,
                refusal,
                # a link arrived when it was made, whatever the age of the file it leads to
                partition_date(path.relative_to(landing).as_posix(), path.lstat().st_mtime_ns),
            )


def refusal_of(landing: Path, kind_root: Path, path: Path, size: int) -> str | None:
    """Why a landed file is quarantined without being opened (its content never read, not even hashed):
    - a name with control, bidirectional or zero-width characters (a newline in a name forges log and
      summary lines, a right-to-left override makes `evil\u202egpj.xml` look like `evilxml.jpg`);
    - a symbolic link, the file's or a folder's below `<kind>/`, that leads outside the landing: a holder who
      can upload a link could otherwise have ingest read (and quote in a reason) any file the pipeline can;
    - an empty file: nothing was delivered (often an upload that failed before its first byte).
    The kind folder itself may be a link (an operator's mount); links within the landing are followed."""
    from pipelines.ingest.values import unsafe_text

    relative = path.relative_to(landing).as_posix()
    bad_name = unsafe_text("file name", relative) or next(
        (f"file name {relative!r} contains a line break" for ch in relative if ch in "\n\r"), None
    )
    if bad_name:
        return f"{bad_name}; not read"
    inside = (landing.resolve(), kind_root.resolve())
    node = path
    while node != kind_root:
        if node.is_symlink():
            target = node.resolve()
            if not any(target.is_relative_to(root) for root in inside):
                return f"symbolic link {node.relative_to(landing).as_posix()!r} leads outside the landing; not read"
        node = node.parent
    if size == 0:
        return "empty file (0 bytes): nothing to read"
    return None


def landed_sources(landing: Path, declared: list[tuple[str, str]]) -> list[str]:
    """Every `<kind>/<holder_id>` a night may ingest: the declared holders of kinds that have a reader, and
    whatever else has files in the landing (an undeclared holder's files are quarantined by its own task)."""
    sources = {f"{kind}/{holder_id}" for kind, holder_id in declared if kind not in AWAITING_READER}
    sources |= {item.source for item in discover(landing)}
    return sorted(sources)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
