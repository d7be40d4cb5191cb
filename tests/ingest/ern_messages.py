"""Small ERN messages about fictional releases, written for these tests (label, artist, titles, ids invented)."""

from __future__ import annotations

DEAL_WORLDWIDE = """<Deal><DealTerms><CommercialModelType>SubscriptionModel</CommercialModelType>
<Usage><UseType>OnDemandStream</UseType></Usage><TerritoryCode>Worldwide</TerritoryCode>
<ValidityPeriod><StartDate>2026-12-01</StartDate></ValidityPeriod></DealTerms></Deal>"""


def ern382(
    message_id: str = "MSG-1",
    *,
    title_ja: str = "月の歌",
    encoding: str = "UTF-8",
    deals: str = DEAL_WORLDWIDE,
    created: str = "2026-11-03T10:00:00+09:00",
    sender: str = "PADPIDA2026110101X",
    namespace: str = "http://ddex.net/xml/ern/382",
    isrc: str = "JPZZ02600001",
    icpn: str = "4589990300018",
    artist: str = "Tsukino Rei",
) -> str:
    """An ERN 3.8.2 NewReleaseMessage: one recording (isrc), one single (icpn) by one artist, and the given
    Deal elements in one ReleaseDeal for R0."""
    return f"""<?xml version="1.0" encoding="{encoding}"?>
<ern:NewReleaseMessage xmlns:ern="{namespace}" MessageSchemaVersionId="ern/382" LanguageAndScriptCode="ja">
<MessageHeader><MessageId>{message_id}</MessageId><MessageSender><PartyId>{sender}</PartyId></MessageSender>
<MessageCreatedDateTime>{created}</MessageCreatedDateTime></MessageHeader>
<ResourceList><SoundRecording><SoundRecordingType>MusicalWorkSoundRecording</SoundRecordingType>
<SoundRecordingId><ISRC>{isrc}</ISRC></SoundRecordingId><ResourceReference>A1</ResourceReference>
<ReferenceTitle><TitleText>Tsuki no Uta</TitleText></ReferenceTitle><Duration>PT3M30S</Duration>
<SoundRecordingDetailsByTerritory><TerritoryCode>Worldwide</TerritoryCode>
<Title TitleType="DisplayTitle" LanguageAndScriptCode="ja-Jpan"><TitleText>{title_ja}</TitleText></Title>
<DisplayArtistName>{artist}</DisplayArtistName>
<DisplayArtist SequenceNumber="1"><PartyName><FullName>{artist}</FullName></PartyName><ArtistRole>MainArtist</ArtistRole></DisplayArtist>
</SoundRecordingDetailsByTerritory></SoundRecording></ResourceList>
<ReleaseList><Release IsMainRelease="true"><ReleaseId><ICPN>{icpn}</ICPN></ReleaseId><ReleaseReference>R0</ReleaseReference>
<ReferenceTitle><TitleText>Tsuki no Uta</TitleText></ReferenceTitle>
<ReleaseResourceReferenceList><ReleaseResourceReference>A1</ReleaseResourceReference></ReleaseResourceReferenceList>
<ReleaseType>Single</ReleaseType><ReleaseDetailsByTerritory><TerritoryCode>Worldwide</TerritoryCode>
<Title TitleType="DisplayTitle" LanguageAndScriptCode="ja-Jpan"><TitleText>{title_ja}</TitleText></Title>
<DisplayArtistName>{artist}</DisplayArtistName><LabelName>Tsukiyo Label</LabelName></ReleaseDetailsByTerritory></Release></ReleaseList>
<DealList><ReleaseDeal><DealReleaseReference>R0</DealReleaseReference>{deals}</ReleaseDeal></DealList>
</ern:NewReleaseMessage>
"""


def shift_jis_bytes(text: str) -> bytes:
    """text as Shift_JIS bytes: JIS code points (〜 U+301C) and CP932-only characters (①, 髙) alike."""
    out = bytearray()
    for char in text:
        for codec in ("shift_jis", "cp932"):
            try:
                out += char.encode(codec)
                break
            except UnicodeEncodeError:
                continue
        else:
            raise ValueError(f"{char!r} has no Shift_JIS bytes")
    return bytes(out)
