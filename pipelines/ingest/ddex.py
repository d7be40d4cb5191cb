"""DDEX ERN 4.x messages (4.1, 4.1.1, 4.2, 4.3): releases, resources, track order, deals and purges.

The message streams through lxml iterparse, reporting only the end of list items (party, resource, release,
deal): each is handled when its end tag arrives and then freed, so a 1 GB message parses in bounded memory.
Parties come first in ERN 4 (PartyList), so names are resolved by reference as resources and releases arrive.
ERN 3.x lives in `ern3.py`; what both share (header, deals, purges, track order) in `ddex_message.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from pipelines.ingest import xmlsafe
from pipelines.ingest.ddex_message import (
    LISTS,
    MESSAGE_TYPES,
    SKIP,
    MessageState,
    display_artist_from_roles,
    dumps,
    id_problems,
    identifiers,
    release_id_columns,
    stream_message,
    title_entry,
    track_order,
)
from pipelines.ingest.ddex_parts import Part
from pipelines.ingest.records import FileContext, Quarantined, Record
from pipelines.ingest.values import iso_duration_seconds, parse_date
from pipelines.ingest.xmlsafe import (
    all_texts,
    child_index,
    children,
    first_text,
    first_texts,
    local_name,
    localname,
    text,
)
from pipelines.text.match_key import match_key

ERN4_NAMESPACES = {
    "http://ddex.net/xml/ern/41": "4.1",
    "http://ddex.net/xml/ern/411": "4.1.1",
    "http://ddex.net/xml/ern/42": "4.2",
    "http://ddex.net/xml/ern/43": "4.3",
}
_NOT_SEEN = object()
RESOURCE_KINDS = ("SoundRecording", "Video", "Image", "Text", "SheetMusic", "Software")
RELEASE_KINDS = ("Release", "TrackRelease")
_STREAMED = ("MessageHeader", "Party", "ReleaseDeal", "PurgedRelease", *RESOURCE_KINDS, *RELEASE_KINDS)


def accepts(namespace: str | None, root: str) -> bool:
    return namespace in ERN4_NAMESPACES and root in MESSAGE_TYPES


def _titles(index: dict[str, list]) -> list[dict]:
    titles = []
    # title_entry(node, "DisplayTitle", ...), inlined: every record has some
    for node in index.get("DisplayTitle", ()):
        fields = first_texts(node)
        value = fields.get("TitleText")
        if value:
            get = node.get
            titles.append(
                {
                    "text": value,
                    "subtitle": fields.get("SubTitle"),
                    "language_script": get("LanguageAndScriptCode"),
                    "territory": get("ApplicableTerritoryCode"),
                    "is_default": get("IsDefault") == "true",
                    "title_type": "DisplayTitle",
                    "match_key": match_key(value),
                }
            )
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


def _title_key(title: str | None, titles: list[dict]) -> str | None:
    """The default title's match key: computed already when it is one of the titles (it usually is)."""
    for entry in titles:
        if entry["text"] == title:
            return entry["match_key"]
    return match_key(title)


def _display_artist(nodes: list) -> tuple[str | None, str | None, str]:
    """(the display artist, its match key, the JSON of every DisplayArtistName with its match key) from
    DisplayArtistName elements: the display artist is the default one, else the one without a language,
    else the first."""
    names = []
    for node in nodes:
        value = node.text
        if value is not None and value.strip():
            get = node.get
            names.append((value, get("IsDefault"), get("LanguageAndScriptCode")))
    if not names:
        return None, None, "[]"
    return _display_artist_from(tuple(names))


@lru_cache(maxsize=4096)  # one artist credit comes back on every track of an album
def _display_artist_from(
    names: tuple[tuple[str, str | None, str | None], ...],
) -> tuple[str | None, str | None, str]:
    display = next((value for value, is_default, _ in names if is_default == "true"), None)
    if display is None:
        display = next((value for value, _, language in names if language is None), names[0][0])
    entries = [
        {"name": value.strip(), "language_script": language, "match_key": match_key(value)}
        for value, _, language in names
    ]
    display = display.strip()
    return display, match_key(display), dumps(entries)


