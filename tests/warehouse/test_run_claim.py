"""The run claim keeps Airflow runs of the nightly apart: one holder, taken over only from an inactive run,
and runs of earlier logical dates first."""

from __future__ import annotations

import json

import pytest

from pipelines.nightly import claim_warehouse_for_run, release_warehouse_for_run
from pipelines.warehouse.run_claim import claim_owner, claim_path, release, try_claim
from tests.conftest import SAMPLES, make_settings

BACKFILL_24 = "backfill__2026-11-23T17:00:00+00:00"
SCHEDULED_DEC_1 = "scheduled__2026-11-30T17:00:00+00:00"


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse" / "msdb.duckdb"


def test_the_first_run_claims_and_a_second_waits_while_the_first_is_active(warehouse):
    assert try_claim(warehouse, SCHEDULED_DEC_1, lambda run: True) is None
    assert try_claim(warehouse, BACKFILL_24, lambda run: run == SCHEDULED_DEC_1) == SCHEDULED_DEC_1
    assert claim_owner(warehouse) == SCHEDULED_DEC_1
    assert json.loads(claim_path(warehouse).read_text())["owner"] == SCHEDULED_DEC_1
    assert claim_path(warehouse).name == "msdb.duckdb.run-claim"


def test_claiming_again_is_a_no_op_for_the_holder(warehouse):
    assert try_claim(warehouse, BACKFILL_24, lambda run: True) is None
    assert try_claim(warehouse, BACKFILL_24, lambda run: True) is None
    assert claim_owner(warehouse) == BACKFILL_24


def test_a_released_claim_lets_the_next_run_in(warehouse):
    try_claim(warehouse, SCHEDULED_DEC_1, lambda run: True)
    assert release(warehouse, BACKFILL_24) is False  # not its claim
    assert release(warehouse, SCHEDULED_DEC_1) is True
    assert not claim_path(warehouse).exists()
    assert try_claim(warehouse, BACKFILL_24, lambda run: True) is None
    assert claim_owner(warehouse) == BACKFILL_24


def test_the_claim_of_a_run_no_longer_active_is_taken_over(warehouse):
    try_claim(warehouse, SCHEDULED_DEC_1, lambda run: True)  # its teardown never ran: workers lost
    assert try_claim(warehouse, BACKFILL_24, lambda run: False) is None
    assert claim_owner(warehouse) == BACKFILL_24
    assert [p.name for p in warehouse.parent.iterdir()] == ["msdb.duckdb.run-claim"]


def test_a_run_waits_for_runs_of_earlier_logical_dates(tmp_path):
    settings = make_settings(tmp_path, SAMPLES)
    waiting = claim_warehouse_for_run(SCHEDULED_DEC_1, earlier_run_active=True, run_active=lambda run: True,
                                      settings=settings)  # fmt: skip
    assert waiting == "a run of an earlier logical date is still active"
    assert not claim_path(settings.warehouse).exists()
    assert claim_warehouse_for_run(BACKFILL_24, False, lambda run: True, settings) is None
    assert claim_warehouse_for_run(SCHEDULED_DEC_1, False, lambda run: True, settings) == f"run {BACKFILL_24} holds the warehouse"
    assert release_warehouse_for_run(BACKFILL_24, settings) is True
    assert claim_warehouse_for_run(SCHEDULED_DEC_1, False, lambda run: True, settings) is None
