"""`msdb similar eval --livedoor DIR`: nearest-neighbour category precision@k of the article representation.

Each article's k nearest other articles (pipelines.similarity.articles, the representation the nightly article
matching uses) should share its category (its sub-folder). Two figures: precision@k over every article with the
configured parameters, and a 2-fold figure that does not flatter them: the few free parameters (lemma weight,
expansion rounds) are chosen on one half of each category and measured on the other half, both ways, and the
two measured figures averaged.

Memory bound: the articles' texts and lemmas, their sparse TF-IDF blocks and what article_neighbours holds
(one 64 MB block of scores and `candidates` scores an article); never articles x articles.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from pipelines.similarity.articles import (
    ArticleRepresentation,
    LivedoorArticle,
    article_blocks,
    article_neighbours,
    category_precision,
    combine,
    content_lemmas,
    read_livedoor,
)

# What the 2-fold split may tune: few values, so that the held-out figure says what a new corpus would see.
TUNED = {"lemma_weight": (0.0, 0.3, 0.6), "expansion_rounds": (0, 1, 2)}


@dataclass
class FoldResult:
    tuned_on: int  # articles
    measured_on: int
    chosen: dict
    precision: float


@dataclass
class LivedoorEval:
    folder: str
    articles: int
    categories: int
    k: int
    precision: float  # over every article, configured parameters
    parameters: dict
    folds: list[FoldResult] = field(default_factory=list)

    @property
    def held_out_precision(self) -> float | None:
        return round(float(np.mean([f.precision for f in self.folds])), 4) if self.folds else None


def _precision(articles, lemmas, config: ArticleRepresentation, k: int, kansei=None, embeddings=None) -> float:
    blocks = article_blocks([a.text for a in articles], config, lemmas=lemmas, kansei=kansei, embeddings=embeddings)
    index, _ = article_neighbours(combine(blocks, config), k, config)
    return round(category_precision([a.category for a in articles], index), 4)


def halves(articles: list[LivedoorArticle]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of each half: alternate articles of each category (in file order), so both halves hold every one."""
    seen: dict[str, int] = {}
    first = []
    for row, article in enumerate(articles):
        position = seen.get(article.category, 0)
        seen[article.category] = position + 1
        if position % 2 == 0:
            first.append(row)
    first = np.array(first, dtype=np.int64)
    return first, np.setdiff1d(np.arange(len(articles)), first)


def evaluate_livedoor(
    folder: Path,
    config: ArticleRepresentation,
    k: int = 10,
    folds: bool = True,
    kansei=None,
    embeddings=None,
) -> LivedoorEval:
    """Precision@k of `config` on every article of `folder`, and (folds) the tuned-on-one-half figure.

    kansei: optional callable texts -> profile matrix; embeddings: optional callable texts -> matrix (used
    only when their weight in `config` is above 0)."""
    articles = read_livedoor(folder)
    lemmas = [content_lemmas(a.text[: config.max_chars]) for a in articles] if config.lemma_weight > 0 or folds else None
    texts = [a.text for a in articles]
    profiles = kansei(texts) if kansei is not None and config.kansei_weight > 0 else None
    vectors = embeddings(texts) if embeddings is not None and config.embedding_weight > 0 else None

    def subset(rows):
        chosen = [articles[r] for r in rows]
        return (
            chosen,
            [lemmas[r] for r in rows] if lemmas is not None else None,
            profiles[rows] if profiles is not None else None,
            (lambda _texts: vectors[rows]) if vectors is not None else None,
        )

    everything = np.arange(len(articles))
    result = LivedoorEval(
        folder=str(folder),
        articles=len(articles),
        categories=len({a.category for a in articles}),
        k=k,
        precision=_precision(*_args(subset(everything), config, k)),
        parameters=config.model_dump(),
    )
    if folds:
        first, second = halves(articles)
        for tune, measure in ((first, second), (second, first)):
            best, best_value = None, -1.0
            for values in itertools.product(*TUNED.values()):
                candidate = config.model_copy(update=dict(zip(TUNED, values, strict=True)))
                if candidate.char_weight + candidate.lemma_weight + candidate.kansei_weight + candidate.embedding_weight <= 0:
                    continue
                value = _precision(*_args(subset(tune), candidate, k))
                if value > best_value:  # the first best in grid order: ties keep the simpler setting
                    best, best_value = candidate, value
            measured = _precision(*_args(subset(measure), best, k))
            chosen = {name: getattr(best, name) for name in TUNED}
            result.folds.append(FoldResult(len(tune), len(measure), chosen, measured))
    return result


def _args(subset, config, k):
    chosen, lemmas, profiles, embeddings = subset
    return chosen, lemmas, config, k, profiles, embeddings


def record_livedoor_eval(settings, result: LivedoorEval, logical_date: date) -> None:
    """Both figures into ops.model_evals (model 'similarity:articles')."""
    from pipelines.warehouse import writer

    details = {"folder": result.folder, "categories": result.categories, "parameters": result.parameters}
    rows = [(f"precision@{result.k}", result.precision, result.articles, details)]
    if result.folds:
        rows.append(
            (
                f"precision@{result.k}:2-fold",
                result.held_out_precision,
                sum(f.measured_on for f in result.folds),
                {**details, "folds": [f.__dict__ for f in result.folds]},
            )
        )
    now = datetime.now(UTC)
    with writer(settings.warehouse) as con:
        for metric, value, size, detail in rows:
            con.execute(
                "INSERT INTO ops.model_evals VALUES (?, ?, ?, ?, ?, ?, ?)",
                [logical_date, "similarity:articles", metric, value, size, json.dumps(detail, ensure_ascii=False), now],
            )
