"""`airflow dags test msdb_nightly D` and `msdb run --date D` on the same inputs leave the same warehouse rows
and deliver the same feed bytes: what is tested from a shell is what Airflow runs.

Both run as subprocesses on data/samples, each into its own tmp folder, side by side (one writer per
warehouse file, two files). Airflow gets a throwaway AIRFLOW_HOME with a SQLite metadata DB, migrated once
for this module.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"
LOGICAL_DATE = "2026-11-24"
STAGES = ["ingest", "build", "tag", "similar", "ads", "check", "export"]
# one ingest per holder folder of data/samples, one export per partner contract
INGEST_SOURCES = [
    "ads/aoba-fashion", "ads/hibiki-audio", "ads/mori-coffee", "ads/yamabiko-travel",
    "articles/harbour-review", "articles/tokyo-lifestyle", "music/sakura-records", "video/aozora-pictures",
]  # fmt: skip
PARTNERS = ["cinema-now", "kizuna-ads", "melody-stream"]
TASKS = [
    "ads", "build", "check", "claim_warehouse", "ingest_sources", "kansei_shards", "partners", "release_warehouse", "similar",
    "tag",
]  # fmt: skip
EMBED_SHARDS = ["0/2", "1/2"]  # MSDB_KANSEI_SHARDS unset: 2
COMPARED_TABLES = [
    "marts.dim_work",
    "marts.fct_licence_window",
    "kansei.work_tags",
    "similarity.work_neighbors",
    "marts.dim_article",
]
# When a row was loaded and by which run (kansei tags name theirs), not what it says: columns two runs never share.
LOAD_TIME_COLUMNS = {"ingested_at", "first_ingested_at", "last_ingested_at", "loaded_at", "run_id"}
TIMEOUT_S = 900


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without its Airflow or MSDB settings, offline for Hugging Face."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MSDB_"))}
    return env | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **extra}


def _msdb_env(root: Path) -> dict[str, str]:
    return {
        "MSDB_LANDING": str(SAMPLES),
        "MSDB_WAREHOUSE": str(root / "warehouse" / "msdb.duckdb"),
        "MSDB_DELIVER": str(root / "deliveries"),
        "MSDB_VAR_DIR": str(root / "var"),
    }


def _run(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> float:
    """Runs to completion with output in `log`; fails the test with the log's tail otherwise."""
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=TIMEOUT_S
        )
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{log.read_text()[-4000:]}"
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    """A migrated SQLite metadata DB with the `duckdb_writer` pool, reading the repo's dags/."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = _clean_env(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
    )
    airflow = [sys.executable, "-m", "airflow"]
    migrate_s = _run([*airflow, "db", "migrate"], env, home, home / "db_migrate.log")
    _run(
        [*airflow, "pools", "set", "duckdb_writer", "1", "one writer on the MSDB DuckDB warehouse"],
        env,
        home,
        home / "pools_set.log",
    )
    print(f"\nairflow db migrate: {migrate_s:.1f}s")
    return env


def _dags_test(env: dict[str, str], cwd: Path, log: Path) -> float:
    """`airflow dags test`, stopped at the first failed try: it would otherwise wait out `retry_delay` twice."""
    started = time.perf_counter()
    with log.open("w") as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "airflow", "dags", "test", "msdb_nightly", LOGICAL_DATE],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            while run.poll() is None:
                if "new_state=up_for_retry" in log.read_text(errors="replace"):
                    run.kill()
                    pytest.fail(f"a task of msdb_nightly failed:\n{log.read_text()[-6000:]}")
                if time.perf_counter() - started > TIMEOUT_S:
                    run.kill()
                    pytest.fail(f"airflow dags test still running after {TIMEOUT_S}s")
                time.sleep(1)
        finally:
            if run.poll() is None:
                run.kill()
            run.wait()
    assert run.returncode == 0, f"airflow dags test exited {run.returncode}:\n{log.read_text()[-4000:]}"
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def runs(airflow_env, tmp_path_factory) -> dict[str, Path]:
    """Output roots of the Airflow run and the shell run, run side by side."""
    a, b = tmp_path_factory.mktemp("dags_test"), tmp_path_factory.mktemp("msdb_run")
    started = time.perf_counter()
    with (b / "msdb_run.log").open("w") as shell_log:
        shell = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "run", "--date", LOGICAL_DATE],
            env=_clean_env(**_msdb_env(b)),
            cwd=b,
            stdout=shell_log,
            stderr=subprocess.STDOUT,
        )
        try:
            dags_test_s = _dags_test(airflow_env | _msdb_env(a), a, a / "dags_test.log")
            shell.wait(timeout=TIMEOUT_S)
        finally:
            if shell.poll() is None:
                shell.kill()
            shell.wait()
    assert shell.returncode == 0, (
        f"msdb run exited {shell.returncode}:\n{(b / 'msdb_run.log').read_text()[-4000:]}"
    )
    print(
        f"\nairflow dags test: {dags_test_s:.1f}s; both runs side by side: {time.perf_counter() - started:.1f}s"
    )
    return {"airflow": a, "shell": b}


@pytest.fixture(scope="module")
def metadata_db(airflow_env, runs) -> sqlite3.Connection:
    db = Path(airflow_env["AIRFLOW_HOME"]) / "airflow.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    yield con
    con.close()


def test_dag_run_succeeded_with_every_stage(metadata_db):
    (state, logical_date), *others = metadata_db.execute(
        "SELECT state, logical_date FROM dag_run WHERE dag_id = 'msdb_nightly'"
    ).fetchall()
    assert others == []
    assert state == "success"
    assert logical_date.startswith(f"{LOGICAL_DATE} 00:00:00")
    states = metadata_db.execute(
        "SELECT task_id, map_index, rendered_map_index, state FROM task_instance WHERE dag_id = 'msdb_nightly'"
        " ORDER BY task_id, map_index"
    ).fetchall()
    assert states == sorted(
        [(task, -1, None, "success") for task in TASKS]
        + [("ingest", i, source, "success") for i, source in enumerate(INGEST_SOURCES)]
        + [("embed", i, shard, "success") for i, shard in enumerate(EMBED_SHARDS)]
        + [("export", i, partner, "success") for i, partner in enumerate(PARTNERS)]
    )


def test_dag_run_emitted_its_assets(metadata_db):
    events = metadata_db.execute(
        "SELECT e.source_task_id, a.uri FROM asset_event e JOIN asset a ON a.id = e.asset_id"
        " ORDER BY e.source_task_id = 'export', CASE WHEN e.source_task_id = 'export' THEN a.uri END, e.id"
    ).fetchall()
    assert events == [
        ("build", "msdb://warehouse/marts"),
        ("tag", "msdb://warehouse/kansei"),
        ("similar", "msdb://warehouse/similarity"),
        ("ads", "msdb://warehouse/similarity/ad_matches"),
        # one per partner feed delivered, through the alias msdb_partner_feeds
        ("export", "msdb://deliveries/cinema-now/works"),
        ("export", "msdb://deliveries/kizuna-ads/ad_matches"),
        ("export", "msdb://deliveries/melody-stream/mead"),
        ("export", "msdb://deliveries/melody-stream/mood_stations"),
        ("export", "msdb://deliveries/melody-stream/works"),
    ]


def test_airflow_processed_the_same_tokyo_day(runs):
    import duckdb

    with duckdb.connect(str(runs["airflow"] / "warehouse" / "msdb.duckdb"), read_only=True) as con:
        stages = con.execute(
            "SELECT stage, status, logical_date::VARCHAR FROM ops.stage_runs ORDER BY started_at"
        ).fetchall()
    # the mapped tasks record one ingest per holder and one export per partner
    runs_of = {"ingest": len(INGEST_SOURCES), "export": len(PARTNERS)}
    assert stages == [(stage, "success", LOGICAL_DATE) for stage in STAGES for _ in range(runs_of.get(stage, 1))]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_delivered_feeds_are_byte_identical(runs):
    by_airflow = _files(runs["airflow"] / "deliveries")
    by_shell = _files(runs["shell"] / "deliveries")
    assert sorted(by_airflow) == sorted(by_shell)
    assert f"melody-stream/works/{LOGICAL_DATE}/works.jsonl" in by_airflow
    assert f"melody-stream/works/{LOGICAL_DATE}/manifest.json" in by_airflow
    assert any(name.endswith("/works.jsonl") and content for name, content in by_airflow.items())
    for name in by_airflow:
        assert by_airflow[name] == by_shell[name], name


def _rows(warehouse: Path, table: str) -> list[tuple]:
    import duckdb

    schema, name = table.split(".")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = [
            c
            for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
                " ORDER BY ordinal_position",
                [schema, name],
            ).fetchall()
            if c not in LOAD_TIME_COLUMNS
        ]
        assert columns, f"no table {table} in {warehouse}"
        return con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()


@pytest.mark.parametrize("table", COMPARED_TABLES)
def test_warehouse_rows_are_equal(table, runs):
    by_airflow = _rows(runs["airflow"] / "warehouse" / "msdb.duckdb", table)
    by_shell = _rows(runs["shell"] / "warehouse" / "msdb.duckdb", table)
    assert by_airflow, f"{table} is empty"
    assert by_airflow == by_shell
