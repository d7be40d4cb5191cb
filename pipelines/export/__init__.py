"""Export: one licensed feed per partner contract, delivered complete or not at all, never overwritten.

Layout (local folder or S3, the same keys; the contract's `delivery_uri`, else `MSDB_DELIVER`):
`<partner_id>/<feed>/<logical_date>/works.jsonl`, then `manifest.json` written last (files, row counts,
sha256, schema and taxonomy versions, delivery type, sequence, cursor from/to), exclusively (S3
`If-None-Match: *`, a link on a folder): a partner reads a delivery only once its manifest is there, and a
published delivery is never replaced (a 412 is reported as `conflict`, unless it answers a retry of ours and
the object holds our bytes: `pipelines.export.targets`, which also bounds S3's timeouts and retries). A data
file without manifest and with other content in the way (`DeliveryConflict`) is a `conflict` of that feed
only: the other partners are delivered (README, "When a delivery is in conflict"). The partial files a killed
export left in a partner's folder are removed when that partner's export starts (`pipelines.partial_files`). A
feed whose quality gate failed is not written; the ledger says why. Rows that break a partner's contract are
withheld from that partner (`exports.withheld_rows`: work id and reason) and the rest delivered.

Deltas (`pipelines.export.deltas`): the first delivery of a partner feed is a full snapshot; later ones carry
each row with its `op` (add, update, delete) against what the partner holds (`exports.delivered_state`), so a
window that ends or a takedown is a `delete` the next night. `full=True` (`msdb export --full`) resyncs.
Circuit breaker: a delivery that would leave the partner no rows, or drop more than the contract's
`max_drop_share` of them, is `held` (not published) until approved (`msdb export --partner P --approve`).
Each published delivery is one ledger row (`exports.delivery_ledger`) and one `exports.rights_audit` row per
work delivered and licence window that allowed it. A partner acknowledges a delivery by dropping
`_ack.json` (`ACK_FILE`; optionally `{"manifest_sha256": "..."}`, which must then match) beside its manifest:
the next run moves it to `acknowledged`.

Every row of a works or ad-match delivery carries its `op`, in every format: JSON Lines always
(`<feed>.jsonl`); a contract naming other formats (`formatted`) gets each of them through
`pipelines.export.formats.write_feed`, `op` as the first column, with `<feed>.schema.json` (the feed's schema
`with_ops`). The ad-match feed is planned like the works feed, keyed by (article_id, creative_id) (`AD_MATCH_KEY`):
a full snapshot first, then deltas in which a match that disappeared is a `delete`. Ad matches are recomputed
each night from the campaigns in flight, so the circuit breaker watches works feeds only.

A music partner's contract may list `feeds: [mood_stations, mead]` (`deliver_music_feed`): each is delivered
beside the works feed, under `<partner_id>/<feed>/<logical_date>/`, once that date's works feed is published,
over the same works (`PartnerFeed.delivered_sql`), with its own manifest and ledger row. Both are full snapshots
each night: the mood stations in the contract's formats with `mood_stations.schema.json`, MEAD as one `mead.xml`
(sender: `MSDB_MEAD_SENDER_PARTY_ID`/`_NAME`; recipient: the contract's `mead:`).

An S3 delivery is written with the credentials its contract names (`pipelines.export.credentials`: environment
variables or an Airflow connection, never values in the contract); a reference that does not resolve blocks that
partner's feeds, with a reason naming the reference, and the other partners are delivered.

The gate's verdicts are read from `ops.quality_results`, the rows from `pipelines.partner_feed`: export does
not import the gate, and the gate does not import export.

Memory: bounded by `export_batch_rows` feed rows in Python (streamed from DuckDB to a spool file with each
row's sha256, read back by DuckDB into `export_current`; the operations are then streamed in batches into the
delivery files, their sha256 computed on the way), one S3 part when uploading, and DuckDB's `query_memory_limit`
for the feed's sort and joins (spilled beyond it). Withheld rows go from SQL to `exports.withheld_rows` without
Python.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import BinaryIO

from pipelines.export.credentials import CredentialsError, resolve
from pipelines.export.deltas import (
    AD_MATCH_KEY,
    DeltaPlan,
    commit_state,
    is_published,
    jsonl_body,
    op_lines,
    op_rows,
    plan_delta,
    plan_operations,
)
from pipelines.export.feed_schema import AD_MATCHES_OPS, WORKS_OPS
from pipelines.export.targets import AlreadyExists, S3Retry, target_for
from pipelines.kansei import model_version
from pipelines.kansei.config import load_taxonomy
from pipelines.partner_feed import PartnerFeed, partner_feed
from pipelines.registry import PartnerContract, load_partners
from pipelines.settings import MsdbSettings, delivery_date
from pipelines.warehouse import writer

log = logging.getLogger(__name__)

ACK_FILE = "_ack.json"  # dropped by the partner beside a delivery's manifest: the delivery is acknowledged
WORKS_FEED_SCHEMA_VERSION = WORKS_OPS.version  # 2.0: every row carries its `op` (add, update, delete)
OPS_SCHEMAS = {"works": WORKS_OPS, "ad_matches": AD_MATCHES_OPS}  # the feeds delivered as operations


class DeliveryConflict(RuntimeError):
    """A half-written delivery with different content is in the way (a data file without a manifest, left by an
    attempt on other data); a human must look. It stops that partner feed only (`_deliver_and_record`)."""


@dataclass
class Delivery:
    partner_id: str
    feed: str
    status: str  # delivered, already_delivered, blocked, held, conflict
    uri: str
    rows: int = 0
    reason: str | None = None
    withheld: int = 0  # rows held back from this partner (listed in exports.withheld_rows)
    delivery_type: str | None = None  # full or delta
    sequence: int | None = None
    cursor_from: date | None = None
    ops: dict[str, int] = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)  # the published manifest.json
    manifest_sha256: str = ""


@dataclass
class ExportSummary:
    deliveries: list[Delivery] = field(default_factory=list)
    acknowledged: list[tuple[str, str, date]] = field(default_factory=list)  # (partner, feed, logical date)
    removed: list = field(default_factory=list)  # partial files a killed export left in partner folders, removed

    @property
    def held(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status in ("held", "blocked", "conflict")]


def labelled_row(row: dict, labels: dict[str, tuple[str, str]]) -> dict:
    """A works-feed row as delivered: each kansei tag with its English and Japanese label."""
    return json.loads(jsonl_body(row, labels))


def _jsonl_line(row: dict, labels: dict[str, tuple[str, str]]) -> str:
    return jsonl_body(row, labels) + "\n"


def write_ops_jsonl(fh: BinaryIO, batches: Iterable[list[tuple[str, str, str]]], name: str = "works.jsonl") -> dict:
    """The delivery's rows as JSON Lines, `op` first."""
    digest = hashlib.sha256()
    rows = size = 0
    for batch in batches:
        chunk = "".join(line for _, _, line in batch).encode("utf-8")
        fh.write(chunk)
        digest.update(chunk)
        rows += len(batch)
        size += len(chunk)
    return {"name": name, "rows": rows, "bytes": size, "sha256": digest.hexdigest()}


