"""Ingest: landed files → raw tables, with provenance on every row and nothing lost.

Every file ends in `ops.ingest_files` with records found = loaded + quarantined; every record that is not
loaded is in `ops.quarantine` with its file, location and reason. A file is loaded in one transaction: a
file that breaks off half way leaves no half-loaded rows. A file already ingested (same sha256) is skipped;
a DDEX message already loaded from another file (same MessageId, MessageCreatedDateTime and sender: a resend
with a BOM or in another encoding) is recorded as `already_loaded`, its reason naming the earlier file, and
loads no row.

The run for D loads the files whose partition (`landing.partition_date`: their date folder, else the day they
arrived in Asia/Tokyo; `ops.ingest_files.partition_date`) is D or before; the others are `deferred`, neither
recorded nor quarantined, for the night of their date.

Hostile input ends in quarantine, never in a crash or in silently wrong rows (the corpus and what is decided
for each attack: tests/fixtures/adversarial/README.md): a file whose name, link or emptiness is refused is
quarantined from the landing scan without being opened (`landing.refusal_of`); one that changes while it is
read loads nothing and is read again on the next run; archives are refused whole (`formats.refuse_archive`).

Large DDEX messages are read by the loader and helper processes together (`helpers`, `ddex_parts`). The
loader itself is in `loader`; its entry points are importable from here, loaded on first use, so that a
helper process (which imports this package too) does without the loader's dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.ingest.loader import FileOutcome, IngestSummary, ingest_file, run_ingest, summary_json

__all__ = ["FileOutcome", "IngestSummary", "ingest_file", "run_ingest", "summary_json"]


def __getattr__(name: str):
    if name in __all__:
        from pipelines.ingest import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
