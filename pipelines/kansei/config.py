"""Typed views of models/: the kansei taxonomy, the Japanese lexicon and the embedding settings."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, model_validator

Facet = Literal["mood", "emotion", "theme", "scene", "impression"]


class KanseiTag(BaseModel):
    id: str = Field(description="Stable id, '<facet>.<name>'.")
    facet: Facet
    label_en: str
    label_ja: str
    description: str = Field(description="English text the embedding model compares works and articles with.")


class Taxonomy(BaseModel):
    version: str
    tags: list[KanseiTag]

    @model_validator(mode="after")
    def _unique_ids(self) -> Taxonomy:
        ids = [t.id for t in self.tags]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate kansei tag ids in taxonomy")
        return self

    def by_id(self) -> dict[str, KanseiTag]:
        return {t.id: t for t in self.tags}


class TaggingSettings(BaseModel):
    embedding_min_score: float = 0.30
    embedding_top_k: int = 4
    embedding_floor: float = Field(
        default=0.15,
        description="A text with no tag at embedding_min_score keeps its best tags down to this similarity; below "
        "it even a text's best tag is noise, and the text is untaggable ('no tag above threshold').",
    )
    embedding_relative_floor: float = Field(
        default=0.9,
        description="...and only those within this fraction of its best tag's similarity.",
    )
    lexicon_base_score: float = 0.55
    lexicon_step: float = 0.1


class ArticleRepresentation(BaseModel):
    """How articles are compared (pipelines/similarity/articles.py): models/embedding.yaml, similarity.articles."""

    max_chars: int = Field(default=4000, description="An article's title and body are cut here (bounds the features).")
    char_ngram_min: int = 3
    char_ngram_max: int = 5
    char_features: int = Field(default=16_777_216, description="Columns the character n-grams are hashed into (2^24).")
    min_df: int = Field(default=2, description="Terms in fewer articles than this are dropped (hapaxes are noise).")
    char_weight: float = 1.0
    lemma_weight: float = 0.3
    kansei_weight: float = Field(default=0.0, description="Kansei tag profile; 0 skips it.")
    embedding_weight: float = Field(default=0.0, description="USE multilingual embedding; 0 skips the model.")
    candidates: int = Field(default=50, description="Scores kept per article between expansion rounds.")
    expansion_neighbors: int = 10
    expansion_rounds: int = 2


class ComponentWeights(BaseModel):
    """How a neighbour's score is made: score = text x cos(text) + kansei x cos(kansei) + metadata x metadata."""

    text: float = 0.5
    kansei: float = 0.3
    metadata: float = 0.2


class MetadataWeights(BaseModel):
    """The metadata part, a weighted mean in [0, 1]."""

    genre: float = Field(default=0.4, description="Jaccard overlap of the genres.")
    people: float = Field(default=0.3, description="1 when an artist, composer, lyricist, cast or crew is shared.")
    label: float = Field(default=0.15, description="1 when the label (music) or studio (video) is the same.")
    era: float = Field(default=0.15, description="1 at the same release year, 0 at era_years apart.")


class SimilaritySettings(BaseModel):
    neighbors: int = 20
    cross_domain_neighbors: int = Field(default=5, description="Neighbours in the other domain (music <-> video).")
    rescore_candidates: int = Field(
        default=40, description="Dense (text + kansei) candidates per work rescored with metadata; the best kept."
    )
    text_weight: float = 0.7
    tag_weight: float = 0.3
    weights: ComponentWeights = ComponentWeights()
    metadata_weights: MetadataWeights = MetadataWeights()
    era_years: float = 10.0
    recall_at: int = Field(default=10, description="k of the nightly recall@k of the index against exact search.")
    article_work_matches: int = Field(default=10, description="Licensed works matched to each article (0: none).")
    article_neighbors: int = Field(default=10, description="Similar articles per article (0: none).")
    read_batch_rows: int = Field(default=65_536, description="Works read from DuckDB per Arrow batch.")
    query_block_rows: int = Field(default=1024, description="Exact search: query works scored per block.")
    candidate_block_rows: int = Field(
        default=16_384, description="Exact search: works scored against a query block at once (the block of "
        "scores is query_block_rows x candidate_block_rows float32: 64 MB at the defaults)."
    )
    ann_min_works: int = Field(
        default=50_000, description="A domain with at least this many works is searched with the HNSW index."
    )
    ann_dtype: str = Field(default="i8", description="How the index stores vectors: f32, f16 or i8.")
    ann_connectivity: int = 16
    ann_expansion_add: int = 64
    ann_expansion_search: int = 48
    ann_candidates: int = Field(
        default=24, description="Index hits fetched per work and rescored exactly before the top `neighbors` are kept."
    )
    recall_sample: int = Field(default=200, description="Works whose ANN neighbours are checked against exact each run.")
    threads: int = Field(default=0, description="Threads of the index build and search (0: every core).")
    articles: ArticleRepresentation = ArticleRepresentation()


class EmbeddingConfig(BaseModel):
    version: str
    model: str = Field(description="'package:<module>' for a model shipped in a PyPI package, else a name or path.")
    batch_size: int = 64
    max_chars: int = 1000
    tagging: TaggingSettings = TaggingSettings()
    similarity: SimilaritySettings = SimilaritySettings()


class LexiconEntry(BaseModel):
    lemma: str
    tag_id: str
    weight: float = 1.0


@cache
def load_taxonomy(models_dir: Path) -> Taxonomy:
    return Taxonomy.model_validate(yaml.safe_load((models_dir / "kansei" / "taxonomy.yaml").read_text("utf-8")))


@cache
def load_embedding_config(models_dir: Path) -> EmbeddingConfig:
    return EmbeddingConfig.model_validate(yaml.safe_load((models_dir / "embedding.yaml").read_text("utf-8")))


@cache
def load_lexicon(models_dir: Path) -> tuple[LexiconEntry, ...]:
    taxonomy = load_taxonomy(models_dir).by_id()
    with (models_dir / "kansei" / "lexicon_ja.tsv").open(encoding="utf-8") as fh:
        entries = tuple(LexiconEntry.model_validate(row) for row in csv.DictReader(fh, delimiter="\t"))
    unknown = sorted({e.tag_id for e in entries} - taxonomy.keys())
    if unknown:
        raise ValueError(f"lexicon_ja.tsv names tags missing from the taxonomy: {unknown}")
    return entries
