"""DDEX ERN 4.3 messages for generated albums: NewReleaseMessage, UpdateReleaseMessage, PurgeReleaseMessage.

An album is recordings (ISRC), one release (ICPN, EAN-13 check digit from python-stdnum), its genre, display
artist in Japanese and romanised script, and deals for several territories with windows. A message is
written item by item to an open file, so a message of many albums never sits in memory whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TextIO

from pipelines.generate import vocabulary as words
from pipelines.generate.catalog import CatalogShape, Edits, rng_for, title_words

NAMESPACE = "http://ddex.net/xml/ern/43"
RECIPIENT = ("PADPIDA2026110102V", "MSDB Metadata Hub")
ARTISTS_PER_LABEL = 60
# Deal shapes an album may carry: (territory, excluded, models, uses, starts after release (days), lasts (days))
DEAL_SHAPES = [
    [
        (
            "JP",
            (),
            ("SubscriptionModel", "AdvertisementSupportedModel"),
            ("OnDemandStream", "Stream"),
            -30,
            None,
        ),
        ("Worldwide", ("JP", "KR"), ("PayAsYouGoModel",), ("PermanentDownload",), 0, 365),
    ],
    [
        ("JP", (), ("SubscriptionModel",), ("OnDemandStream",), 0, None),
        ("US", (), ("SubscriptionModel", "AdvertisementSupportedModel"), ("OnDemandStream",), 14, 730),
        ("GB", (), ("SubscriptionModel",), ("OnDemandStream",), 14, 730),
    ],
    [
        (
            "Worldwide",
            (),
            ("SubscriptionModel", "AdvertisementSupportedModel"),
            ("OnDemandStream", "Stream"),
            0,
            None,
        ),
    ],
    [
        ("JP", (), ("SubscriptionModel", "AdvertisementSupportedModel"), ("OnDemandStream",), -7, 1095),
        ("Worldwide", ("JP",), ("SubscriptionModel",), ("OnDemandStream",), 30, 365),
    ],
]


def isrc(shape: CatalogShape, label: int, local_album: int, track: int) -> str:
    """JP + a registrant code no one holds + year digits + designation; unique per (label, album, track)."""
    number = local_album * 20 + track
    year, designation = divmod(number, 100_000)
    if year > 89:
        raise ValueError("too many albums for one label's ISRC range")
    return f"JP{shape.label_code(label)}{10 + year:02d}{designation:05d}"


def icpn(label: int, local_album: int) -> str:
    from stdnum import ean

    body = f"45{label:03d}{local_album:07d}"
    return body + ean.calc_check_digit(body)


def artist_names(label: int, artist: int) -> tuple[str, str]:
    """(Japanese, romanised) name of one of a label's artists; every tenth is a band."""
    if artist % 10 == 9:
        first = words.BAND_WORDS[(label + artist) % len(words.BAND_WORDS)]
        second = words.NOUNS[(artist // 10 + label) % len(words.NOUNS)]
        return f"{first[0]}・{second[0]}", f"{first[1]} {second[1]}"
    family = words.FAMILY_NAMES[(artist * 7 + label) % len(words.FAMILY_NAMES)]
    given = words.GIVEN_NAMES[(artist + label * 5) % len(words.GIVEN_NAMES)]
    return f"{family[0]}{given[0]}", f"{family[1]} {given[1]}"


@dataclass
class Album:
    """One album as rendered: everything its recordings, release and deals say."""

    index: int
    label: int
    local: int
    size: int
    icpn: str
    titles: tuple[str, str, str]  # ja, romanised, en
    english_default: bool
    artist: int
    genre: str
    release_date: date
    deal_shape: int
    tracks: list[tuple[str, tuple[str, str, str], int, int, int]]  # isrc, titles, seconds, composer, lyricist
    edits: Edits | None = None

    @property
    def default_title(self) -> str:
        title = self.titles[2] if self.english_default else self.titles[1]
        if self.edits and self.edits.retitled:
            title += (
                " (Deluxe Edition)"
                if self.edits.retitled == 1
                else f" (Deluxe Edition {self.edits.retitled})"
            )
        return title

    @property
    def title_ja(self) -> str:
        title = self.titles[0]
        if self.edits and self.edits.retitled:
            title += "（デラックス・エディション）"
        return title

    @property
    def shown_genre(self) -> str:
        if self.edits and self.edits.genre_shift:
            position = words.MUSIC_GENRES.index(self.genre) + self.edits.genre_shift
            return words.MUSIC_GENRES[position % len(words.MUSIC_GENRES)]
        return self.genre


def album(
    seed: int, shape: CatalogShape, index: int, size: int, start: date, edits: Edits | None = None
) -> Album:
    """Album `index` of the catalog (its label is index mod labels), as the seed makes it."""
    rng = rng_for(seed, "album", index)
    label, local = index % len(shape.labels), index // len(shape.labels)
    tracks = []
    for track in range(size):
        tracks.append(
            (
                isrc(shape, label, local, track),
                title_words(rng),
                150 + rng.randrange(210),
                rng.randrange(ARTISTS_PER_LABEL),
                rng.randrange(ARTISTS_PER_LABEL),
            )
        )
    return Album(
        index=index,
        label=label,
        local=local,
        size=size,
        icpn=icpn(label, local),
        titles=title_words(rng),
        english_default=rng.random() < 0.3,
        artist=rng.randrange(ARTISTS_PER_LABEL),
        genre=rng.choice(words.MUSIC_GENRES),
        release_date=start - timedelta(days=rng.randrange(3650)) + timedelta(days=30),
        deal_shape=rng.randrange(len(DEAL_SHAPES)),
        tracks=tracks,
        edits=edits,
    )


def parties(albums: list[Album]) -> list[int]:
    """The artist numbers a message's albums name (display artists, composers, lyricists), in order."""
    used = set()
    for item in albums:
        used.add(item.artist)
        for _isrc, _titles, _seconds, composer, lyricist in item.tracks:
            used.update((composer, lyricist))
    return sorted(used)


def write_header(
    out: TextIO, message_type: str, message_id: str, created: str, label: int, shape: CatalogShape
) -> None:
    label_name = shape.labels[label][1]
    out.write(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!-- Generated by msdb generate: fictional labels, artists, titles '
        f'and identifiers. -->\n<ern:{message_type} xmlns:ern="{NAMESPACE}" ReleaseProfileVersionId="Audio" '
        f'LanguageAndScriptCode="en" AvsVersionId="4">\n<MessageHeader><MessageThreadId>{message_id.rsplit(".", 1)[0]}'
        f"</MessageThreadId><MessageId>{message_id}</MessageId><MessageSender><PartyId>PADPIDA{label_id_digits(label)}"
        f"</PartyId><PartyName><FullName>{label_name}</FullName></PartyName></MessageSender><MessageRecipient><PartyId>"
        f"{RECIPIENT[0]}</PartyId><PartyName><FullName>{RECIPIENT[1]}</FullName></PartyName></MessageRecipient>"
        f"<MessageCreatedDateTime>{created}</MessageCreatedDateTime></MessageHeader>\n"
    )


def label_id_digits(label: int) -> str:
    """The digits of a label's DPID (PADPIDA + 11 characters), fictional."""
    return f"2099{label:06d}X"


def write_party_list(out: TextIO, label: int, artists: list[int], shape: CatalogShape) -> None:
    out.write("<PartyList>\n")
    out.write(
        f"<Party><PartyReference>PLabel</PartyReference><PartyName><FullName>{shape.labels[label][1]}</FullName>"
        f"</PartyName></Party>\n"
    )
    for artist in artists:
        ja, latn = artist_names(label, artist)
        out.write(
            f"<Party><PartyReference>P{artist}</PartyReference><PartyName><FullName>{latn}</FullName></PartyName>"
            f'<PartyName LanguageAndScriptCode="ja-Jpan"><FullName>{ja}</FullName></PartyName></Party>\n'
        )
    out.write("</PartyList>\n")


def write_recordings(out: TextIO, item: Album, label_name: str) -> None:
    ja_artist, latn_artist = artist_names(item.label, item.artist)
    year = item.release_date.year
    p_line = f"(P) {year} {label_name}"
    for number, (code, (ja, latn, en), seconds, composer, lyricist) in enumerate(item.tracks, start=1):
        default = en if item.english_default else latn
        reference = f"A{item.index}_{number}"
        minutes, rest = divmod(seconds, 60)
        out.write(
            f"<SoundRecording><ResourceReference>{reference}</ResourceReference><Type>MusicalWorkSoundRecording</Type>"
            f"<SoundRecordingEdition><ResourceId><ISRC>{code}</ISRC></ResourceId><PLine><Year>{year}</Year><PLineText>"
            f"{p_line}</PLineText></PLine><TechnicalDetails>"
            f"<TechnicalResourceDetailsReference>T{reference}</TechnicalResourceDetailsReference><DeliveryFile>"
            f"<Type>AudioFile</Type><AudioCodecType>FLAC</AudioCodecType><File><URI>resources/{item.icpn}_01_{number:03d}"
            f".flac</URI></File></DeliveryFile></TechnicalDetails></SoundRecordingEdition>\n"
            f"<DisplayTitleText>{default}</DisplayTitleText>"
            f'<DisplayTitle ApplicableTerritoryCode="Worldwide" IsDefault="true"><TitleText>{default}</TitleText></DisplayTitle>'
            f'<DisplayTitle LanguageAndScriptCode="ja-Jpan" ApplicableTerritoryCode="Worldwide"><TitleText>{ja}</TitleText></DisplayTitle>'
            f'<DisplayTitle LanguageAndScriptCode="ja-Latn" ApplicableTerritoryCode="Worldwide"><TitleText>{latn}</TitleText></DisplayTitle>\n'
            f'<DisplayArtistName ApplicableTerritoryCode="Worldwide" LanguageAndScriptCode="ja-Latn" IsDefault="true">'
            f"{latn_artist}</DisplayArtistName>"
            f'<DisplayArtistName ApplicableTerritoryCode="Worldwide" LanguageAndScriptCode="ja-Jpan">{ja_artist}</DisplayArtistName>'
            f'<DisplayArtist SequenceNumber="1"><ArtistPartyReference>P{item.artist}</ArtistPartyReference>'
            f"<DisplayArtistRole>MainArtist</DisplayArtistRole></DisplayArtist>"
            f'<Contributor SequenceNumber="1"><ContributorPartyReference>P{composer}</ContributorPartyReference>'
            f"<Role>Composer</Role></Contributor>"
            f'<Contributor SequenceNumber="2"><ContributorPartyReference>P{lyricist}</ContributorPartyReference>'
            f"<Role>Lyricist</Role></Contributor>"
            f"<Duration>PT{minutes}M{rest}S</Duration><ParentalWarningType>NotExplicit</ParentalWarningType>"
            f"<LanguageOfPerformance>ja</LanguageOfPerformance></SoundRecording>\n"
        )


def write_release(out: TextIO, item: Album) -> None:
    ja_artist, latn_artist = artist_names(item.label, item.artist)
    items = "".join(
        f"<ResourceGroupContentItem><SequenceNumber>{n}</SequenceNumber><ReleaseResourceReference>A{item.index}_{n}"
        f"</ReleaseResourceReference></ResourceGroupContentItem>"
        for n in range(1, item.size + 1)
    )
    seconds = sum(track[2] for track in item.tracks)
    default = item.default_title
    release_type = "Album" if item.size >= 7 else "Single" if item.size <= 3 else "EP"
    out.write(
        f"<Release><ReleaseReference>R{item.index}</ReleaseReference><ReleaseType>{release_type}</ReleaseType>"
        f"<ReleaseId><ICPN>{item.icpn}</ICPN></ReleaseId><DisplayTitleText>{default}</DisplayTitleText>"
        f'<DisplayTitle ApplicableTerritoryCode="Worldwide" IsDefault="true"><TitleText>{default}</TitleText></DisplayTitle>'
        f'<DisplayTitle LanguageAndScriptCode="ja-Jpan" ApplicableTerritoryCode="Worldwide"><TitleText>{item.title_ja}'
        f"</TitleText></DisplayTitle>"
        f'<DisplayArtistName ApplicableTerritoryCode="Worldwide" LanguageAndScriptCode="ja-Latn" IsDefault="true">'
        f"{latn_artist}</DisplayArtistName>"
        f'<DisplayArtistName ApplicableTerritoryCode="Worldwide" LanguageAndScriptCode="ja-Jpan">{ja_artist}</DisplayArtistName>'
        f'<DisplayArtist SequenceNumber="1"><ArtistPartyReference>P{item.artist}</ArtistPartyReference>'
        f"<DisplayArtistRole>MainArtist</DisplayArtistRole></DisplayArtist>"
        f'<ReleaseLabelReference ApplicableTerritoryCode="Worldwide">PLabel</ReleaseLabelReference>'
        f"<Duration>PT{seconds // 60}M{seconds % 60}S</Duration>"
        f'<Genre ApplicableTerritoryCode="Worldwide"><GenreText>{item.shown_genre}</GenreText></Genre>'
        f'<ReleaseDate ApplicableTerritoryCode="Worldwide" IsDefault="true">{item.release_date.isoformat()}</ReleaseDate>'
        f"<ResourceGroup><SequenceNumber>1</SequenceNumber>{items}</ResourceGroup></Release>\n"
    )


def write_deals(out: TextIO, item: Album, takedown_on: date | None = None) -> None:
    """The album's deals; a window end (edits.window_end) closes its first deal that day; takedown_on: one
    TakeDown deal, Worldwide from that day, instead of them."""
    out.write(f"<ReleaseDeal><DealReleaseReference>R{item.index}</DealReleaseReference>")
    if takedown_on is not None:
        out.write(
            f"<Deal><DealTerms><TakeDown>true</TakeDown><TerritoryCode>Worldwide</TerritoryCode><ValidityPeriod>"
            f"<StartDate>{takedown_on.isoformat()}</StartDate></ValidityPeriod></DealTerms></Deal></ReleaseDeal>\n"
        )
        return
    ended = item.edits.window_end if item.edits else None
    for position, (territory, excluded, models, uses, after, lasts) in enumerate(
        DEAL_SHAPES[item.deal_shape]
    ):
        start = item.release_date + timedelta(days=after)
        end = start + timedelta(days=lasts) if lasts else None
        if position == 0 and ended is not None:
            end = max(ended, start)
        out.write(
            f"<Deal><DealTerms><TerritoryCode>{territory}</TerritoryCode>"
            + "".join(f"<ExcludedTerritoryCode>{code}</ExcludedTerritoryCode>" for code in excluded)
            + f"<ValidityPeriod><StartDate>{start.isoformat()}</StartDate>"
            + (f"<EndDate>{end.isoformat()}</EndDate>" if end else "")
            + "</ValidityPeriod>"
            + "".join(f"<CommercialModelType>{model}</CommercialModelType>" for model in models)
            + "".join(f"<UseType>{use}</UseType>" for use in uses)
            + "</DealTerms></Deal>"
        )
    out.write("</ReleaseDeal>\n")


def write_message(
    out: TextIO,
    message_type: str,
    message_id: str,
    created: str,
    label: int,
    albums: list[Album],
    shape: CatalogShape,
    takedown_on: date | None = None,
) -> int:
    """A New- or UpdateReleaseMessage of the albums; returns the records ingest will find in it (message,
    recordings, releases, release deals)."""
    write_header(out, message_type, message_id, created, label, shape)
    write_party_list(out, label, parties(albums), shape)
    out.write("<ResourceList>\n")
    for item in albums:
        write_recordings(out, item, shape.labels[label][1])
    out.write("</ResourceList>\n<ReleaseList>\n")
    for item in albums:
        write_release(out, item)
    out.write("</ReleaseList>\n<DealList>\n")
    for item in albums:
        write_deals(out, item, takedown_on)
    out.write(f"</DealList>\n</ern:{message_type}>\n")
    return 1 + sum(item.size for item in albums) + 2 * len(albums)


def write_purge(
    out: TextIO, message_id: str, created: str, label: int, albums: list[Album], shape: CatalogShape
) -> int:
    """A PurgeReleaseMessage withdrawing the albums by ICPN; returns the records ingest will find."""
    write_header(out, "PurgeReleaseMessage", message_id, created, label, shape)
    for item in albums:
        out.write(
            f"<PurgedRelease><ReleaseId><ICPN>{item.icpn}</ICPN></ReleaseId>"
            f"<DisplayTitleText>{item.default_title}</DisplayTitleText></PurgedRelease>\n"
        )
    out.write("</ern:PurgeReleaseMessage>\n")
    return 1 + len(albums)


def write_streamed_message(
    out: TextIO,
    message_id: str,
    created: str,
    label: int,
    album_at: Callable[[int], Album],
    albums: int,
    shape: CatalogShape,
) -> int:
    """One NewReleaseMessage of any number of albums in bounded memory: each album is rendered again for each
    list it appears in (resources, releases, deals) instead of being held, and the party list names all the
    label's artists. Returns the records ingest will find."""
    write_header(out, "NewReleaseMessage", message_id, created, label, shape)
    write_party_list(out, label, list(range(ARTISTS_PER_LABEL)), shape)
    out.write("<ResourceList>\n")
    recordings = 0
    for index in range(albums):
        item = album_at(index)
        write_recordings(out, item, shape.labels[label][1])
        recordings += item.size
    out.write("</ResourceList>\n<ReleaseList>\n")
    for index in range(albums):
        write_release(out, album_at(index))
    out.write("</ReleaseList>\n<DealList>\n")
    for index in range(albums):
        write_deals(out, album_at(index))
    out.write("</DealList>\n</ern:NewReleaseMessage>\n")
    return 1 + recordings + 2 * albums
