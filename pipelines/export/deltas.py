"""What a delivery carries: today's rows against what the partner holds (`exports.delivered_state`).

The delta is computed from the delivered state, not from change events: a window that ends on a date, or a
contract that changes, makes a row leave the feed without any change in the catalog, and only a comparison with
what was last delivered turns that into a `delete`. Each row of today's feed is kept with the sha256 of its JSON
text; against the state, a work is an `add` (not held), an `update` (held with another hash) or a `delete` (held,
no longer delivered). A full delivery carries every row as an `add` (the partner replaces what it holds).

The operations land in a temporary table (`export_ops`), in work_id order, so a writer streams them; memory in
Python stays one batch of rows.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.partner_feed import PartnerFeed

OPS = ("add", "update", "delete")


def jsonl_body(row: dict, labels: dict[str, tuple[str, str]], fields: list[str] | None = None) -> str:
    """A works row as the partner reads it (kansei tags with their labels; only the contract's licensed
    `fields`, work_id always, when it names them), one JSON object, no newline."""
    row = {k: v for k, v in row.items() if not fields or k == "work_id" or k in fields}
    if "kansei_tags" in row:
        # both labels always (from the taxonomy when the row lacks them), then what the row carries of weight,
        # primary and evidence
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
    return json.dumps(row, ensure_ascii=False, default=str, separators=(",", ":"))


@dataclass
class DeltaPlan:
    """The operations of one partner feed's delivery, waiting in `export_ops` (work_id, op, row_sha256, body)."""

    partner_id: str
    feed: str
    destination: str  # where the partner holds it (the target's root URI)
    delivery_type: str  # full or delta
    sequence: int
    cursor_from: date | None  # the logical date of the delivery this one follows
    cursor_to: date
    current_rows: int  # rows the partner holds once this delivery is applied
    previous_rows: int  # rows it holds now
    ops: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.ops.values())

    @property
    def dropped(self) -> int:
        return self.ops.get("delete", 0) if self.delivery_type == "delta" else max(self.previous_rows - self.current_rows, 0)


def _last_published(con, partner_id: str, feed: str, destination: str) -> tuple[int, date | None]:
    row = con.execute(
        """
        SELECT sequence, logical_date FROM exports.delivery_ledger
        WHERE partner_id = ? AND feed = ? AND destination = ? AND status IN ('delivered', 'acknowledged') AND sequence IS NOT NULL
        ORDER BY sequence DESC, logical_date DESC LIMIT 1
        """,
        [partner_id, feed, destination],
    ).fetchone()
    return (row[0], row[1]) if row else (0, None)


def published_sequence(con, partner_id: str, feed: str, destination: str, logical_date: date) -> int | None:
    """The sequence of that date's published delivery, if the ledger has one."""
    row = con.execute(
        """
        SELECT max(sequence) FROM exports.delivery_ledger
        WHERE partner_id = ? AND feed = ? AND destination = ? AND logical_date = ? AND status IN ('delivered', 'acknowledged')
        """,
        [partner_id, feed, destination, logical_date],
    ).fetchone()
    return row[0] if row else None


