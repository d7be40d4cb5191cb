"""One article's text analysed for the warehouse: language, fingerprints, sentences, tokens and lemmas.

Analysis is most of the cost of article ingest (SudachiPy alone is about half of it) and a pure function of
the text, so a large delivery is analysed by worker processes, one per core, each holding its own Sudachi
dictionary and language model for its whole life; the loader keeps reading and writing meanwhile. Results
come back in delivery order, a bounded number of batches in flight.
"""

from __future__ import annotations

import atexit
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from pipelines.text.fingerprint import fingerprints
from pipelines.text.japanese import split_sentences, sudachi_dictionary, tokenize
from pipelines.text.language import LanguageGuess, detect_language, language_model
from pipelines.text.match_key import match_key

# Articles per task sent to a worker: about a tenth of a second of work. The pool's feeder and result threads
# share the loader's GIL with it (frames, DuckDB inserts); fewer, larger tasks cost the loader less and keep
# a worker from waiting on them.
BATCH = 256
# Articles handed to workers and not yet taken back: enough for the workers to go on while the loader writes a
# batch of rows to DuckDB, few enough to keep memory flat (a few tens of MB of texts and results).
IN_FLIGHT_ARTICLES = 4_096
T = TypeVar("T")


@dataclass(frozen=True)
class TextInput:
    title: str | None
    body: str
    declared_language: str | None  # what the source or the publisher says, for unsure detections


@dataclass
class TextAnalysis:
    language: LanguageGuess
    content_hash: str | None
    minhash: list[int] | None
    title_key: str | None
    sentences: list[str]
    tokenizer: str
    tokens: str  # surface forms separated by single spaces (分かち書き): string_split(tokens, ' ') lists them
    lemmas: str  # lemmas, likewise, one per token
    search_keys: list[str]


def analyse(text: TextInput) -> TextAnalysis:
    title, body = text.title or "", text.body
    language = detect_language(f"{title}\n{body}", text.declared_language)
    content_hash, signature = fingerprints(body)
    tokens = tokenize(f"{title}\n{body}" if title else body, language.language)
    return TextAnalysis(
        language,
        content_hash,
        signature,
        match_key(text.title),
        split_sentences(body),
        tokens.tokenizer,
        wakati(tokens.surfaces),
        wakati(tokens.lemmas),
        tokens.search_keys,
    )


def wakati(words: list[str]) -> str:
    """Words separated by single spaces. Sudachi never puts a space inside a token, but a lemma can hold
    one after normalisation (゛ → ' ゙'): such spaces are dropped, so that splitting on spaces gives back
    exactly one word per token."""
    text = " ".join(words)
    if text.count(" ") == max(len(words) - 1, 0):
        return text  # the usual case: no word holds a space
    return " ".join("".join(word.split(" ")) or "_" for word in words)


def _analyse_batch(texts: list[TextInput]) -> list[TextAnalysis]:
    return [analyse(text) for text in texts]


def _warm_up() -> None:
    """Open the Sudachi dictionary and the language model once, when a worker starts. A worker makes
    millions of short-lived strings and no reference cycles: the cyclic collector is told to look rarely."""
    import gc

    sudachi_dictionary()
    language_model()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


_workers = None


def _pool():
    """The worker processes of this process (created on first use, shut down at exit); None on one core."""
    global _workers
    if _workers is None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from pipelines import usable_cores

        cores = usable_cores()
        if cores < 2:
            return None
        # forkserver: workers never inherit the loader's open DuckDB connection or its threads
        context = multiprocessing.get_context("forkserver")
        _workers = ProcessPoolExecutor(cores, mp_context=context, initializer=_warm_up)
        atexit.register(_workers.shutdown, cancel_futures=True)
    return _workers


def analysed(
    items: Iterable[tuple[T, TextInput | None]], parallel: bool
) -> Iterator[tuple[T, TextAnalysis | None]]:
    """(item, analysis) for each (item, text) in order; items without text pass through with None.

    With `parallel`, batches go to the worker processes; if they break, the rest is analysed here.
    """
    pool = _pool() if parallel else None
    if pool is None:
        for item, text in items:
            yield item, analyse(text) if text is not None else None
        return

    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    in_flight: deque = deque()
    limit = max(2, IN_FLIGHT_ARTICLES // BATCH)

    def submit(batch: list) -> Future:
        texts = [text for _item, text in batch if text is not None]
        try:
            return pool.submit(_analyse_batch, texts)
        except (BrokenProcessPool, RuntimeError):
            return _done(_analyse_batch(texts))

    def settle(batch: list, future: Future):
        try:
            results = iter(future.result())
        except BrokenProcessPool:
            _forget_pool()
            results = iter(_analyse_batch([text for _item, text in batch if text is not None]))
        for item, text in batch:
            yield item, next(results) if text is not None else None

    batch: list = []
    for entry in items:
        batch.append(entry)
        if len(batch) == BATCH:
            in_flight.append((batch, submit(batch)))
            batch = []
            while len(in_flight) >= limit:
                yield from settle(*in_flight.popleft())
    if batch:
        in_flight.append((batch, submit(batch)))
    while in_flight:
        yield from settle(*in_flight.popleft())


def _done(result):
    from concurrent.futures import Future

    future: Future = Future()
    future.set_result(result)
    return future


def _forget_pool() -> None:
    """A worker died (killed, out of memory): the next large delivery starts fresh workers."""
    global _workers
    if _workers is not None:
        _workers.shutdown(wait=False, cancel_futures=True)
        _workers = None
