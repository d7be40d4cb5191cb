"""The DAG files parse cleanly, carry the house defaults, and stay light at parse time.

Airflow is only ever imported in a fresh interpreter, never in the pytest process: importing it (even
`airflow.sdk`) puts a stdout handler on the root logger for every later test, and a fresh interpreter is
what the scheduler's parser sees anyway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
                "pool": t.pool,
                "outlets": [o.uri for o in t.outlets],
                "upstream": sorted(t.upstream_task_ids),
            }
            for t in dag.tasks
        },
    }

with open(out, "w") as f:
    json.dump({"import_errors": bag.import_errors, "dags": {i: describe(d) for i, d in bag.dags.items()}}, f)
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


def fresh_python(tmp_path: Path, script: str, *args: str):
    """Runs `script` in a new interpreter with a throwaway AIRFLOW_HOME; returns the JSON it wrote."""
    out = tmp_path / "out.json"
    airflow_home = tmp_path / "airflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env |= {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home}/airflow.db",
    }
    done = subprocess.run(
        [sys.executable, "-c", script, *args, str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


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


def test_every_task_retries_twice(dagbag):
    for dag_id, dag in dagbag["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["retries"] == 2, f"{dag_id}.{task_id}"
            assert task["retry_delay_s"] > 0, f"{dag_id}.{task_id}"


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


def test_nightly_runs_the_seven_stages_in_order_in_the_writer_pool(nightly):
    assert list(nightly["tasks"]) == NIGHTLY_STAGES
    for upstream, stage in zip(NIGHTLY_STAGES, NIGHTLY_STAGES[1:], strict=False):
        assert nightly["tasks"][stage]["upstream"] == [upstream]
    assert {task["pool"] for task in nightly["tasks"].values()} == {"duckdb_writer"}


def test_nightly_announces_its_assets(nightly):
    outlets = {stage: task["outlets"] for stage, task in nightly["tasks"].items() if task["outlets"]}
    assert outlets == {
        "build": ["msdb://warehouse/marts"],
        "tag": ["msdb://warehouse/kansei"],
        "similar": ["msdb://warehouse/similarity"],
        "ads": ["msdb://warehouse/similarity/ad_matches"],
        "export": ["msdb://deliveries/"],
    }


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
