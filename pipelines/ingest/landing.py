"""Finding delivered files: <landing>/<kind>/<holder_id>/.../<file>, read-only."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KINDS = ("music", "video", "articles", "ads")
# Kinds that may land but have no reader yet. Their files are left untouched, neither recorded nor quarantined,
# so the night that brings a reader loads them as new files. (Ad creatives have had theirs since issue 12.)
AWAITING_READER: tuple[str, ...] = ()
IGNORED_NAMES = {"README.md", "LICENSE.txt", ".DS_Store"}


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative_path: str
    kind: str
    holder_id: str | None  # None when the file sits directly under <kind>/

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
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            parts = path.relative_to(root).parts
            if any(part.startswith(".") for part in parts) or path.name in IGNORED_NAMES:
                continue
            holder_id = parts[0] if len(parts) > 1 else None
            yield LandedFile(path, path.relative_to(landing).as_posix(), kind, holder_id)


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
