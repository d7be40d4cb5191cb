"""Shift_JIS and its Windows superset (CP932, which Japanese systems declare as `Windows-31J` or `MS932`).

Senders label the same bytes with any of these names, and the two mapping tables disagree on a handful of
characters: byte 0x8160 is WAVE DASH U+301C in JIS but FULLWIDTH TILDE U+FF5E in CP932, and so on. Every
declaration of the family is decoded with CP932 (it decodes everything Shift_JIS does, and the NEC/IBM
extensions ①, ㈱, 髙 that Python's shift_jis refuses), then the CP932-only code points are mapped back to the
JIS ones, so the same bytes give the same text whatever name the sender wrote.
"""

from __future__ import annotations

import codecs

# Declared names of the family, lower-cased with '-' as '_'.
SHIFT_JIS_NAMES = frozenset(
    {
        "shift_jis",
        "shift_jisx0213",
        "shiftjis",
        "sjis",
        "s_jis",
        "x_sjis",
        "cp932",
        "ms932",
        "ms_kanji",
        "mskanji",
        "windows_31j",
        "x_ms_cp932",
        "csshiftjis",
        "cswindows31j",
    }
)

# CP932's code point → the JIS X 0208 one for the same bytes (Python's shift_jis codec and Unicode's JIS0208.TXT;
# 0x815C is ― U+2015 in both, although some JIS-based tools write — U+2014: the match key folds those).
CP932_TO_JIS = {
    "\uff5e": "\u301c",  # ～ FULLWIDTH TILDE → 〜 WAVE DASH (0x8160)
    "\u2225": "\u2016",  # ∥ PARALLEL TO → ‖ DOUBLE VERTICAL LINE (0x8161)
    "\uff0d": "\u2212",  # － FULLWIDTH HYPHEN-MINUS → − MINUS SIGN (0x817C)
    "\uffe0": "\u00a2",  # ￠ → ¢ (0x8191)
    "\uffe1": "\u00a3",  # ￡ → £ (0x8192)
    "\uffe2": "\u00ac",  # ￢ → ¬ (0x81CA)
}
_TO_JIS = str.maketrans(CP932_TO_JIS)


def is_shift_jis(name: str | None) -> bool:
    """True for any declared name of the Shift_JIS family (case and '-'/'_' do not matter)."""
    return bool(name) and name.strip().lower().replace("-", "_") in SHIFT_JIS_NAMES


def to_jis(text: str) -> str:
    """CP932-decoded text with the CP932-only code points replaced by the JIS ones."""
    return text.translate(_TO_JIS)


def decode(data: bytes) -> str:
    """Bytes of the Shift_JIS family → text (CP932, JIS code points); UnicodeDecodeError when not."""
    return to_jis(data.decode("cp932"))


def incremental_decoder() -> codecs.IncrementalDecoder:
    """A CP932 decoder that keeps a character split across two reads (apply `to_jis` to what it returns)."""
    return codecs.getincrementaldecoder("cp932")()
