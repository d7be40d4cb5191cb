"""Similar titles: the top-k neighbours of every work within its domain and across domains (music <-> video),
similar articles, and licensed works for each article.

Search. A work's dense vector blends its text embedding with its kansei tag profile, so that two Japanese songs
whose romanized titles mean little to the English model still meet through their moods and scenes. The dense
search proposes `rescore_candidates` works; only those are rescored (rescoring.py) into
text + kansei + metadata (genre, shared people, label or studio, era; metadata.py) with the weights of
models/embedding.yaml, duplicates (same ISRC, provider asset id, normalised title and artist) dropped, and the
`neighbors` best kept with each part's share of the score. Series, seasons, episodes and films share the video
domain. `cross_domain_neighbors` more come from the other domain, ranked after the domain's `neighbors`
places (is_cross_domain). Ties are broken by work_id and kept scores are float64 rescores rounded to 6
decimals, so a run is reproducible to the byte.

Scale. A domain below `ann_min_works` is searched exactly, in query x candidate blocks; a larger one through
an HNSW index (usearch) kept in `<var_dir>/similarity/<domain>.usearch` and updated in place each night.
Each run that uses the index measures its recall@k against exact search on a sample (`ops.model_evals`).
Cross-domain candidates are searched exactly in blocks over the other domain.

Memory bound: one domain's matrix, works x (embedding + tags) float32 (1.66 GB at a million works, 384 + 30),
(two for the cross-domain pass), plus the index for a large domain (i8 vectors 0.41 GB and a ~0.15 GB graph at
a million), the domain's metadata (metadata.py), one score block (64 MB) and one block of neighbour rows.
Nothing is N x N, and no row list is held in Python.

Incremental. `similarity.work_vectors_state` keeps a fingerprint of what each vector is made of (text, tags
and metadata); `similarity.work_candidates` each work's dense candidates. A night recomputes the neighbours of
the works whose fingerprint is new or changed, of the works that had a changed or removed work among their
candidates, and of the works a changed vector now beats the last candidate of; all other works keep their rows
(and the logical_date they were computed on). With exact search that gives the same within-domain rows as
`full_refresh=True`. With the index, the last set is found through the index (the changed works' own index
hits), and works not recomputed keep neighbours found by an earlier state of the index, so an incremental
table can differ slightly from a full refresh; `full_refresh` rebuilds the index and all rows. Cross-domain
rows are recomputed for the works recomputed in their domain and for those whose cross-domain neighbours
changed or left. Article matches and similar articles are rebuilt each night (articles.py, article_works.py):
an article's TF-IDF weights and its expanded neighbourhood depend on the whole corpus (a new article changes
the idf of every n-gram it holds, so the vector of every article sharing one), and matches depend on the
day's licences; an incremental match would need the last night's licensed works and profiles kept as state.
Only the Sudachi lemmas of article texts are kept (similarity.article_lemmas): a night reads the new or
changed texts alone; above `exact_max_articles` the neighbours' candidates come from a dense projection,
rescored exactly (articles.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from pipelines.kansei import model_version
from pipelines.kansei.config import SimilaritySettings, load_embedding_config, load_taxonomy
from pipelines.settings import MsdbSettings
from pipelines.similarity.article_works import has_table, match_articles_to_works
from pipelines.similarity.articles import refresh_article_neighbours
from pipelines.similarity.metadata import prepare_metadata, read_metadata
from pipelines.similarity.rescoring import Rescored, cross_top_k, rescore
from pipelines.similarity.search import (
    EPSILON,
    AnnIndex,
    IndexParameters,
    Neighbours,
    ann_top_k,
    exact_top_k,
    rank_candidates,
    recall_at_k,
    rows_of_keys,
)
from pipelines.similarity.vectors import INPUTS, frame, prepare_inputs, read_matrix, read_members
from pipelines.warehouse import ArrowStream, writer

# Works are compared within a domain: a partner shows songs next to songs, films next to episodes; and, ranked
# after those, across the pairs of CROSS_DOMAINS (a song for this film, a film for this song).
DOMAINS = {
    "recording": "music-recording",
    "release": "music-release",
    "movie": "video",
    "episode": "video",
    "season": "video",
    "series": "video",
}
CROSS_DOMAINS = (("music-recording", "video"), ("video", "music-recording"))


@dataclass
class DomainSummary:
    domain: str
    works: int
    method: str  # exact, ann
    recomputed: int  # works whose neighbours were computed this run
    removed: int  # works that left the domain since the last run
    recall_at_k: float | None = None  # of the index against exact search, on a sample


@dataclass
class SimilaritySummary:
    works: int
    neighbors: int
    recomputed: int = 0
    full_refresh: bool = True
    domains: list[DomainSummary] = field(default_factory=list)
    article_work_matches: int = 0  # rows of similarity.article_work_matches
    article_neighbors: int = 0  # rows of similarity.article_neighbors


def blend(text: np.ndarray, tags: np.ndarray, text_weight: float, tag_weight: float) -> np.ndarray:
    """Row-normalise each part, weight, concatenate and normalise again."""

    def normalise(matrix: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)

    joined = np.hstack([normalise(text) * text_weight, normalise(tags) * tag_weight])
    return normalise(joined).astype(np.float32)


def nearest(vectors: np.ndarray, ids: list[str], k: int) -> list[tuple[str, str, int, float]]:
    """(work, neighbour, rank, cosine) for the k nearest other works, exact search (small sets: tests, tools)."""
    order = sorted(range(len(ids)), key=ids.__getitem__)
    ids = [ids[i] for i in order]
    found = exact_top_k(np.ascontiguousarray(vectors[order], dtype=np.float32), np.arange(len(ids)), k)
    return [
        (ids[q], ids[j], rank, float(s))
        for q in range(len(ids))
        for rank, (j, s) in enumerate(zip(found.index[q], found.score[q], strict=True), start=1)
        if j >= 0
    ]


def index_parameters(config: SimilaritySettings) -> IndexParameters:
    return IndexParameters(
        dtype=config.ann_dtype,
        connectivity=config.ann_connectivity,
        expansion_add=config.ann_expansion_add,
        expansion_search=config.ann_expansion_search,
        candidates=config.ann_candidates,
        threads=config.threads,
    )


def state_version(settings: MsdbSettings, config: SimilaritySettings) -> str:
    """What the stored neighbours depend on besides the vectors: a change of it recomputes everything."""
    return (
        f"{model_version(settings)}|k={config.neighbors}|c={config.rescore_candidates}|x={config.cross_domain_neighbors}"
        f"|blend={config.text_weight}:{config.tag_weight}|w={config.weights.model_dump_json()}"
        f"|m={config.metadata_weights.model_dump_json()}|era={config.era_years}"
    )


def run_similarity(settings: MsdbSettings, logical_date: date, full_refresh: bool = False) -> SimilaritySummary:
    config = load_embedding_config(settings.models_dir).similarity
    tag_ids = [t.id for t in load_taxonomy(settings.models_dir).tags]
    version = model_version(settings)
    current = state_version(settings, config)
    with writer(settings.warehouse) as con:
        stored = con.execute("SELECT DISTINCT model_version FROM similarity.work_vectors_state").fetchall()
        full = full_refresh or stored != [(current,)]
        prepare_metadata(con)
        prepare_inputs(con, version, tag_ids, DOMAINS)
        con.begin()
        if full:
            con.execute("DELETE FROM similarity.work_neighbors")
            con.execute("DELETE FROM similarity.work_candidates")
            con.execute("DELETE FROM similarity.work_vectors_state")
        # works without a domain any more (gone from dim_work, no embedding, kind changed to one not compared)
        for table in ("similarity.work_neighbors", "similarity.work_candidates"):
            con.execute(f"DELETE FROM {table} WHERE work_id NOT IN (SELECT work_id FROM {INPUTS})")
        pending: list[tuple[Path, dict]] = []
        domains = []
        touched: dict[str, tuple] = {}
        indexes: dict[str, AnnIndex] = {}  # the HNSW index of each large domain, for the cross-domain pass
        for domain in sorted(set(DOMAINS.values())):
            outcome = _refresh_domain(
                con, settings, config, domain, version, current, logical_date, full, pending, touched, indexes
            )
            if outcome:
                domains.append(outcome)
        if config.cross_domain_neighbors > 0:
            for query_domain, candidate_domain in CROSS_DOMAINS:
                _refresh_cross_domain(
                    con, config, query_domain, candidate_domain, version, current, logical_date, full, touched,
                    indexes.get(candidate_domain),
                )
        # a whole domain that left (no pass above) leaves no cross-domain row pointing into it
        con.execute(
            f"""
            DELETE FROM similarity.work_neighbors
            WHERE coalesce(is_cross_domain, false) AND neighbor_work_id NOT IN (SELECT work_id FROM {INPUTS})
            """
        )
        article_matches = match_articles_to_works(con, config, load_taxonomy(settings.models_dir), version, logical_date)
        similar_articles = 0
        if has_table(con, "marts", "dim_article"):
            similar_articles = refresh_article_neighbours(
                con, config.articles, config.article_neighbors, version, logical_date
            )
        con.commit()
        for path, meta in pending:  # the index files follow the committed state (see _open_index)
            path.with_suffix(".usearch.partial").replace(path)
            path.with_suffix(".json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", "utf-8")
        works, neighbors = con.execute(
            "SELECT count(DISTINCT work_id), count(*) FROM similarity.work_neighbors"
        ).fetchone()
    return SimilaritySummary(
        works=works,
        neighbors=neighbors,
        recomputed=sum(d.recomputed for d in domains),
        full_refresh=full,
        domains=domains,
        article_work_matches=article_matches,
        article_neighbors=similar_articles,
    )


def _refresh_domain(
    con,
    settings: MsdbSettings,
    config: SimilaritySettings,
    domain: str,
    version: str,
    current: str,
    logical_date: date,
    full: bool,
    pending: list,
    touched: dict,
    indexes: dict,
) -> DomainSummary | None:
    k = config.neighbors
    count = max(config.rescore_candidates, k)  # dense candidates rescored per work
    members = read_members(con, domain, current, count)
    gone = frame(
        con,
        f"""
        SELECT s.work_id, ('0x' || left(sha256(s.work_id), 15))::UBIGINT AS work_key
        FROM similarity.work_vectors_state s
        WHERE s.domain = $domain
          AND NOT EXISTS (SELECT 1 FROM {INPUTS} i WHERE i.work_id = s.work_id AND i.domain = s.domain)
        ORDER BY s.work_id
        """,
        {"domain": domain},
    )
    n = len(members)
    if n == 0:  # the last works of the domain left: their rows went with them (run_similarity)
        if len(gone) == 0:
            return None
        con.execute("DELETE FROM similarity.work_vectors_state WHERE domain = ?", [domain])
        return DomainSummary(domain=domain, works=0, method="exact", recomputed=0, removed=len(gone))
    ids = members["work_id"]
    previous = members["previous_sha256"].to_numpy()
    changed = np.nonzero(members["vector_sha256"].to_numpy() != previous)[0] if not full else np.arange(n)
    if not full:
        changed = np.union1d(changed, np.nonzero(members["previous_sha256"].is_null().to_numpy())[0])
    matrix = read_matrix(con, members, domain, version, (config.text_weight, config.tag_weight), config.read_batch_rows)
    text_dims = matrix.shape[1] - con.execute(f"SELECT len(tag_profile) FROM {INPUTS} LIMIT 1").fetchone()[0]
    meta = read_metadata(con, ids.to_list())

    index = None
    keys = members["work_key"].to_numpy().astype(np.int64)
    key_order = np.argsort(keys)
    sorted_keys, key_rows = keys[key_order], key_order
    if len(np.unique(keys)) != n:
        raise ValueError(f"{domain}: two work ids share an index key; rebuild with --full-refresh after renaming")
    if n >= config.ann_min_works:
        index = _open_index(con, settings, config, domain, current, matrix.shape[1], full)
        if index is None:
            index = AnnIndex(matrix.shape[1], index_parameters(config))
            index.add(keys.astype(np.uint64), matrix)
        else:
            stale = np.concatenate([gone["work_key"].to_numpy().astype(np.int64), keys[changed]])
            present = index.index.contains(stale.astype(np.uint64)) if len(stale) else np.zeros(0, dtype=bool)
            index.remove(stale[np.asarray(present, dtype=bool)].astype(np.uint64))
            index.add(keys[changed].astype(np.uint64), matrix[changed])
        indexes[domain] = index

    if full:
        affected = np.arange(n)
    else:
        affected = _affected(con, matrix, members, changed, gone, index, sorted_keys, key_rows, count, config)
    touched[domain] = (ids.gather(affected), frame_of(ids.gather(changed), gone["work_id"])["work_id"])
    if not full:  # (a full refresh emptied the tables)
        stream = ArrowStream(ids.gather(affected).to_frame())  # noqa: F841 (read by DuckDB)
        con.execute(
            """
            DELETE FROM similarity.work_neighbors
            WHERE work_id IN (SELECT work_id FROM stream) AND NOT coalesce(is_cross_domain, false)
            """
        )
        con.execute("DELETE FROM similarity.work_candidates WHERE work_id IN (SELECT work_id FROM stream)")
    rows_all = np.arange(n)
    for start in range(0, len(affected), config.query_block_rows):
        block = affected[start : start + config.query_block_rows]
        if index is None:
            found = exact_top_k(matrix, block, count, config.query_block_rows, config.candidate_block_rows)
        else:
            found = ann_top_k(index, matrix, block, count, sorted_keys, key_rows, config.query_block_rows)
        _insert_candidates(con, ids, block, found, logical_date)
        kept = rescore(matrix, block, matrix, found.index, text_dims, meta, rows_all[block], 0, k, config, same_matrix=True)
        _insert_rescored(con, ids.gather(block), ids, kept, version, logical_date, cross=False, rank_offset=0)

    recall = None
    if index is not None:
        recall = _record_recall(con, matrix, index, sorted_keys, key_rows, domain, config, current, logical_date)
        path = settings.var_dir / "similarity" / f"{domain}.usearch"
        path.parent.mkdir(parents=True, exist_ok=True)
        index.index.save(str(path.with_suffix(".usearch.partial")))
        pending.append((path, {"state_version": current, "state_sha256": None, "parameters": _parameters(config)}))

    con.execute(
        f"""
        DELETE FROM similarity.work_vectors_state s
        WHERE s.domain = $domain AND NOT EXISTS (
            SELECT 1 FROM {INPUTS} i
            WHERE i.work_id = s.work_id AND i.domain = s.domain AND i.vector_sha256 = s.vector_sha256
        )
        """,
        {"domain": domain},
    )
    con.execute(
        f"""
        INSERT INTO similarity.work_vectors_state
        SELECT i.work_id, i.domain, i.vector_sha256, $current, $logical_date
        FROM {INPUTS} i
        WHERE i.domain = $domain AND NOT EXISTS (
            SELECT 1 FROM similarity.work_vectors_state s WHERE s.work_id = i.work_id AND s.domain = i.domain
        )
        """,
        {"domain": domain, "current": current, "logical_date": logical_date},
    )
    if index is not None:
        pending[-1][1]["state_sha256"] = _state_digest(con, domain)
    return DomainSummary(
        domain=domain,
        works=n,
        method="exact" if index is None else "ann",
        recomputed=len(affected),
        removed=len(gone),
        recall_at_k=recall,
    )


def frame_of(*columns):
    import polars as pl

    return pl.DataFrame({"work_id": pl.concat([c.cast(pl.String) for c in columns])})


def _parameters(config: SimilaritySettings) -> dict:
    return {**index_parameters(config).__dict__}


def _state_digest(con, domain: str) -> str:
    return con.execute(
        """
        SELECT sha256(coalesce(string_agg(work_id || ':' || vector_sha256, ',' ORDER BY work_id), ''))
        FROM similarity.work_vectors_state WHERE domain = ?
        """,
        [domain],
    ).fetchone()[0]


def _open_index(con, settings, config, domain, current, ndim, full) -> AnnIndex | None:
    """The saved index, if it holds exactly the vectors the stored state says (else None: rebuild)."""
    path = settings.var_dir / "similarity" / f"{domain}.usearch"
    meta_path = path.with_suffix(".json")
    if full or not path.exists() or not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text("utf-8"))
    if (
        meta.get("state_version") != current
        or meta.get("parameters") != _parameters(config)
        or meta.get("state_sha256") != _state_digest(con, domain)
    ):
        return None
    return AnnIndex.restore(path, ndim, index_parameters(config))


def _affected(con, matrix, members, changed, gone, index, sorted_keys, key_rows, k, config) -> np.ndarray:
    """Rows to recompute: changed vectors, works that had a changed or gone work among their k dense
    candidates, and works whose k-th candidate a changed vector now beats."""
    import polars as pl

    ids = members["work_id"]
    stream = ArrowStream(frame_of(ids.gather(changed), gone["work_id"]))  # noqa: F841 (read by DuckDB)
    referrers = pl.DataFrame(  # here, not through frame(): DuckDB finds `stream` among this function's locals
        con.sql(
            """
            SELECT DISTINCT c.work_id FROM similarity.work_candidates c
            WHERE c.candidate_work_id IN (SELECT work_id FROM stream)
            """
        )
    )
    referrer_rows = (
        members.select("work_id").with_row_index("row").join(referrers, on="work_id")["row"].to_numpy()
    )
    kth = members["kth_score"].to_numpy().astype(np.float64)
    gainers = _gainers(matrix, changed, kth, index, sorted_keys, key_rows, k, config)
    return np.union1d(np.union1d(changed, referrer_rows), gainers).astype(np.int64)


def _gainers(matrix, changed, kth, index, sorted_keys, key_rows, k, config) -> np.ndarray:
    """Rows whose k-th stored neighbour a changed vector scores at least as high as (within EPSILON)."""
    if not len(changed):
        return np.empty(0, dtype=np.int64)
    found = []
    if index is None:
        for q in range(0, len(changed), config.query_block_rows):
            queries = matrix[changed[q : q + config.query_block_rows]]
            for start in range(0, len(matrix), config.candidate_block_rows):
                best = (queries @ matrix[start : start + config.candidate_block_rows].T).max(axis=0)
                found.append(start + np.nonzero(best >= kth[start : start + len(best)] - EPSILON)[0])
    else:
        count = max(config.ann_candidates, 4 * k)
        for q in range(0, len(changed), config.query_block_rows):
            block = changed[q : q + config.query_block_rows]
            keys, _ = index.hits(matrix[block], count)
            rows = rows_of_keys(keys, sorted_keys, key_rows)
            valid = rows >= 0
            scores = np.einsum("qd,qmd->qm", matrix[block], matrix[np.where(valid, rows, 0)])
            beats = valid & (scores >= kth[np.where(valid, rows, 0)] - EPSILON)
            found.append(rows[beats])
    return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)


def _insert_candidates(con, ids, queries: np.ndarray, found: Neighbours, logical_date: date) -> None:
    """The dense candidates of `queries`, kept for the next night's incremental update."""
    import polars as pl

    k = found.index.shape[1]
    valid = (found.index >= 0).ravel()
    if not valid.any():
        return
    rows = pl.DataFrame(
        {
            "work_id": ids.gather(np.repeat(queries, k)[valid]),
            "candidate_work_id": ids.gather(found.index.ravel()[valid]),
            "search_score": found.score.ravel()[valid],
        }
    ).with_columns(logical_date=pl.lit(logical_date))
    stream = ArrowStream(rows)  # noqa: F841 (read by DuckDB)
    con.execute("INSERT INTO similarity.work_candidates BY NAME SELECT * FROM stream")


