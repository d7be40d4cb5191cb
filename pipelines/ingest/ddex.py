"""DDEX ERN 4.x messages (4.1, 4.1.1, 4.2, 4.3): releases, resources, track order, deals and purges.

The message streams through lxml iterparse, reporting only the end of list items (party, resource, release,
deal): each is handled when its end tag arrives and then freed, so a 1 GB message parses in bounded memory.
Parties come first in ERN 4 (PartyList), so names are resolved by reference as resources and releases arrive.
ERN 3.x lives in `ern3.py`; what both share (header, deals, purges, track order) in `ddex_message.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pipelines.ingest import xmlsafe
from pipelines.ingest.ddex_message import (
    LISTS,
    MESSAGE_TYPES,
    MessageState,
    dumps,
    id_problems,
    identifiers,
    title_entry,
    track_order,
)
from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile
from pipelines.ingest.values import iso_duration_seconds, match_key, parse_date
from pipelines.ingest.xmlsafe import child, child_index, children, first_text, localname, text, texts

ERN4_NAMESPACES = {
    "http://ddex.net/xml/ern/41": "4.1",
    "http://ddex.net/xml/ern/411": "4.1.1",
    "http://ddex.net/xml/ern/42": "4.2",
    "http://ddex.net/xml/ern/43": "4.3",
}
RESOURCE_KINDS = ("SoundRecording", "Video", "Image", "Text", "SheetMusic", "Software")
RELEASE_KINDS = ("Release", "TrackRelease")
_STREAMED = ("MessageHeader", "Party", "ReleaseDeal", "PurgedRelease", *RESOURCE_KINDS, *RELEASE_KINDS)


def accepts(namespace: str | None, root: str) -> bool:
    return namespace in ERN4_NAMESPACES and root in MESSAGE_TYPES


def _titles(index: dict[str, list]) -> list[dict]:
    titles = []
    for node in index.get("DisplayTitle", ()):
        entry = title_entry(
            node,
            "DisplayTitle",
            language_script=node.get("LanguageAndScriptCode"),
            territory=node.get("ApplicableTerritoryCode"),
            is_default=node.get("IsDefault") == "true",
        )
        if entry:
            titles.append(entry)
    for node in index.get("AdditionalTitle", ()):
        entry = title_entry(
            node,
            node.get("TitleType") or "AdditionalTitle",
            language_script=node.get("LanguageAndScriptCode"),
            territory=node.get("ApplicableTerritoryCode"),
            is_default=False,
        )
        if entry:
            titles.append(entry)
    return titles


def _default_title(index: dict[str, list], titles: list[dict]) -> str | None:
    display = first_text(index.get("DisplayTitleText"))
    if display:
        return display
    for title in titles:
        if title["is_default"]:
            return title["text"]
    return titles[0]["text"] if titles else None


def _display_artist(index: dict[str, list]) -> str | None:
    names = [n for n in index.get("DisplayArtistName", ()) if n.text and n.text.strip()]
    for node in names:
        if node.get("IsDefault") == "true":
            return node.text.strip()
    for node in names:
        if node.get("LanguageAndScriptCode") is None:
            return node.text.strip()
    return names[0].text.strip() if names else None


def _display_artist_names(index: dict[str, list]) -> list[dict]:
    return [
        {
            "name": n.text.strip(),
            "language_script": n.get("LanguageAndScriptCode"),
            "match_key": match_key(n.text),
        }
        for n in index.get("DisplayArtistName", ())
        if n.text and n.text.strip()
    ]


class _Ern4Message(MessageState):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parties: dict[str, dict] = {}

    def party_names(self, reference: str | None) -> dict:
        return self.parties.get(reference or "", {"name": reference, "names": [], "party_id": None})

    def party(self, elem) -> None:
        reference = text(elem, "PartyReference")
        names = [
            {"name": text(n, "FullName"), "language_script": n.get("LanguageAndScriptCode")}
            for n in children(elem, "PartyName")
            if text(n, "FullName")
        ]
        default = next((n["name"] for n in names if n["language_script"] is None), None)
        self.parties[reference or ""] = {
            "name": default or (names[0]["name"] if names else None),
            "names": names,
            "party_id": text(elem, "PartyId")
            or text(elem, "PartyId", "ISNI")
            or text(elem, "PartyId", "DPID"),
        }

    def resource(self, elem) -> Record | Quarantined:
        kind = localname(elem)
        position = self.position("ResourceList", kind)
        index = child_index(elem)
        reference = first_text(index.get("ResourceReference"))
        if not reference:
            return Quarantined(position, f"{kind} without ResourceReference")
        ids = identifiers(next(iter(index.get("ResourceId", ())), None))
        editions = index.get("SoundRecordingEdition", []) + index.get("VideoEdition", [])
        for edition in editions:
            for kind_name, value in identifiers(child(edition, "ResourceId")).items():
                ids.setdefault(kind_name, value)
        problems = id_problems(ids)
        if problems:
            return Quarantined(position, f"{kind} {reference}: {'; '.join(problems)}")
        titles = _titles(index)
        title = _default_title(index, titles)
        artists = [
            self.party_names(text(a, "ArtistPartyReference"))
            | {"role": text(a, "DisplayArtistRole"), "sequence": a.get("SequenceNumber")}
            for a in index.get("DisplayArtist", ())
        ]
        contributors = [
            self.party_names(text(c, "ContributorPartyReference"))
            | {"roles": texts(c, "Role"), "sequence": c.get("SequenceNumber")}
            for c in index.get("Contributor", ())
        ]
        p_line = text(elem, "PLine", "PLineText")
        for edition in editions:
            p_line = p_line or text(edition, "PLine", "PLineText")
        display_artist = _display_artist(index)
        row = self.base(position) | {
            "resource_reference": reference,
            "resource_kind": kind,
            "resource_type": first_text(index.get("Type")),
            "isrc": ids.get("ISRC"),
            "iswc": None,
            "proprietary_id": ids.get("ProprietaryId"),
            "title": title,
            "title_match_key": match_key(title),
            "titles": dumps(titles),
            "display_artist": display_artist,
            "display_artist_match_key": match_key(display_artist),
            "display_artist_names": dumps(_display_artist_names(index)),
            "artists": dumps(artists),
            "contributors": dumps(contributors),
            "duration_seconds": iso_duration_seconds(first_text(index.get("Duration"))),
            "parental_warning": first_text(index.get("ParentalWarningType")),
            "language_of_performance": first_text(index.get("LanguageOfPerformance")),
            "creation_date": first_text(index.get("CreationDate")),
            "p_line": p_line,
            "genres": [g for node in index.get("Genre", ()) for g in texts(node, "GenreText")],
            "label_name": None,
        }
        return Record(position, [("raw.ddex_resources", row)])

    def release(self, elem) -> Record | Quarantined:
        kind = localname(elem)
        position = self.position("ReleaseList", kind)
        reference = text(elem, "ReleaseReference")
        if not reference:
            return Quarantined(position, f"{kind} without ReleaseReference")
        ids = identifiers(child(elem, "ReleaseId"))
        problems = id_problems(ids)
        if problems:
            return Quarantined(position, f"{kind} {reference}: {'; '.join(problems)}")
        index = child_index(elem)
        titles = _titles(index)
        title = _default_title(index, titles)
        order = track_order(elem)
        resource_refs = [item["resource_reference"] for item in order]
        resource_refs += [r for r in texts(elem, "ReleaseResourceReference") if r not in resource_refs]
        label = text(elem, "ReleaseLabelReference")
        display_artist = _display_artist(index)
        artists = [
            self.party_names(text(a, "ArtistPartyReference"))
            | {"role": text(a, "DisplayArtistRole"), "sequence": a.get("SequenceNumber")}
            for a in children(elem, "DisplayArtist")
        ]
        row = self.base(position) | {
            "release_reference": reference,
            "release_type": text(elem, "ReleaseType"),
            "is_main_release": kind == "Release",
            "icpn": ids.get("ICPN"),
            "grid": ids.get("GRid"),
            "isrc": ids.get("ISRC"),
            "catalog_number": ids.get("CatalogNumber"),
            "proprietary_id": ids.get("ProprietaryId"),
            "title": title,
            "title_match_key": match_key(title),
            "titles": dumps(titles),
            "display_artist": display_artist,
            "display_artist_match_key": match_key(display_artist),
            "display_artist_names": dumps(_display_artist_names(index)),
            "artists": dumps(artists),
            "label_name": self.party_names(label)["name"] if label else None,
            "genres": texts(elem, "Genre", "GenreText"),
            "release_date": parse_date(text(elem, "ReleaseDate") or text(elem, "OriginalReleaseDate")),
            "original_release_date": parse_date(text(elem, "OriginalReleaseDate")),
            "duration_seconds": iso_duration_seconds(text(elem, "Duration")),
            "parental_warning": text(elem, "ParentalWarningType"),
            "p_line": text(elem, "PLine", "PLineText"),
            "c_line": text(elem, "CLine", "CLineText"),
            "resource_references": resource_refs,
            "track_order": dumps(order),
        }
        return Record(position, [("raw.ddex_releases", row)])


def parse(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    from lxml import etree

    namespace, root = xmlsafe.root_tag(path)
    if not accepts(namespace, root):
        raise RejectedFile(f"not a DDEX ERN 4 message: root {root!r} in namespace {namespace!r}")
    message: _Ern4Message | None = None
    tags = [f"{{*}}{name}" for name in (root, *_STREAMED)]
    try:
        for event, elem in xmlsafe.iterparse(path, events=("start", "end"), tag=tags):
            parent = elem.getparent()
            if parent is None:
                if event == "start":
                    message = _Ern4Message(ctx, ERN4_NAMESPACES[namespace], root, dict(elem.attrib))
                else:
                    yield message.message_record()
                continue
            if event == "start":
                continue
            name, parent_name = localname(elem), localname(parent)
            if name == "MessageHeader" and parent.getparent() is None:
                message.header(elem)
            elif name == "PurgedRelease":
                yield message.purged_release(elem)
            elif parent_name not in LISTS:
                continue  # e.g. a SoundRecording nested deeper than a list item: handled with its item
            elif name == "Party":
                message.party(elem)
            elif parent_name == "ResourceList" and name in RESOURCE_KINDS:
                yield message.resource(elem)
            elif parent_name == "ReleaseList" and name in RELEASE_KINDS:
                yield message.release(elem)
            elif name == "ReleaseDeal":
                yield message.release_deal(elem)
            else:
                continue
            xmlsafe.release_memory(elem)
    except etree.XMLSyntaxError as exc:
        raise RejectedFile(f"XML breaks off or is malformed: {exc}") from exc
