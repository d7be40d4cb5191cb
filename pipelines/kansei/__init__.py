"""Kansei (感性) tagging: mood, emotion, theme, scene and impression tags for every work and article.

Each work and article is read as one text (a work: its Japanese title, its English or romanised title, genres
and summary; an article: its title and body), embedded with the scorer's model (USE multilingual, which reads
Japanese and English alike; vectors cached on disk by model id and text sha256) and scored by
`pipelines.kansei.scoring`: Ekman heads, exemplar similarity, the Japanese lexicon and, for works that have
them, the MEAD moods the rights-holder delivered, fused into one weight 0-100 per tag, at most N tags per type,
one primary tag, each with its evidence.

A night scores only what changed. Each item's text (with its MEAD moods) is hashed in DuckDB; `kansei.text_tags`
caches the tags and kansei vector of every distinct text by (sha256, model version), and `kansei.tag_status`
records which text each work and article was last tagged from, or why it is untaggable, so that the tagged and
the untaggable make up the whole catalog. The model version names the embedder, scoring, taxonomy, lexicon and
heads: a new one empties every kansei table first (but the drift history), so versions never mix.

Embedding is the costly part. `embed_shard` embeds a shard of the texts tonight's tag stage will score into the
embedding cache beforehand, read-only from the published copy of the warehouse: the Airflow DAG runs one task per
shard (`embed`), on as many workers, and the tag stage then finds every vector cached.

Written each run: `kansei.work_tags` / `kansei.article_tags` (weight, rank, is_primary, per-signal scores,
evidence, labels in both languages, versions, run id), `kansei.item_vectors` (one kansei vector per tagged
item), `kansei.work_embeddings` (each work's text embedding, for similarity) and `kansei.tag_drift` (each tag's
share of the tagged items against the previous run).
"""

from __future__ import annotations

import gc
import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import numpy as np

from pipelines.kansei.config import lexicon_version, load_taxonomy
from pipelines.kansei.embedders import NO_TEXT, NO_WORDS
from pipelines.kansei.scoring import (
    NO_TAG,
    SIGNALS,
    ItemTags,
    KanseiScorer,
    build_scorer,
    load_scoring_settings,
)
from pipelines.settings import MsdbSettings
from pipelines.warehouse import ArrowStream, writer

__all__ = [
    "NO_TAG", "NO_TEXT", "NO_WORDS", "EmbedShardSummary", "TagSummary", "embed_shard", "model_version", "run_tagging",
    "score_texts",
]  # fmt: skip

# Distinct texts scored per batch. A text is cut at MAX_TEXT_CHARS (what the embedder reads: 8 chunks of 2,000
# characters, see embedders.chunks), so a batch holds at most 2,048 x 16,000 characters (~100 MB of Python
# strings at worst, a few MB for titles and synopses), their 512-d vectors (4 MB), tags and kansei vectors.
TEXT_BATCH = 2_048
MAX_TEXT_CHARS = 16_000
# DuckDB's buffer pool during the stage; the joins over the catalog spill to its temporary directory beyond it.
DUCKDB_MEMORY_LIMIT = "512MB"
# DuckDB's threads during the stage (its statements and its CHECKPOINT; the default is restored after it). The
# stage is the encoder's, on one core; a second DuckDB thread cost ~0.4 CPU s more per 5,000 texts (scheduling
# and waiting) than it saved in wall time on the benchmark's catalog (benchmarks/kansei.py).
DUCKDB_THREADS = 1

# Emptied when the model version changes (tag_drift is a history and is kept).
KANSEI_TABLES = (
    "kansei.text_tags", "kansei.tag_status", "kansei.work_tags", "kansei.article_tags", "kansei.work_embeddings",
    "kansei.item_vectors",
)  # fmt: skip
SIGNAL_COLUMNS = {signal: signal.replace(":", "_") for signal in SIGNALS}  # lexicon:negated -> lexicon_negated

MOODS_SQL = """
    SELECT work_id, list(DISTINCT value ORDER BY value) AS moods
    FROM marts.fct_work_descriptor WHERE descriptor = 'Mood' AND value IS NOT NULL GROUP BY work_id
"""
NO_MOODS_SQL = "SELECT NULL::VARCHAR AS work_id, NULL::VARCHAR[] AS moods WHERE false"

