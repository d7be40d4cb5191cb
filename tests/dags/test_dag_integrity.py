"""The DAG files parse cleanly, carry the house defaults, and stay light at parse time.

Airflow is only ever imported in a fresh interpreter, never in the pytest process: importing it (even
`airflow.sdk`) puts a stdout handler on the root logger for every later test, and a fresh interpreter is
what the scheduler's parser sees anyway.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
TOKYO = ZoneInfo("Asia/Tokyo")
HEAVY_MODULES = (
    "torch",
    "sentence_transformers",
    "transformers",
    "duckdb",
    "polars",
    "lxml",
    "great_expectations",
    "dbt",
)
NIGHTLY_STAGES = ["ingest", "build", "tag", "similar", "ads", "check", "export"]

DESCRIBE_DAGBAG = """
import json, sys
from datetime import datetime
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.encoders import coerce_to_core_timetable
from airflow.timetables.base import TimeRestriction

dags_folder, earliest, out = sys.argv[1], datetime.fromisoformat(sys.argv[2]), sys.argv[3]
bag = DagBag(dag_folder=dags_folder)

def describe(dag):
    timetable = coerce_to_core_timetable(dag.timetable)
    first = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=earliest, latest=None, catchup=True),
    )
    return {
        "doc_md": dag.doc_md,
        "tags": sorted(dag.tags),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "timetable": type(timetable).__name__,
        "timetable_args": timetable.serialize(),
        "timezone": str(dag.timezone),
        "first_run": first and {
            "logical_date": first.logical_date.isoformat(), "run_after": first.run_after.isoformat()
        },
        "tasks": {
            t.task_id: {
                "retries": t.retries,
                "retry_delay_s": t.retry_delay.total_seconds(),
                "retry_exponential_backoff": t.retry_exponential_backoff,
                "max_retry_delay_s": t.max_retry_delay and t.max_retry_delay.total_seconds(),
                "on_failure_callback": [
                    f"{c.__module__}.{c.__name__}" for c in callbacks(t.on_failure_callback)
                ],
                "pool": t.pool,
                "outlets": [getattr(o, "uri", None) or f"alias:{o.name}" for o in t.outlets],
                "upstream": sorted(t.upstream_task_ids),
                "mapped": type(t).__name__ == "DecoratedMappedOperator",
                "sensor_mode": getattr(t, "mode", None),
                "teardown": t.is_teardown,
            }
            for t in dag.tasks
        },
    }

def callbacks(value):
    return value if isinstance(value, list) else [value] if value else []

def backfill_runs(dag, from_date, to_date):
    # the logical dates `airflow backfill create --from-date --to-date` makes runs for (before it drops those
    # whose data interval has not ended yet), the bounds parsed as the CLI parses them
    from airflow.sdk.timezone import parse
    from airflow.serialization.serialized_objects import DagSerialization

    serialized = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    infos = serialized.iter_dagrun_infos_between(parse(from_date), parse(to_date))
    return [i.logical_date.isoformat() for i in infos]

BACKFILL_BOUNDS = [
    ("2026-11-24", "2026-11-26"),
    ("2026-11-24T02:00+09:00", "2026-11-26T02:00+09:00"),
]

with open(out, "w") as f:
    json.dump(
        {
            "import_errors": bag.import_errors,
            "dags": {i: describe(d) for i, d in bag.dags.items()},
            "backfills": {
                f"{a} {b}": backfill_runs(bag.dags["msdb_nightly"], a, b) for a, b in BACKFILL_BOUNDS
            },
        },
        f,
    )
"""

IMPORT_DAG_FILES = """
import importlib.util, json, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.py")):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
with open(sys.argv[2], "w") as f:
    json.dump(sorted(sys.modules), f)
