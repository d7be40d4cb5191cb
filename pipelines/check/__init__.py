"""Quality gate: the suites of expectations/ and each partner's feed, checked after `dbt build`, `tag` and `similar`.

Results go to `ops.quality_results` for the logical date. A failed expectation holds back what its suite's
`meta.blocks` names (a feed such as `works`, or one partner `partner:<id>`) and nothing else; export reads the
verdicts back from that table. Suites that block are feed-level (reconciliations, keys, a partner feed's
schema); a bad row is reported by the row suites and withheld from the partners it concerns by
`pipelines.partner_feed`, never a reason to block a whole feed. Every run also renders GX Data Docs to
`<var_dir>/data_docs/index.html`.

A suite's rows are one of (see expectations/README.md), always as SQL:
- `meta.table`: a warehouse table or view;
- `meta.query`: a SQL query (reconciliations between marts and raw);
- `meta.frame`: a query built here (`ingest_reconciliation`, by `meta.kinds`);
- a partner contract (generated suites `partner:<id>`): the rows that partner will receive tomorrow, the SQL
  of `pipelines.partner_feed` that the export streams (the check runs after tag and similar).

Memory: the verdicts are computed in DuckDB SQL over every row (`sql_expectations`, within
`query_memory_limit`, spilling beyond it); Great Expectations validates, and the Data Docs show, a pandas
frame of at most `gate_sample_rows` rows per suite (the rows an expectation rejects first, then a
deterministic sample). No table is read whole into Python.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from pipelines.check import sql_expectations
from pipelines.partner_feed import sql_literal
from pipelines.settings import MsdbSettings
from pipelines.territories import WORLDWIDE, country_codes
from pipelines.warehouse import writer

log = logging.getLogger(__name__)

# What GX validates, said in every suite's meta (and so in the Data Docs)
GX_BATCH = (
    "A bounded sample: the rows some expectation rejects first, then a deterministic sample by row hash, at most "
    "gate_sample_rows rows. The gate's verdicts (ops.quality_results) are computed in SQL over every row."
)
# Raw tables whose rows are children of another table's record (their positions are not records of their own).
CHILD_TABLES = {"adi_assets", "holders"}


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
    data_docs: str | None = None  # index.html of the rendered GX Data Docs


def iso_country_codes(dbt_project_dir: Path) -> list[str]:
    return list(country_codes(dbt_project_dir))


# value sets a suite names by placeholder, so suite and dbt seed never disagree
VALUE_SETS = {
    "$iso_3166_countries": iso_country_codes,
    # a licence window's territory: a country, or Worldwide (every country but its excluded_territories)
    "$licence_territories": lambda dbt_project_dir: [*iso_country_codes(dbt_project_dir), WORLDWIDE],
}


def _resolve_placeholders(expectations: list[dict], dbt_project_dir: Path) -> list[dict]:
    """`"value_set": "$iso_3166_countries"` → the codes of the dbt seed; `"$licence_territories"` → those and
    'Worldwide'."""
    resolved = []
    for expectation in expectations:
        kwargs = dict(expectation.get("kwargs", {}))
        value_set = kwargs.get("value_set")
        if isinstance(value_set, str) and value_set in VALUE_SETS:
            kwargs["value_set"] = VALUE_SETS[value_set](dbt_project_dir)
        resolved.append({**expectation, "kwargs": kwargs})
    return resolved


def load_suites(settings: MsdbSettings) -> list[SuiteSpec]:
    """The suites of `settings.expectations_dir` (MSDB_EXPECTATIONS_DIR), one JSON file each."""
    suites = []
    for path in sorted(settings.expectations_dir.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        meta = spec.get("meta", {})
        expectations = _resolve_placeholders(spec["expectations"], settings.dbt_project_dir)
        suites.append(SuiteSpec(spec["name"], meta.get("table"), meta.get("blocks", []), expectations, meta))
    return suites


# one row per work in a works feed
PARTNER_FEED_EXPECTATIONS = [
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "work_id"}},
]


def partner_suites(settings: MsdbSettings) -> list[tuple[SuiteSpec, object]]:
    """One suite per partner contract, on the rows that will be delivered (bad rows already withheld): the
    feed has every column the contract requires (schema), one row per work, and no delivered row lacks a
    required field (it would have been withheld: a failure here is a fault of the feed, not of a row)."""
    from pipelines.registry import load_partners

    suites = []
    for contract in load_partners(settings.partners_dir):
        expectations = (
            [{"type": "expect_column_to_exist", "kwargs": {"column": name}} for name in contract.required_fields]
            + [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": name}} for name in contract.required_fields]
            + (PARTNER_FEED_EXPECTATIONS if contract.feed == "works" else [])
        )
        name = f"partner:{contract.partner_id}"
        suites.append((SuiteSpec(name, None, [name], expectations, {"contract": contract.partner_id}), contract))
    return suites


def ingest_reconciliation_sql(con, kinds: list[str]) -> str:
    """One row per loaded file of those kinds: what ingest counted against what the raw tables and the
    quarantine hold. Every gap column must be 0: found = loaded + quarantined, each loaded record has rows in
    raw (distinct record positions over the raw tables), each quarantined record a quarantine row."""
    tables = [
        name
        for (name,) in con.execute(
            """
            SELECT table_name FROM information_schema.columns
            WHERE table_schema = 'raw' AND column_name IN ('file_id', 'record_position')
            GROUP BY table_name HAVING count(*) = 2 ORDER BY table_name
            """
        ).fetchall()
        # a refused release's kept links (raw.ddex_rejected_releases) belong to a quarantined record
        if name not in CHILD_TABLES and name != "ddex_rejected_releases"
    ]
    positions = " UNION ALL ".join(f"SELECT file_id, record_position FROM raw.{t}" for t in tables) or (
        "SELECT NULL::VARCHAR AS file_id, NULL::VARCHAR AS record_position WHERE false"
    )
    return f"""
        WITH raw_records AS (
            SELECT file_id, count(DISTINCT record_position) AS raw_records FROM ({positions}) GROUP BY file_id
        ),
        quarantined AS (
            SELECT file_id, count(*) AS quarantine_rows FROM ops.quarantine WHERE location <> 'file' GROUP BY file_id
        )
        SELECT f.file_path, f.kind, f.records_found, f.records_loaded, f.records_quarantined,
               coalesce(r.raw_records, 0) AS raw_records,
               coalesce(q.quarantine_rows, 0) AS quarantine_rows,
               f.records_found - f.records_loaded - f.records_quarantined AS unaccounted_records,
               f.records_loaded - coalesce(r.raw_records, 0) AS records_missing_in_raw,
               f.records_quarantined - coalesce(q.quarantine_rows, 0) AS records_missing_in_quarantine
        FROM ops.ingest_files f
        LEFT JOIN raw_records r USING (file_id)
        LEFT JOIN quarantined q USING (file_id)
        WHERE f.status IN ('loaded', 'partial') AND f.kind IN ({", ".join(sql_literal(k) for k in kinds) or "NULL"})
        ORDER BY f.file_path
    """


def suite_sql(con, spec: SuiteSpec) -> str:
    """The rows a (file) suite is about, as SQL."""
    if spec.meta.get("frame") == "ingest_reconciliation":
        return ingest_reconciliation_sql(con, spec.meta.get("kinds", []))
    return spec.meta.get("query") or f"SELECT * FROM {spec.table}"


def _plain(value):
    """A value as a reader expects it: pandas' NaN/NaT/None for a missing value read as null."""
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("NaT", "<NA>"):
        return None
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _exception_message(info: dict | None) -> str | None:
    """GX 1.x reports an error either flat or per metric that raised it."""
    if not info:
        return None
    if info.get("raised_exception"):
        return info.get("exception_message")
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return value.get("exception_message")
    return None


