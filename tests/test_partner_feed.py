"""The partner feed cut from marts.partner_feed_works: windows per territory, bad rows withheld with a reason.

The contract is applied in SQL; each case runs it over a table shaped like the feed model. A property test
compares it with `reference_feed`, the Python reading of the contract the feed was cut by before it moved
to SQL (kept here as the specification), applied to the windows expanded per country as the feed model held
them before a Worldwide window became one entry (`per_country`): what partners receive did not change.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, timedelta

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.partner_feed import WORKS_FEED_COLUMNS, partner_feed
from pipelines.registry import PartnerContract
from pipelines.territories import country_codes

ON = date(2026, 11, 25)

WINDOW = (
    "STRUCT(territory VARCHAR, commercial_model VARCHAR, use_type VARCHAR, window_start DATE, window_end DATE, "
    "is_known_territory BOOLEAN, excluded_territories VARCHAR[])"
)
FEED_TABLE = f"""
    CREATE TABLE feed_works (
        work_id VARCHAR, kind VARCHAR, rights_holder_id VARCHAR, isrc VARCHAR, icpn VARCHAR, grid VARCHAR,
        provider_asset_id VARCHAR, title VARCHAR, title_ja VARCHAR, title_en VARCHAR, title_latn VARCHAR,
        display_artist VARCHAR, genres VARCHAR[], summary VARCHAR, duration_seconds INTEGER, release_date DATE,
        licence_windows {WINDOW}[], kansei_tags STRUCT(tag_id VARCHAR, score DOUBLE)[],
        similar_works STRUCT(work_id VARCHAR, rank INTEGER, score DOUBLE)[]
    )
