"""pipelines/text/match_key.py: the one match key of titles and names."""

from __future__ import annotations

import re

import pytest

from pipelines.text import shift_jis
from pipelines.text.match_key import match_key
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("variants", "key"),
    [
        (("月〜星", "月～星", "月~星"), "月~星"),  # WAVE DASH (JIS) / FULLWIDTH TILDE (CP932)
        (("−5度", "－5度", "-5度"), "-5度"),  # MINUS SIGN (JIS) / FULLWIDTH HYPHEN-MINUS (CP932)
        (("A‖B", "A∥B"), "a‖b"),  # DOUBLE VERTICAL LINE (JIS) / PARALLEL TO (CP932)
        (("¢£¬", "￠￡￢"), "¢£¬"),
        (("夜明け—Live", "夜明け―Live", "夜明け-live"), "夜明け-live"),  # EM DASH / HORIZONTAL BAR
        (("ＴＯＫＹＯ　ﾗｰﾒﾝ〜", "tokyo ラーメン～"), "tokyo ラーメン~"),
        (("Ｔｓｕｋｉ  no\u3000Uta", "tsuki no uta"), "tsuki no uta"),
        (("㈱サクラ・レコード",), "(株)サクラ・レコード"),
    ],
)
def test_cp932_and_jis_spellings_share_one_key(variants, key):
    assert {match_key(v) for v in variants} == {key}


@pytest.mark.parametrize("blank", [None, "", "  \n "])
def test_blank_has_no_key(blank):
    assert match_key(blank) is None


def test_punctuation_is_kept():
    assert match_key("Spider-Man: Home") == "spider-man: home"


def test_there_is_one_match_key_function():
    """Ingest, kansei and dbt share this function; no second implementation creeps back in."""
    from pipelines.text import japanese

    assert japanese.match_key is match_key
    definitions = [
        path.relative_to(REPO).as_posix()
        for path in (REPO / "pipelines").rglob("*.py")
        if re.search(r"^def match_key\b", path.read_text(encoding="utf-8"), re.MULTILINE)
    ]
    assert definitions == ["pipelines/text/match_key.py"]
    macros = "".join(p.read_text(encoding="utf-8") for p in (REPO / "dbt_project" / "macros").glob("*.sql"))
    assert "macro name_key" not in macros
    models = [p.read_text(encoding="utf-8") for p in (REPO / "dbt_project" / "models").rglob("*.sql")]
    assert sum("msdb_match_key(" in m for m in models) >= 5


def test_shift_jis_bytes_decode_to_jis_code_points_under_every_name():
    data = "月〜星−‖¢£¬".encode("shift_jis") + "①髙".encode("cp932")
    assert shift_jis.decode(data) == "月〜星−‖¢£¬①髙"
    assert all(shift_jis.is_shift_jis(n) for n in ("Windows-31J", "MS932", "cp932", "Shift_JIS", "SJIS", "x-sjis"))
    assert not shift_jis.is_shift_jis("EUC-JP") and not shift_jis.is_shift_jis(None)


@pytest.mark.parametrize("declared", ["Windows-31J", "MS932", "Shift_JIS", "x-sjis", None])
def test_pages_in_shift_jis_decode_to_the_same_text_as_xml_deliveries(declared):
    from pipelines.text.html import decode

    decoded = decode(shift_jis_page(), declared)
    assert (decoded.encoding, decoded.text) == ("cp932", "ひらがなの夜明け〜星−1‖¢①")


def shift_jis_page() -> bytes:
    """Shift_JIS bytes of a page text: 0x8160 〜, 0x817C −, 0x8161 ‖, 0x8191 ¢ and the NEC ① (CP932 only)."""
    return "ひらがなの夜明け〜星−1‖¢".encode("shift_jis") + "①".encode("cp932")
