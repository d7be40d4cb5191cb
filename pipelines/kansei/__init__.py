"""Kansei (感性) tagging: mood, emotion, theme, scene and impression tags for every work and article.

Two signals, each where it works: sentence-embedding similarity between a text and each tag's English
description (the packaged model reads English), and the Japanese lexicon on SudachiPy lemmas. A tag's score
is the stronger of the two; `source` says which produced it.

A night scores only what changed. Each work's and article's text is hashed in DuckDB; `kansei.text_tags`
caches the tags of every distinct text by (sha256, model version), and `kansei.tag_status` records which text
each work and article was last tagged from, or why it is untaggable, so that the tagged and the untaggable
make up the whole catalog. A new model or taxonomy version empties every kansei table first: versions never
mix.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np

from pipelines.kansei.config import (
    EmbeddingConfig,
    Taxonomy,
    load_embedding_config,
    load_lexicon,
    load_taxonomy,
)
from pipelines.kansei.embedder import embed
from pipelines.kansei.lexicon import lexicon_hits
from pipelines.settings import MsdbSettings
from pipelines.warehouse import ArrowStream, writer

# Distinct texts scored per batch: what a batch holds in Python is this many texts (at most ~2 KB each after
# the cut at max_chars), their vectors (× 384 float32) and their tags, ~60 MB. Large, since each length bucket
# of a batch ends in one part-filled encoder batch (see `embed`).
TEXT_BATCH = 16_384
# DuckDB's buffer pool during the stage; the joins over the catalog spill to its temporary directory beyond it.
DUCKDB_MEMORY_LIMIT = "512MB"

NO_TEXT = "no text"
NO_TAG = "no tag above threshold"
NO_LEXICON_MATCH = "Japanese text only, no lexicon match"

KANSEI_TABLES = ("kansei.text_tags", "kansei.tag_status", "kansei.work_tags", "kansei.article_tags", "kansei.work_embeddings")

# The texts tagged, written in SQL so that they are hashed where they are read. A work reads its English-side
# title with its genres and summary (the embedding signal) and its Japanese title (the lexicon); an article its
# title and body on the side of its language.
ITEM_TEXTS = """
SELECT kind, item_id, english, japanese, sha256(english || chr(31) || japanese) AS text_sha256
FROM (
    SELECT 'work' AS kind,
           work_id AS item_id,
           coalesce(concat_ws('. ', coalesce(title_en, title_latn, title), array_to_string(genres, ', '), summary), '') AS english,
           coalesce(concat_ws(' ', title_ja, title), '') AS japanese
    FROM marts.dim_work
    UNION ALL
    SELECT 'article',
           article_id,
           CASE WHEN language = 'ja' THEN '' ELSE coalesce(concat_ws('. ', title, body), '') END,
           CASE WHEN language = 'ja' THEN coalesce(concat_ws(' ', title, body), '') ELSE '' END
    FROM marts.dim_article
)
"""


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
    full_refresh: bool = False


@dataclass
class ScoredText:
    tags: list[tuple[str, str, float, str]]  # (tag_id, facet, score, source), by tag_id
    untaggable_reason: str | None
    vector: np.ndarray | None  # the text's embedding, when asked for


def model_version(settings: MsdbSettings) -> str:
    config = load_embedding_config(settings.models_dir)
    taxonomy = load_taxonomy(settings.models_dir)
    model = settings.embedding_model or config.model
    return f"{model}@{config.version}/taxonomy@{taxonomy.version}"


def _model_name(settings: MsdbSettings, config: EmbeddingConfig) -> str:
    return settings.embedding_model or config.model


class Scorer:
    """The tagging inputs of one run, loaded once: configuration, taxonomy, lexicon, and the embeddings of the
    tag descriptions (the same for every text scored)."""

    def __init__(self, settings: MsdbSettings):
        self.config = load_embedding_config(settings.models_dir)
        self.taxonomy: Taxonomy = load_taxonomy(settings.models_dir)
        self.lexicon = load_lexicon(settings.models_dir)
        self.model = _model_name(settings, self.config)
        self.facets = {t.id: t.facet for t in self.taxonomy.tags}
        self.tag_vectors = embed([t.description for t in self.taxonomy.tags], self.model, self.config.batch_size)

    def score(self, english_texts: list[str], japanese_texts: list[str]) -> list[dict[str, tuple[float, str]]]:
        """For each item: tag_id → (score, source). English text feeds the embedding signal, Japanese the
        lexicon."""
        scored = self.score_texts(english_texts, japanese_texts, [False] * len(english_texts))
        return [{tag_id: (score, source) for tag_id, _, score, source in s.tags} for s in scored]

    def score_texts(self, english_texts: list[str], japanese_texts: list[str], want_vectors: list[bool]) -> list[ScoredText]:
        """Tags, or the reason there are none, for each (English, Japanese) text, and its embedding where
        `want_vectors` asks (a work's: the English text, else the Japanese). Each distinct text is embedded
        once."""
        cut = self.config.max_chars
        to_embed: dict[str, int] = {}
        for english, japanese, wanted in zip(english_texts, japanese_texts, want_vectors, strict=True):
            if english.strip() or wanted:
                to_embed.setdefault(english[:cut] if english.strip() else japanese[:cut], len(to_embed))
        vectors = embed(list(to_embed), self.model, self.config.batch_size)
        results = []
        for english, japanese, wanted in zip(english_texts, japanese_texts, want_vectors, strict=True):
            vector = vectors[to_embed[english[:cut] if english.strip() else japanese[:cut]]] if english.strip() or wanted else None
            scores = self._tags(vector if english.strip() else None, japanese)
            if scores:
                reason = None
            elif not english.strip() and not japanese.strip():
                reason = NO_TEXT
            elif english.strip():
                reason = NO_TAG
            else:
                reason = NO_LEXICON_MATCH
            tags = [(tag_id, self.facets[tag_id], round(score, 6), source) for tag_id, (score, source) in sorted(scores.items())]
            results.append(ScoredText(tags, reason, vector if wanted else None))
        return results

    def _tags(self, vector: np.ndarray | None, japanese: str) -> dict[str, tuple[float, str]]:
        taxonomy, tagging = self.taxonomy, self.config.tagging
        scores: dict[str, tuple[float, str]] = {}
        best: list[tuple[str, float]] = []
        if vector is not None:
            similarities = self.tag_vectors @ vector
            for tag_index in np.argsort(-similarities, kind="stable")[: tagging.embedding_top_k]:
                best.append((taxonomy.tags[tag_index].id, float(similarities[tag_index])))
            for tag_id, value in best:
                if value >= tagging.embedding_min_score:
                    scores[tag_id] = (value, "embedding")
        for tag_id, weight in lexicon_weights(japanese, self.lexicon).items():
            if weight < 0.5:
                continue
            value = min(0.95, tagging.lexicon_base_score + tagging.lexicon_step * (weight - 1.0))
            previous = scores.get(tag_id)
            if previous is None or value > previous[0]:
                source = "lexicon" if previous is None else "embedding+lexicon"
                scores[tag_id] = (value, source)
        if not scores and best:
            # A short title ('Tsuki no Uta No. 5') is near no description; it keeps its best tags all the same,
            # those close to its top one, unless even that is noise.
            floor = max(tagging.embedding_floor, tagging.embedding_relative_floor * best[0][1])
            scores = {tag_id: (value, "embedding") for tag_id, value in best if value >= floor}
        return scores


def lexicon_weights(text: str, lexicon) -> dict[str, float]:
    """tag_id → summed weight of the distinct lexicon lemmas the text holds, negated ones left out (悲しくない)."""
    weights: dict[str, float] = {}
    for tag_id, _lemma, weight in sorted({(h.tag_id, h.lemma, h.weight) for h in lexicon_hits(text, lexicon) if not h.negated}):
        weights[tag_id] = weights.get(tag_id, 0.0) + weight
    return weights


def score_texts(
    english_texts: list[str],
    japanese_texts: list[str],
    settings: MsdbSettings,
) -> list[dict[str, tuple[float, str]]]:
    """For each item: tag_id → (score, source) (see `Scorer`; a run scores works and articles with one)."""
    return Scorer(settings).score(english_texts, japanese_texts)


def _text_batches(con, batch_size: int) -> Iterator[list[tuple]]:
    """The texts to score, `batch_size` at a time, by their row number in tag_todo (DuckDB skips the row
    groups outside each range, so a batch costs its own rows)."""
    total = con.execute("SELECT count(*) FROM tag_todo").fetchone()[0]
    for start in range(0, total, batch_size):
        yield con.execute(
            """
            SELECT text_sha256, english, japanese, needs_vector, needs_tags FROM tag_todo
            WHERE batch_row > ? AND batch_row <= ? ORDER BY batch_row
            """,
            [start, start + batch_size],
        ).fetchall()


def _write_batch(con, batch: list[tuple], scored: list[ScoredText], version: str) -> None:
    """The batch's cache rows, and the vectors of the works whose text it scored, in one transaction."""
    import polars as pl

    tag_type = pl.List(pl.Struct({"tag_id": pl.String, "facet": pl.String, "score": pl.Float64, "source": pl.String}))
    frame = pl.DataFrame(
        {
            "text_sha256": [row[0] for row in batch],
            "needs_tags": [row[4] for row in batch],
            "tags": pl.Series(
                [[dict(zip(("tag_id", "facet", "score", "source"), tag, strict=True)) for tag in s.tags] for s in scored],
                dtype=tag_type,
            ),
            "untaggable_reason": pl.Series([s.untaggable_reason for s in scored], dtype=pl.String),
            "has_vector": [s.vector is not None for s in scored],
        }
    )
    vectors = [s.vector for s in scored if s.vector is not None]
    if vectors:
        matrix = np.zeros((len(scored), vectors[0].shape[0]), dtype=np.float32)
        for row, text in enumerate(scored):
            if text.vector is not None:
                matrix[row] = text.vector
        embedding = pl.Series("embedding", matrix).cast(pl.List(pl.Float32))
    else:
        embedding = pl.Series("embedding", [None] * len(scored), dtype=pl.List(pl.Float32))
    frame = frame.with_columns(embedding=pl.when(pl.col("has_vector")).then(embedding))
    stream = ArrowStream(frame)  # noqa: F841 (read by DuckDB)
    con.begin()
    con.execute("CREATE OR REPLACE TEMP TABLE tag_batch AS SELECT * FROM stream")
    con.execute(
        """
        INSERT INTO kansei.text_tags
        SELECT text_sha256, ?, tags, untaggable_reason FROM tag_batch WHERE needs_tags
        """,
        [version],
    )
    con.execute(
        """
        INSERT INTO kansei.work_embeddings
        SELECT s.item_id, s.text_sha256, ?, b.embedding
        FROM tag_stale s JOIN tag_batch b USING (text_sha256)
        WHERE s.kind = 'work' AND b.embedding IS NOT NULL
        """,
        [version],
    )
    con.commit()


def run_tagging(
    settings: MsdbSettings,
    logical_date: date,
    full_refresh: bool = False,
    batch_size: int = TEXT_BATCH,
) -> TagSummary:
    """Tag the works and articles whose text is new or changed since their last tags, and forget those gone.

    Memory: O(batch_size × (max_chars + dim)) in Python plus the model, whatever the catalog; the catalog-wide
    joins run in DuckDB under DUCKDB_MEMORY_LIMIT. Each batch commits its cache rows, so a night that dies
    resumes where it stopped. `full_refresh` (or a `full_refresh` setting, MSDB_FULL_REFRESH) empties the
    kansei tables first and scores everything again.
    """
    full_refresh = full_refresh or bool(getattr(settings, "full_refresh", False))
    version = model_version(settings)
    with writer(settings.warehouse) as con:
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        con.begin()
        for table in KANSEI_TABLES:
            con.execute(f"DELETE FROM {table} WHERE ? OR model_version <> ?", [full_refresh, version])
        con.commit()

        con.execute(f"CREATE OR REPLACE TEMP TABLE tag_items AS {ITEM_TEXTS}")
        # Items whose tags (or, for a work, whose vector) were not computed from their current text.
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE tag_stale AS
            SELECT i.kind, i.item_id, i.text_sha256 FROM tag_items i
            WHERE NOT EXISTS (
                    SELECT 1 FROM kansei.tag_status s
                    WHERE s.kind = i.kind AND s.item_id = i.item_id AND s.text_sha256 = i.text_sha256)
               OR (i.kind = 'work' AND NOT EXISTS (
                    SELECT 1 FROM kansei.work_embeddings e
                    WHERE e.work_id = i.item_id AND e.text_sha256 = i.text_sha256))
            """
        )
        # Their distinct texts that the cache does not hold, or that a work needs a vector of that no work has.
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE tag_todo AS
            WITH wanted AS (
                SELECT text_sha256, bool_or(kind = 'work') AS for_work FROM tag_stale GROUP BY text_sha256
            ),
            todo AS (
                SELECT text_sha256,
                       for_work AND text_sha256 NOT IN (SELECT text_sha256 FROM kansei.work_embeddings) AS needs_vector,
                       text_sha256 NOT IN (SELECT text_sha256 FROM kansei.text_tags) AS needs_tags
                FROM wanted
            ),
            texts AS (
                SELECT DISTINCT ON (text_sha256) text_sha256, english, japanese FROM tag_items
                WHERE text_sha256 IN (SELECT text_sha256 FROM todo WHERE needs_vector OR needs_tags)
            )
            -- Ordered by text, so that the texts that differ only on the Japanese side share a batch and
            -- their English side is embedded once.
            SELECT row_number() OVER (ORDER BY english, japanese, text_sha256) AS batch_row, text_sha256, english, japanese,
                   needs_vector, needs_tags
            FROM texts JOIN todo USING (text_sha256)
            ORDER BY batch_row
            """
        )
        scorer: Scorer | None = None
        texts_scored = 0
        for batch in _text_batches(con, batch_size):
            scorer = scorer or Scorer(settings)
            scored = scorer.score_texts([r[1] for r in batch], [r[2] for r in batch], [r[3] for r in batch])
            _write_batch(con, batch, scored, version)
            texts_scored += len(batch)

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
                INSERT INTO {table} ({key}, tag_id, facet, score, source, model_version, logical_date)
                SELECT item_id, tag.tag_id, tag.facet, tag.score, tag.source, $version, $logical_date
                FROM (SELECT s.item_id, unnest(c.tags) AS tag
                      FROM tag_stale s JOIN kansei.text_tags c USING (text_sha256)
                      WHERE s.kind = $kind)
                """,
                {"kind": kind, "version": version, "logical_date": logical_date},
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
        for name in ("tag_items", "tag_stale", "tag_todo", "tag_batch"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return TagSummary(
        **{name: int(value) for name, value in counts.items()},
        model_version=version,
        items_retagged=retagged,
        texts_scored=texts_scored,
        full_refresh=full_refresh,
    )