def formatted(contract: PartnerContract) -> bool:
    """A contract naming formats beyond JSON Lines: every format and `<feed>.schema.json` (`pipelines.export.formats`)."""
    return bool(contract.formats) and contract.formats != ["jsonl"]


def _delivery_files(target, prefix: str, publish: bool = True):
    """`open_file` for `pipelines.export.formats.write_feed` over a delivery target: each file appears whole and
    only if absent; an identical leftover of an interrupted attempt is accepted, a different one is not. With
    publish=False nothing is written (the entries of a delivery already published, recomputed)."""
    from pipelines.export.formats import CountingWriter

    @contextmanager
    def open_file(name: str) -> Iterator[BinaryIO]:
        if not publish:
            yield _Discard()
            return
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


def _manifest(
    contract: PartnerContract, logical_date: date, files: list[dict], version: str, plan: DeltaPlan | None = None,
    taxonomy_version: str | None = None, row_count: int | None = None, feed: str | None = None,
) -> bytes:
    """What the partner reads first; no wall-clock time, so that a rerun of a date writes the same bytes."""
    manifest = {
        "partner_id": contract.partner_id,
        "feed": feed or contract.feed,
        "logical_date": logical_date.isoformat(),
        "delivery_date": delivery_date(logical_date).isoformat(),
        "delivery_type": plan.delivery_type if plan else "full",
        "files": files,
        "row_count": row_count if row_count is not None else _row_count(files),
        "model_version": version,
    }
    if plan is not None:
        manifest |= {
            "sequence": plan.sequence,
            "cursor": {"from": plan.cursor_from.isoformat() if plan.cursor_from else None, "to": plan.cursor_to.isoformat()},
            "ops": plan.ops,
            "partner_rows": plan.current_rows,
            "schema_version": OPS_SCHEMAS[plan.feed].version,
            "taxonomy_version": taxonomy_version,
            "acknowledge_with": ACK_FILE,
        }
    elif taxonomy_version is not None:
        manifest |= {"taxonomy_version": taxonomy_version, "acknowledge_with": ACK_FILE}
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _row_count(files: list[dict]) -> int:
    """A delivery's rows: each format's file holds them all (the schema file none)."""
    return max((f["rows"] for f in files), default=0)


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


