"""Export: one licensed feed per partner contract, delivered complete or not at all, never overwritten.

Layout (local folder or S3, the same keys; the contract's `delivery_uri`, else `MSDB_DELIVER`):
`<partner_id>/<feed>/<logical_date>/works.jsonl`, then `manifest.json` written last (files, row counts,
sha256, schema and taxonomy versions, delivery type, sequence, cursor from/to), exclusively (S3
`If-None-Match: *`, a link on a folder): a partner reads a delivery only once its manifest is there, and a
published delivery is never replaced (a 412 is reported as `conflict`). A data file without manifest and with
other content in the way (`DeliveryConflict`) is a `conflict` of that feed only: the other partners are
delivered (README, "When a delivery is in conflict"). The partial files a killed export left in a partner's
folder are removed when that partner's export starts (`pipelines.partial_files`). A feed whose quality gate
failed is not written; the ledger says why. Rows that break a partner's contract are withheld from that partner
(`exports.withheld_rows`: work id and reason) and the rest delivered.

Deltas (`pipelines.export.deltas`): the first delivery of a partner feed is a full snapshot; later ones carry
each row with its `op` (add, update, delete) against what the partner holds (`exports.delivered_state`), so a
window that ends or a takedown is a `delete` the next night. `full=True` (`msdb export --full`) resyncs.
Circuit breaker: a delivery that would leave the partner no rows, or drop more than the contract's
`max_drop_share` of them, is `held` (not published) until approved (`msdb export --partner P --approve`).
Each published delivery is one ledger row (`exports.delivery_ledger`) and one `exports.rights_audit` row per
work delivered and licence window that allowed it. A partner acknowledges a delivery by dropping
`_ack.json` (`ACK_FILE`; optionally `{"manifest_sha256": "..."}`, which must then match) beside its manifest:
the next run moves it to `acknowledged`.

The data files are written by `FileWriter`s (`works_file_writers`): a function given a file handle and the
delivery's rows, returning the manifest's entry for that file. A contract naming formats beyond JSON Lines
(`formatted`) gets `pipelines.export.formats.write_feed`'s files instead (each format and `<feed>.schema.json`),
as a full snapshot each night: the feed schema has no `op` column yet.

A music partner's contract may list `feeds: [mood_stations, mead]` (`deliver_music_feed`): each is delivered
beside the works feed, under `<partner_id>/<feed>/<logical_date>/`, once that date's works feed is published,
over the same works (`PartnerFeed.delivered_sql`), with its own manifest and ledger row. Both are full snapshots
each night: the mood stations in the contract's formats with `mood_stations.schema.json`, MEAD as one `mead.xml`
(sender: `MSDB_MEAD_SENDER_PARTY_ID`/`_NAME`; recipient: the contract's `mead:`).

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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import BinaryIO

from pipelines.export.deltas import (
    DeltaPlan,
    commit_state,
    current_rows,
    jsonl_body,
    op_lines,
    plan_delta,
    published_sequence,
)
from pipelines.export.targets import AlreadyExists, target_for
from pipelines.kansei import model_version
from pipelines.kansei.config import load_taxonomy
from pipelines.partner_feed import PartnerFeed, partner_feed
from pipelines.registry import PartnerContract, load_partners
from pipelines.settings import MsdbSettings, delivery_date
from pipelines.warehouse import writer

log = logging.getLogger(__name__)

ACK_FILE = "_ack.json"  # dropped by the partner beside a delivery's manifest: the delivery is acknowledged
WORKS_FEED_SCHEMA_VERSION = "2.0"  # 2.0: every row carries its `op` (add, update, delete)

# (file handle, the delivery's rows by batches: (work_id, op, JSON line)) -> the manifest's entry for the file
FileWriter = Callable[[BinaryIO, Iterable[list[tuple[str, str, str]]]], dict]


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


def write_ops_jsonl(fh: BinaryIO, batches: Iterable[list[tuple[str, str, str]]]) -> dict:
    """The delivery's rows as JSON Lines, `op` first."""
    digest = hashlib.sha256()
    rows = size = 0
    for batch in batches:
        chunk = "".join(line for _, _, line in batch).encode("utf-8")
        fh.write(chunk)
        digest.update(chunk)
        rows += len(batch)
        size += len(chunk)
    return {"name": "works.jsonl", "rows": rows, "bytes": size, "sha256": digest.hexdigest()}