def _insert_rescored(
    con, query_ids, candidate_ids, kept: Rescored, version: str, logical_date: date, cross: bool, rank_offset: int
) -> None:
    import polars as pl

    if not len(kept.query):
        return
    rows = pl.DataFrame(
        {
            "work_id": query_ids.gather(kept.query),
            "neighbor_work_id": candidate_ids.gather(kept.neighbour),
            "rank": kept.rank + np.int32(rank_offset),
            "score": kept.score,
            "search_score": kept.search_score,
            "text_share": kept.text_share,
            "kansei_share": kept.kansei_share,
            "metadata_share": kept.metadata_share,
        }
    ).with_columns(model_version=pl.lit(version), logical_date=pl.lit(logical_date), is_cross_domain=pl.lit(cross))
    stream = ArrowStream(rows)  # noqa: F841 (read by DuckDB)
    con.execute("INSERT INTO similarity.work_neighbors BY NAME SELECT * FROM stream")


def _refresh_cross_domain(
    con, config, query_domain, candidate_domain, version, current, logical_date, full, touched, index=None
) -> None:
    """Neighbours of query_domain's works among candidate_domain's, ranked after the within-domain ones.

    Recomputed for the query works recomputed within their domain tonight and for those whose cross
    neighbours changed or left; a changed work that would newly enter another work's cross list waits for that
    work's next recomputation (or a full refresh). Exact search in blocks over a small candidate domain; over a
    large one (`ann_min_works`), the hits of its HNSW index (`index`, as the domain pass left it), rescored
    exactly. Memory: both domains' matrices, the index, and one query_block_rows x candidate_block_rows block."""
    import polars as pl

    if query_domain not in touched or candidate_domain not in touched:
        return
    count = max(config.rescore_candidates, config.cross_domain_neighbors)
    queries_members = read_members(con, query_domain, current, count)
    candidate_members = read_members(con, candidate_domain, current, count)
    if not len(queries_members) or not len(candidate_members):
        return
    query_ids, candidate_ids = queries_members["work_id"], candidate_members["work_id"]
    if full:
        wanted = np.arange(len(query_ids))
    else:
        recomputed, _ = touched[query_domain]
        _, changed = touched[candidate_domain]
        stream = ArrowStream(pl.DataFrame({"work_id": changed}))  # noqa: F841 (read by DuckDB)
        referrers = pl.DataFrame(
            con.sql(
                """
                SELECT DISTINCT work_id FROM similarity.work_neighbors
                WHERE is_cross_domain AND neighbor_work_id IN (SELECT work_id FROM stream)
                """
            )
        )
        names = pl.concat([recomputed.to_frame("work_id"), referrers.select(pl.col("work_id").cast(pl.String))])
        wanted = (
            queries_members.select("work_id").with_row_index("row").join(names.unique(), on="work_id")["row"].to_numpy()
        )
        wanted = np.sort(wanted).astype(np.int64)
        stream = ArrowStream(query_ids.gather(wanted).to_frame())  # noqa: F841 (read by DuckDB)
        con.execute(
            "DELETE FROM similarity.work_neighbors WHERE is_cross_domain AND work_id IN (SELECT work_id FROM stream)"
        )
    if not len(wanted):
        return
    weights = (config.text_weight, config.tag_weight)
    query_matrix = read_matrix(con, queries_members, query_domain, version, weights, config.read_batch_rows)
    candidate_matrix = read_matrix(con, candidate_members, candidate_domain, version, weights, config.read_batch_rows)
    text_dims = query_matrix.shape[1] - con.execute(f"SELECT len(tag_profile) FROM {INPUTS} LIMIT 1").fetchone()[0]
    meta = read_metadata(con, query_ids.to_list() + candidate_ids.to_list())
    offset = len(query_ids)
    if index is not None:
        keys = candidate_members["work_key"].to_numpy().astype(np.int64)
        key_order = np.argsort(keys)
        sorted_keys, key_rows = keys[key_order], key_order
    for start in range(0, len(wanted), config.query_block_rows):
        block = wanted[start : start + config.query_block_rows]
        if index is None:
            candidates = cross_top_k(query_matrix[block], candidate_matrix, count, config.candidate_block_rows)
        else:
            hits, _ = index.hits(query_matrix[block], max(config.ann_candidates, count))
            candidates = rows_of_keys(hits, sorted_keys, key_rows)
        kept = rescore(
            query_matrix, block, candidate_matrix, candidates, text_dims, meta, block, offset,
            config.cross_domain_neighbors, config, same_matrix=False,
        )
        _insert_rescored(
            con, query_ids.gather(block), candidate_ids, kept, version, logical_date, cross=True, rank_offset=config.neighbors
        )


def _record_recall(con, matrix, index, sorted_keys, key_rows, domain, config, current, logical_date) -> float:
    """recall@k of the index path against exact search on a fixed sample of the domain, into ops.model_evals."""
    n = len(matrix)
    sample = np.sort(np.random.default_rng(0).choice(n, size=min(config.recall_sample, n), replace=False))
    k = config.recall_at
    approximate = ann_top_k(index, matrix, sample, k, sorted_keys, key_rows, config.query_block_rows)
    exact = exact_top_k(matrix, sample, k, config.query_block_rows, config.candidate_block_rows)
    recall = round(recall_at_k(approximate, exact), 4)
    details = {"domain": domain, "works": n, "index": _parameters(config), "state_version": current}
    con.execute(
        "INSERT INTO ops.model_evals VALUES (?, ?, ?, ?, ?, ?, ?)",
        [logical_date, f"similarity:{domain}", f"recall@{k}", recall, len(sample), json.dumps(details), datetime.now(UTC)],
    )
    return recall


__all__ = ["DOMAINS", "SimilaritySummary", "blend", "nearest", "rank_candidates", "run_similarity"]
