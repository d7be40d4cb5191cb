"""Fusion of kansei signals: one weight 0-100 per tag, one primary tag, at most N per type, evidence named."""

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from pipelines.kansei.embedders import NO_TEXT, NO_WORDS, get_embedder
from pipelines.kansei.heads import EmotionHeads
from pipelines.kansei.scoring import NO_TAG, KanseiScorer, ScoringSettings, lexicon_evidence

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kansei"


def small_taxonomy():
    raw = yaml.safe_load((FIXTURES / "taxonomy_small.yaml").read_text("utf-8"))
    return SimpleNamespace(version=raw["version"], tags=[SimpleNamespace(**tag) for tag in raw["tags"]])


@dataclass
class Hit:  # the LexiconHit of pipelines/kansei/lexicon.py (tag_id, weight, lemma, surface, negated)
    tag_id: str
    weight: float
    lemma: str
    surface: str
    negated: bool


def fixed_heads(dim: int) -> EmotionHeads:
    """Heads whose output ignores the text: sadness 0.9, everything else 0.1 (thresholds 0.5)."""
    logits = np.log(np.array([0.1, 0.1, 0.1, 0.1, 0.9, 0.1, 0.1]) / (1 - np.array([0.1, 0.1, 0.1, 0.1, 0.9, 0.1, 0.1])))
    weights = [np.zeros((dim, 1), np.float32), np.zeros(1, np.float32), np.zeros((1, 7), np.float32), logits.astype(np.float32)]
    return EmotionHeads([weights], np.full(7, 0.5), {})


@pytest.fixture(scope="module")
def scorer():
    return KanseiScorer(small_taxonomy(), get_embedder("use:multilingual-v3"), ScoringSettings(max_per_type=2))


TEXTS = ["夜の雨、ひとり", "A heartbreaking goodbye at the station on a rainy night", "😀🎉", "", "Summer festival fireworks over the beach"]


def test_weights_are_0_to_100_with_one_primary_and_at_most_n_per_type(scorer):
    results = scorer.score(TEXTS)
    assert [r.untaggable_reason for r in results] == [None, None, NO_WORDS, NO_TEXT, None]
    for result in (results[0], results[1], results[4]):
        assert sum(t.is_primary for t in result.tags) == 1
        assert result.tags[0].is_primary and [t.rank for t in result.tags] == list(range(1, len(result.tags) + 1))
        weights = [t.weight for t in result.tags]
        assert weights == sorted(weights, reverse=True) and all(0 <= w <= 100 for w in weights)
        types = [t.type for t in result.tags]
        assert all(types.count(kind) <= 2 for kind in set(types))
        assert all(set(t.signals) == {"exemplar"} and t.evidence_signal == "exemplar" for t in result.tags)
    # Japanese reads through the multilingual model: the night rain is a rain and a night scene
    assert {t.tag_id for t in results[0].tags} >= {"scene.rain", "scene.night"}
    assert results[4].tags[0].tag_id == "scene.summer"
    assert results[4].tags[0].evidence in {"a summer festival", "fireworks over the beach"}


def test_same_inputs_give_identical_output_and_a_dense_vector(scorer):
    results = scorer.score(TEXTS)
    assert results == scorer.score(list(TEXTS))
    dense = scorer.dense_vectors(results)
    assert dense.shape == (5, 16) and dense.dtype == np.float32
    assert not dense[2].any() and not dense[3].any()
    summer = scorer.tag_index["scene.summer"]
    assert dense[4, summer] == pytest.approx(results[4].tags[0].weight / 100)
    assert np.count_nonzero(dense[4]) == len(results[4].tags)


