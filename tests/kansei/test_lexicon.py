"""The Japanese kansei lexicon (models/kansei/lexicon_ja.tsv) and its matching, negation included
(pipelines/kansei/lexicon.py)."""

from collections import Counter

import pytest

from pipelines.kansei import lexicon_weights
from pipelines.kansei.config import LexiconEntry, lexicon_version, load_lexicon, load_taxonomy
from pipelines.kansei.lexicon import LexiconHit, lemmas_not_in_dictionary_form, lexicon_hits
from pipelines.settings import PROJECT_ROOT

MODELS = PROJECT_ROOT / "models"


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon(MODELS)


def _hits(text: str, lexicon) -> set[tuple[str, str, bool]]:
    return {(hit.tag_id, hit.surface, hit.negated) for hit in lexicon_hits(text, lexicon)}


def test_lexicon_size_tags_and_weights(lexicon):
    assert len(lexicon) == 1712
    assert len({(e.lemma, e.tag_id) for e in lexicon}) == len(lexicon)
    assert all(0 < e.weight <= 1 for e in lexicon)
    per_tag = Counter(e.tag_id for e in lexicon)
    # Every tag of the taxonomy has words, and no other tag is named.
    assert per_tag.keys() == load_taxonomy(MODELS).by_id().keys()
    assert min(per_tag.values()) == per_tag["mood.bittersweet"] == 6 and per_tag["emotion.sadness"] == 32
    assert ("悲しい", "emotion.sadness", 1.0) in {(e.lemma, e.tag_id, e.weight) for e in lexicon}


def test_lexicon_version_follows_the_file(tmp_path):
    (tmp_path / "kansei").mkdir()
    (tmp_path / "kansei" / "lexicon_ja.tsv").write_text("lemma\ttag_id\tweight\n雨\tscene.rain\t1.0\n", "utf-8")
    assert lexicon_version(tmp_path) == "f9985c1409ad"
    assert len(lexicon_version(MODELS)) == 12 and lexicon_version(MODELS) != lexicon_version(tmp_path)


def test_every_lemma_is_one_sudachi_token_in_its_dictionary_form(lexicon):
    assert lemmas_not_in_dictionary_form(lexicon) == {}
    # what the check reports for lemmas that can never match: phrases, inflected forms, normalized-only spellings
    bad = (LexiconEntry(lemma="気持ち悪い", tag_id="emotion.disgust"), LexiconEntry(lemma="泣いた", tag_id="emotion.sadness"))
    assert lemmas_not_in_dictionary_form(bad) == {"気持ち悪い": ["気持ち", "悪い"], "泣いた": ["泣く", "た"]}