"""
SOURCE_COLUMNS = [c for c in WORKS_FEED_COLUMNS if c != "territories"]


def cut(works: list[dict], contract: PartnerContract, on: date = ON) -> tuple[list[dict], list[tuple[str, str]]]:
    """The SQL feed over these works: delivered rows, and (work_id, reason) withheld."""
    with duckdb.connect() as con:
        con.execute(FEED_TABLE)
        if works:
            con.executemany(
                f"INSERT INTO feed_works ({', '.join(SOURCE_COLUMNS)}) VALUES ({', '.join('?' for _ in SOURCE_COLUMNS)})",
                [[w.get(c) for c in SOURCE_COLUMNS] for w in works],
            )
        feed = partner_feed(con, contract, on, source="feed_works")
        rows = [row for batch in feed.batches(con, 2) for row in batch]
        return rows, con.execute(feed.withheld_sql).fetchall()


def feed_row(work: dict, contract: PartnerContract, on: date) -> tuple[dict | None, list[str]]:
    """One work through the SQL feed: its delivered row (None when not delivered) and the reasons it is withheld."""
    rows, withheld = cut([work], contract, on)
    return (rows[0] if rows else None), [r for _, reason in withheld for r in reason.split("; ")]


def contract(**overrides) -> PartnerContract:
    values = {
        "partner_id": "east-stream",
        "name": "East Stream",
        "work_kinds": ["recording"],
        "territories": ["JP", "KR"],
        "commercial_models": ["SubscriptionModel"],
        "use_types": ["Stream"],
        "required_fields": ["work_id", "title", "title_ja"],
    }
    return PartnerContract(**(values | overrides))


def window(
    territory: str, start: date, end: date | None, model="SubscriptionModel", use="Stream", known=True, excluded=()
) -> dict:
    return {
        "territory": territory, "commercial_model": model, "use_type": use,
        "window_start": start, "window_end": end, "is_known_territory": known, "excluded_territories": list(excluded),
    }  # fmt: skip


def work(*windows: dict, **fields) -> dict:
    values = {
        "work_id": "w_0123456789abcdef0123", "kind": "recording", "title": "Kaze no Michi", "title_ja": "風の道",
        "isrc": "JPZZ02600001", "icpn": None, "licence_windows": list(windows), "kansei_tags": [], "similar_works": [],
    }  # fmt: skip
    return values | fields


def test_each_territory_keeps_its_own_window():
    row, reasons = feed_row(
        work(window("JP", date(2026, 11, 1), date(2026, 11, 30)), window("KR", date(2026, 10, 1), date(2027, 3, 31))),
        contract(),
        ON,
    )
    assert reasons == []
    assert row["territories"] == ["JP", "KR"]
    assert row["licence_windows"] == [
        {"territory": "JP", "commercial_model": "SubscriptionModel", "use_type": "Stream", "start": date(2026, 11, 1), "end": date(2026, 11, 30)},
        {"territory": "KR", "commercial_model": "SubscriptionModel", "use_type": "Stream", "start": date(2026, 10, 1), "end": date(2027, 3, 31)},
    ]  # fmt: skip


def test_a_worldwide_window_is_delivered_per_contract_territory_it_does_not_exclude():
    row, reasons = feed_row(
        work(
            window("KR", date(2026, 10, 1), date(2027, 3, 31)),
            window("Worldwide", date(2026, 1, 1), None, excluded=["GB", "KR"]),
        ),
        contract(territories=["US", "KR", "JP", "GB", "XX"]),
        ON,
    )
    assert reasons == []
    assert row["territories"] == ["JP", "KR", "US"]  # GB excluded; XX is no country Worldwide covers
    assert row["licence_windows"] == [
        {"territory": "JP", "commercial_model": "SubscriptionModel", "use_type": "Stream", "start": date(2026, 1, 1), "end": None},
        {"territory": "KR", "commercial_model": "SubscriptionModel", "use_type": "Stream", "start": date(2026, 10, 1), "end": date(2027, 3, 31)},
        {"territory": "US", "commercial_model": "SubscriptionModel", "use_type": "Stream", "start": date(2026, 1, 1), "end": None},
    ]  # fmt: skip


def test_an_inverted_worldwide_window_is_reported_in_each_contract_territory():
    row, reasons = feed_row(work(window("Worldwide", date(2026, 11, 20), date(2026, 11, 19), excluded=["JP"])), contract(), ON)
    assert row is None
    assert reasons == ["licence window KR SubscriptionModel/Stream 2026-11-20..2026-11-19 ends before it starts"]


@pytest.mark.parametrize(
    ("start", "end", "delivered"),
    [
        (date(2026, 11, 25), date(2026, 11, 25), True),  # both bounds inclusive
        (date(2026, 11, 26), None, False),  # starts tomorrow
        (date(2026, 1, 1), date(2026, 11, 24), False),  # ended yesterday
    ],
)
def test_only_windows_in_force_on_the_delivery_date_are_delivered(start, end, delivered):
    row, _ = feed_row(work(window("JP", start, end), window("US", date(2026, 1, 1), None)), contract(), ON)
    assert (row is not None) is delivered
    if delivered:
        assert [w["territory"] for w in row["licence_windows"]] == ["JP"]  # US is outside the contract


def test_a_window_outside_the_contracts_model_or_use_is_not_a_licence():
    row, _ = feed_row(work(window("JP", date(2026, 1, 1), None, model="PayAsYouGoModel", use="PermanentDownload")), contract(), ON)
    assert row is None


@pytest.mark.parametrize(
    ("bad_work", "reason"),
    [
        (work(window("JP", date(2026, 1, 1), None), title_ja=None), "required field title_ja is missing"),
        (
            work(window("JP", date(2026, 11, 20), date(2026, 11, 19)), window("KR", date(2026, 1, 1), None)),
            "licence window JP SubscriptionModel/Stream 2026-11-20..2026-11-19 ends before it starts",
        ),
        (
            work(window("JP", date(2026, 1, 1), None), window("XX", date(2026, 1, 1), None, known=False)),
            "licence window in unknown territory 'XX' (XX SubscriptionModel/Stream 2026-01-01..open-ended)",
        ),
        (work(window("JP", date(2026, 1, 1), None), isrc="JP-ZZ0-26-00001"), "isrc 'JP-ZZ0-26-00001' is malformed"),
    ],
)
def test_a_row_breaking_the_contract_is_withheld_with_its_reason(bad_work, reason):
    _, reasons = feed_row(bad_work, contract(), ON)
    assert reasons == [reason]


def reference_feed(works: list[dict], contract: PartnerContract, on: date) -> tuple[list[dict], list[tuple[str, str]]]:
    """The contract as the feed was cut in Python before it moved to SQL (pipelines/partner_feed.py until issue 10)."""

    def allows(allowed, value):
        return not allowed or value in allowed

    def describe(w):
        end = w["window_end"].isoformat() if w["window_end"] else "open-ended"
        return f"{w['territory']} {w['commercial_model']}/{w['use_type']} {w['window_start']}..{end}"

    def is_missing(value):
        return value is None or (isinstance(value, str | list | tuple | dict) and len(value) == 0)

    well_formed = {"work_id": r"^w_[0-9a-f]{20}$", "isrc": r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$", "icpn": r"^[0-9]{12,14}$"}
    rows, withheld, neighbours = [], [], {}
    for work in sorted(works, key=lambda w: w["work_id"]):
        if not allows(contract.work_kinds, work["kind"]):
            continue
        usable = [
            w for w in work["licence_windows"]
            if allows(contract.commercial_models, w["commercial_model"]) and allows(contract.use_types, w["use_type"])
        ]  # fmt: skip
        in_contract = [w for w in usable if w["territory"] in contract.territories]
        inverted = [w for w in in_contract if w["window_start"] and w["window_end"] and w["window_end"] < w["window_start"]]
        in_force = [
            w for w in in_contract
            if w not in inverted and (w["window_start"] is None or w["window_start"] <= on) and (w["window_end"] is None or w["window_end"] >= on)
        ]  # fmt: skip
        if not in_force and not inverted:
            continue
        reasons = [f"licence window {describe(w)} ends before it starts" for w in inverted]
        reasons += [f"licence window in unknown territory {w['territory']!r} ({describe(w)})" for w in usable if not w["is_known_territory"]]
        row = {name: work.get(name) for name in WORKS_FEED_COLUMNS}
        row["territories"] = sorted({w["territory"] for w in in_force})
        row["licence_windows"] = [
            {"territory": w["territory"], "commercial_model": w["commercial_model"], "use_type": w["use_type"],
             "start": w["window_start"], "end": w["window_end"]}
            for w in in_force
        ]  # fmt: skip
        if in_force:
            reasons += [f"required field {n} is missing" for n in contract.required_fields if n in row and is_missing(row[n])]
        for name, pattern in well_formed.items():
            if row.get(name) is not None and not re.match(pattern, row[name]):
                reasons.append(f"{name} {row[name]!r} is malformed")
        if reasons:
            withheld.append((work["work_id"], "; ".join(reasons)))
        else:
            neighbours[row["work_id"]] = work["similar_works"]
            rows.append(row)
    for row in rows:
        row["similar_works"] = [
            {"work_id": n["work_id"], "score": n["score"]}
            for n in neighbours[row["work_id"]]
            if n["rank"] <= contract.neighbors and n["work_id"] in neighbours
        ]
    return rows, withheld


def listing_order(w: dict) -> tuple:
    """How the feed model orders a work's windows: territory, model, use, start, end (open bounds last)."""
    bounds = [(w[k] is None, w[k] or date.min) for k in ("window_start", "window_end")]
    return (w["territory"], w["commercial_model"], w["use_type"], *bounds)