class _Discard:
    """A file handle that keeps nothing: the entries of files already published, recomputed."""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


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


def _record_rights_audit(con, feed: PartnerFeed, plan: DeltaPlan, logical_date: date) -> None:
    """One row per work added or updated and licence window in force that allowed it (the materialised feed's
    `windows_in_force`, in the partner's territories)."""
    con.execute(
        """
        INSERT INTO exports.rights_audit
        SELECT ?, ?, ?, ?, ?, ops.row_key, ops.op, w.licence_window_id, w.territory, w.commercial_model, w.use_type,
               w.window_start, w.window_end, ?
        FROM export_ops AS ops
        JOIN (SELECT work_id, unnest(windows_in_force) AS w FROM export_partner_feed) AS windows ON windows.work_id = ops.row_key
        WHERE ops.op IN ('add', 'update')
        ORDER BY ops.row_key, w.territory, w.commercial_model, w.use_type, w.window_start
        """,
        [plan.partner_id, plan.feed, logical_date, feed.delivery_date, plan.sequence, datetime.now(UTC)],
    )


def circuit_breaker(plan: DeltaPlan, contract: PartnerContract) -> str | None:
    """Why this delivery must wait for a human (`--approve`), or None: it would leave the partner no rows, or
    drop more than the contract's `max_drop_share` of the rows it holds."""
    if plan.current_rows == 0:
        return f"would leave {contract.partner_id} 0 rows (it holds {plan.previous_rows}): held until approved"
    if plan.previous_rows and plan.dropped / plan.previous_rows > contract.max_drop_share:
        share = plan.dropped / plan.previous_rows
        return (
            f"would drop {plan.dropped} of {plan.previous_rows} rows ({share:.0%} > max_drop_share "
            f"{contract.max_drop_share:.0%}): held until approved"
        )
    return None


def _prefix(contract: PartnerContract, logical_date: date, feed: str | None = None) -> str:
    return f"{contract.partner_id}/{feed or contract.feed}/{logical_date.isoformat()}"


def plan_works_delivery(con, settings: MsdbSettings, contract: PartnerContract, logical_date: date, destination: str, full: bool = False):
    """The feed (materialised as `export_partner_feed`) and its delta plan (`export_ops`); writes nothing
    in the warehouse but temporary tables."""
    taxonomy = load_taxonomy(settings.models_dir)
    labels = {t.id: (t.label_en, t.label_ja) for t in taxonomy.tags}
    feed = partner_feed(con, contract, delivery_date(logical_date)).materialised(con, "export_partner_feed")
    plan = plan_delta(con, feed, logical_date, labels, settings.export_batch_rows, destination, full=full)
    return feed, plan, taxonomy.version