# The texts tagged, written in SQL so that they are hashed where they are read; a work's MEAD moods are part of
# what it is tagged from (and of its hash).
ITEM_TEXTS = """
WITH moods AS ({moods})
SELECT kind, item_id, text, moods, sha256(text || chr(31) || array_to_string(moods, chr(30))) AS text_sha256
FROM (
    SELECT 'work' AS kind,
           w.work_id AS item_id,
           left(coalesce(concat_ws('. ', w.title_ja, nullif(coalesce(w.title_en, w.title_latn, w.title), w.title_ja),
                                   nullif(array_to_string(w.genres, ', '), ''), nullif(w.summary, '')), ''), {max_chars}) AS text,
           coalesce(m.moods, []::VARCHAR[]) AS moods
    FROM marts.dim_work w LEFT JOIN moods m USING (work_id)
    UNION ALL
    SELECT 'article', article_id, left(coalesce(concat_ws('. ', title, nullif(body, '')), ''), {max_chars}), []::VARCHAR[]
    FROM marts.dim_article
)
"""


# What a night tags, in temp tables `tag_stale` (items whose tags, or for a work whose text vector, were not made
# from their current text) and `tag_todo` (their distinct texts that the cache does not hold, or that a work needs
# a vector of that no work has). Shared by the tag stage and the `embed` shard tasks, so that both pick the same
# texts. The shards read the published copy, where rows of another model version (or, under a full refresh, all
# rows) are still there: the `current_*` CTEs leave them out, as the tag stage's delete did before it selects.
SELECTION_SQL = (
    """
    CREATE OR REPLACE TEMP TABLE tag_stale AS
    WITH current_status AS (
        SELECT kind, item_id, text_sha256 FROM kansei.tag_status WHERE model_version = $version AND NOT $full_refresh
    ),
    current_embeddings AS (
        SELECT work_id, text_sha256 FROM kansei.work_embeddings WHERE model_version = $version AND NOT $full_refresh
    )
    SELECT i.kind, i.item_id, i.text_sha256 FROM tag_items i
    WHERE NOT EXISTS (
            SELECT 1 FROM current_status s
            WHERE s.kind = i.kind AND s.item_id = i.item_id AND s.text_sha256 = i.text_sha256)
       OR (i.kind = 'work' AND NOT EXISTS (
            SELECT 1 FROM current_embeddings e
            WHERE e.work_id = i.item_id AND e.text_sha256 = i.text_sha256))
    """,
    """
    CREATE OR REPLACE TEMP TABLE tag_todo AS
    WITH wanted AS (
        SELECT text_sha256, bool_or(kind = 'work') AS for_work FROM tag_stale GROUP BY text_sha256
    ),
    current_vectors AS (
        SELECT text_sha256 FROM kansei.work_embeddings WHERE model_version = $version AND NOT $full_refresh
    ),
    current_tags AS (
        SELECT text_sha256 FROM kansei.text_tags WHERE model_version = $version AND NOT $full_refresh
    ),
    todo AS (
        SELECT text_sha256,
               for_work AND text_sha256 NOT IN (SELECT text_sha256 FROM current_vectors) AS needs_vector,
               text_sha256 NOT IN (SELECT text_sha256 FROM current_tags) AS needs_tags
        FROM wanted
    ),
    texts AS (
        SELECT DISTINCT ON (text_sha256) text_sha256, text, moods FROM tag_items
        WHERE text_sha256 IN (SELECT text_sha256 FROM todo WHERE needs_vector OR needs_tags)
        ORDER BY text_sha256
    )
    SELECT row_number() OVER (ORDER BY text_sha256) AS batch_row, text_sha256, text, moods, needs_vector, needs_tags
    FROM texts JOIN todo USING (text_sha256)
    ORDER BY batch_row
    """,
)


def _select_texts(con, version: str, full_refresh: bool) -> None:
    """The temp tables `tag_items` (every item's text), `tag_stale` and `tag_todo` (see SELECTION_SQL)."""
    moods = MOODS_SQL if _has_table(con, "marts", "fct_work_descriptor") else NO_MOODS_SQL
    con.execute(f"CREATE OR REPLACE TEMP TABLE tag_items AS {ITEM_TEXTS.format(moods=moods, max_chars=MAX_TEXT_CHARS)}")
    for statement in SELECTION_SQL:
        con.execute(statement, {"version": version, "full_refresh": full_refresh})


