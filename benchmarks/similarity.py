"""Similar-work search at catalog scale: the HNSW index against exact blocked search, on clustered vectors.

    .venv/bin/python benchmarks/similarity.py                # 1,000,000 x 384, tens of minutes on 2 cores
    .venv/bin/python benchmarks/similarity.py --n 100000     # quicker

The vectors are generated, not embedded: uniform random vectors in 384 dimensions are a pathological case for
any ANN index (every point is nearly equidistant from every other), and real sentence embeddings are not like
that. They have a low intrinsic dimension and come in topics. So each vector is a point of a gaussian mixture
in a 32-dimensional latent space (one centre per 1,000 works, spread 0.35 of the centres' scale), mapped into
384 dimensions by one fixed random linear map, plus isotropic noise at 0.1 of the signal, and normalised.

In a child process (whose memory the parent samples from outside, see measure.py), with the stage's own code
(`pipelines.similarity.search`) and the settings of models/embedding.yaml unless overridden:
  1. builds the usearch HNSW index over all N vectors (timed: "ANN build");
  2. finds the top-10 of every work through it, each hit rescored exactly, as the nightly stage does
     ("ANN query"; with --ann-queries M < N, M works are queried and the time is scaled to N: it says so);
  3. runs the exact blocked search (query block x candidate block matmuls, top-k by argpartition) for
     --exact-queries works (default 1,000) against all N, and scales its time to N queries ("exact
     extrapolated": exact search is the same work for every query, so the scaling is linear);
  4. recall@10 of step 2 against step 3 on those works.
Prints wall and CPU seconds (all threads) of each step, speedup = exact extrapolated / (ANN build + ANN query)
in CPU seconds (on cores shared with other work, wall time depends on what else ran during each step; the
wall speedup is printed beside it), against the targets (>= 20x, recall@10 >= 0.95), the peak RSS, and a
last JSON line for `make bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from measure import peak_rss_mb, run_child

REPO = Path(__file__).resolve().parents[1]
LATENT_DIMS = 32
WORKS_PER_CLUSTER = 1_000


def clustered_vectors(n: int, dims: int, seed: int):
    """n unit float32 vectors shaped like sentence embeddings (see the module docstring), built in chunks."""
    import numpy as np

    rng = np.random.default_rng(seed)
    clusters = max(1, n // WORKS_PER_CLUSTER)
    centres = rng.normal(size=(clusters, LATENT_DIMS)).astype(np.float32)
    projection = rng.normal(size=(LATENT_DIMS, dims)).astype(np.float32) / np.sqrt(LATENT_DIMS)
    matrix = np.empty((n, dims), dtype=np.float32)
    for start in range(0, n, 65_536):
        size = min(65_536, n - start)
        latent = centres[rng.integers(0, clusters, size)] + 0.35 * rng.normal(size=(size, LATENT_DIMS)).astype(np.float32)
        block = latent @ projection
        block += 0.1 * np.linalg.norm(block, axis=1, keepdims=True) / np.sqrt(dims) * rng.normal(size=block.shape).astype(np.float32)
        matrix[start : start + size] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return matrix


def _child(options_json: str) -> None:
    import numpy as np

    sys.path.insert(0, str(REPO))
    from pipelines.similarity.search import AnnIndex, IndexParameters, ann_top_k, exact_top_k, recall_at_k

    options = json.loads(options_json)
    n, k = options["n"], 10
    started = time.perf_counter()
    matrix = clustered_vectors(n, options["dims"], options["seed"])
    generate_s = time.perf_counter() - started

    parameters = IndexParameters(**options["index"])
    keys = np.arange(n, dtype=np.int64)
    started, cpu = time.perf_counter(), time.process_time()
    index = AnnIndex(options["dims"], parameters)
    index.add(keys.astype(np.uint64), matrix)
    build_s, build_cpu_s = time.perf_counter() - started, time.process_time() - cpu

    rng = np.random.default_rng(options["seed"] + 1)
    exact_sample = np.sort(rng.choice(n, size=min(options["exact_queries"], n), replace=False))
    ann_queries = min(options["ann_queries"] or n, n)
    queried = np.arange(n) if ann_queries == n else np.union1d(exact_sample, rng.choice(n, ann_queries, replace=False))
    started, cpu = time.perf_counter(), time.process_time()
    approximate = ann_top_k(index, matrix, queried, k, keys, keys, options["query_block_rows"])
    query_s = (time.perf_counter() - started) * n / len(queried)
    query_cpu_s = (time.process_time() - cpu) * n / len(queried)

    started, cpu = time.perf_counter(), time.process_time()
    exact = exact_top_k(matrix, exact_sample, k, options["query_block_rows"], options["candidate_block_rows"])
    exact_sample_s, exact_sample_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    position = np.searchsorted(queried, exact_sample)
    found = type(approximate)(approximate.index[position], approximate.score[position])
    recall = recall_at_k(found, exact)
    print(
        json.dumps(
            {
                "generate_s": round(generate_s, 1),
                "ann_build_s": round(build_s, 1),
                "ann_query_s": round(query_s, 1),
                "ann_queries": int(len(queried)),
                "exact_sample_s": round(exact_sample_s, 2),
                "exact_queries": int(len(exact_sample)),
                "exact_extrapolated_s": round(exact_sample_s * n / len(exact_sample), 1),
                "ann_build_cpu_s": round(build_cpu_s, 1),
                "ann_query_cpu_s": round(query_cpu_s, 1),
                "exact_extrapolated_cpu_s": round(exact_sample_cpu_s * n / len(exact_sample), 1),
                "recall_at_10": round(recall, 4),
                "index_mb": round(index.index.memory_usage / 1e6),
                "matrix_mb": round(matrix.nbytes / 1e6),
                "child_peak_rss_mb": peak_rss_mb(),
            }
        )
    )


def main() -> None:
    sys.path.insert(0, str(REPO))
    from pipelines.kansei.config import load_embedding_config

    config = load_embedding_config(REPO / "models").similarity
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="vectors (works in one domain)")
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--exact-queries", type=int, default=1_000, help="works searched exactly (recall sample)")
    parser.add_argument("--ann-queries", type=int, default=0, help="works searched through the index (0: all)")
    parser.add_argument("--dtype", default=config.ann_dtype)
    parser.add_argument("--connectivity", type=int, default=config.ann_connectivity)
    parser.add_argument("--expansion-add", type=int, default=config.ann_expansion_add)
    parser.add_argument("--expansion-search", type=int, default=config.ann_expansion_search)
    parser.add_argument("--candidates", type=int, default=config.ann_candidates)
    args = parser.parse_args()
    options = {
        "n": args.n,
        "dims": args.dims,
        "seed": args.seed,
        "exact_queries": args.exact_queries,
        "ann_queries": args.ann_queries,
        "query_block_rows": config.query_block_rows,
        "candidate_block_rows": config.candidate_block_rows,
        "index": {
            "dtype": args.dtype,
            "connectivity": args.connectivity,
            "expansion_add": args.expansion_add,
            "expansion_search": args.expansion_search,
            "candidates": args.candidates,
            "threads": config.threads,
        },
    }
    result, memory = run_child(__file__, "_child", json.dumps(options))
    ann_s = result["ann_build_s"] + result["ann_query_s"]
    speedup_wall = result["exact_extrapolated_s"] / ann_s
    # CPU seconds (all threads) are the fair comparison on shared cores: the exact sample runs minutes after
    # the index build, under whatever load the machine then has.
    speedup = result["exact_extrapolated_cpu_s"] / (result["ann_build_cpu_s"] + result["ann_query_cpu_s"])
    scaled = "" if result["ann_queries"] == args.n else f" ({result['ann_queries']:,} queried, scaled to {args.n:,})"
    print(f"{args.n:,} x {args.dims} clustered float32 vectors (generated in {result['generate_s']} s), {os.cpu_count()} cores")
    print(f"  index: {options['index']}")
    print("                          wall s      CPU s")
    print(
        f"  ANN build            {result['ann_build_s']:>10.1f} {result['ann_build_cpu_s']:>10.1f}   (index {result['index_mb']:,} MB)"
    )
    print(f"  ANN query, top-10    {result['ann_query_s']:>10.1f} {result['ann_query_cpu_s']:>10.1f}{scaled}")
    print(
        f"  exact extrapolated   {result['exact_extrapolated_s']:>10.1f} {result['exact_extrapolated_cpu_s']:>10.1f}   "
        f"({result['exact_queries']:,} queries in {result['exact_sample_s']} s, scaled to {args.n:,})"
    )
    print(f"  speedup              {speedup:>10.1f} x   (CPU s; target >= 20; wall {speedup_wall:.1f} x)")
    print(f"  recall@10            {result['recall_at_10']:>10.4f}     (target >= 0.95, on {result['exact_queries']:,} queries)")
    print(f"  peak RSS             {memory.peak_rss_mb:>10,} MB  (PSS {memory.peak_pss_mb:,} MB; matrix {result['matrix_mb']:,} MB)")
    print(f"  load average         {os.getloadavg()[0]:>10.2f}")
    print(
        json.dumps(
            {
                "benchmark": "similarity",
                "n": args.n,
                "dims": args.dims,
                **options["index"],
                **{key: result[key] for key in ("ann_build_s", "ann_query_s", "ann_queries", "exact_extrapolated_s", "exact_queries", "recall_at_10", "ann_build_cpu_s", "ann_query_cpu_s", "exact_extrapolated_cpu_s")},
                "speedup": round(speedup, 1),
                "speedup_wall": round(speedup_wall, 1),
                "peak_rss_mb": memory.peak_rss_mb,
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        _child(sys.argv[2])
    else:
        main()
