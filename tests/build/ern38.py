"""Small DDEX ERN 3.8 messages about fictional releases, written for the rights tests of the build.

Each test describes its case with a few dataclasses (recordings, releases, deals) and `message()` writes the
XML the way label deliveries do: one Release per product (the album and, often, one per track), the
`IsMainRelease` attribute only when asked for, deals per ReleaseDeal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from stdnum import ean
from stdnum.iso7064 import mod_37_36


def icpn(first_12_digits: str) -> str:
    """A valid EAN-13 ICPN from its first 12 digits."""
    return first_12_digits + ean.calc_check_digit(first_12_digits)


def grid(first_17_characters: str) -> str:
    """A valid GRid ('A1' + issuer + release number) from its first 17 characters."""
    return first_17_characters + mod_37_36.calc_check_digit(first_17_characters)


def mischeck(identifier: str) -> str:
    """The identifier with a wrong check character (for a release that ingest must refuse)."""
    last = identifier[-1]
    wrong = str((int(last) + 1) % 10) if last.isdigit() else ("0" if last != "0" else "1")
    return identifier[:-1] + wrong


@dataclass
class Recording:
    reference: str  # A1, A2 ...
    isrc: str
    title: str


@dataclass
class Release:
    reference: str  # R0, R1 ...
    title: str
    resources: list[str]
    icpn: str | None = None
    grid: str | None = None
    proprietary_id: str | None = None
    release_type: str = "Album"
    is_main: bool | None = None  # None: no IsMainRelease attribute at all


@dataclass
class Deal:
    release: str
    territories: list[str] = field(default_factory=lambda: ["Worldwide"])
    models: list[str] = field(default_factory=lambda: ["SubscriptionModel"])
    uses: list[str] = field(default_factory=lambda: ["OnDemandStream"])
    start: str = "2026-12-01"
    end: str | None = None


def _recording(r: Recording) -> str:
    return (
        "<SoundRecording><SoundRecordingType>MusicalWorkSoundRecording</SoundRecordingType>"
        f"<SoundRecordingId><ISRC>{r.isrc}</ISRC></SoundRecordingId><ResourceReference>{r.reference}</ResourceReference>"
        f"<ReferenceTitle><TitleText>{escape(r.title)}</TitleText></ReferenceTitle><Duration>PT3M10S</Duration>"
        "<SoundRecordingDetailsByTerritory><TerritoryCode>Worldwide</TerritoryCode>"
        f'<Title TitleType="DisplayTitle"><TitleText>{escape(r.title)}</TitleText></Title>'
        "<DisplayArtist><PartyName><FullName>Kiriyama Nagi</FullName></PartyName><ArtistRole>MainArtist</ArtistRole>"
        "</DisplayArtist></SoundRecordingDetailsByTerritory></SoundRecording>"
    )


def _release(r: Release) -> str:
    ids = "".join(
        f"<{kind}>{value}</{kind}>"
        for kind, value in (("GRid", r.grid), ("ICPN", r.icpn), ("ProprietaryId", r.proprietary_id))
        if value
    )
    if r.proprietary_id:
        ids = ids.replace("<ProprietaryId>", '<ProprietaryId Namespace="PADPIDA2026120101K">')
    main = "" if r.is_main is None else f' IsMainRelease="{str(r.is_main).lower()}"'
    references = "".join(f"<ReleaseResourceReference>{ref}</ReleaseResourceReference>" for ref in r.resources)
    return (
        f"<Release{main}><ReleaseId>{ids}</ReleaseId><ReleaseReference>{r.reference}</ReleaseReference>"
        f"<ReferenceTitle><TitleText>{escape(r.title)}</TitleText></ReferenceTitle>"
        f"<ReleaseResourceReferenceList>{references}</ReleaseResourceReferenceList>"
        f"<ReleaseType>{r.release_type}</ReleaseType>"
        "<ReleaseDetailsByTerritory><TerritoryCode>Worldwide</TerritoryCode>"
        "<DisplayArtistName>Kiriyama Nagi</DisplayArtistName><LabelName>Kirigami Sound</LabelName>"
        f'<Title TitleType="DisplayTitle"><TitleText>{escape(r.title)}</TitleText></Title>'
        "</ReleaseDetailsByTerritory></Release>"
    )


def _deal(d: Deal) -> str:
    terms = "".join(f"<CommercialModelType>{m}</CommercialModelType>" for m in d.models)
    terms += "<Usage>" + "".join(f"<UseType>{u}</UseType>" for u in d.uses) + "</Usage>"
    terms += "".join(f"<TerritoryCode>{t}</TerritoryCode>" for t in d.territories)
    end = f"<EndDate>{d.end}</EndDate>" if d.end else ""
    terms += f"<ValidityPeriod><StartDate>{d.start}</StartDate>{end}</ValidityPeriod>"
    return f"<Deal><DealTerms>{terms}</DealTerms></Deal>"


def message(
    message_id: str,
    created: str,
    recordings: list[Recording],
    releases: list[Release],
    deals: list[Deal],
    root: str = "NewReleaseMessage",
) -> str:
    """created: MessageCreatedDateTime, e.g. '2026-11-01T10:00:00+09:00'. Deals of one release share a
    ReleaseDeal, in the order given."""
    by_release: dict[str, list[Deal]] = {}
    for deal in deals:
        by_release.setdefault(deal.release, []).append(deal)
    deal_list = "".join(
        f"<ReleaseDeal><DealReleaseReference>{ref}</DealReleaseReference>{''.join(_deal(d) for d in group)}</ReleaseDeal>"
        for ref, group in by_release.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<ern:{root} xmlns:ern="http://ddex.net/xml/ern/38" MessageSchemaVersionId="ern/38" LanguageAndScriptCode="en">'
        f"<MessageHeader><MessageId>{message_id}</MessageId><MessageSender><PartyId>PADPIDA2026120101K</PartyId>"
        "<PartyName><FullName>Kirigami Sound</FullName></PartyName></MessageSender>"
        f"<MessageCreatedDateTime>{created}</MessageCreatedDateTime></MessageHeader>"
        "<UpdateIndicator>OriginalMessage</UpdateIndicator>"
        f"<ResourceList>{''.join(_recording(r) for r in recordings)}</ResourceList>"
        f"<ReleaseList>{''.join(_release(r) for r in releases)}</ReleaseList>"
        f"<DealList>{deal_list}</DealList>"
        f"</ern:{root}>\n"
    )
