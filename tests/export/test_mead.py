"""The DDEX MEAD 1.0.1 feed: kansei moods and themes per licensed recording and release, shaped like the MEAD
messages rights-holders deliver (compared with the real ones in ../shared/data/ddex/mead101)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import duckdb
import jsonschema
import pytest
from lxml import etree

from pipelines.export.feed_schema import MEAD
from pipelines.export.formats import folder
from pipelines.export.mead import (
    MEAD_NAMESPACE,
    MeadHeader,
    MeadVocabulary,
    Party,
    mead_batches,
    mead_row,
    write_mead,
    write_mead_feed,
)
from pipelines.kansei.config import load_taxonomy
from pipelines.partner_feed import partner_feed
from tests.test_partner_feed import FEED_TABLE, SOURCE_COLUMNS, contract, window, work

MODELS = Path(__file__).resolve().parents[2] / "models"
SENDER = Party("PADPIDA2026112401M", "MSDB")
RECIPIENT = Party("PADPIDA2026112402S", "Melody Stream Inc.")
HEADER = MeadHeader.for_delivery(SENDER, RECIPIENT, "melody-stream", date(2026, 11, 24), date(2026, 11, 25))
VOCABULARY = MeadVocabulary(
    facets={"mood.calm": "mood", "mood.melancholic": "mood", "emotion.joy": "emotion", "scene.rain": "scene", "theme.love": "theme"},
    labels={"mood.calm": "Calm", "mood.melancholic": "Melancholic", "emotion.joy": "Joy", "scene.rain": "Rain", "theme.love": "Love"},
    mead_moods={"mood.calm": ("Peaceful",), "mood.melancholic": ("Negative", "Sentimental"), "emotion.joy": ("Happy", "Positive")},
)  # fmt: skip
RECORDING = {
    "work_id": "w_00000000000000000001", "kind": "recording", "isrc": "JPZZ02600001", "icpn": None,
    "title": "Ame no Yoru", "title_ja": "雨の夜", "display_artist": "Sora & Umi",
    "kansei_tags": [
        {"tag_id": "mood.melancholic", "score": 0.81}, {"tag_id": "scene.rain", "score": 0.77},
        {"tag_id": "mood.calm", "score": 0.6}, {"tag_id": "theme.love", "score": 0.5},
        {"tag_id": "emotion.joy", "score": 0.31},
    ],
}  # fmt: skip
RELEASE = {
    "work_id": "w_00000000000000000002", "kind": "release", "isrc": None, "icpn": "4988000000002",
    "title": "Kisetsu", "title_ja": None, "display_artist": None, "kansei_tags": [{"tag_id": "mood.calm", "score": 0.5}],
}  # fmt: skip

EXPECTED = """\
<?xml version='1.0' encoding='UTF-8'?>
<mead:MeadMessage xmlns:mead="http://ddex.net/xml/mead/101">
<MessageHeader>
  <MessageId>msdb-melody-stream-mead-2026-11-24</MessageId>
  <MessageSender>
    <PartyId>PADPIDA2026112401M</PartyId>
    <PartyName>
      <FullName>MSDB</FullName>
    </PartyName>
  </MessageSender>
  <MessageRecipient>
    <PartyId>PADPIDA2026112402S</PartyId>
    <PartyName>
      <FullName>Melody Stream Inc.</FullName>
    </PartyName>
  </MessageRecipient>
  <MessageCreatedDateTime>2026-11-25T00:00:00+09:00</MessageCreatedDateTime>
</MessageHeader>
<ResourceInformationList>
<ResourceInformation>
  <ResourceSummary>
    <ResourceId>
      <ISRC>JPZZ02600001</ISRC>
    </ResourceId>
    <DisplayTitle LanguageAndScriptCode="ja">
      <TitleText>
        <Title>雨の夜</Title>
      </TitleText>
    </DisplayTitle>
    <DisplayArtist>
      <FullName>
        <Name>Sora &amp; Umi</Name>
      </FullName>
    </DisplayArtist>
  </ResourceSummary>
  <Mood>
    <Value Namespace="PADPIDA2026112401M" UserDefinedValue="Negative">UserDefined</Value>
  </Mood>
  <Mood>
    <Value Namespace="PADPIDA2026112401M" UserDefinedValue="Sentimental">UserDefined</Value>
  </Mood>
  <Mood>
    <Value>Peaceful</Value>
  </Mood>
  <Mood>
    <Value>Happy</Value>
  </Mood>
  <Mood>
    <Value Namespace="PADPIDA2026112401M" UserDefinedValue="Positive">UserDefined</Value>
  </Mood>
  <ProgrammaticTheme>
    <Value Namespace="PADPIDA2026112401M" UserDefinedValue="Rain">UserDefined</Value>
  </ProgrammaticTheme>
  <ProgrammaticTheme>
    <Value>Love</Value>
  </ProgrammaticTheme>
