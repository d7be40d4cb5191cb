"""Property: night after night, what a partner holds (its deltas applied in order) is exactly what is licensed.

Hypothesis draws catalogs of a few works with random windows (territory, Worldwide with exclusions, bounds
around the delivery dates, open ends) for three nights, runs the real export each night (deltas against the
delivered state) and applies each delivery's ops to a copy of the partner's holdings. After each night, the
holdings are the works licensed on that delivery date (a window covering one of the partner's territories, bounds
inclusive), and no delivered row carries a window outside the partner's territories or the delivery date.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.export import run_export
from tests.conftest import make_settings
from tests.export.test_deltas import load_catalog, window, work

NIGHTS = [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]
PARTNER_TERRITORIES = ["JP", "KR"]
WORK_IDS = [f"w_{n:020x}" for n in range(0x20, 0x25)]
days = st.sampled_from([-2, -1, 0, 1, 2, 3]).map(lambda n: date(2026, 11, 25) + timedelta(days=n))


@st.composite
def windows(draw, work_id: str) -> dict:
    territory = draw(st.sampled_from(["JP", "KR", "US", "Worldwide"]))
    excluded = draw(st.lists(st.sampled_from(["JP", "KR", "US"]), unique=True, max_size=2)) if territory == "Worldwide" else []
    start = draw(st.none() | days)
    end = draw(st.none() | days.filter(lambda d: start is None or d >= start))
    return window(work_id, territory, start or date(2020, 1, 1), end, excluded=sorted(excluded))


@st.composite
def catalogs(draw) -> list[list[dict]]:
    """Three nights; each night a work is present (with one or two windows) or taken down."""
    nights = []
    for _ in NIGHTS:
        night = []
        for work_id in WORK_IDS:
            if draw(st.booleans()):
                night.append(work(work_id, draw(st.sampled_from(["Kaze", "Tsuki"])), *draw(st.lists(windows(work_id), min_size=1, max_size=2))))
        nights.append(night)
    return nights


def licensed(catalog: list[dict], on: date) -> dict[str, str]:
    held = {}
    for w in catalog:
        for lw in w["licence_windows"]:
            covers = (
                [t for t in PARTNER_TERRITORIES if t not in lw["excluded_territories"]]
                if lw["territory"] == "Worldwide" else [lw["territory"]] if lw["territory"] in PARTNER_TERRITORIES else []
            )  # fmt: skip
            if covers and lw["window_start"] <= on and (lw["window_end"] is None or lw["window_end"] >= on):
                held[w["work_id"]] = w["title"]
    return held


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(nights=catalogs())
def test_the_partner_holds_exactly_the_licensed_works_each_night(tmp_path_factory, nights):
    root = tmp_path_factory.mktemp("delta-property")
    partners = root / "partners"
    partners.mkdir()
    (partners / "east-stream.yaml").write_text(yaml.safe_dump({
        "partner_id": "east-stream", "name": "East Stream", "kind": "music_service", "territories": PARTNER_TERRITORIES,
        "work_kinds": ["recording"], "commercial_models": ["SubscriptionModel"], "use_types": ["Stream"],
    }))  # fmt: skip
    run_settings = make_settings(root, root / "landing", partners=partners)
    holdings: dict[str, str] = {}
    for logical_date, catalog in zip(NIGHTS, nights, strict=True):
        on = logical_date + timedelta(days=1)
        load_catalog(run_settings, catalog)
        (delivery,) = run_export(run_settings, logical_date, approve=True).deliveries  # the breaker is tested elsewhere
        assert delivery.status == "delivered"
        body = Path(run_settings.deliver, f"east-stream/works/{logical_date}/works.jsonl").read_text("utf-8")
        rows = [json.loads(line) for line in body.splitlines()]
        if delivery.delivery_type == "full":
            holdings = {}
        for row in rows:
            if row["op"] == "delete":
                assert row["work_id"] in holdings
                del holdings[row["work_id"]]
                continue
            assert (row["op"] == "add") == (row["work_id"] not in holdings or delivery.delivery_type == "full")
            for lw in row["licence_windows"]:
                assert lw["territory"] in PARTNER_TERRITORIES, "delivered outside the partner's territories"
                assert lw["start"] <= on.isoformat() and (lw["end"] is None or lw["end"] >= on.isoformat()), "outside a licence"
            assert row["licence_windows"], "delivered without a licence"
            holdings[row["work_id"]] = row["title"]
        assert holdings == licensed(catalog, on)
