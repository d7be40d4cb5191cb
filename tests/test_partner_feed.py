"""The partner feed cut from marts.partner_feed_works: windows per territory, bad rows withheld with a reason."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

from pipelines.partner_feed import _work_feed_row
from pipelines.registry import PartnerContract

ON = date(2026, 11, 25)


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


def window(territory: str, start: date, end: date | None, model="SubscriptionModel", use="Stream", known=True) -> dict:
    return {
        "territory": territory, "commercial_model": model, "use_type": use,
        "window_start": start, "window_end": end, "is_known_territory": known,
    }  # fmt: skip


def work(*windows: dict, **fields) -> dict:
    values = {
        "work_id": "w_0123456789abcdef0123", "kind": "recording", "title": "Kaze no Michi", "title_ja": "風の道",
        "isrc": "JPZZ02600001", "icpn": None, "licence_windows": list(windows), "kansei_tags": [], "similar_works": [],
    }  # fmt: skip
    return values | fields


def test_each_territory_keeps_its_own_window():
    row, reasons = _work_feed_row(
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


@pytest.mark.parametrize(
    ("start", "end", "delivered"),
    [
        (date(2026, 11, 25), date(2026, 11, 25), True),  # both bounds inclusive
        (date(2026, 11, 26), None, False),  # starts tomorrow
        (date(2026, 1, 1), date(2026, 11, 24), False),  # ended yesterday
    ],
)
def test_only_windows_in_force_on_the_delivery_date_are_delivered(start, end, delivered):
    row, _ = _work_feed_row(work(window("JP", start, end), window("US", date(2026, 1, 1), None)), contract(), ON)
    assert (row is not None) is delivered
    if delivered:
        assert [w["territory"] for w in row["licence_windows"]] == ["JP"]  # US is outside the contract


def test_a_window_outside_the_contracts_model_or_use_is_not_a_licence():
    row, _ = _work_feed_row(work(window("JP", date(2026, 1, 1), None, model="PayAsYouGoModel", use="PermanentDownload")), contract(), ON)
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
    _, reasons = _work_feed_row(bad_work, contract(), ON)
    assert reasons == [reason]


def test_check_and_export_do_not_import_each_other():
    code = (
        "import sys, pipelines.export; a = 'pipelines.check' in sys.modules; "
        "[sys.modules.pop(m) for m in list(sys.modules) if m.startswith('pipelines')]; "
        "import pipelines.check; print(a, 'pipelines.export' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
