"""Build: `dbt build` in-process (dbtRunner) against the warehouse file.

dbt opens the DuckDB file itself, so no other connection of this process may be open while it runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.settings import MsdbSettings


class BuildFailed(RuntimeError):
    """dbt build reported an error or a failing test."""


@dataclass
class BuildSummary:
    models: int = 0
    tests: int = 0
    failures: list[str] = field(default_factory=list)
    releases_quarantined: int = 0  # delivered releases that cannot become a work, newly in ops.quarantine
    identifier_conflicts: int = 0  # identifiers shared by different releases, newly in ops.identifier_conflicts


def run_dbt(settings: MsdbSettings, *args: str) -> object:
    """Run one dbt command in-process with the project's profile and the configured warehouse."""
    from dbt.cli.main import dbtRunner

    from pipelines.warehouse.published import publish_quietly

    # profiles.yml reads the path from MSDB_WAREHOUSE; set it for this call only, so that it never leaks
    # into settings built later in this process (a scheduler worker runs many tasks in one interpreter).
    previous = os.environ.get("MSDB_WAREHOUSE")
    os.environ["MSDB_WAREHOUSE"] = str(settings.warehouse.resolve())
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    target = settings.var_dir.resolve() / "dbt"
    argv = [
        *args,
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target-path",
        str(target / "target"),
        "--log-path",
        str(target / "logs"),
    ]
    try:
        return dbtRunner().invoke(argv)
    finally:
        if previous is None:
            os.environ.pop("MSDB_WAREHOUSE", None)
        else:
            os.environ["MSDB_WAREHOUSE"] = previous
        _close_dbt_duckdb()
        publish_quietly(settings.warehouse)


def _close_dbt_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB instance open after invoke(); close it so that this process (the next
    stage, or `msdb sql`) can open the file again, read-only or read-write."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


# dbt's unit tests check the models' logic on fixed inputs, not the night's data: once they passed for a project
# (its files, dbt and DuckDB versions), the nightly builds of the same project skip them (dbt's advice: unit
# tests in development and CI, not in every production build); a changed project or --full-refresh runs them.
UNIT_TESTS_PASSED = "unit_tests_passed"


PROJECT_SUFFIXES = (".sql", ".yml", ".yaml", ".csv", ".py")  # what models, tests and seeds are made of (not docs)


