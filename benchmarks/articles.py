"""Article ingest throughput, including Japanese tokenization, on generated Japanese articles.

    .venv/bin/python benchmarks/articles.py [--articles 100000] [--keep DIR]

Writes N Japanese lifestyle articles (about 600-900 characters each, title, URL, publish time, category) as
JSON Lines files of 5,000 articles into a temporary landing, then in child processes:
  1. runs `pipelines.ingest.run_ingest` on it: parse, canonical URL, publish time, language detection,
     fingerprints, sentence split, SudachiPy tokens / lemmas / search keys, DuckDB load of raw.articles and
     raw.article_text; it reports its own peak RSS;
  2. tokenizes the same texts (title + body) with SudachiPy alone (core dictionary, mode C, one tokenizer),
     once bare (`tokenize` only) and once reading each token's surface and dictionary form.
Prints articles/s, the ratio of ingest throughput to SudachiPy alone (target >= 0.7), the ingest peak RSS and
the load average: a large delivery is analysed by one worker process per core, so other work on the machine
lowers the ingest figure more than the single-threaded SudachiPy one.
Every article is generated from a fixed vocabulary; nothing is third-party text.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from measure import peak_rss_mb, run_child

REPO = Path(__file__).resolve().parents[1]
ARTICLES_PER_FILE = 5_000

sys.path.insert(0, str(REPO))  # this checkout's pipelines, whichever one the venv installed


def article(n: int, rng: random.Random) -> dict:
    """Article n from `pipelines.generate.articles`, the generator behind `msdb generate`."""
    from pipelines.generate.articles import japanese_article

    return japanese_article(n, rng)


def generate(landing: Path, count: int) -> int:
    """Write the JSON Lines files; returns the number of characters of title + body written."""
    rng = random.Random(20261125)
    folder = landing / "articles" / "bench-media" / "2026-11-24"  # the night the benchmark runs
    folder.mkdir(parents=True, exist_ok=True)
    (landing / "registry.yaml").write_text(
        "holders:\n  - {id: bench-media, name: Bench Media, kind: articles, default_language: ja, "
        "timezone: Asia/Tokyo}\n"
    )
    characters = 0
    for start in range(0, count, ARTICLES_PER_FILE):
        with (folder / f"dump-{start // ARTICLES_PER_FILE:04d}.jsonl").open("w", encoding="utf-8") as out:
            for n in range(start, min(start + ARTICLES_PER_FILE, count)):
                item = article(n, rng)
                characters += len(item["title"]) + 1 + len(item["body"])
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
    return characters


def _child_ingest(landing: str, warehouse: str) -> None:
    from datetime import date

    sys.path.insert(0, str(REPO))
    from pipelines.ingest import run_ingest
    from pipelines.settings import MsdbSettings

    settings = MsdbSettings(
        landing=Path(landing),
        warehouse=Path(warehouse),
        var_dir=Path(warehouse).parent / "var",
        deliver=str(Path(warehouse).parent / "out"),
    )
    started = time.perf_counter()
    summary = run_ingest(settings, date(2026, 11, 24))
    elapsed = time.perf_counter() - started
    loaded = sum(outcome.loaded for outcome in summary.files)
    quarantined = sum(outcome.quarantined for outcome in summary.files)
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "loaded": loaded,
                "quarantined": quarantined,
                "rss": peak_rss_mb(),
            }
        )
    )


def _child_sudachi(landing: str) -> None:
    """SudachiPy alone on the same texts the ingest tokenizes (title, a line break, the body)."""
    from sudachipy import Dictionary, SplitMode

    texts = []
    for path in sorted((Path(landing) / "articles").rglob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                item = json.loads(line)
                texts.append(f"{item['title']}\n{item['body']}")
    tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.C)
    started = time.perf_counter()
    for text in texts:
        tokenizer.tokenize(text)
    bare = time.perf_counter() - started
    started = time.perf_counter()
    for text in texts:
        morphemes = tokenizer.tokenize(text)
        [m.surface() for m in morphemes]
        [m.dictionary_form() for m in morphemes]
    with_forms = time.perf_counter() - started
    print(
        json.dumps(
            {"bare_seconds": bare, "forms_seconds": with_forms, "texts": len(texts), "rss": peak_rss_mb()}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument(
        "--keep", type=Path, help="write the landing and warehouse here instead of a temp dir"
    )
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="msdb-bench-articles-"))
    try:
        landing = work / "landing"
        started = time.perf_counter()
        characters = generate(landing, args.articles)
        print(
            f"generated {args.articles:,} articles, {characters / args.articles:,.0f} characters each on average, "
            f"in {time.perf_counter() - started:.1f}s"
        )
        load_before = os.getloadavg()[0]
        ingest, memory = run_child(__file__, "_ingest", str(landing), str(work / "warehouse" / "msdb.duckdb"))
        if ingest["loaded"] != args.articles or ingest["quarantined"]:
            raise SystemExit(f"ingest did not load every article: {ingest}")
        sudachi, _ = run_child(__file__, "_sudachi", str(landing))

        n = args.articles
        ingest_rate = n / ingest["seconds"]
        bare_rate = n / sudachi["bare_seconds"]
        forms_rate = n / sudachi["forms_seconds"]
        print(f"ingest incl. tokenization: {ingest['seconds']:.1f}s  {ingest_rate:,.0f} articles/s")
        print(f"SudachiPy tokenize alone:  {sudachi['bare_seconds']:.1f}s  {bare_rate:,.0f} articles/s")
        print(f"  + surface, dictionary form: {sudachi['forms_seconds']:.1f}s  {forms_rate:,.0f} articles/s")
        print(f"ratio to SudachiPy alone:  {ingest_rate / bare_rate:.2f}  (target >= 0.7)")
        print(f"ratio to SudachiPy + forms: {ingest_rate / forms_rate:.2f}")
        print(
            f"ingest peak RSS:           {ingest['rss']} MB loader, {memory.peak_rss_mb} MB with its "
            f"text workers ({memory.peak_pss_mb} MB PSS)   (SudachiPy alone: {sudachi['rss']} MB)"
        )
        print(
            f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
        )
        print(json.dumps({
            "articles": n, "ingest_seconds": round(ingest["seconds"], 2), "sudachi_seconds": round(sudachi["bare_seconds"], 2),
            "ratio": round(ingest_rate / bare_rate, 3), "peak_rss_mb": memory.peak_rss_mb,
        }))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_ingest":
        _child_ingest(*sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "_sudachi":
        _child_sudachi(*sys.argv[2:])
    else:
        main()
