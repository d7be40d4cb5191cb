"""The one match key of titles and names, in Python for ingest and kansei and, the same function, in dbt.

Two spellings of one title share it: NFKC (full/half width, ㈱ → (株)), dashes and wave dashes unified, the
code points that CP932 and JIS map the same Shift_JIS bytes to folded together (～/〜, －/−, ∥/‖, ￠￡￢/¢£¬,
―/—), case-folded, whitespace collapsed. Punctuation is kept: 'Spider-Man' and 'Spider Man' are not merged.
dbt calls this very function as the SQL function `msdb_match_key` (registered by `pipelines.build.dbt_plugin`).
"""

from __future__ import annotations

import re
import unicodedata

# Characters that NFKC leaves as they are (ASCII, kana, kanji, Japanese punctuation and brackets). CPython's
# NFKC is slow on Japanese text, which is never already normalised (full-width ！？（）０-９); only the runs
# of other characters, with the character before each run (a combining mark composes with it), are normalised.
_NFKC_STABLE = (
    "\t\n\r\x20-\x7e\u3001-\u3003\u3005-\u3011\u3014-\u301b\u3041-\u3096\u309d\u309e"
    "\u30a1-\u30fa\u30fc-\u30fe\u4e00-\u9fff"
)
_NFKC_RUN = re.compile(f"[^{_NFKC_STABLE}]+")

# After NFKC: what writers (and the two Shift_JIS mapping tables) use interchangeably. NFKC itself already
# turns ～ into ~, － into -, and ￠￡￢ into ¢£¬.
_FOLDS = str.maketrans(
    {
        "\u301c": "~",  # 〜 WAVE DASH (JIS 0x8160)
        "\u2225": "\u2016",  # ∥ PARALLEL TO (CP932 0x8161) → ‖ DOUBLE VERTICAL LINE (JIS)
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),  # ‐‑‒–—―−
    }
)
_SPACES = re.compile(r"\s+")


def nfkc(text: str) -> str:
    """unicodedata.normalize('NFKC', text), an order of magnitude faster on Japanese text."""
    if text.isascii():
        return text
    pieces: list[str] = []
    done = 0
    for run in _NFKC_RUN.finditer(text):
        start = max(run.start() - 1, done)
        pieces.append(text[done:start])
        pieces.append(unicodedata.normalize("NFKC", text[start : run.end()]))
        done = run.end()
    pieces.append(text[done:])
    return "".join(pieces)


def match_key(text: str | None) -> str | None:
    """'ＴＯＫＹＯ　ﾗｰﾒﾝ〜' and 'tokyo ラーメン～' give 'tokyo ラーメン~'; None for None or blank text."""
    if text is None:
        return None
    if text.isascii():  # NFKC and the folds leave ASCII as it is, and casefold() is lower() on it
        return " ".join(text.lower().split()) or None
    key = nfkc(text).translate(_FOLDS).casefold()
    return _SPACES.sub(" ", key).strip() or None
