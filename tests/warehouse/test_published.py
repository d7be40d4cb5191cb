"""`msdb sql` reads the published copy while another process holds the warehouse read-write."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.warehouse import publish, published_path, writer

REPO = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipelines.warehouse import writer

    warehouse, ready, stop = (Path(a) for a in sys.argv[1:4])
    with writer(warehouse) as con:
        con.execute("INSERT INTO ops.stage_runs VALUES ('2026-11-24', 'during', 'running', now(), NULL, NULL)")
        ready.write_text("holding the lock")
        deadline = time.monotonic() + 60
        while not stop.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    """
)


def _stages(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def test_sql_reads_the_last_published_state_while_a_run_writes(tmp_path):
    warehouse = tmp_path / "warehouse" / "msdb.duckdb"
    with writer(warehouse) as con:
        con.execute("INSERT INTO ops.stage_runs VALUES ('2026-11-24', 'before', 'success', now(), now(), NULL)")
    assert published_path(warehouse).exists()  # the writer published on close

    ready, stop = tmp_path / "ready", tmp_path / "stop"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(warehouse), str(ready), str(stop)], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert process.poll() is None, "writer process died"
            assert time.monotonic() < deadline, "writer process never took the lock"
            time.sleep(0.05)
        # the live file is locked against every other process, readers included ...
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(warehouse), read_only=True)
        # ... and `msdb sql` still answers, from the published copy
        runner = CliRunner()
        output = _stages(
            runner.invoke(app, ["sql", "SELECT stage FROM ops.stage_runs ORDER BY stage", "--warehouse", str(warehouse)])
        )
        assert "before" in output and "during" not in output
    finally:
        stop.write_text("done")
        process.wait(timeout=60)
    assert process.returncode == 0

    # the writer published when it closed: the next query sees its work
    output = _stages(CliRunner().invoke(app, ["sql", "SELECT stage FROM ops.stage_runs ORDER BY stage", "--warehouse", str(warehouse)]))
    assert "before" in output and "during" in output


def test_sql_is_read_only_and_reports_errors(tmp_path):
    warehouse = tmp_path / "msdb.duckdb"
    with writer(warehouse):
        pass
    result = CliRunner().invoke(app, ["sql", "CREATE TABLE raw.x (a INT)", "--warehouse", str(warehouse)])
    assert result.exit_code == 1 and "read-only" in result.output.lower()


