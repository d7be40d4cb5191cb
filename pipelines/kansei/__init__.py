"""Kansei (感性) tagging: mood, emotion, theme, scene and impression tags for every work and article.

Two signals, each where it works: sentence-embedding similarity between a text and each tag's English
description (the packaged model reads English), and the Japanese lexicon on SudachiPy lemmas. A tag's score
is the stronger of the two; `source` says which produced it. Tags are recomputed for the whole catalog each
run, so the tables always hold one consistent model version.
"""

from __future__ import annotations

import hashlib
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


@dataclass
class TagSummary:
    works_tagged: int
    work_tags: int
    articles_tagged: int
    article_tags: int
    model_version: str


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
        self.tag_vectors = embed([t.description for t in self.taxonomy.tags], self.model, self.config.batch_size)

    def score(self, english_texts: list[str], japanese_texts: list[str]) -> list[dict[str, tuple[float, str]]]:
        """For each item: tag_id → (score, source). English text feeds the embedding signal, Japanese the
        lexicon."""
        config, taxonomy, tagging = self.config, self.taxonomy, self.config.tagging
        text_vectors = embed([t[: config.max_chars] for t in english_texts], self.model, config.batch_size)
        results: list[dict[str, tuple[float, str]]] = []
        for index, japanese in enumerate(japanese_texts):
            scores: dict[str, tuple[float, str]] = {}
            if english_texts[index].strip():
                similarities = self.tag_vectors @ text_vectors[index]
                for tag_index in np.argsort(-similarities, kind="stable")[: tagging.embedding_top_k]:
                    value = float(similarities[tag_index])
                    if value >= tagging.embedding_min_score:
                        scores[taxonomy.tags[tag_index].id] = (value, "embedding")
            for tag_id, weight in lexicon_hits(japanese, self.lexicon).items():
                if weight < 0.5:
                    continue
                value = min(0.95, tagging.lexicon_base_score + tagging.lexicon_step * (weight - 1.0))
                previous = scores.get(tag_id)
                if previous is None or value > previous[0]:
                    source = "lexicon" if previous is None else "embedding+lexicon"
                    scores[tag_id] = (value, source)
            results.append(scores)
        return results


def score_texts(
    english_texts: list[str],
    japanese_texts: list[str],
    settings: MsdbSettings,
) -> list[dict[str, tuple[float, str]]]:
    """For each item: tag_id → (score, source) (see `Scorer`; a run scores works and articles with one)."""
    return Scorer(settings).score(english_texts, japanese_texts)


def _tag_rows(ids: list[str], scored, taxonomy: Taxonomy, version: str, logical_date: date, id_column: str):
    facets = {t.id: t.facet for t in taxonomy.tags}
    return [
        {
            id_column: item_id,
            "tag_id": tag_id,
            "facet": facets[tag_id],
            "score": round(score, 6),
            "source": source,
            "model_version": version,
            "logical_date": logical_date,
        }
        for item_id, tags in zip(ids, scored, strict=True)
        for tag_id, (score, source) in sorted(tags.items())
    ]


def _replace(con, table: str, rows: list[dict]) -> None:
    import polars as pl

    con.execute(f"DELETE FROM {table}")
    if rows:
        stream = ArrowStream(pl.DataFrame(rows))  # noqa: F841 (read by DuckDB)
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM stream")


def work_texts(con) -> tuple[list[str], list[str], list[str]]:
    """(work ids, English-side texts, Japanese-side texts) for every work in marts.dim_work."""
    rows = con.execute(
        """
        SELECT work_id,
               concat_ws('. ', coalesce(title_en, title_latn, title), array_to_string(genres, ', '), summary),
               concat_ws(' ', title_ja, title)
        FROM marts.dim_work ORDER BY work_id
        """
    ).fetchall()
    return [r[0] for r in rows], [r[1] or "" for r in rows], [r[2] or "" for r in rows]


def run_tagging(settings: MsdbSettings, logical_date: date) -> TagSummary:
    scorer = Scorer(settings)
    taxonomy, config = scorer.taxonomy, scorer.config
    version = model_version(settings)
    with writer(settings.warehouse) as con:
        work_ids, work_en, work_ja = work_texts(con)
        articles = con.execute(
            """
            SELECT article_id,
                   CASE WHEN language = 'ja' THEN '' ELSE concat_ws('. ', title, body) END,
                   CASE WHEN language = 'ja' THEN concat_ws(' ', title, body) ELSE '' END
            FROM marts.dim_article ORDER BY article_id
            """
        ).fetchall()
        work_scores = scorer.score(work_en, work_ja)
        article_scores = scorer.score([a[1] for a in articles], [a[2] for a in articles])
        work_rows = _tag_rows(work_ids, work_scores, taxonomy, version, logical_date, "work_id")
        article_rows = _tag_rows([a[0] for a in articles], article_scores, taxonomy, version, logical_date, "article_id")

        # Text embeddings of works, kept for similarity; only changed texts are re-embedded.
        model = scorer.model
        digests = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in work_en]
        known = {
            (r[0], r[1])
            for r in con.execute(
                "SELECT work_id, text_sha256 FROM kansei.work_embeddings WHERE model_version = ?", [version]
            ).fetchall()
        }
        stale = [i for i, (w, d) in enumerate(zip(work_ids, digests, strict=True)) if (w, d) not in known]
        vectors = embed([work_en[i][: config.max_chars] or work_ja[i] for i in stale], model, config.batch_size)
        con.begin()
        _replace(con, "kansei.work_tags", work_rows)
        _replace(con, "kansei.article_tags", article_rows)
        con.execute(
            "DELETE FROM kansei.work_embeddings WHERE model_version <> ? OR work_id NOT IN (SELECT work_id FROM marts.dim_work)",
            [version],
        )
        if stale:  # the changed texts' embeddings replace their earlier ones, in one statement each
            con.execute(
                "DELETE FROM kansei.work_embeddings WHERE work_id IN (SELECT unnest(?))",
                [[work_ids[index] for index in stale]],
            )
            con.executemany(
                "INSERT INTO kansei.work_embeddings VALUES (?, ?, ?, ?)",
                [
                    [work_ids[index], digests[index], version, vectors[row].tolist()]
                    for row, index in enumerate(stale)
                ],
            )
        con.commit()
    return TagSummary(
        works_tagged=len({r["work_id"] for r in work_rows}),
        work_tags=len(work_rows),
        articles_tagged=len({r["article_id"] for r in article_rows}),
        article_tags=len(article_rows),
        model_version=version,
    )
