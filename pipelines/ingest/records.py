"""What a format adapter yields while it streams through one delivered file."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.registry import Holder


@dataclass(frozen=True)
class HolderRef:
    """What a reader in another process needs of a holder (its id), without the registry's models."""

    id: str


class RejectedFile(Exception):
    """The whole file cannot be loaded (unknown format, unsafe XML, truncated...): it goes to quarantine."""


@dataclass(frozen=True)
class FileContext:
    path: Path  # absolute path to read
    relative_path: str  # path relative to the landing root, as recorded in provenance
    file_id: str  # sha256 of the bytes
    kind: str
    holder: Holder | HolderRef
    report_dir: Path | None = None  # where adapters that answer the sender (catalog template) write reports
    logical_date: date | None = None  # the night loading the file (ad creatives: a flight that has ended)

    def provenance(self, position: str) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_path": self.relative_path,
            "record_position": position,
            "holder_id": self.holder.id,
        }


@dataclass
class Record:
    """One logical record of a delivery (a release, a recording, a deal, a title, an article).

    A record may land as rows in several raw tables; it is loaded whole or not at all.
    """

    position: str
    rows: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True)
class Quarantined:
    """A record the adapter refused, with the reason a data engineer will read.

    kept: rows still loaded for what the refusal does not touch (a release refused for its ICPN keeps the
    links to its recordings, so that its deals still license them); the record counts as quarantined."""

    position: str
    reason: str
    kept: tuple[tuple[str, dict[str, Any]], ...] = ()


def failure_reason(exc: Exception) -> str:
    """The quarantine reason of a file whose reading failed with exc."""
    if isinstance(exc, RejectedFile | OSError):
        return str(exc)
    return f"reader error {type(exc).__name__}: {exc}"


@dataclass
class Tally:
    """What the readers of one file found so far: records found, loaded and refused."""

    found: int = 0
    loaded: int = 0
    rejected: list[Quarantined] = field(default_factory=list)

    def take(self, items: Iterable[Record | Quarantined], load: Callable[[Record], None]) -> None:
        """Count an adapter's items, handing every record to `load` and keeping every refusal."""
        for item in items:
            self.found += 1
            if isinstance(item, Quarantined):
                self.rejected.append(item)
                if item.kept:
                    load(Record(item.position, list(item.kept)))
            else:
                load(item)
                self.loaded += 1

    def add(self, other: Tally) -> None:
        self.found += other.found
        self.loaded += other.loaded
        self.rejected += other.rejected
