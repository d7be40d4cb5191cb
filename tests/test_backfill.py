"""`msdb backfill --start A --end B`: each day from A to B a full nightly, in order; backfilling the same days
again changes no row, rewrites no feed byte and delivers nothing new.

The landing holds the samples (2026-11-24) and a new release in the folder of 2026-11-25 from the start: the
night of the 24th leaves it for its night, and running the 24th again once the 25th and 26th ran verifies the
24th's delivery rather than exporting the later catalog under its name (partitions by date)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
# a single of 2026-11-25 (ICPN 4589990100090, recording JPSK02600101, licensed in JP), landed before the 24th runs
NEW_RELEASE = REPO / "tests" / "fixtures" / "history" / "01_new_release.xml"
NEW_RELEASE_PATH = "music/sakura-records/2026-11-25/01_new_release.xml"
DAYS = ["2026-11-24", "2026-11-25", "2026-11-26"]
PARTNER_FEEDS = (  # the ledger's order within a day: the contracts', each partner's works feed before its music feeds
    ("cinema-now", "works"), ("kizuna-ads", "ad_matches"),
    ("melody-stream", "works"), ("melody-stream", "mood_stations"), ("melody-stream", "mead"),
)  # fmt: skip
# What the catalog holds, less when each row was loaded (wall-clock columns no two passes share).
COMPARED_TABLES = ["marts.dim_work", "marts.fct_licence_window", "kansei.work_tags", "similarity.work_neighbors"]
LOAD_TIME_COLUMNS = {"ingested_at", "first_ingested_at", "last_ingested_at", "loaded_at"}


def _backfill(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MSDB_"))}
    env |= {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "MSDB_LANDING": str(root / "landing"),
        "MSDB_WAREHOUSE": str(root / "warehouse" / "msdb.duckdb"),
        "MSDB_DELIVER": str(root / "deliveries"),
        "MSDB_VAR_DIR": str(root / "var"),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "backfill", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def _snapshot(root: Path) -> dict:
    import duckdb

    files = {
        p.relative_to(root / "deliveries").as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted((root / "deliveries").rglob("*"))
        if p.is_file()
    }
    tables = {}
    with duckdb.connect(str(root / "warehouse" / "msdb.duckdb"), read_only=True) as con:
        for table in COMPARED_TABLES:
            schema, name = table.split(".")
            columns = [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
                    " ORDER BY ordinal_position",
                    [schema, name],
                ).fetchall()
                if c not in LOAD_TIME_COLUMNS
            ]
            tables[table] = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()
        ledger = con.execute(
            "SELECT logical_date::VARCHAR, partner_id, feed, status, manifest_sha256 FROM exports.delivery_ledger"
            " ORDER BY delivered_at, partner_id"
        ).fetchall()
        stage_days = con.execute(
            "SELECT logical_date::VARCHAR, stage FROM ops.stage_runs WHERE status = 'success' ORDER BY started_at"
        ).fetchall()
        reasons = con.execute(
            "SELECT DISTINCT status, reason FROM exports.delivery_ledger WHERE status = 'already_delivered'"
        ).fetchall()
        ingested = con.execute(
            "SELECT file_path, partition_date::VARCHAR, logical_date::VARCHAR FROM ops.ingest_files WHERE file_path = ?",
            [NEW_RELEASE_PATH],
        ).fetchall()
    return {
        "files": files, "tables": tables, "ledger": ledger, "stage_days": stage_days, "reasons": reasons,
        "ingested": ingested,
    }  # fmt: skip


@pytest.fixture(scope="module")
def passes(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("backfill")
    shutil.copytree(SAMPLES, root / "landing")
    (root / "landing" / NEW_RELEASE_PATH).parent.mkdir(parents=True)
    shutil.copyfile(NEW_RELEASE, root / "landing" / NEW_RELEASE_PATH)
    first = _backfill(root, "--start", DAYS[0], "--end", DAYS[-1])
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    after_first = _snapshot(root)
    second = _backfill(root, "--start", DAYS[0], "--end", DAYS[-1])
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    return {"first": first, "second": second, "after_first": after_first, "after_second": _snapshot(root)}


def test_backfill_runs_each_day_whole_in_order(passes):
    stages = ["ingest", "build", "tag", "similar", "ads", "check", "export"]
    assert passes["after_first"]["stage_days"] == [(day, stage) for day in DAYS for stage in stages]
    day_lines = [line.split(":")[0] for line in passes["first"].stdout.splitlines() if line[:4] == "2026"]
    assert day_lines == DAYS


def test_backfill_delivers_each_partner_feed_of_each_day(passes):
    files = passes["after_first"]["files"]
    for day in DAYS:
        for partner in ("melody-stream", "cinema-now"):
            assert f"{partner}/works/{day}/works.jsonl" in files
            assert f"{partner}/works/{day}/manifest.json" in files
    assert b"JPSK02600001" in files["melody-stream/works/2026-11-24/works.jsonl"][0]
    first_ledger = passes["after_first"]["ledger"]
    assert [(day, partner, feed, status) for day, partner, feed, status, _ in first_ledger] == [
        (day, partner, feed, "delivered") for day in DAYS for partner, feed in PARTNER_FEEDS
    ]


def test_the_night_of_d_leaves_the_files_of_d_plus_1_for_their_night(passes):
    files = passes["after_first"]["files"]
    day_lines = [line for line in passes["first"].stdout.splitlines() if line[:4] == "2026"]
    assert [line.endswith("; 1 files deferred to a later night") for line in day_lines] == [True, False, False]
    assert passes["after_first"]["ingested"] == [(NEW_RELEASE_PATH, "2026-11-25", "2026-11-25")]
    works = {
        day: [json.loads(line) for line in files[f"melody-stream/works/{day}/works.jsonl"][0].splitlines()]
        for day in DAYS[:2]
    }
    # the build of the 24th did not see the release of the 25th; the delta of the 25th adds it
    assert not [row for row in works["2026-11-24"] if row.get("isrc") == "JPSK02600101"]
    assert [(row["op"], row["title"]) for row in works["2026-11-25"] if row.get("isrc") == "JPSK02600101"] == [
        ("add", "Hoshi no Uta")
    ]


def test_a_past_day_run_again_reproduces_its_feeds_byte_for_byte(passes):
    """The second backfill runs the 24th again after the 26th: its feeds are verified, not exported again."""
    first, second = passes["after_first"]["files"], passes["after_second"]["files"]
    day_files = sorted(name for name in first if "/2026-11-24/" in name)
    assert len(day_files) >= 6  # works, mood stations, MEAD, ad matches... each with its manifest
    assert [hashlib.sha256(second[name][0]).hexdigest() for name in day_files] == [
        hashlib.sha256(first[name][0]).hexdigest() for name in day_files
    ]
    reasons = [reason for _, reason in passes["after_second"]["reasons"]]
    assert reasons and all(
        reason.startswith("published on 2026-") and " UTC; unchanged: the manifest and its " in reason for reason in reasons
    ), reasons


def test_second_backfill_changes_no_row(passes):
    for table, rows in passes["after_first"]["tables"].items():
        assert rows, f"{table} is empty"
        assert passes["after_second"]["tables"][table] == rows, table


def test_second_backfill_rewrites_no_feed_byte(passes):
    # same names, same bytes, same modification times: nothing was written again
    assert passes["after_second"]["files"] == passes["after_first"]["files"]


def test_second_backfill_delivers_nothing_new(passes):
    first, second = passes["after_first"]["ledger"], passes["after_second"]["ledger"]
    assert second[: len(first)] == first
    again = second[len(first) :]
    assert [(day, partner, feed, status) for day, partner, feed, status, _ in again] == [
        (day, partner, feed, "already_delivered") for day in DAYS for partner, feed in PARTNER_FEEDS
    ]
    # the ledger names the very manifests the first pass delivered
    assert [sha for *_, sha in again] == [sha for *_, sha in first]
    assert "already_delivered" in passes["second"].stdout


def test_backfill_stops_at_a_bad_range_with_one_line(tmp_path):
    done = _backfill(tmp_path, "--start", "2026-11-26", "--end", "2026-11-24")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "msdb: error: Invalid value for --end: the end 2026-11-24 is before the start 2026-11-26"
    ]