def plan_delivery(con, settings: MsdbSettings, contract: PartnerContract, logical_date: date, destination: str, full: bool = False):
    """(works feed or None, plan, taxonomy version or None, model version) of a works or ad-match delivery."""
    if contract.feed == "works":
        feed, plan, taxonomy_version = plan_works_delivery(con, settings, contract, logical_date, destination, full)
        return feed, plan, taxonomy_version, model_version(settings)
    from pipelines.ads.feed import ad_match_rows, feed_model_version

    rows = ad_match_rows(con, logical_date, settings.export_batch_rows)
    plan = plan_operations(con, contract, rows, logical_date, destination, full=full, key=AD_MATCH_KEY)
    return None, plan, None, feed_model_version(con, logical_date)


def _feed_files(target, prefix: str, contract: PartnerContract, con, plan: DeltaPlan, batch_rows: int, publish: bool) -> list[dict]:
    """The planned operations as the delivery's data files: `<feed>.jsonl`, or each of the contract's formats
    and the schema; with publish=False their entries only (nothing written)."""
    if formatted(contract):
        from pipelines.export.formats import write_feed

        batches = op_rows(con, batch_rows, plan.key)
        specs = write_feed(batches, OPS_SCHEMAS[contract.feed], contract.formats, _delivery_files(target, prefix, publish))
        return [spec.entry() for spec in specs]
    name = f"{contract.feed}.jsonl"
    if not publish:
        return [write_ops_jsonl(_Discard(), op_lines(con, batch_rows, plan.key), name)]
    return [_put_feed(target, f"{prefix}/{name}", lambda fh: write_ops_jsonl(fh, op_lines(con, batch_rows, plan.key), name))]


def deliver_partner(
    con, settings: MsdbSettings, contract: PartnerContract, logical_date: date, target, blocked,
    full: bool = False, approve: bool = False,
) -> Delivery:
    prefix = _prefix(contract, logical_date)
    manifest_key = f"{prefix}/manifest.json"
    held = sorted({contract.feed, f"partner:{contract.partner_id}"} & blocked)
    if held:
        return Delivery(contract.partner_id, contract.feed, "blocked", target.uri(prefix), reason=f"quality gate failed: {', '.join(held)}")
    if contract.feed not in OPS_SCHEMAS:
        return Delivery(contract.partner_id, contract.feed, "blocked", target.uri(prefix), reason=f"feed {contract.feed!r} is not produced yet")
    destination = target.uri("")
    if target.exists(manifest_key) and is_published(con, contract.partner_id, contract.feed, destination, logical_date):
        return Delivery(contract.partner_id, contract.feed, "already_delivered", target.uri(manifest_key))
    feed, plan, taxonomy_version, version = plan_delivery(con, settings, contract, logical_date, destination, full)
    delivery = Delivery(
        contract.partner_id, contract.feed, "delivered", target.uri(manifest_key), rows=plan.rows,
        delivery_type=plan.delivery_type, sequence=plan.sequence, cursor_from=plan.cursor_from, ops=plan.ops,
    )
    if target.exists(manifest_key):
        # published, but the run stopped before the ledger: the same plan again must be the manifest found
        files = _feed_files(target, prefix, contract, con, plan, settings.export_batch_rows, publish=False)
        manifest = _manifest(contract, logical_date, files, version, plan, taxonomy_version, plan.rows)
        if target.read(manifest_key) != manifest:
            delivery.status, delivery.reason = "conflict", f"{target.uri(manifest_key)} exists with other content; not overwritten"
            return delivery
        delivery.reason = "published by an earlier attempt; recorded now"
    else:
        # ad matches follow each night's campaigns: only a works feed is held by the circuit breaker
        breaker = circuit_breaker(plan, contract) if feed is not None else None
        if breaker and not approve:  # the rows withheld are listed all the same: they often say why the feed would shrink
            delivery.status, delivery.reason = "held", breaker
            delivery.withheld = _record_withheld(con, feed, logical_date)
            return delivery
        files = _feed_files(target, prefix, contract, con, plan, settings.export_batch_rows, publish=True)
        manifest = _manifest(contract, logical_date, files, version, plan, taxonomy_version, plan.rows)
        try:
            target.put_new(manifest_key, manifest)
        except AlreadyExists:
            delivery.status = "conflict"
            delivery.reason = f"{target.uri(manifest_key)} was published meanwhile (412 Precondition Failed); not overwritten"
            return delivery
        if breaker:
            delivery.reason = f"approved: {breaker}"
    delivery.manifest, delivery.manifest_sha256 = json.loads(manifest), hashlib.sha256(manifest).hexdigest()
    commit_state(con, plan, logical_date)
    if feed is not None:
        _record_rights_audit(con, feed, plan, logical_date)
        delivery.withheld = _record_withheld(con, feed, logical_date)
    return delivery