@dataclass
class TagSummary:
    works_tagged: int
    work_tags: int
    articles_tagged: int
    article_tags: int
    model_version: str
    works_untaggable: int = 0
    articles_untaggable: int = 0
    items_retagged: int = 0  # works and articles whose text was new or changed tonight
    texts_scored: int = 0  # distinct texts scored (or embedded for a vector) tonight; the rest came from the cache
    texts_embedded: int = 0  # of those, texts the model encoded (the others came from the embedding cache)
    run_id: str = ""
    full_refresh: bool = False


@cache
def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else "none"


def versions(settings: MsdbSettings) -> dict[str, str]:
    """What the tags depend on: the embedder's model id, and the scoring, taxonomy, lexicon and heads versions."""
    from pipelines.kansei.embedders import get_embedder

    scoring = load_scoring_settings(settings.models_dir)
    heads = settings.models_dir / scoring.heads_dir / "ekman.npz"
    return {
        "model_id": get_embedder(scoring.embedder).model_id,
        "scoring": scoring.version,
        "taxonomy": load_taxonomy(settings.models_dir).version,
        "lexicon": lexicon_version(settings.models_dir),
        "heads": _file_sha256(heads) + "+" + _file_sha256(heads.with_name("ekman_chars.npz")),
    }


def model_version(settings: MsdbSettings) -> str:
    v = versions(settings)
    return f"{v['model_id']}/scoring@{v['scoring']}/taxonomy@{v['taxonomy']}/lexicon@{v['lexicon']}/heads@{v['heads']}"


def score_texts(english_texts: list[str], japanese_texts: list[str], settings: MsdbSettings) -> list[dict[str, tuple[float, str]]]:
    """For each item: tag_id -> (weight / 100, signal of the evidence), its English and Japanese text read as one
    (callers outside the tag stage, e.g. similarity's article profiles)."""
    scorer = build_scorer(settings.models_dir, settings.var_dir)
    texts = [". ".join(part for part in (ja, en) if part.strip()) for en, ja in zip(english_texts, japanese_texts, strict=True)]
    return [{t.tag_id: (round(t.weight / 100.0, 3), t.evidence_signal) for t in item.tags} for item in scorer.score(texts)]


def lexicon_weights(text: str, lexicon) -> dict[str, float]:
    """tag_id -> summed weight of the distinct lexicon lemmas the text holds, negated ones left out (悲しくない)."""
    from pipelines.kansei.lexicon import lexicon_hits

    weights: dict[str, float] = {}
    for tag_id, _lemma, weight in sorted({(h.tag_id, h.lemma, h.weight) for h in lexicon_hits(text, lexicon) if not h.negated}):
        weights[tag_id] = weights.get(tag_id, 0.0) + weight
    return weights


def _text_batches(con, batch_size: int) -> Iterator[list[tuple]]:
    """The texts to score, `batch_size` at a time, by their row number in tag_todo (DuckDB skips the row
    groups outside each range, so a batch costs its own rows)."""
    total = con.execute("SELECT count(*) FROM tag_todo").fetchone()[0]
    for start in range(0, total, batch_size):
        yield con.execute(
            """
            SELECT text_sha256, text, moods, needs_vector, needs_tags FROM tag_todo
            WHERE batch_row > ? AND batch_row <= ? ORDER BY batch_row
            """,
            [start, start + batch_size],
        ).fetchall()


