"""Typed views of models/: the kansei taxonomy, the Japanese lexicon and the embedding settings."""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

TagType = Literal["mood", "emotion", "theme", "scene", "impression"]
Facet = TagType  # the name the tag stage and the kansei tables use

# Label names only (no data): Ekman's six basic emotions plus neutral, as GoEmotions groups its labels, and the
# 27 GoEmotions emotions plus neutral. Taxonomy mappings must use these names.
EKMAN_LABELS = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")
GOEMOTIONS_LABELS = (
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion", "curiosity", "desire",
    "disappointment", "disapproval", "disgust", "embarrassment", "excitement", "fear", "gratitude", "grief", "joy",
    "love", "nervousness", "optimism", "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral",
)
_TAG_ID = re.compile(r"^[a-z]+\.[a-z][a-z0-9_]*$")


class KanseiTag(BaseModel):
    """One tag: what it means in both languages, phrases that carry it, and the outside labels it matches."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable id, '<type>.<slug>'.")
    type: TagType
    label_en: str = Field(min_length=1)
    label_ja: str = Field(min_length=1)
    definition_en: str = Field(min_length=1, description="One or two sentences; the embedding model compares texts with it.")
    definition_ja: str = Field(min_length=1)
    exemplars_en: tuple[str, ...] = Field(min_length=4, max_length=8, description="Phrases a title, synopsis or article could hold.")
    exemplars_ja: tuple[str, ...] = Field(min_length=4, max_length=8)
    mead_moods: tuple[str, ...] = Field(default=(), description="DDEX MEAD Mood values (as delivered, user-defined resolved).")
    ekman: tuple[str, ...] = Field(default=(), description="Ekman-7 labels: " + " ".join(EKMAN_LABELS))
    goemotions: tuple[str, ...] = Field(default=(), description="GoEmotions labels.")

    @model_validator(mode="after")
    def _consistent(self) -> KanseiTag:
        if not _TAG_ID.match(self.id) or self.id.split(".", 1)[0] != self.type:
            raise ValueError(f"tag {self.id!r}: the id must be '<type>.<slug>' with type {self.type!r}")
        blank = [name for name in ("exemplars_en", "exemplars_ja") if any(not p.strip() for p in getattr(self, name))]
        if blank:
            raise ValueError(f"tag {self.id!r}: empty exemplar in {blank}")
        for field, known in (("ekman", EKMAN_LABELS), ("goemotions", GOEMOTIONS_LABELS)):
            unknown = sorted(set(getattr(self, field)) - set(known))
            if unknown:
                raise ValueError(f"tag {self.id!r}: unknown {field} labels {unknown}")
        return self

    @property
    def facet(self) -> TagType:
        return self.type

    @property
    def description(self) -> str:
        """The English text the embedding signal of the tag stage compares texts with."""
        return self.definition_en


class Taxonomy(BaseModel):
    version: str
    types: tuple[TagType, ...]
    tags: list[KanseiTag]

    @model_validator(mode="after")
    def _valid(self) -> Taxonomy:
        seen: set[str] = set()
        for tag in self.tags:
            if tag.id in seen:
                raise ValueError(f"duplicate kansei tag id {tag.id!r} in taxonomy")
            seen.add(tag.id)
            if tag.type not in self.types:
                raise ValueError(f"tag {tag.id!r}: type {tag.type!r} is not one of the taxonomy's types {list(self.types)}")
        return self

    def by_id(self) -> dict[str, KanseiTag]:
        return {t.id: t for t in self.tags}


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
    exact_max_articles: int = Field(
        default=20_000,
        description="Up to this many articles each is scored exactly against all (sparse products, O(n^2)); above "
        "it, candidates come from a dense LSA projection of the rows and only those are scored exactly.",
    )
    projection_dims: int = Field(default=256, description="Width of the dense projection (large corpora, LSA).")
    projection_columns: int = Field(default=65_536, description="The most used columns the projection reads.")
    projection_sample: int = Field(default=4_000, description="Articles the projection's SVD is fitted on.")
    projection_candidates: int = Field(
        default=150, description="Projection candidates per article scored exactly (large corpora)."
    )
    recall_sample: int = Field(
        default=100, description="Articles whose exact top 10 measure the projection's recall (ops.model_evals); 0: none."
    )


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
    """models/embedding.yaml. Unknown keys are refused: a setting no code reads is not configuration (the kansei
    tag stage's thresholds live in kansei/scoring.yaml, `ScoringSettings`)."""

    model_config = ConfigDict(extra="forbid")

    version: str
    model: str = Field(description="'package:<module>' for a model shipped in a PyPI package, else a name or path.")
    batch_size: int = 64
    max_chars: int = 1000
    similarity: SimilaritySettings = SimilaritySettings()


class LexiconEntry(BaseModel):
    """One line of lexicon_ja.tsv: a SudachiPy dictionary form, the tag it signals and how strongly (0, 1]."""

    model_config = ConfigDict(frozen=True)

    lemma: str = Field(min_length=1)
    tag_id: str
    weight: float = Field(default=1.0, gt=0.0, le=1.0)


@cache
def load_taxonomy(models_dir: Path) -> Taxonomy:
    """The taxonomy, validated: a broken one raises a ValueError that names the tag at fault."""
    path = models_dir / "kansei" / "taxonomy.yaml"
    raw = yaml.safe_load(path.read_text("utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("tags"), list):
        raise ValueError(f"{path}: expected a mapping with a list of tags")
    for position, tag in enumerate(raw["tags"]):
        try:
            KanseiTag.model_validate(tag)
        except ValidationError as error:
            name = tag.get("id") if isinstance(tag, dict) else None
            problems = _problems(error)
            if not problems.startswith("tag "):
                problems = f"tag {name or f'#{position}'!r}: {problems}"
            raise ValueError(f"{path}: {problems}") from error
    try:
        return Taxonomy.model_validate(raw)
    except ValidationError as error:
        raise ValueError(f"{path}: {_problems(error)}") from error


def _problems(error: ValidationError) -> str:
    return "; ".join(
        ": ".join(
            part for part in (".".join(str(p) for p in problem["loc"]), problem["msg"].removeprefix("Value error, ")) if part
        )
        for problem in error.errors()
    )


@cache
def load_embedding_config(models_dir: Path) -> EmbeddingConfig:
    return EmbeddingConfig.model_validate(yaml.safe_load((models_dir / "embedding.yaml").read_text("utf-8")))


@cache
def lexicon_version(models_dir: Path) -> str:
    """The lexicon's version, recorded with tags: the first 12 hex digits of lexicon_ja.tsv's sha256."""
    import hashlib

    return hashlib.sha256((models_dir / "kansei" / "lexicon_ja.tsv").read_bytes()).hexdigest()[:12]


@cache
def load_lexicon(models_dir: Path) -> tuple[LexiconEntry, ...]:
    taxonomy = load_taxonomy(models_dir).by_id()
    with (models_dir / "kansei" / "lexicon_ja.tsv").open(encoding="utf-8") as fh:
        entries = tuple(LexiconEntry.model_validate(row) for row in csv.DictReader(fh, delimiter="\t"))
    unknown = sorted({e.tag_id for e in entries} - taxonomy.keys())
    if unknown:
        raise ValueError(f"lexicon_ja.tsv names tags missing from the taxonomy: {unknown}")
    return entries
