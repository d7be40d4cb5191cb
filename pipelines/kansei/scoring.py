"""One calibrated kansei weight (0-100) per tag, fused from signals that each speak a probability.

Signals, each first brought to one scale where 0.5 means "this signal alone would tag it":

- **head**: the Ekman-7 heads (`heads.py`) for the tags whose taxonomy entry maps Ekman labels; the head's
  probability is calibrated so that the label's threshold tuned on held-out GoEmotions lands on 0.5; each
  label speaks for one tag per text, the one of the tags mapping it whose exemplars the text is nearest;
- **exemplar**: cosine of the text to the tag's exemplar phrases (en + ja, best one), z-scored against a
  reference corpus (the exemplars of every other tag: what an unrelated phrase scores) and passed through a
  logistic with its midpoint at `exemplar_z_mid` standard deviations; where another signal speaks for the tag
  it only adds (being far from every exemplar says nothing a head, tuned on its own, or a lemma did not);
- **lexicon**: Japanese lexicon hits (SudachiPy lemmas); the summed weight w of the tag's hits gives
  1 - 0.5^(1 + w / lexicon_unit) (one hit of weight 1: 0.75), and a negated hit (悲しくない) counts against the tag, never for it;
- **mead**: a MEAD mood the rights-holder delivered that the tag maps.

The fused weight is 100 · sigmoid(Σ wᵢ · logit(pᵢ)) over the signals present for the tag (a signal that does
not apply is absent, not zero), so agreeing signals reinforce each other and one strong signal is not drowned
by the absence of the others. Then at most `max_per_type` tags per type are kept, those under `min_weight` are
dropped (a text none reaches keeps its best tag if at least `floor_weight`), and the heaviest tag is the
primary one. Each tag carries its per-signal scores and its evidence: what contributed most (the exemplar
phrase, the lemma as written, or the head's label). A long text is also scored sentence by sentence (see
`KanseiScorer.score`); where its sentences weigh more than the whole, the evidence is the best sentence. Pure numpy on sorted inputs: same inputs, same output.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, Field
from threadpoolctl import threadpool_limits

from pipelines.kansei.heads import EKMAN_LABELS, EmotionHeads

NO_TAG = "no tag above threshold"
EVIDENCE_CHARS = 200  # a sentence given as evidence is cut here
_SENTENCE_END = re.compile(r"(?<=[。．！？!?\n])|(?<=\.)\s")
SIGNALS = ("exemplar", "head", "lexicon", "lexicon:negated", "mead")
MEAD_PROBABILITY = 0.9  # a delivered MEAD mood the tag maps
_EPS = 1e-4


class SignalWeights(BaseModel):
    head: float = 1.0
    exemplar: float = 0.8
    lexicon: float = 3.0
    mead: float = 1.5


class ScoringSettings(BaseModel):
    """models/kansei/scoring.yaml."""

    version: str = "0"
    embedder: str = Field(default="use:multilingual-v3", description="Model of the exemplar signal and the heads' input.")
    heads_dir: str = Field(default="kansei/heads", description="Under models/: the trained heads and their manifest.")
    max_per_type: int = 3
    min_weight: float = Field(default=50.0, description="Tags below this weight are dropped.")
    floor_weight: float = Field(default=25.0, description="A text no tag reaches min_weight for keeps its best tag down to this.")
    exemplar_z_mid: float = Field(default=2.5, description="z-score of exemplar similarity that maps to 0.5.")
    exemplar_z_scale: float = Field(default=0.75, description="z-score units per unit of log-odds.")
    lexicon_unit: float = Field(default=1.0, description="Summed lexicon weight that halves the remaining doubt (1: 0.75).")
    negated_lexicon: float = Field(default=0.25, description="Probability a negated hit stands for (evidence against).")
    sentence_min_chars: int = Field(default=300, description="Longer texts are also scored sentence by sentence.")
    sentence_top: int = Field(default=2, description="A long text's sentence weight of a tag: the mean of its best this many.")
    max_sentences: int = Field(default=48, description="Sentences of a long text scored (the first ones).")
    weights: SignalWeights = SignalWeights()


@cache
def load_scoring_settings(models_dir: Path) -> ScoringSettings:
    path = models_dir / "kansei" / "scoring.yaml"
    return ScoringSettings.model_validate(yaml.safe_load(path.read_text("utf-8"))) if path.exists() else ScoringSettings()


def logit(p: np.ndarray | float) -> np.ndarray | float:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


@dataclass
class TagScore:
    tag_id: str
    type: str
    weight: float  # 0-100, one decimal
    signals: dict[str, float]  # signal -> its calibrated probability (0-1)
    evidence: str  # the exemplar, lemma or head label that contributed most
    evidence_signal: str
    rank: int = 0  # 1 = heaviest of the item
    is_primary: bool = False


@dataclass
class Fused:
    """The (texts x tags) matrices of `KanseiScorer._fuse`."""

    fused: np.ndarray  # weight 0-100, one decimal
    strongest: np.ndarray  # index into SIGNALS of the signal that contributed most
    similarity: np.ndarray  # (texts, phrases) cosine to each exemplar phrase (`KanseiScorer.nearest_phrases`)
    head_label: np.ndarray  # the Ekman label the head spoke with
    raw: np.ndarray  # (signals, texts, tags) calibrated probability of each signal
    present: np.ndarray  # (signals, texts, tags) whether the signal speaks
    eligible: np.ndarray  # not negated without being named
    surfaces: dict[tuple[int, int], str]  # lexicon hit as written
    mead_value: dict[tuple[int, int], str]


def sentences(text: str, settings: ScoringSettings) -> list[str]:
    """A long text's sentences (cut at 。！？!? and line breaks, and at a period before a space), those with a
    letter or digit, the first `max_sentences`; [] for a text of at most `sentence_min_chars` characters."""
    from pipelines.kansei.embedders import untaggable_reason

    if len(text) <= settings.sentence_min_chars:
        return []
    parts = (part.strip() for part in _SENTENCE_END.split(text))
    return [part for part in parts if part and untaggable_reason(part) is None][: settings.max_sentences]


@dataclass
class ItemTags:
    tags: list[TagScore] = field(default_factory=list)
    untaggable_reason: str | None = None


def lexicon_evidence(hits: Sequence) -> dict[str, tuple[float, float, str]]:
    """tag_id -> (weight of non-negated hits, weight of negated hits, the best non-negated hit as written).

    Reads h11content's `LexiconHit`s (tag_id, weight, lemma, surface, negated) and the older tag_id -> weight
    mapping alike."""
    if not hits:
        return {}
    if isinstance(hits, dict):
        return {tag_id: (float(w), 0.0, tag_id) for tag_id, w in hits.items()}
    out: dict[str, list] = {}
    for hit in sorted(hits, key=lambda h: (h.tag_id, -h.weight, h.lemma, h.surface)):
        entry = out.setdefault(hit.tag_id, [0.0, 0.0, "", -1.0])
        if hit.negated:
            entry[1] += hit.weight
        else:
            entry[0] += hit.weight
            if hit.weight > entry[3]:
                entry[2], entry[3] = hit.surface or hit.lemma, hit.weight
    return {tag_id: (e[0], e[1], e[2]) for tag_id, e in out.items()}


class KanseiScorer:
    """Scores texts against a taxonomy; built once per run (it embeds the exemplars and the reference corpus)."""

    workers = 1  # processes that encode a large batch of sentences (`embedders.encode_in_parallel`); set per night

    def __init__(self, taxonomy, embedder, settings: ScoringSettings, heads: EmotionHeads | None = None, lexicon=None, cache=None):
        from pipelines.kansei.embedders import embed_texts

        self.taxonomy, self.embedder, self.settings, self.heads, self.lexicon, self.cache = taxonomy, embedder, settings, heads, lexicon, cache
        if heads is not None and heads.manifest.get("embedder", {}).get("model_id") not in (None, embedder.model_id):
            raise ValueError(f"heads were trained on {heads.manifest['embedder']['model_id']}, the scorer embeds with {embedder.model_id}")
        self.tags = list(taxonomy.tags)
        self.tag_index = {t.id: i for i, t in enumerate(self.tags)}
        self.tag_types = [t.type if hasattr(t, "type") else t.facet for t in self.tags]
        phrases: list[str] = []
        owners: list[int] = []
        for i, tag in enumerate(self.tags):
            for phrase in (*getattr(tag, "exemplars_en", ()), *getattr(tag, "exemplars_ja", ())) or (tag.description,):
                phrases.append(phrase)
                owners.append(i)
        self.phrases, self.phrase_owner = phrases, np.array(owners)
        self.phrase_starts = np.searchsorted(self.phrase_owner, np.arange(len(self.tags)))  # owners ascend
        self.phrase_vectors = embed_texts(embedder, phrases, cache).vectors
        # Reference: each tag's best similarity over the exemplars of the other tags.
        with threadpool_limits(1):
            similarity = self.phrase_vectors @ self.phrase_vectors.T
        # (phrases, tags): each phrase's best similarity to each tag's exemplars (phrases are grouped by tag)
        best_of_tag = np.maximum.reduceat(similarity, self.phrase_starts, axis=1)
        self.ref_mean = np.zeros(len(self.tags))
        self.ref_std = np.ones(len(self.tags))
        for i in range(len(self.tags)):
            best = best_of_tag[self.phrase_owner != i, i]
            self.ref_mean[i], self.ref_std[i] = best.mean(), max(best.std(), 1e-3)
        self.mead_of = [(t, tuple(tag.mead_moods)) for t, tag in enumerate(self.tags) if getattr(tag, "mead_moods", ())]
        self.ekman_of = {t.id: [EKMAN_LABELS.index(e) for e in getattr(t, "ekman", ()) if e in EKMAN_LABELS] for t in self.tags}

    # -- signals ------------------------------------------------------------------------------------------
    def exemplar_signal(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, tags) calibrated exemplar probabilities, and (n, tags) index of the best phrase."""
        probability, similarity = self._exemplar(vectors)
        rows, columns = np.indices(probability.shape).reshape(2, -1)
        return probability, self.nearest_phrases(similarity, rows, columns).reshape(probability.shape)

    def _exemplar(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, tags) calibrated exemplar probabilities, and the (n, phrases) similarities they come from."""
        similarity = vectors @ self.phrase_vectors.T
        # Phrases are grouped by tag (in tag order): the best of each group.
        best = np.maximum.reduceat(similarity, self.phrase_starts, axis=1)
        z = (best - self.ref_mean) / self.ref_std
        return sigmoid((z - self.settings.exemplar_z_mid) / self.settings.exemplar_z_scale), similarity

    def nearest_phrases(self, similarity: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """For each (text rows[i], tag columns[i]): the index of the tag's exemplar phrase the text is nearest (the
        first of them on a tie). Asked only of the tags a text keeps: the whole (texts x tags) matrix cost more
        than the rest of the exemplar signal."""
        ends = np.append(self.phrase_starts[1:], len(self.phrases))
        starts, width = self.phrase_starts[columns], int((ends - self.phrase_starts).max(initial=1))
        phrase = starts[:, None] + np.arange(width)
        inside = phrase < ends[columns][:, None]
        values = np.where(inside, similarity[rows[:, None], np.where(inside, phrase, starts[:, None])], -np.inf)
        return starts + np.argmax(values, axis=1)

    def lexicon_signal(self, texts: list[str], hits: list | None = None) -> list[dict[str, tuple[float | None, float, str]]]:
        """Per text: tag_id -> (probability of the non-negated hits or None, negated weight, surface). `hits`:
        the texts' lexicon hits when the caller has them, else matched here."""
        if hits is None:
            if self.lexicon is None:
                return [{} for _ in texts]
            from pipelines.kansei.lexicon import lexicon_hits

            hits = [lexicon_hits(text, self.lexicon) for text in texts]
        unit = self.settings.lexicon_unit
        out = []
        for text_hits in hits:
            evidence = lexicon_evidence(text_hits)
            out.append({tag: ((1 - 0.5 ** (1 + w / unit)) if w > 0 else None, neg, surface) for tag, (w, neg, surface) in evidence.items()})
        return out

    # -- emotion (Ekman-7), shared by the tag scoring and `msdb kansei eval` ------------------------------
    def ekman_scores(self, texts: list[str], vectors: np.ndarray, hits: list | None = None) -> np.ndarray:
        """(n, 7) fused Ekman-7 probabilities, by the rules of `score` for an emotion tag: the heads, plus the
        exemplar similarity (only where it adds) and the lexicon hits of the tags mapping each label; a text
        with a non-negated emotion hit is that much less neutral."""
        weights = self.settings.weights
        head = self.heads.calibrated(vectors, texts) if self.heads is not None else np.full((len(texts), 7), 0.5)
        total = weights.head * logit(head)
        exemplar, _ = self._exemplar(vectors)
        for label in range(7):
            tags = [self.tag_index[tag_id] for tag_id, labels in self.ekman_of.items() if label in labels]
            if tags:
                total[:, label] += weights.exemplar * np.maximum(logit(exemplar[:, tags].max(axis=1)), 0.0)
        neutral = EKMAN_LABELS.index("neutral")
        against = float(logit(self.settings.negated_lexicon))
        for row, found in enumerate(self.lexicon_signal(texts, hits)):
            per_label: dict[int, list[float]] = {}
            for tag_id, (p, negated, _) in sorted(found.items()):
                for label in self.ekman_of.get(tag_id, ()):
                    if p is not None:
                        per_label.setdefault(label, []).append(float(logit(p)))
                    if negated > 0:
                        per_label.setdefault(label, []).append(against)
            for label, values in per_label.items():
                # several tags of one label are one piece of evidence: the strongest
                total[row, label] += weights.lexicon * max(values, key=abs)
            if any(v > 0 for label, values in per_label.items() if label != neutral for v in values):
                total[row, neutral] += weights.lexicon * against
        return sigmoid(total)

    @staticmethod
    def ekman_predictions(scores: np.ndarray) -> np.ndarray:
        """Labels at or above 0.5, and the best one where none is (every text has at least one)."""
        predicted = scores >= 0.5
        none = ~predicted.any(axis=1)
        predicted[none, np.argmax(scores[none], axis=1)] = True
        return predicted

    # -- tags ----------------------------------------------------------------------------------------------
    def _fuse(self, texts: list[str], vectors: np.ndarray, mead_moods: list[list[str]] | None, hits: list | None) -> Fused:
        """The signals of each (text, tag) and their fused weight, as (texts x tags) matrices."""
        n, count = len(texts), len(self.tags)
        exemplar, similarity = self._exemplar(vectors)
        weights = self.settings.weights
        # (signal, probability, present): each (n, tags)
        head_p = np.full((n, count), 0.5)
        head_label = np.zeros((n, count), dtype=np.int64)
        head_on = np.zeros((n, count), dtype=bool)
        if self.heads is not None:
            head = self.heads.calibrated(vectors, texts)
            for t, tag in enumerate(self.tags):
                labels = self.ekman_of[tag.id]
                if labels:
                    part = head[:, labels]
                    best = np.argmax(part, axis=1)
                    head_p[:, t] = part[np.arange(n), best]
                    head_label[:, t] = np.asarray(labels)[best]
                    head_on[:, t] = True
            # An Ekman label speaks for one tag per text: of the tags mapping it, the one nearest its exemplars
            # (joy is not at once admiration, amusement, bliss and confidence).
            chosen = np.zeros((n, count), dtype=bool)
            for label in range(len(EKMAN_LABELS)):
                tags = np.asarray([self.tag_index[tag_id] for tag_id, labels in self.ekman_of.items() if label in labels], dtype=np.int64)
                if len(tags):
                    chosen[np.arange(n), tags[np.argmax(exemplar[:, tags], axis=1)]] = True
            head_on &= chosen
        lexicon_p = np.full((n, count), 0.5)
        lexicon_on = np.zeros((n, count), dtype=bool)
        negated_on = np.zeros((n, count), dtype=bool)
        surfaces: dict[tuple[int, int], str] = {}
        for row, found in enumerate(self.lexicon_signal(texts, hits)):
            for tag_id, (p, negated, surface) in found.items():
                t = self.tag_index.get(tag_id)
                if t is None:
                    continue
                if p is not None:
                    lexicon_p[row, t], lexicon_on[row, t] = p, True
                    surfaces[row, t] = surface
                negated_on[row, t] = negated > 0
        mead_on = np.zeros((n, count), dtype=bool)
        mead_value: dict[tuple[int, int], str] = {}
        for row, moods in enumerate(mead_moods or ()):
            if not moods:
                continue
            folded = {m.casefold() for m in moods}
            for t, mapped in self.mead_of:
                found = [m for m in mapped if m.casefold() in folded]
                if found:
                    mead_on[row, t] = True
                    mead_value[row, t] = found[0]
        # Where another signal speaks, being far from every exemplar says nothing it did not (a head was tuned
        # alone, a lemma is in the text); being near one still adds.
        others = head_on | lexicon_on | negated_on | mead_on
        exemplar_used = np.where(others, np.maximum(exemplar, 0.5), exemplar)
        contributions = np.stack(  # in the order of SIGNALS
            [
                weights.exemplar * logit(exemplar_used),
                np.where(head_on, weights.head * logit(head_p), -np.inf),
                np.where(lexicon_on, weights.lexicon * logit(lexicon_p), -np.inf),
                np.where(negated_on, weights.lexicon * logit(self.settings.negated_lexicon), -np.inf),
                np.where(mead_on, weights.mead * logit(MEAD_PROBABILITY), -np.inf),
            ]
        )
        total = np.where(np.isfinite(contributions), contributions, 0.0).sum(axis=0)
        fused = np.round(100.0 * sigmoid(total), 1)
        strongest = np.argmax(contributions, axis=0)
        present = np.stack([np.ones((n, count), dtype=bool), head_on, lexicon_on, negated_on, mead_on])
        raw = np.stack([exemplar, head_p, lexicon_p, np.full((n, count), self.settings.negated_lexicon), np.full((n, count), MEAD_PROBABILITY)])
        # a tag the text negates (悲しくない) and does not otherwise name in the lexicon is never kept
        eligible = ~(negated_on & ~lexicon_on)
        return Fused(fused, strongest, similarity, head_label, raw, present, eligible, surfaces, mead_value)

    def score(
        self,
        texts: list[str],
        vectors: np.ndarray | None = None,
        mead_moods: list[list[str]] | None = None,
        hits: list | None = None,
        reasons: list[str | None] | None = None,
    ) -> list[ItemTags]:
        """Tags of each text (see the module docstring). `vectors`: the texts' embeddings by this scorer's
        embedder, when the caller has them; `mead_moods`: the MEAD moods a rights-holder delivered per text;
        `hits`: the texts' lexicon hits, when the caller has them. Signals and their sum are computed as
        (texts x tags) matrices; only the tags that can be kept are looked at one by one.

        A long text (an article: more than `sentence_min_chars` characters, at least two sentences) is also
        scored sentence by sentence: a tag's weight is the larger of the whole text's and the mean of its
        `sentence_top` best sentences' (one sad paragraph is not diluted by ten neutral ones), and where the
        sentences win, the evidence is the best sentence and the signals are its. `reasons`: the texts'
        untaggable reasons (`embed_texts` gives them), when the caller has them.

        The matrix products run on one BLAS thread: on shared cores a second one costs more CPU than it saves."""
        from pipelines.kansei.embedders import embed_texts, untaggable_reason

        if vectors is None:
            embedded = embed_texts(self.embedder, texts, self.cache)
            vectors, reasons = embedded.vectors, embedded.reasons
        with threadpool_limits(1):
            return self._score(texts, vectors, mead_moods, hits, reasons or [untaggable_reason(text) for text in texts])

    def _score(self, texts, vectors, mead_moods, hits, reasons) -> list[ItemTags]:
        from pipelines.kansei.embedders import embed_texts

        n = len(texts)
        f = self._fuse(texts, vectors, mead_moods, hits)
        fused, strongest, head_label, raw, present, surfaces = f.fused, f.strongest, f.head_label, f.raw, f.present, f.surfaces
        sentence_evidence: dict[tuple[int, int], str] = {}
        long = [(row, sentences(text, self.settings)) for row, text in enumerate(texts) if reasons[row] is None]
        long = [(row, parts) for row, parts in long if len(parts) >= 2]
        if long:
            flat = [part for _, parts in long for part in parts]
            g = self._fuse(flat, embed_texts(self.embedder, flat, self.cache, workers=self.workers).vectors, None, None)
            fused, strongest, head_label, raw, present = fused.copy(), strongest.copy(), head_label.copy(), raw.copy(), present.copy()
            surfaces = dict(surfaces)
            offset = 0
            for row, parts in long:
                block = g.fused[offset : offset + len(parts)]
                top = np.sort(block, axis=0)[-min(self.settings.sentence_top, len(parts)) :]
                aggregate = np.round(top.mean(axis=0), 1)
                best = offset + np.argmax(block, axis=0)
                for t in np.flatnonzero(aggregate > fused[row]).tolist():
                    s = int(best[t])
                    fused[row, t] = aggregate[t]
                    # (the evidence is the sentence: the nearest phrase and the head's label are not asked)
                    strongest[row, t], head_label[row, t] = g.strongest[s, t], g.head_label[s, t]
                    raw[:, row, t], present[:, row, t] = g.raw[:, s, t], g.present[:, s, t]
                    surfaces[row, t] = g.surfaces.get((s, t), "")
                    sentence_evidence[row, t] = flat[s][:EVIDENCE_CHARS]
                offset += len(parts)
        floor = min(self.settings.min_weight, self.settings.floor_weight)
        eligible, mead_value = f.eligible, f.mead_value
        # The candidates of every row at once (row by row, tags in taxonomy order), read out as Python values.
        keep = eligible & (fused >= floor)
        keep[[row for row in range(n) if reasons[row] is not None]] = False
        # A tag under min_weight is only ever kept by a text none reaches it for (see _select): elsewhere it is
        # not made into a candidate at all.
        strong = keep & (fused >= self.settings.min_weight)
        keep = strong | (keep & ~strong.any(axis=1, keepdims=True))
        rows, columns = np.nonzero(keep)
        candidates: list[list[TagScore]] = [[] for _ in range(n)]
        for row, t, weight, signal, phrase, label, values, shown in zip(
            rows.tolist(), columns.tolist(), fused[rows, columns].tolist(), strongest[rows, columns].tolist(),
            self.nearest_phrases(f.similarity, rows, columns).tolist(), head_label[rows, columns].tolist(), raw[:, rows, columns].T.tolist(),
            present[:, rows, columns].T.tolist(), strict=True,
        ):  # fmt: skip
            if (row, t) in sentence_evidence:
                evidence = sentence_evidence[row, t]
            elif signal == 0:
                evidence = self.phrases[phrase]
            elif signal == 1:
                evidence = f"head:{EKMAN_LABELS[label]}"
            elif signal == 2:
                evidence = surfaces.get((row, t), "")
            elif signal == 3:
                evidence = "negated"
            else:
                evidence = f"mead:{mead_value.get((row, t), '')}"
            signals = {SIGNALS[k]: round(values[k], 4) for k in range(len(SIGNALS)) if shown[k]}
            candidates[row].append(TagScore(self.tags[t].id, self.tag_types[t], weight, signals, evidence, SIGNALS[signal]))
        return [ItemTags([], reasons[row]) if reasons[row] is not None else self._select(candidates[row]) for row in range(n)]

    def dense_vectors(self, items: list[ItemTags]) -> np.ndarray:
        """(n, tags) float32: each item's kept tags' weights / 100 in taxonomy order, zero elsewhere (the kansei
        vector of an item, for similarity); an untaggable item's row is zero."""
        out = np.zeros((len(items), len(self.tags)), dtype=np.float32)
        for row, item in enumerate(items):
            for tag in item.tags:
                out[row, self.tag_index[tag.tag_id]] = tag.weight / 100.0
        return out

    def _select(self, candidates: list[TagScore]) -> ItemTags:
        settings = self.settings
        ordered = sorted(candidates, key=lambda t: (-t.weight, t.tag_id))
        kept: list[TagScore] = []
        per_type: dict[str, int] = {}
        for tag in ordered:
            if tag.weight < settings.min_weight or per_type.get(tag.type, 0) >= settings.max_per_type:
                continue
            per_type[tag.type] = per_type.get(tag.type, 0) + 1
            kept.append(tag)
        if not kept and ordered and ordered[0].weight >= settings.floor_weight:
            kept = [ordered[0]]
        if not kept:
            return ItemTags([], NO_TAG)
        for rank, tag in enumerate(kept, 1):
            tag.rank, tag.is_primary = rank, rank == 1
        return ItemTags(kept, None)


def embedding_cache_dir(var_dir: Path) -> Path:
    """Where the tag stage and the `embed` shard tasks keep text vectors: one folder for both, shared storage when
    they run on several hosts."""
    return var_dir / "kansei" / "embeddings"


def build_scorer(models_dir: Path, var_dir: Path, taxonomy=None, lexicon=None, with_heads: bool = True) -> KanseiScorer:
    """The scorer the tag stage and `msdb kansei eval` use: settings, embedder, heads and lexicon of models/."""
    from pipelines.kansei.config import load_lexicon, load_taxonomy
    from pipelines.kansei.embedders import EmbeddingCache, get_embedder

    settings = load_scoring_settings(models_dir)
    embedder = get_embedder(settings.embedder)
    cache = EmbeddingCache(embedding_cache_dir(var_dir), embedder.model_id, embedder.dim)
    heads_dir = models_dir / settings.heads_dir
    heads = EmotionHeads.load(heads_dir) if with_heads and (heads_dir / "ekman.manifest.json").exists() else None
    taxonomy = taxonomy or load_taxonomy(models_dir)
    lexicon = lexicon if lexicon is not None else load_lexicon(models_dir)
    return KanseiScorer(taxonomy, embedder, settings, heads, lexicon, cache)