"""

PROCESSING_DAYS = """
import importlib.util, json, sys
from datetime import datetime
from types import SimpleNamespace
spec = importlib.util.spec_from_file_location("msdb_nightly", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
cases = json.loads(sys.argv[2])
days = {}
for name, (logical_date, run_after) in cases.items():
    run = SimpleNamespace(
        logical_date=logical_date and datetime.fromisoformat(logical_date), run_after=datetime.fromisoformat(run_after)
    )
    days[name] = module.processing_day(run).isoformat()
with open(sys.argv[3], "w") as f:
    json.dump(days, f)
"""


def fresh_python(tmp_path: Path, script: str, *args: str, env: dict | None = None, stderr: bool = False):
    """Runs `script` in a new interpreter with a throwaway AIRFLOW_HOME (and `env`); returns the JSON it wrote
    (with `stderr`: what it printed on stderr)."""
    extra_env = env or {}
    out = tmp_path / "out.json"
    airflow_home = tmp_path / "airflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env |= {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home}/airflow.db",
    } | extra_env
    done = subprocess.run(
        [sys.executable, "-c", script, *args, str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr if stderr else json.loads(out.read_text())


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory) -> dict:
    """What Airflow's DagBag made of dags/; the example schedule starts at the Tokyo day 2026-11-24."""
    return fresh_python(
        tmp_path_factory.mktemp("dagbag"), DESCRIBE_DAGBAG, str(DAGS), "2026-11-24T00:00:00+09:00"
    )


@pytest.fixture(scope="module")
def nightly(dagbag) -> dict:
    return dagbag["dags"]["msdb_nightly"]


def test_dags_folder_has_no_import_errors(dagbag):
    assert dagbag["import_errors"] == {}
    assert "msdb_nightly" in dagbag["dags"]


def test_every_dag_is_tagged_and_documented(dagbag):
    for dag_id, dag in dagbag["dags"].items():
        assert dag["tags"], f"{dag_id} has no tags"
        assert dag["doc_md"] and dag["doc_md"].strip(), f"{dag_id} has no doc_md"


def test_every_task_retries_twice_with_exponential_backoff(dagbag):
    for dag_id, dag in dagbag["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["retries"] == 2, f"{dag_id}.{task_id}"
            assert task["retry_delay_s"] == 120, f"{dag_id}.{task_id}"
            assert task["retry_exponential_backoff"] == 2.0, f"{dag_id}.{task_id}"
            assert task["max_retry_delay_s"] == 1800, f"{dag_id}.{task_id}"


def test_every_task_alerts_when_it_fails_for_good(dagbag):
    for dag_id, dag in dagbag["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["on_failure_callback"] == ["pipelines.alerts.on_task_failure"], f"{dag_id}.{task_id}"


def test_nightly_runs_daily_at_two_tokyo_time_without_catchup(nightly):
    assert nightly["tags"] == ["msdb", "nightly"]
    assert nightly["timetable"] == "CronDataIntervalTimetable"
    assert nightly["timetable_args"] == {"expression": "0 2 * * *", "timezone": "Asia/Tokyo"}
    assert nightly["timezone"] == "Asia/Tokyo"
    assert nightly["catchup"] is False
    assert nightly["max_active_runs"] == 1


def test_scheduled_run_firing_at_two_on_the_25th_has_the_24th_as_logical_date(nightly):
    run_after = datetime.fromisoformat(nightly["first_run"]["run_after"]).astimezone(TOKYO)
    logical_date = datetime.fromisoformat(nightly["first_run"]["logical_date"]).astimezone(TOKYO)
    assert run_after == datetime(2026, 11, 25, 2, 0, tzinfo=TOKYO)
    assert logical_date == datetime(2026, 11, 24, 2, 0, tzinfo=TOKYO)


# task → its upstream tasks: claim the warehouse, list holders, partners and text shards, then the stages in
# order, the shards' embedding between build and tag
NIGHTLY_WIRING = {
    "claim_warehouse": [],
    "ingest_sources": ["claim_warehouse"],
    "partners": ["claim_warehouse"],
    "kansei_shards": ["claim_warehouse"],
    "ingest": ["ingest_sources"],
    "build": ["ingest"],
    "embed": ["build", "kansei_shards"],
    "tag": ["embed"],
    "similar": ["tag"],
    "ads": ["similar"],
    "check": ["ads"],
    "export": ["check", "partners"],
    "release_warehouse": ["claim_warehouse", "export"],
}


def test_nightly_wires_the_stages_in_order(nightly):
    assert {task_id: task["upstream"] for task_id, task in nightly["tasks"].items()} == NIGHTLY_WIRING


def test_nightly_maps_ingest_per_holder_embedding_per_shard_and_export_per_partner(nightly):
    mapped = sorted(task_id for task_id, task in nightly["tasks"].items() if task["mapped"])
    assert mapped == ["embed", "export", "ingest"]


def test_every_stage_writes_in_the_writer_pool(nightly):
    pools = {task_id: task["pool"] for task_id, task in nightly["tasks"].items()}
    assert {t for t, pool in pools.items() if pool == "duckdb_writer"} == set(NIGHTLY_STAGES)
    # what writes no warehouse row waits in the default pool, never holding the writer's one slot; the embedding
    # shards (they read the published copy and write the embedding cache) run there side by side
    assert {t for t, pool in pools.items() if pool != "duckdb_writer"} == {
        "claim_warehouse", "ingest_sources", "partners", "kansei_shards", "embed", "release_warehouse"
    }  # fmt: skip
    assert pools["embed"] == "default_pool"


def test_runs_follow_one_another_through_a_claim_released_by_a_teardown(nightly):
    claim, release = nightly["tasks"]["claim_warehouse"], nightly["tasks"]["release_warehouse"]
    assert claim["sensor_mode"] == "reschedule"  # a waiting run holds no worker slot
    assert release["teardown"] is True  # runs even when a stage failed, so the next run is not stuck
    assert [t for t, task in nightly["tasks"].items() if task["teardown"]] == ["release_warehouse"]


def test_nightly_announces_its_assets(nightly):
    outlets = {stage: task["outlets"] for stage, task in nightly["tasks"].items() if task["outlets"]}
    assert outlets == {
        "build": ["msdb://warehouse/marts"],
        "tag": ["msdb://warehouse/kansei"],
        "similar": ["msdb://warehouse/similarity"],
        "ads": ["msdb://warehouse/similarity/ad_matches"],
        # each partner feed is `msdb://deliveries/<partner_id>/<feed>`, announced through this alias
        "export": ["alias:msdb_partner_feeds"],
    }


def test_backfill_over_bare_dates_misses_the_first_day(dagbag):
    # `--from-date 2026-11-24` is 2026-11-24 00:00 UTC, after the 24th's logical date (02:00 JST = 17:00 UTC on
    # the 23rd): the runs are those of the 25th and the 26th (what the issue saw: two runs, not three)
    runs = dagbag["backfills"]["2026-11-24 2026-11-26"]
    assert [datetime.fromisoformat(r).astimezone(TOKYO) for r in runs] == [
        datetime(2026, 11, 25, 2, 0, tzinfo=TOKYO),
        datetime(2026, 11, 26, 2, 0, tzinfo=TOKYO),
    ]


def test_backfill_bounds_at_two_tokyo_time_take_each_day_once(dagbag):
    # the documented bounds: the logical dates of the first and last day, both included
    runs = dagbag["backfills"]["2026-11-24T02:00+09:00 2026-11-26T02:00+09:00"]
    assert [datetime.fromisoformat(r).astimezone(TOKYO) for r in runs] == [
        datetime(2026, 11, 24, 2, 0, tzinfo=TOKYO),
        datetime(2026, 11, 25, 2, 0, tzinfo=TOKYO),
        datetime(2026, 11, 26, 2, 0, tzinfo=TOKYO),
    ]


@pytest.fixture(scope="module")
def modules_after_parsing(tmp_path_factory) -> set[str]:
    """sys.modules of a fresh interpreter after importing every file of dags/, as the scheduler does."""
    return set(fresh_python(tmp_path_factory.mktemp("parse"), IMPORT_DAG_FILES, str(DAGS)))


@pytest.mark.parametrize("heavy", HEAVY_MODULES)
def test_parsing_dags_does_not_import(heavy, modules_after_parsing):
    loaded = sorted(m for m in modules_after_parsing if m == heavy or m.startswith(heavy + "."))
    assert loaded == []


PROCESSING_DAY_CASES = {
    # name: (logical_date, run_after) -> the Tokyo day the run processes
    "airflow dags test msdb_nightly 2026-11-24": ("2026-11-24T00:00:00+00:00", "2026-11-25T09:30:00+00:00"),
    "scheduled, fired 2026-11-25 02:00 JST": ("2026-11-24T02:00:00+09:00", "2026-11-25T02:00:00+09:00"),
    "logical date late on the 23rd in UTC": ("2026-11-23T16:00:00+00:00", "2026-11-25T02:00:00+09:00"),
    "manual run without logical date, 2026-11-25 00:30 JST": (None, "2026-11-24T15:30:00+00:00"),
}


@pytest.fixture(scope="module")
def processing_days(tmp_path_factory) -> dict[str, str]:
    return fresh_python(
        tmp_path_factory.mktemp("days"),
        PROCESSING_DAYS,
        str(DAGS / "msdb_nightly.py"),
        json.dumps(PROCESSING_DAY_CASES),
    )


@pytest.mark.parametrize("case", PROCESSING_DAY_CASES)
def test_each_run_processes_the_tokyo_day_of_its_logical_date(case, processing_days):
    assert date.fromisoformat(processing_days[case]) == date(2026, 11, 24)


FAIL_A_TASK = """
import json, logging, sys
from datetime import datetime, timezone
from types import SimpleNamespace
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from pipelines.alerts import on_task_failure
ti = SimpleNamespace(dag_id="msdb_nightly", run_id="scheduled__2026-11-24T17:00:00+00:00", task_id="export",
                     map_index=1, try_number=3)
run = SimpleNamespace(run_id=ti.run_id, logical_date=datetime(2026, 11, 24, 17, tzinfo=timezone.utc))
on_task_failure({"ti": ti, "dag_run": run, "exception": OSError("deliveries/melody-stream: no space left")})
with open(sys.argv[1], "w") as f:
    json.dump("called", f)
"""


class _Webhook(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Webhook.received.append((self.path, json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    _Webhook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _Webhook.received
    server.shutdown()
    server.server_close()


def test_a_failed_task_posts_to_the_msdb_alerts_webhook(tmp_path, webhook):
    url, received = webhook
    fresh_python(tmp_path, FAIL_A_TASK, env={"AIRFLOW_CONN_MSDB_ALERTS": f"{url}/hooks/msdb"})
    assert received == [
        (
            "/hooks/msdb",
            {
                "text": "MSDB msdb_nightly.export[1] failed (run scheduled__2026-11-24T17:00:00+00:00, try 3): "
                "OSError: deliveries/melody-stream: no space left",
                "alert": {
                    "dag_id": "msdb_nightly",
                    "run_id": "scheduled__2026-11-24T17:00:00+00:00",
                    "task_id": "export",
                    "map_index": 1,
                    "try_number": 3,
                    "logical_date": "2026-11-24T17:00:00+00:00",
                    "error": "OSError: deliveries/melody-stream: no space left",
                },
            },
        )
    ]


def test_without_the_connection_a_failed_task_only_logs(tmp_path, webhook):
    _, received = webhook
    log = fresh_python(tmp_path, FAIL_A_TASK, stderr=True)
    assert received == []
    assert (
        "MSDB msdb_nightly.export[1] failed (run scheduled__2026-11-24T17:00:00+00:00, try 3): "
        "OSError: deliveries/melody-stream: no space left"
    ) in log