def formatted(contract: PartnerContract) -> bool:
    """A contract naming formats beyond JSON Lines: every format and `<feed>.schema.json` (`pipelines.export.formats`),
    a full snapshot each night (the schema has no `op` yet)."""
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


def works_file_writers(contract: PartnerContract) -> list[tuple[str, FileWriter]]:
    """The data files of a works delivery, in manifest order: (file name, writer). JSON Lines always."""
    return [("works.jsonl", write_ops_jsonl)]


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
            "schema_version": WORKS_FEED_SCHEMA_VERSION,
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
        SELECT ?, ?, ?, ?, ?, ops.work_id, ops.op, w.licence_window_id, w.territory, w.commercial_model, w.use_type,
               w.window_start, w.window_end, ?
        FROM export_ops AS ops
        JOIN (SELECT work_id, unnest(windows_in_force) AS w FROM export_partner_feed) AS windows USING (work_id)
        WHERE ops.op IN ('add', 'update')
        ORDER BY ops.work_id, w.territory, w.commercial_model, w.use_type, w.window_start
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


def _works_files(target, prefix: str, contract: PartnerContract, con, batch_rows: int, publish: bool) -> list[dict]:
    if formatted(contract):
        from pipelines.export.feed_schema import WORKS
        from pipelines.export.formats import write_feed

        specs = write_feed(current_rows(con, batch_rows), WORKS, contract.formats, _delivery_files(target, prefix, publish))
        return [spec.entry() for spec in specs]
    entries = []
    for name, file_writer in works_file_writers(contract):
        if publish:
            entries.append(_put_feed(target, f"{prefix}/{name}", lambda fh, w=file_writer: w(fh, op_lines(con, batch_rows))))
        else:
            entries.append(file_writer(_Discard(), op_lines(con, batch_rows)))
    return entries


def deliver_partner(
    con, settings: MsdbSettings, contract: PartnerContract, logical_date: date, target, blocked,
    full: bool = False, approve: bool = False,
) -> Delivery:
    prefix = _prefix(contract, logical_date)
    manifest_key = f"{prefix}/manifest.json"
    held = sorted({contract.feed, f"partner:{contract.partner_id}"} & blocked)
    if held:
        return Delivery(contract.partner_id, contract.feed, "blocked", target.uri(prefix), reason=f"quality gate failed: {', '.join(held)}")
    if contract.feed == "ad_matches":
        if target.exists(manifest_key):
            return Delivery(contract.partner_id, contract.feed, "already_delivered", target.uri(manifest_key))
        return _deliver_ad_matches(con, settings, contract, logical_date, target, prefix)
    if contract.feed != "works":
        return Delivery(contract.partner_id, contract.feed, "blocked", target.uri(prefix), reason=f"feed {contract.feed!r} is not produced yet")
    destination = target.uri("")
    if target.exists(manifest_key) and published_sequence(con, contract.partner_id, contract.feed, destination, logical_date) is not None:
        return Delivery(contract.partner_id, contract.feed, "already_delivered", target.uri(manifest_key))
    feed, plan, taxonomy_version = plan_works_delivery(con, settings, contract, logical_date, destination, full or formatted(contract))
    delivery = Delivery(
        contract.partner_id, contract.feed, "delivered", target.uri(manifest_key), rows=plan.rows,
        delivery_type=plan.delivery_type, sequence=plan.sequence, cursor_from=plan.cursor_from, ops=plan.ops,
    )
    version = model_version(settings)
    if target.exists(manifest_key):
        # published, but the run stopped before the ledger: the same plan again must be the manifest found
        files = _works_files(target, prefix, contract, con, settings.export_batch_rows, publish=False)
        manifest = _manifest(contract, logical_date, files, version, plan, taxonomy_version, plan.rows)
        if target.read(manifest_key) != manifest:
            delivery.status, delivery.reason = "conflict", f"{target.uri(manifest_key)} exists with other content; not overwritten"
            return delivery
        delivery.reason = "published by an earlier attempt; recorded now"
    else:
        reason = None if approve else circuit_breaker(plan, contract)
        if reason:  # the rows withheld are listed all the same: they often say why the feed would shrink
            delivery.status, delivery.reason = "held", reason
            delivery.withheld = _record_withheld(con, feed, logical_date)
            return delivery
        files = _works_files(target, prefix, contract, con, settings.export_batch_rows, publish=True)
        manifest = _manifest(contract, logical_date, files, version, plan, taxonomy_version, plan.rows)
        try:
            target.put_new(manifest_key, manifest)
        except AlreadyExists:
            delivery.status = "conflict"
            delivery.reason = f"{target.uri(manifest_key)} was published meanwhile (412 Precondition Failed); not overwritten"
            return delivery
        if approve and circuit_breaker(plan, contract):
            delivery.reason = f"approved: {circuit_breaker(plan, contract)}"
    delivery.manifest, delivery.manifest_sha256 = json.loads(manifest), hashlib.sha256(manifest).hexdigest()
    commit_state(con, plan, logical_date)
    _record_rights_audit(con, feed, plan, logical_date)
    delivery.withheld = _record_withheld(con, feed, logical_date)
    return delivery


