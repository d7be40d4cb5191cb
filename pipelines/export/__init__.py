"""Export: one licensed feed per partner contract, delivered complete or not at all, never overwritten.

Layout (local folder or S3, the same keys): `<partner_id>/<feed>/<logical_date>/works.jsonl`, then
`manifest.json` (files, row counts, sha256) written last: a partner reads a delivery only once its manifest
is there. A contract naming `formats` gets a file per format (`works.jsonl`, `works.csv`, `works.parquet`) and
`works.schema.json` (`pipelines.export.formats`) before the manifest. A feed whose quality gate failed is not written; the ledger says why. Rows that break a partner's
contract are withheld from that partner (`exports.withheld_rows`: work id and reason) and the rest delivered.

The gate's verdicts are read from `ops.quality_results`, the rows from `pipelines.partner_feed`: export does
not import the gate, and the gate does not import export.

Memory: bounded by `export_batch_rows` feed rows in Python (streamed from DuckDB into the delivery file, its
sha256 computed on the way), one S3 part when uploading, and DuckDB's `query_memory_limit` for the feed's
sort and joins (spilled beyond it). Withheld rows go from SQL to `exports.withheld_rows` without Python.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import BinaryIO

from pipelines.export.targets import AlreadyExists, target_for
from pipelines.kansei import model_version
from pipelines.kansei.config import load_taxonomy
from pipelines.partner_feed import PartnerFeed, partner_feed
from pipelines.registry import PartnerContract, load_partners
from pipelines.settings import MsdbSettings, delivery_date
from pipelines.warehouse import writer


class DeliveryConflict(RuntimeError):
    """A half-written delivery with different content is in the way; a human must look."""


@dataclass
class Delivery:
    partner_id: str
    feed: str
    status: str  # delivered, already_delivered, blocked
    uri: str
    rows: int = 0
    reason: str | None = None
    withheld: int = 0  # rows held back from this partner (listed in exports.withheld_rows)


@dataclass
class ExportSummary:
    deliveries: list[Delivery] = field(default_factory=list)


def labelled_row(row: dict, labels: dict[str, tuple[str, str]]) -> dict:
    """A works-feed row as delivered: each kansei tag with its English and Japanese label."""
    row = dict(row)
    # Both labels always (from the taxonomy when the row lacks them), then what the row carries of weight,
    # primary and evidence.
    row["kansei_tags"] = [
        {
            "tag_id": t["tag_id"],
            "label_en": t.get("label_en") or labels[t["tag_id"]][0],
            "label_ja": t.get("label_ja") or labels[t["tag_id"]][1],
            "score": t["score"],
            **{key: t[key] for key in ("tag_type", "weight", "is_primary", "evidence") if key in t},
        }
        for t in row["kansei_tags"]
    ]
    return row


def _jsonl_line(row: dict, labels: dict[str, tuple[str, str]]) -> str:
    return json.dumps(labelled_row(row, labels), ensure_ascii=False, default=str, separators=(",", ":")) + "\n"


def write_jsonl(fh: BinaryIO, con, feed: PartnerFeed, labels: dict[str, tuple[str, str]], batch_rows: int) -> dict:
    """Stream the feed's rows into `fh` as JSON Lines, batch by batch; returns the manifest's file entry."""
    digest = hashlib.sha256()
    rows = size = 0
    for batch in feed.batches(con, batch_rows):
        chunk = "".join(_jsonl_line(row, labels) for row in batch).encode("utf-8")
        fh.write(chunk)
        digest.update(chunk)
        rows += len(batch)
        size += len(chunk)
    return {"name": "works.jsonl", "rows": rows, "bytes": size, "sha256": digest.hexdigest()}


def _row_count(files: list[dict]) -> int:
    """A delivery's rows: each format's file holds them all (the schema file none)."""
    return max((f["rows"] for f in files), default=0)


def _manifest(contract: PartnerContract, logical_date: date, files: list[dict], version: str) -> bytes:
    manifest = {
        "partner_id": contract.partner_id,
        "feed": contract.feed,
        "logical_date": logical_date.isoformat(),
        "delivery_date": delivery_date(logical_date).isoformat(),
        "delivery_type": "full",
        "files": files,
        "row_count": _row_count(files),
        "model_version": version,
    }
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _put_feed(target, key: str, write) -> dict:
    """Write a data file through `write(fh)` (which returns its file entry); an identical leftover from an
    interrupted attempt is accepted, a different one is not."""
    entry: dict = {}
    try:
        with target.writing(key) as fh:
            entry = write(fh)
    except AlreadyExists as exc:
        if not entry or target.sha256(key) != entry["sha256"]:
            raise DeliveryConflict(f"{exc} exists with other content and no manifest") from exc
    return entry


def _delivery_files(target, prefix: str):
    """`open_file` for `pipelines.export.formats.write_feed` over a delivery target: each file appears whole and
    only if absent; an identical leftover of an interrupted attempt is accepted, a different one is not."""
    from pipelines.export.formats import CountingWriter

    @contextmanager
    def open_file(name: str) -> Iterator[BinaryIO]:
        key = f"{prefix}/{name}"
        written = None
        try:
            with target.writing(key) as fh:
                written = CountingWriter(fh)
                yield written
        except AlreadyExists as exc:
            if written is None or target.sha256(key) != written.digest.hexdigest():
                raise DeliveryConflict(f"{exc} exists with other content and no manifest") from exc

    return open_file


def blocked_for(con, logical_date: date) -> set[str]:
    """Feeds and partners the quality gate held back for that logical date."""
    rows = con.execute(
        "SELECT DISTINCT unnest(blocks) FROM ops.quality_results WHERE logical_date = ? AND NOT success", [logical_date]
    ).fetchall()
    return {r[0] for r in rows}


def _record_withheld(con, feed: PartnerFeed, logical_date: date) -> int:
    """The rows held back from this partner's delivery of that date, replacing any earlier attempt's list;
    returns how many."""
    contract = feed.contract
    con.execute(
        "DELETE FROM exports.withheld_rows WHERE partner_id = ? AND feed = ? AND logical_date = ?",
        [contract.partner_id, contract.feed, logical_date],
    )
    inserted = con.execute(
        "INSERT INTO exports.withheld_rows (partner_id, feed, logical_date, delivery_date, work_id, reason, recorded_at) "
        f"SELECT ?, ?, ?, ?, work_id, reason, ? FROM ({feed.withheld_sql})",
        [contract.partner_id, contract.feed, logical_date, feed.delivery_date, datetime.now(UTC)],
    ).fetchone()
    return inserted[0] if inserted else 0


def deliver_partner(con, settings: MsdbSettings, contract: PartnerContract, logical_date: date, target, blocked) -> Delivery:
    prefix = f"{contract.partner_id}/{contract.feed}/{logical_date.isoformat()}"
    manifest_key = f"{prefix}/manifest.json"
    held = sorted({contract.feed, f"partner:{contract.partner_id}"} & blocked)
    if held:
        return Delivery(contract.partner_id, contract.feed, "blocked", target.uri(prefix), reason=f"quality gate failed: {', '.join(held)}")
    if target.exists(manifest_key):
        return Delivery(contract.partner_id, contract.feed, "already_delivered", target.uri(manifest_key))
    if contract.feed == "ad_matches":
        return _deliver_ad_matches(con, settings, contract, logical_date, target, prefix)
    if contract.feed != "works":
        return Delivery(contract.partner_id, contract.feed, "blocked", target.uri(prefix), reason=f"feed {contract.feed!r} is not produced yet")
    taxonomy = load_taxonomy(settings.models_dir)
    labels = {t.id: (t.label_en, t.label_ja) for t in taxonomy.tags}
    feed = partner_feed(con, contract, delivery_date(logical_date)).materialised(con, "export_partner_feed")
    if contract.formats and contract.formats != ["jsonl"]:
        from pipelines.export.feed_schema import WORKS
        from pipelines.export.formats import write_feed

        batches = ([labelled_row(row, labels) for row in batch] for batch in feed.batches(con, settings.export_batch_rows))
        files = [spec.entry() for spec in write_feed(batches, WORKS, contract.formats, _delivery_files(target, prefix))]
    else:
        files = [
            _put_feed(
                target, f"{prefix}/works.jsonl", lambda fh: write_jsonl(fh, con, feed, labels, settings.export_batch_rows)
            )
        ]
    target.put_new(manifest_key, _manifest(contract, logical_date, files, model_version(settings)))
    withheld = _record_withheld(con, feed, logical_date)
    return Delivery(contract.partner_id, contract.feed, "delivered", target.uri(manifest_key), rows=_row_count(files), withheld=withheld)


def _deliver_ad_matches(con, settings: MsdbSettings, contract: PartnerContract, logical_date: date, target, prefix: str) -> Delivery:
    """An ad platform's feed: the night's article → creative matches (`pipelines.ads.feed`)."""
    from pipelines.ads.feed import FEED_FILE, feed_model_version, write_ad_matches

    if contract.formats and contract.formats != ["jsonl"]:
        from pipelines.ads.feed import ad_match_batches
        from pipelines.export.feed_schema import AD_MATCHES
        from pipelines.export.formats import write_feed

        batches = ad_match_batches(con, logical_date, settings.export_batch_rows)
        files = [spec.entry() for spec in write_feed(batches, AD_MATCHES, contract.formats, _delivery_files(target, prefix))]
    else:
        files = [
            _put_feed(
                target, f"{prefix}/{FEED_FILE}", lambda fh: write_ad_matches(fh, con, logical_date, settings.export_batch_rows)
            )
        ]
    manifest_key = f"{prefix}/manifest.json"
    target.put_new(manifest_key, _manifest(contract, logical_date, files, feed_model_version(con, logical_date)))
    return Delivery(contract.partner_id, contract.feed, "delivered", target.uri(manifest_key), rows=_row_count(files))


def _ledger_row(delivery: Delivery, target, contract: PartnerContract, logical_date: date) -> list:
    """What the ledger keeps: for a delivery (new or found), its manifest's hash, files and row count."""
    manifest = b""
    if delivery.status != "blocked":
        manifest = target.read(f"{contract.partner_id}/{contract.feed}/{logical_date.isoformat()}/manifest.json")
    files = json.loads(manifest)["files"] if manifest else []
    return [
        contract.partner_id,
        contract.feed,
        logical_date,
        delivery_date(logical_date),
        delivery.uri,
        hashlib.sha256(manifest).hexdigest() if manifest else "",
        json.dumps(files),
        _row_count(files),
        delivery.status,
        delivery.reason,
        datetime.now(UTC),
    ]


def run_export(settings: MsdbSettings, logical_date: date, partner_id: str | None = None) -> ExportSummary:
    """Delivers each partner's feed of the logical date (`partner_id`: only that partner's)."""
    target = target_for(settings.deliver, settings.s3_endpoint_url, settings.s3_region)
    summary = ExportSummary()
    with writer(settings.warehouse) as con:
        if settings.query_memory_limit:
            con.execute(f"SET memory_limit = '{settings.query_memory_limit}'")
        blocked = blocked_for(con, logical_date)
        for contract in load_partners(settings.partners_dir):
            if partner_id is not None and contract.partner_id != partner_id:
                continue
            delivery = deliver_partner(con, settings, contract, logical_date, target, blocked)
            summary.deliveries.append(delivery)
            con.execute(
                "INSERT INTO exports.delivery_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _ledger_row(delivery, target, contract, logical_date),
            )
    return summary
