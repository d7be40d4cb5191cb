"""What a partner receives on a delivery date: the rows of `marts.partner_feed_works` its contract allows.

The quality gate (`pipelines.check`) validates this and the export (`pipelines.export`) writes this, so the
rows checked are the rows delivered. A work is in a partner's feed when it is of a kind the contract takes and
holds a licence window of the contract (territory, commercial model, use type) in force on the delivery date
(bounds inclusive). Its `licence_windows` are those windows, one per territory × model × use type, so a
partner sees that JP ends earlier than KR.

A row that breaks the contract is withheld from that partner, with its reason, and the rest is delivered: a
required field missing, a licence window of the contract that ends before it starts, a window in a territory
that does not exist, a malformed identifier. Only feed-level faults block a whole feed (see `pipelines.check`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipelines.registry import PartnerContract

FEED_MODEL = "marts.partner_feed_works"

WORKS_FEED_COLUMNS = [
    "work_id", "kind", "title", "title_ja", "title_en", "title_latn", "display_artist", "genres",
    "summary", "duration_seconds", "release_date", "isrc", "icpn", "grid", "provider_asset_id",
    "rights_holder_id", "territories", "licence_windows", "kansei_tags", "similar_works",
]  # fmt: skip

# identifiers a partner keys on: a malformed one withholds the row
WELL_FORMED = {
    "work_id": re.compile(r"^w_[0-9a-f]{20}$"),
    "isrc": re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$"),
    "icpn": re.compile(r"^[0-9]{12,14}$"),
}


@dataclass(frozen=True)
class WithheldRow:
    work_id: str
    reason: str


@dataclass
class PartnerFeed:
    contract: PartnerContract
    delivery_date: date
    rows: list[dict[str, Any]] = field(default_factory=list)
    withheld: list[WithheldRow] = field(default_factory=list)

    def frame(self):
        """The delivered rows as a pandas frame (for the quality gate), with every feed column even when empty."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=WORKS_FEED_COLUMNS)


def _allows(allowed: list[str], value: str) -> bool:
    """A contract dimension left empty does not restrict."""
    return not allowed or value in allowed


def _describe(window: dict) -> str:
    end = window["window_end"].isoformat() if window["window_end"] else "open-ended"
    return f"{window['territory']} {window['commercial_model']}/{window['use_type']} {window['window_start']}..{end}"


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple | dict) and len(value) == 0)


def _work_feed_row(work: dict, contract: PartnerContract, on: date) -> tuple[dict | None, list[str]]:
    """The feed row of one work for this contract and day (None when it is not licensed to the partner), and
    the reasons to withhold it."""
    usable = [
        w
        for w in work["licence_windows"]
        if _allows(contract.commercial_models, w["commercial_model"]) and _allows(contract.use_types, w["use_type"])
    ]
    in_contract = [w for w in usable if w["territory"] in contract.territories]
    inverted = [
        w for w in in_contract
        if w["window_start"] is not None and w["window_end"] is not None and w["window_end"] < w["window_start"]
    ]
    in_force = [
        w
        for w in in_contract
        if w not in inverted and (w["window_start"] is None or w["window_start"] <= on) and (w["window_end"] is None or w["window_end"] >= on)
    ]
    if not in_force and not inverted:
        return None, []
    reasons = [f"licence window {_describe(w)} ends before it starts" for w in inverted]
    reasons += [
        f"licence window in unknown territory {w['territory']!r} ({_describe(w)})" for w in usable if not w["is_known_territory"]
    ]
    row = {name: work.get(name) for name in WORKS_FEED_COLUMNS}
    row["territories"] = sorted({w["territory"] for w in in_force})
    row["licence_windows"] = [
        {
            "territory": w["territory"],
            "commercial_model": w["commercial_model"],
            "use_type": w["use_type"],
            "start": w["window_start"],
            "end": w["window_end"],
        }
        for w in in_force
    ]
    if in_force:
        reasons += [f"required field {name} is missing" for name in contract.required_fields if name in row and _is_missing(row[name])]
    for name, pattern in WELL_FORMED.items():
        value = row.get(name)
        if value is not None and not pattern.match(value):
            reasons.append(f"{name} {value!r} is malformed")
    return row, reasons


def partner_feed(con, contract: PartnerContract, on: date) -> PartnerFeed:
    """The works feed of `contract` for delivery date `on`: rows to deliver, and rows withheld with why."""
    feed = PartnerFeed(contract, on)
    if contract.feed != "works":
        return feed
    cursor = con.execute(f"SELECT * FROM {FEED_MODEL} ORDER BY work_id")
    names = [d[0] for d in cursor.description]
    neighbours: dict[str, list[dict]] = {}
    for values in cursor.fetchall():
        work = dict(zip(names, values, strict=True))
        if not _allows(contract.work_kinds, work["kind"]):
            continue
        row, reasons = _work_feed_row(work, contract, on)
        if row is None:
            continue
        if reasons:
            feed.withheld.append(WithheldRow(work["work_id"], "; ".join(reasons)))
            continue
        neighbours[row["work_id"]] = work["similar_works"]
        feed.rows.append(row)
    # similar works: the nearest ones this partner also receives today
    delivered = set(neighbours)
    for row in feed.rows:
        row["similar_works"] = [
            {"work_id": n["work_id"], "score": n["score"]}
            for n in neighbours[row["work_id"]]
            if n["rank"] <= contract.neighbors and n["work_id"] in delivered
        ]
    return feed
