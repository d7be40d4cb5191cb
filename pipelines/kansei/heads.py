"""Supervised emotion heads: Ekman-7 (six emotions + neutral, multi-label) from GoEmotions, on sentence embeddings.

`train_heads` reads GoEmotions' train.tsv, embeds the texts with the configured embedder (USE multilingual by
default, so that heads trained on English read Japanese too; the vectors are cached on disk, so a retrain does
not re-encode), and fits one-hidden-layer MLPs (scikit-learn, `seeds` of them, averaged) on the 28 GoEmotions
labels over all but a held-out tenth of the texts. An Ekman label's probability is the sum (capped at 1) of the
probabilities of the GoEmotions labels ekman_mapping.json groups into it (neutral is its own): the fine labels
teach the network more than the six coarse ones (dev macro-F1 0.553 against 0.543 for one MLP on Ekman-7
directly). Each Ekman label's decision threshold is the one that maximises its F1 on the held-out tenth (never
on a dev set we report on).

Beside the MLPs, `CharHeads`: class-balanced logistic regressions on char 2-5-gram TF-IDF of the same rows
(what the words look like, where the encoder gives what they mean). For a text without Japanese the two are
blended in log-odds (CHAR_BLEND, chosen on the held-out tenth) and thresholded with their own thresholds tuned
there; a Japanese text keeps the MLPs alone, since English char n-grams say nothing of it. GoEmotions dev
macro-F1: 0.549 with the MLPs alone, 0.593 blended.

Reproducible: rows sorted by their GoEmotions id, the held-out split by a hash of the id, fixed seeds, one BLAS
thread, and the weights written in a zip with fixed timestamps: the same inputs give the same bytes.

At tag time the MLPs are numpy only; the char heads use scikit-learn's TfidfVectorizer with the stored
vocabulary and idf. Both are deterministic per text.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

EKMAN_LABELS = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")
WEIGHTS_FILE = "ekman.npz"
MANIFEST_FILE = "ekman.manifest.json"
CHARS_FILE = "ekman_chars.npz"
# The char n-gram heads' share of the log-odds for a text without Japanese, chosen on the held-out tenth of train
# (macro-F1 there 0.5497 / 0.5769 / 0.5945 / 0.5984 / 0.6021 / 0.5934 at 0 / 0.2 / 0.35 / 0.5 / 0.65 / 0.8).
CHAR_BLEND = 0.65


@dataclass(frozen=True)
class HeadParams:
    """Hyper-parameters of the Ekman heads (recorded in the manifest)."""

    hidden: int = 256
    alpha: float = 1e-2  # L2 penalty
    learning_rate: float = 1e-3
    max_iter: int = 20  # epochs: more overfit the held-out tenth
    batch_size: int = 256
    seeds: int = 3  # MLPs averaged
    held_out_per_mille: int = 100  # texts whose id hashes below this (of 1000) tune the thresholds
    seed: int = 0

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class LabelledTexts:
    texts: list[str]
    labels: np.ndarray  # (n, 7) uint8 multi-hot over EKMAN_LABELS
    ids: list[str] = field(default_factory=list)
    fine: np.ndarray | None = None  # (n, 28) uint8 multi-hot over the GoEmotions labels
    grouping: np.ndarray | None = None  # (28, 7) 0/1: which GoEmotions labels make each Ekman label


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_goemotions(tsv: Path, ekman_mapping: Path, emotions: Path | None = None) -> LabelledTexts:
    """GoEmotions rows (text, comma-separated label indices, id) as Ekman-7 multi-hot, sorted by id."""
    names = (emotions or tsv.parent / "emotions.txt").read_text("utf-8").split()
    group = {fine: coarse for coarse, fines in json.loads(ekman_mapping.read_text("utf-8")).items() for fine in fines}
    group["neutral"] = "neutral"
    grouping = np.zeros((len(names), len(EKMAN_LABELS)), dtype=np.uint8)
    for index, name in enumerate(names):
        grouping[index, EKMAN_LABELS.index(group[name])] = 1
    rows = []
    with tsv.open(encoding="utf-8") as fh:
        for line in fh:
            text, indices, row_id = line.rstrip("\n").split("\t")
            fine = sorted(int(i) for i in indices.split(","))
            rows.append((row_id, text, fine))
    rows.sort()
    fine = np.zeros((len(rows), len(names)), dtype=np.uint8)
    for row, (_, _, indices) in enumerate(rows):
        fine[row, indices] = 1
    labels = (fine.astype(np.int64) @ grouping > 0).astype(np.uint8)
    return LabelledTexts([r[1] for r in rows], labels, [r[0] for r in rows], fine, grouping)


def load_jsonl(path: Path) -> LabelledTexts:
    """Lines {"text": ..., "labels": [Ekman-7 names]} in file order."""
    texts, labels = [], []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        unknown = set(record["labels"]) - set(EKMAN_LABELS)
        if unknown:
            raise ValueError(f"{path}:{number}: labels not in Ekman-7: {sorted(unknown)}")
        texts.append(record["text"])
        labels.append([int(label in record["labels"]) for label in EKMAN_LABELS])
    return LabelledTexts(texts, np.array(labels, dtype=np.uint8).reshape(-1, len(EKMAN_LABELS)))


def held_out(ids: list[str], per_mille: int) -> np.ndarray:
    """True for the rows whose id hashes into the held-out share (stable whatever the file order)."""
    return np.array([int(hashlib.sha256(i.encode()).hexdigest()[:8], 16) % 1000 < per_mille for i in ids])


def best_thresholds(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per label, the probability cut (from a fixed grid) with the best F1, and that F1."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    thresholds, scores = np.zeros(labels.shape[1]), np.zeros(labels.shape[1])
    for j in range(labels.shape[1]):
        truth = labels[:, j].astype(bool)
        best = (-1.0, 0.5)
        for cut in grid:
            predicted = probabilities[:, j] >= cut
            tp = np.sum(predicted & truth)
            f1 = 2 * tp / max(1, predicted.sum() + truth.sum())
            if f1 > best[0] + 1e-12:
                best = (f1, float(cut))
        scores[j], thresholds[j] = best
    return thresholds, scores


def f1_per_label(predicted: np.ndarray, labels: np.ndarray) -> np.ndarray:
    predicted, truth = predicted.astype(bool), labels.astype(bool)
    tp = (predicted & truth).sum(axis=0)
    return 2 * tp / np.maximum(1, predicted.sum(axis=0) + truth.sum(axis=0))


@dataclass
class EmotionHeads:
    """Ekman-7 heads: MLPs (one ReLU hidden layer, sigmoid outputs) averaged, their outputs grouped into Ekman
    labels, and a threshold per label."""

    weights: list[list[np.ndarray]]  # per seed: W1, b1, W2, b2 (float32)
    thresholds: np.ndarray  # (7,)
    manifest: dict
    grouping: np.ndarray | None = None  # (outputs, 7): output labels summed into each Ekman label; None: identity
    labels: tuple[str, ...] = EKMAN_LABELS

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """(n, 7) Ekman probabilities (before calibration)."""
        outputs = np.zeros((len(vectors), self.weights[0][3].shape[0]), dtype=np.float64)
        for w1, b1, w2, b2 in self.weights:
            hidden = np.maximum(vectors.astype(np.float32) @ w1 + b1, 0)
            logits = (hidden @ w2 + b2).astype(np.float64)
            outputs += 1.0 / (1.0 + np.exp(-logits))
        outputs /= len(self.weights)
        if self.grouping is None:
            return outputs
        return np.minimum(outputs @ self.grouping.astype(np.float64), 1.0)

    chars: CharHeads | None = None

    def calibrated(self, vectors: np.ndarray, texts: list[str] | None = None) -> np.ndarray:
        """Probabilities mapped so that each label's threshold lands on 0.5 (piecewise linear): one scale for
        every label, whatever its base rate. With `texts` and char heads, a text without Japanese takes the
        blend of the MLPs and the char n-gram heads (English char n-grams say nothing of Japanese)."""
        probabilities = self.probabilities(vectors)
        out = calibrate(probabilities, self.thresholds)
        if self.chars is not None and texts is not None:
            from pipelines.kansei.lexicon import has_japanese

            rows = np.flatnonzero([bool(t and t.strip()) and not has_japanese(t) for t in texts])
            if len(rows):
                chars = self.chars.probabilities([texts[row] for row in rows])
                known = ~np.isnan(chars).any(axis=1)
                rows, chars = rows[known], chars[known]
                out[rows] = calibrate(blend(probabilities[rows], chars), self.chars.thresholds)
        return out

    @property
    def embedder(self) -> str:
        return self.manifest["embedder"]["spec"]

    @classmethod
    def load(cls, heads_dir: Path) -> EmotionHeads:
        manifest = json.loads((heads_dir / MANIFEST_FILE).read_text("utf-8"))
        with np.load(heads_dir / WEIGHTS_FILE) as z:
            weights = [[z[f"{name}_{seed}"] for name in ("W1", "b1", "W2", "b2")] for seed in range(manifest["hyper_parameters"]["seeds"])]
            grouping = z["grouping"]
        thresholds = np.array([manifest["thresholds"][label] for label in EKMAN_LABELS])
        chars = CharHeads.load(heads_dir, manifest["char_heads"]) if "char_heads" in manifest else None
        return cls(weights, thresholds, manifest, grouping, chars=chars)


def blend(mlp: np.ndarray, chars: np.ndarray) -> np.ndarray:
    def logit(p):
        p = np.clip(p, 1e-4, 1 - 1e-4)
        return np.log(p / (1 - p))

    return 1.0 / (1.0 + np.exp(-((1 - CHAR_BLEND) * logit(mlp) + CHAR_BLEND * logit(chars))))


@dataclass
class CharHeads:
    """Class-balanced logistic regressions on char 2-5-gram TF-IDF (word-bounded, sublinear, 50,000 n-grams),
    one per Ekman label: what the words look like, where the sentence encoder gives what they mean."""

    vocabulary: np.ndarray  # (features,) str, in column order
    idf: np.ndarray  # (features,)
    coef: np.ndarray  # (features, 7) float32
    intercept: np.ndarray  # (7,)
    thresholds: np.ndarray  # (7,) of the blended probability, tuned on the held-out tenth

    VECTORIZER = {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 3, "sublinear_tf": True, "max_features": 50_000}

    # A text with fewer known n-grams than this ('ＡＢＣ １２３', a bare name) gets NaN: its probabilities would be
    # the intercepts, not evidence.
    MIN_NGRAMS = 10

    def probabilities(self, texts: list[str]) -> np.ndarray:
        features = self._vectorizer().transform(texts)
        logits = np.asarray(features @ self.coef.astype(np.float64)) + self.intercept
        out = 1.0 / (1.0 + np.exp(-logits))
        out[np.diff(features.indptr) < self.MIN_NGRAMS] = np.nan
        return out

    def _vectorizer(self):
        vectorizer = getattr(self, "_fitted", None)
        if vectorizer is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            vectorizer = TfidfVectorizer(**self.VECTORIZER, vocabulary=dict(zip(self.vocabulary.tolist(), range(len(self.vocabulary)), strict=True)))
            vectorizer.idf_ = self.idf
            self._fitted = vectorizer
        return vectorizer

    @classmethod
    def fit(cls, texts: list[str], labels: np.ndarray) -> CharHeads:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        vectorizer = TfidfVectorizer(**cls.VECTORIZER)
        features = vectorizer.fit_transform(texts)
        vocabulary = np.array(sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__))
        coef = np.zeros((len(vocabulary), labels.shape[1]), dtype=np.float32)
        intercept = np.zeros(labels.shape[1])
        for j in range(labels.shape[1]):
            if labels[:, j].min() == labels[:, j].max():  # a label no row (or every row) has: its constant
                intercept[j] = 9.0 if labels[0, j] else -9.0
                continue
            model = LogisticRegression(C=2.0, class_weight="balanced", max_iter=300).fit(features, labels[:, j])
            coef[:, j], intercept[j] = model.coef_[0], model.intercept_[0]
        return cls(vocabulary, vectorizer.idf_.astype(np.float64), coef, intercept, np.full(labels.shape[1], 0.5))

    def save(self, heads_dir: Path) -> None:
        _write_npz(heads_dir / CHARS_FILE, {"vocabulary": self.vocabulary, "idf": self.idf, "coef": self.coef, "intercept": self.intercept})

    @classmethod
    def load(cls, heads_dir: Path, entry: dict) -> CharHeads:
        with np.load(heads_dir / CHARS_FILE) as z:
            arrays = {name: z[name] for name in ("vocabulary", "idf", "coef", "intercept")}
        return cls(**arrays, thresholds=np.array([entry["thresholds"][label] for label in EKMAN_LABELS]))


def train_char_heads(data: LabelledTexts, vectors: np.ndarray, keep: np.ndarray, tune: np.ndarray, heads_dir: Path) -> dict:
    """Fit the char n-gram heads on the embedded rows not in `tune`, tune the blend's thresholds on those in it,
    write them beside the MLPs and add their entry to the manifest."""
    texts = [t for t, k in zip(data.texts, keep, strict=True) if k]
    labels = data.labels[keep]
    heads = EmotionHeads.load(heads_dir)
    chars = CharHeads.fit([t for t, k in zip(texts, tune, strict=True) if not k], labels[~tune])
    probabilities = chars.probabilities([t for t, k in zip(texts, tune, strict=True) if k])
    known = ~np.isnan(probabilities).any(axis=1)  # the rows the blend will be applied to
    blended = blend(heads.probabilities(vectors[tune][known]), probabilities[known])
    thresholds, scores = best_thresholds(blended, labels[tune][known])
    chars.save(heads_dir)
    manifest = json.loads((heads_dir / MANIFEST_FILE).read_text("utf-8"))
    manifest["char_heads"] = {
        "model": "sklearn TfidfVectorizer(char_wb 2-5, min_df 3, sublinear, 50,000 n-grams) + LogisticRegression(C=2, "
        "class-balanced) per Ekman label, blended with the MLPs in log-odds for texts without Japanese",
        "blend": CHAR_BLEND,
        "thresholds": {label: round(float(t), 2) for label, t in zip(EKMAN_LABELS, thresholds, strict=True)},
        "held_out_f1": {label: round(float(s), 4) for label, s in zip(EKMAN_LABELS, scores, strict=True)},
        "held_out_macro_f1": round(float(np.mean(scores)), 4),
        "weights_sha256": file_sha256(heads_dir / CHARS_FILE),
    }
    (heads_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return manifest


def calibrate(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """[0, t] → [0, 0.5] and [t, 1] → [0.5, 1] per label."""
    t = np.clip(thresholds, 1e-6, 1 - 1e-6)
    low = probabilities / t * 0.5
    high = 0.5 + (probabilities - t) / (1 - t) * 0.5
    return np.where(probabilities < t, low, high)


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez, but with fixed zip timestamps so that equal arrays give equal bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data.getvalue())
    path.write_bytes(buffer.getvalue())


def fit_heads(
    vectors: np.ndarray, targets: np.ndarray, labels: np.ndarray, grouping: np.ndarray | None, tune: np.ndarray, params: HeadParams
) -> tuple[EmotionHeads, np.ndarray]:
    """MLPs fitted on `targets` (fine labels) of the rows not in `tune`, Ekman thresholds tuned on those in it;
    the heads and the held-out F1 per Ekman label."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    weights = []
    for seed in range(params.seed, params.seed + params.seeds):
        model = MLPClassifier(
            hidden_layer_sizes=(params.hidden,),
            alpha=params.alpha,
            learning_rate_init=params.learning_rate,
            max_iter=params.max_iter,
            batch_size=params.batch_size,
            early_stopping=False,
            shuffle=True,
            random_state=seed,
        )
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(vectors[~tune], targets[~tune])
        weights.append([a.astype(np.float32) for a in (model.coefs_[0], model.intercepts_[0], model.coefs_[1], model.intercepts_[1])])
    heads = EmotionHeads(weights, np.full(len(EKMAN_LABELS), 0.5), {}, grouping)
    thresholds, scores = best_thresholds(heads.probabilities(vectors[tune]), labels[tune])
    heads.thresholds = thresholds
    return heads, scores