def readable_observed(result) -> str:
    """What an expectation saw, for a person: "2 of 9 rows unexpected: [null, null]", an observed value, or the
    error that stopped the expectation (a missing column ...)."""
    config = result.expectation_config
    if config.type == "expect_column_to_exist" and not result.success:
        return f"column {config.kwargs.get('column')} is missing"
    error = _exception_message(result.exception_info)
    if error:
        return f"error: {error}"[:500]
    details = result.result or {}
    if "unexpected_count" in details:
        sample = json.dumps(_plain(details.get("partial_unexpected_list") or []), ensure_ascii=False, default=str)
        return f"{details['unexpected_count']} of {details.get('element_count')} rows unexpected: {sample}"[:500]
    return json.dumps(_plain(details.get("observed_value")), ensure_ascii=False, default=str)[:500]


class _Validator:
    """One ephemeral GX context for the whole check; one pandas asset and checkpoint per suite; Data Docs
    rendered to a folder at the end."""

    def __init__(self, docs_dir: Path | None = None):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        for name in list(logging.root.manager.loggerDict):
            if name.startswith("great_expectations"):
                logging.getLogger(name).setLevel(logging.WARNING)

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.docs_dir = docs_dir
        if docs_dir is not None:
            docs_dir.mkdir(parents=True, exist_ok=True)
            self.context.add_data_docs_site(
                site_name="msdb",
                site_config={
                    "class_name": "SiteBuilder",
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir.resolve())},
                },
            )
        self.source = self.context.data_sources.add_pandas("msdb")

    def validate(self, spec: SuiteSpec, frame) -> list[tuple[str, str | None, bool, str]]:
        from great_expectations.core.expectation_suite import ExpectationSuite

        gx = self.gx
        asset_name = spec.name.replace(":", "_")
        asset = self.source.add_dataframe_asset(name=asset_name)
        batch_definition = asset.add_batch_definition_whole_dataframe("whole")
        suite = self.context.suites.add(ExpectationSuite(name=asset_name, expectations=spec.expectations, meta=spec.meta))
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(data=batch_definition, suite=suite, name=asset_name)
        )
        checkpoint = self.context.checkpoints.add(gx.Checkpoint(name=asset_name, validation_definitions=[definition]))
        outcome = next(iter(checkpoint.run(batch_parameters={"dataframe": frame}).run_results.values()))
        rows = []
        for result in outcome.results:
            config = result.expectation_config
            column = config.kwargs.get("column") or config.kwargs.get("column_A")
            rows.append((config.type, column, bool(result.success), readable_observed(result)))
        return rows

    def build_docs(self) -> str | None:
        if self.docs_dir is None:
            return None
        self.context.build_data_docs(site_names=["msdb"])
        index = self.docs_dir / "index.html"
        return str(index) if index.exists() else None


