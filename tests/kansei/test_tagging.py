from pathlib import Path

import pytest

from pipelines.kansei import score_texts
from pipelines.kansei.config import load_lexicon, load_taxonomy
from pipelines.kansei.lexicon import has_japanese, lexicon_hits
from pipelines.settings import PROJECT_ROOT, MsdbSettings

MODELS = PROJECT_ROOT / "models"


def test_taxonomy_has_bilingual_tags_in_every_facet():
    taxonomy = load_taxonomy(MODELS)
    assert len(taxonomy.tags) >= 20
    assert {t.facet for t in taxonomy.tags} == {"mood", "emotion", "theme", "scene", "impression"}
    assert taxonomy.by_id()["scene.rain"].label_ja == "雨"


def test_lexicon_names_only_known_tags(tmp_path):
    (tmp_path / "kansei").mkdir()
    for name in ("kansei/taxonomy.yaml",):
        (tmp_path / name).write_text((MODELS / name).read_text("utf-8"), "utf-8")
    (tmp_path / "kansei/lexicon_ja.tsv").write_text("lemma\ttag_id\tweight\n雨\tscene.drizzle\t1.0\n", "utf-8")
    with pytest.raises(ValueError, match="scene.drizzle"):
        load_lexicon(Path(tmp_path))


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("夏祭りの花火", "scene.summer"), ("さよならのプラットホーム", "theme.farewell"), ("踊れ！ミッドナイト・ビート", "mood.energetic"),
        # short generated titles that had no tag before taxonomy 2026.12.3
        ("熱い鼓動", "mood.energetic"), ("街角と約束", "scene.city"), ("駅と約束", "scene.travel"), ("坂道と約束", "theme.hometown"),
    ],
)  # fmt: skip
def test_japanese_titles_hit_the_lexicon_through_sudachi(text, tag):
    assert tag in {hit.tag_id for hit in lexicon_hits(text, load_lexicon(MODELS))}


def test_lexicon_ignores_text_without_japanese():
    assert not has_japanese("Yoru no Ame") and lexicon_hits("rain", load_lexicon(MODELS)) == []


def test_score_texts_reads_english_and_japanese_through_the_scorer(tmp_path):
    settings = MsdbSettings(models_dir=MODELS, var_dir=tmp_path / "var")
    scored = score_texts(
        ["A detective hunts a killer through a series of murders.", ""],
        ["", "夜の雨、ひとり"],
        settings,
    )
    assert scored[0]["theme.crime"][1] == "exemplar" and scored[0]["theme.crime"][0] > 0.5
    assert scored[1]["scene.rain"][1] == "lexicon" and scored[1]["scene.rain"][0] > 0.9
    assert all(0 < score <= 1 for item in scored for score, _ in item.values())