def per_country(windows: list[dict]) -> list[dict]:
    """The windows as the feed model listed them before Worldwide stayed one entry: a Worldwide window once per
    country of the seed it does not exclude."""
    countries = [
        {**w, "territory": country, "excluded_territories": []}
        for w in windows
        if w["territory"] == "Worldwide"
        for country in country_codes()
        if country not in w["excluded_territories"]
    ]
    return sorted([w for w in windows if w["territory"] != "Worldwide"] + countries, key=listing_order)


DAYS = st.one_of(st.none(), st.integers(-3, 3).map(lambda d: ON + timedelta(days=d)))


@st.composite
def windows(draw) -> dict:
    territory = draw(st.sampled_from(["JP", "KR", "US", "XX", "Worldwide"]))
    excluded = draw(st.lists(st.sampled_from(["JP", "KR"]), unique=True)) if territory == "Worldwide" else []
    return {
        "territory": territory, "commercial_model": draw(st.sampled_from(["SubscriptionModel", "PayAsYouGoModel"])),
        "use_type": draw(st.sampled_from(["Stream", "PermanentDownload"])), "window_start": draw(DAYS),
        "window_end": draw(DAYS), "is_known_territory": territory != "XX", "excluded_territories": sorted(excluded),
    }  # fmt: skip


