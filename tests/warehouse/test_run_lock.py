"""One run at a time per warehouse; readers use the published copy; a killed stage is recorded by the next run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from pipelines.warehouse import published_path, writer
from pipelines.warehouse.run_lock import WarehouseBusy, lock_holder, run_lock

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipelines.warehouse.run_lock import run_lock

    warehouse, seconds = Path(sys.argv[1]), float(sys.argv[2])
    with run_lock(warehouse, "run --date 2026-11-24"):
        print("held", flush=True)
        time.sleep(seconds)
    """
)


def _hold(warehouse: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the warehouse's run lock for `seconds` (returns once it holds it)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(warehouse), str(seconds)], env=ENV, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    return process


def _msdb(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=120)


def test_a_second_run_or_stage_is_told_who_holds_the_warehouse(tmp_path):
    from pipelines.cli import EXIT_BUSY

    warehouse = tmp_path / "w" / "msdb.duckdb"
    holder = _hold(warehouse, 60)
    try:
        info = lock_holder(warehouse)
        assert (info["pid"], info["host"], info["command"]) == (holder.pid, socket.gethostname(), "run --date 2026-11-24")
        common = ["--date", "2026-11-25", "--landing", str(REPO / "data" / "samples"), "--warehouse", "w/msdb.duckdb", "--deliver", "out"]
        for command in (["run"], ["stage", "build"]):
            result = _msdb(*command, *common, cwd=tmp_path)
            assert result.returncode == EXIT_BUSY == 4, result.stderr
            assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
            assert result.stderr.strip() == (
                f"msdb: error: warehouse w/msdb.duckdb is busy: `msdb run --date 2026-11-24` (pid {holder.pid} on "
                f"{socket.gethostname()}, since {info['started_at']}) holds w/msdb.duckdb.lock; retry when it ends or "
                "pass --wait SECONDS"
            )
        assert not warehouse.exists()  # the second one never touched the warehouse
    finally:
        holder.kill()
        holder.wait()


def test_a_bounded_wait_takes_the_lock_once_the_holder_is_done(tmp_path):
    warehouse = tmp_path / "msdb.duckdb"
    holder = _hold(warehouse, 1.5)
    try:
        with pytest.raises(WarehouseBusy, match=r"is busy after waiting 0\.2 s: `msdb run --date 2026-11-24`"):
            with run_lock(warehouse, "stage tag", wait=0.2):
                pass
        started = time.monotonic()
        with run_lock(warehouse, "stage tag", wait=30) as outermost:
            assert outermost is True
            assert lock_holder(warehouse)["command"] == "stage tag"
            assert lock_holder(warehouse)["pid"] == os.getpid()
            with run_lock(warehouse, "stage tag") as nested:  # run_nightly around run_stage: the same lock
                assert nested is False
        assert 0.5 < time.monotonic() - started < 30
        assert lock_holder(warehouse) == {}  # emptied on release
    finally:
        holder.wait()


def test_the_lock_dies_with_its_process(tmp_path):
    warehouse = tmp_path / "msdb.duckdb"
    holder = _hold(warehouse, 60)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with run_lock(warehouse, "run --date 2026-11-25", wait=0) as outermost:
        assert outermost is True


QUARANTINED = ("music/label/2026-11-24/broken.xml", "file", "ingest", "XML syntax error: line 3", date(2026, 11, 24))

LIVE_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipelines.warehouse.run_lock import run_lock
    from pipelines.warehouse import writer

    warehouse = Path(sys.argv[1])
    with run_lock(warehouse, "run --date 2026-11-25"), writer(warehouse) as con:
        con.execute("DELETE FROM ops.quarantine")  # the run's own work, not yet published
        print("writing", flush=True)
        time.sleep(60)
    """
)


def test_quarantine_and_sql_read_the_published_copy_while_a_run_writes(tmp_path):
    warehouse = tmp_path / "w" / "msdb.duckdb"
    with writer(warehouse) as con:  # the last run's state, published when the writer closes
        con.execute("INSERT INTO ops.quarantine VALUES (NULL, ?, ?, ?, ?, ?, now())", list(QUARANTINED))
    run = subprocess.Popen([sys.executable, "-c", LIVE_WRITER, str(warehouse)], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert run.stdout.readline().strip() == "writing"
        with pytest.raises(duckdb.IOException):  # the live file is locked against every other process
            duckdb.connect(str(warehouse), read_only=True)
        result = _msdb("quarantine", "--date", "2026-11-24", "--warehouse", "w/msdb.duckdb", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "music/label/2026-11-24/broken.xml" in result.stdout and "XML syntax error: line 3" in result.stdout
        result = _msdb("sql", "--format", "csv", "SELECT reason FROM ops.quarantine", "--warehouse", "w/msdb.duckdb", cwd=tmp_path)
        assert (result.returncode, result.stdout) == (0, "reason\nXML syntax error: line 3\n")
    finally:
        run.kill()
        run.wait()


KILLED_STAGE = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    from pathlib import Path
    from pipelines import nightly
    from pipelines.settings import MsdbSettings

    def slow_stage(settings, logical_date):
        print("in stage", flush=True)
        time.sleep(60)

    nightly._stage_function = lambda name: slow_stage
    nightly.run_stage("tag", date(2026, 11, 24), MsdbSettings(warehouse=Path(sys.argv[1]), var_dir=Path(sys.argv[2])))
    """
)


