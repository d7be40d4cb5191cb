"""Shift_JIS-family declarations (Windows-31J, MS932, CP932, Shift_JIS, SJIS, x-sjis) load, and the same title
read from any of them or from UTF-8 is stored as the same text with the same match key."""

from __future__ import annotations

import json

import pytest

from pipelines.ingest import xmlsafe
from pipelines.ingest.records import RejectedFile
from tests.ingest.ern_messages import ern382, shift_jis_bytes

# A title with every character on which the CP932 and JIS mappings of Shift_JIS bytes disagree (written with
# the JIS code points, as a UTF-8 sender on a Mac or Linux would), plus two CP932-only characters.
TITLE_JIS = "月〜星 −1‖¢£¬―①髙"
# The same title as a Windows program writes it after reading CP932 (～ － ∥ ￠ ￡ ￢), with an em dash — for ―.
TITLE_CP932 = "月～星 －1∥￠￡￢—①髙"
SHIFT_JIS_NAMES = ("Windows-31J", "MS932", "CP932", "Shift_JIS", "SJIS", "x-sjis")


@pytest.fixture
def encodings_run(landing, ingest):
    landing.holder("tsukiyo", "music")
    landing.write("music", "tsukiyo", "utf8.xml", ern382("ENC-UTF8", title_ja=TITLE_JIS))
    landing.write("music", "tsukiyo", "utf8_cp932_forms.xml", ern382("ENC-WIN", title_ja=TITLE_CP932))
    for name in SHIFT_JIS_NAMES:
        message = ern382(f"ENC-{name}", title_ja=TITLE_JIS, encoding=name)
        landing.write("music", "tsukiyo", f"{name}.xml", shift_jis_bytes(message))
    return ingest(landing)


@pytest.mark.parametrize("name", SHIFT_JIS_NAMES)
def test_shift_jis_family_declarations_load(encodings_run, name):
    assert encodings_run.file(f"/{name}.xml") == ("loaded", 4, 4, 0, "ddex-ern-3.8.2")
    assert encodings_run.reasons(f"/{name}.xml") == []


def test_same_title_same_text_and_key_from_shift_jis_and_utf8(encodings_run):
    rows = encodings_run.rows(
        "SELECT file_path, titles, title_match_key FROM raw.ddex_resources ORDER BY file_path"
    )
    assert len(rows) == 2 + len(SHIFT_JIS_NAMES)
    stored = {path: [t["text"] for t in json.loads(titles)] for path, titles, _key in rows}
    keys = {path: [t["match_key"] for t in json.loads(titles)] for path, titles, _key in rows}
    for name in SHIFT_JIS_NAMES:
        assert stored[f"music/tsukiyo/{name}.xml"] == ["Tsuki no Uta", TITLE_JIS]
    assert stored["music/tsukiyo/utf8.xml"] == ["Tsuki no Uta", TITLE_JIS]
    assert stored["music/tsukiyo/utf8_cp932_forms.xml"] == ["Tsuki no Uta", TITLE_CP932]  # as delivered
    assert {tuple(k) for k in keys.values()} == {("tsuki no uta", "月~星 -1‖¢£¬-1髙")}
    releases = encodings_run.rows("SELECT DISTINCT title, title_match_key FROM raw.ddex_releases")
    assert sorted(releases) == [(TITLE_JIS, "月~星 -1‖¢£¬-1髙"), (TITLE_CP932, "月~星 -1‖¢£¬-1髙")]


def test_bytes_that_are_not_cp932_reject_the_file_with_the_offset(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_bytes(b'<?xml version="1.0" encoding="Windows-31J"?>\n<a>\x82\xa0\x85\x40</a>')
    with pytest.raises(RejectedFile, match=r"not valid Windows-31J \(read as CP932\): byte 50 \(0x85\)"):
        list(xmlsafe.iterparse(path))


def test_large_shift_jis_file_streams_across_chunk_boundaries(tmp_path):
    """A two-byte character split between two reads decodes whole."""
    path = tmp_path / "long.xml"
    body = "月〜星①" * 50_000
    path.write_bytes(b'<?xml version="1.0" encoding="MS932"?>\n<a>' + shift_jis_bytes(body) + b"</a>")
    [(_event, root)] = list(xmlsafe.iterparse(path))
    assert root.text == body
