"""Export: one licensed feed per partner contract, delivered complete or not at all, never overwritten.

Layout (local folder or S3, the same keys): `<partner_id>/<feed>/<logical_date>/works.jsonl`, then
`manifest.json` (files, row counts, sha256) written last: a partner reads a delivery only once its manifest
is there. A feed whose quality gate failed is not written; the ledger says why. Rows that break a partner's
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


def _jsonl_line(row: dict, labels: dict[str, tuple[str, str]]) -> str:
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
    return json.dumps(row, ensure_ascii=False, default=str, separators=(",", ":")) + "\n"


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


def _manifest(contract: PartnerContract, logical_date: date, files: list[dict], version: str) -> bytes:
    manifest = {
        "partner_id": contract.partner_id,
        "feed": contract.feed,
        "logical_date": logical_date.isoformat(),
        "delivery_date": delivery_date(logical_date).isoformat(),
        "delivery_type": "full",
        "files": files,
        "row_count": sum(f["rows"] for f in files),
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
    if contract.feed != "works":
        return Delivery(contract.partner_id, contract.feed, "blocked", target.uri(prefix), reason=f"feed {contract.feed!r} is not produced yet")
    taxonomy = load_taxonomy(settings.models_dir)
    labels = {t.id: (t.label_en, t.label_ja) for t in taxonomy.tags}
    feed = partner_feed(con, contract, delivery_date(logical_date)).materialised(con, "export_partner_feed")
    entry = _put_feed(
        target, f"{prefix}/works.jsonl", lambda fh: write_jsonl(fh, con, feed, labels, settings.export_batch_rows)
    )
    target.put_new(manifest_key, _manifest(contract, logical_date, [entry], model_version(settings)))
    withheld = _record_withheld(con, feed, logical_date)
    return Delivery(contract.partner_id, contract.feed, "delivered", target.uri(manifest_key), rows=entry["rows"], withheld=withheld)


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
        sum(f["rows"] for f in files),
        delivery.status,
        delivery.reason,
        datetime.now(UTC),
    ]


def run_export(settings: MsdbSettings, logical_date: date) -> ExportSummary:
    target = target_for(settings.deliver, settings.s3_endpoint_url, settings.s3_region)
    summary = ExportSummary()
    with writer(settings.warehouse) as con:
        if settings.query_memory_limit:
            con.execute(f"SET memory_limit = '{settings.query_memory_limit}'")
        blocked = blocked_for(con, logical_date)
        for contract in load_partners(settings.partners_dir):
            delivery = deliver_partner(con, settings, contract, logical_date, target, blocked)
            summary.deliveries.append(delivery)
            con.execute(
                "INSERT INTO exports.delivery_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _ledger_row(delivery, target, contract, logical_date),
            )
    return summary