def test_a_stage_killed_mid_way_is_recorded_when_the_next_run_starts(tmp_path, monkeypatch):
    from pipelines import nightly
    from pipelines.settings import MsdbSettings

    settings = MsdbSettings(warehouse=tmp_path / "msdb.duckdb", var_dir=tmp_path / "var")
    stage = subprocess.Popen(
        [sys.executable, "-c", KILLED_STAGE, str(settings.warehouse), str(settings.var_dir)], env=ENV, stdout=subprocess.PIPE, text=True
    )
    assert stage.stdout.readline().strip() == "in stage"
    stage.send_signal(signal.SIGKILL)  # no `finally` runs: the stage's row stays `running`
    stage.wait()
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT stage, status, finished_at FROM ops.stage_runs").fetchall() == [("tag", "running", None)]

    monkeypatch.setattr(nightly, "_stage_function", lambda name: lambda settings, logical_date: SimpleNamespace(files=[], by_kind=dict))
    nightly.run_stage("ingest", date(2026, 11, 25), settings)
    with duckdb.connect(str(published_path(settings.warehouse)), read_only=True) as con:
        rows = con.execute(
            "SELECT logical_date, stage, status, finished_at IS NOT NULL, summary FROM ops.stage_runs ORDER BY started_at"
        ).fetchall()
    assert [row[:4] for row in rows] == [(date(2026, 11, 24), "tag", "killed", True), (date(2026, 11, 25), "ingest", "success", True)]
    assert json.loads(rows[0][4])["error"].startswith("the process running this stage ended before the stage did (killed or lost)")


def test_a_failed_stage_row_is_failed_not_running(tmp_path, monkeypatch):
    from pipelines import nightly
    from pipelines.settings import MsdbSettings

    settings = MsdbSettings(warehouse=tmp_path / "msdb.duckdb", var_dir=tmp_path / "var")

    def broken(settings, logical_date):
        raise KeyboardInterrupt  # Ctrl-C mid-stage: recorded, not left running

    monkeypatch.setattr(nightly, "_stage_function", lambda name: broken)
    with pytest.raises(KeyboardInterrupt):
        nightly.run_stage("similar", date(2026, 11, 24), settings)
    with duckdb.connect(str(published_path(settings.warehouse)), read_only=True) as con:
        assert con.execute("SELECT stage, status, summary->>'error' FROM ops.stage_runs").fetchall() == [
            ("similar", "failed", "KeyboardInterrupt: ")
        ]