def _write_batch(con, batch: list[tuple], scored: list[ItemTags], vectors: np.ndarray, kansei: np.ndarray, version: str) -> None:
    """The batch's cache rows, and the text vectors of the works whose text it scored, in one transaction. The tags
    are gathered into flat columns, nested into one list per text by polars, and go to DuckDB through Arrow with
    the (rows x dim) arrays; only the rows that need writing are sent."""
    import polars as pl

    tagged = [row for row, item in enumerate(batch) if item[4]]
    columns: dict[str, list] = {
        name: [] for name in ("row", "tag_id", "facet", "weight", "rank", "is_primary", *SIGNAL_COLUMNS.values(), "evidence", "source")
    }
    signal_lists = [(signal, columns[column]) for signal, column in SIGNAL_COLUMNS.items()]
    for row in tagged:  # one pass over the tags, straight into flat columns
        for t in scored[row].tags:
            columns["row"].append(row)
            columns["tag_id"].append(t.tag_id)
            columns["facet"].append(t.type)
            columns["weight"].append(t.weight)
            columns["rank"].append(t.rank)
            columns["is_primary"].append(t.is_primary)
            columns["evidence"].append(t.evidence)
            columns["source"].append(t.evidence_signal)
            for signal, values in signal_lists:
                values.append(t.signals.get(signal))
    types = {"row": pl.Int32, "rank": pl.Int32, "is_primary": pl.Boolean, "weight": pl.Float64}
    types.update({column: pl.Float64 for column in SIGNAL_COLUMNS.values()})
    flat = pl.DataFrame({name: pl.Series(values, dtype=types.get(name, pl.String)) for name, values in columns.items()})
    # One list of tags per text, nested by polars (a group keeps its rows' order: rank order). DuckDB's ordered
    # `list(... ORDER BY rank)` of the same rows cost 4-5x as much.
    nested = flat.select(
        "row",
        pl.struct(
            "tag_id", "facet", "weight", "rank", "is_primary", pl.struct(*SIGNAL_COLUMNS.values()).alias("signals"), "evidence", "source"
        ).alias("tag"),
    ).group_by("row", maintain_order=True).agg(pl.col("tag").alias("tags"))
    items = ArrowStream(  # noqa: F841 (read by DuckDB)
        pl.DataFrame(
            {
                "row": pl.Series(tagged, dtype=pl.Int32),
                "text_sha256": pl.Series([batch[row][0] for row in tagged], dtype=pl.String),
                "vector": pl.Series("vector", kansei[tagged]),
                "untaggable_reason": pl.Series([scored[row].untaggable_reason for row in tagged], dtype=pl.String),
            }
        ).join(nested, on="row", how="left", maintain_order="left")
    )
    for_works = [row for row, item in enumerate(batch) if item[3]]
    embeddings = ArrowStream(  # noqa: F841 (read by DuckDB)
        pl.DataFrame(
            {
                "text_sha256": pl.Series([batch[row][0] for row in for_works], dtype=pl.String),
                "embedding": pl.Series("embedding", vectors[for_works]),
            }
        )
    )
    con.begin()
    if tagged:
        con.execute(
            """
            INSERT INTO kansei.text_tags
            SELECT text_sha256, ?, coalesce(tags, []), vector::FLOAT[], untaggable_reason FROM items
            """,
            [version],
        )
    if for_works:
        con.execute(
            """
            INSERT INTO kansei.work_embeddings
            SELECT s.item_id, s.text_sha256, ?, b.embedding::FLOAT[]
            FROM tag_stale s JOIN embeddings b USING (text_sha256)
            WHERE s.kind = 'work'
            """,
            [version],
        )
    con.commit()


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for one batch. A batch makes ~10^5 short-lived, acyclic objects
    (tags, dicts, lists), freed by their reference counts; their number alone set off full collections, each a walk
    over every object of the process (the model's, the lexicon's, the tokenizer's: ~0.1 CPU s). Whatever cycles a
    batch leaves are collected after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _stage_threads(con) -> Iterator[None]:
    """DuckDB on DUCKDB_THREADS threads for the stage, its CHECKPOINT included (made here, so that the writer's own
    finds nothing left to write), and its default again after: the setting is the database's, shared with any other
    connection of this process to the same file."""
    con.execute(f"SET threads = {DUCKDB_THREADS}")
    try:
        yield
        con.execute("CHECKPOINT")
    except BaseException:
        with suppress(Exception):  # the stage's own error is the one to see
            con.execute("RESET threads")
        raise
    con.execute("RESET threads")


_last_scorer: tuple[tuple, KanseiScorer] | None = None


def _scorer(settings: MsdbSettings, version: str) -> KanseiScorer:
    """The scorer of this model version, built when a night first has a text to score (a night with nothing new
    loads no model) and kept for the next night of the same process (a backfill, a worker, a benchmark)."""
    global _last_scorer
    key = (settings.models_dir.resolve(), settings.var_dir.resolve(), version)
    if _last_scorer is None or _last_scorer[0] != key:
        _last_scorer = (key, build_scorer(settings.models_dir, settings.var_dir))
    return _last_scorer[1]


def _has_table(con, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
        ).fetchone()[0]
    )


