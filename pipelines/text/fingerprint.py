"""Fingerprints of an article body: an exact one (same text) and a near one (syndicated copy).

Both read the body normalised the same way (NFKC, case-folded, dashes unified, whitespace removed), so a
copy that only differs in full-width digits or line breaks is the same text.

The near fingerprint is a MinHash of the body's character 4-grams (one-permutation hashing into 64 buckets,
densified): the share of equal values between two signatures estimates the Jaccard similarity of their
4-gram sets. A syndicated copy with a credit line added or its punctuation changed stays above
`NEAR_DUPLICATE_JACCARD`; two different livedoor articles of one category stay below 0.3. The warehouse
finds candidate pairs by locality-sensitive hashing on `BANDS` bands of `ROWS` values each.
"""

from __future__ import annotations

import hashlib

from pipelines.text.match_key import match_key

SHINGLE = 4
MINHASH_SIZE = 64
BANDS, ROWS = 16, 4  # BANDS * ROWS == MINHASH_SIZE
NEAR_DUPLICATE_JACCARD = 0.7
_BUCKET_SHIFT = 58  # top 6 bits of a 64-bit hash pick one of 64 buckets
_VALUE_MASK = (1 << _BUCKET_SHIFT) - 1
_PRIME = 1_099_511_628_211  # FNV-1a 64-bit prime, as the polynomial base of the 4-gram hash


def normalized_body(body: str | None) -> str:
    key = match_key(body or "")
    return "".join(key.split()) if key else ""


def content_hash(body: str | None) -> str | None:
    """sha256 of the normalised body, or None for an empty body (an empty body is no fingerprint)."""
    return _sha256(normalized_body(body))


def minhash(body: str | None) -> list[int] | None:
    """64 MinHash values (each below 2**58, so they fit a BIGINT) of the normalised body's character 4-grams;
    None when the body is shorter than one 4-gram."""
    return _minhash(normalized_body(body))


def fingerprints(body: str | None) -> tuple[str | None, list[int] | None]:
    """(content_hash, minhash) of a body, normalising it once."""
    text = normalized_body(body)
    return _sha256(text), _minhash(text)


def _sha256(text: str) -> str | None:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def _minhash(text: str) -> list[int] | None:
    import numpy as np

    if len(text) < SHINGLE:
        return None
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(codes) - SHINGLE + 1
    hashes = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(SHINGLE):
            hashes = hashes * np.uint64(_PRIME) + codes[offset : offset + count]
        hashes = np.sort(_splitmix64(hashes))
    # Sorted hashes are grouped by bucket (their top bits); each bucket's first one is its minimum.
    buckets = np.arange(MINHASH_SIZE, dtype=np.uint64)
    first = np.minimum(np.searchsorted(hashes, buckets << np.uint64(_BUCKET_SHIFT)), count - 1)
    minima = hashes[first]
    present = (minima >> np.uint64(_BUCKET_SHIFT)) == buckets
    values = (minima & np.uint64(_VALUE_MASK)).tolist()
    if present.all():
        return values
    return _densify([value if ok else None for value, ok in zip(values, present.tolist(), strict=True)])


def _densify(values: list[int | None]) -> list[int]:
    """An empty bucket borrows the value of the next non-empty one (circularly), tagged with the distance
    borrowed over, so that short texts still compare bucket by bucket (Shrivastava & Li's densification)."""
    result = []
    for bucket, value in enumerate(values):
        if value is None:
            distance = 1
            while values[(bucket + distance) % MINHASH_SIZE] is None:
                distance += 1
            value = (values[(bucket + distance) % MINHASH_SIZE] + distance * _PRIME) & _VALUE_MASK
        result.append(value)
    return result


def _splitmix64(values):
    """Spread the polynomial hashes over all 64 bits (SplitMix64 finaliser); wrap-around is intended."""
    import numpy as np

    values = values + np.uint64(0x9E3779B97F4A7C15)
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def estimated_jaccard(left: list[int], right: list[int]) -> float:
    """Share of equal MinHash values: an estimate of the two bodies' 4-gram Jaccard similarity."""
    return sum(a == b for a, b in zip(left, right, strict=True)) / MINHASH_SIZE
