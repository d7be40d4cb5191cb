"""Crash tests: `kill -9` in the middle of every stage and at every stage boundary, then a rerun; the warehouse and
the delivered feeds equal those of an uninterrupted run, and nothing partial is left.

One warehouse goes through the night of 2026-11-24 on `data/samples` stage by stage, each stage a process, as
Airflow runs them (`msdb stage S`). Each stage is killed mid-way (export at three points: melody-stream's data
file written but not yet linked, linked but no manifest, manifest published but not in the ledger), then run
again and killed at its end, while it publishes the warehouse copy (the boundary with the next stage: the stage
is committed, the copy half-made). Then the next stage. A last `msdb stage export` (export's retry: every feed
found published) removes the partial copy the last kill left and publishes the warehouse. (A last `msdb run`
of the whole night passes the same checks, but costs a night: 43 CPU seconds.) The reference is the session's uninterrupted run of the same landing and date (`sample_run`).

A kill is placed by DRIVER: it wraps one function of the stage so that the process prints `paused` and sleeps
there, then runs `msdb` as the command line does; the test sends SIGKILL, so no `finally` and no atexit runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import selectors
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.nightly import STAGES
from pipelines.warehouse import published_path
from tests.conftest import SAMPLE_DATE, SAMPLES

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DATE = SAMPLE_DATE.isoformat()

DRIVER = textwrap.dedent(
    """
    import importlib, sys, time

    point, args = sys.argv[1], sys.argv[2:]


    def pause():
        print("paused", point, flush=True)
        time.sleep(600)


    def wrap(owner, name, nth, when, match=lambda *a, **k: True):
        # the nth call of owner.name matching `match` pauses before it runs, or after it returned
        owner = importlib.import_module(owner) if isinstance(owner, str) else owner
        original, calls = getattr(owner, name), []

        def wrapped(*a, **k):
            hit = match(*a, **k) and (calls.append(1) or len(calls) == nth)
            if hit and when == "before":
                pause()
            result = original(*a, **k)
            if hit:
                pause()
            return result

        setattr(owner, name, wrapped)


    if point == "ingest":  # four files committed, the fifth not begun
        wrap("pipelines.ingest.loader", "ingest_file", 5, "before")
    elif point == "build":  # dbt has built or tested 20 nodes
        import dbt.cli.main as dbt_main

        finished, runner = [], dbt_main.dbtRunner

        def on_event(event):
            if event.info.name == "NodeFinished":
                finished.append(1)
                if len(finished) == 20:
                    pause()

        class PausingRunner(runner):
            def __init__(self, manifest=None, callbacks=None):
                super().__init__(manifest=manifest, callbacks=[*(callbacks or []), on_event])

        dbt_main.dbtRunner = PausingRunner
    elif point == "tag":  # the scored texts committed to the cache, the tags not written
        wrap("pipelines.kansei", "_write_batch", 1, "after")
    elif point == "similar":  # work neighbours computed in the open transaction
        wrap("pipelines.similarity", "match_articles_to_works", 1, "before")
    elif point == "ads":  # contexts committed, the matches' transaction open
        wrap("pipelines.ads", "_match_articles", 1, "before")
    elif point == "check":  # two suites evaluated
        wrap("pipelines.check.sql_expectations", "evaluate_counted", 3, "before")
    elif point == "export:data":  # cinema-now and kizuna-ads delivered; melody-stream's works.jsonl written, not linked
        import os as real_os
        from pipelines.export import targets

        class PausingOs:
            def __getattr__(self, name):
                return getattr(real_os, name)

            def link(self, source, destination):
                if "melody-stream" in str(destination):
                    pause()
                return real_os.link(source, destination)

        targets.os = PausingOs()
    elif point == "export:manifest":  # melody-stream's works.jsonl linked, its manifest not written
        from pipelines.export.targets import LocalTarget

        melody_manifest = lambda self, key, body: key.startswith("melody-stream/works/") and key.endswith("/manifest.json")  # noqa: E731
        wrap(LocalTarget, "put_new", 1, "before", melody_manifest)
    elif point == "export:ledger":  # melody-stream's manifest published, its state and ledger row not committed
        wrap("pipelines.export", "commit_state", 1, "before", lambda con, plan, day: plan.partner_id == "melody-stream")
    elif point == "publish":  # the stage committed; the published copy half-made (a full partial file)
        wrap("pipelines.warehouse.published", "copy_file", 1, "after")
    else:
        raise SystemExit(f"unknown point {point}")

    from pipelines.cli import main

    sys.exit(main(args))
    """
)


def _env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", "MSDB_VAR_DIR": str(tmp / "var"),
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    }  # fmt: skip


def _paused_then_killed(tmp: Path, point: str, *args: str, timeout: float = 600) -> None:
    """Run `msdb args` through DRIVER until it pauses at `point`, then SIGKILL it."""
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, point, *args], cwd=tmp, env=_env(tmp),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output: list[str] = []
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and selector.select(deadline - time.monotonic()):
            line = process.stdout.readline()
            if not line or line.startswith(f"paused {point}"):
                break
            output.append(line)
    paused = process.poll() is None
    process.send_signal(signal.SIGKILL) if paused else None
    process.wait()
    process.stdout.close()
    assert paused, f"{point}: `msdb {' '.join(args)}` ended (exit {process.returncode}) without pausing:\n{''.join(output)[-3000:]}"


def _children_cpu() -> float:
    """CPU seconds of the processes this one started and waited for (the killed ones included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _files(root: Path) -> dict[str, str]:
    """Every file under root (dot files included): relative path → sha256."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*")) if path.is_file()
    }  # fmt: skip


def _partners_see_whole_deliveries(deliveries: Path, reference: Path) -> int:
    """What a partner can take (a folder with its manifest) is whole and is the uninterrupted run's delivery:
    the same manifest, every file it lists with its sha256. Returns how many manifests there are."""
    manifests = sorted(deliveries.rglob("manifest.json"))
    for manifest in manifests:
        relative = manifest.relative_to(deliveries)
        assert manifest.read_bytes() == (reference / relative).read_bytes(), relative
        for entry in json.loads(manifest.read_text())["files"]:
            assert hashlib.sha256((manifest.parent / entry["name"]).read_bytes()).hexdigest() == entry["sha256"], relative
    return len(manifests)


# columns that say when or in which run, not what: they differ between two uninterrupted runs
VOLATILE = {
    "run_id", "previous_run_id", "run_started_at", "ingested_at", "first_ingested_at", "last_ingested_at",
    "recorded_at", "checked_at", "quarantined_at", "detected_at", "evaluated_at", "delivered_at", "published_at",
    "acknowledged_at", "started_at", "finished_at", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to",
    "last_delivery_at", "changed_at", "delivery_uri", "destination", "reason",
}  # fmt: skip
DIGESTED_SCHEMAS = ("raw", "intermediate", "marts", "snapshots", "kansei", "similarity", "exports")
DIGESTED_OPS = ("ops.ingest_files", "ops.quarantine", "ops.quality_results", "ops.identifier_conflicts")


# histories with a row per attempt or per run: compared on what an uninterrupted night has too
FIRST_ATTEMPTS = {
    "exports.delivery_ledger": " WHERE published_at IS NOT NULL",  # one per feed, whichever attempt published it
}


def _digests(warehouse: Path) -> dict[str, tuple[int, str]]:
    """Each warehouse table: (rows, sha256 of its rows sorted, without VOLATILE columns; FIRST_ATTEMPTS only)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            f"{schema}.{name}"
            for schema, name in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                "AND table_catalog = current_database() ORDER BY ALL"
            ).fetchall()
            if schema in DIGESTED_SCHEMAS or f"{schema}.{name}" in DIGESTED_OPS
        ]
        out = {}
        for table in tables:
            schema, name = table.split(".")
            columns = [
                column for (column,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
                    "ORDER BY ordinal_position", [schema, name],
                ).fetchall() if column not in VOLATILE
            ]  # fmt: skip
            where = FIRST_ATTEMPTS.get(table, "")
            rows = sorted(repr(row) for row in con.execute(f"SELECT {', '.join(columns)} FROM {table}{where}").fetchall())
            out[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return out


MID_STAGE_STATE = {
    "ingest": ("SELECT count(*) FROM ops.ingest_files", (4,)),  # four files' transactions committed, of ten
    "similar": ("SELECT count(*) FROM similarity.work_neighbors", (0,)),  # its open transaction rolled back
}


def test_kill_9_anywhere_then_rerun_equals_the_uninterrupted_run(tmp_path, sample_run):
    reference = Path(sample_run.deliver)
    deliveries, warehouse = tmp_path / "deliveries", tmp_path / "w" / "msdb.duckdb"
    common = ["--date", DATE, "--landing", str(SAMPLES), "--warehouse", str(warehouse), "--deliver", str(deliveries)]
    started, cpu_before = time.monotonic(), _children_cpu()
    melody = deliveries / f"melody-stream/works/{DATE}"
    for stage in STAGES:
        for point in ("export:data", "export:manifest", "export:ledger") if stage == "export" else (stage,):
            _paused_then_killed(tmp_path, point, "stage", stage, *common)
            _partners_see_whole_deliveries(deliveries, reference)
            if point in MID_STAGE_STATE:  # what the killed process had committed (and not)
                with duckdb.connect(str(warehouse), read_only=True) as con:
                    assert con.execute(MID_STAGE_STATE[point][0]).fetchone() == MID_STAGE_STATE[point][1]
            if point == "export:data":  # the two partners before it delivered; its file half-made, unseen
                assert _partners_see_whole_deliveries(deliveries, reference) == 2
                assert [p.name[: len(".msdb-partial.works.jsonl.")] for p in melody.iterdir()] == [".msdb-partial.works.jsonl."]
            elif point == "export:manifest":  # the next attempt removed it; now the data but no manifest
                assert sorted(p.name for p in melody.iterdir()) == ["works.jsonl"]
            elif point == "export:ledger":
                assert sorted(p.name for p in melody.iterdir()) == ["manifest.json", "works.jsonl"]
        _paused_then_killed(tmp_path, "publish", "stage", stage, *common)
        partial_copies = [p for p in warehouse.parent.iterdir() if p.name.startswith(".msdb-partial.msdb.published.duckdb.")]
        assert len(partial_copies) == 1  # the one this kill left: the next process removed the one before
        assert partial_copies[0].stat().st_size == warehouse.stat().st_size
    assert _partners_see_whole_deliveries(deliveries, reference) == 5  # every feed published before the rerun
    killed_at, cpu_killed = time.monotonic(), _children_cpu()

    rerun = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "stage", "export", *common], cwd=tmp_path, env=_env(tmp_path),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    print(
        f"crash sequence {killed_at - started:.1f} s ({cpu_killed - cpu_before:.1f} s CPU), "
        f"rerun {time.monotonic() - killed_at:.1f} s ({_children_cpu() - cpu_killed:.1f} s CPU)"
    )
    _assert_as_uninterrupted(warehouse, deliveries, sample_run)


