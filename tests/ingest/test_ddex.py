"""ERN 4.x (pipelines/ingest/ddex.py): real DDEX sample messages, a 50,000-track message, and message semantics."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from tests.conftest import SAMPLES


def ern43_message(
    message_type: str = "NewReleaseMessage",
    created: str = "2026-11-01T09:00:00+09:00",
    message_id: str = "M-1",
    title: str = "Tsuki no Uta",
    tracks: int = 1,
    deal_terms: str = "<TerritoryCode>JP</TerritoryCode><ValidityPeriod><StartDate>2026-12-01</StartDate></ValidityPeriod>"
    "<CommercialModelType>SubscriptionModel</CommercialModelType><UseType>OnDemandStream</UseType>",
) -> bytes:
    """A small well-formed ERN 4.3 message about release R0 (ICPN 4589990300018) with `tracks` recordings."""
    recordings = "".join(
        f"<SoundRecording><ResourceReference>A{n}</ResourceReference><Type>MusicalWorkSoundRecording</Type>"
        f"<ResourceId><ISRC>JPZZ0{26 + n // 100000:02d}{n % 100000:05d}</ISRC></ResourceId>"
        f"<DisplayTitleText>Track {n}</DisplayTitleText>"
        f'<DisplayTitle IsDefault="true"><TitleText>Track {n}</TitleText></DisplayTitle>'
        f'<DisplayTitle LanguageAndScriptCode="ja-Jpan"><TitleText>曲{n}</TitleText></DisplayTitle>'
        f'<DisplayArtist SequenceNumber="1"><ArtistPartyReference>PRei</ArtistPartyReference>'
        f"<DisplayArtistRole>MainArtist</DisplayArtistRole></DisplayArtist><Duration>PT3M{n % 60}S</Duration></SoundRecording>"
        for n in range(1, tracks + 1)
    )
    items = "".join(
        f"<ResourceGroupContentItem><SequenceNumber>{n}</SequenceNumber><ReleaseResourceReference>A{n}"
        f"</ReleaseResourceReference></ResourceGroupContentItem>"
        for n in range(1, tracks + 1)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ern:{message_type} xmlns:ern="http://ddex.net/xml/ern/43" ReleaseProfileVersionId="Audio">
<MessageHeader><MessageThreadId>T-1</MessageThreadId><MessageId>{message_id}</MessageId>
<MessageSender><PartyId>PADPIDA2026110101X</PartyId><PartyName><FullName>Tsukiyo Label</FullName></PartyName></MessageSender>
<MessageCreatedDateTime>{created}</MessageCreatedDateTime></MessageHeader>
<PartyList><Party><PartyReference>PRei</PartyReference><PartyName><FullName>Tsukino Rei</FullName></PartyName>
<PartyName LanguageAndScriptCode="ja-Jpan"><FullName>月野レイ</FullName></PartyName></Party></PartyList>
<ResourceList>{recordings}</ResourceList>
<ReleaseList><Release><ReleaseReference>R0</ReleaseReference><ReleaseType>Album</ReleaseType>
<ReleaseId><ICPN>4589990300018</ICPN></ReleaseId><DisplayTitleText>{title}</DisplayTitleText>
<DisplayTitle IsDefault="true"><TitleText>{title}</TitleText></DisplayTitle>
<ResourceGroup>{items}</ResourceGroup></Release></ReleaseList>
<DealList><ReleaseDeal><DealReleaseReference>R0</DealReleaseReference><Deal><DealTerms>{deal_terms}</DealTerms></Deal></ReleaseDeal></DealList>
</ern:{message_type}>""".encode()


