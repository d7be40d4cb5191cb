"""What a delivery carries: today's rows against what the partner holds (`exports.delivered_state`).

The delta is computed from the delivered state, not from change events: a window that ends on a date, or a
contract that changes, makes a row leave the feed without any change in the catalog, and only a comparison with
what was last delivered turns that into a `delete`. Each row of today's feed is kept with its key (`RowKey`: the
work id; for ad matches the pair article id, creative id) and the sha256 of its JSON text; against the state, a
row is an `add` (not held), an `update` (held with another hash) or a `delete` (held, no longer delivered). A
full delivery carries every row as an `add` (the partner replaces what it holds).

The operations land in a temporary table (`export_ops`), in key order, so a writer streams them; memory in
Python stays one batch of rows.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.partner_feed import PartnerFeed

OPS = ("add", "update", "delete")


@dataclass(frozen=True)
class RowKey:
    """What names a row of a feed for the partner, held in `exports.delivered_state.work_id`: the value of a
    single key column, or the JSON array of several (`["a_1","c_2"]`)."""

    columns: tuple[str, ...]

    def of(self, row: dict) -> str:
        if len(self.columns) == 1:
            return str(row[self.columns[0]])
        return json.dumps([row[c] for c in self.columns], ensure_ascii=False, separators=(",", ":"))

    def _part(self, column: str, index: int) -> str:
        return column if len(self.columns) == 1 else f"json_extract_string({column}, '$[{index}]')"

    def delete_line_sql(self, column: str) -> str:
        """SQL: a delete's JSON object, its op and key columns (`{"op":"delete","work_id":"w_..."}`)."""
        parts = " || ".join(
            f"""',"{name}":' || to_json({self._part(column, i)})::VARCHAR""" for i, name in enumerate(self.columns)
        )
        return f"""'{{"op":"delete"' || {parts} || '}}'"""

    def order_sql(self, column: str) -> str:
        return ", ".join(self._part(column, i) for i in range(len(self.columns)))


WORK_KEY = RowKey(("work_id",))
AD_MATCH_KEY = RowKey(("article_id", "creative_id"))


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
    """The operations of one partner feed's delivery, waiting in `export_ops` (row_key, op, row_sha256, body)."""

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
    key: RowKey = WORK_KEY

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


def is_published(con, partner_id: str, feed: str, destination: str, logical_date: date) -> bool:
    """Whether the ledger records that date's delivery as published."""
    row = con.execute(
        """
        SELECT count(*) FROM exports.delivery_ledger
        WHERE partner_id = ? AND feed = ? AND destination = ? AND logical_date = ? AND status IN ('delivered', 'acknowledged')
        """,
        [partner_id, feed, destination, logical_date],
    ).fetchone()
    return bool(row and row[0])


def works_rows(feed: PartnerFeed, con, labels, batch_rows: int) -> Iterator[list[tuple[str, str]]]:
    """A works feed's rows as (work_id, JSON text as delivered), by batches."""
    for batch in feed.batches(con, batch_rows):
        yield [(row["work_id"], jsonl_body(row, labels, feed.contract.fields)) for row in batch]


def plan_delta(
    con, feed: PartnerFeed, logical_date: date, labels, batch_rows: int, destination: str, full: bool = False
) -> DeltaPlan:
    """A works feed's plan (`plan_operations` over its rows)."""
    return plan_operations(
        con, feed.contract, works_rows(feed, con, labels, batch_rows), logical_date, destination, full=full
    )