def _assert_as_uninterrupted(warehouse: Path, deliveries: Path, sample_run) -> None:
    reference = Path(sample_run.deliver)
    # the feeds: byte for byte those of the uninterrupted run, and nothing else (no partial file left)
    assert _files(deliveries) == _files(reference)
    assert len(_files(reference)) == 11  # 5 feeds: a data file and a manifest each, and the stations' schema
    # beside the warehouse: no partial copy (each boundary kill left one, a full copy of the warehouse)
    assert sorted(p.name for p in warehouse.parent.iterdir()) == sorted(p.name for p in sample_run.warehouse.parent.iterdir())
    assert sorted(p.name for p in warehouse.parent.iterdir()) == ["msdb.duckdb", "msdb.duckdb.lock", "msdb.published.duckdb"]
    # the warehouse: every table equal to the uninterrupted run's, but for when and by which run
    crashed, uninterrupted = _digests(warehouse), _digests(published_path(sample_run.warehouse))
    assert {t: v for t, v in crashed.items() if uninterrupted.get(t) != v} == {}
    assert crashed.keys() == uninterrupted.keys()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # no file loaded twice or lost: found = loaded + quarantined, each once
        assert con.execute(
            "SELECT count(*), count(DISTINCT file_id), count(*) FILTER (WHERE status IN ('loaded', 'partial')), "
            "count(*) FILTER (WHERE status IN ('quarantined', 'undeclared_holder')) FROM ops.ingest_files"
        ).fetchone() == (10, 10, 10, 0)
        # one published delivery per feed; the feeds the first export attempt committed were found delivered later
        assert con.execute(
            "SELECT partner_id, feed, count(*) FILTER (WHERE published_at IS NOT NULL), list(DISTINCT status ORDER BY status) "
            "FROM exports.delivery_ledger GROUP BY ALL ORDER BY ALL"
        ).fetchall() == [
            ("cinema-now", "works", 1, ["already_delivered", "delivered"]),
            ("kizuna-ads", "ad_matches", 1, ["already_delivered", "delivered"]),
            ("melody-stream", "mead", 1, ["already_delivered", "delivered"]),
            ("melody-stream", "mood_stations", 1, ["already_delivered", "delivered"]),
            ("melody-stream", "works", 1, ["already_delivered", "delivered"]),
        ]
        assert con.execute(
            "SELECT reason FROM exports.delivery_ledger WHERE partner_id = 'melody-stream' AND feed = 'works' AND status = 'delivered'"
        ).fetchall() == [("published by an earlier attempt; recorded now",)]
        # the tag run killed mid-way left no drift rows: one tag run recorded, as in an uninterrupted night
        drift = "SELECT count(DISTINCT run_id), count(*) FROM kansei.tag_drift"
        with duckdb.connect(str(published_path(sample_run.warehouse)), read_only=True) as reference_con:
            assert con.execute(drift).fetchone() == reference_con.execute(drift).fetchone() == (1, 66)
        # every process killed mid-stage left its stage row `running`; the next one recorded it `killed`
        assert con.execute(
            "SELECT stage, count(*) FROM ops.stage_runs WHERE status = 'killed' GROUP BY stage ORDER BY min(started_at)"
        ).fetchall() == [(stage, 3 if stage == "export" else 1) for stage in STAGES]
        assert con.execute("SELECT count(*) FROM ops.stage_runs WHERE status NOT IN ('success', 'killed')").fetchone() == (0,)
