"""A large DDEX message read in parts by the loader and a helper process (pipelines/ingest/ddex_parts.py,
helpers.py): the same rows, positions and quarantine as a whole read, and a whole read whenever a part's
checks fail."""

from __future__ import annotations

import logging
import re
from datetime import date

import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.ingest import ddex_parts, helpers, run_ingest
from pipelines.ingest.ddex import RESOURCE_KINDS
from pipelines.ingest.ddex_parts import Part, PartReader, SplitMismatch
from tests.conftest import make_settings
from tests.ingest.conftest import IngestRun
from tests.ingest.test_ddex import ern43_message

TRACKS = 6_000  # ~3.5 MB: above ddex_parts.MIN_PART_BYTES for two readers
RAW_TABLES = ("raw.ddex_messages", "raw.ddex_resources", "raw.ddex_releases", "raw.ddex_deals")


def ern382_message(tracks: int) -> bytes:
    """An ERN 3.8.2 NewReleaseMessage: `tracks` recordings (names nested by territory), one release, one deal."""
    recordings = "".join(
        f"<SoundRecording><SoundRecordingType>MusicalWorkSoundRecording</SoundRecordingType>"
        f"<SoundRecordingId><ISRC>JPZZ0{26 + n // 100000:02d}{n % 100000:05d}</ISRC></SoundRecordingId>"
        f"<ResourceReference>A{n}</ResourceReference><ReferenceTitle><TitleText>Track {n}</TitleText></ReferenceTitle>"
        f"<Duration>PT3M{n % 60}S</Duration><SoundRecordingDetailsByTerritory><TerritoryCode>Worldwide</TerritoryCode>"
        f'<Title TitleType="DisplayTitle"><TitleText>Track {n}</TitleText></Title>'
        f'<Title TitleType="DisplayTitle" LanguageAndScriptCode="ja-Jpan"><TitleText>曲{n}</TitleText></Title>'
        f'<DisplayArtist SequenceNumber="1"><PartyName><FullName>Tsukino Rei</FullName></PartyName>'
        f"<ArtistRole>MainArtist</ArtistRole></DisplayArtist></SoundRecordingDetailsByTerritory></SoundRecording>\n"
        for n in range(1, tracks + 1)
    )
    references = "".join(
        f"<ReleaseResourceReference>A{n}</ReleaseResourceReference>" for n in range(1, tracks + 1)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ern:NewReleaseMessage xmlns:ern="http://ddex.net/xml/ern/382" MessageSchemaVersionId="ern/382">
<MessageHeader><MessageId>E3-1</MessageId><MessageSender><PartyId>PADPIDA2026110101X</PartyId></MessageSender>
<MessageCreatedDateTime>2026-11-03T10:00:00+09:00</MessageCreatedDateTime></MessageHeader>
<UpdateIndicator>OriginalMessage</UpdateIndicator>
<ResourceList>
{recordings}</ResourceList>
<ReleaseList><Release IsMainRelease="true"><ReleaseId><ICPN>4589990300018</ICPN></ReleaseId><ReleaseReference>R0</ReleaseReference>
<ReferenceTitle><TitleText>Big Album</TitleText></ReferenceTitle>
<ReleaseResourceReferenceList>{references}</ReleaseResourceReferenceList>
<ReleaseType>Album</ReleaseType></Release></ReleaseList>
<DealList><ReleaseDeal><DealReleaseReference>R0</DealReleaseReference><Deal><DealTerms>
<CommercialModelType>SubscriptionModel</CommercialModelType><Usage><UseType>OnDemandStream</UseType></Usage>
<TerritoryCode>JP</TerritoryCode><ValidityPeriod><StartDate>2026-12-01</StartDate></ValidityPeriod></DealTerms></Deal></ReleaseDeal></DealList>
</ern:NewReleaseMessage>
""".encode()


def _with_bad_isrcs(message: bytes, *tracks: int) -> bytes:
    """The message with the ISRC of these tracks made invalid (an unknown country code)."""
    for n in tracks:
        message = message.replace(
            f"JPZZ0{26 + n // 100000:02d}{n % 100000:05d}".encode(), f"QQZZ0{n:07d}".encode(), 1
        )
    return message


def _ingest(tmp_path, landing, name: str, helpers: int) -> IngestRun:
    settings = make_settings(tmp_path / name, landing.root, ingest_helpers=helpers, ingest_helper_min_mb=0)
    return IngestRun(settings, run_ingest(settings, date(2026, 11, 24)))


def _raw_rows(run: IngestRun) -> dict[str, list[tuple]]:
    """Every raw DDEX row of the run, without the load time, in record order."""
    found = {}
    for table in RAW_TABLES:
        columns = [
            name
            for (name,) in run.rows(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = ? "
                "AND column_name <> 'ingested_at' ORDER BY column_index",
                [table.split(".")[1]],
            )
        ]
        found[table] = sorted(run.rows(f"SELECT {', '.join(columns)} FROM {table}"), key=repr)
    return found


def _both(tmp_path, landing, message: bytes, helpers: int = 1) -> tuple[IngestRun, IngestRun]:
    """The message ingested by the loader alone, then by the loader and `helpers` helpers."""
    landing.holder("tsukiyo", "music")
    landing.write("music", "tsukiyo", "big.xml", message)
    return _ingest(tmp_path, landing, "whole", helpers=0), _ingest(
        tmp_path, landing, "parts", helpers=helpers
    )


def _no_helper_left() -> bool:
    return not any(
        "pipelines.ingest.helpers" in " ".join(child.cmdline())
        for child in psutil.Process().children(recursive=True)
    )


@pytest.mark.parametrize(("version", "helper_count"), [("4.3", 1), ("3.8.2", 1), ("4.3", 2)])
def test_a_message_read_in_parts_loads_exactly_what_a_whole_read_loads(
    tmp_path, landing, version, helper_count
):
    message = ern43_message(tracks=TRACKS) if version == "4.3" else ern382_message(TRACKS)
    # bad recordings in the first part (the loader's) and in the last
    whole, parts = _both(tmp_path, landing, _with_bad_isrcs(message, 10, 5_000, TRACKS), helper_count)
    assert [f.readers for f in whole.summary.files] == [1]
    assert [f.readers for f in parts.summary.files] == [helper_count + 1]
    # TRACKS recordings (3 quarantined), a release, a deal, the message header
    assert parts.file("big.xml")[:4] == whole.file("big.xml")[:4] == ("partial", TRACKS + 3, TRACKS, 3)
    assert _raw_rows(parts) == _raw_rows(whole)
    assert parts.reasons("big.xml") == whole.reasons("big.xml")
    assert [location for location, _ in parts.reasons("big.xml")] == [
        f"/NewReleaseMessage/ResourceList/SoundRecording[{n}]" for n in (10, 5_000, TRACKS)
    ]
    assert parts.one(
        "SELECT resource_reference, title FROM raw.ddex_resources "
        "WHERE record_position = '/NewReleaseMessage/ResourceList/SoundRecording[5999]'"
    ) == ("A5999", "Track 5999")
    assert parts.one("SELECT count(*) FROM raw.ddex_messages") == 1
    assert len(parts.one("SELECT resource_references FROM raw.ddex_releases")) == TRACKS
    assert _no_helper_left()


def test_items_in_a_comment_fail_the_counts_and_the_file_is_read_whole(tmp_path, landing, caplog):
    """A commented-out recording early in the list is counted by the helper's byte search but not read by
    the loader: the counts do not add up, and the loader reads the file again alone."""
    message = ern43_message(tracks=TRACKS).replace(
        b"<SoundRecording>", b"<!-- <SoundRecording>withdrawn</SoundRecording> --><SoundRecording>", 1
    )
    with caplog.at_level(logging.WARNING, logger="pipelines.ingest"):
        whole, parts = _both(tmp_path, landing, message)
    assert [f.readers for f in parts.summary.files] == [1]
    assert "read in parts failed" in caplog.text and "SplitMismatch" in caplog.text
    assert parts.file("big.xml")[:4] == ("loaded", TRACKS + 3, TRACKS + 3, 0)
    assert _raw_rows(parts) == _raw_rows(whole)


def test_a_cut_inside_a_comment_breaks_the_loaders_part_and_the_file_is_read_whole(tmp_path, landing):
    """Commented-out recordings across the middle of the list: the cut lands in the comment, the loader's
    part cannot close, and the whole read loads only the recordings outside the comment."""
    message = ern43_message(tracks=TRACKS)
    start = message.index(b"<SoundRecording><ResourceReference>A1001<")
    end = message.index(b"<SoundRecording><ResourceReference>A5001<")
    message = message[:start] + b"<!--" + message[start:end] + b"-->" + message[end:]
    whole, parts = _both(tmp_path, landing, message)
    assert [f.readers for f in parts.summary.files] == [1]
    assert parts.file("big.xml")[:4] == whole.file("big.xml")[:4] == ("loaded", 2_003, 2_003, 0)
    assert _raw_rows(parts) == _raw_rows(whole)


def test_a_truncated_large_message_is_quarantined_with_the_reason_a_whole_read_gives(tmp_path, landing):
    message = ern43_message(tracks=TRACKS)
    whole, parts = _both(tmp_path, landing, message[: int(len(message) * 0.9)])
    assert parts.file("big.xml")[0] == "quarantined"
    assert parts.reasons("big.xml") == whole.reasons("big.xml")
    ((location, reason),) = parts.reasons("big.xml")
    assert location == "file" and reason.startswith("XML breaks off or is malformed: ")
    assert parts.one("SELECT count(*) FROM raw.ddex_resources") == 0
    assert _no_helper_left()


def test_a_helper_that_dies_leaves_the_file_to_a_whole_read(tmp_path, landing, monkeypatch, caplog):
    monkeypatch.setattr(helpers, "HELPER_CODE", "import sys; sys.exit(3)")
    with caplog.at_level(logging.WARNING, logger="pipelines.ingest"):
        whole, parts = _both(tmp_path, landing, ern43_message(tracks=TRACKS))
    assert [f.readers for f in parts.summary.files] == [1]
    assert "helper process msdb-ingest-helper-1 ended (exit code 3)" in caplog.text
    assert parts.file("big.xml")[:4] == ("loaded", TRACKS + 3, TRACKS + 3, 0)
    assert _raw_rows(parts) == _raw_rows(whole)


def test_small_files_are_read_whole(tmp_path, landing):
    landing.holder("tsukiyo", "music")
    landing.write("music", "tsukiyo", "small.xml", ern43_message(tracks=20))
    run = _ingest(tmp_path, landing, "small", helpers=1)
    assert [(f.status, f.readers) for f in run.summary.files] == [("loaded", 1)]


# ---- ddex_parts on its own ---------------------------------------------------------------------------


def test_plan_cuts_at_item_start_tags_inside_the_resource_list(tmp_path):
    path = tmp_path / "m.xml"
    message = ern43_message(tracks=TRACKS)
    path.write_bytes(message)
    plan = ddex_parts.plan(path, 2, RESOURCE_KINDS)
    assert plan is not None and plan.readers == 2
    assert message[plan.head_end - len(b"<ResourceList>") : plan.head_end] == b"<ResourceList>"
    (cut,) = plan.cuts
    assert message[cut:].startswith(b"<SoundRecording><ResourceReference>A")
    assert 0.5 < cut / len(message) < 0.7
    assert plan.tail == b"</ResourceList></ern:NewReleaseMessage>"
    helper = plan.part(1)
    helper.prepare(path)
    before = int(re.match(rb"<SoundRecording><ResourceReference>A(\d+)<", message[cut:]).group(1)) - 1
    assert helper.offsets == {"ResourceList/SoundRecording": before}
    assert plan.part(0).segments == ((0, cut),) and helper.segments == (
        (0, plan.head_end),
        (cut, len(message)),
    )
    assert helper.tail == b""


def test_plan_declines_what_it_cannot_cut_safely(tmp_path):
    big = ern43_message(tracks=TRACKS)
    cases = {
        "utf16.xml": big.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
        "sjis.xml": big.replace(b'encoding="UTF-8"', b'encoding="Shift_JIS"'),
        "small.xml": ern43_message(tracks=100),
        "purge.xml": ern43_message("PurgeReleaseMessage")
        .replace(b"<ResourceList>", b"<Other>")
        .replace(b"</ResourceList>", b"</Other>"),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert ddex_parts.plan(tmp_path / name, 2, RESOURCE_KINDS) is None, name
    (tmp_path / "one.xml").write_bytes(big)
    assert ddex_parts.plan(tmp_path / "one.xml", 1, RESOURCE_KINDS) is None


def test_a_head_that_does_not_end_at_the_resource_list_is_refused(tmp_path):
    path = tmp_path / "m.xml"
    message = ern43_message(tracks=TRACKS)
    path.write_bytes(message)
    tail = b"</ResourceList></ern:NewReleaseMessage>"
    part = Part(1, (), b"", tail, count_before=(message.index(b"<PartyList>"), 0), kinds=RESOURCE_KINDS)
    with pytest.raises(SplitMismatch, match="does not parse alone"):
        part.prepare(path)


def test_check_counts_follows_the_parts_in_order():
    first = Part(0, (), b"", b"", counts={"ResourceList/SoundRecording": 10, "ResourceList/Image": 1})
    second = Part(1, (), b"", b"", offsets={"ResourceList/SoundRecording": 10, "ResourceList/Image": 1})
    second.counts = {"ResourceList/SoundRecording": 5}
    third = Part(2, (), b"", b"", offsets={"ResourceList/SoundRecording": 15, "ResourceList/Image": 1})
    ddex_parts.check_counts(first, [second, third])
    third.offsets = {"ResourceList/SoundRecording": 14, "ResourceList/Image": 1}
    with pytest.raises(SplitMismatch, match="part 2"):
        ddex_parts.check_counts(first, [second, third])


def test_part_reader_serves_its_segments_then_its_tail(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(100)))
    reader = PartReader(path, Part(1, ((0, 10), (50, 55)), b"TAIL", b"TAIL"))
    chunks = []
    while chunk := reader.read(4):
        chunks.append(chunk)
    reader.close()
    assert b"".join(chunks) == bytes(range(10)) + bytes(range(50, 55)) + b"TAIL"
    assert chunks[:3] == [bytes(range(4)), bytes(range(4, 8)), bytes(range(8, 10))]


@settings(max_examples=60, deadline=None)
@given(
    pieces=st.lists(
        st.sampled_from(
            ["<SoundRecording>", "<SoundRecording ", "<Image>", "<Imager>", "text ", "<Video/>", "<"]
        ),
        max_size=60,
    ),
    chunk=st.integers(min_value=1, max_value=40),
    start=st.integers(min_value=0, max_value=30),
)
def test_item_counts_do_not_depend_on_the_chunk_size(
    tmp_path_factory, pieces, chunk, start, monkeypatch_module
):
    data = "".join(pieces).encode()
    path = tmp_path_factory.mktemp("count") / "d.xml"
    path.write_bytes(data)
    start = min(start, len(data))
    expected = {}
    for match in re.finditer(rb"<(SoundRecording|Image|Video)[\s/>]", data[start:]):
        key = f"ResourceList/{match.group(1).decode()}"
        expected[key] = expected.get(key, 0) + 1
    monkeypatch_module.setattr(ddex_parts, "COUNT_CHUNK", chunk)
    assert ddex_parts.count_items(path, RESOURCE_KINDS, start, len(data)) == expected


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch
