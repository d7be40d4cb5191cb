"""The tag stage against a raw encode of the same texts, on a generated catalog, and a night with 1% changed.

    .venv/bin/python benchmarks/tagging.py [--works 20000] [--articles 2000] [--keep DIR]

Writes N works and M articles (fictional titles, genres and summaries from a fixed vocabulary; about 10% of the
works repeat another's text, as re-releases and compilations do) straight into marts.dim_work and
marts.dim_article of a temporary warehouse, then in child processes:
  1. runs `pipelines.kansei.run_tagging` on it (a first, full night: every text scored), after an untimed
     warm-up that loads the model; it reports its own peak RSS;
  2. encodes the distinct texts the stage embeds with the scorer's embedder's raw `encode` (no cache, no
     chunking: the raw cost of the model on those texts);
  3. changes the summary of 1% of the works and runs the stage again (an incremental night).
Prints the tagging and raw encode throughputs, their ratio, the peak RSS of the stage (with the memory the
parent samples from outside), the 1%-changed night's time as a fraction of the full one, and last a JSON line
with the same figures for `make bench`.
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
from datetime import date
from pathlib import Path

from measure import peak_rss_mb, run_child

REPO = Path(__file__).resolve().parents[1]
NIGHT_1, NIGHT_2 = date(2026, 11, 30), date(2026, 12, 1)

ROMAJI = ["Tsuki", "Yoru", "Ame", "Natsu", "Fuyu", "Sakura", "Umi", "Hoshi", "Kaze", "Sora", "Yume", "Kokoro"]
ENGLISH = ["Midnight", "Summer", "Rain", "Harbour", "Love", "Letter", "Dance", "Winter", "Morning", "Road",
           "Kitchen", "Detective", "Friends", "Home", "Fireworks", "Snow", "City", "Goodbye", "Coffee", "Stars"]
JAPANESE = ["夜", "雨", "夏祭り", "花火", "冬", "雪", "海辺", "朝", "さよなら", "恋", "友達", "家族", "旅", "月", "桜"]
GENRES = ["J-Pop", "Rock", "Ballad", "Dance", "Jazz", "Anime", "Drama", "Documentary", "Comedy", "Crime", "Family"]
SUBJECTS = ["A detective", "Two friends", "A young chef", "A family", "A lonely singer", "Students", "An old fisherman"]
VERBS = ["search for", "remember", "travel to", "fall in love in", "say goodbye to", "run a small restaurant in",
         "escape from", "dance all night in"]
PLACES = ["a rainy harbour town", "a snowy mountain village", "the night city", "a summer festival",
          "a quiet seaside inn", "a crowded club", "their childhood home", "a hot spring resort"]
ENDINGS = ["before the last train.", "as the fireworks begin.", "while a killer waits.", "on a cold winter morning.",
           "and find what they lost.", "under the stars."]


def _summary(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(PLACES)} {rng.choice(ENDINGS)}"


def works(count: int, seed: int = 7):
    """(work_id, kind, title, title_en, title_latn, title_ja, genres, summary) rows."""
    rng = random.Random(seed)
    earlier: list[tuple] = []
    for n in range(count):
        work_id = f"w_{n:08d}"
        if earlier and rng.random() < 0.10:
            text = rng.choice(earlier)
        elif rng.random() < 0.6:  # a recording: a short title, romanised or English, perhaps a Japanese one
            if rng.random() < 0.5:
                title = f"{rng.choice(ROMAJI)} no {rng.choice(ROMAJI)} No. {rng.randint(1, 40)}"
            else:
                title = f"{rng.choice(ENGLISH)} {rng.choice(ENGLISH)}"
            title_ja = "".join(rng.sample(JAPANESE, 2)) if rng.random() < 0.5 else None
            text = ("recording", title, None, None, title_ja, [rng.choice(GENRES)], None)
        else:  # a movie or episode: an English title, genres and a summary
            title = f"{rng.choice(ENGLISH)} {rng.choice(ENGLISH)}"
            genres = rng.sample(GENRES, 2)
            text = (rng.choice(["movie", "episode"]), title, title, None, None, genres, _summary(rng))
        if len(earlier) < 5_000:
            earlier.append(text)
        yield (work_id, *text)


def articles(count: int, seed: int = 11):
    """(article_id, language, title, body) rows: a third Japanese, the rest English."""
    rng = random.Random(seed)
    for n in range(count):
        if n % 3 == 0:
            title = "".join(rng.sample(JAPANESE, 2)) + "の話"
            body = "。".join(f"{rng.choice(JAPANESE)}の日に{rng.choice(JAPANESE)}を見た" for _ in range(rng.randint(3, 12)))
            yield (f"a_{n:08d}", "ja", title, body)
        else:
            body = " ".join(_summary(rng) for _ in range(rng.randint(2, 8)))
            yield (f"a_{n:08d}", "en", f"{rng.choice(ENGLISH)} {rng.choice(ENGLISH)}", body)


def _settings(warehouse: str):
    from pipelines.settings import MsdbSettings

    # one encoding process, like the raw encode it is compared with (a night spreads it: MSDB_EMBED_WORKERS)
    return MsdbSettings(warehouse=Path(warehouse), var_dir=Path(warehouse).parent / "var", embed_workers=1)


def build_warehouse(warehouse: Path, work_count: int, article_count: int) -> None:
    """marts.dim_work and marts.dim_article with the columns the tag stage reads, 50,000 rows at a time."""
    import polars as pl

    from pipelines.warehouse import ArrowStream, writer

    def chunks(rows, size=50_000):
        chunk = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    work_schema = {"work_id": pl.String, "kind": pl.String, "title": pl.String, "title_en": pl.String,
                   "title_latn": pl.String, "title_ja": pl.String, "genres": pl.List(pl.String), "summary": pl.String}
    article_schema = {"article_id": pl.String, "language": pl.String, "title": pl.String, "body": pl.String}
    with writer(warehouse, publish=False) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute(
            "CREATE TABLE marts.dim_work (work_id VARCHAR, kind VARCHAR, title VARCHAR, title_en VARCHAR, "
            "title_latn VARCHAR, title_ja VARCHAR, genres VARCHAR[], summary VARCHAR)"
        )
        con.execute("CREATE TABLE marts.dim_article (article_id VARCHAR, language VARCHAR, title VARCHAR, body VARCHAR)")
        for table, rows, schema in (
            ("marts.dim_work", works(work_count), work_schema),
            ("marts.dim_article", articles(article_count), article_schema),
        ):
            for chunk in chunks(rows):
                stream = ArrowStream(pl.DataFrame(chunk, schema=schema, orient="row"))  # noqa: F841 (read by DuckDB)
                con.execute(f"INSERT INTO {table} SELECT * FROM stream")


def change_one_percent(warehouse: Path) -> int:
    from pipelines.warehouse import writer

    with writer(warehouse, publish=False) as con:
        return con.execute(
            "UPDATE marts.dim_work SET summary = concat_ws(' ', summary, 'Now on a rainy night, remastered.') "
            "WHERE hash(work_id) % 100 = 0"
        ).fetchone()[0]


def _child_tag(warehouse: str, night: str, warm: str) -> None:
    """The tag stage, timed after an untimed run on a one-work warehouse (`warm`) that loads the model."""
    sys.path.insert(0, str(REPO))
    from pipelines.kansei import run_tagging

    build_warehouse(Path(warm), 1, 0)
    run_tagging(_settings(warm), NIGHT_1)
    started = time.perf_counter()
    summary = run_tagging(_settings(warehouse), date.fromisoformat(night))
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "summary": summary.__dict__, "rss": peak_rss_mb()}, default=str))


def _child_encode(warehouse: str) -> None:
    """The scorer's embedder's raw encode of the distinct texts the stage embeds."""
    sys.path.insert(0, str(REPO))
    import duckdb

    from pipelines.kansei import ITEM_TEXTS, MAX_TEXT_CHARS, NO_MOODS_SQL
    from pipelines.kansei.scoring import build_scorer

    settings = _settings(warehouse)
    con = duckdb.connect(warehouse, read_only=True)
    texts = [
        row[0]
        for row in con.execute(
            f"SELECT DISTINCT text FROM ({ITEM_TEXTS.format(moods=NO_MOODS_SQL, max_chars=MAX_TEXT_CHARS)}) "
            "WHERE trim(text) <> '' ORDER BY text"
        ).fetchall()
    ]
    con.close()
    embedder = build_scorer(settings.models_dir, settings.var_dir, with_heads=False).embedder
    embedder.encode(texts[:64])
    started = time.perf_counter()
    embedder.encode(texts)
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "texts": len(texts), "rss": peak_rss_mb()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--works", type=int, default=20_000)
    parser.add_argument("--articles", type=int, default=None, help="default: a tenth of --works")
    parser.add_argument("--keep", type=Path, help="write the warehouse here instead of a temp dir")
    args = parser.parse_args()
    article_count = args.works // 10 if args.articles is None else args.articles

    work = args.keep or Path(tempfile.mkdtemp(prefix="msdb-bench-tagging-"))
    try:
        warehouse = work / "msdb.duckdb"
        sys.path.insert(0, str(REPO))
        started = time.perf_counter()
        build_warehouse(warehouse, args.works, article_count)
        print(f"generated {args.works:,} works and {article_count:,} articles in {time.perf_counter() - started:.1f}s")

        load_before = os.getloadavg()[0]
        full, memory = run_child(__file__, "_tag", str(warehouse), NIGHT_1.isoformat(), str(work / "warm1.duckdb"))
        encode, _ = run_child(__file__, "_encode", str(warehouse))
        changed = change_one_percent(warehouse)
        night, night_memory = run_child(__file__, "_tag", str(warehouse), NIGHT_2.isoformat(), str(work / "warm2.duckdb"))

        items = args.works + article_count
        summary = full["summary"]
        figures = {
            "works": args.works,
            "articles": article_count,
            "texts_scored": summary["texts_scored"],
            "tag_seconds": round(full["seconds"], 2),
            "tag_items_per_s": round(items / full["seconds"], 1),
            "tag_texts_per_s": round(summary["texts_scored"] / full["seconds"], 1),
            "encode_seconds": round(encode["seconds"], 2),
            "encode_texts": encode["texts"],
            "encode_texts_per_s": round(encode["texts"] / encode["seconds"], 1),
            "tag_vs_encode": round(encode["seconds"] / full["seconds"], 3),
            "tag_peak_rss_mb": memory.peak_rss_mb,
            "encode_peak_rss_mb": encode["rss"],
            "works_tagged": summary["works_tagged"],
            "works_untaggable": summary["works_untaggable"],
            "changed_works": changed,
            "incremental_seconds": round(night["seconds"], 2),
            "incremental_texts_scored": night["summary"]["texts_scored"],
            "incremental_fraction": round(night["seconds"] / full["seconds"], 4),
            "incremental_peak_rss_mb": night_memory.peak_rss_mb,
        }
        print(
            f"tag stage (full night):   {full['seconds']:.1f}s  {figures['tag_items_per_s']:,.0f} works+articles/s, "
            f"{summary['texts_scored']:,} distinct texts scored ({figures['tag_texts_per_s']:,.0f}/s)"
        )
        print(f"raw encode, same texts:   {encode['seconds']:.1f}s  {figures['encode_texts_per_s']:,.0f} texts/s  ({encode['texts']:,} texts)")
        print(f"ratio tag / raw encode:   {figures['tag_vs_encode']:.2f}  (1.0 = the stage costs only the encode)")
        print(
            f"works tagged / untaggable: {summary['works_tagged']:,} / {summary['works_untaggable']:,}; "
            f"articles {summary['articles_tagged']:,} / {summary['articles_untaggable']:,}"
        )
        print(f"tag peak RSS:             {memory.peak_rss_mb} MB ({memory.peak_pss_mb} MB PSS; raw encode {encode['rss']} MB)")
        print(
            f"1% changed night:         {night['seconds']:.1f}s for {changed:,} changed works "
            f"({night['summary']['texts_scored']:,} texts scored) = {figures['incremental_fraction']:.3f} of the full night, "
            f"peak RSS {night_memory.peak_rss_mb} MB"
        )
        print(f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(json.dumps(figures))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_tag":
        _child_tag(*sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "_encode":
        _child_encode(*sys.argv[2:])
    else:
        main()