def test_publish_replaces_the_copy_atomically(tmp_path):
    warehouse = tmp_path / "msdb.duckdb"
    with writer(warehouse) as con:
        con.execute("CREATE TABLE ops.marker AS SELECT 1 AS version")
    reader_of_old = duckdb.connect(str(published_path(warehouse)), read_only=True)
    with writer(warehouse) as con:
        con.execute("UPDATE ops.marker SET version = 2")
    publish(warehouse)
    # a reader that opened the old copy keeps reading it; a new reader sees the new one
    assert reader_of_old.execute("SELECT version FROM ops.marker").fetchone() == (1,)
    reader_of_old.close()
    with duckdb.connect(str(published_path(warehouse)), read_only=True) as con:
        assert con.execute("SELECT version FROM ops.marker").fetchone() == (2,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["msdb.duckdb", "msdb.published.duckdb"]


def test_a_stage_publishes_once_when_it_ends_and_a_night_once_at_its_end(tmp_path, monkeypatch):
    from pipelines import nightly
    from pipelines.settings import MsdbSettings
    from pipelines.warehouse import published

    settings = MsdbSettings(warehouse=tmp_path / "msdb.duckdb", var_dir=tmp_path / "var")
    copies: list[Path] = []
    publish_now = published.publish
    monkeypatch.setattr(published, "publish", lambda warehouse: copies.append(warehouse) or publish_now(warehouse))

    def stage(settings, logical_date):
        for step in ("first", "second"):  # two writers, as build (dbt) and the stages have
            with writer(settings.warehouse) as con:
                con.execute("INSERT INTO ops.stage_runs VALUES (?, ?, 'running', now(), NULL, NULL)", [logical_date, step])
        assert copies == []  # deferred: readers still see the state before the stage (or the night)
        return SimpleNamespace(files=[], by_kind=dict)

    monkeypatch.setattr(nightly, "_stage_function", lambda name: stage)
    nightly.run_stage("check", date(2026, 11, 24), settings)
    assert copies == [settings.warehouse]
    with duckdb.connect(str(published_path(settings.warehouse)), read_only=True) as con:
        assert con.execute("SELECT stage FROM ops.stage_runs ORDER BY stage").fetchall() == [("check",), ("first",), ("second",)]

    copies.clear()
    monkeypatch.setattr(nightly, "report", lambda settings, logical_date: None)
    nightly.run_nightly(settings, date(2026, 11, 25))
    assert copies == [settings.warehouse]  # six stages, one copy


def test_a_failing_stage_still_publishes_what_was_committed(tmp_path, monkeypatch):
    from pipelines import nightly
    from pipelines.settings import MsdbSettings

    settings = MsdbSettings(warehouse=tmp_path / "msdb.duckdb", var_dir=tmp_path / "var")

    def stage(settings, logical_date):
        with writer(settings.warehouse) as con:
            con.execute("CREATE TABLE ops.marker AS SELECT 1 AS version")
        raise RuntimeError("broken")

    monkeypatch.setattr(nightly, "_stage_function", lambda name: stage)
    with pytest.raises(RuntimeError, match="broken"):
        nightly.run_stage("build", date(2026, 11, 24), settings)
    with duckdb.connect(str(published_path(settings.warehouse)), read_only=True) as con:
        assert con.execute("SELECT version FROM ops.marker").fetchone() == (1,)
        assert con.execute("SELECT stage, status FROM ops.stage_runs").fetchall() == [("build", "failed")]


@pytest.mark.parametrize("file_system", ["as it is", "without reflink or copy_file_range"])
def test_the_copy_is_byte_identical_whichever_way_it_is_made(tmp_path, monkeypatch, file_system):
    import errno
    import fcntl
    import os

    from pipelines.warehouse.published import copy_file

    if file_system != "as it is":

        def unsupported(*args):
            raise OSError(errno.EOPNOTSUPP, "not here")

        monkeypatch.setattr(fcntl, "ioctl", unsupported)
        monkeypatch.setattr(os, "copy_file_range", unsupported)
    source, destination = tmp_path / "source.duckdb", tmp_path / "copy.duckdb"
    source.write_bytes(os.urandom(3 << 20) + b"tail")
    destination.write_bytes(b"an older, longer copy" * (1 << 18))
    way = copy_file(source, destination)
    assert destination.read_bytes() == source.read_bytes()
    assert way in ({"reflink", "copy_file_range", "copy"} if file_system == "as it is" else {"copy"})


def test_the_next_run_removes_a_copy_a_killed_publish_left_but_not_one_being_made(tmp_path, monkeypatch):
    import fcntl
    import os

    from pipelines import nightly
    from pipelines.settings import MsdbSettings

    settings = MsdbSettings(warehouse=tmp_path / "msdb.duckdb", var_dir=tmp_path / "var")
    with writer(settings.warehouse) as con:
        con.execute("CREATE TABLE ops.marker AS SELECT 1 AS version")
    abandoned = tmp_path / ".msdb-partial.msdb.published.duckdb.k9x2abcd"  # its publisher was killed mid-copy
    legacy = tmp_path / ".msdb.published.duckdb.a1b2c3d4"  # the name earlier versions gave a copy in progress
    being_made = tmp_path / ".msdb-partial.msdb.published.duckdb.live1234"  # another process's, still writing
    for path in (abandoned, legacy, being_made):
        path.write_bytes(settings.warehouse.read_bytes())
    held = os.open(being_made, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)  # as `pipelines.partial_files.partial_file` holds it while it writes
    try:
        monkeypatch.setattr(nightly, "_stage_function", lambda name: lambda settings, logical_date: SimpleNamespace(files=[], by_kind=dict))
        nightly.run_stage("ingest", date(2026, 11, 24), settings)
        assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
            ".msdb-partial.msdb.published.duckdb.live1234", "msdb.duckdb", "msdb.duckdb.lock", "msdb.published.duckdb"
        ]
    finally:
        os.close(held)
    nightly.run_stage("ingest", date(2026, 11, 25), settings)  # its writer gone: removed by the next run
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["msdb.duckdb", "msdb.duckdb.lock", "msdb.published.duckdb"]
