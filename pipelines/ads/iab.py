"""The IAB Tech Lab Content Taxonomy 3.x (CC BY 3.0), read from the file the `iab_taxonomy` setting names.

The taxonomy is third-party text and is not shipped: the workspace keeps it in ../shared/data/iab/ (the
default) and production mounts it (MSDB_IAB_TAXONOMY); models/iab/NOTICE.md says where to get it and how it
is attributed. Creatives name categories by the taxonomy's Unique ID; articles are classified into them. A
category matches its descendants: a creative for Sports (483) is about an article on Soccer (533).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

SOURCE = "https://github.com/InteractiveAdvertisingBureau/Taxonomies ('Content Taxonomies/Content Taxonomy 3.1.tsv')"


class IabTaxonomyMissing(FileNotFoundError):
    """The taxonomy file is not where the settings say; the message says what to set."""

    def __init__(self, path: Path):
        super().__init__(
            f"IAB Content Taxonomy {path} not found: set MSDB_IAB_TAXONOMY to the Content Taxonomy 3.1 TSV "
            f"(IAB Tech Lab, CC BY 3.0, from {SOURCE})"
        )


@dataclass(frozen=True)
class IabCategory:
    id: str
    parent: str | None
    name: str
    path: tuple[str, ...]  # tier 1 .. tier n names

    @property
    def tier(self) -> int:
        return len(self.path)

    @property
    def path_text(self) -> str:
        return " > ".join(self.path)


@dataclass(frozen=True)
class IabTaxonomy:
    version: str
    categories: dict[str, IabCategory]

    def __contains__(self, category_id: object) -> bool:
        return category_id in self.categories

    def ancestors(self, category_id: str) -> list[str]:
        """The category itself, then its parent, up to its tier-1 category."""
        chain = []
        current = self.categories.get(category_id)
        while current is not None and current.id not in chain:
            chain.append(current.id)
            current = self.categories.get(current.parent) if current.parent else None
        return chain

    def covers(self, category_id: str, other: str) -> bool:
        """category_id is other or one of its ancestors (Sports covers Soccer)."""
        return category_id in self.ancestors(other)

    def tier1(self, category_id: str) -> str:
        return self.ancestors(category_id)[-1]

    def descendants(self, category_id: str) -> list[str]:
        """The category itself and every category below it."""
        return self._below.get(category_id, [])

    @cached_property
    def _below(self) -> dict[str, list[str]]:
        below: dict[str, list[str]] = {cid: [] for cid in self.categories}
        for cid in self.categories:
            for above in self.ancestors(cid):
                below[above].append(cid)
        return below


def configured_iab() -> IabTaxonomy:
    """The taxonomy of the current settings (MSDB_IAB_TAXONOMY or msdb.toml, else the workspace's copy)."""
    from pipelines.settings import MsdbSettings

    return load_iab(MsdbSettings().iab_taxonomy)


@cache
def load_iab(path: Path) -> IabTaxonomy:
    """The taxonomy file: two header rows, then Unique ID, Parent, Name, Tier 1..4, Extension."""
    if not path.is_file():
        raise IabTaxonomyMissing(path)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    header = rows[0][0] if rows else ""
    if len(rows) < 3 or rows[1][:3] != ["Unique ID", "Parent", "Name"]:
        raise ValueError(f"{path}: not an IAB Content Taxonomy TSV (expected 'Unique ID, Parent, Name' on line 2)")
    categories = {}
    for row in rows[2:]:
        if not row or not row[0].strip():
            continue
        category_id = row[0].strip()
        path_names = tuple(name.strip() for name in row[3:7] if name.strip())
        categories[category_id] = IabCategory(category_id, row[1].strip() or None, row[2].strip(), path_names)
    # the version the file states ("Content Taxonomy v3.1 Tiered Categories"), else the one in its name
    stated = re.search(r"Content Taxonomy v?(\d+(?:\.\d+)*)", " ".join(rows[0])) or re.search(r"(\d+(?:\.\d+)+)", path.stem)
    version = stated.group(1) if stated else header
    return IabTaxonomy(version, categories)
