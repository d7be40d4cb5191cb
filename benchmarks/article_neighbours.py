"""Similar articles at scale (issue 10): the similar stage's article neighbours on generated Japanese articles.

    .venv/bin/python benchmarks/article_neighbours.py [--articles 20000 100000] [--exact-max 20000] [--keep DIR]

For each N, N articles from `pipelines.generate.articles` (the generator behind `msdb generate`, as
benchmarks/articles.py) go into marts.dim_article of a fresh warehouse, then in child processes (each
reports its CPU seconds, wall seconds and its own peak RSS; the parent samples the tree's RSS too):
  1. lemmas: `cached_lemmas` on the first night (SudachiPy reads every text into similarity.article_lemmas),
     then on a second night with 1% of the texts changed (only those are read), then the article matrix;
  2. exact: today's exact candidates (sparse products of each block of rows with all articles) and the
     dense expansion, for N <= --exact-max; above it, estimated from the first blocks of rows scored
     (`est` in the output: the candidates alone, N / rows x their time);
  3. large: the large-corpus path (exact_max_articles 0): LSA projection, BLAS blocks, exact rescoring of
     the projection's candidates, sparse expansion; with the recall@10 of its candidates against exact
     scoring on recall_sample articles (what the night writes to ops.model_evals) and, where the exact path
     ran, the share of the final top 10 both paths agree on.
Prints each step, the ratios exact / large measured in this run and a last JSON line.
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
sys.path.insert(0, str(REPO))  # this checkout's pipelines, whichever one the venv installed

K = 10  # similar articles an article (models/embedding.yaml, similarity.article_neighbors)


def texts(count: int, seed: int = 20261125, changed: float = 0.0) -> list[tuple[str, str, str]]:
    """(article_id, title, body) of generated articles; `changed` of them get a line appended."""
    from pipelines.generate.articles import japanese_article

    rng = random.Random(seed)
    rows = []
    for n in range(count):
        item = japanese_article(n, rng)
        body = item["body"] + ("\n追記：内容を更新しました。" if changed and n % round(1 / changed) == 0 else "")
        rows.append((f"a{n:07d}", item["title"], body))
    return rows


def _config(**update):
    from pipelines.kansei.config import load_embedding_config

    return load_embedding_config(REPO / "models").similarity.articles.model_copy(update=update)


def _clock() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


def _since(start: tuple[float, float]) -> dict:
    cpu, wall = _clock()
    return {"cpu": round(cpu - start[0], 2), "wall": round(wall - start[1], 2)}


def _child_lemmas(work: str, count: str) -> None:
    """Two nights of cached_lemmas (all texts, then 1% changed), then the matrix, saved for the next steps."""
    import duckdb
    import polars as pl
    from scipy import sparse

    from pipelines.similarity.articles import article_matrix, cached_lemmas
    from pipelines.warehouse import ArrowStream
    from pipelines.warehouse.schema import ensure_schema

    n, config = int(count), _config()
    con = duckdb.connect(str(Path(work) / f"bench-{n}.duckdb"))
    ensure_schema(con)
    result = {}
    for night, changed in (("first", 0.0), ("second", 0.01)):
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("CREATE OR REPLACE TABLE marts.dim_article (article_id VARCHAR, title VARCHAR, body VARCHAR)")
        frame = pl.DataFrame(texts(n, changed=changed), schema=["article_id", "title", "body"], orient="row")
        stream = ArrowStream(frame)  # noqa: F841 (read by DuckDB)
        con.execute("INSERT INTO marts.dim_article SELECT * FROM stream")
        articles = pl.DataFrame(
            con.sql(
                f"""
                SELECT article_id, 'ja' AS language, left(concat_ws(chr(10), title, body), {config.max_chars}) AS text,
                       sha256('ja' || chr(31) || left(concat_ws(chr(10), title, body), {config.max_chars})) AS text_sha256
                FROM marts.dim_article ORDER BY article_id
                """
            )
        )
        started = _clock()
        lemmas = cached_lemmas(con, articles)
        result[f"lemmas_{night}"] = _since(started)
    started = _clock()
    matrix = article_matrix(articles["text"].to_list(), config, lemmas=lemmas)
    result["matrix"] = _since(started)
    result["nnz_per_article"] = round(matrix.nnz / n)
    result["columns"] = matrix.shape[1]
    sparse.save_npz(Path(work) / f"matrix-{n}.npz", matrix)
    print(json.dumps(result | {"rss": peak_rss_mb()}))


def _child_exact(work: str, count: str, exact_max: str) -> None:
    import numpy as np
    from scipy import sparse

    from pipelines.similarity.articles import _block_rows, article_neighbours

    n = int(count)
    matrix = sparse.load_npz(Path(work) / f"matrix-{n}.npz").tocsr()
    config = _config(exact_max_articles=max(n, int(exact_max)))
    if n <= int(exact_max):
        started = _clock()
        index, _ = article_neighbours(matrix, K, config)
        result = _since(started) | {"estimated": False}
        np.save(Path(work) / f"exact-{n}.npy", index)
    else:  # the candidates of the first blocks of rows, against all articles
        rows = 2 * _block_rows(n)
        started = _clock()
        _exact_rows(matrix, rows, config)
        timed = _since(started)
        result = {key: round(value * n / rows, 1) for key, value in timed.items()} | {"estimated": True, "rows": rows}
    print(json.dumps(result | {"rss": peak_rss_mb()}))


def _exact_rows(matrix, rows: int, config) -> None:
    """The exact path's candidate stage for the first `rows` rows (each block against all articles)."""
    from pipelines.similarity.articles import _block_rows, _keep_top

    n = matrix.shape[0]
    transposed = matrix.T.tocsc()
    step = _block_rows(n)
    for start in range(0, rows, step):
        scores = (matrix[start : start + step] @ transposed).toarray()
        _keep_top(scores, max(config.candidates, K + 1), n)


