"""Our own kansei dev fixtures (tests/fixtures/kansei): they parse, their labels are the eval's, and the
Japanese tag expectations name real tags; the lexicon is held to them."""

import json
from collections import Counter
from pathlib import Path

import pytest

from pipelines.kansei.config import EKMAN_LABELS, load_lexicon, load_taxonomy
from pipelines.kansei.lexicon import has_japanese, lexicon_hits
from pipelines.settings import PROJECT_ROOT

FIXTURES = Path(__file__).parents[1] / "fixtures" / "kansei"
MODELS = PROJECT_ROOT / "models"


def _lines(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text("utf-8").splitlines()]


@pytest.mark.parametrize(
    ("name", "texts", "per_label", "multi_label"),
    [
        ("ja_dev.jsonl", 151, {"anger": 22, "disgust": 22, "fear": 23, "joy": 22, "sadness": 23, "surprise": 23, "neutral": 24}, 8),
        ("en_dev.jsonl", 77, {"anger": 12, "disgust": 12, "fear": 11, "joy": 11, "sadness": 11, "surprise": 13, "neutral": 11}, 4),
    ],
)
def test_ekman_dev_sets(name, texts, per_label, multi_label):
    rows = _lines(name)
    assert len(rows) == texts and all(row.keys() == {"text", "labels"} for row in rows)
    assert Counter(label for row in rows for label in row["labels"]) == per_label
    assert set(per_label) == set(EKMAN_LABELS)
    assert sum(len(row["labels"]) > 1 for row in rows) == multi_label
    assert all("neutral" not in row["labels"] or row["labels"] == ["neutral"] for row in rows)
    assert len({row["text"] for row in rows}) == texts
    assert all(has_japanese(row["text"]) == (name == "ja_dev.jsonl") for row in rows)


def test_japanese_tag_expectations_name_taxonomy_tags():
    rows = _lines("ja_tags.jsonl")
    tags = load_taxonomy(MODELS).by_id().keys()
    assert len(rows) == 40
    assert all(row["tags"] and row["not_tags"] and set(row["tags"]) <= tags and set(row["not_tags"]) <= tags for row in rows)
    assert all(not set(row["tags"]) & set(row["not_tags"]) for row in rows)
    assert rows[0] == {
        "text": "夜の雨、ひとり",
        "tags": ["scene.night", "scene.rain", "mood.melancholic", "emotion.loneliness"],
        "not_tags": ["emotion.joy", "scene.morning", "mood.happy"],
    }


def test_the_lexicon_finds_the_expected_tags_and_never_the_excluded_ones():
    lexicon = load_lexicon(MODELS)
    expected = found = 0
    for row in _lines("ja_tags.jsonl"):
        tagged = {hit.tag_id for hit in lexicon_hits(row["text"], lexicon) if not hit.negated}
        assert not tagged & set(row["not_tags"]), row["text"]
        expected += len(row["tags"])
        found += len(tagged & set(row["tags"]))
    assert (found, expected) == (86, 91)