class _Ern4Message(MessageState):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parties: dict[str, dict] = {}
        self.credits: dict[tuple, str] = {}  # JSON of an artist or contributor list, by what it was made of

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
        self.credits.clear()  # a credit already written may have named this party by its reference only

    def artists_json(self, nodes: list) -> str:
        """JSON of DisplayArtist elements, each resolved through the PartyList (remembered per credit:
        building and encoding the same few credits for every track is most of the work otherwise)."""
        credit = []
        for node in nodes:
            fields = first_texts(node)
            credit.append(
                (
                    fields.get("ArtistPartyReference"),
                    fields.get("DisplayArtistRole"),
                    node.get("SequenceNumber"),
                )
            )
        key = ("artists", *credit)
        found = self.credits.get(key)
        if found is None:
            found = dumps(
                [
                    self.party_names(ref) | {"role": role, "sequence": sequence}
                    for ref, role, sequence in credit
                ]
            )
            self._remember(key, found)
        return found

    def contributors_json(self, nodes: list) -> str:
        credit = []
        names = xmlsafe._LOCAL_NAMES
        for node in nodes:
            reference, roles = _NOT_SEEN, []
            for part in node[:]:
                tag = part.tag
                name = names.get(tag) or xmlsafe._remember_local_name(tag)  # local_name(part), inlined
                if name == "Role":
                    value = part.text
                    if value is not None and value.strip():
                        roles.append(value.strip())
                elif name == "ContributorPartyReference" and reference is _NOT_SEEN:
                    value = part.text
                    reference = (value.strip() or None) if value is not None else None
            credit.append(
                (None if reference is _NOT_SEEN else reference, tuple(roles), node.get("SequenceNumber"))
            )
        key = ("contributors", *credit)
        found = self.credits.get(key)
        if found is None:
            found = dumps(
                [
                    self.party_names(ref) | {"roles": list(roles), "sequence": sequence}
                    for ref, roles, sequence in credit
                ]
            )
            self._remember(key, found)
        return found

    def names_columns(self, index: dict[str, list]) -> dict[str, str | None]:
        """The title and artist columns a resource and a release share, from the item's child index."""
        titles = _titles(index)
        title = _default_title(index, titles)
        display_artist, display_artist_key, display_artist_names = _display_artist(
            index.get("DisplayArtistName", ())
        )
        artists = self.artists_json(index.get("DisplayArtist", ()))
        if display_artist is None and index.get("DisplayArtist"):
            display_artist = self.display_artist_from_credit(index["DisplayArtist"])
            display_artist_key = match_key(display_artist)
        return {
            "title": title,
            "title_match_key": _title_key(title, titles),
            "titles": dumps(titles),
            "display_artist": display_artist,
            "display_artist_match_key": display_artist_key,
            "display_artist_names": display_artist_names,
            "artists": artists,
        }

    def display_artist_from_credit(self, nodes: list) -> str | None:
        """No DisplayArtistName: the DisplayArtists whose DisplayArtistRole is MainArtist (then the featured
        ones), in SequenceNumber order; never the contributors (composer, lyricist...)."""
        credit = []
        for position, node in enumerate(nodes):
            fields = first_texts(node)
            sequence = node.get("SequenceNumber")
            order = int(sequence) if sequence and sequence.isdigit() else len(nodes) + position
            role = fields.get("DisplayArtistRole")
            credit.append(
                (order, self.party_names(fields.get("ArtistPartyReference"))["name"], [role] if role else [])
            )
        return display_artist_from_roles(
            [(name, roles) for _, name, roles in sorted(credit, key=lambda c: c[0])]
        )

    def _remember(self, key: tuple, value: str) -> None:
        if len(self.credits) >= 50_000:
            self.credits.clear()
        self.credits[key] = value

    def resource(self, elem) -> Record | Quarantined:
        kind = local_name(elem)
        position = self.position("ResourceList", kind)
        index = child_index(elem)
        reference = first_text(index.get("ResourceReference"))
        if not reference:
            return Quarantined(position, f"{kind} without ResourceReference")
        resource_ids = index.get("ResourceId")
        ids = identifiers(resource_ids[0]) if resource_ids else {}
        editions = [
            child_index(e) for e in (*index.get("SoundRecordingEdition", ()), *index.get("VideoEdition", ()))
        ]
        for edition in editions:
            edition_ids = edition.get("ResourceId")
            if edition_ids:
                for kind_name, value in identifiers(edition_ids[0]).items():
                    ids.setdefault(kind_name, value)
        problems = id_problems(ids)
        if problems:
            return Quarantined(position, f"{kind} {reference}: {'; '.join(problems)}")
        unkeyable = self.unkeyable(position, kind, reference, ids)
        if unkeyable:
            return unkeyable
        p_line = _p_line(index)
        for edition in editions:
            p_line = p_line or _p_line(edition)
        row = self.base(position)
        row |= {
            "resource_reference": reference,
            "resource_kind": kind,
            "resource_type": first_text(index.get("Type")),
            "isrc": ids.get("ISRC"),
            "iswc": None,
            "proprietary_id": ids.get("ProprietaryId"),
            **self.names_columns(index),
            "contributors": self.contributors_json(index.get("Contributor", ())),
            "duration_seconds": iso_duration_seconds(first_text(index.get("Duration"))),
            "parental_warning": first_text(index.get("ParentalWarningType")),
            "language_of_performance": first_text(index.get("LanguageOfPerformance")),
            "creation_date": first_text(index.get("CreationDate")),
            "p_line": p_line,
            "genres": _genres(index),
            "label_name": None,
        }
        refused = self.refused(position, kind, reference, row, first_text(index.get("Duration")))
        if refused:
            return refused
        return Record(position, [("raw.ddex_resources", row)])

    def release(self, elem) -> Record | Quarantined:
        kind = localname(elem)
        position = self.position("ReleaseList", kind)
        index = child_index(elem)
        reference = first_text(index.get("ReleaseReference"))
        if not reference:
            return Quarantined(position, f"{kind} without ReleaseReference")
        release_ids = index.get("ReleaseId")
        ids = identifiers(release_ids[0] if release_ids else None)
        order = track_order(elem)
        resource_refs = [item["resource_reference"] for item in order]
        resource_refs += [
            r for r in all_texts(index.get("ReleaseResourceReference", ())) if r not in resource_refs
        ]
        problems = id_problems(ids)
        if problems:
            return self.rejected_release(
                position,
                kind,
                reference,
                ids,
                problems,
                release_type=first_text(index.get("ReleaseType")),
                is_main_release=kind == "Release",
                title=_default_title(index, _titles(index)),
                resource_references=resource_refs,
            )
        label = first_text(index.get("ReleaseLabelReference"))
        release_dates = _territory_dates(index)
        original_release_date = _release_date(release_dates, "original_release_date")
        row = self.base(position)
        row |= {
            "release_reference": reference,
            "release_type": first_text(index.get("ReleaseType")),
            "is_main_release": kind == "Release",
            **release_id_columns(ids),
            **self.names_columns(index),
            "label_name": self.party_names(label)["name"] if label else None,
            "genres": _genres(index),
            "release_date": _release_date(release_dates, "release_date") or original_release_date,
            "original_release_date": original_release_date,
            "release_dates": dumps(release_dates),
            "duration_seconds": iso_duration_seconds(first_text(index.get("Duration"))),
            "parental_warning": first_text(index.get("ParentalWarningType")),
            "p_line": _p_line(index),
            "c_line": _first_child_text(index.get("CLine"), "CLineText"),
            "resource_references": resource_refs,
            "track_order": dumps(order),
        }
        refused = self.refused(position, kind, reference, row, first_text(index.get("Duration")))
        if refused:
            return refused
        return Record(position, [("raw.ddex_releases", row)])

    def dispatch(self, elem, name: str, parent_name: str, parent):
        if name == "MessageHeader" and parent.getparent() is None:
            return self.header(elem)
        if name == "PurgedRelease":
            return self.purged_release(elem)
        if parent_name not in LISTS:
            return SKIP  # e.g. a SoundRecording nested deeper than a list item: handled with its item
        if name == "Party":
            return self.party(elem)
        if parent_name == "ResourceList" and name in RESOURCE_KINDS:
            return self.resource(elem)
        if parent_name == "ReleaseList" and name in RELEASE_KINDS:
            return self.release(elem)
        if name == "ReleaseDeal":
            return self.release_deal(elem)
        return SKIP