</ResourceInformation>
</ResourceInformationList>
<ReleaseInformationList>
<ReleaseInformation>
  <ReleaseSummary>
    <ReleaseId>
      <ICPN>4988000000002</ICPN>
    </ReleaseId>
    <DisplayTitle>
      <TitleText>
        <Title>Kisetsu</Title>
      </TitleText>
    </DisplayTitle>
  </ReleaseSummary>
  <Mood>
    <Value>Peaceful</Value>
  </Mood>
</ReleaseInformation>
</ReleaseInformationList>
</mead:MeadMessage>
"""


def produced() -> bytes:
    fh = io.BytesIO()
    # two batches of recordings (the second empty), to show batches are streamed into one list
    write_mead(fh, iter([[mead_row(RECORDING, VOCABULARY)], []]), iter([[mead_row(RELEASE, VOCABULARY)]]), HEADER)
    return fh.getvalue()


def test_a_recording_and_a_release_as_mead():
    assert produced().decode("utf-8") == EXPECTED


def test_mead_is_byte_identical_on_rerun_and_lists_its_rows():
    fh = io.BytesIO()
    spec = write_mead(fh, [[mead_row(RECORDING, VOCABULARY)]], [[mead_row(RELEASE, VOCABULARY)]], HEADER)
    assert fh.getvalue() == produced()
    assert (spec.name, spec.rows, spec.bytes) == ("mead.xml", 2, len(produced()))


def test_a_work_without_its_code_is_keyed_by_its_msdb_id_and_an_empty_list_is_left_out():
    fh = io.BytesIO()
    write_mead(fh, [[mead_row(RECORDING | {"isrc": None, "kansei_tags": []}, VOCABULARY)]], [], HEADER)
    root = etree.fromstring(fh.getvalue())
    assert [child.tag for child in root] == ["MessageHeader", "ResourceInformationList"]
    identifier = root.find("ResourceInformationList/ResourceInformation/ResourceSummary/ResourceId/ProprietaryId")
    assert (identifier.text, identifier.get("Namespace")) == ("w_00000000000000000001", "PADPIDA2026112401M")
    assert root.findall(".//Mood") == []


def test_mead_rows_fit_the_mead_schema():
    validator = jsonschema.Draft202012Validator(MEAD.json_schema())
    row = mead_row(RECORDING, VOCABULARY)
    assert row["moods"][:2] == [{"value": "Negative", "user_defined": True}, {"value": "Sentimental", "user_defined": True}]
    assert list(validator.iter_errors(row)) == []
    assert list(validator.iter_errors(mead_row(RELEASE, VOCABULARY))) == []


def test_mead_from_a_partners_delivered_works_with_the_repository_taxonomy(tmp_path):
    taxonomy = load_taxonomy(MODELS)
    vocabulary = MeadVocabulary.from_taxonomy(taxonomy)
    calm = taxonomy.by_id()["mood.calm"]
    with duckdb.connect() as con:
        con.execute(FEED_TABLE)
        catalog = [
            work(window("JP", date(2026, 1, 1), None), kansei_tags=[{"tag_id": "mood.calm", "score": 0.7}]),
            work(window("JP", date(2025, 1, 1), date(2026, 11, 1)), work_id="w_00000000000000000009"),  # ended
        ]
        con.executemany(
            f"INSERT INTO feed_works ({', '.join(SOURCE_COLUMNS)}) VALUES ({', '.join('?' for _ in SOURCE_COLUMNS)})",
            [[w.get(c) for c in SOURCE_COLUMNS] for w in catalog],
        )
        feed = partner_feed(con, contract(territories=["JP"]), date(2026, 11, 25), source="feed_works")
        recordings = [row for batch in mead_batches(con, feed.delivered_sql, vocabulary, "recording", 10) for row in batch]
        spec = write_mead_feed(con, feed.delivered_sql, vocabulary, HEADER, folder(tmp_path), 1)
    assert [r["work_id"] for r in recordings] == ["w_0123456789abcdef0123"]
    assert recordings[0]["title"] == "風の道" and recordings[0]["title_language"] == "ja"
    expected = list(getattr(calm, "mead_moods", ())) or ["Calm"]  # mapped once the taxonomy has mead_moods
    assert [m["value"] for m in recordings[0]["moods"]] == expected
    root = etree.parse(str(tmp_path / "mead.xml")).getroot()
    assert (spec.name, spec.rows) == ("mead.xml", 1)
    assert root.findtext("ResourceInformationList/ResourceInformation/ResourceSummary/ResourceId/ISRC") == "JPZZ02600001"
    assert root.find("ReleaseInformationList") is None


# ------------------------------------------------------------------ against the real MEAD 1.0.1 messages


def _paths(element, prefix: str = "") -> set[str]:
    path = f"{prefix}/{etree.QName(element).localname}"
    found = {path}
    for child in element:
        if isinstance(child.tag, str):
            found |= _paths(child, path)
    return found


def _child_order(elements) -> list[str]:
    """The tags of the children, each once, in the order they first appear."""
    seen: list[str] = []
    for element in elements:
        for child in element:
            if isinstance(child.tag, str) and child.tag not in seen:
                seen.append(child.tag)
    return seen


def _contiguous(element) -> bool:
    """Repeated children come together (Mood, Mood, ProgrammaticTheme, ...), as a sequence in the XSD does."""
    tags = [child.tag for child in element if isinstance(child.tag, str)]
    groups = [t for i, t in enumerate(tags) if i == 0 or tags[i - 1] != t]
    return len(groups) == len(set(groups))


@pytest.fixture(scope="module")
def real_mead(shared_data):
    files = sorted((shared_data / "ddex" / "mead101").glob("MEAD_*.xml"))
    if not files:
        pytest.skip(f"no MEAD messages under {shared_data / 'ddex' / 'mead101'}")
    return [etree.parse(str(path)).getroot() for path in files]


@pytest.mark.real_data
def test_the_root_and_header_are_those_of_the_real_mead_messages(real_mead):
    ours = etree.fromstring(produced())
    for real in real_mead:
        assert ours.tag == real.tag == f"{{{MEAD_NAMESPACE}}}MeadMessage"
        assert [c.tag for c in real][:2] == [c.tag for c in ours][:2] == ["MessageHeader", "ResourceInformationList"]
        assert _child_order([ours.find("MessageHeader")]) == _child_order([real.find("MessageHeader")])
        assert etree.QName(real.find("ResourceInformationList")).namespace is None  # children unqualified, as ours


@pytest.mark.real_data
def test_every_resource_element_of_ours_appears_where_the_real_messages_put_it(real_mead):
    real_paths = set().union(*(_paths(r) for r in real_mead))
    ours = etree.fromstring(produced())
    resource_paths = {p for p in _paths(ours) if "/ReleaseInformationList" not in p}
    # ProprietaryId keys a work without ISRC; the real messages all carry one
    assert resource_paths - real_paths == set()


@pytest.mark.real_data
def test_resource_information_children_keep_the_real_order_and_value_attributes(real_mead):
    real_infos = [i for r in real_mead for i in r.iter("ResourceInformation")]
    real_order = _child_order(real_infos)
    ours = etree.fromstring(produced())
    info = ours.find("ResourceInformationList/ResourceInformation")
    our_order = _child_order([info])
    assert our_order == [t for t in real_order if t in our_order] == ["ResourceSummary", "Mood", "ProgrammaticTheme"]
    assert all(_contiguous(i) for i in real_infos) and _contiguous(info)
    assert _child_order([info.find("ResourceSummary")]) == ["ResourceId", "DisplayTitle", "DisplayArtist"]
    real_user_defined = [v for i in real_infos for v in i.iterfind("Mood/Value") if v.text == "UserDefined"]
    ours_user_defined = [v for v in info.iterfind("Mood/Value") if v.text == "UserDefined"]
    assert {"Namespace", "UserDefinedValue"} <= set().union(*(set(v.keys()) for v in real_user_defined))
    assert all(set(v.keys()) == {"Namespace", "UserDefinedValue"} for v in ours_user_defined)
    real_standard = {v.text for i in real_infos for v in i.iterfind("Mood/Value") if v.text != "UserDefined"}
    assert {v.text for v in info.iterfind("Mood/Value") if v.text != "UserDefined"} <= real_standard
