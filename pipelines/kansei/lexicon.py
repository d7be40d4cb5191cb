"""Japanese kansei signals: models/kansei/lexicon_ja.tsv matched on SudachiPy lemmas, negation included.

Lexicon lemmas are Sudachi dictionary forms (core dictionary, mode C). A token matches an entry by its
dictionary form or by its normalized form (哀しい → 悲しい, ムカつく → むかつく), and a compound noun the lexicon
does not know matches by its mode A parts. A word right after a numeral is a counter and matches nothing
(12月 is a month, not the moon).

Negation (悲しくない is not sad). A hit's phrase is the run of function words after it: particles,
auxiliaries, dependent verbs and adjectives (いる, ある, ない) and the formal nouns わけ, こと, はず, もの. The
phrase ends at the next content word or punctuation mark. The hit is negated when the phrase holds an odd
number of negators (ない, ぬ/ん, ず, まい):

- negated: 悲しくない, 怖くなかった, 好きじゃない, 寂しくはない, 泣かなかった, 泣いていない, 悲しくありません,
  元気がない, 怖くなんかなかった, 心配いらない (要る is read through);
- not negated, since the negator belongs to the next content word: 涙が止まらない, 切なくてたまらない,
  嬉しくてしょうがない, 悲しいかもしれない, 悲しいに違いない;
- not negated, since two negators cancel: 泣かずにはいられない, 悲しくないわけじゃない;
- exceptions (a negator that does not negate): ない after しか (泣くしかない: nothing but tears) and ならない
  after て/で (楽しみでならない: cannot help it).

Lexical ない-words (切ない, 少ない, 危ない, 情けない) are single tokens: words, not negations. Known limit: a
rhetorical question (怖すぎない？ "isn't it too scary?") reads as a negation.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from pipelines.kansei.config import LexiconEntry

_JAPANESE = ("CJK UNIFIED", "HIRAGANA", "KATAKANA")

# Normalized forms of the negating auxiliaries: ない (助動詞), 無い (ない/ねえ as a dependent adjective), ず (ず, ぬ, ん),
# まい.
_NEGATORS = frozenset({"ない", "無い", "ず", "まい"})
# Formal nouns a negation reaches through (悲しいわけではない, 悲しいことはない), by normalized form.
_FORMAL_NOUNS = frozenset({"訳", "わけ", "こと", "事", "筈", "はず", "物", "もの"})
# 要る (need), read through so that 心配いらない (no need to worry) negates 心配.
_NEED = frozenset({"いる", "要る"})
_FUNCTION_POS = frozenset({"助詞", "助動詞", "接尾辞"})
_DEPENDENT_POS = frozenset({"動詞", "形容詞"})
# Content words whose mode A parts are tried when the word itself is not in the lexicon.
_COMPOUND_POS = "名詞"

_local = threading.local()
_INDEXES: dict[int, tuple[tuple[LexiconEntry, ...], dict[str, tuple[LexiconEntry, ...]]]] = {}


@dataclass(frozen=True)
class LexiconHit:
    tag_id: str
    weight: float
    lemma: str  # the lexicon's lemma
    surface: str  # the text as written
    negated: bool


@lru_cache(maxsize=65_536)
def _is_japanese(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(_JAPANESE)


def has_japanese(text: str) -> bool:
    """A kanji, hiragana or katakana character in the text (per character, cached: the tag stage asks for every
    token of every text)."""
    return not text.isascii() and any(map(_is_japanese, text))


def _index(lexicon: tuple[LexiconEntry, ...]) -> dict[str, tuple[LexiconEntry, ...]]:
    """lemma → its entries, built once per lexicon object (load_lexicon returns the same one each time; hashing
    the whole lexicon on every call would cost more than matching a short title)."""
    cached = _INDEXES.get(id(lexicon))
    if cached is not None and cached[0] is lexicon:
        return cached[1]
    grouped: dict[str, list[LexiconEntry]] = {}
    for entry in lexicon:
        grouped.setdefault(unicodedata.normalize("NFKC", entry.lemma), []).append(entry)
    index = {lemma: tuple(entries) for lemma, entries in grouped.items()}
    if len(_INDEXES) >= 8:
        _INDEXES.clear()
    _INDEXES[id(lexicon)] = (lexicon, index)
    return index


def _tokenizer():
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        from sudachipy import SplitMode

        from pipelines.text.japanese import sudachi_dictionary

        tokenizer = _local.tokenizer = sudachi_dictionary().tokenizer(
            mode=SplitMode.C, fields={"pos", "dictionary_form", "normalized_form", "split_a"}
        )
    return tokenizer


def lexicon_hits(text: str, lexicon: tuple[LexiconEntry, ...]) -> list[LexiconHit]:
    """Every lexicon entry the text holds, in text order, each with whether its phrase negates it."""
    if not text or not has_japanese(text):
        return []
    from sudachipy import Morpheme, SplitMode

    from pipelines.text.japanese import sudachi_chunks

    index = _index(lexicon)
    numerals, nouns = _part_of_speech_classes()
    hits: list[LexiconHit] = []
    for chunk in sudachi_chunks(unicodedata.normalize("NFKC", text)):
        morphemes = list(_tokenizer().tokenize(chunk))
        # Per-token work in C (map); Python looks only at the tokens the lexicon knows and at nouns.
        dictionary_forms = list(map(Morpheme.dictionary_form, morphemes))
        normalized_forms = list(map(Morpheme.normalized_form, morphemes))
        pos_ids = list(map(Morpheme.part_of_speech_id, morphemes))
        for position, (form, normal, pos_id) in enumerate(zip(dictionary_forms, normalized_forms, pos_ids, strict=True)):
            if form not in index and normal not in index and pos_id not in nouns:
                continue
            if position and pos_ids[position - 1] in numerals:
                continue  # a counter, not a word: 12月 is December, not the moon
            if not has_japanese(morphemes[position].surface()):
                continue  # a Latin word of mixed text (Mystery, team, sense): the embedding reads those
            matched = [entry for f in dict.fromkeys((form, normal)) for entry in index.get(f, ())]
            if not matched and pos_id in nouns and len(morphemes[position].surface()) >= 3:
                parts = morphemes[position].split(SplitMode.A)
                if len(parts) > 1:
                    matched = [entry for part in parts for entry in _entries(index, part)]
            if not matched:
                continue
            negated = is_negated(morphemes, position)
            best: dict[str, LexiconEntry] = {}
            for entry in matched:  # a token written ひとり matches both ひとり and 一人: it counts once per tag
                if entry.tag_id not in best or entry.weight > best[entry.tag_id].weight:
                    best[entry.tag_id] = entry
            surface = morphemes[position].surface()
            hits.extend(LexiconHit(e.tag_id, e.weight, e.lemma, surface, negated) for e in best.values())
    return hits


@lru_cache(maxsize=1)
def _part_of_speech_classes() -> tuple[frozenset[int], frozenset[int]]:
    """Sudachi part-of-speech ids of (numerals, nouns)."""
    from pipelines.text.japanese import sudachi_dictionary

    dictionary = sudachi_dictionary()
    numerals, nouns = set(), set()
    pos_id = 0
    while True:
        try:
            pos = dictionary.pos_of(pos_id)
        except (IndexError, ValueError, OverflowError):
            break
        if pos is None:
            break
        if pos[0] == _COMPOUND_POS:
            (numerals if pos[1] == "数詞" else nouns).add(pos_id)
        pos_id += 1
    return frozenset(numerals), frozenset(nouns)


def _entries(index: dict[str, tuple[LexiconEntry, ...]], morpheme) -> list[LexiconEntry]:
    forms = dict.fromkeys((morpheme.dictionary_form(), morpheme.normalized_form()))
    return [entry for form in forms for entry in index.get(form, ())]


def _is_function_word(morpheme) -> bool:
    pos = morpheme.part_of_speech()
    if pos[0] in _FUNCTION_POS:
        return True
    if pos[0] in _DEPENDENT_POS and pos[1] == "非自立可能":
        return True
    if pos[0] == "動詞" and morpheme.normalized_form() in _NEED:
        return True
    return pos[0] == "名詞" and morpheme.normalized_form() in _FORMAL_NOUNS


def _is_negator(morpheme) -> bool:
    return morpheme.part_of_speech()[0] in ("助動詞", "形容詞") and morpheme.normalized_form() in _NEGATORS


def is_negated(morphemes, position: int) -> bool:
    """Whether the function words after morphemes[position], up to the next content word, negate it."""
    negators = 0
    phrase = []
    for morpheme in islice(morphemes, position + 1, None):
        if not _is_function_word(morpheme):
            break
        if _is_negator(morpheme) and not _idiom(phrase):
            negators += 1
        phrase.append(morpheme)
    return negators % 2 == 1


def _idiom(before: list) -> bool:
    """A negator that does not negate, by what precedes it in the phrase: しか〜ない (nothing but), て/で＋ならない
    (cannot help)."""
    if not before:
        return False
    if before[-1].surface() == "しか":
        return True
    return (
        len(before) >= 2
        and before[-1].normalized_form() == "成る"
        and before[-2].surface() in ("て", "で")
    )


def lemmas_not_in_dictionary_form(lexicon: tuple[LexiconEntry, ...]) -> dict[str, list[str]]:
    """Lexicon lemmas that are not one Sudachi token in its own dictionary form (core dictionary, mode C), with the
    dictionary forms Sudachi reads them as: such a lemma can never match. Empty for a sound lexicon."""
    tokenizer = _tokenizer()
    wrong: dict[str, list[str]] = {}
    for lemma in sorted({entry.lemma for entry in lexicon}):
        morphemes = tokenizer.tokenize(lemma)
        if len(morphemes) != 1 or morphemes[0].dictionary_form() != lemma:
            wrong[lemma] = [m.dictionary_form() for m in morphemes]
    return wrong

