"""A small warehouse for the similarity stage: dim_work, embeddings and tags written directly (no dbt)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from pipelines.kansei import model_version
from pipelines.warehouse import ArrowStream, writer
from tests.conftest import REPO, make_settings


def clustered(n: int, dims: int, clusters: int, seed: int, spread: float = 0.15) -> np.ndarray:
    """n unit vectors around `clusters` random centres, as real embeddings are (not uniform noise)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dims))
    points = centres[rng.integers(0, clusters, n)] + spread * rng.normal(size=(n, dims))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


# The dim_work columns the similarity stage reads besides work_id and kind (all optional in a test).
DETAILS = {
    "isrc": pl.String,
    "provider_asset_id": pl.String,
    "parent_work_id": pl.String,
    "title": pl.String,
    "display_artist": pl.String,
    "series_name": pl.String,
    "season_number": pl.Int32,
    "episode_number": pl.Int32,
    "genres": pl.List(pl.String),
    "label_name": pl.String,
    "release_date": pl.Date,
    "production_year": pl.Int32,
}


class Catalog:
    """Works (id -> kind, embedding, tag scores) written to a warehouse as the tag stage would leave them."""

    def __init__(self, settings):
        self.settings = settings
        self.kinds: dict[str, str] = {}
        self.embeddings: dict[str, np.ndarray] = {}
        self.tags: dict[str, dict[str, float]] = {}
        self.details: dict[str, dict] = {}  # dim_work columns beyond work_id and kind (see DETAILS)
        self.parties: dict[str, list[tuple[str, str]]] = {}  # work_id -> [(party_id, role_group)]

    def add(
        self,
        work_id: str,
        kind: str,
        embedding: np.ndarray,
        tags: dict[str, float] | None = None,
        parties: list[tuple[str, str]] | None = None,
        **details,
    ) -> None:
        unknown = set(details) - set(DETAILS)
        assert not unknown, f"not a dim_work column here: {unknown}"
        self.kinds[work_id] = kind
        self.embeddings[work_id] = np.asarray(embedding, dtype=np.float32)
        self.tags[work_id] = tags or {}
        self.details[work_id] = details
        self.parties[work_id] = parties or []

    def remove(self, work_id: str) -> None:
        for table in (self.kinds, self.embeddings, self.tags, self.details, self.parties):
            table.pop(work_id)

    def write(self) -> None:
        version = model_version(self.settings)
        ids = sorted(self.kinds)
        works = ArrowStream(  # noqa: F841 (read by DuckDB)
            pl.DataFrame(
                {
                    "work_id": ids,
                    "kind": [self.kinds[w] for w in ids],
                    **{name: [self.details[w].get(name) for w in ids] for name in DETAILS},
                },
                schema={"work_id": pl.String, "kind": pl.String, **DETAILS},
            )
        )
        parties = ArrowStream(  # noqa: F841 (read by DuckDB)
            pl.DataFrame(
                [(w, party, role) for w in ids for party, role in self.parties[w]],
                schema={"work_id": pl.String, "party_id": pl.String, "role_group": pl.String},
                orient="row",
            )
        )
        embeddings = ArrowStream(  # noqa: F841 (read by DuckDB)
            pl.DataFrame(
                {
                    "work_id": ids,
                    "text_sha256": [hashlib.sha256(self.embeddings[w].tobytes()).hexdigest() for w in ids],
                    "model_version": version,
                    "embedding": [self.embeddings[w] for w in ids],
                }
            )
        )
        tags = ArrowStream(  # noqa: F841 (read by DuckDB)
            pl.DataFrame(
                [
                    {
                        "work_id": w,
                        "tag_id": tag,
                        "facet": tag.split(".")[0],
                        "score": score,
                        "source": "embedding",
                    }
                    for w in ids
                    for tag, score in sorted(self.tags[w].items())
                ],
                schema={
                    "work_id": pl.String,
                    "tag_id": pl.String,
                    "facet": pl.String,
                    "score": pl.Float64,
                    "source": pl.String,
                },
            )
        )
        with writer(self.settings.warehouse, publish=False) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS marts")
            con.execute("CREATE OR REPLACE TABLE marts.dim_work AS SELECT * FROM works")
            con.execute("CREATE OR REPLACE TABLE marts.bridge_work_party AS SELECT * FROM parties")
            con.execute("DELETE FROM kansei.work_embeddings")
            con.execute("INSERT INTO kansei.work_embeddings BY NAME SELECT * FROM embeddings")
            con.execute("DELETE FROM kansei.work_tags")
            con.execute(
                "INSERT INTO kansei.work_tags BY NAME SELECT *, ? AS model_version, DATE '2026-11-24' AS logical_date FROM tags",
                [version],
            )
            con.execute("DELETE FROM kansei.item_vectors WHERE kind = 'work'")
            write_item_vectors(con, self.settings, "work", {w: self.tags[w] for w in ids if self.tags[w]}, version)


def write_item_vectors(con, settings, kind: str, profiles: dict[str, dict[str, float]], version: str) -> None:
    """kansei.item_vectors as the tag stage writes them: each item's tag scores in taxonomy order, zero elsewhere."""
    from pipelines.kansei.config import load_taxonomy

    tag_ids = [t.id for t in load_taxonomy(settings.models_dir).tags]
    if not profiles:
        return
    con.executemany(
        """
        INSERT INTO kansei.item_vectors
            (kind, item_id, text_sha256, vector, model_id, taxonomy_version, lexicon_version, model_version, run_id,
             logical_date)
        VALUES (?, ?, 'test', ?, 'test', 'test', 'test', ?, 'test', DATE '2026-11-24')
        """,
        [
            (kind, item, [float(scores.get(t, 0.0)) for t in tag_ids], version)
            for item, scores in sorted(profiles.items())
        ],
    )


@pytest.fixture
def similarity_settings(tmp_path: Path):
    """Settings factory: the repo's models with the similarity section overridden."""

    def build(**similarity):
        models = tmp_path / "models"
        if not models.exists():
            shutil.copytree(REPO / "models", models)
        path = models / "embedding.yaml"
        config = yaml.safe_load(path.read_text("utf-8"))
        config["similarity"].update(similarity)
        path.write_text(yaml.safe_dump(config), "utf-8")
        return make_settings(tmp_path, tmp_path / "landing", models_dir=models)

    return build
