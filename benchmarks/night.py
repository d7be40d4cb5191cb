"""End to end: a full night over a generated catalog, then a night with about 1% changed, stage by stage.

    .venv/bin/python benchmarks/night.py --works 1000000 --articles 100000     # the issue-10 target
    .venv/bin/python benchmarks/night.py --works 20000 --articles 2000         # a few minutes

1. `msdb generate --nights 0` writes the catalog (night 0) into `<work>/landing`. Generation is not timed as
   part of a night.
2. Night 0: each stage (`msdb stage <name>`) runs in its own child process, in the nightly order, on the
   landing; the parent samples the child's memory (summed RSS of it and its descendants, see measure.py).
3. `msdb generate --nights 1` into the same landing rewrites night 0's files byte for byte (the generator is
   deterministic; ingest skips them as already loaded) and adds night 1's date folders; every stage runs
   again for the next date.

Prints, per stage, seconds and peak RSS for both nights, the nights' totals, the largest peak RSS (target:
< 8 GB on the full night), the 1%-night's cost as a fraction of the full night (target <= 0.05), and counts
read from the warehouse (works, works tagged, works marked untaggable, neighbours). The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from measure import SAMPLE_SECONDS, TreeMemory

REPO = Path(__file__).resolve().parents[1]
STAGES = ("ingest", "build", "tag", "similar", "ads", "check", "export")
MSDB = str(Path(sys.executable).with_name("msdb"))


def _environment(work: Path) -> dict[str, str]:
    # The night's scratch (dbt target, logs, data docs, ANN index) goes into its work folder, not the repo's var/.
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(REPO), MSDB_VAR_DIR=str(work / "var"))
    return env


def measured(command: list[str], log: Path) -> tuple[float, int, int, float]:
    """Run a command to its end: (seconds, peak RSS MB, exit code, CPU seconds of it and the children it waited
    for); its output goes to `log`. CPU seconds compare fairly on shared cores, wall seconds do not."""
    import resource

    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=_environment(log.parent), cwd=REPO
        )
        memory = TreeMemory(process.pid)
        while process.poll() is None:
            memory.sample()
            time.sleep(SAMPLE_SECONDS * 4)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return time.perf_counter() - started, memory.peak_rss_mb, process.returncode, cpu


def dbt_timings(work: Path, logical_date: date, top: int = 12) -> dict[str, float]:
    """The build's slowest dbt nodes (seconds), from dbt's run_results.json, which is kept beside the log."""
    results = work / "var" / "dbt" / "target" / "run_results.json"
    if not results.exists():
        return {}
    kept = work / f"run_results-{logical_date.isoformat()}.json"
    shutil.copyfile(results, kept)
    nodes = json.loads(kept.read_text())["results"]
    slowest = sorted(nodes, key=lambda node: -node["execution_time"])[:top]
    return {node["unique_id"].split(".", 2)[-1]: round(node["execution_time"], 1) for node in slowest}


def run_night(work: Path, logical_date: date, log: Path) -> dict[str, dict]:
    figures = {}
    for stage in STAGES:
        seconds, rss, code, cpu = measured(
            [
                MSDB, "stage", stage, "--date", logical_date.isoformat(),
                "--landing", str(work / "landing"), "--warehouse", str(work / "warehouse" / "msdb.duckdb"),
                "--deliver", str(work / "deliveries"),
            ],
            log,
        )
        figures[stage] = {"seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "peak_rss_mb": rss}
        if stage == "build":
            figures[stage]["slowest_models"] = dbt_timings(work, logical_date)
        print(f"  {logical_date} {stage:<8} {seconds:8.1f} s  {cpu:8.1f} CPU s  {rss:6,} MB", flush=True)
        if code:
            raise SystemExit(f"stage {stage} failed on {logical_date} (exit {code}); see {log}")
    return figures


def counts(warehouse: Path) -> dict[str, int | None]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        def one(sql: str) -> int | None:
            try:
                return con.execute(sql).fetchone()[0]
            except duckdb.CatalogException:
                return None

        return {
            "works": one("SELECT count(*) FROM marts.dim_work"),
            "articles": one("SELECT count(*) FROM marts.dim_article"),
            "works_tagged": one("SELECT count(DISTINCT work_id) FROM kansei.work_tags"),
            "works_untaggable": one("SELECT count(*) FROM kansei.tag_status WHERE kind = 'work' AND untaggable_reason IS NOT NULL"),
            "neighbors": one("SELECT count(*) FROM similarity.work_neighbors"),
        }
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--works", type=int, default=20_000)
    parser.add_argument("--articles", type=int, default=2_000)
    parser.add_argument("--holders", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 24), help="night 0's logical date (the generator's --start-date)")
    parser.add_argument("--keep", type=Path, help="work here (landing, warehouse, deliveries, log) instead of a temp dir")
    parser.add_argument(
        "--reuse-landing", action="store_true",
        help="with --keep: use <keep>/landing as generated by an earlier `msdb generate --nights 0` with the same arguments",
    )
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="msdb-bench-night-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "night.log"
    try:
        common = [
            "--works", str(args.works), "--articles", str(args.articles), "--holders", str(args.holders),
            "--seed", str(args.seed), "--start-date", args.date.isoformat(), "--out", str(work / "landing"),
        ]
        manifest = work / "landing" / "generated.json"
        if args.reuse_landing and manifest.exists():
            print(f"reusing the landing generated earlier: {manifest}", flush=True)
        else:
            seconds, rss, code, _ = measured([MSDB, "generate", *common, "--nights", "0"], log)
            if code:
                raise SystemExit(f"msdb generate failed; see {log}")
            print(f"generated {args.works:,} works and {args.articles:,} articles in {seconds:.0f} s ({rss:,} MB)", flush=True)
        print("night 0 (full):", flush=True)
        full = run_night(work, args.date, log)
        full_counts = counts(work / "warehouse" / "msdb.duckdb")
        # Night 1: the generator rewrites night 0's files byte for byte (ingest skips them) and adds night 1's.
        seconds, _, code, _ = measured([MSDB, "generate", *common, "--nights", "1"], log)
        if code:
            raise SystemExit(f"msdb generate --nights 1 failed; see {log}")
        print("night 1 (about 1% of works changed):", flush=True)
        delta = run_night(work, args.date + timedelta(days=1), log)
        delta_counts = counts(work / "warehouse" / "msdb.duckdb")

        full_total = sum(s["seconds"] for s in full.values())
        delta_total = sum(s["seconds"] for s in delta.values())
        full_cpu = sum(s["cpu_seconds"] for s in full.values())
        delta_cpu = sum(s["cpu_seconds"] for s in delta.values())
        peak = max(s["peak_rss_mb"] for s in (*full.values(), *delta.values()))
        print(f"\n{'stage':<8} {'full s':>9} {'full CPU':>9} {'full MB':>9} {'1% s':>8} {'1% CPU':>8} {'1% MB':>8}")
        for stage in STAGES:
            f, d = full[stage], delta[stage]
            print(
                f"{stage:<8} {f['seconds']:9.1f} {f['cpu_seconds']:9.1f} {f['peak_rss_mb']:9,} "
                f"{d['seconds']:8.1f} {d['cpu_seconds']:8.1f} {d['peak_rss_mb']:8,}"
            )
        for name, night in (("full", full), ("1%", delta)):
            slowest = ", ".join(f"{node} {seconds}" for node, seconds in night["build"].get("slowest_models", {}).items())
            print(f"build, {name} night, slowest dbt nodes (s): {slowest}")
        print(f"{'night':<8} {full_total:9.1f} {full_cpu:9.1f} {peak:9,} {delta_total:8.1f} {delta_cpu:8.1f}")
        print(
            f"peak RSS {peak:,} MB (target < 8,000); 1% night / full night = {delta_total / full_total:.3f} "
            f"(target <= 0.05); in CPU seconds {delta_cpu / full_cpu:.3f}"
        )
        print(f"full night: {full_counts}; after night 1: {delta_counts}")
        print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(json.dumps({
            "works": args.works, "articles": args.articles, "full": full, "delta": delta,
            "full_seconds": round(full_total, 1), "delta_seconds": round(delta_total, 1),
            "delta_ratio": round(delta_total / full_total, 4), "peak_rss_mb": peak,
            "full_cpu_seconds": round(full_cpu, 1), "delta_cpu_seconds": round(delta_cpu, 1),
            "delta_cpu_ratio": round(delta_cpu / full_cpu, 4),
            "counts_full": full_counts, "counts_delta": delta_counts,
        }))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
