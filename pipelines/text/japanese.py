"""Japanese text for matching and tagging: sentence splitting, SudachiPy tokens and lemmas.

The Sudachi dictionary takes a noticeable moment and memory to open, so one `Dictionary` is opened per process
and shared; each thread gets its own `Tokenizer` (a Sudachi tokenizer must not be used from two threads).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import cache
from itertools import compress
from operator import not_

from pipelines.text.match_key import match_key, nfkc

# Sudachi refuses inputs above 49,149 UTF-8 bytes; texts are cut at line, then sentence, boundaries below it.
SUDACHI_MAX_BYTES = 49_149
_CHUNK_BYTES = 40_000
SUDACHI_MODE = "C"
SUDACHI_TOKENIZER = f"sudachi-core:{SUDACHI_MODE}"
WORDS_TOKENIZER = "unicode-words"

_OPENING = "「『（(【［[〈《〔｛{"
_CLOSING = "」』）)】］]〉》〕｝}"
_TERMINATORS = "。！？!?．"
_TRAILING = _CLOSING + _TERMINATORS + "…‥\"'”’"
_MARKS = re.compile("[" + re.escape(_OPENING + _CLOSING + _TERMINATORS + ".!?") + "]")

# Content words: what a search key or a kansei lexicon entry can be.
_CONTENT_POS = {"名詞", "動詞", "形容詞", "形状詞", "副詞", "連体詞"}
_DEPENDENT = {"非自立可能", "数詞"}
_WORD = re.compile(r"\w+(?:['’]\w+)*")
# English function words: never a search key on their own.
_STOPWORDS = frozenset(
    "a an and are as at be been but by for from had has have he her his i in into is it its of on or our she "
    "so than that the their them then there these they this to was we were which who will with you your".split()
)


def split_sentences(text: str) -> list[str]:
    """Sentences of a Japanese (or English) text.

    A sentence ends at 。！？ (and their ASCII forms), together with the closing quotes and brackets that
    follow, but not inside 「…」 or （…）; a line break always ends one. Latin '.', '!' and '?' end a sentence
    only before whitespace and a capital (or a quote, or Japanese), so 'ver. 1.0' and 'example.com' stay whole.
    """
    sentences: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            sentences.extend(_split_line(line))
    return sentences


def _starts_sentence(line: str, at: int) -> bool:
    """After a Latin '.', '!' or '?': whitespace, then a capital, a quote or a non-Latin character."""
    rest = line[at:]
    stripped = rest.lstrip()
    if not stripped or len(stripped) == len(rest):
        return False
    first = stripped[0]
    return first.isupper() or first in "\"'“‘「『" or not first.isascii()


def _split_line(line: str) -> list[str]:
    # Only brackets and terminators matter: a regex finds them, the loop visits nothing else.
    parts: list[str] = []
    depth = 0
    start = 0
    skip_to = 0
    n = len(line)
    for found in _MARKS.finditer(line):
        i = found.start()
        if i < skip_to:
            continue
        ch = line[i]
        if ch in _OPENING:
            depth += 1
        elif ch in _CLOSING:
            depth = max(0, depth - 1)
        elif depth == 0:
            end = i + 1
            while end < n and line[end] in _TRAILING:
                if line[end] in _CLOSING:
                    depth = max(0, depth - 1)
                end += 1
            if ch not in ".!?" or end == n or _starts_sentence(line, end):
                parts.append(line[start:end].strip())
                start = end
            skip_to = end
    rest = line[start:].strip()
    if rest:
        parts.append(rest)
    return [part for part in parts if part]


@dataclass
class Tokens:
    """Parallel lists, one entry per token in text order, plus the distinct search keys of the text."""

    tokenizer: str
    surfaces: list[str] = field(default_factory=list)
    # Sudachi's normalized form: the dictionary form with its spelling unified (行き → 行く, 附属 → 付属)
    lemmas: list[str] = field(default_factory=list)
    search_keys: list[str] = field(default_factory=list)


@cache
def sudachi_dictionary():
    """The one Sudachi core dictionary of this process."""
    from sudachipy import Dictionary

    return Dictionary(dict="core")


_local = threading.local()
# Bounded memos of this process: lemma → its match key (None: not a key), compound noun → its mode A parts.
_MATCH_KEYS: dict[str, str | None] = {}
_COMPOUND_PARTS: dict[str, tuple[str, ...]] = {}
_MEMO_LIMIT = 500_000


def _sudachi_tokenizer():
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        from sudachipy import SplitMode

        tokenizer = sudachi_dictionary().tokenizer(
            mode=SplitMode.C, fields={"pos", "normalized_form", "split_a"}
        )
        _local.tokenizer = tokenizer
    return tokenizer


@cache
def _part_of_speech_classes() -> tuple[frozenset[int], frozenset[int], frozenset[int]]:
    """Sudachi part-of-speech ids of (whitespace, content words, nouns)."""
    dictionary = sudachi_dictionary()
    blank, content, nouns = set(), set(), set()
    pos_id = 0
    while (pos := _pos_of(dictionary, pos_id)) is not None:
        if pos[0] == "空白":
            blank.add(pos_id)
        if pos[0] in _CONTENT_POS and pos[1] not in _DEPENDENT:
            content.add(pos_id)
            if pos[0] == "名詞":
                nouns.add(pos_id)
        pos_id += 1
    return frozenset(blank), frozenset(content), frozenset(nouns)


def _pos_of(dictionary, pos_id: int):
    try:
        return dictionary.pos_of(pos_id)
    except (IndexError, ValueError, OverflowError):
        return None


def sudachi_chunks(text: str) -> list[str]:
    """Pieces of `text` that Sudachi accepts (below its byte limit), cut at line or sentence boundaries."""
    if len(text) * 4 < _CHUNK_BYTES or len(text.encode("utf-8")) < _CHUNK_BYTES:
        return [text] if text else []
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for piece in _pieces(text):
        piece_size = len(piece.encode("utf-8")) + 1
        if current and size + piece_size > _CHUNK_BYTES:
            chunks.append("\n".join(current))
            current, size = [], 0
        current.append(piece)
        size += piece_size
    if current:
        chunks.append("\n".join(current))
    return chunks


def _pieces(text: str):
    for sentence in split_sentences(text):
        if len(sentence.encode("utf-8")) < _CHUNK_BYTES:
            yield sentence
            continue
        step = _CHUNK_BYTES // 4  # a sentence with no break at all: cut by characters (≤ 4 bytes each)
        for start in range(0, len(sentence), step):
            yield sentence[start : start + step]


def tokenize_japanese(text: str) -> Tokens:
    """SudachiPy (core dictionary, mode C) tokens and lemmas; search keys are the content words' lemmas and,
    for compound nouns, the lemmas of their mode A parts, so that 東京都庁 is found by 東京 and by 都庁."""
    from sudachipy import Morpheme, SplitMode

    tokenizer = _sudachi_tokenizer()
    blank, content, nouns = _part_of_speech_classes()
    normalized_form, part_of_speech_id = Morpheme.normalized_form, Morpheme.part_of_speech_id
    surfaces: list[str] = []
    lemmas: list[str] = []
    keys: dict[str, None] = {}
    for chunk in sudachi_chunks(text):
        morphemes = tokenizer.tokenize(chunk)
        # Per-morpheme work stays in C where it can (map, compress): a Python loop step per token costs as
        # much as Sudachi's own analysis of it. Each iteration of a MorphemeList builds a new Morpheme, so
        # it is listed once.
        listed = list(morphemes)
        chunk_lemmas = list(map(normalized_form, listed))
        pos_ids = list(map(part_of_speech_id, listed))
        for index in compress(range(len(pos_ids)), map(content.__contains__, pos_ids)):
            lemma = chunk_lemmas[index]
            keys[lemma] = None
            if len(lemma) >= 3 and pos_ids[index] in nouns:
                parts = _COMPOUND_PARTS.get(lemma)
                if parts is None:
                    parts = tuple(part.normalized_form() for part in listed[index].split(SplitMode.A))
                    if len(_COMPOUND_PARTS) < _MEMO_LIMIT:
                        _COMPOUND_PARTS[lemma] = parts
                for part in parts:
                    keys[part] = None
        kept = None
        if not blank.isdisjoint(pos_ids):
            kept = list(map(not_, map(blank.__contains__, pos_ids)))
            chunk_lemmas = list(compress(chunk_lemmas, kept))
        # str() of a morpheme list is its surfaces joined by spaces, built by Sudachi itself; whitespace tokens
        # (the only ones holding whitespace) vanish in the split
        chunk_surfaces = str(morphemes).split()
        if len(chunk_surfaces) != len(chunk_lemmas):
            chunk_surfaces = [m.surface() for m in (listed if kept is None else compress(listed, kept))]
        surfaces.extend(chunk_surfaces)
        lemmas.extend(chunk_lemmas)
    return Tokens(SUDACHI_TOKENIZER, surfaces, lemmas, _match_keys(keys))


def tokenize_words(text: str) -> Tokens:
    """Words of a text in a language Sudachi does not read: NFKC, case-folded, split on word characters."""
    words = _WORD.findall(nfkc(text).casefold())
    keys = {word: None for word in words if len(word) > 1 and not word.isdigit() and word not in _STOPWORDS}
    return Tokens(WORDS_TOKENIZER, words, list(words), list(keys))


def _match_keys(forms: dict[str, None]) -> list[str]:
    memo = _MATCH_KEYS
    if len(memo) > _MEMO_LIMIT:
        memo.clear()
    keys: dict[str, None] = {}
    for form in forms:
        if form in memo:
            key = memo[form]
        else:
            key = match_key(form)
            key = memo[form] = None if not key or key.isdigit() else key
        if key is not None:
            keys[key] = None
    return list(keys)


def tokenize(text: str, language: str) -> Tokens:
    """Sudachi for Japanese, word characters for everything else."""
    return tokenize_japanese(text) if language == "ja" else tokenize_words(text)