def deliver_music_feed(
    con, settings: MsdbSettings, contract: PartnerContract, feed_name: str, logical_date: date, target, works: Delivery
) -> Delivery:
    """A music partner's `mood_stations` or `mead` delivery of that date: a full snapshot over the works the
    partner receives that day (`PartnerFeed.delivered_sql`), published as the works feed is (data files, then
    `manifest.json` exclusively). Only once that day's works feed is published: a station or a MEAD entry never
    names a work the partner was not sent."""
    prefix = _prefix(contract, logical_date, feed_name)
    manifest_key = f"{prefix}/manifest.json"
    if works.status not in ("delivered", "already_delivered"):
        return Delivery(
            contract.partner_id, feed_name, "blocked", target.uri(prefix),
            reason=f"the works feed of {logical_date.isoformat()} is {works.status}, not published",
        )
    if target.exists(manifest_key):
        return Delivery(contract.partner_id, feed_name, "already_delivered", target.uri(manifest_key))
    taxonomy = load_taxonomy(settings.models_dir)
    delivered_sql = partner_feed(con, contract, delivery_date(logical_date)).delivered_sql
    open_file = _delivery_files(target, prefix)
    if feed_name == "mood_stations":
        from pipelines.export.mood_stations import write_mood_stations

        specs = write_mood_stations(con, delivered_sql, taxonomy.tags, contract.formats, open_file, settings.export_batch_rows)
        files = [spec.entry() for spec in specs]
    else:
        from pipelines.export.mead import MeadHeader, MeadVocabulary, Party, write_mead_feed

        assert contract.mead is not None  # the contract's validation requires it with mead
        header = MeadHeader.for_delivery(
            Party(settings.mead_sender_party_id, settings.mead_sender_name),
            Party(contract.mead.recipient_party_id, contract.mead.recipient_name or contract.name),
            contract.partner_id, logical_date, delivery_date(logical_date),
        )
        spec = write_mead_feed(
            con, delivered_sql, MeadVocabulary.from_taxonomy(taxonomy), header, open_file, settings.export_batch_rows
        )
        files = [spec.entry()]
    manifest = _manifest(contract, logical_date, files, model_version(settings), taxonomy_version=taxonomy.version, feed=feed_name)
    rows = _row_count(files)
    try:
        target.put_new(manifest_key, manifest)
    except AlreadyExists:
        return Delivery(
            contract.partner_id, feed_name, "conflict", target.uri(manifest_key), rows=rows,
            reason=f"{target.uri(manifest_key)} was published meanwhile (412 Precondition Failed); not overwritten",
        )
    return Delivery(
        contract.partner_id, feed_name, "delivered", target.uri(manifest_key), rows=rows, delivery_type="full",
        manifest=json.loads(manifest), manifest_sha256=hashlib.sha256(manifest).hexdigest(),
    )


