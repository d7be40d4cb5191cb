"""The kansei taxonomy (models/kansei/taxonomy.yaml): its size, both languages, its mappings, and the error a
broken one gives."""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from pipelines.kansei.config import EKMAN_LABELS, GOEMOTIONS_LABELS, load_taxonomy
from pipelines.settings import PROJECT_ROOT

MODELS = PROJECT_ROOT / "models"
# Every Mood value of the MEAD sample deliveries in ../shared/data/ddex/mead101 (user-defined ones resolved).
MEAD_SAMPLE_MOODS = {
    "Happy", "Confident", "Angry", "Dramatic", "Peaceful", "Inspiring",
    "Positive", "Negative", "Sexual", "Blissful", "Exciting", "Sentimental", "Uplifting", "Dreamy",
}
KEPT_IDS = {
    "mood.melancholic", "mood.uplifting", "mood.calm", "mood.energetic", "mood.dark", "mood.romantic",
    "mood.nostalgic", "emotion.joy", "emotion.sadness", "emotion.fear", "emotion.excitement", "emotion.comfort",
    "theme.love", "theme.farewell", "theme.friendship", "theme.crime", "theme.food", "theme.fashion",
    "theme.family", "scene.night", "scene.rain", "scene.summer", "scene.winter", "scene.seaside", "scene.travel",
    "scene.morning", "scene.party", "impression.cozy", "impression.stylish", "impression.epic",
}
_KANA_OR_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def test_taxonomy_has_95_tags_over_five_types():
    taxonomy = load_taxonomy(MODELS)
    assert taxonomy.version == "2026.12.3"
    assert taxonomy.types == ("mood", "emotion", "theme", "scene", "impression")
    assert Counter(t.type for t in taxonomy.tags) == {"mood": 20, "emotion": 25, "theme": 18, "scene": 18, "impression": 14}
    assert KEPT_IDS <= taxonomy.by_id().keys()
    sadness = taxonomy.by_id()["emotion.sadness"]
    assert (sadness.label_ja, sadness.ekman, sadness.facet) == ("悲しみ", ("sadness",), "emotion")


def test_every_tag_speaks_both_languages():
    for tag in load_taxonomy(MODELS).tags:
        assert _KANA_OR_KANJI.search(tag.label_ja) and _KANA_OR_KANJI.search(tag.definition_ja), tag.id
        assert all(_KANA_OR_KANJI.search(phrase) for phrase in tag.exemplars_ja), tag.id
        assert tag.definition_en.isascii() and all(phrase.isascii() for phrase in tag.exemplars_en), tag.id
        assert len(tag.exemplars_en) == len(tag.exemplars_ja) == 7, tag.id
        assert len(set(tag.exemplars_en)) == len(tag.exemplars_en) and len(set(tag.exemplars_ja)) == len(tag.exemplars_ja)


def test_mappings_cover_ekman_and_the_mead_sample_moods():
    tags = load_taxonomy(MODELS).tags
    emotion_ekman = {label for t in tags if t.type == "emotion" for label in t.ekman}
    assert emotion_ekman == set(EKMAN_LABELS) - {"neutral"}
    assert {m for t in tags for m in t.mead_moods} == MEAD_SAMPLE_MOODS
    assert {label for t in tags for label in t.goemotions} <= set(GOEMOTIONS_LABELS)
    # Each Ekman emotion has its own tag, mapped to it alone.
    by_id = {t.id: t for t in tags}
    for label in set(EKMAN_LABELS) - {"neutral"}:
        assert by_id[f"emotion.{label}"].ekman == (label,)


@pytest.mark.real_data
def test_every_mead_mood_delivered_in_the_samples_is_mapped(shared_data):
    import xml.etree.ElementTree as ET

    moods = set()
    for path in (shared_data / "ddex" / "mead101").glob("MEAD_*.xml"):
        for element in ET.parse(path).iter():
            if element.tag.rsplit("}", 1)[-1] == "Mood":
                for value in element:
                    moods.add(value.get("UserDefinedValue") or (value.text or "").strip())
    assert moods == MEAD_SAMPLE_MOODS
    assert moods <= {m for t in load_taxonomy(MODELS).tags for m in t.mead_moods}


def _broken(tmp_path: Path, change) -> Path:
    raw = yaml.safe_load((MODELS / "kansei" / "taxonomy.yaml").read_text("utf-8"))
    change(raw)
    (tmp_path / "kansei").mkdir()
    (tmp_path / "kansei" / "taxonomy.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return tmp_path


def _tag(raw, tag_id):
    return next(t for t in raw["tags"] if t["id"] == tag_id)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["tags"].append(dict(_tag(raw, "scene.rain"))), "duplicate kansei tag id 'scene.rain'"),
        (lambda raw: _tag(raw, "emotion.fear").update(ekman=["terror"]), r"tag 'emotion.fear'.*unknown ekman labels \['terror'\]"),
        (lambda raw: _tag(raw, "emotion.joy").update(goemotions=["happiness"]), r"tag 'emotion.joy'.*unknown goemotions labels"),
        (lambda raw: _tag(raw, "scene.night").update(definition_ja=""), r"tag 'scene.night'.*definition_ja"),
        (lambda raw: _tag(raw, "mood.calm").update(exemplars_ja=["静か"]), r"tag 'mood.calm'.*exemplars_ja"),
        (lambda raw: _tag(raw, "theme.food").update(type="scene"), r"tag 'theme.food'.*'<type>.<slug>'"),
        (lambda raw: _tag(raw, "impression.warm").update(type="colour"), r"tag 'impression.warm'.*type"),
        (lambda raw: raw.update(types=["mood", "emotion", "theme", "scene"]), r"tag 'impression.cozy'.*not one of the taxonomy's types"),
        (lambda raw: _tag(raw, "mood.dark").pop("label_en"), r"tag 'mood.dark'.*label_en"),
    ],
    ids=["duplicate", "ekman", "goemotions", "empty-definition", "few-exemplars", "id-type", "unknown-type", "types", "missing-label"],
)
def test_a_broken_taxonomy_names_the_tag_at_fault(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        load_taxonomy(_broken(tmp_path, change))
