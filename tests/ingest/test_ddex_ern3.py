"""ERN 3.x (pipelines/ingest/ern3.py): every real ERN 3 message in ../shared/data/ddex, plus purges and updates."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest


@pytest.fixture
def ern3_run(shared_data, landing, ingest):
    landing.holder("labels", "music")
    for path in sorted((shared_data / "ddex").rglob("ern3*.xml")):
        landing.add("music", "labels", path)
    return ingest(landing)


@pytest.mark.real_data
def test_fuga_371_album(ern3_run):
    assert ern3_run.file("ern371_real_FUGA_669447000013.xml") == ("loaded", 55, 55, 0, "ddex-ern-3.7.1")
    where = "file_path LIKE '%FUGA%'"
    assert ern3_run.one(
        f"SELECT message_id, sender_name, sent_on_behalf_of, update_indicator, message_created_at "
        f"FROM raw.ddex_messages WHERE {where}"
    ) == (
        "FUGA_1387053701",
        "FUGA",
        "SMLXL, INC",
        "OriginalMessage",
        datetime(2018, 2, 5, 18, 50, 41, tzinfo=UTC),
    )
    album = ern3_run.one(
        f"SELECT icpn, catalog_number, title, display_artist, label_name, release_type, release_date, "
        f"original_release_date, c_line, len(resource_references), resource_references[18] "
        f"FROM raw.ddex_releases WHERE {where} AND is_main_release"
    )
    assert album == (
        "669447000013",
        "GOT0013",
        "The Art of Translation",
        "Grits",
        "Gotee Records",
        "Album",
        date(2012, 2, 1),
        date(2002, 8, 6),
        "Gotee Records",
        18,
        "A18",
    )
    feat = ern3_run.one(
        f"SELECT title, display_artist, artists, duration_seconds, genres, parental_warning "
        f"FROM raw.ddex_resources WHERE {where} AND isrc = 'USGOT0203017'"
    )
    assert feat[0] == "Ooh Ahh (My Life Be Like) (feat. Toby Mac)"
    assert [(a["name"], a["role"]) for a in json.loads(feat[2])] == [
        ("Grits", "MainArtist"),
        ("tobyMac", "FeaturedArtist"),
    ]
    assert feat[3:] == (233, ["Hip Hop/Rap"], "NotExplicit")
    assert ern3_run.rows(
        f"SELECT commercial_models, use_types, territories, start_date FROM raw.ddex_deals "
        f"WHERE {where} AND release_reference = 'R0' ORDER BY deal_position"
    ) == [
        (["PayAsYouGoModel"], ["PermanentDownload"], ["Worldwide"], date(2012, 2, 1)),
        (["SubscriptionModel"], ["ConditionalDownload", "OnDemandStream"], ["Worldwide"], date(2012, 2, 1)),
        (["AdvertisementSupportedModel"], ["OnDemandStream"], ["Worldwide"], date(2012, 2, 1)),
    ]


@pytest.mark.real_data
def test_umg_37_album_with_mead_links(ern3_run):
    name = "ern37_UMG_00602557190298.xml"
    assert ern3_run.file(name) == ("loaded", 17, 17, 0, "ddex-ern-3.7")
    where = f"file_path LIKE '%{name}'"
    assert ern3_run.one(
        f"SELECT icpn, title, label_name, release_date, duration_seconds FROM raw.ddex_releases "
        f"WHERE {where} AND is_main_release"
    ) == ("00602557190298", "The Best of Betty", "Interscope", date(2018, 2, 9), 768)
    contributors = json.loads(
        ern3_run.one(f"SELECT contributors FROM raw.ddex_resources WHERE {where} AND isrc = 'USUM71804534'")
    )
    assert [(c["name"], c["roles"], c.get("indirect")) for c in contributors] == [
        ("John Smith", ["ComposerLyricist"], True)
    ]
    territories, excluded = ern3_run.rows(
        f"SELECT territories, excluded_territories FROM raw.ddex_deals WHERE {where} AND deal_position = 1"
    )[0]
    assert len(territories) == 214 and territories[:3] == ["AD", "AE", "AF"] and "JP" in territories
    assert excluded == []
    texts = ern3_run.rows(
        f"SELECT resource_reference, proprietary_id FROM raw.ddex_resources "
        f"WHERE {where} AND resource_kind = 'Text' ORDER BY resource_reference"
    )
    assert texts[0] == ("A6", "USUM71804534")


@pytest.mark.real_data
def test_382_profiles_load_resources_and_quarantine_placeholder_ids(ern3_run):
    """The DDEX profile examples carry placeholder GRids/ICPNs whose check digits fail: those releases are
    quarantined with the reason, everything else in the message loads."""
    ringtone = "ern382_Profile_Ringtone.xml"
    assert ern3_run.file(ringtone) == ("partial", 4, 3, 1, "ddex-ern-3.8.2")
    assert ern3_run.reasons(ringtone) == [
        (
            "/NewReleaseMessage/ReleaseList/Release[1]",
            "Release R0: invalid GRid 'A1UCASE0000000012X': The number's checksum or check digit is invalid.",
        )
    ]
    recording = ern3_run.one(
        f"SELECT title, iswc, contributors, genres, duration_seconds FROM raw.ddex_resources "
        f"WHERE file_path LIKE '%{ringtone}' AND isrc = 'CASE00000012'"
    )
    assert recording[:2] == ("Warhammer", "T1234567890")
    assert [(c["name"], c["roles"]) for c in json.loads(recording[2])] == [
        ("Steve Albino", ["Producer"]),
        ("Bob Black", ["Composer"]),
    ]
    assert recording[3:] == (["Metal"], 30)

    midi = ern3_run.one(
        "SELECT resource_kind, resource_type, title, duration_seconds FROM raw.ddex_resources "
        "WHERE file_path LIKE '%MidiRingtone.xml' AND resource_reference = 'A1'"
    )
    assert midi == ("MIDI", "MonophonicMidi", "Warhammer", 20)

    classical = "ern382_Profile_DigitalClassicalAudioAlbum_MulitPartWork.xml"
    assert ern3_run.file(classical)[:4] == ("partial", 15, 14, 1)
    assert "invalid ICPN '0000000000900'" in ern3_run.reasons(classical)[0][1]
    assert (
        ern3_run.one(
            f"SELECT count(*) FROM raw.ddex_resources WHERE file_path LIKE '%{classical}' "
            f"AND isrc BETWEEN 'CASE00000901' AND 'CASE00000912'"
        )
        == 12
    )
    assert ern3_run.one("SELECT title FROM raw.ddex_resources WHERE isrc = 'CASE00000902'") == (
        "Antonio Vivaldi: The Four Seasons, Concerto No. 1 in E (La primavera / Spring) RV269 (Op. 8 No. 1): II. Largo"
    )

    bundle = "ern382_Profile_MixedMediaBundle.xml"
    assert ern3_run.file(bundle)[:4] == ("partial", 8, 5, 3)
    assert ern3_run.one(
        f"SELECT resource_kind, title, duration_seconds FROM raw.ddex_resources "
        f"WHERE file_path LIKE '%{bundle}' AND isrc = 'CASE00000007'"
    ) == ("Video", "Can you feel ...the Monkey Claw! (Live at Budokan)", 1201)

    single = "ern382_Profile_SingleResourceRelease.xml"
    assert "invalid GRid '1234567890098': The number has an invalid length." in ern3_run.reasons(single)[0][1]
    assert ern3_run.one(
        f"SELECT commercial_models, use_types, territories, start_date FROM raw.ddex_deals "
        f"WHERE file_path LIKE '%{single}'"
    ) == (
        ["RightsClaimModel"],
        ["UserMakeAvailableLabelProvided", "UserMakeAvailableUserProvided"],
        ["Worldwide"],
        date(2011, 1, 30),
    )
    assert ern3_run.one(
        f"SELECT ern_version, release_profile, message_created_at FROM raw.ddex_messages "
        f"WHERE file_path LIKE '%{single}'"
    ) == ("3.8.2", "CommonReleaseTypes/14/SingleResourceRelease", datetime(2012, 12, 11, 15, 50, tzinfo=UTC))


ERN382_UPDATE = """<?xml version="1.0" encoding="UTF-8"?>
<ern:NewReleaseMessage xmlns:ern="http://ddex.net/xml/ern/382" MessageSchemaVersionId="ern/382" LanguageAndScriptCode="ja">
<MessageHeader><MessageId>U-2</MessageId><MessageSender><PartyId>PADPIDA2026110101X</PartyId></MessageSender>
<MessageCreatedDateTime>2026-11-03T10:00:00+09:00</MessageCreatedDateTime></MessageHeader>
<UpdateIndicator>UpdateMessage</UpdateIndicator>
<ResourceList><SoundRecording><SoundRecordingType>MusicalWorkSoundRecording</SoundRecordingType>
<SoundRecordingId><ISRC>JPZZ02600001</ISRC></SoundRecordingId><ResourceReference>A1</ResourceReference>
<ReferenceTitle><TitleText>Tsuki no Uta</TitleText></ReferenceTitle><Duration>PT3M30S</Duration>
<SoundRecordingDetailsByTerritory><TerritoryCode>Worldwide</TerritoryCode>
<Title TitleType="DisplayTitle"><TitleText>Tsuki no Uta</TitleText></Title>
<Title TitleType="DisplayTitle" LanguageAndScriptCode="ja-Jpan"><TitleText>月の歌</TitleText></Title>
<DisplayArtist SequenceNumber="1"><PartyName><FullName>Tsukino Rei</FullName></PartyName>
<PartyName LanguageAndScriptCode="ja-Jpan"><FullName>月野レイ</FullName></PartyName><ArtistRole>MainArtist</ArtistRole></DisplayArtist>
</SoundRecordingDetailsByTerritory></SoundRecording></ResourceList>
<ReleaseList><Release IsMainRelease="true"><ReleaseId><ICPN>4589990300018</ICPN></ReleaseId><ReleaseReference>R0</ReleaseReference>
<ReferenceTitle><TitleText>Tsuki no Uta</TitleText></ReferenceTitle>
<ReleaseResourceReferenceList><ReleaseResourceReference>A1</ReleaseResourceReference></ReleaseResourceReferenceList>
<ReleaseType>Single</ReleaseType><ReleaseDetailsByTerritory><TerritoryCode>Worldwide</TerritoryCode>
<DisplayArtistName>Tsukino Rei</DisplayArtistName><LabelName>Tsukiyo Label</LabelName></ReleaseDetailsByTerritory></Release></ReleaseList>
<DealList><ReleaseDeal><DealReleaseReference>R0</DealReleaseReference><Deal><DealTerms>
<CommercialModelType>SubscriptionModel</CommercialModelType><Usage><UseType>OnDemandStream</UseType></Usage>
<TerritoryCode>Worldwide</TerritoryCode><ExcludedTerritoryCode>KR</ExcludedTerritoryCode><ExcludedTerritoryCode>CN</ExcludedTerritoryCode>
<ValidityPeriod><StartDate>2026-12-01</StartDate><EndDate>2027-11-30</EndDate></ValidityPeriod></DealTerms></Deal>
<Deal><DealTerms><TakeDown>true</TakeDown><TerritoryCode>JP</TerritoryCode>
<ValidityPeriod><StartDate>2027-01-01</StartDate></ValidityPeriod></DealTerms></Deal></ReleaseDeal></DealList>
</ern:NewReleaseMessage>
"""

ERN381_PURGE = """<?xml version="1.0" encoding="UTF-8"?>
<ern:PurgeReleaseMessage xmlns:ern="http://ddex.net/xml/ern/381" MessageSchemaVersionId="ern/381">
<MessageHeader><MessageId>P-9</MessageId><MessageSender><PartyId>PADPIDA2026110101X</PartyId></MessageSender>
<MessageCreatedDateTime>2026-11-09T10:00:00+09:00</MessageCreatedDateTime></MessageHeader>
<PurgedRelease><ReleaseId><ICPN>4589990300018</ICPN></ReleaseId><Title><TitleText>Tsuki no Uta</TitleText></Title></PurgedRelease>
<PurgedRelease><ReleaseId><GRid>A1UCASE0000000012X</GRid></ReleaseId></PurgedRelease>
</ern:PurgeReleaseMessage>
"""


def test_ern3_update_takedown_exclusions_and_purge(landing, ingest):
    landing.holder("tsukiyo", "music")
    landing.write("music", "tsukiyo", "update.xml", ERN382_UPDATE)
    landing.write("music", "tsukiyo", "purge.xml", ERN381_PURGE)
    run = ingest(landing)
    assert run.one(
        "SELECT update_indicator, language_and_script FROM raw.ddex_messages WHERE message_id = 'U-2'"
    ) == ("UpdateMessage", "ja")
    titles = json.loads(run.one("SELECT titles FROM raw.ddex_resources WHERE isrc = 'JPZZ02600001'"))
    assert [(t["title_type"], t["language_script"], t["text"], t["territory"]) for t in titles] == [
        ("ReferenceTitle", None, "Tsuki no Uta", None),
        ("DisplayTitle", None, "Tsuki no Uta", "Worldwide"),
        ("DisplayTitle", "ja-Jpan", "月の歌", "Worldwide"),
    ]
    artist = json.loads(run.one("SELECT artists FROM raw.ddex_resources"))[0]
    assert artist["names"] == [
        {"name": "Tsukino Rei", "language_script": None},
        {"name": "月野レイ", "language_script": "ja-Jpan"},
    ]
    assert run.rows(
        "SELECT territories, excluded_territories, start_date, end_date, is_takedown FROM raw.ddex_deals "
        "ORDER BY deal_position"
    ) == [
        (["Worldwide"], ["KR", "CN"], date(2026, 12, 1), date(2027, 11, 30), False),
        (["JP"], [], date(2027, 1, 1), None, True),
    ]
    assert run.file("purge.xml")[:4] == (
        "partial",
        3,
        2,
        1,
    )  # message row + one purge loaded, one quarantined
    assert run.one("SELECT icpn, title, message_type FROM raw.ddex_purges") == (
        "4589990300018",
        "Tsuki no Uta",
        "PurgeReleaseMessage",
    )
    assert run.reasons("purge.xml") == [
        (
            "/PurgeReleaseMessage/PurgedRelease[2]",
            "PurgedRelease: invalid GRid 'A1UCASE0000000012X': The number's checksum or check digit is invalid.",
        )
    ]


def test_ern37_draft2_namespace_loads_like_37(landing, ingest):
    """ERN 3.7 Draft 2 (`http://ddex.net/xml/ern/37D2`) is still delivered: it reads as 3.7, not refused."""
    message = ERN382_UPDATE.replace("http://ddex.net/xml/ern/382", "http://ddex.net/xml/ern/37D2").replace(
        'MessageSchemaVersionId="ern/382"', 'MessageSchemaVersionId="ern/37D2"'
    )
    landing.holder("tsukiyo", "music")
    landing.write("music", "tsukiyo", "draft2.xml", message)
    run = ingest(landing)
    assert run.file("draft2.xml") == ("loaded", 4, 4, 0, "ddex-ern-3.7")
    assert run.one("SELECT message_id, ern_version FROM raw.ddex_messages") == ("U-2", "3.7")
    assert run.one("SELECT icpn, title, release_type FROM raw.ddex_releases") == (
        "4589990300018",
        "Tsuki no Uta",
        "Single",
    )
    assert run.one("SELECT isrc, duration_seconds FROM raw.ddex_resources") == ("JPZZ02600001", 210)
    assert run.one("SELECT count(*) FROM raw.ddex_deals") == 2