def test_signals_fuse_as_log_odds_and_negated_lexicon_hits_never_add_a_tag():
    settings = ScoringSettings(max_per_type=3)
    base = KanseiScorer(small_taxonomy(), get_embedder("use:multilingual-v3"), settings, heads=fixed_heads(512))
    text = "Nothing in particular happened today."
    tags = {t.tag_id: t for t in base.score([text])[0].tags}
    sadness = tags["emotion.sadness"]
    assert sadness.signals["head"] == pytest.approx(0.9) and sadness.evidence in {"head:sadness"}
    # far from every sadness exemplar: the exemplar neither adds nor subtracts where a head speaks
    assert sadness.signals["exemplar"] < 0.5 and sadness.weight == 90.0
    assert "emotion.joy" not in tags  # head 0.1: 10
    # near an exemplar, it adds in log-odds: 0.9 and p → sigmoid(logit(0.9) + 0.8 logit(p))
    near = {t.tag_id: t for t in base.score(["I feel so sad and alone"])[0].tags}["emotion.sadness"]
    p = near.signals["exemplar"]
    assert p > 0.5
    assert near.weight == pytest.approx(round(100 / (1 + np.exp(-(np.log(9) + 0.8 * np.log(p / (1 - p))))), 1), abs=0.051)
    assert near.evidence == "I feel so sad and alone" and near.weight > 90.0
    # a negated hit pulls the tag down; a plain hit pushes it up and becomes its evidence
    negated = lexicon_evidence([Hit("emotion.sadness", 1.0, "悲しい", "悲しくない", True)])
    plain = lexicon_evidence([Hit("emotion.sadness", 1.0, "悲しい", "悲しく", False), Hit("emotion.sadness", 0.5, "涙", "涙", False)])
    assert negated == {"emotion.sadness": (0.0, 1.0, "")}
    assert plain == {"emotion.sadness": (1.5, 0.0, "悲しく")}


def test_a_text_no_tag_reaches_is_untaggable_with_a_reason():
    strict = KanseiScorer(small_taxonomy(), get_embedder("use:multilingual-v3"), ScoringSettings(min_weight=99.9, floor_weight=99.9))
    assert strict.score(["Invoice number 4471, paid."])[0].untaggable_reason == NO_TAG


def test_lexicon_hits_and_mead_moods_fuse_into_the_weight_and_name_the_evidence(scorer):
    text = "Track 7"
    plain = {t.tag_id: t for t in scorer.score([text], hits=[[]])[0].tags}
    hits = [[Hit("mood.melancholic", 1.0, "切ない", "切なく", False)]]
    with_hit = scorer.score([text], hits=hits)[0]
    melancholic = next(t for t in with_hit.tags if t.tag_id == "mood.melancholic")
    assert melancholic.signals["lexicon"] == 0.75 and melancholic.evidence == "切なく"
    assert melancholic.evidence_signal == "lexicon" and melancholic.weight == 96.4  # 100 sigmoid(3 logit(0.75))
    assert "mood.melancholic" not in plain or plain["mood.melancholic"].weight < melancholic.weight
    negated = scorer.score([text], hits=[[Hit("mood.melancholic", 1.0, "切ない", "切なくない", True)]])[0]
    assert all(t.tag_id != "mood.melancholic" for t in negated.tags)
    mead = scorer.score([text], mead_moods=[["Sad"]], hits=[[]])[0]
    assert mead.tags[0].tag_id in {"mood.melancholic", "emotion.sadness"} and mead.tags[0].evidence == "mead:Sad"
    assert mead.tags[0].signals["mead"] == 0.9


def test_the_scorer_of_models_finds_the_expected_japanese_tags(tmp_path):
    """The figures of models/kansei/scoring.yaml on ja_tags.jsonl (40 Japanese titles with expected and excluded
    tags), with the committed taxonomy, lexicon and heads."""
    import json

    from pipelines.kansei.scoring import build_scorer
    from pipelines.settings import PROJECT_ROOT

    rows = [json.loads(line) for line in (FIXTURES / "ja_tags.jsonl").read_text("utf-8").splitlines()]
    items = build_scorer(PROJECT_ROOT / "models", tmp_path / "var").score([row["text"] for row in rows])
    kept = [{t.tag_id for t in item.tags} for item in items]
    found = sum(len(tags & set(row["tags"])) for tags, row in zip(kept, rows, strict=True))
    excluded = sum(len(tags & set(row["not_tags"])) for tags, row in zip(kept, rows, strict=True))
    # taxonomy 2026.12.3 adds 1 kept tag (感謝の手紙: nostalgic from 手紙), found and excluded unchanged
    assert (found, sum(len(row["tags"]) for row in rows), excluded, sum(map(len, kept))) == (87, 91, 2, 146)
    # 夜の雨、ひとり: rain and night first, lonely and melancholic, never joy or morning
    assert [t.tag_id for t in items[0].tags][:4] == ["scene.rain", "scene.night", "emotion.loneliness", "mood.melancholic"]