@pytest.mark.real_data
def test_ern43_audio_japanese_album(shared_data, landing, ingest):
    landing.holder("umg", "music").add("music", "umg", shared_data / "ddex" / "ern43_1_Audio.xml")
    run = ingest(landing)
    assert run.file("ern43_1_Audio.xml") == ("loaded", 47, 47, 0, "ddex-ern-4.3")
    title, titles, artist, duration, names = run.one(
        "SELECT title, titles, display_artist, duration_seconds, display_artist_names FROM raw.ddex_resources "
        "WHERE isrc = 'JPTO09404900'"
    )
    assert (title, artist, duration) == ("Yume no Lullaby", "Saeko Shu", 148)
    assert {(t["language_script"], t["text"]) for t in json.loads(titles)} == {
        (None, "Yume no Lullaby"),
        ("ja-Jpan", "夢のララバイ"),
    }
    assert {"name": "しゅうさえこ", "language_script": "ja-Jpan", "match_key": "しゅうさえこ"} in json.loads(
        names
    )
    release = run.one(
        "SELECT icpn, title, label_name, genres, duration_seconds, len(resource_references), title_match_key "
        "FROM raw.ddex_releases WHERE release_reference = 'R0'"
    )
    assert release == (
        "00094631432057",
        "Yume no Hajmari",
        "EMI MUSIC JAPAN INC.",
        ["J-Pop"],
        2190,
        21,
        "yume no hajmari",
    )
    # the half-width katakana title is kept as delivered; its match key is NFKC (full-width)
    kana = [
        t
        for t in json.loads(run.one("SELECT titles FROM raw.ddex_releases WHERE release_reference = 'R0'"))
        if t["language_script"] == "ja-Kana"
    ][0]
    assert (kana["text"], kana["match_key"]) == ("ﾕﾒﾉﾊｼﾞﾏﾘ", "ユメノハジマリ")
    deals = run.rows(
        "SELECT territories, commercial_models, use_types, start_date, end_date FROM raw.ddex_deals "
        "WHERE release_reference = 'R1' ORDER BY deal_position"
    )
    assert deals == [
        (
            ["JP"],
            ["SubscriptionModel", "AdvertisementSupportedModel"],
            ["ConditionalDownload", "Stream"],
            date(2004, 4, 1),
            None,
        ),
        (["JP"], ["PayAsYouGoModel"], ["PermanentDownload", "ConditionalDownload"], date(2004, 4, 1), None),
    ]
    assert run.one("SELECT resource_references FROM raw.ddex_releases WHERE release_reference = 'R1'") == [
        "A1"
    ]


@pytest.mark.real_data
def test_ern43_video_release(shared_data, landing, ingest):
    landing.holder("umg", "music").add("music", "umg", shared_data / "ddex" / "ern43_2_Video.xml")
    run = ingest(landing)
    assert run.file("ern43_2_Video.xml")[:4] == ("loaded", 10, 10, 0)
    video = run.one(
        "SELECT resource_kind, resource_type, title, titles, duration_seconds, language_of_performance "
        "FROM raw.ddex_resources WHERE isrc = 'DEMA61100471'"
    )
    assert video[:3] == ("Video", "ShortFormMusicalWorkVideo", "La Première Fois (Video 2D)")
    assert json.loads(video[3])[0]["subtitle"] == "Video 2D"
    assert video[4:] == (190, "fr")
    assert run.one(
        "SELECT icpn, release_type, label_name FROM raw.ddex_releases WHERE release_reference = 'R0'"
    ) == ("05099962136853", "VideoAlbum", "Capitol Records")
    assert run.one("SELECT territories, start_date FROM raw.ddex_deals") == (
        ["AT", "CH", "DE"],
        date(2012, 2, 17),
    )
    assert run.one("SELECT count(*) FROM raw.ddex_resources WHERE resource_kind = 'Image'") == 3


def test_sample_album_track_order_and_worldwide_minus(landing, ingest):
    landing.holder("sakura-records", "music")
    landing.add("music", "sakura-records", SAMPLES / "music/sakura-records/2026-11-24/ERN43_SKR0001.xml")
    run = ingest(landing)
    release = run.one(
        "SELECT grid, resource_references, track_order FROM raw.ddex_releases WHERE release_reference = 'R0'"
    )
    assert release[0] == "A19ZSKRYMK0000001P"  # as delivered (the README writes it hyphenated)
    assert release[1][:3] == ["A1", "A2", "A3"]
    assert [item["sequence"] for item in json.loads(release[2])][:8] == list(range(1, 9))
    worldwide = run.rows(
        "SELECT territories, excluded_territories, start_date, end_date FROM raw.ddex_deals "
        "WHERE territories = ['Worldwide']"
    )
    assert worldwide and worldwide[0][1:] == (["JP", "KR"], date(2026, 12, 1), date(2027, 11, 30))