@st.composite
def catalogs(draw) -> list[dict]:
    count = draw(st.integers(1, 6))
    ids = [f"w_{i:020x}" if i else "w_not-a-key" for i in range(count)]
    return [
        {
            "work_id": work_id, "kind": draw(st.sampled_from(["recording", "release", "movie"])),
            "title": "Kaze no Michi", "title_ja": draw(st.sampled_from([None, "", "風の道"])),
            "isrc": draw(st.sampled_from([None, "JPZZ02600001", "JP-ZZ0-26-00001", "x'y"])), "icpn": None,
            "genres": draw(st.sampled_from([None, [], ["J-Pop"]])),
            "licence_windows": sorted(draw(st.lists(windows(), max_size=4)), key=listing_order),
            "kansei_tags": draw(st.sampled_from([[], [{"tag_id": "calm", "score": 0.5}]])),
            "similar_works": [
                {"work_id": other, "rank": rank, "score": 1.0 / rank}
                for rank, other in enumerate(draw(st.permutations([i for i in ids if i != work_id])), start=1)
            ],
        }
        for work_id in ids
    ]  # fmt: skip


@st.composite
def contracts(draw) -> PartnerContract:
    return contract(
        work_kinds=draw(st.sampled_from([[], ["recording"], ["recording", "release"]])),
        territories=draw(st.lists(st.sampled_from(["JP", "KR", "US", "XX", "Worldwide"]), min_size=1, max_size=3, unique=True)),
        commercial_models=draw(st.sampled_from([[], ["SubscriptionModel"]])),
        use_types=draw(st.sampled_from([[], ["Stream"]])),
        required_fields=draw(st.sampled_from([[], ["work_id", "title_ja"], ["genres", "kansei_tags", "territories", "isan"]])),
        neighbors=draw(st.integers(1, 3)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(works=catalogs(), partner=contracts(), on=st.integers(-2, 2).map(lambda d: ON + timedelta(days=d)))
def test_the_sql_feed_delivers_and_withholds_what_the_python_reading_did(works, partner, on):
    per_country_works = [work | {"licence_windows": per_country(work["licence_windows"])} for work in works]
    assert cut(works, partner, on) == reference_feed(per_country_works, partner, on)


def test_similar_works_keep_only_neighbours_delivered_to_the_partner():
    jp = window("JP", date(2026, 1, 1), None)
    works = [
        work(jp, work_id="w_00000000000000000001", similar_works=[
            {"work_id": "w_00000000000000000003", "rank": 1, "score": 0.9},  # withheld: no title_ja
            {"work_id": "w_00000000000000000002", "rank": 2, "score": 0.8},
            {"work_id": "w_00000000000000000004", "rank": 3, "score": 0.7},  # beyond the contract's 2 neighbours
        ]),
        work(jp, work_id="w_00000000000000000002"),
        work(jp, work_id="w_00000000000000000003", title_ja=None),
        work(jp, work_id="w_00000000000000000004"),
    ]  # fmt: skip
    rows, withheld = cut(works, contract(neighbors=2))
    assert [r["work_id"] for r in rows] == ["w_00000000000000000001", "w_00000000000000000002", "w_00000000000000000004"]
    assert rows[0]["similar_works"] == [{"work_id": "w_00000000000000000002", "score": 0.8}]
    assert withheld == [("w_00000000000000000003", "required field title_ja is missing")]


def test_check_and_export_do_not_import_each_other():
    code = (
        "import sys, pipelines.export; a = 'pipelines.check' in sys.modules; "
        "[sys.modules.pop(m) for m in list(sys.modules) if m.startswith('pipelines')]; "
        "import pipelines.check; print(a, 'pipelines.export' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
