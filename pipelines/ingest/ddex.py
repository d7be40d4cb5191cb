"""DDEX ERN 4.x messages (4.1, 4.1.1, 4.2, 4.3): releases, resources, track order and deals.

The message streams through lxml iterparse; each list item (party, resource, release, deal) is handled when
its end tag arrives and then freed. Parties come first in ERN 4 (PartyList), so names are resolved by
reference as resources and releases arrive.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from pipelines.ingest import xmlsafe
from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile
from pipelines.ingest.values import (
    invalid_icpn,
    invalid_isrc,
    iso_duration_seconds,
    parse_date,
    parse_timestamp,
)
from pipelines.ingest.xmlsafe import child, children, localname, text, texts

ERN4_NAMESPACES = {
    "http://ddex.net/xml/ern/41": "4.1",
    "http://ddex.net/xml/ern/411": "4.1.1",
    "http://ddex.net/xml/ern/42": "4.2",
    "http://ddex.net/xml/ern/43": "4.3",
}
MESSAGE_TYPES = {"NewReleaseMessage", "UpdateReleaseMessage", "PurgeReleaseMessage"}
RESOURCE_KINDS = {"SoundRecording", "Video", "Image", "Text", "SheetMusic", "Software"}
LISTS = {"PartyList", "ResourceList", "ReleaseList", "DealList"}


def accepts(namespace: str | None, root: str) -> bool:
    return namespace in ERN4_NAMESPACES and root in MESSAGE_TYPES


def _titles(elem) -> list[dict]:
    titles = []
    for node in children(elem, "DisplayTitle"):
        value = text(node, "TitleText")
        if value:
            titles.append(
                {
                    "text": value,
                    "subtitle": text(node, "SubTitle"),
                    "language_script": node.get("LanguageAndScriptCode"),
                    "territory": node.get("ApplicableTerritoryCode"),
                    "is_default": node.get("IsDefault") == "true",
                    "title_type": "DisplayTitle",
                }
            )
    for node in children(elem, "AdditionalTitle"):
        value = text(node, "TitleText")
        if value:
            titles.append(
                {
                    "text": value,
                    "subtitle": text(node, "SubTitle"),
                    "language_script": node.get("LanguageAndScriptCode"),
                    "territory": node.get("ApplicableTerritoryCode"),
                    "is_default": False,
                    "title_type": node.get("TitleType") or "AdditionalTitle",
                }
            )
    return titles


def _default_title(elem, titles: list[dict]) -> str | None:
    display = text(elem, "DisplayTitleText")
    if display:
        return display
    for title in titles:
        if title["is_default"]:
            return title["text"]
    return titles[0]["text"] if titles else None


def _display_artist(elem) -> str | None:
    names = list(children(elem, "DisplayArtistName"))
    for node in names:
        if node.get("IsDefault") == "true" and node.text:
            return node.text.strip()
    for node in names:
        if node.get("LanguageAndScriptCode") is None and node.text:
            return node.text.strip()
    return names[0].text.strip() if names and names[0].text else None


class _Message:
    """State carried through one message: header facts and the party names by reference."""

    def __init__(self, ctx: FileContext, version: str, message_type: str):
        self.ctx = ctx
        self.version = version
        self.message_type = message_type
        self.message_id: str | None = None
        self.created_at = None
        self.parties: dict[str, dict] = {}
        self.positions: Counter[str] = Counter()

    def position(self, list_name: str, item: str) -> str:
        key = f"{list_name}/{item}"
        self.positions[key] += 1
        return f"/{self.message_type}/{key}[{self.positions[key]}]"

    def base(self, position: str) -> dict:
        return self.ctx.provenance(position) | {
            "message_id": self.message_id,
            "message_created_at": self.created_at,
        }

    def party_names(self, reference: str | None) -> dict:
        return self.parties.get(reference or "", {"name": reference, "names": []})

    def header(self, elem) -> Record:
        self.message_id = text(elem, "MessageId")
        self.created_at = parse_timestamp(text(elem, "MessageCreatedDateTime"))
        sender = child(elem, "MessageSender")
        row = self.ctx.provenance(f"/{self.message_type}/MessageHeader") | {
            "message_id": self.message_id,
            "message_thread_id": text(elem, "MessageThreadId"),
            "message_type": self.message_type,
            "ern_version": self.version,
            "sender_party_id": text(sender, "PartyId") if sender is not None else None,
            "sender_name": text(sender, "PartyName", "FullName") if sender is not None else None,
            "message_created_at": self.created_at,
        }
        return Record(row["record_position"], [("raw.ddex_messages", row)])

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
            "party_id": text(elem, "PartyId"),
        }

    def resource(self, elem) -> Record | Quarantined:
        kind = localname(elem)
        position = self.position("ResourceList", kind)
        reference = text(elem, "ResourceReference")
        if not reference:
            return Quarantined(position, f"{kind} without ResourceReference")
        isrc = text(elem, "ResourceId", "ISRC") or text(elem, "SoundRecordingEdition", "ResourceId", "ISRC")
        isrc = isrc or text(elem, "VideoEdition", "ResourceId", "ISRC")
        problem = invalid_isrc(isrc)
        if problem:
            return Quarantined(position, f"{kind} {reference}: {problem}")
        titles = _titles(elem)
        artists = [
            self.party_names(text(a, "ArtistPartyReference"))
            | {"role": text(a, "DisplayArtistRole"), "sequence": a.get("SequenceNumber")}
            for a in children(elem, "DisplayArtist")
        ]
        contributors = [
            self.party_names(text(c, "ContributorPartyReference"))
            | {"roles": texts(c, "Role"), "sequence": c.get("SequenceNumber")}
            for c in children(elem, "Contributor")
        ]
        p_line = text(elem, "PLine", "PLineText") or text(elem, "SoundRecordingEdition", "PLine", "PLineText")
        row = self.base(position) | {
            "resource_reference": reference,
            "resource_kind": kind,
            "resource_type": text(elem, "Type"),
            "isrc": isrc,
            "title": _default_title(elem, titles),
            "titles": json.dumps(titles, ensure_ascii=False),
            "display_artist": _display_artist(elem),
            "artists": json.dumps(artists, ensure_ascii=False),
            "contributors": json.dumps(contributors, ensure_ascii=False),
            "duration_seconds": iso_duration_seconds(text(elem, "Duration")),
            "parental_warning": text(elem, "ParentalWarningType"),
            "language_of_performance": text(elem, "LanguageOfPerformance"),
            "creation_date": text(elem, "CreationDate"),
            "p_line": p_line,
        }
        return Record(position, [("raw.ddex_resources", row)])

    def release(self, elem) -> Record | Quarantined:
        kind = localname(elem)
        position = self.position("ReleaseList", kind)
        reference = text(elem, "ReleaseReference")
        if not reference:
            return Quarantined(position, f"{kind} without ReleaseReference")
        icpn = text(elem, "ReleaseId", "ICPN")
        problem = invalid_icpn(icpn)
        if problem:
            return Quarantined(position, f"{kind} {reference}: {problem}")
        titles = _titles(elem)
        items = []
        for group in elem.iter("{*}ResourceGroup", "ResourceGroup"):
            for item in children(group, "ResourceGroupContentItem"):
                seq = text(item, "SequenceNumber")
                ref = text(item, "ReleaseResourceReference")
                if ref:
                    items.append((int(seq) if seq and seq.isdigit() else len(items) + 1, ref))
        resource_refs = [ref for _, ref in sorted(items, key=lambda t: t[0])]
        resource_refs += [r for r in texts(elem, "ReleaseResourceReference") if r not in resource_refs]
        label = text(elem, "ReleaseLabelReference")
        row = self.base(position) | {
            "release_reference": reference,
            "release_type": text(elem, "ReleaseType"),
            "is_main_release": kind == "Release",
            "icpn": icpn,
            "grid": text(elem, "ReleaseId", "GRid"),
            "catalog_number": text(elem, "ReleaseId", "CatalogNumber"),
            "proprietary_id": text(elem, "ReleaseId", "ProprietaryId"),
            "title": _default_title(elem, titles),
            "titles": json.dumps(titles, ensure_ascii=False),
            "display_artist": _display_artist(elem),
            "label_name": self.party_names(label)["name"] if label else None,
            "genres": texts(elem, "Genre", "GenreText"),
            "release_date": parse_date(text(elem, "ReleaseDate") or text(elem, "OriginalReleaseDate")),
            "duration_seconds": iso_duration_seconds(text(elem, "Duration")),
            "p_line": text(elem, "PLine", "PLineText"),
            "c_line": text(elem, "CLine", "CLineText"),
            "resource_references": resource_refs,
        }
        return Record(position, [("raw.ddex_releases", row)])

    def release_deal(self, elem) -> Record | Quarantined:
        position = self.position("DealList", "ReleaseDeal")
        references = texts(elem, "DealReleaseReference")
        if not references:
            return Quarantined(position, "ReleaseDeal without DealReleaseReference")
        rows = []
        for deal_position, deal in enumerate(children(elem, "Deal"), start=1):
            terms = child(deal, "DealTerms")
            if terms is None:
                continue
            period = child(terms, "ValidityPeriod")
            start = end = None
            if period is not None:
                start = parse_date(text(period, "StartDate") or text(period, "StartDateTime"))
                end = parse_date(text(period, "EndDate") or text(period, "EndDateTime"))
            takedown = (text(terms, "TakeDown") or "").lower() == "true"
            for reference in references:
                rows.append(
                    (
                        "raw.ddex_deals",
                        self.base(position)
                        | {
                            "release_reference": reference,
                            "deal_position": deal_position,
                            "territories": texts(terms, "TerritoryCode"),
                            "excluded_territories": texts(terms, "ExcludedTerritoryCode"),
                            "commercial_models": texts(terms, "CommercialModelType"),
                            "use_types": texts(terms, "UseType"),
                            "start_date": start,
                            "end_date": end,
                            "is_takedown": takedown,
                        },
                    )
                )
        return Record(position, rows)


def parse(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    from lxml import etree

    namespace, root = xmlsafe.root_tag(path)
    if not accepts(namespace, root):
        raise RejectedFile(f"not a DDEX ERN 4 message: root {root!r} in namespace {namespace!r}")
    message = _Message(ctx, ERN4_NAMESPACES[namespace], root)
    try:
        for _event, elem in xmlsafe.iterparse(path):
            parent = elem.getparent()
            if parent is None:
                continue
            name, parent_name = localname(elem), localname(parent)
            if parent.getparent() is None and name == "MessageHeader":
                yield message.header(elem)
            elif parent_name not in LISTS:
                continue
            elif name == "Party":
                message.party(elem)
            elif parent_name == "ResourceList" and name in RESOURCE_KINDS:
                yield message.resource(elem)
            elif name in ("Release", "TrackRelease"):
                yield message.release(elem)
            elif name == "ReleaseDeal":
                yield message.release_deal(elem)
            else:
                continue
            xmlsafe.release_memory(elem)
    except etree.XMLSyntaxError as exc:
        raise RejectedFile(f"XML breaks off or is malformed: {exc}") from exc