def project_fingerprint(project_dir: Path) -> str:
    """sha256 of the dbt project's files (models, macros, tests, seeds, configuration: PROJECT_SUFFIXES; not
    target/, logs/, dbt_packages/, nor Markdown), of the Python behind its SQL
    functions (the dbt plugin, pipelines/warehouse/functions.py, pipelines/text/) and of dbt's and DuckDB's
    versions."""
    import hashlib
    from importlib.metadata import version

    digest = hashlib.sha256(f"dbt-core {version('dbt-core')} dbt-duckdb {version('dbt-duckdb')} duckdb {version('duckdb')}".encode())
    package = Path(__file__).resolve().parents[1]
    roots = [Path(project_dir).resolve(), package / "build" / "dbt_plugin.py", package / "warehouse" / "functions.py", package / "text"]
    for root in roots:
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            relative = path.relative_to(root.parent if root.is_file() else root)
            if not path.is_file() or relative.parts[0] in ("target", "logs", "dbt_packages") or path.suffix not in PROJECT_SUFFIXES:
                continue
            digest.update(f"\0{root.name}/{relative.as_posix()}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def run_build(settings: MsdbSettings, logical_date: date, full_refresh: bool = False) -> BuildSummary:
    """`dbt build`. The incremental models (licence windows, by work) rewrite only the works whose licence terms
    changed; full_refresh rebuilds them from every raw row (`dbt build --full-refresh`; snapshots still append).
    Unit tests run on the first build of a project (its files and dbt's and DuckDB's versions), then again only
    when it changes or with full_refresh (UNIT_TESTS_PASSED).

    Memory: DuckDB's memory_limit (3 GB, MSDB_DUCKDB_MEMORY_LIMIT in dbt_project/profiles.yml; past it, it
    spills to `<warehouse>.tmp`) plus dbt itself, about 0.5 GB: 3.4 GB peak RSS at 40k works."""
    # Make sure raw tables exist even on a first run with an empty landing.
    from pipelines.warehouse import writer

    with writer(settings.warehouse, publish=False):  # run_dbt publishes when dbt is done
        pass
    args = ["build", "--quiet", "--vars", f"{{logical_date: '{logical_date.isoformat()}'}}"]
    if full_refresh:
        args.append("--full-refresh")
    project = project_fingerprint(settings.dbt_project_dir)
    passed = settings.var_dir.resolve() / "dbt" / UNIT_TESTS_PASSED
    unit_tests_known_green = not full_refresh and passed.exists() and passed.read_text("utf-8").strip() == project
    if unit_tests_known_green:
        args += ["--exclude-resource-type", "unit_test"]
    result = run_dbt(settings, *args)
    summary = BuildSummary()
    if result.exception is not None:
        raise BuildFailed(f"dbt build could not run: {result.exception}")
    for node_result in result.result or []:
        resource_type = node_result.node.resource_type
        if resource_type in ("model", "snapshot", "seed"):
            summary.models += 1
        elif resource_type in ("test", "unit_test"):
            summary.tests += 1
        if str(node_result.status) in ("error", "fail"):
            summary.failures.append(f"{node_result.node.unique_id}: {node_result.message}")
    if not result.success or summary.failures:
        raise BuildFailed("dbt build failed: " + "; ".join(summary.failures or ["see var/dbt/logs"]))
    if not unit_tests_known_green:
        passed.parent.mkdir(parents=True, exist_ok=True)
        passed.write_text(project + "\n", "utf-8")
    summary.releases_quarantined, summary.identifier_conflicts = record_release_findings(settings, logical_date)
    return summary


def record_release_findings(settings: MsdbSettings, logical_date: date) -> tuple[int, int]:
    """What the build learnt about delivered releases, written where a data engineer looks: a release that
    cannot become a work goes to ops.quarantine (stage 'build', once per release), so that every loaded
    release is a work or a quarantine row; an identifier shared by different releases goes to
    ops.identifier_conflicts. Returns how many rows each got."""
    from pipelines.warehouse import writer

    with writer(settings.warehouse) as con:
        (quarantined,) = con.execute(
            """
            INSERT INTO ops.quarantine
            SELECT r.file_id, r.file_path, r.record_position, 'build', r.unusable_reason, ?, now()
            FROM intermediate.int_ddex_releases_classified AS r
            WHERE r.unusable_reason IS NOT NULL
              AND NOT EXISTS (
                  SELECT 1 FROM ops.quarantine AS q
                  WHERE q.stage = 'build' AND q.file_id = r.file_id AND q.location = r.record_position
              )
            ORDER BY r.file_path, r.record_position
            """,
            [logical_date],
        ).fetchone()  # DuckDB answers an INSERT with the number of rows it wrote
        (conflicts,) = con.execute(
            """
            INSERT INTO ops.identifier_conflicts
            SELECT c.identifier_type, c.identifier_value, c.source_keys, c.titles, c.holder_ids, c.file_ids,
                   c.file_paths, ?, now()
            FROM intermediate.int_ddex_identifier_conflicts AS c
            WHERE NOT EXISTS (
                SELECT 1 FROM ops.identifier_conflicts AS o
                WHERE o.identifier_type = c.identifier_type AND o.identifier_value = c.identifier_value
                  AND o.source_keys = c.source_keys AND o.file_ids = c.file_ids
            )
            ORDER BY c.identifier_type, c.identifier_value
            """,
            [logical_date],
        ).fetchone()
    return quarantined, conflicts


def build_docs(settings: MsdbSettings) -> Path:
    """`dbt docs generate` (with the static single-file page) into `<var_dir>/docs/`; returns index.html.

    The catalog is read from a scratch copy of the published warehouse, never the live file (a run may be
    writing it), so docs show the state of the last run or stage: build it first (`msdb run`)."""
    import shutil

    from pipelines.warehouse import published_path, published_reader
    from pipelines.warehouse.published import copy_file

    with published_reader(settings.warehouse):  # publishes a warehouse from before publishing existed
        pass
    published = published_path(settings.warehouse)
    scratch = settings.var_dir.resolve() / "dbt" / "docs-catalog"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        copy_file(published, scratch / "msdb.duckdb")
        if published.with_name(published.name + ".wal").exists():
            copy_file(published.with_name(published.name + ".wal"), scratch / "msdb.duckdb.wal")
        result = run_dbt(settings.model_copy(update={"warehouse": scratch / "msdb.duckdb"}), "docs", "generate", "--static", "--quiet")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if result.exception is not None or not result.success:
        raise BuildFailed(f"dbt docs generate failed: {result.exception or 'see var/dbt/logs'}")
    target = settings.var_dir.resolve() / "dbt" / "target"
    docs = settings.var_dir.resolve() / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "static_index.html", "manifest.json", "catalog.json"):
        if (target / name).exists():
            shutil.copyfile(target / name, docs / name)
    return docs / "index.html"