def test_update_and_purge_messages_keep_their_order_by_creation_time(landing, ingest):
    """The update arrives first but was created later: both states stay, each with its created time and type."""
    landing.holder("tsukiyo", "music")
    landing.write(
        "music",
        "tsukiyo",
        "a_update.xml",
        ern43_message(
            "UpdateReleaseMessage",
            created="2026-11-03T09:00:00+09:00",
            message_id="M-2",
            title="Tsuki no Uta (Remaster)",
        ),
    )
    landing.write(
        "music", "tsukiyo", "b_new.xml", ern43_message(created="2026-11-01T09:00:00+09:00", message_id="M-1")
    )
    landing.write(
        "music",
        "tsukiyo",
        "c_takedown.xml",
        ern43_message(
            "UpdateReleaseMessage",
            created="2026-11-05T09:00:00+09:00",
            message_id="M-3",
            deal_terms="<TerritoryCode>JP</TerritoryCode><TakeDown>true</TakeDown>",
        ),
    )
    landing.write(
        "music",
        "tsukiyo",
        "d_purge.xml",
        b"""<?xml version="1.0"?>
<ern:PurgeReleaseMessage xmlns:ern="http://ddex.net/xml/ern/43"><MessageHeader><MessageId>M-4</MessageId>
<MessageSender><PartyId>PADPIDA2026110101X</PartyId></MessageSender>
<MessageCreatedDateTime>2026-11-07T09:00:00+09:00</MessageCreatedDateTime></MessageHeader>
<PurgedRelease><ReleaseId><ICPN>4589990300018</ICPN></ReleaseId><DisplayTitleText>Tsuki no Uta</DisplayTitleText></PurgedRelease>
</ern:PurgeReleaseMessage>""",
    )
    run = ingest(landing)
    history = run.rows(
        "SELECT message_type, message_id, title, message_created_at FROM raw.ddex_releases ORDER BY message_created_at"
    )
    assert [(h[0], h[1], h[2]) for h in history] == [
        ("NewReleaseMessage", "M-1", "Tsuki no Uta"),
        ("UpdateReleaseMessage", "M-2", "Tsuki no Uta (Remaster)"),
        ("UpdateReleaseMessage", "M-3", "Tsuki no Uta"),
    ]
    assert history[0][3] == datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    assert run.rows("SELECT message_id, is_takedown FROM raw.ddex_deals ORDER BY message_id") == [
        ("M-1", False),
        ("M-2", False),
        ("M-3", True),
    ]
    assert run.one("SELECT message_type, icpn, title, message_created_at FROM raw.ddex_purges") == (
        "PurgeReleaseMessage",
        "4589990300018",
        "Tsuki no Uta",
        datetime(2026, 11, 7, 0, 0, tzinfo=UTC),
    )
    assert run.rows("SELECT message_type FROM raw.ddex_messages ORDER BY message_created_at") == [
        ("NewReleaseMessage",),
        ("UpdateReleaseMessage",),
        ("UpdateReleaseMessage",),
        ("PurgeReleaseMessage",),
    ]


@pytest.mark.slow  # ~3 s alone on 2 cores, up to ~5 s when other suites share the machine
def test_fifty_thousand_track_message_loads_every_track(landing, ingest):
    """Speed and memory are measured in benchmarks/ingest.py, never asserted here (the machines are noisy)."""
    landing.holder("tsukiyo", "music")
    landing.write("music", "tsukiyo", "big.xml", ern43_message(tracks=50_000))
    run = ingest(landing)
    assert run.file("big.xml")[:4] == (
        "loaded",
        50_003,
        50_003,
        0,
    )  # 50,000 recordings, a release, a deal, the header
    assert run.one("SELECT count(DISTINCT isrc) FROM raw.ddex_resources") == 50_000
    assert run.one("SELECT title, isrc FROM raw.ddex_resources WHERE resource_reference = 'A49999'") == (
        "Track 49999",
        "JPZZ02649999",
    )
    order = run.one("SELECT resource_references FROM raw.ddex_releases")
    assert len(order) == 50_000 and order[:2] == ["A1", "A2"] and order[-1] == "A50000"