def _child_large(work: str, count: str) -> None:
    """article_neighbours on the large-corpus path, step by step: candidates, their recall sample (part of
    the night: ops.model_evals), expansion."""
    import numpy as np
    from scipy import sparse

    from pipelines.similarity.articles import best_others, candidate_recall, expand, top_candidates

    n = int(count)
    matrix = sparse.load_npz(Path(work) / f"matrix-{n}.npz").tocsr()
    config = _config(exact_max_articles=0)
    count = max(config.candidates, K + 1)
    result = {}
    started = step = _clock()
    candidates = top_candidates(matrix, count, config)
    result["candidates"] = _since(step)
    step = _clock()
    recall, sample = candidate_recall(matrix, candidates, config.recall_sample)
    result["recall_sample"] = _since(step)
    step = _clock()
    for _ in range(config.expansion_rounds):
        candidates = expand(candidates, config.expansion_neighbors, count, config)
    index, _ = best_others(candidates, K)
    result["expansion"] = _since(step)
    result |= _since(started) | {"recall@10": round(recall, 4), "sample": sample}
    exact_path = Path(work) / f"exact-{n}.npy"
    if exact_path.exists():
        exact = np.load(exact_path)
        result["final_top10_agreement"] = round(
            float(np.mean([len(np.intersect1d(a, b)) / K for a, b in zip(exact, index, strict=True)])), 4
        )
    print(json.dumps(result | {"rss": peak_rss_mb()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--exact-max", type=int, default=20_000, help="run the exact path up to this N (else estimate)")
    parser.add_argument("--keep", type=Path, help="write the warehouses and matrices here instead of a temp dir")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="msdb-bench-article-neighbours-"))
    work.mkdir(parents=True, exist_ok=True)
    script = str(Path(__file__).resolve())
    figures = []
    try:
        for n in args.articles:
            lemmas, memory = run_child(script, "_lemmas", str(work), str(n))
            print(
                f"{n:,} articles: lemmas first night {lemmas['lemmas_first']['cpu']} CPU s "
                f"({lemmas['lemmas_first']['wall']} s), second night (1% changed) {lemmas['lemmas_second']['cpu']} CPU s "
                f"({lemmas['lemmas_second']['wall']} s); matrix {lemmas['matrix']['cpu']} CPU s, "
                f"{lemmas['nnz_per_article']} non-zeros an article; peak RSS {memory.peak_rss_mb} MB",
                flush=True,
            )
            exact, exact_memory = run_child(script, "_exact", str(work), str(n), str(args.exact_max))
            label = f"estimated from {exact.get('rows', 0)} rows" if exact["estimated"] else "measured"
            print(
                f"  exact path ({label}): {exact['cpu']} CPU s, {exact['wall']} s wall, "
                f"peak RSS {exact_memory.peak_rss_mb} MB",
                flush=True,
            )
            large, large_memory = run_child(script, "_large", str(work), str(n))
            agreement = large.get("final_top10_agreement")
            print(
                f"  large path: {large['cpu']} CPU s, {large['wall']} s wall (candidates {large['candidates']['cpu']}, "
                f"expansion {large['expansion']['cpu']} CPU s), "
                f"peak RSS {large_memory.peak_rss_mb} MB, candidates' recall@10 {large['recall@10']} "
                f"on {large['sample']} articles ({large['recall_sample']['cpu']} CPU s of it)"
                + (f", final top 10 shared with the exact path {agreement}" if agreement is not None else ""),
                flush=True,
            )
            ratio_cpu = exact["cpu"] / max(large["cpu"], 1e-9)
            ratio_wall = exact["wall"] / max(large["wall"], 1e-9)
            lemma_ratio = lemmas["lemmas_second"]["cpu"] / max(lemmas["lemmas_first"]["cpu"], 1e-9)
            print(
                f"  ratios: exact / large {ratio_cpu:.1f}x CPU, {ratio_wall:.1f}x wall; "
                f"lemmas second / first night {lemma_ratio:.3f} (CPU)",
                flush=True,
            )
            figures.append(
                {
                    "articles": n,
                    "lemmas": lemmas,
                    "lemmas_peak_rss_mb": memory.peak_rss_mb,
                    "exact": exact,
                    "exact_peak_rss_mb": exact_memory.peak_rss_mb,
                    "large": large,
                    "large_peak_rss_mb": large_memory.peak_rss_mb,
                    "exact_over_large_cpu": round(ratio_cpu, 2),
                    "exact_over_large_wall": round(ratio_wall, 2),
                    "lemmas_second_over_first_cpu": round(lemma_ratio, 4),
                }
            )
        print(json.dumps({"load": os.getloadavg(), "cores": os.cpu_count(), "runs": figures}))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        {"_lemmas": _child_lemmas, "_exact": _child_exact, "_large": _child_large}[sys.argv[1]](*sys.argv[2:])
    else:
        main()