@pytest.mark.parametrize(
    ("text", "tag_id", "surface", "negated"),
    [
        # negated: the function words after the hit hold one negator
        ("悲しくない", "emotion.sadness", "悲しく", True),
        ("怖くなかった", "emotion.fear", "怖く", True),
        ("好きじゃない", "emotion.love", "好き", True),
        ("寂しくはない", "emotion.loneliness", "寂しく", True),
        ("嬉しくはない", "emotion.joy", "嬉しく", True),
        ("泣かなかった", "emotion.sadness", "泣か", True),
        ("泣いていない", "emotion.sadness", "泣い", True),
        ("泣いてない", "emotion.sadness", "泣い", True),
        ("悲しくありません", "emotion.sadness", "悲しく", True),
        ("怖くなんかなかった", "emotion.fear", "怖く", True),
        ("嫌いではない", "emotion.disgust", "嫌い", True),
        ("元気がない", "mood.uplifting", "元気", True),
        ("泣くまい", "emotion.sadness", "泣く", True),
        ("悲しくねえよ", "emotion.sadness", "悲しく", True),
        ("泣かずに笑った", "emotion.sadness", "泣か", True),
        ("悲しいことはない", "emotion.sadness", "悲しい", True),
        ("心配いらない", "emotion.nervousness", "心配", True),
        ("後悔はしていない", "emotion.regret", "後悔", True),
        # not negated: the negator belongs to the next content word
        ("涙が止まらない", "emotion.sadness", "涙", False),
        ("切なくてたまらない", "mood.melancholic", "切なく", False),
        ("嬉しくてしょうがない", "emotion.joy", "嬉しく", False),
        ("悲しいかもしれない", "emotion.sadness", "悲しい", False),
        ("寂しいに違いない", "emotion.loneliness", "寂しい", False),
        # not negated: two negators cancel
        ("泣かずにはいられない", "emotion.sadness", "泣か", False),
        ("悲しくないわけじゃない", "emotion.sadness", "悲しく", False),
        # not negated: idioms whose ない does not negate
        ("泣くしかない", "emotion.sadness", "泣く", False),
        ("楽しみでならない", "emotion.excitement", "楽しみ", False),
        # lexical ない-words are words, not negations
        ("切ない夜", "mood.melancholic", "切ない", False),
        ("危ない橋", "emotion.fear", "危ない", False),
        ("心細い夜", "emotion.loneliness", "心細い", False),
        # a negation reaches only its own phrase
        ("怖くなかったけど、最後は泣いた", "emotion.sadness", "泣い", False),
        ("怖くなかったけど、最後は泣いた", "emotion.fear", "怖く", True),
        ("悲しいけど泣かない", "emotion.sadness", "悲しい", False),
        ("悲しいけど泣かない", "emotion.sadness", "泣か", True),
    ],
)
def test_negation(lexicon, text, tag_id, surface, negated):
    assert (tag_id, surface, negated) in _hits(text, lexicon)
    assert (tag_id, surface, not negated) not in _hits(text, lexicon)


def test_hits_carry_lemma_surface_and_weight(lexicon):
    hits = lexicon_hits("哀しくて、ひとりで泣いた夜", lexicon)
    assert LexiconHit("emotion.sadness", 1.0, "哀しい", "哀しく", False) in hits
    assert LexiconHit("emotion.sadness", 1.0, "泣く", "泣い", False) in hits
    assert LexiconHit("scene.night", 1.0, "夜", "夜", False) in hits
    # ひとり matches both ひとり and its normalized form 一人: counted once per tag, at the higher weight
    assert [h for h in hits if h.surface == "ひとり" and h.tag_id == "emotion.loneliness"] == [
        LexiconHit("emotion.loneliness", 0.8, "ひとり", "ひとり", False)
    ]


def test_spelling_variants_and_compounds_match(lexicon):
    assert ("emotion.anger", "ムカつく", False) in _hits("ムカつく", lexicon)  # dictionary form
    assert ("emotion.sadness", "哀しみ", False) in _hits("哀しみ", lexicon)
    assert ("scene.rain", "雨上がり", False) in _hits("雨上がりの街", lexicon)
    assert lexicon_hits("", lexicon) == [] and lexicon_hits("Ame no hi", lexicon) == []
    assert lexicon_hits("１２３", lexicon) == []


def test_a_word_after_a_numeral_is_a_counter(lexicon):
    assert ("scene.night", "月", False) in _hits("月が綺麗な夜", lexicon)
    assert {hit.surface for hit in lexicon_hits("12月の夜", lexicon)} == {"夜"}
    assert {hit.surface for hit in lexicon_hits("十二月の夜", lexicon)} == {"夜"}


def test_the_tag_stage_leaves_negated_hits_out(lexicon):
    assert lexicon_weights("悲しくない", lexicon) == {}
    assert lexicon_weights("怖くなかったけど、最後は泣いた", lexicon) == {"emotion.sadness": 1.0, "theme.farewell": 0.3}
    # 雨 twice is one lemma: its weight counts once
    assert lexicon_weights("雨、雨、雨", lexicon) == {"scene.rain": 1.0}


def test_latin_words_of_mixed_text_are_left_to_the_embedding(lexicon):
    # Sudachi normalises ミステリー and チーム to Latin forms; written in Latin letters they are not Japanese words.
    hits = lexicon_hits("真夜中キッチン探偵団. A cosy mystery: the team follows a trail.", lexicon)
    assert {h.surface for h in hits} <= {"真夜中", "キッチン", "探偵", "探偵団"}
    assert "theme.sports" not in {h.tag_id for h in hits}
