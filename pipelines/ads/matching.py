"""Article → ad creative matching: for each article, the top-k creatives in flight, from context alone.

A creative's score for an article blends three signals (weights in models/ads/ads.yaml):
- iab: the article's score for a category the creative targets, or for one below it (a Sports creative suits a
  Soccer article); an article category only broader than the creative's counts `parent_category_weight`;
- text: the cosine of the article's and the creative's embeddings (headline and body), floored at 0;
- kansei: the mean of the article's scores on the creative's target kansei tags.
A creative is never matched beside an article one of whose categories it excludes (with their descendants),
whose brand-safety level it excludes, or whose level is 'floor'. Only the article's content is read: no user
id, cookie or history exists here. Ties are broken by creative_id, so a run is reproducible.

Memory: the creatives in flight as matrices (C x 512 vectors, K x C category coverage and exclusions, T x C
targets, K = categories in the taxonomy) plus one block of articles x C scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from pipelines.ads.classify import ArticleContext
from pipelines.ads.config import RISK_ORDER, MatchingSettings
from pipelines.ads.iab import IabTaxonomy


@dataclass(frozen=True)
class Creative:
    creative_id: str
    advertiser_id: str
    campaign_id: str
    headline: str
    body: str
    target_kansei_tags: tuple[str, ...]
    iab_categories: tuple[str, ...]
    excluded_categories: tuple[str, ...] = ()
    excluded_risk_levels: tuple[str, ...] = ()
    flight_start: date | None = None
    flight_end: date | None = None

    def in_flight(self, day: date) -> bool:
        return (self.flight_start is None or self.flight_start <= day) and (self.flight_end is None or day <= self.flight_end)

    @property
    def text(self) -> str:
        return f"{self.headline} {self.body}".strip()


@dataclass(frozen=True)
class AdMatch:
    article_id: str
    creative_id: str
    advertiser_id: str
    campaign_id: str
    rank: int
    score: float
    matched_tags: list[str]
    iab_category: str | None
    iab_category_name: str | None
    brand_safety_level: str
    explanation: str


class CreativeSet:
    """The creatives in flight on one day, as the matrices the matching multiplies (see module docstring)."""

    def __init__(
        self,
        creatives: list[Creative],
        vectors: np.ndarray,
        taxonomy: IabTaxonomy,
        settings: MatchingSettings,
    ):
        order = sorted(range(len(creatives)), key=lambda i: creatives[i].creative_id)
        self.creatives = [creatives[i] for i in order]
        vectors = np.asarray(vectors, dtype=np.float32)
        self.vectors = np.ascontiguousarray(vectors[order]) if order else np.zeros((0, vectors.shape[-1] if vectors.ndim == 2 else 0), np.float32)
        self.taxonomy = taxonomy
        self.settings = settings
        self.category_index = {cid: i for i, cid in enumerate(taxonomy.categories)}
        count, size = len(self.category_index), len(self.creatives)
        self.coverage = np.zeros((count, size), dtype=np.float32)  # article category y x creative
        self.excluded = np.zeros((count, size), dtype=bool)
        self.excluded_level = np.zeros((len(RISK_ORDER), size), dtype=bool)
        self.excluded_level[RISK_ORDER["floor"]] = True
        tags = sorted({tag for c in self.creatives for tag in c.target_kansei_tags})
        self.tag_index = {tag: i for i, tag in enumerate(tags)}
        self.targets = np.zeros((len(tags), size), dtype=np.float32)
        for column, creative in enumerate(self.creatives):
            for category in creative.iab_categories:
                for below in taxonomy.descendants(category):
                    self.coverage[self.category_index[below], column] = 1.0
                for above in taxonomy.ancestors(category)[1:]:
                    row = self.category_index[above]
                    self.coverage[row, column] = max(self.coverage[row, column], settings.parent_category_weight)
            for category in creative.excluded_categories:
                for below in taxonomy.descendants(category):
                    self.excluded[self.category_index[below], column] = True
            for level in creative.excluded_risk_levels:
                self.excluded_level[RISK_ORDER[level], column] = True
            for tag in creative.target_kansei_tags:
                self.targets[self.tag_index[tag], column] = 1.0 / len(creative.target_kansei_tags)

    def __len__(self) -> int:
        return len(self.creatives)

    def match(
        self,
        article_ids: list[str],
        vectors: np.ndarray,
        contexts: list[ArticleContext],
        kansei: list[dict[str, float]],
    ) -> list[AdMatch]:
        """The top-k creatives of each article of one block, best first (ties by creative_id)."""
        settings, size = self.settings, len(self.creatives)
        if size == 0 or not article_ids:
            return []
        weights = settings.weights
        text = np.clip(np.asarray(vectors, dtype=np.float32) @ self.vectors.T, 0.0, 1.0)
        iab = np.zeros((len(article_ids), size), dtype=np.float32)
        iab_from = np.full((len(article_ids), size), -1, dtype=np.int64)  # which article category gave it
        blocked = np.zeros((len(article_ids), size), dtype=bool)
        tag_scores = np.zeros((len(article_ids), len(self.tag_index)), dtype=np.float32)
        for row, context in enumerate(contexts):
            blocked[row] |= self.excluded_level[RISK_ORDER[context.level]]
            for category in context.categories:
                index = self.category_index.get(category.iab_id)
                if index is None:
                    continue
                blocked[row] |= self.excluded[index]
                value = category.score * self.coverage[index]
                better = value > iab[row]
                iab[row][better] = value[better]
                iab_from[row][better] = index
            for tag, score in kansei[row].items():
                if tag in self.tag_index:
                    tag_scores[row, self.tag_index[tag]] = min(1.0, score)
        tag_part = tag_scores @ self.targets if len(self.tag_index) else np.zeros_like(iab)
        score = weights.get("iab", 0) * iab + weights.get("text", 0) * text + weights.get("kansei", 0) * tag_part
        score = np.round(score.astype(np.float64), 6)
        score[blocked] = -np.inf
        category_ids = list(self.category_index)
        matches = []
        for row, article_id in enumerate(article_ids):
            order = np.argsort(-score[row], kind="stable")  # creatives are in creative_id order: ties by id
            rank = 0
            for column in order[: settings.top_k]:
                value = float(score[row, column])
                if not np.isfinite(value) or value < settings.min_score:
                    break
                rank += 1
                creative = self.creatives[column]
                matched = [t for t in creative.target_kansei_tags if tag_scores[row, self.tag_index[t]] > 0]
                source = int(iab_from[row, column])
                category = category_ids[source] if source >= 0 else None
                matches.append(
                    AdMatch(
                        article_id=article_id,
                        creative_id=creative.creative_id,
                        advertiser_id=creative.advertiser_id,
                        campaign_id=creative.campaign_id,
                        rank=rank,
                        score=value,
                        matched_tags=matched,
                        iab_category=category,
                        iab_category_name=self.taxonomy.categories[category].name if category else None,
                        brand_safety_level=contexts[row].level,
                        explanation=self._explain(category, float(iab[row, column]), matched, float(text[row, column]), contexts[row].level),
                    )
                )
        return matches

    def _explain(self, category: str | None, iab: float, tags: list[str], text: float, level: str) -> str:
        parts = []
        if category:
            parts.append(f"IAB {self.taxonomy.categories[category].path_text} ({iab:.2f})")
        if tags:
            parts.append(f"kansei {', '.join(tags)}")
        parts.append(f"text similarity {text:.2f}")
        parts.append(f"brand safety {level}")
        return "; ".join(parts)
