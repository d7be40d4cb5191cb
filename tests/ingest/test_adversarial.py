"""Every adversarial delivery ends loaded-as-written or quarantined with a clear reason, and the run goes on."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.ingest.conftest import ADVERSARIAL

QUARANTINED = {  # fixture → words the file-level reason must contain
    "xxe_file_read.xml": "declares entities in its DOCTYPE",
    "billion_laughs.xml": "declares entities in its DOCTYPE",
    "ern43_mislabelled_encoding.xml": "Invalid bytes in character encoding",
    "ern99_unknown_version.xml": "unknown DDEX ERN version: root 'NewReleaseMessage' in namespace 'http://ddex.net/xml/ern/99'",
    "unknown_root.xml": "unknown music XML: root element 'Catalogue' in namespace 'http://example.com/not-ddex/1'",
    "ern43_truncated.xml": "XML breaks off or is malformed",
}


@pytest.fixture
def adversarial_run(landing, ingest):
    landing.holder("tsukiyo", "music").holder("cinema-libre", "video")
    for path in sorted(ADVERSARIAL.glob("ern*.xml")) + [
        ADVERSARIAL / n for n in ("xxe_file_read.xml", "billion_laughs.xml", "unknown_root.xml")
    ]:
        landing.add("music", "tsukiyo", path)
    landing.add("video", "cinema-libre", ADVERSARIAL / "adi11_latin1_doctype.xml")
    return ingest(landing)


@pytest.mark.parametrize("name", sorted(QUARANTINED))
def test_whole_file_quarantined_with_its_reason(adversarial_run, name):
    status, found, loaded, quarantined, _format = adversarial_run.file(name)
    assert (status, loaded) == ("quarantined", 0)
    assert found == quarantined  # reconciliation holds even for a rejected file
    [(location, reason)] = adversarial_run.reasons(name)
    assert location == "file"
    assert QUARANTINED[name] in reason


def test_attacks_were_never_expanded_nor_read(adversarial_run):
    everything = json.dumps(adversarial_run.rows("SELECT * FROM raw.ddex_messages"), default=str)
    assert "root:" not in everything and "lollol" not in everything  # no /etc/passwd line, no expansion
    assert (
        adversarial_run.rows(
            "SELECT file_path FROM raw.ddex_messages WHERE file_path LIKE '%xxe%' OR file_path LIKE '%laughs%'"
        )
        == []
    )


@pytest.mark.parametrize("name", ["ern43_utf8_bom.xml", "ern43_utf16.xml", "ern43_shift_jis.xml"])
def test_encodings_load_with_japanese_intact(adversarial_run, name):
    assert adversarial_run.file(name)[:4] == ("loaded", 4, 4, 0)
    titles = json.loads(
        adversarial_run.one("SELECT titles FROM raw.ddex_resources WHERE file_path LIKE ?", [f"%{name}"])
    )
    assert [t["text"] for t in titles] == ["Tsuki no Uta", "月の歌"]
    assert adversarial_run.one(
        "SELECT excluded_territories FROM raw.ddex_deals WHERE file_path LIKE ?", [f"%{name}"]
    ) == ["KR"]


def test_truncated_file_leaves_no_half_loaded_rows(adversarial_run):
    # the SoundRecording before the break was complete, and was rolled back with the rest of the file
    assert adversarial_run.rows(
        "SELECT count(*) FROM raw.ddex_resources WHERE file_path LIKE '%truncated%'"
    ) == [(0,)]


def test_invalid_identifiers_quarantine_their_records_only(adversarial_run):
    name = "ern43_invalid_ids.xml"
    assert adversarial_run.file(name)[:4] == ("partial", 5, 3, 2)
    assert adversarial_run.reasons(name) == [
        (
            "/NewReleaseMessage/ReleaseList/Release[1]",
            "Release R0: invalid ICPN '4589990300019': The number's checksum or check digit is invalid.",
        ),
        (
            "/NewReleaseMessage/ResourceList/SoundRecording[1]",
            "SoundRecording A1: invalid ISRC 'QQZZ02600001': One of the parts of the number are invalid or unknown.",
        ),
    ]
    assert adversarial_run.one(
        f"SELECT isrc, title FROM raw.ddex_resources WHERE file_path LIKE '%{name}'"
    ) == ("JPZZ02600002", "Hoshi no Uta")


def test_run_goes_on_and_every_file_reconciles(adversarial_run):
    files = adversarial_run.rows(
        "SELECT file_path, records_found, records_loaded, records_quarantined FROM ops.ingest_files"
    )
    assert len(files) == 11
    assert all(found == loaded + quarantined for _, found, loaded, quarantined in files)
    assert adversarial_run.one("SELECT title FROM raw.adi_titles") == "Café Noël à Montréal"


def test_same_file_twice_adds_no_row(landing, ingest, tmp_path):
    landing.holder("tsukiyo", "music")
    landing.add("music", "tsukiyo", ADVERSARIAL / "ern43_utf8_bom.xml")
    copy = tmp_path / "resent.xml"
    shutil.copyfile(ADVERSARIAL / "ern43_utf8_bom.xml", copy)
    landing.add("music", "tsukiyo", copy, name="resent_under_another_name.xml", link=False)
    first = ingest(landing)
    counts = first.one(
        "SELECT (SELECT count(*) FROM raw.ddex_resources), (SELECT count(*) FROM raw.ddex_deals)"
    )
    assert counts == (1, 1)
    assert first.rows("SELECT status FROM ops.ingest_files ORDER BY file_path") == [("loaded",)]
    assert sorted(o.status for o in first.summary.files) == ["loaded", "skipped"]
    again = ingest(landing)
    assert again.one(
        "SELECT (SELECT count(*) FROM raw.ddex_resources), (SELECT count(*) FROM raw.ddex_deals)"
    ) == (1, 1)
    assert {o.status for o in again.summary.files} == {"skipped"}
