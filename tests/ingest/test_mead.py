"""DDEX MEAD 1.0.1 (pipelines/ingest/mead.py): the four real UMG MEAD messages and hand-written edge cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

EXPECTED = {  # file → (ISRC, title, moods, lyric themes, BPM)
    "MEAD_USUM71804534.xml": (
        "USUM71804534",
        "Two Miles of Bad Road",
        ["Positive", "Dramatic", "Sentimental", "Uplifting"],
        ["Love", "Pain"],
        120.0,
    ),
    "MEAD_USUM71804537.xml": (
        "USUM71804537",
        "Flatbed Hot Tub Party",
        ["Negative", "Positive", "Confident", "Angry", "Exciting"],
        ["Feelings", "Intention", "Cool"],
        None,
    ),
}


@pytest.fixture
def mead_run(shared_data, landing, ingest):
    landing.holder("umg", "music")
    for path in sorted((shared_data / "ddex" / "mead101").glob("MEAD_*.xml")):
        landing.add("music", "umg", path)
    return ingest(landing)


@pytest.mark.real_data
def test_every_real_mead_message_loads(mead_run):
    files = mead_run.rows(
        "SELECT file_path, status, records_found, records_loaded, file_format FROM ops.ingest_files "
        "ORDER BY file_path"
    )
    assert [(f[0].rsplit("/", 1)[1], f[1:]) for f in files] == [
        (f"MEAD_USUM7180453{n}.xml", ("loaded", 1, 1, "ddex-mead-1.0.1")) for n in (4, 5, 6, 7)
    ]
    assert mead_run.rows("SELECT DISTINCT subject_kind, subject_id_type FROM raw.mead_descriptors") == [
        ("Resource", "ISRC")
    ]


@pytest.mark.real_data
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mead_moods_themes_and_bpm(mead_run, name):
    isrc, title, moods, lyric_themes, bpm = EXPECTED[name]
    where = f"file_path LIKE '%{name}'"
    assert mead_run.rows(
        f"SELECT DISTINCT subject_id, subject_title, subject_display_artist FROM raw.mead_descriptors "
        f"WHERE {where}"
    ) == [(isrc, title, "Backfire Betty & The Mufflers")]
    assert [
        v
        for (v,) in mead_run.rows(
            f"SELECT value FROM raw.mead_descriptors WHERE {where} AND descriptor = 'Mood' "
            f"ORDER BY value_position"
        )
    ] == moods
    assert [
        v
        for (v,) in mead_run.rows(
            f"SELECT value FROM raw.mead_descriptors WHERE {where} "
            f"AND descriptor = 'LyricTheme' ORDER BY value_position"
        )
    ] == lyric_themes
    assert mead_run.rows(
        f"SELECT value_number FROM raw.mead_descriptors WHERE {where} AND descriptor = 'BeatsPerMinute'"
    ) == ([(bpm,)] if bpm else [])


@pytest.mark.real_data
def test_mead_user_defined_values_and_attributes_are_kept(mead_run):
    where = "subject_id = 'USUM71804534'"
    positive = mead_run.one(
        f"SELECT value_as_delivered, value_namespace, attributes, message_created_at "
        f"FROM raw.mead_descriptors WHERE {where} AND value = 'Positive'"
    )
    assert positive[:2] == ("UserDefined", "PADPIDA2013042401U")
    assert json.loads(positive[2]) == {"AppliesToComposition": "true"}
    assert positive[3] == datetime(2020, 7, 21, 17, 4, 20, 185000, tzinfo=UTC)
    assert (
        mead_run.one(
            f"SELECT value FROM raw.mead_descriptors WHERE {where} AND descriptor = 'TimeSignature/Tempo'"
        )
        == "Medium Fast"
    )
    featured = mead_run.one(
        f"SELECT attributes FROM raw.mead_descriptors WHERE {where} AND value = 'ElectricGuitar'"
    )
    assert json.loads(featured) == {"IsFeatured": "true"}
    assert mead_run.rows(
        "SELECT subject_id, value FROM raw.mead_descriptors WHERE descriptor = 'ProgrammaticTheme' "
        "AND subject_id = 'USUM71804534' ORDER BY value_position"
    ) == [
        ("USUM71804534", "Carnival"),
        ("USUM71804534", "Commitment"),
        ("USUM71804534", "Togetherness"),
        ("USUM71804534", "Eternity"),
    ]


MEAD_EDGE = """<?xml version="1.0" encoding="UTF-8"?>
<mead:MeadMessage xmlns:mead="http://ddex.net/xml/mead/101">
<MessageHeader><MessageId>MEAD-X</MessageId><MessageCreatedDateTime>2026-11-02T00:00:00Z</MessageCreatedDateTime></MessageHeader>
<ResourceInformationList>
<ResourceInformation><ResourceSummary><ResourceId><ISRC>QQZZ02600001</ISRC></ResourceId></ResourceSummary>
<Mood><Value>Calm</Value></Mood></ResourceInformation>
<ResourceInformation><ResourceSummary><ResourceId><ISRC>JPZZ02600001</ISRC></ResourceId>
<DisplayTitle><TitleText><Title>月の歌</Title></TitleText></DisplayTitle></ResourceSummary>
<Mood><Value>Calm</Value></Mood><BeatsPerMinute><Value>72.5</Value></BeatsPerMinute></ResourceInformation>
</ResourceInformationList>
<ReleaseInformationList><ReleaseInformation><ReleaseSummary><ReleaseId><ICPN>4589990300018</ICPN></ReleaseId></ReleaseSummary>
<ProgrammaticTheme><Value>Night</Value></ProgrammaticTheme></ReleaseInformation></ReleaseInformationList>
</mead:MeadMessage>
"""


def test_mead_release_subjects_and_invalid_isrc(landing, ingest):
    landing.holder("tsukiyo", "music")
    landing.write("music", "tsukiyo", "mead.xml", MEAD_EDGE)
    landing.write("music", "tsukiyo", "mead_v2.xml", MEAD_EDGE.replace("/mead/101", "/mead/20"))
    run = ingest(landing)
    assert run.file("/mead.xml")[:4] == ("partial", 3, 2, 1)
    assert run.reasons("/mead.xml") == [
        (
            "/MeadMessage/ResourceInformationList/ResourceInformation[1]",
            "ResourceInformation: invalid ISRC 'QQZZ02600001': One of the parts of the number are invalid or unknown.",
        )
    ]
    assert run.rows(
        "SELECT subject_kind, subject_id, subject_title, descriptor, value, value_number FROM raw.mead_descriptors "
        "ORDER BY subject_kind, value_position"
    ) == [
        ("Release", "4589990300018", None, "ProgrammaticTheme", "Night", None),
        ("Resource", "JPZZ02600001", "月の歌", "Mood", "Calm", None),
        ("Resource", "JPZZ02600001", "月の歌", "BeatsPerMinute", "72.5", 72.5),
    ]
    assert run.reasons("mead_v2.xml") == [
        (
            "file",
            "unknown DDEX MEAD version: root 'MeadMessage' in namespace "
            "'http://ddex.net/xml/mead/20' (only MEAD 1.0.1)",
        )
    ]
