"""Which language an article is written in, bucketed as ja / en / other, with py3langid (langid.py's model).

Short or ambiguous texts (a headline alone, a title in kanji only) fool any detector; when the detector is
unsure, the language the source or the publisher declares is used instead and the article says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

# The detector reads this many characters of title + body: enough to be sure, cheap on long articles.
SAMPLE_CHARS = 80
MIN_CONFIDENCE = 0.6
BUCKETS = ("ja", "en")
_KANA = re.compile(r"[\u3041-\u309f\u30a0-\u30ff\uff66-\uff9f]")


@dataclass(frozen=True)
class LanguageGuess:
    language: str  # ja, en or other
    detected: str | None  # the detector's ISO 639-1 code
    confidence: float | None  # the detector's normalised probability for it
    from_declaration: bool  # True when the detector was unsure and the declared language was used


@cache
def language_model():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def bucket(code: str | None) -> str | None:
    """'ja-JP', 'JA', 'en_GB' → ja / en; any other language → other; nothing → None."""
    if not code or not code.strip():
        return None
    primary = code.strip().replace("_", "-").split("-")[0].casefold()
    return primary if primary in BUCKETS else "other"


def detect_language(text: str, declared: str | None = None) -> LanguageGuess:
    """ja / en / other for a text; `declared` (the source's or the publisher's language) breaks ties."""
    sample = " ".join(text[:SAMPLE_CHARS].split())
    fallback = bucket(declared)
    if not sample:
        return LanguageGuess(fallback or "other", None, None, fallback is not None)
    detected, confidence = language_model().classify(sample)
    confidence = round(float(confidence), 4)
    if detected == "zh" and _KANA.search(sample):
        # Kanji-heavy Japanese reads as Chinese to a byte n-gram model; Chinese is never written in kana.
        detected = "ja"
    if confidence < MIN_CONFIDENCE and fallback is not None:
        return LanguageGuess(fallback, detected, confidence, True)
    return LanguageGuess(bucket(detected) or "other", detected, confidence, False)
