"""A small warehouse for the similarity stage: dim_work, embeddings and tags written directly (no dbt)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipelines.kansei import model_version
from pipelines.warehouse import writer
from tests.conftest import REPO, make_settings


def clustered(n: int, dims: int, clusters: int, seed: int, spread: float = 0.15) -> np.ndarray:
    """n unit vectors around `clusters` random centres, as real embeddings are (not uniform noise)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dims))
    points = centres[rng.integers(0, clusters, n)] + spread * rng.normal(size=(n, dims))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


class Catalog:
    """Works (id -> kind, embedding, tag scores) written to a warehouse as the tag stage would leave them."""

    def __init__(self, settings):
        self.settings = settings
        self.kinds: dict[str, str] = {}
        self.embeddings: dict[str, np.ndarray] = {}
        self.tags: dict[str, dict[str, float]] = {}

    def add(self, work_id: str, kind: str, embedding: np.ndarray, tags: dict[str, float] | None = None) -> None:
        self.kinds[work_id] = kind
        self.embeddings[work_id] = np.asarray(embedding, dtype=np.float32)
        self.tags[work_id] = tags or {}

    def remove(self, work_id: str) -> None:
        for table in (self.kinds, self.embeddings, self.tags):
            table.pop(work_id)

    def write(self) -> None:
        version = model_version(self.settings)
        with writer(self.settings.warehouse, publish=False) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS marts")
            con.execute("CREATE OR REPLACE TABLE marts.dim_work (work_id VARCHAR, kind VARCHAR)")
            con.executemany("INSERT INTO marts.dim_work VALUES (?, ?)", sorted(self.kinds.items()))
            con.execute("DELETE FROM kansei.work_embeddings")
            con.executemany(
                "INSERT INTO kansei.work_embeddings VALUES (?, ?, ?, ?)",
                [
                    [w, hashlib.sha256(e.tobytes()).hexdigest(), version, e.tolist()]
                    for w, e in sorted(self.embeddings.items())
                ],
            )
            con.execute("DELETE FROM kansei.work_tags")
            rows = [
                [w, tag, tag.split(".")[0], score, "embedding", version, "2026-11-24"]
                for w, scores in sorted(self.tags.items())
                for tag, score in sorted(scores.items())
            ]
            if rows:
                con.executemany("INSERT INTO kansei.work_tags VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


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