def plan_delta(
    con, feed: PartnerFeed, logical_date: date, labels, batch_rows: int, destination: str, full: bool = False
) -> DeltaPlan:
    """Today's rows of `feed` into `export_current`, the operations against the partner's state into
    `export_ops`. The first delivery, a contract with `delivery: full` and `full=True` (a forced resync) are
    full snapshots."""
    contract = feed.contract
    con.execute("CREATE OR REPLACE TEMP TABLE export_current (work_id VARCHAR, row_sha256 VARCHAR, body VARCHAR)")
    # the rows stream from DuckDB while no other statement runs on the connection: spooled to a file (JSON text
    # holds no raw tab or newline), then read back by DuckDB in one statement
    with tempfile.TemporaryDirectory(prefix="msdb-export-") as spool_dir:
        spool = Path(spool_dir) / "current.tsv"
        rows = 0
        with spool.open("w", encoding="utf-8") as fh:
            for batch in feed.batches(con, batch_rows):
                for row in batch:
                    body = jsonl_body(row, labels, contract.fields)
                    fh.write(f"{row['work_id']}\t{hashlib.sha256(body.encode('utf-8')).hexdigest()}\t{body}\n")
                rows += len(batch)
        if rows:
            con.execute(
                "INSERT INTO export_current SELECT * FROM read_csv(?, delim = '\t', quote = '', escape = '', header = false, "
                "auto_detect = false, columns = {'work_id': 'VARCHAR', 'row_sha256': 'VARCHAR', 'body': 'VARCHAR'})",
                [str(spool)],
            )
    sequence, cursor_from = _last_published(con, contract.partner_id, contract.feed, destination)
    state = "SELECT work_id, row_sha256 FROM exports.delivered_state WHERE partner_id = ? AND feed = ? AND destination = ?"
    params = [contract.partner_id, contract.feed, destination]
    previous = con.execute(f"SELECT count(*) FROM ({state})", params).fetchone()[0]
    delivery_type = "full" if full or sequence == 0 or contract.delivery == "full" else "delta"
    if delivery_type == "full":
        con.execute("CREATE OR REPLACE TEMP TABLE export_ops AS SELECT work_id, 'add' AS op, row_sha256, body FROM export_current")
    else:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE export_ops AS
            SELECT * FROM (
                SELECT coalesce(today.work_id, held.work_id) AS work_id,
                    CASE WHEN held.work_id IS NULL THEN 'add'
                         WHEN today.work_id IS NULL THEN 'delete'
                         WHEN today.row_sha256 <> held.row_sha256 THEN 'update' END AS op,
                    today.row_sha256, today.body
                FROM export_current AS today FULL OUTER JOIN ({state}) AS held ON today.work_id = held.work_id
            ) WHERE op IS NOT NULL
            """,
            params,
        )
    ops = dict(con.execute("SELECT op, count(*) FROM export_ops GROUP BY op").fetchall())
    current = con.execute("SELECT count(*) FROM export_current").fetchone()[0]
    return DeltaPlan(
        contract.partner_id, contract.feed, destination, delivery_type, sequence + 1, cursor_from, logical_date, current, previous,
        {op: ops.get(op, 0) for op in OPS},
    )


def op_lines(con, batch_rows: int) -> Iterator[list[tuple[str, str, str]]]:
    """The planned operations as (work_id, op, JSON line with its newline), in work_id order, by batches: a
    delete carries only the work id, an add or update the whole row after its `op`."""
    cursor = con.execute(
        """
        SELECT work_id, op,
            CASE WHEN op = 'delete' THEN '{"op":"delete","work_id":' || to_json(work_id)::VARCHAR || '}'
                 ELSE '{"op":"' || op || '",' || substr(body, 2) END || chr(10) AS line
        FROM export_ops ORDER BY work_id
        """
    )
    while rows := cursor.fetchmany(batch_rows):
        yield rows


def current_rows(con, batch_rows: int) -> Iterator[list[dict]]:
    """Today's rows (`export_current`) as the dicts a JSON Lines line holds, in work_id order, by batches: what the
    format writers (`pipelines.export.formats.write_feed`) take for a full snapshot."""
    cursor = con.execute("SELECT body FROM export_current ORDER BY work_id")
    while rows := cursor.fetchmany(batch_rows):
        yield [json.loads(body) for (body,) in rows]


def commit_state(con, plan: DeltaPlan, logical_date: date) -> None:
    """After the manifest is published: the partner now holds today's rows (their sequence kept where unchanged)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE export_next_state AS
        SELECT today.work_id, today.row_sha256,
            CASE WHEN held.row_sha256 = today.row_sha256 THEN held.sequence ELSE ? END AS sequence,
            CASE WHEN held.row_sha256 = today.row_sha256 THEN held.logical_date ELSE ? END AS logical_date
        FROM export_current AS today
        LEFT JOIN (SELECT * FROM exports.delivered_state WHERE partner_id = ? AND feed = ? AND destination = ?) AS held USING (work_id)
        """,
        [plan.sequence, logical_date, plan.partner_id, plan.feed, plan.destination],
    )
    con.execute(
        "DELETE FROM exports.delivered_state WHERE partner_id = ? AND feed = ? AND destination = ?",
        [plan.partner_id, plan.feed, plan.destination],
    )
    con.execute(
        "INSERT INTO exports.delivered_state (partner_id, feed, destination, work_id, row_sha256, sequence, logical_date) "
        "SELECT ?, ?, ?, work_id, row_sha256, sequence, logical_date FROM export_next_state",
        [plan.partner_id, plan.feed, plan.destination],
    )
