"""What an article is about (IAB Content Taxonomy 3.1 categories with scores) and how safe it is for a brand.

Categories: the cosine of the article's embedding (title and body head, `pipelines.ads.embedding`) with
each category's name path ("Sports > Soccer", plus a Japanese name for tier 1), mapped to 0..1, and the
Japanese and English keyword rules of models/ads/ads.yaml; a category's score is the stronger of the two
(a little more when both agree). Brand safety: the riskiest of the sensitive categories the article is sure
of and of the ja/en keywords it contains (a title hit weighs twice). Levels: low, medium, high, floor.

Memory: the category matrix (~380 x 512 float32) and the block of articles given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from pipelines.ads.config import RISK_ORDER, AdsConfig, Keywords
from pipelines.ads.embedding import embed_texts
from pipelines.ads.iab import IabTaxonomy
from pipelines.settings import MsdbSettings


@dataclass(frozen=True)
class CategoryScore:
    iab_id: str
    score: float
    source: str  # embedding, keyword, embedding+keyword


@dataclass
class ArticleContext:
    categories: list[CategoryScore]  # best first
    level: str
    reasons: list[str] = field(default_factory=list)


def article_text(title: str | None, body: str | None, max_chars: int) -> str:
    return " ".join(part for part in (title or "", body or "") if part)[:max_chars]


class KeywordRule:
    """Japanese keywords as case-insensitive substrings, English ones as whole words or phrases."""

    def __init__(self, keywords: Keywords):
        # ASCII keywords (IT, PC, Android) are matched as words even in Japanese text: 'it' is no part of 'with'
        self.ja = [k.casefold() for k in keywords.ja if not k.isascii()]
        words = [k for k in keywords.ja if k.isascii()] + keywords.en
        self.en = [(k, re.compile(rf"(?<![a-z0-9-]){re.escape(k.casefold())}s?(?![a-z0-9-])")) for k in words]

    def hits(self, text: str) -> list[str]:
        folded = text.casefold()
        found = [k for k in self.ja if k in folded]
        found += [k for k, pattern in self.en if pattern.search(folded)]
        return found

    def weight(self, title: str, body: str) -> tuple[int, list[str]]:
        """Hits in the title count twice; returns (weight, the keywords found)."""
        in_title, in_body = self.hits(title), self.hits(body)
        return 2 * len(in_title) + len(in_body), sorted(set(in_title) | set(in_body))


class ArticleClassifier:
    """The classification inputs, prepared once per run: category texts embedded, keyword rules compiled."""

    def __init__(self, config: AdsConfig, taxonomy: IabTaxonomy | None = None):
        self.config = config
        self.taxonomy = taxonomy or config.taxonomy(MsdbSettings().iab_taxonomy)
        settings = config.classification
        self.category_ids = [c.id for c in self.taxonomy.categories.values() if c.tier <= settings.max_tier]
        self.category_vectors = embed_texts(
            [self._category_text(c) for c in self.category_ids], config.embedding.batch_size
        )
        self.category_rules = {cid: KeywordRule(k) for cid, k in settings.keywords.items()}
        self.risk_rules = {level: KeywordRule(k) for level, k in config.brand_safety.keywords.items()}

    def _category_text(self, category_id: str) -> str:
        category = self.taxonomy.categories[category_id]
        japanese = self.config.classification.names_ja.get(self.taxonomy.tier1(category_id))
        return category.path_text + (f" ({japanese})" if japanese else "")

    def embed(self, titles: list[str | None], bodies: list[str | None]) -> np.ndarray:
        cut = self.config.embedding.max_chars
        texts = [article_text(t, b, cut) for t, b in zip(titles, bodies, strict=True)]
        return embed_texts(texts, self.config.embedding.batch_size)

    def classify(self, vectors: np.ndarray, titles: list[str | None], bodies: list[str | None]) -> list[ArticleContext]:
        settings = self.config.classification
        similarities = vectors @ self.category_vectors.T if len(vectors) else np.zeros((0, len(self.category_ids)))
        span = max(settings.embedding_high - settings.embedding_low, 1e-6)
        mapped = np.clip((similarities - settings.embedding_low) / span, 0.0, 1.0)
        results = []
        for row, (title, body) in enumerate(zip(titles, bodies, strict=True)):
            title, body = title or "", body or ""
            scores: dict[str, tuple[float, str]] = {}
            if vectors[row].any():
                for index in np.argsort(-mapped[row], kind="stable")[: settings.top_k * 2]:
                    scores[self.category_ids[index]] = (float(mapped[row, index]), "embedding")
            for category_id, rule in self.category_rules.items():
                weight, _ = rule.weight(title, body)
                if weight == 0:
                    continue
                value = min(settings.keyword_max, settings.keyword_base + settings.keyword_step * (weight - 1))
                previous = scores.get(category_id)
                if previous is None or previous[1] == "keyword":
                    scores[category_id] = (value, "keyword")
                else:
                    scores[category_id] = (min(1.0, max(value, previous[0]) + 0.05), "embedding+keyword")
            ranked = sorted(scores.items(), key=lambda item: (-item[1][0], item[0]))
            kept = [(cid, s, src) for cid, (s, src) in ranked if s >= settings.min_score][: settings.top_k]
            if not kept and ranked and ranked[0][1][0] >= settings.embedding_floor:
                kept = [(ranked[0][0], *ranked[0][1])]
            categories = [CategoryScore(cid, round(s, 6), src) for cid, s, src in kept]
            level, reasons = self.brand_safety(categories, title, body)
            results.append(ArticleContext(categories, level, reasons))
        return results

    def brand_safety(self, categories: list[CategoryScore], title: str, body: str) -> tuple[str, list[str]]:
        settings = self.config.brand_safety
        level, reasons = "low", []
        for category in categories:
            risk = settings.categories.get(category.iab_id)
            if risk and category.score >= settings.category_min_score:
                reasons.append(f"IAB {category.iab_id} {self.taxonomy.categories[category.iab_id].name} ({risk})")
                level = max(level, risk, key=RISK_ORDER.__getitem__)
        for risk, rule in self.risk_rules.items():
            weight, found = rule.weight(title, body)
            if weight >= settings.keyword_min_weight:
                reasons.append(f"keywords {', '.join(found)} ({risk})")
                level = max(level, risk, key=RISK_ORDER.__getitem__)
        return level, reasons
