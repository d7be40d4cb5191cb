"""`msdb kansei train` and `msdb kansei eval`: the Ekman-7 heads rebuilt from GoEmotions, and measured.

Eval runs exactly the emotion scoring of the tag stage (`KanseiScorer.ekman_scores`: heads and Japanese lexicon
fused) on a labelled set, reports macro-F1 and F1 per label, and stores one `ops.model_evals` row per label
and one for the macro (model `kansei:ekman-7`, metric `f1:<label>` / `macro_f1`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from pipelines.kansei.heads import (
    EKMAN_LABELS,
    LabelledTexts,
    f1_per_label,
    file_sha256,
    load_goemotions,
    load_jsonl,
)
from pipelines.settings import MsdbSettings

EVAL_MODEL = "kansei:ekman-7"
DATASETS = {"goemotions-dev": "goemotions/dev.tsv", "goemotions-train": "goemotions/train.tsv"}


@dataclass
class EvalResult:
    dataset: str
    dataset_sha256: str
    size: int
    f1: dict[str, float]  # per label
    support: dict[str, int]
    macro_f1: float
    details: dict


def shared_data_dir() -> Path:
    import os

    from pipelines.settings import PROJECT_ROOT

    return Path(os.environ.get("MSDB_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def load_dataset(name: str | None, file: Path | None, data_dir: Path | None = None) -> tuple[str, Path, LabelledTexts]:
    """A named dataset (under ../shared/data) or a jsonl file of {"text", "labels"}."""
    if file is not None:
        return file.name, file, load_jsonl(file)
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: one of {sorted(DATASETS)}, or --file")
    data_dir = data_dir or shared_data_dir()
    path = data_dir / DATASETS[name]
    if not path.exists():
        raise FileNotFoundError(f"{path} not found (set MSDB_SHARED_DATA)")
    return name, path, load_goemotions(path, data_dir / "goemotions" / "ekman_mapping.json")


def evaluate(scorer, name: str, path: Path, data: LabelledTexts) -> EvalResult:
    """F1 per Ekman-7 label and their mean, of the scorer's emotion predictions on `data`."""
    from pipelines.kansei.embedders import embed_texts

    vectors = embed_texts(scorer.embedder, data.texts, scorer.cache).vectors
    predicted = scorer.ekman_predictions(scorer.ekman_scores(data.texts, vectors))
    f1 = f1_per_label(predicted, data.labels)
    heads = scorer.heads.manifest if scorer.heads is not None else {}
    details = {
        "dataset": name,
        "dataset_sha256": file_sha256(path),
        "embedder": scorer.embedder.model_id,
        "heads_weights_sha256": heads.get("weights_sha256"),
        "taxonomy_version": scorer.taxonomy.version,
        "lexicon": scorer.lexicon is not None,
    }
    return EvalResult(
        dataset=name,
        dataset_sha256=details["dataset_sha256"],
        size=len(data.texts),
        f1={label: round(float(v), 4) for label, v in zip(EKMAN_LABELS, f1, strict=True)},
        support={label: int(s) for label, s in zip(EKMAN_LABELS, data.labels.sum(axis=0), strict=True)},
        macro_f1=round(float(np.mean(f1)), 4),
        details=details,
    )


def record_eval(settings: MsdbSettings, result: EvalResult, logical_date: date) -> int:
    """One ops.model_evals row per label and one for the macro-F1; returns the rows written."""
    from pipelines.warehouse import writer

    evaluated_at = datetime.now(UTC)
    rows = [
        (logical_date, EVAL_MODEL, f"f1:{label}", value, result.size, json.dumps(result.details | {"support": result.support[label]}), evaluated_at)
        for label, value in result.f1.items()
    ]
    rows.append((logical_date, EVAL_MODEL, "macro_f1", result.macro_f1, result.size, json.dumps(result.details), evaluated_at))
    with writer(settings.warehouse) as con:
        con.executemany("INSERT INTO ops.model_evals VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def train(settings: MsdbSettings, data_dir: Path | None = None, params=None) -> dict:
    """Rebuild the Ekman-7 heads under models/ from GoEmotions train (embeddings cached under var/)."""
    from pipelines.kansei.config import load_taxonomy
    from pipelines.kansei.embedders import EmbeddingCache, get_embedder
    from pipelines.kansei.heads import HeadParams, train_heads
    from pipelines.kansei.scoring import load_scoring_settings

    data_dir = data_dir or shared_data_dir()
    scoring = load_scoring_settings(settings.models_dir)
    embedder = get_embedder(scoring.embedder)
    cache = EmbeddingCache(settings.var_dir / "kansei" / "embeddings", embedder.model_id, embedder.dim)
    try:
        return train_heads(
            data_dir / "goemotions" / "train.tsv",
            data_dir / "goemotions" / "ekman_mapping.json",
            embedder,
            cache,
            settings.models_dir / scoring.heads_dir,
            load_taxonomy(settings.models_dir).version,
            params or HeadParams(),
        )
    finally:
        cache.close()
