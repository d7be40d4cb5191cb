"""Japanese kansei signals: SudachiPy normalized forms matched against models/kansei/lexicon_ja.tsv.

The embedding model reads English only; for Japanese titles and articles the lexicon is the signal.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict

from pipelines.kansei.config import LexiconEntry

_JAPANESE = ("CJK UNIFIED", "HIRAGANA", "KATAKANA")


def has_japanese(text: str) -> bool:
    return any(unicodedata.name(ch, "").startswith(_JAPANESE) for ch in text)


def lemmas(text: str) -> list[str]:
    """Every form a lexicon entry may be written in: Sudachi lemmas, surfaces, and compound parts."""
    from pipelines.text.japanese import tokenize_japanese

    tokens = tokenize_japanese(unicodedata.normalize("NFKC", text))
    return [*tokens.lemmas, *tokens.surfaces, *tokens.search_keys]


def lexicon_hits(text: str, lexicon: tuple[LexiconEntry, ...]) -> dict[str, float]:
    """tag_id → summed weight of the distinct lexicon lemmas the text contains."""
    if not text or not has_japanese(text):
        return {}
    index: dict[str, list[LexiconEntry]] = defaultdict(list)
    for entry in lexicon:
        index[unicodedata.normalize("NFKC", entry.lemma)].append(entry)
    hits: dict[str, float] = defaultdict(float)
    for lemma in set(lemmas(text)):
        for entry in index.get(lemma, ()):
            hits[entry.tag_id] += entry.weight
    return dict(hits)