def train_heads(
    train_tsv: Path,
    ekman_mapping: Path,
    embedder,
    cache,
    out_dir: Path,
    taxonomy_version: str,
    params: HeadParams = HeadParams(),
) -> dict:
    """Train, write `ekman.npz` and `ekman.manifest.json` under out_dir, return the manifest."""
    from pipelines.kansei.embedders import embed_texts

    data = load_goemotions(train_tsv, ekman_mapping)
    embedded = embed_texts(embedder, data.texts, cache)
    keep = np.array([reason is None for reason in embedded.reasons])
    vectors, labels = embedded.vectors[keep], data.labels[keep]
    tune = held_out([i for i, k in zip(data.ids, keep, strict=True) if k], params.held_out_per_mille)
    heads, scores = fit_heads(vectors, data.fine[keep], labels, data.grouping, tune, params)
    thresholds = heads.thresholds
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = {"grouping": data.grouping}
    for seed, weights in enumerate(heads.weights):
        arrays |= {f"{name}_{seed}": array for name, array in zip(("W1", "b1", "W2", "b2"), weights, strict=True)}
    _write_npz(out_dir / WEIGHTS_FILE, arrays)
    manifest = {
        "heads": "ekman-7",
        "labels": list(EKMAN_LABELS),
        "training_data": {
            "file": train_tsv.name,
            "sha256": file_sha256(train_tsv),
            "ekman_mapping_sha256": file_sha256(ekman_mapping),
            "rows": int(len(data.texts)),
            "rows_embedded": int(keep.sum()),
            "held_out_rows": int(tune.sum()),
        },
        "embedder": {"spec": embedder.spec, "model_id": embedder.model_id, "dim": int(embedder.dim)},
        "taxonomy_version": taxonomy_version,
        "model": "sklearn.neural_network.MLPClassifier on the 28 GoEmotions labels (one ReLU hidden layer, logistic "
        "outputs), seeds averaged; Ekman = min(1, sum of its GoEmotions labels)",
        "hyper_parameters": params.as_dict(),
        "thresholds": {label: round(float(t), 2) for label, t in zip(EKMAN_LABELS, thresholds, strict=True)},
        "held_out_f1": {label: round(float(s), 4) for label, s in zip(EKMAN_LABELS, scores, strict=True)},
        "held_out_macro_f1": round(float(np.mean(scores)), 4),
        "weights_sha256": file_sha256(out_dir / WEIGHTS_FILE),
    }
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return train_char_heads(data, embedded.vectors[keep], keep, tune, out_dir)
