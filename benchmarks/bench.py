"""`make bench`: every benchmark, one after another, then one table of their figures and targets.

    .venv/bin/python benchmarks/bench.py                 # the issue-10 scale: 1M works, 100k articles (hours)
    .venv/bin/python benchmarks/bench.py --quick         # small sizes, minutes: checks that the scripts run
    .venv/bin/python benchmarks/bench.py --only similarity --only night

Each script runs as a child process with its output shown as it goes; its last line is a JSON object with its
figures, each measured against its baseline in the same run (ingest vs a bare lxml parse, article ingest vs
SudachiPy alone, tagging vs a raw encode of the same texts, ANN vs exact blocked search, the 1%-changed night
vs the full night). The table also goes to `<out>/bench.json` (default var/bench/).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class Benchmark:
    name: str
    script: str
    full: list[str]
    quick: list[str]


BENCHMARKS = [
    Benchmark("ingest", "ingest.py", ["--size-mb", "200"], ["--size-mb", "20"]),
    Benchmark("articles", "articles.py", ["--articles", "100000"], ["--articles", "5000"]),
    Benchmark("tagging", "tagging.py", ["--works", "20000"], ["--works", "2000"]),
    Benchmark("kansei", "kansei.py", ["--texts", "20000", "--embedders"], ["--texts", "2000"]),
    Benchmark("similarity", "similarity.py", ["--n", "1000000"], ["--n", "50000"]),
    Benchmark("night", "night.py", ["--works", "1000000", "--articles", "100000"], ["--works", "5000", "--articles", "500"]),
]


def run(benchmark: Benchmark, quick: bool) -> dict:
    command = [sys.executable, str(HERE / benchmark.script), *(benchmark.quick if quick else benchmark.full)]
    print(f"\n=== {benchmark.name}: {' '.join(command[1:])}", flush=True)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
    last = ""
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.strip():
            last = line.strip()
    if process.wait():
        return {"error": f"exit {process.returncode}"}
    try:
        return json.loads(last)
    except json.JSONDecodeError:
        return {"error": "no JSON figures on the last line"}


def rows(name: str, f: dict) -> list[tuple[str, str, str, str]]:
    """(benchmark, figure, value, target) lines for the table."""
    if "error" in f:
        return [(name, "failed", f["error"], "")]
    if name == "ingest":
        return [
            (name, f"{f['size_mb']} MB ERN 4.3, {f['records']:,} records", f"{f['ingest_seconds']} s vs bare parse {f['bare_seconds']} s", ""),
            (name, "ratio to bare parse", f"{f['ratio']:.2f}", ">= 0.5"),
            (name, "peak RSS (loader + helpers)", f"{f['peak_rss_mb']:,} MB", "< 500 MB"),
        ]
    if name == "articles":
        return [
            (name, f"{f['articles']:,} Japanese articles", f"{f['ingest_seconds']} s vs SudachiPy alone {f['sudachi_seconds']} s", ""),
            (name, "ratio to SudachiPy alone", f"{f['ratio']:.2f}", ">= 0.7"),
            (name, "peak RSS", f"{f['peak_rss_mb']:,} MB", ""),
        ]
    if name == "tagging":
        return [(name, key, str(value), "") for key, value in f.items()]
    if name == "kansei":
        targets = {"tag_vs_encode": ">= 0.9", "tag_vs_encode_cpu": ">= 0.9", "rerun_speedup": ">= 20", "rerun_speedup_cpu": ">= 20"}
        return [(name, key, str(value), targets.get(key, "")) for key, value in f.items()]
    if name == "similarity":
        return [(name, key, str(value), {"recall_at_10": ">= 0.95", "speedup": ">= 20"}.get(key, "")) for key, value in f.items()]
    if name == "night":
        out = []
        for stage, full in f["full"].items():
            delta = f["delta"][stage]
            out.append((name, f"stage {stage}", f"full {full['seconds']} s / {full['peak_rss_mb']:,} MB; 1% {delta['seconds']} s / {delta['peak_rss_mb']:,} MB", ""))
        out += [
            (name, f"{f['works']:,} works, {f['articles']:,} articles: full night", f"{f['full_seconds']} s", ""),
            (name, "peak RSS", f"{f['peak_rss_mb']:,} MB", "< 8,000 MB"),
            (name, "1%-changed night / full night", f"{f['delta_seconds']} s = {f['delta_ratio']:.3f}", "<= 0.05"),
            (name, "works / tagged / untaggable", f"{f['counts_full']['works']} / {f['counts_full']['works_tagged']} / {f['counts_full']['works_untaggable']}", "tagged + untaggable = works"),
        ]
        return out
    return [(name, key, str(value), "") for key, value in f.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: minutes, not hours")
    parser.add_argument("--only", action="append", choices=[b.name for b in BENCHMARKS], help="run only these")
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    args = parser.parse_args()

    results = {b.name: run(b, args.quick) for b in BENCHMARKS if not args.only or b.name in args.only}

    from rich.console import Console
    from rich.table import Table

    table = Table(title="MSDB benchmarks" + (" (quick sizes)" if args.quick else ""))
    for column in ("benchmark", "figure", "measured", "target"):
        table.add_column(column)
    for name, figures in results.items():
        for row in rows(name, figures):
            table.add_row(*row)
    Console(width=160).print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    if any("error" in figures for figures in results.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