def _first_child_text(nodes: list | None, name: str) -> str | None:
    """`text(elem, parent, name)` from elem's child index: the first parent's first child of that name."""
    if not nodes:
        return None
    return first_texts(nodes[0]).get(name)


def _p_line(index: dict[str, list]) -> str | None:
    return _first_child_text(index.get("PLine"), "PLineText")


def _territory_dates(index: dict[str, list]) -> list[dict]:
    """Every ReleaseDate / OriginalReleaseDate of a release with the territories it applies to
    (ApplicableTerritoryCode; none written means Worldwide)."""
    found = []
    for field, name in (("release_date", "ReleaseDate"), ("original_release_date", "OriginalReleaseDate")):
        for node in index.get(name, ()):
            value = parse_date(node.text)
            if value:
                territory = node.get("ApplicableTerritoryCode") or "Worldwide"
                found.append(
                    {
                        "territories": territory.split(),
                        field: value.isoformat(),
                        "is_default": node.get("IsDefault") == "true",
                    }
                )
    return found


def _release_date(territory_dates: list[dict], field: str):
    """The Worldwide (or default) date, else the earliest territory's: deterministic whatever the order."""
    dated = [d for d in territory_dates if d.get(field)]
    preferred = [d[field] for d in dated if "Worldwide" in d["territories"] or d["is_default"]]
    if preferred:
        return parse_date(min(preferred))
    return parse_date(min(d[field] for d in dated)) if dated else None


def _genres(index: dict[str, list]) -> list[str]:
    return [g for node in index.get("Genre", ()) for g in all_texts(child_index(node).get("GenreText", ()))]


def parse(path: Path, ctx: FileContext, part: Part | None = None) -> Iterator[Record | Quarantined]:
    """part: one part of a large message (see `ddex_parts`); None: the whole message."""
    return stream_message(
        path,
        ctx,
        family="ERN 4",
        namespaces=ERN4_NAMESPACES,
        message_class=_Ern4Message,
        streamed=_STREAMED,
        part=part,
    )