def _ledger_row(delivery: Delivery, target, contract: PartnerContract, logical_date: date, run_id: str) -> list:
    """What the ledger keeps: for a delivery (new or found), its manifest's hash, files and row count."""
    content, manifest_sha256 = delivery.manifest, delivery.manifest_sha256
    if not content and delivery.status == "already_delivered":
        manifest = target.read(f"{_prefix(contract, logical_date, delivery.feed)}/manifest.json")
        content, manifest_sha256 = json.loads(manifest), hashlib.sha256(manifest).hexdigest()
    published = delivery.status == "delivered"
    cursor = content.get("cursor") or {}
    return [
        contract.partner_id,
        delivery.feed,
        logical_date,
        delivery_date(logical_date),
        delivery.uri,
        manifest_sha256,
        json.dumps(content.get("files", [])),
        content.get("row_count", delivery.rows if delivery.status == "held" else 0),
        delivery.status,
        delivery.reason,
        datetime.now(UTC),
        run_id,
        content.get("delivery_type", delivery.delivery_type),
        content.get("sequence", delivery.sequence if delivery.status != "blocked" else None),
        date.fromisoformat(cursor["from"]) if cursor.get("from") else delivery.cursor_from,
        logical_date,
        json.dumps(content.get("ops", delivery.ops)),
        datetime.now(UTC) if published else None,
        None,
        target.uri(""),
    ]


LEDGER_COLUMNS = (
    "partner_id, feed, logical_date, delivery_date, delivery_uri, manifest_sha256, files, row_count, status, reason, "
    "delivered_at, run_id, delivery_type, sequence, cursor_from, cursor_to, ops, published_at, acknowledged_at, destination"
)


def record_acknowledgements(con, target, contract: PartnerContract, feed: str | None = None) -> list[date]:
    """Published deliveries of this partner feed whose `_ack.json` is now there: `acknowledged`. An
    acknowledgement naming another manifest's sha256 is not this delivery's and is ignored."""
    feed = feed or contract.feed
    pending = con.execute(
        """
        SELECT DISTINCT logical_date, manifest_sha256 FROM exports.delivery_ledger
        WHERE partner_id = ? AND feed = ? AND destination = ? AND status = 'delivered' ORDER BY logical_date
        """,
        [contract.partner_id, feed, target.uri("")],
    ).fetchall()
    acknowledged = []
    for logical_date, manifest_sha256 in pending:
        key = f"{_prefix(contract, logical_date, feed)}/{ACK_FILE}"
        if not target.exists(key):
            continue
        try:
            ack = json.loads(target.read(key) or b"{}")
        except ValueError:
            continue
        if isinstance(ack, dict) and ack.get("manifest_sha256") not in (None, manifest_sha256):
            continue
        con.execute(
            """
            UPDATE exports.delivery_ledger SET status = 'acknowledged', acknowledged_at = ?
            WHERE partner_id = ? AND feed = ? AND destination = ? AND logical_date = ? AND status = 'delivered'
            """,
            [datetime.now(UTC), contract.partner_id, feed, target.uri(""), logical_date],
        )
        acknowledged.append(logical_date)
    return acknowledged


def _published_row(con, contract: PartnerContract, feed: str, destination: str, logical_date: date):
    """(manifest_sha256, published_at) of that date's published delivery in the ledger, or None."""
    return con.execute(
        """
        SELECT manifest_sha256, published_at FROM exports.delivery_ledger
        WHERE partner_id = ? AND feed = ? AND destination = ? AND logical_date = ? AND status IN ('delivered', 'acknowledged')
        ORDER BY published_at DESC NULLS LAST LIMIT 1
        """,
        [contract.partner_id, feed, destination, logical_date],
    ).fetchone()


