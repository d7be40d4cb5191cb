"""The quality gate: suites pass on clean samples, and a failure holds back exactly the feeds that depend on it."""

from __future__ import annotations

import duckdb
import pytest
import yaml

from pipelines.check import run_check
from pipelines.export import run_export
from pipelines.nightly import report
from tests.conftest import SAMPLE_DATE

pytestmark = pytest.mark.slow


def execute(settings, sql: str, params=None):
    with duckdb.connect(str(settings.warehouse)) as con:
        return con.execute(sql, params or []).fetchall()


def deliveries(settings) -> dict[str, tuple[str, str | None]]:
    return {d.partner_id: (d.status, d.reason) for d in run_export(settings, SAMPLE_DATE).deliveries}


def test_clean_samples_pass_every_suite_and_render_data_docs(gate_settings):
    summary = run_check(gate_settings, SAMPLE_DATE)
    assert summary.failed == [] and summary.blocked == []
    suites = {s for (s,) in execute(gate_settings, "SELECT DISTINCT suite FROM ops.quality_results WHERE logical_date = ?", [SAMPLE_DATE])}
    assert suites == {
        "dim_article", "dim_work", "fct_licence_window", "fct_work_descriptor", "ingest_reconciliation_articles",
        "ingest_reconciliation_catalog", "work_reconciliation", "partner:cinema-now", "partner:melody-stream",
    }  # fmt: skip
    index = gate_settings.var_dir / "data_docs" / "index.html"
    assert summary.data_docs == str(index) and index.exists()
    assert (gate_settings.var_dir / "data_docs" / "validations" / "fct_licence_window").is_dir()
    assert "partner_melody-stream" in index.read_text(encoding="utf-8")


def test_a_partner_contract_failure_blocks_only_that_partner(gate_settings):
    contract = gate_settings.partners_dir / "melody-stream.yaml"
    spec = yaml.safe_load(contract.read_text())
    spec["required_fields"].append("title_en")  # music works carry no English title
    contract.write_text(yaml.safe_dump(spec))
    summary = run_check(gate_settings, SAMPLE_DATE)
    assert summary.blocked == ["partner:melody-stream"]
    assert summary.failed[0].startswith("partner:melody-stream: expect_column_values_to_not_be_null(title_en)")
    assert deliveries(gate_settings) == {
        "cinema-now": ("delivered", None),
        "melody-stream": ("blocked", "quality gate failed: partner:melody-stream"),
    }


def test_a_bad_territory_blocks_every_works_feed_and_shows_in_the_summary(gate_settings):
    execute(
        gate_settings,
        "INSERT INTO marts.fct_licence_window SELECT * REPLACE ('bad-window' AS licence_window_id, 'XX' AS territory) "
        "FROM marts.fct_licence_window LIMIT 1",
    )
    summary = run_check(gate_settings, SAMPLE_DATE)
    assert summary.blocked == ["works"]
    assert [f.split(" observed")[0] for f in summary.failed] == [
        "fct_licence_window: expect_column_values_to_be_in_set(territory)"
    ]
    assert deliveries(gate_settings) == {
        "cinema-now": ("blocked", "quality gate failed: works"),
        "melody-stream": ("blocked", "quality gate failed: works"),
    }
    assert report(gate_settings, SAMPLE_DATE).quality_failures == [
        "fct_licence_window: expect_column_values_to_be_in_set(territory)"
    ]


def test_a_window_ending_before_it_starts_is_caught(gate_settings):
    execute(gate_settings, "UPDATE marts.fct_licence_window SET window_end = window_start - 1 WHERE source = 'adi'")
    summary = run_check(gate_settings, SAMPLE_DATE)
    assert "works" in summary.blocked
    assert any(f.startswith("fct_licence_window: expect_column_pair_values_a_to_be_greater_than_b(window_end)") for f in summary.failed)


def test_an_article_failure_does_not_hold_back_works_feeds(gate_settings):
    execute(gate_settings, "INSERT INTO marts.dim_article (article_id) VALUES ('a_without_url')")  # url is required
    summary = run_check(gate_settings, SAMPLE_DATE)
    assert sorted(summary.blocked) == ["ad_matches", "articles"]
    assert deliveries(gate_settings) == {"cinema-now": ("delivered", None), "melody-stream": ("delivered", None)}


def test_rows_lost_between_ingest_and_raw_fail_the_reconciliation(gate_settings):
    execute(gate_settings, "DELETE FROM raw.ddex_resources WHERE isrc = 'JPSK02600003'")
    summary = run_check(gate_settings, SAMPLE_DATE)
    assert summary.blocked == ["works"]
    assert [f.split(" observed")[0] for f in summary.failed] == [
        "ingest_reconciliation_catalog: expect_column_values_to_be_in_set(records_missing_in_raw)"
    ]
    assert execute(
        gate_settings,
        "SELECT observed FROM ops.quality_results WHERE suite = 'ingest_reconciliation_catalog' AND NOT success",
    ) == [("[1]",)]
