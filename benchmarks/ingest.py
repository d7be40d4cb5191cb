"""Ingest throughput and memory on a generated DDEX ERN 4.3 delivery of at least 200 MB.

    .venv/bin/python benchmarks/ingest.py [--size-mb 200] [--keep DIR]

Writes one NewReleaseMessage (albums of 8-20 recordings from `pipelines.generate`, the generator behind
`msdb generate`: Japanese, romanised and English titles, contributors, deals in several territories) into a
temporary landing, then in two child processes:
  1. runs `pipelines.ingest.run_ingest` on it (sha256, parse, DuckDB load into a new warehouse) with the
     default settings: a message this large is read by the loader and `ingest_helpers` helper processes
     together (one per core beyond the first; see pipelines/ingest/helpers.py). A one-album delivery is
     ingested first, untimed, so that one-off costs (importing polars, DuckDB, lxml; DuckDB importing pandas
     on its first parameterised query) are not counted as throughput;
  2. makes a bare `lxml.etree.iterparse` pass over the same bytes (clearing elements, nothing else).
Prints MB/s, records/s, the ratio of ingest throughput to the bare pass (target >= 0.5), the peak memory of
the ingest (target < 500 MB whatever the file size) and the load average (both passes are timed on the wall
clock, so other work on the machine slows them, and not always alike). Memory is that of the loader and
its helpers together, as summed RSS and summed PSS (see measure.py); the loader's own peak RSS is printed
too. Every identifier in the generated file is fictional but valid.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from measure import peak_rss_mb, run_child

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's pipelines, whichever one the venv installed
SEED = 20261120
START = date(2026, 11, 24)


def generate(path: Path, megabytes: int) -> int:
    """Write the message (albums from `pipelines.generate`, the generator `msdb generate` uses, all from one
    label); returns the number of records it holds (recordings + releases + deals + header)."""
    from io import StringIO

    from pipelines.generate import ern
    from pipelines.generate.catalog import CatalogShape, album_size

    shape = CatalogShape.of(works=1, holders=1)  # one label, no studio

    def album_at(index: int) -> ern.Album:
        return ern.album(SEED, shape, index, album_size(SEED, index), START)

    sample = StringIO()
    ern.write_streamed_message(sample, "BENCH.0", "2026-11-20T10:00:00+09:00", 0, album_at, 20, shape)
    albums = megabytes * 1_000_000 * 20 // len(sample.getvalue().encode()) + 1
    with path.open("w", encoding="utf-8") as out:
        return ern.write_streamed_message(out, "BENCH.1", "2026-11-20T10:00:00+09:00", 0, album_at, albums, shape)


def _child_ingest(landing: str, warehouse: str, warmup_landing: str) -> None:
    """Ingest a one-album delivery into a scratch warehouse first (untimed: imports, DuckDB's first queries),
    as the bare pass imports lxml before its clock starts; then time the delivery into a new warehouse."""
    from datetime import date

    sys.path.insert(0, str(REPO))
    from pipelines.ingest import run_ingest
    from pipelines.settings import MsdbSettings

    def settings(landing: str, warehouse: Path) -> MsdbSettings:
        return MsdbSettings(
            landing=Path(landing),
            warehouse=warehouse,
            var_dir=warehouse.parent / "var",
            deliver=str(warehouse.parent / "out"),
        )

    started = time.perf_counter()
    run_ingest(
        settings(warmup_landing, Path(warehouse).parent / "warmup" / "msdb.duckdb"), date(2026, 11, 24)
    )
    warmup = time.perf_counter() - started
    started = time.perf_counter()
    summary = run_ingest(settings(landing, Path(warehouse)), date(2026, 11, 24))
    elapsed = time.perf_counter() - started
    outcome = summary.files[0]
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "warmup_seconds": warmup,
                "status": outcome.status,
                "readers": outcome.readers,
                "loaded": outcome.loaded,
                "quarantined": outcome.quarantined,
                "rss": peak_rss_mb(),
            }
        )
    )


def _child_iterparse(path: str) -> None:
    from lxml import etree

    started = time.perf_counter()
    count = 0
    for _event, elem in etree.iterparse(path, events=("end",)):
        count += 1
        elem.clear()
    print(json.dumps({"seconds": time.perf_counter() - started, "elements": count}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size-mb",
        "--megabytes",
        dest="size_mb",
        type=int,
        default=200,
        help="size of the generated delivery in MB (default 200; e.g. 1000 to check that memory stays bounded)",
    )
    parser.add_argument(
        "--keep", type=Path, help="write the delivery and warehouse here instead of a temp dir"
    )
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="msdb-bench-"))
    try:
        landing, warmup = work / "landing", work / "warmup-landing"
        # in the date folder of the night the benchmark runs (a file without one belongs to the day it arrived)
        delivery = landing / "music" / "tsukiyo" / "2026-11-24" / "BENCH.xml"
        for root in (landing, warmup):
            (root / "music" / "tsukiyo" / "2026-11-24").mkdir(parents=True, exist_ok=True)
            (root / "registry.yaml").write_text(
                "holders:\n  - {id: tsukiyo, name: Tsukiyo Label, kind: music}\n"
            )
        generate(warmup / "music" / "tsukiyo" / "2026-11-24" / "WARMUP.xml", 0)  # one album
        started = time.perf_counter()
        records = generate(delivery, args.size_mb)
        size_mb = delivery.stat().st_size / 1_000_000
        print(f"generated {size_mb:.1f} MB, {records:,} records in {time.perf_counter() - started:.1f}s")

        ingest, memory = run_child(
            __file__, "_ingest", str(landing), str(work / "warehouse" / "msdb.duckdb"), str(warmup)
        )
        bare, _ = run_child(__file__, "_iterparse", str(delivery))
        if ingest["status"] != "loaded" or ingest["loaded"] != records:
            raise SystemExit(f"ingest did not load every record: {ingest}")
        ingest_rate, bare_rate = size_mb / ingest["seconds"], size_mb / bare["seconds"]
        print(
            f"ingest:            {ingest['seconds']:.1f}s  {ingest_rate:.1f} MB/s  {records / ingest['seconds']:,.0f} records/s"
            f"  (after an untimed {ingest['warmup_seconds']:.1f}s warm-up on a one-album delivery)"
        )
        print(f"bare iterparse:    {bare['seconds']:.1f}s  {bare_rate:.1f} MB/s")
        print(f"ratio to iterparse: {ingest_rate / bare_rate:.2f}  (target >= 0.5)")
        print(
            f"ingest peak memory: {memory.peak_rss_mb} MB RSS, {memory.peak_pss_mb} MB PSS, "
            f"loader and helpers together (target < 500 MB); the loader alone: {ingest['rss']} MB RSS"
        )
        print(
            f"readers:           {ingest['readers']} (the loader and {ingest['readers'] - 1} helper process(es))"
        )
        print(f"load average:      {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
        print(json.dumps({
            "size_mb": round(size_mb, 1), "records": records, "ingest_seconds": round(ingest["seconds"], 2),
            "bare_seconds": round(bare["seconds"], 2), "ratio": round(ingest_rate / bare_rate, 3),
            "peak_rss_mb": memory.peak_rss_mb, "peak_pss_mb": memory.peak_pss_mb,
        }))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_ingest":
        _child_ingest(*sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "_iterparse":
        _child_iterparse(*sys.argv[2:])
    else:
        main()