def verified_or_out_of_order(con, target, contract: PartnerContract, feed: str, logical_date: date) -> Delivery | None:
    """What a run for a date other than the latest delivers: nothing new.

    A date whose delivery the ledger records as published is verified, not exported again: its manifest must
    still hash to the ledger's sha256 and each of its files to the manifest's (`already_delivered`, "unchanged"),
    else the delivery was altered and is reported as a `conflict`. So a re-run of D after D+1 ran reproduces
    D's feed byte for byte, rather than exporting D+1's catalog under D's name.

    A date never delivered while a later one was (a backfill of an old date after later nights ran) is refused
    (`blocked`): the marts, tags and neighbours hold the latest night's state, and a delivery sequenced after
    the later one would step the partner's state back. None: export as usual."""
    destination = target.uri("")
    prefix = _prefix(contract, logical_date, feed)
    manifest_key = f"{prefix}/manifest.json"
    published = _published_row(con, contract, feed, destination, logical_date)
    if published is not None:
        ledger_sha256, published_at = published
        if not target.exists(manifest_key):
            return Delivery(
                contract.partner_id, feed, "conflict", target.uri(manifest_key),
                reason=f"the ledger records {target.uri(manifest_key)} as published, but it is gone; not rewritten",
            )
        manifest = target.read(manifest_key)
        if hashlib.sha256(manifest).hexdigest() != ledger_sha256:
            return Delivery(
                contract.partner_id, feed, "conflict", target.uri(manifest_key),
                reason=f"{target.uri(manifest_key)} differs from the manifest the ledger recorded (sha256 {ledger_sha256[:12]}); not overwritten",
            )
        content = json.loads(manifest)
        for entry in content.get("files", []):
            key = f"{prefix}/{entry['name']}"
            if not target.exists(key) or target.sha256(key) != entry["sha256"]:
                return Delivery(
                    contract.partner_id, feed, "conflict", target.uri(key),
                    reason=f"{target.uri(key)} is missing or differs from its manifest's sha256; not overwritten",
                )
        when = f" on {published_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if published_at else ""
        return Delivery(
            contract.partner_id, feed, "already_delivered", target.uri(manifest_key),
            rows=content.get("row_count", 0), manifest=content, manifest_sha256=ledger_sha256,
            reason=f"published{when}; unchanged: the manifest and its {len(content.get('files', []))} file(s) match their sha256",
        )
    later = con.execute(
        """
        SELECT min(logical_date) FROM exports.delivery_ledger
        WHERE partner_id = ? AND feed = ? AND destination = ? AND logical_date > ? AND status IN ('delivered', 'acknowledged')
        """,
        [contract.partner_id, feed, destination, logical_date],
    ).fetchone()[0]
    if later is not None:
        return Delivery(
            contract.partner_id, feed, "blocked", target.uri(prefix),
            reason=(
                f"not exported: {logical_date.isoformat()} was never delivered and {contract.partner_id} already "
                f"holds the delivery of {later.isoformat()}; the warehouse holds a later night's catalog, which "
                f"would be delivered under {logical_date.isoformat()}'s name"
            ),
        )
    return None


def _contracts(settings: MsdbSettings, partners: Iterable[str] | None) -> list[PartnerContract]:
    contracts = load_partners(settings.partners_dir)
    if partners is None:
        return contracts
    wanted = set(partners)
    unknown = sorted(wanted - {c.partner_id for c in contracts})
    if unknown:
        raise ValueError(f"no contract for partner {', '.join(unknown)} in {settings.partners_dir}")
    return [c for c in contracts if c.partner_id in wanted]


def _target(settings: MsdbSettings, contract: PartnerContract):
    """The partner's delivery target; an S3 one with the credentials its contract names (`CredentialsError` when
    the reference does not resolve)."""
    credentials = (lambda ref=contract.credentials: resolve(ref)) if contract.credentials else None
    return target_for(
        contract.delivery_uri or settings.deliver, settings.s3_endpoint_url, settings.s3_region,
        S3Retry.from_settings(settings), credentials,
    )


class _Unreached:
    """Where a partner's delivery would have gone, for its ledger row when its target could not be built."""

    def __init__(self, root: str):
        self.root = root.rstrip("/")

    def uri(self, key: str) -> str:
        return f"{self.root}/{key}"


def _unreachable(con, summary: ExportSummary, settings: MsdbSettings, contract: PartnerContract, logical_date: date, run_id: str, reason: str) -> None:
    """Each feed of a partner whose target could not be built (credentials that do not resolve) is blocked,
    with its reason, in the summary and the ledger; the other partners are delivered."""
    target = _Unreached(contract.delivery_uri or settings.deliver)
    for feed_name in [contract.feed, *contract.feeds]:
        _deliver_and_record(
            con, summary, target, contract, logical_date, run_id, feed_name,
            lambda f=feed_name: Delivery(
                contract.partner_id, f, "blocked", target.uri(_prefix(contract, logical_date, f)), reason=reason
            ),
        )