def plan_operations(
    con, contract, rows: Iterable[list[tuple[str, str]]], logical_date: date, destination: str,
    full: bool = False, key: RowKey = WORK_KEY,
) -> DeltaPlan:
    """Today's rows ((key, JSON text) batches) into `export_current`, the operations against the partner's state
    into `export_ops`. The first delivery, a contract with `delivery: full` and `full=True` (a forced resync) are
    full snapshots."""
    con.execute("CREATE OR REPLACE TEMP TABLE export_current (row_key VARCHAR, row_sha256 VARCHAR, body VARCHAR)")
    # the rows stream from DuckDB while no other statement runs on the connection: spooled to a file (JSON text
    # holds no raw tab or newline; a key neither), then read back by DuckDB in one statement
    with tempfile.TemporaryDirectory(prefix="msdb-export-") as spool_dir:
        spool = Path(spool_dir) / "current.tsv"
        count = 0
        with spool.open("w", encoding="utf-8") as fh:
            for batch in rows:
                for row_key, body in batch:
                    fh.write(f"{row_key}\t{hashlib.sha256(body.encode('utf-8')).hexdigest()}\t{body}\n")
                count += len(batch)
        if count:
            con.execute(
                "INSERT INTO export_current SELECT * FROM read_csv(?, delim = '\t', quote = '', escape = '', header = false, "
                "auto_detect = false, columns = {'row_key': 'VARCHAR', 'row_sha256': 'VARCHAR', 'body': 'VARCHAR'})",
                [str(spool)],
            )
    sequence, cursor_from = _last_published(con, contract.partner_id, contract.feed, destination)
    state = "SELECT work_id AS row_key, row_sha256 FROM exports.delivered_state WHERE partner_id = ? AND feed = ? AND destination = ?"
    params = [contract.partner_id, contract.feed, destination]
    previous = con.execute(f"SELECT count(*) FROM ({state})", params).fetchone()[0]
    delivery_type = "full" if full or sequence == 0 or contract.delivery == "full" else "delta"
    if delivery_type == "full":
        con.execute("CREATE OR REPLACE TEMP TABLE export_ops AS SELECT row_key, 'add' AS op, row_sha256, body FROM export_current")
    else:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE export_ops AS
            SELECT * FROM (
                SELECT coalesce(today.row_key, held.row_key) AS row_key,
                    CASE WHEN held.row_key IS NULL THEN 'add'
                         WHEN today.row_key IS NULL THEN 'delete'
                         WHEN today.row_sha256 <> held.row_sha256 THEN 'update' END AS op,
                    today.row_sha256, today.body
                FROM export_current AS today FULL OUTER JOIN ({state}) AS held ON today.row_key = held.row_key
            ) WHERE op IS NOT NULL
            """,
            params,
        )
    ops = dict(con.execute("SELECT op, count(*) FROM export_ops GROUP BY op").fetchall())
    current = con.execute("SELECT count(*) FROM export_current").fetchone()[0]
    return DeltaPlan(
        contract.partner_id, contract.feed, destination, delivery_type, sequence + 1, cursor_from, logical_date, current, previous,
        {op: ops.get(op, 0) for op in OPS}, key,
    )


def op_lines(con, batch_rows: int, key: RowKey = WORK_KEY) -> Iterator[list[tuple[str, str, str]]]:
    """The planned operations as (row key, op, JSON line with its newline), in key order, by batches: a delete
    carries only its key, an add or update the whole row after its `op`."""
    cursor = con.execute(
        f"""
        SELECT row_key, op,
            CASE WHEN op = 'delete' THEN {key.delete_line_sql("row_key")}
                 ELSE '{{"op":"' || op || '",' || substr(body, 2) END || chr(10) AS line
        FROM export_ops ORDER BY {key.order_sql("row_key")}
        """
    )
    while rows := cursor.fetchmany(batch_rows):
        yield rows


def op_rows(con, batch_rows: int, key: RowKey = WORK_KEY) -> Iterator[list[dict]]:
    """The planned operations as the dicts a JSON Lines line holds (`op` first), in key order, by batches: what the
    format writers (`pipelines.export.formats.write_feed`) take with a schema `with_ops`."""
    for batch in op_lines(con, batch_rows, key):
        yield [json.loads(line) for _, _, line in batch]


def commit_state(con, plan: DeltaPlan, logical_date: date) -> None:
    """After the manifest is published: the partner now holds today's rows (their sequence kept where unchanged)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE export_next_state AS
        SELECT today.row_key, today.row_sha256,
            CASE WHEN held.row_sha256 = today.row_sha256 THEN held.sequence ELSE ? END AS sequence,
            CASE WHEN held.row_sha256 = today.row_sha256 THEN held.logical_date ELSE ? END AS logical_date
        FROM export_current AS today
        LEFT JOIN (SELECT * FROM exports.delivered_state WHERE partner_id = ? AND feed = ? AND destination = ?) AS held
            ON held.work_id = today.row_key
        """,
        [plan.sequence, logical_date, plan.partner_id, plan.feed, plan.destination],
    )
    con.execute(
        "DELETE FROM exports.delivered_state WHERE partner_id = ? AND feed = ? AND destination = ?",
        [plan.partner_id, plan.feed, plan.destination],
    )
    con.execute(
        "INSERT INTO exports.delivered_state (partner_id, feed, destination, work_id, row_sha256, sequence, logical_date) "
        "SELECT ?, ?, ?, row_key, row_sha256, sequence, logical_date FROM export_next_state",
        [plan.partner_id, plan.feed, plan.destination],
    )
