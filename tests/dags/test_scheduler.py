"""A real Airflow: scheduler, dag-processor and api-server on 127.0.0.1 over a PostgreSQL metadata database,
`msdb_nightly` triggered through the public REST API (v2, with a JWT from the simple auth manager), run to
success by the LocalExecutor, its feeds checked on disk.

The PostgreSQL server is a private cluster (initdb, pg_ctl; `postgres_server` in `tests/conftest.py`) on a free
port in a temporary folder, stopped at the end: it works in CI (`.ci/run` installs PostgreSQL when missing) and on
any machine with its binaries. Without them, or without Airflow's driver (psycopg), the test skips and says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import free_port

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"
LOGICAL_DATE = "2026-11-24T02:00:00+09:00"  # the run a scheduler fires at 02:00 JST on the 25th: processes the 24th
USER, PASSWORD = "msdb-ci", "msdb-ci-password"
STARTUP_TIMEOUT_S = 240
RUN_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def postgres(postgres_server):
    """Airflow's metadata database in the session's private PostgreSQL cluster (`tests/conftest.py`); yields
    its SQLAlchemy URL."""
    try:
        import psycopg  # noqa: F401 (Airflow's driver for postgresql+psycopg)
    except ImportError:
        pytest.skip("psycopg not installed: pip install -e '.[dev]' installs it")
    return postgres_server.sqlalchemy_url(postgres_server.create_database("airflow_scheduler"))


def _api(base: str, method: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def _wait_for(what: str, check, timeout: float, logs: Path, interval: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            result = None
        if result:
            return result
        time.sleep(interval)
    tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in sorted(logs.glob("*.log")))
    pytest.fail(f"{what}: not after {timeout:.0f}s\n{tails}")


@pytest.fixture(scope="module")
def cluster(postgres, tmp_path_factory):
    """scheduler + dag-processor + api-server over the PostgreSQL DB; yields (API base URL, token, MSDB root)."""
    home = tmp_path_factory.mktemp("airflow_home")
    msdb = tmp_path_factory.mktemp("msdb")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (home / "passwords.json").write_text(json.dumps({USER: PASSWORD}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MSDB_"))}
    env |= {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": postgres,  # psycopg 3 drives the async engine too
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": "msdb-ci-only-secret-" + "x" * 48,
        # on 2 busy cores the api-server's first execution-API answers have taken 40 s; the default 5 s timeout
        # makes the worker ask again, and the repeated "start this task" is refused (the task is already running)
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "180",
        # manual runs only: no scheduled run of the current night competes with the one this test triggers
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
        "MSDB_LANDING": str(SAMPLES),
        "MSDB_WAREHOUSE": str(msdb / "warehouse" / "msdb.duckdb"),
        "MSDB_DELIVER": str(msdb / "deliveries"),
        "MSDB_VAR_DIR": str(msdb / "var"),
    }
    airflow = [sys.executable, "-m", "airflow"]
    migrate = subprocess.run([*airflow, "db", "migrate"], env=env, cwd=home, capture_output=True, text=True)
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    processes = []
    try:
        for component in (["api-server", "--host", "127.0.0.1", "--port", str(port)], ["scheduler"], ["dag-processor"]):
            log = (home / f"{component[0]}.log").open("w")
            processes.append(
                subprocess.Popen([*airflow, *component], env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT)
            )
        _wait_for("api-server answering", lambda: _api(base, "GET", "/api/v2/monitor/health"), STARTUP_TIMEOUT_S, home)
        token = _api(base, "POST", "/auth/token", body={"username": USER, "password": PASSWORD})["access_token"]
        yield base, token, msdb, home
    finally:
        for process in processes:
            process.terminate()
        deadline = time.monotonic() + 30
        for process in processes:
            try:
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()  # its own children (the LocalExecutor's workers) end with it or are orphans idle
                process.wait()


@pytest.fixture(scope="module")
def finished_run(cluster) -> dict:
    base, token, msdb, home = cluster
    # the duckdb_writer pool, through the API as an operator would (Airflow does not create pools)
    _api(base, "POST", "/api/v2/pools", token, {"name": "duckdb_writer", "slots": 1,
                                                 "description": "one writer on the MSDB DuckDB warehouse"})  # fmt: skip
    _wait_for(
        "msdb_nightly parsed by the dag-processor",
        lambda: _api(base, "GET", "/api/v2/dags/msdb_nightly", token).get("dag_id"),
        STARTUP_TIMEOUT_S,
        home,
    )
    started = time.monotonic()
    run = _api(base, "POST", "/api/v2/dags/msdb_nightly/dagRuns", token, {"logical_date": LOGICAL_DATE})
    path = f"/api/v2/dags/msdb_nightly/dagRuns/{urllib.request.quote(run['dag_run_id'], safe='')}"

    def finished():
        state = _api(base, "GET", path, token)["state"]
        if state in ("success", "failed"):
            return state
        tasks = _api(base, "GET", f"{path}/taskInstances?limit=100", token)["task_instances"]
        retrying = [(t["task_id"], t["map_index"]) for t in tasks if t["state"] == "up_for_retry"]
        # a failed try would be retried minutes later (exponential backoff): fail now, with the logs
        return f"a task failed its first try: {retrying}" if retrying else None

    state = _wait_for("msdb_nightly run finished", finished, RUN_TIMEOUT_S, home, interval=5)
    print(f"\nmsdb_nightly through the scheduler: {state} in {time.monotonic() - started:.0f}s")
    tasks = _api(base, "GET", f"{path}/taskInstances?limit=100", token)["task_instances"]
    return {"state": state, "run": run, "tasks": tasks, "msdb": msdb}


def test_the_triggered_run_succeeds(finished_run):
    failed = [(t["task_id"], t["map_index"], t["state"]) for t in finished_run["tasks"] if t["state"] != "success"]
    assert (finished_run["state"], failed) == ("success", [])
    # the logical date the scheduler fires at 02:00 JST on the 25th, in UTC: the run processes the 24th
    assert datetime.fromisoformat(finished_run["run"]["logical_date"]) == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


def test_every_holder_partner_and_embedding_shard_had_its_task(finished_run):
    mapped = sorted((t["task_id"], t["rendered_map_index"]) for t in finished_run["tasks"] if t["map_index"] >= 0)
    assert mapped == [
        ("embed", "0/2"),  # MSDB_KANSEI_SHARDS unset: 2 shards of the texts to embed
        ("embed", "1/2"),
        ("export", "cinema-now"),
        ("export", "kizuna-ads"),
        ("export", "melody-stream"),
        ("ingest", "ads/aoba-fashion"),
        ("ingest", "ads/hibiki-audio"),
        ("ingest", "ads/mori-coffee"),
        ("ingest", "ads/yamabiko-travel"),
        ("ingest", "articles/harbour-review"),
        ("ingest", "articles/tokyo-lifestyle"),
        ("ingest", "music/sakura-records"),
        ("ingest", "video/aozora-pictures"),
    ]


def test_the_feeds_of_the_24th_are_on_disk(finished_run):
    deliveries = finished_run["msdb"] / "deliveries"
    for partner in ("melody-stream", "cinema-now"):
        manifest = json.loads((deliveries / partner / "works" / "2026-11-24" / "manifest.json").read_text())
        assert [f["name"] for f in manifest["files"]] == ["works.jsonl"]
    music = (deliveries / "melody-stream" / "works" / "2026-11-24" / "works.jsonl").read_text(encoding="utf-8")
    assert "JPSK02600001" in music and "夜明けの街角" in music
    video = (deliveries / "cinema-now" / "works" / "2026-11-24" / "works.jsonl").read_text(encoding="utf-8")
    assert "海辺の約束" in video


def test_the_run_released_the_warehouse(finished_run):
    warehouse = finished_run["msdb"] / "warehouse"
    assert not (warehouse / "msdb.duckdb.run-claim").exists()
