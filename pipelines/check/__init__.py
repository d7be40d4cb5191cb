"""Quality gate: Great Expectations suites on pandas frames read from DuckDB after `dbt build`.

Results go to `ops.quality_results` for the logical date. A failed expectation holds back what its suite's
`meta.blocks` names (a feed, or one partner) and nothing else; export reads the verdicts from there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from pipelines.settings import PROJECT_ROOT, MsdbSettings
from pipelines.warehouse import writer

SUITES_DIR = PROJECT_ROOT / "expectations"


@dataclass
class SuiteSpec:
    name: str
    table: str | None
    blocks: list[str]
    expectations: list[dict]
    meta: dict = field(default_factory=dict)


@dataclass
class CheckSummary:
    suites: int = 0
    expectations: int = 0
    failed: list[str] = field(default_factory=list)  # "suite: expectation(column) observed"
    blocked: list[str] = field(default_factory=list)  # feeds and partner:<id> held back


def load_suites(folder: Path = SUITES_DIR) -> list[SuiteSpec]:
    suites = []
    for path in sorted(folder.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        meta = spec.get("meta", {})
        suites.append(SuiteSpec(spec["name"], meta.get("table"), meta.get("blocks", []), spec["expectations"], meta))
    return suites


def partner_suites(settings: MsdbSettings) -> list[tuple[SuiteSpec, object]]:
    """One suite per partner contract: its required fields present on every row of its feed."""
    from pipelines.registry import load_partners

    suites = []
    for contract in load_partners(settings.partners_dir):
        expectations = [
            {"type": "expect_column_to_exist", "kwargs": {"column": name}} for name in contract.required_fields
        ] + [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": name}}
            for name in contract.required_fields
        ]
        suites.append((SuiteSpec(f"partner:{contract.partner_id}", None, [f"partner:{contract.partner_id}"], expectations), contract))
    return suites


class _Validator:
    """One ephemeral GX context for the whole check; one pandas asset per suite."""

    def __init__(self):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        for name in list(logging.root.manager.loggerDict):
            if name.startswith("great_expectations"):
                logging.getLogger(name).setLevel(logging.WARNING)

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.source = self.context.data_sources.add_pandas("msdb")

    def validate(self, spec: SuiteSpec, frame) -> list[tuple[str, str | None, bool, str]]:
        from great_expectations.core.expectation_suite import ExpectationSuite

        asset_name = spec.name.replace(":", "_")
        asset = self.source.add_dataframe_asset(name=asset_name)
        batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": frame})
        suite = self.context.suites.add(ExpectationSuite(name=asset_name, expectations=spec.expectations))
        outcome = batch.validate(suite)
        rows = []
        for result in outcome.results:
            config = result.expectation_config
            column = config.kwargs.get("column") or config.kwargs.get("column_A")
            observed = result.result.get("partial_unexpected_list") or result.result.get("observed_value")
            if result.exception_info and result.exception_info.get("raised_exception"):
                observed = result.exception_info.get("exception_message")
            rows.append((config.type, column, bool(result.success), json.dumps(observed, default=str)[:500]))
        return rows


def run_check(settings: MsdbSettings, logical_date: date) -> CheckSummary:
    from pipelines.export.feeds import feed_frame
    from pipelines.settings import delivery_date

    summary = CheckSummary()
    validator = _Validator()
    checked_at = datetime.now(UTC)
    results: list[tuple] = []
    with writer(settings.warehouse) as con:
        work = [(spec, con.execute(f"SELECT * FROM {spec.table}").df()) for spec in load_suites()]
        for spec, contract in partner_suites(settings):
            work.append((spec, feed_frame(con, contract, delivery_date(logical_date))))
        for spec, frame in work:
            summary.suites += 1
            for expectation, column, success, observed in validator.validate(spec, frame):
                summary.expectations += 1
                results.append((logical_date, spec.name, expectation, column, success, observed, spec.blocks, checked_at))
                if not success:
                    summary.failed.append(f"{spec.name}: {expectation}({column or ''}) observed {observed}")
                    summary.blocked.extend(b for b in spec.blocks if b not in summary.blocked)
        con.begin()
        con.execute("DELETE FROM ops.quality_results WHERE logical_date = ?", [logical_date])
        con.executemany(
            "INSERT INTO ops.quality_results (logical_date, suite, expectation, column_name, success, observed, blocks, checked_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            results,
        )
        con.commit()
    return summary


def blocked_for(con, logical_date: date) -> set[str]:
    """Feeds and partners held back by failed expectations of that logical date."""
    rows = con.execute(
        "SELECT DISTINCT unnest(blocks) FROM ops.quality_results WHERE logical_date = ? AND NOT success", [logical_date]
    ).fetchall()
    return {r[0] for r in rows}