def gx_sample_sql(relation: str, expectations: list[dict], types: dict[str, str], rows: int) -> str:
    """The rows GX validates: at most `rows`, those some expectation rejects first (so the Data Docs show the
    failures), then a deterministic sample (by a hash of the row, the same rows on every run of the same data)."""
    predicates = []
    for expectation in expectations:
        if all(c in types for c in sql_expectations.columns_of(expectation)):
            predicate = sql_expectations.unexpected_row(expectation, types)
            if predicate:
                predicates.append(f"coalesce({predicate}, false)")
    rejected = " OR ".join(predicates) or "false"
    return f"SELECT * FROM ({relation}) AS suite_rows ORDER BY ({rejected}) DESC, hash(*COLUMNS(*)) LIMIT {int(rows)}"


def gx_sample(con, relation: str, expectations: list[dict], rows: int):
    """A pandas frame of at most `rows` rows of the relation (see `gx_sample_sql`)."""
    import pandas as pd

    types = {name: column_type for name, column_type, *_ in con.execute(f"DESCRIBE SELECT * FROM ({relation})").fetchall()}
    cursor = con.execute(gx_sample_sql(relation, expectations, types, rows))
    return pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])


def _suites_and_relations(con, settings: MsdbSettings, logical_date: date) -> list[tuple[SuiteSpec, str]]:
    """Each suite with the SQL of the rows it is about; a partner's are the rows it will receive."""
    from pipelines.partner_feed import partner_feed
    from pipelines.settings import delivery_date

    work = [(spec, suite_sql(con, spec)) for spec in load_suites(settings)]
    for spec, contract in partner_suites(settings):
        if contract.feed == "ad_matches":  # an ad platform's rows: the night's article → creative matches
            from pipelines.ads.feed import feed_sql

            work.append((spec, feed_sql(con, logical_date)))
            continue
        work.append((spec, partner_feed(con, contract, delivery_date(logical_date)).delivered_sql))
    return work


def run_check(settings: MsdbSettings, logical_date: date) -> CheckSummary:
    """Memory: the verdicts are DuckDB aggregates over every row (within `query_memory_limit`, spilled beyond
    it); Python holds at most `gate_sample_rows` rows of one suite at a time, the frame GX validates."""
    summary = CheckSummary()
    validator = _Validator(settings.var_dir / "data_docs")
    checked_at = datetime.now(UTC)
    results: list[tuple] = []
    with writer(settings.warehouse) as con:
        if settings.query_memory_limit:
            con.execute(f"SET memory_limit = '{settings.query_memory_limit}'")
        for spec, relation in _suites_and_relations(con, settings, logical_date):
            summary.suites += 1
            if "contract" in spec.meta:  # a partner's feed: cut once, read by the checks and the sample
                con.execute(f"CREATE OR REPLACE TEMP TABLE gate_partner_feed AS {relation}")
                relation = "SELECT * FROM gate_partner_feed"
            verdicts = sql_expectations.evaluate(con, relation, spec.expectations)
            frame = gx_sample(con, relation, spec.expectations, settings.gate_sample_rows)
            sampled = SuiteSpec(spec.name, spec.table, spec.blocks, spec.expectations, {**spec.meta, "gx_batch": GX_BATCH})
            passed_in_sql = {(kind, column) for kind, column, success, _ in verdicts if success}
            for kind, column, gx_success, gx_observed in validator.validate(sampled, frame):
                if (kind, column) in passed_in_sql and not gx_success:  # a fault of the SQL reading
                    log.warning("%s: %s(%s) passes in SQL but fails in GX on a sample: %s", spec.name, kind, column, gx_observed)
            for expectation, column, success, observed in verdicts:
                summary.expectations += 1
                results.append((logical_date, spec.name, expectation, column, success, observed, spec.blocks, checked_at))
                if not success:
                    summary.failed.append(f"{spec.name}: {expectation}({column or ''}) — {observed}")
                    summary.blocked.extend(b for b in spec.blocks if b not in summary.blocked)
        con.begin()
        con.execute("DELETE FROM ops.quality_results WHERE logical_date = ?", [logical_date])
        con.executemany(
            "INSERT INTO ops.quality_results (logical_date, suite, expectation, column_name, success, observed, blocks, checked_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            results,
        )
        con.commit()
    summary.data_docs = validator.build_docs()
    return summary