def _deliver_ad_matches(con, settings: MsdbSettings, contract: PartnerContract, logical_date: date, target, prefix: str) -> Delivery:
    """An ad platform's feed: the night's article → creative matches (`pipelines.ads.feed`), a full snapshot."""
    from pipelines.ads.feed import FEED_FILE, feed_model_version, write_ad_matches

    if formatted(contract):
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
    manifest = _manifest(contract, logical_date, files, feed_model_version(con, logical_date))
    rows = _row_count(files)
    try:
        target.put_new(manifest_key, manifest)
    except AlreadyExists:
        return Delivery(
            contract.partner_id, contract.feed, "conflict", target.uri(manifest_key), rows=rows,
            reason=f"{target.uri(manifest_key)} was published meanwhile (412 Precondition Failed); not overwritten",
        )
    return Delivery(
        contract.partner_id, contract.feed, "delivered", target.uri(manifest_key), rows=rows, delivery_type="full",
        manifest=json.loads(manifest), manifest_sha256=hashlib.sha256(manifest).hexdigest(),
    )


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
    return target_for(contract.delivery_uri or settings.deliver, settings.s3_endpoint_url, settings.s3_region)


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
            target = _target(settings, contract)
            summary.removed += target.remove_abandoned(contract.partner_id)
            summary.acknowledged += [(contract.partner_id, contract.feed, d) for d in record_acknowledgements(con, target, contract)]
            works = _deliver_and_record(
                con, summary, target, contract, contract.feed, logical_date, run_id,
                lambda c=contract, t=target: deliver_partner(con, settings, c, logical_date, t, blocked, full=full, approve=approve),
            )
            for feed_name in contract.feeds:
                summary.acknowledged += [(contract.partner_id, feed_name, d) for d in record_acknowledgements(con, target, contract, feed_name)]
                _deliver_and_record(
                    con, summary, target, contract, feed_name, logical_date, run_id,
                    lambda c=contract, t=target, f=feed_name, w=works: deliver_music_feed(con, settings, c, f, logical_date, t, w),
                )
    return summary


def _deliver_and_record(
    con, summary: ExportSummary, target, contract: PartnerContract, feed: str, logical_date: date, run_id: str, deliver
) -> Delivery:
    """One delivery and its ledger row (with its state and audit rows) as one transaction. A DeliveryConflict
    stops this feed only: nothing of its attempt is kept but a `conflict` ledger row naming the file in the
    way, and the other feeds and partners are delivered (README, "When a delivery is in conflict")."""
    con.begin()
    try:
        try:
            delivery = deliver()
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
    """What `partner_id`'s delivery of `logical_date` would carry: its plan and (work_id, op) in order. Only
    temporary tables are written (`msdb feeds diff`)."""
    (contract,) = _contracts(settings, [partner_id])
    if contract.feed != "works":
        raise ValueError(f"{partner_id}'s feed {contract.feed!r} is a full snapshot each night: no diff")
    _, plan, _ = plan_works_delivery(con, settings, contract, logical_date, _target(settings, contract).uri(""), full)
    ops = [(work_id, op) for batch in op_lines(con, settings.export_batch_rows) for work_id, op, _ in batch]
    return plan, ops