def test_the_thresholds_of_scoring_yaml_are_what_the_scorer_applies(tmp_path, scorer):
    """Config is behaviour: min_weight and max_per_type read from a scoring.yaml change the tags; a key no code
    reads (embedding.yaml's old `tagging` thresholds) is refused."""
    from pipelines.kansei.config import load_embedding_config
    from pipelines.kansei.scoring import load_scoring_settings
    from pipelines.settings import PROJECT_ROOT

    (tmp_path / "kansei").mkdir()
    raw = yaml.safe_load((PROJECT_ROOT / "models" / "kansei" / "scoring.yaml").read_text("utf-8"))
    (tmp_path / "kansei" / "scoring.yaml").write_text(yaml.safe_dump(raw | {"min_weight": 75.0, "max_per_type": 1}), "utf-8")
    settings = load_scoring_settings(tmp_path)
    assert (settings.min_weight, settings.max_per_type) == (75.0, 1)
    strict = KanseiScorer(small_taxonomy(), scorer.embedder, settings)
    loose = KanseiScorer(small_taxonomy(), scorer.embedder, settings.model_copy(update={"min_weight": 50.0, "max_per_type": 2}))
    # lexicon hits of weight 1 and 0.2: 96.4 and 68.6, both moods
    hits = [[Hit("mood.melancholic", 1.0, "切ない", "切ない", False), Hit("mood.dark", 0.2, "闇", "闇", False)]]
    strict_tags, loose_tags = (
        [(t.tag_id, t.weight) for t in s.score(["Track 7"], hits=hits)[0].tags] for s in (strict, loose)
    )
    assert strict_tags == [("mood.melancholic", 96.4)]
    assert loose_tags == [("mood.melancholic", 96.4), ("mood.dark", 68.6)]

    (tmp_path / "embedding.yaml").write_text(
        (PROJECT_ROOT / "models" / "embedding.yaml").read_text("utf-8") + "tagging:\n  embedding_min_score: 0.25\n", "utf-8"
    )
    with pytest.raises(ValueError, match="tagging"):
        load_embedding_config(tmp_path)


NEUTRAL = [
    "The city council met at ten in the morning to discuss the budget.", "Members reviewed the documents and set the date of the next meeting.",
    "Road works on the main street will continue until next month.", "The library opens at nine and closes at five on weekdays.",
    "Parking is available from the north entrance.", "Application forms are accepted at the front desk.",
]  # fmt: skip


def test_a_long_article_is_scored_sentence_by_sentence_and_names_the_sentence(scorer):
    """One summer sentence among six about the council: diluted in the whole text (no tag), it carries the
    article through the mean of its best two sentences, and it is the evidence."""
    article = " ".join([*NEUTRAL[:3], "Summer festival fireworks over the beach.", *NEUTRAL[3:]])
    assert len(article) > scorer.settings.sentence_min_chars
    whole_only = KanseiScorer(small_taxonomy(), scorer.embedder, scorer.settings.model_copy(update={"sentence_min_chars": 10**6}))
    assert whole_only.score([article])[0].untaggable_reason == NO_TAG
    tags = scorer.score([article])[0].tags
    assert [(t.tag_id, t.weight, t.evidence, t.evidence_signal) for t in tags] == [
        ("scene.summer", 46.3, "Summer festival fireworks over the beach.", "exemplar")
    ]
    assert tags[0].signals["exemplar"] > 0.9  # the sentence's own signal
    # a short text is scored whole, as before
    assert scorer.score(["Summer festival fireworks over the beach."])[0].tags[0].evidence in {"a summer festival", "fireworks over the beach"}