def run_tagging(
    settings: MsdbSettings,
    logical_date: date,
    full_refresh: bool = False,
    batch_size: int = TEXT_BATCH,
) -> TagSummary:
    """Tag the works and articles whose text is new or changed since their last tags, and forget those gone.

    Memory: O(batch_size x MAX_TEXT_CHARS) characters of text plus batch_size x (512 + tags) floats in Python
    (see TEXT_BATCH), the model and the scorer's exemplar vectors (~1,300 x 512 floats), whatever the catalog;
    the catalog-wide joins run in DuckDB under DUCKDB_MEMORY_LIMIT. Each batch commits its cache rows, so a
    night that dies resumes where it stopped. `full_refresh` (or a `full_refresh` setting, MSDB_FULL_REFRESH)
    empties the kansei tables first and scores everything again.
    """
    import polars as pl

    from pipelines.kansei.embedders import close_pools, embed_texts, embed_workers

    full_refresh = full_refresh or bool(getattr(settings, "full_refresh", False))
    version = model_version(settings)
    fixed = versions(settings)
    workers = embed_workers(settings.embed_workers)
    started = datetime.now(UTC)
    run_id = f"{logical_date.isoformat()}-{uuid.uuid4().hex[:12]}"
    with writer(settings.warehouse) as con, _stage_threads(con):
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        con.begin()
        for table in KANSEI_TABLES:
            con.execute(f"DELETE FROM {table} WHERE ? OR model_version <> ?", [full_refresh, version])
        con.commit()

        _select_texts(con, version, full_refresh)
        scorer: KanseiScorer | None = None
        texts_scored = texts_embedded = 0
        for batch in _text_batches(con, batch_size):
            scorer = scorer or _scorer(settings, version)
            scorer.workers = workers
            texts = [row[1] for row in batch]
            with _gc_paused():
                embedded = embed_texts(scorer.embedder, texts, scorer.cache, workers=workers)
                scored = scorer.score(texts, embedded.vectors, mead_moods=[list(row[2] or ()) for row in batch], reasons=embedded.reasons)
                _write_batch(con, batch, scored, embedded.vectors, scorer.dense_vectors(scored), version)
            texts_scored += len(batch)
            texts_embedded += embedded.encoded
        close_pools()  # the encoding workers of a full night are not kept past it

        labels = ArrowStream(  # noqa: F841 (read by DuckDB)
            pl.DataFrame(
                [(t.id, t.label_en, t.label_ja) for t in load_taxonomy(settings.models_dir).tags],
                schema={"tag_id": pl.String, "label_en": pl.String, "label_ja": pl.String},
                orient="row",
            )
        )
        con.execute("CREATE OR REPLACE TEMP TABLE tag_labels AS SELECT * FROM labels")
        recorded = {
            "version": version, "logical_date": logical_date, "run_id": run_id, "model_id": fixed["model_id"],
            "taxonomy": fixed["taxonomy"], "lexicon": fixed["lexicon"],
        }  # fmt: skip
        con.begin()
        # A work whose text another work already had takes that work's vector.
        con.execute(
            """
            INSERT INTO kansei.work_embeddings
            SELECT s.item_id, s.text_sha256, ?, e.embedding
            FROM tag_stale s
            JOIN (SELECT text_sha256, any_value(embedding) AS embedding FROM kansei.work_embeddings
                  WHERE text_sha256 IN (SELECT text_sha256 FROM tag_stale WHERE kind = 'work')
                  GROUP BY text_sha256) e USING (text_sha256)
            WHERE s.kind = 'work' AND NOT EXISTS (
                SELECT 1 FROM kansei.work_embeddings x WHERE x.work_id = s.item_id AND x.text_sha256 = s.text_sha256)
            """,
            [version],
        )
        # Vectors of earlier texts and of deleted works go.
        con.execute(
            """
            DELETE FROM kansei.work_embeddings e WHERE NOT EXISTS (
                SELECT 1 FROM tag_items i WHERE i.kind = 'work' AND i.item_id = e.work_id AND i.text_sha256 = e.text_sha256)
            """
        )
        for kind, table, key in (("work", "kansei.work_tags", "work_id"), ("article", "kansei.article_tags", "article_id")):
            con.execute(
                f"""
                DELETE FROM {table}
                WHERE {key} IN (SELECT item_id FROM tag_stale WHERE kind = $kind)
                   OR {key} NOT IN (SELECT item_id FROM tag_items WHERE kind = $kind)
                """,
                {"kind": kind},
            )
            con.execute(
                f"""
                INSERT INTO {table} BY NAME
                SELECT t.item_id AS {key}, t.tag.tag_id, t.tag.facet, l.label_en, l.label_ja, t.tag.weight,
                       round(t.tag.weight / 100, 3) AS score, t.tag.rank, t.tag.is_primary, t.tag.signals,
                       t.tag.evidence, t.tag.source, $model_id AS model_id, $taxonomy AS taxonomy_version,
                       $lexicon AS lexicon_version, $version AS model_version, $run_id AS run_id,
                       $logical_date AS logical_date
                FROM (SELECT s.item_id, unnest(c.tags) AS tag
                      FROM tag_stale s JOIN kansei.text_tags c USING (text_sha256)
                      WHERE s.kind = $kind) t
                JOIN tag_labels l ON l.tag_id = t.tag.tag_id
                """,
                {"kind": kind, **recorded},
            )
        con.execute(
            """
            DELETE FROM kansei.item_vectors v
            WHERE EXISTS (SELECT 1 FROM tag_stale s WHERE s.kind = v.kind AND s.item_id = v.item_id)
               OR NOT EXISTS (SELECT 1 FROM tag_items i WHERE i.kind = v.kind AND i.item_id = v.item_id)
            """
        )
        con.execute(
            """
            INSERT INTO kansei.item_vectors
            SELECT s.kind, s.item_id, s.text_sha256, c.vector, $model_id, $taxonomy, $lexicon, $version, $run_id, $logical_date
            FROM tag_stale s JOIN kansei.text_tags c USING (text_sha256)
            WHERE c.untaggable_reason IS NULL
            """,
            recorded,
        )
        con.execute(
            """
            DELETE FROM kansei.tag_status t WHERE NOT EXISTS (
                SELECT 1 FROM tag_items i WHERE i.kind = t.kind AND i.item_id = t.item_id AND i.text_sha256 = t.text_sha256)
               OR EXISTS (SELECT 1 FROM tag_stale s WHERE s.kind = t.kind AND s.item_id = t.item_id)
            """
        )
        con.execute(
            """
            INSERT INTO kansei.tag_status
            SELECT s.kind, s.item_id, s.text_sha256, len(c.tags), c.untaggable_reason, ?, ?
            FROM tag_stale s JOIN kansei.text_tags c USING (text_sha256)
            """,
            [version, logical_date],
        )
        # The cache holds the texts of the catalog, no more.
        con.execute("DELETE FROM kansei.text_tags WHERE text_sha256 NOT IN (SELECT text_sha256 FROM tag_items)")
        _record_drift(con, run_id, started, logical_date, version)
        con.commit()

        retagged = con.execute("SELECT count(*) FROM tag_stale").fetchone()[0]
        counts = dict(
            zip(
                ("works_tagged", "work_tags", "works_untaggable", "articles_tagged", "article_tags", "articles_untaggable"),
                con.execute(
                    """
                    SELECT count(*) FILTER (WHERE kind = 'work' AND untaggable_reason IS NULL),
                           coalesce(sum(tags) FILTER (WHERE kind = 'work'), 0),
                           count(*) FILTER (WHERE kind = 'work' AND untaggable_reason IS NOT NULL),
                           count(*) FILTER (WHERE kind = 'article' AND untaggable_reason IS NULL),
                           coalesce(sum(tags) FILTER (WHERE kind = 'article'), 0),
                           count(*) FILTER (WHERE kind = 'article' AND untaggable_reason IS NOT NULL)
                    FROM kansei.tag_status
                    """
                ).fetchone(),
                strict=True,
            )
        )
        for name in ("tag_items", "tag_stale", "tag_todo", "tag_labels"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return TagSummary(
        **{name: int(value) for name, value in counts.items()},
        model_version=version,
        items_retagged=retagged,
        texts_scored=texts_scored,
        texts_embedded=texts_embedded,
        run_id=run_id,
        full_refresh=full_refresh,
    )


@dataclass
class EmbedShardSummary:
    shard: int
    shards: int
    texts: int  # texts of tonight's selection in this shard (one per distinct text and MEAD moods)
    texts_embedded: int  # of those, distinct texts the model encoded now (the others were cached or untaggable)
    model_id: str


def embed_shard(
    settings: MsdbSettings, shard: int, shards: int, full_refresh: bool = False, batch_size: int = TEXT_BATCH
) -> EmbedShardSummary:
    """Embed shard `shard` of `shards` of the texts tonight's tag stage will score into the embedding cache, so
    that the tag stage finds their vectors there: the costly part of tagging, spread over workers.

    The texts are the tag stage's own selection (`SELECTION_SQL`), read from the published copy of the warehouse
    (which the build stage refreshes when it ends), so this takes neither the writer's slot nor the run lock and
    writes no warehouse row; a text's shard is `text_shard` of it (stable, so the shards partition the texts). A
    stale published copy costs time, never correctness: the tag stage embeds what the cache lacks itself.
    """
    from pipelines.kansei.embedders import EmbeddingCache, embed_texts, get_embedder, text_shard
    from pipelines.kansei.scoring import embedding_cache_dir
    from pipelines.warehouse import published_reader

    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not one of the {shards} shards 0..{shards - 1}")
    full_refresh = full_refresh or bool(getattr(settings, "full_refresh", False))
    version = model_version(settings)
    embedder = get_embedder(load_scoring_settings(settings.models_dir).embedder)
    cache: EmbeddingCache | None = None
    texts = texts_embedded = 0
    try:
        with published_reader(settings.warehouse) as con:
            con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
            _select_texts(con, version, full_refresh)
            for batch in _text_batches(con, batch_size):
                mine = [row[1] for row in batch if text_shard(row[1], shards) == shard]
                if not mine:
                    continue
                cache = cache or EmbeddingCache(embedding_cache_dir(settings.var_dir), embedder.model_id, embedder.dim)
                texts += len(mine)
                texts_embedded += embed_texts(embedder, mine, cache).encoded
    finally:
        if cache is not None:
            cache.close()
    return EmbedShardSummary(shard, shards, texts, texts_embedded, embedder.model_id)


def _record_drift(con, run_id: str, started: datetime, logical_date: date, version: str) -> None:
    """kansei.tag_drift: each tag's share of the tagged items of its kind now, against the latest earlier run
    (by start time, then run id); a tag the previous run had and this one has not gets a row with share 0."""
    con.execute(
        """
        INSERT INTO kansei.tag_drift
        WITH carried AS (
            SELECT 'work' AS kind, tag_id, count(*) AS items FROM kansei.work_tags GROUP BY tag_id
            UNION ALL
            SELECT 'article', tag_id, count(*) FROM kansei.article_tags GROUP BY tag_id
        ),
        tagged AS (
            SELECT kind, count(*) AS total FROM kansei.tag_status WHERE untaggable_reason IS NULL GROUP BY kind
        ),
        now AS (
            SELECT c.kind, c.tag_id, c.items, c.items / t.total AS share FROM carried c JOIN tagged t USING (kind)
        ),
        previous_run AS (
            SELECT run_id, model_version FROM kansei.tag_drift
            ORDER BY run_started_at DESC, run_id DESC LIMIT 1
        ),
        previous AS (
            SELECT kind, tag_id, share FROM kansei.tag_drift
            WHERE run_id = (SELECT run_id FROM previous_run) AND items > 0
        )
        SELECT $run_id, $started, $logical_date,
               coalesce(n.kind, p.kind), coalesce(n.tag_id, p.tag_id),
               coalesce(n.items, 0), coalesce(n.share, 0),
               (SELECT run_id FROM previous_run),
               CASE WHEN (SELECT run_id FROM previous_run) IS NOT NULL THEN coalesce(p.share, 0) END,
               CASE WHEN (SELECT run_id FROM previous_run) IS NOT NULL THEN coalesce(n.share, 0) - coalesce(p.share, 0) END,
               $version, (SELECT model_version FROM previous_run)
        FROM now n FULL OUTER JOIN previous p ON n.kind = p.kind AND n.tag_id = p.tag_id
        """,
        {"run_id": run_id, "started": started, "logical_date": logical_date, "version": version},
    )