def run_export(
    settings: MsdbSettings, logical_date: date, partner_id: str | None = None, full: bool = False,
    approve: bool = False, run_id: str | None = None, partners: Iterable[str] | None = None,
) -> ExportSummary:
    """Deliver every contract's feed (or `partner_id`'s, or those of `partners`) for `logical_date`; each
    partner's state, audit and ledger rows are one transaction, committed once its manifest is published."""
    if partner_id is not None:
        partners = [partner_id]
    run_id = run_id or uuid.uuid4().hex
    summary = ExportSummary()
    contracts = _contracts(settings, partners)
    with writer(settings.warehouse) as con:
        if settings.query_memory_limit:
            con.execute(f"SET memory_limit = '{settings.query_memory_limit}'")
        blocked = blocked_for(con, logical_date)
        for contract in contracts:
            try:
                target = _target(settings, contract)
            except CredentialsError as exc:
                _unreachable(con, summary, settings, contract, logical_date, run_id, str(exc))
                continue
            summary.removed += target.remove_abandoned(contract.partner_id)
            summary.acknowledged += [(contract.partner_id, contract.feed, d) for d in record_acknowledgements(con, target, contract)]
            works = _deliver_and_record(
                con, summary, target, contract, logical_date, run_id, contract.feed,
                lambda c=contract, t=target: deliver_partner(con, settings, c, logical_date, t, blocked, full=full, approve=approve),
            )
            for feed_name in contract.feeds:
                summary.acknowledged += [(contract.partner_id, feed_name, d) for d in record_acknowledgements(con, target, contract, feed_name)]
                _deliver_and_record(
                    con, summary, target, contract, logical_date, run_id, feed_name,
                    lambda c=contract, t=target, f=feed_name, w=works: deliver_music_feed(con, settings, c, f, logical_date, t, w),
                )
    return summary


def _deliver_and_record(
    con, summary: ExportSummary, target, contract: PartnerContract, logical_date: date, run_id: str, feed: str, deliver
) -> Delivery:
    """One delivery and its ledger row (with its state and audit rows) as one transaction; a date already
    published, or older than the partner's latest delivery, delivers nothing (`verified_or_out_of_order`). A DeliveryConflict
    stops this feed only: nothing of its attempt is kept but a `conflict` ledger row naming the file in the
    way, and the other feeds and partners are delivered (README, "When a delivery is in conflict")."""
    con.begin()
    try:
        try:
            verified = None if isinstance(target, _Unreached) else verified_or_out_of_order(con, target, contract, feed, logical_date)
            delivery = verified or deliver()
        except DeliveryConflict as exc:
            con.rollback()
            con.begin()
            delivery = Delivery(
                contract.partner_id, feed, "conflict", target.uri(_prefix(contract, logical_date, feed)),
                reason=f"{exc} (an earlier attempt's, from other data): not overwritten, nothing published; see the "
                "README's runbook for a delivery in conflict",
            )
            log.error("%s/%s %s: %s", contract.partner_id, feed, logical_date, delivery.reason)
        summary.deliveries.append(delivery)
        con.execute(
            f"INSERT INTO exports.delivery_ledger ({LEDGER_COLUMNS}) VALUES ({', '.join(['?'] * 20)})",
            _ledger_row(delivery, target, contract, logical_date, run_id),
        )
    except BaseException:
        con.rollback()
        raise
    con.commit()
    return delivery


def diff_partner(con, settings: MsdbSettings, partner_id: str, logical_date: date, full: bool = False) -> tuple[DeltaPlan, list[tuple[str, str]]]:
    """What `partner_id`'s delivery of `logical_date` would carry: its plan and (row key, op) in order. Only
    temporary tables are written (`msdb feeds diff`)."""
    (contract,) = _contracts(settings, [partner_id])
    if contract.feed not in OPS_SCHEMAS:
        raise ValueError(f"{partner_id}'s feed {contract.feed!r} is not produced yet: no diff")
    _, plan, _, _ = plan_delivery(con, settings, contract, logical_date, _target(settings, contract).uri(""), full)
    ops = [(key, op) for batch in op_lines(con, settings.export_batch_rows, plan.key) for key, op, _ in batch]
    return plan, ops
