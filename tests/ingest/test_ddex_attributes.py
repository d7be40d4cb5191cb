"""Recording and release attributes read from what DDEX says they are (issue 9): the display artist from
DisplayArtistName or the main-artist role (never composers or lyricists), release dates given only per
territory, and recordings without an ISRC (DJ-mix supplemental tracks) that still become works."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.ingest.conftest import FIXTURES

MIX_ALBUM = FIXTURES / "attributes" / "ern382_mix_album.xml"


def _mix_album_run(landing, ingest):
    landing.holder("harbour-lights", "music").add("music", "harbour-lights", MIX_ALBUM)
    return ingest(landing)


def test_ern3_display_artist_is_the_display_artist_name_or_the_main_artists(landing, ingest):
    run = _mix_album_run(landing, ingest)
    assert run.rows(
        "SELECT resource_reference, display_artist, display_artist_match_key FROM raw.ddex_resources "
        "ORDER BY resource_reference"
    ) == [
        # no DisplayArtistName: the MainArtist, then the FeaturedArtist; not the composer listed beside them
        ("A1", "Minato Yui feat. Kaiyo Ren", "minato yui feat. kaiyo ren"),
        # a DisplayArtistName is what the label wants shown, whatever DisplayArtist lists
        ("A2", "Minato Yui with the Pier Strings", "minato yui with the pier strings"),
        # only a composer and a conductor: no display artist of its own (DDEX: it shares the release's)
        ("A3", None, None),
        ("A4", "DJ Tomoshibi", "dj tomoshibi"),
        ("A5", "DJ Tomoshibi", "dj tomoshibi"),
    ]
    assert run.one("SELECT display_artist FROM raw.ddex_releases") == "Minato Yui"


def test_ern3_release_dates_only_in_territory_blocks_are_used(landing, ingest):
    run = _mix_album_run(landing, ingest)
    release_date, original, per_territory = run.one(
        "SELECT release_date, original_release_date, release_dates FROM raw.ddex_releases"
    )
    # the Worldwide block has none: the earliest territory date (KR/TW), and JP's original release date
    assert (release_date, original) == (date(2026, 12, 2), date(2026, 12, 9))
    assert json.loads(per_territory) == [
        {
            "territories": ["JP"],
            "excluded_territories": [],
            "release_date": "2026-12-09",
            "original_release_date": "2026-12-09",
        },
        {
            "territories": ["KR", "TW"],
            "excluded_territories": [],
            "release_date": "2026-12-02",
            "original_release_date": None,
        },
    ]


def test_ern3_worldwide_release_date_wins_over_earlier_territory_dates(landing, ingest):
    message = MIX_ALBUM.read_text(encoding="utf-8").replace(
        "<DisplayArtistName>Minato Yui</DisplayArtistName>\n<LabelName>",
        "<DisplayArtistName>Minato Yui</DisplayArtistName><ReleaseDate>2026-12-16</ReleaseDate>\n<LabelName>",
        1,
    )
    landing.holder("harbour-lights", "music").write("music", "harbour-lights", "worldwide_date.xml", message)
    run = ingest(landing)
    assert run.one("SELECT release_date, original_release_date FROM raw.ddex_releases") == (
        date(2026, 12, 16),
        date(2026, 12, 9),
    )


def test_recordings_without_isrc_load_with_their_proprietary_id(landing, ingest):
    run = _mix_album_run(landing, ingest)
    assert run.file("ern382_mix_album.xml")[:4] == ("loaded", 8, 8, 0)
    assert run.rows(
        "SELECT resource_reference, isrc, proprietary_id, title FROM raw.ddex_resources "
        "WHERE isrc IS NULL ORDER BY resource_reference"
    ) == [
        ("A4", None, "HLMIX-0004", "Harbour Lights (Continuous Mix)"),
        ("A5", None, None, "Harbour Lights (Intro)"),
    ]


def test_recording_without_isrc_or_sender_is_quarantined_with_a_reason(landing, ingest):
    message = MIX_ALBUM.read_text(encoding="utf-8").replace("<PartyId>PADPIDA2026120101Z</PartyId>", "")
    landing.holder("harbour-lights", "music").write("music", "harbour-lights", "no_sender.xml", message)
    run = ingest(landing)
    assert run.file("no_sender.xml")[:4] == ("partial", 8, 6, 2)
    assert run.reasons("no_sender.xml") == [
        (
            "/NewReleaseMessage/ResourceList/SoundRecording[4]",
            "SoundRecording A4: no ISRC and no MessageSender PartyId, so it cannot be keyed as a work "
            "(ProprietaryId 'HLMIX-0004')",
        ),
        (
            "/NewReleaseMessage/ResourceList/SoundRecording[5]",
            "SoundRecording A5: no ISRC and no MessageSender PartyId, so it cannot be keyed as a work "
            "(ProprietaryId None)",
        ),
    ]


ERN43_CREDITS = """<?xml version="1.0" encoding="UTF-8"?>
<ern:NewReleaseMessage xmlns:ern="http://ddex.net/xml/ern/43" ReleaseProfileVersionId="Audio">
<MessageHeader><MessageId>HL-43</MessageId>
<MessageSender><PartyId>PADPIDA2026120101Z</PartyId><PartyName><FullName>Harbour Lights Records</FullName></PartyName></MessageSender>
<MessageCreatedDateTime>2026-11-20T10:00:00+09:00</MessageCreatedDateTime></MessageHeader>
<PartyList>
<Party><PartyReference>PYui</PartyReference><PartyName><FullName>Minato Yui</FullName></PartyName></Party>
<Party><PartyReference>PRen</PartyReference><PartyName><FullName>Kaiyo Ren</FullName></PartyName></Party>
<Party><PartyReference>PKoji</PartyReference><PartyName><FullName>Sazanami Koji</FullName></PartyName></Party>
<Party><PartyReference>PAki</PartyReference><PartyName><FullName>Umino Aki</FullName></PartyName></Party>
</PartyList>
<ResourceList><SoundRecording><ResourceReference>A1</ResourceReference><Type>MusicalWorkSoundRecording</Type>
<ResourceId><ISRC>JPHL02600011</ISRC></ResourceId>
<DisplayTitleText>Lantern Quay</DisplayTitleText><DisplayTitle IsDefault="true"><TitleText>Lantern Quay</TitleText></DisplayTitle>
<DisplayArtist SequenceNumber="2"><ArtistPartyReference>PRen</ArtistPartyReference><DisplayArtistRole>FeaturedArtist</DisplayArtistRole></DisplayArtist>
<DisplayArtist SequenceNumber="1"><ArtistPartyReference>PYui</ArtistPartyReference><DisplayArtistRole>MainArtist</DisplayArtistRole></DisplayArtist>
<Contributor SequenceNumber="1"><ContributorPartyReference>PKoji</ContributorPartyReference><Role>Composer</Role></Contributor>
<Contributor SequenceNumber="2"><ContributorPartyReference>PAki</ContributorPartyReference><Role>Lyricist</Role></Contributor>
<Duration>PT3M40S</Duration></SoundRecording></ResourceList>
<ReleaseList><Release><ReleaseReference>R0</ReleaseReference><ReleaseType>Single</ReleaseType>
<ReleaseId><ICPN>4589990300032</ICPN></ReleaseId><DisplayTitleText>Lantern Quay</DisplayTitleText>
<DisplayTitle IsDefault="true"><TitleText>Lantern Quay</TitleText></DisplayTitle>
<DisplayArtistName>Minato Yui</DisplayArtistName>
<DisplayArtist SequenceNumber="1"><ArtistPartyReference>PYui</ArtistPartyReference><DisplayArtistRole>MainArtist</DisplayArtistRole></DisplayArtist>
<ReleaseDate ApplicableTerritoryCode="JP">2026-12-09</ReleaseDate>
<ReleaseDate ApplicableTerritoryCode="KR">2026-12-02</ReleaseDate>
<OriginalReleaseDate ApplicableTerritoryCode="JP">2026-11-30</OriginalReleaseDate>
<ResourceGroup><ResourceGroupContentItem><SequenceNumber>1</SequenceNumber><ReleaseResourceReference>A1</ReleaseResourceReference></ResourceGroupContentItem></ResourceGroup>
</Release></ReleaseList>
<DealList/>
</ern:NewReleaseMessage>
"""


def test_ern4_display_artist_from_main_artist_role_and_territory_release_dates(landing, ingest):
    landing.holder("harbour-lights", "music").write("music", "harbour-lights", "single43.xml", ERN43_CREDITS)
    run = ingest(landing)
    assert run.one("SELECT isrc, display_artist, display_artist_match_key FROM raw.ddex_resources") == (
        "JPHL02600011",
        "Minato Yui feat. Kaiyo Ren",
        "minato yui feat. kaiyo ren",
    )
    assert run.one("SELECT display_artist, release_date, original_release_date FROM raw.ddex_releases") == (
        "Minato Yui",
        date(2026, 12, 2),
        date(2026, 11, 30),
    )


def test_ern4_worldwide_release_date_wins(landing, ingest):
    message = ERN43_CREDITS.replace(
        '<ReleaseDate ApplicableTerritoryCode="JP">',
        '<ReleaseDate>2026-12-20</ReleaseDate>\n<ReleaseDate ApplicableTerritoryCode="JP">',
    )
    landing.holder("harbour-lights", "music").write("music", "harbour-lights", "single43_ww.xml", message)
    run = ingest(landing)
    assert run.one("SELECT release_date FROM raw.ddex_releases") == date(2026, 12, 20)


@pytest.mark.real_data
def test_real_classical_tracks_do_not_show_composer_and_conductor_as_artist(shared_data, landing, ingest):
    # the DDEX classical profile: tracks credit a composer, a conductor and an orchestra as DisplayArtists and
    # have no DisplayArtistName ("the same as for the Release")
    classical = shared_data / "ddex" / "ern382_Profile_DigitalClassicalAudioAlbum_MulitPartWork.xml"
    landing.holder("labels", "music").add("music", "labels", classical)
    run = ingest(landing)
    track = run.one("SELECT display_artist, artists FROM raw.ddex_resources WHERE isrc = 'CASE00000902'")
    assert track[0] is None
    assert [(a["name"], a["role"]) for a in json.loads(track[1])] == [
        ("Antonio Vivaldi", "Composer"),
        ("Ludwig von Edwig", "Conductor"),
        ("The Streatham Philharmonic Orchestra", "Orchestra"),
    ]
