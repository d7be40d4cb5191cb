"""DDEX ERN 3.x messages (3.4 to 3.8.2): releases, resources, track order, deals and purges.

ERN 3 has no PartyList: artist and contributor names sit inline, and most descriptive data sits in
`<Kind>DetailsByTerritory` blocks (one per territory, usually one 'Worldwide'). Every title of every block is
kept with its territory and language; the typed columns take the Worldwide block (else the first). Rows have
the same shape as ERN 4's (see `ddex.py`), so dbt reads both families from the same raw tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
from pipelines.ingest.xmlsafe import child, children, localname, text, texts
from pipelines.text.match_key import match_key

ERN3_NAMESPACES = {
    "http://ddex.net/xml/ern/34": "3.4",
    "http://ddex.net/xml/ern/341": "3.4.1",
    "http://ddex.net/xml/ern/35": "3.5",
    "http://ddex.net/xml/ern/351": "3.5.1",
    "http://ddex.net/xml/ern/36": "3.6",
    "http://ddex.net/xml/ern/37": "3.7",
    "http://ddex.net/xml/ern/37D2": "3.7",  # 3.7 Draft 2: still delivered by some labels, same shape as 3.7
    "http://ddex.net/xml/ern/371": "3.7.1",
    "http://ddex.net/xml/ern/38": "3.8",
    "http://ddex.net/xml/ern/381": "3.8.1",
    "http://ddex.net/xml/ern/382": "3.8.2",
}
# resource element → the prefix of its Id, Type and DetailsByTerritory children
RESOURCE_PREFIXES = {
    "SoundRecording": "SoundRecording",
    "Video": "Video",
    "Image": "Image",
    "Text": "Text",
    "SheetMusic": "SheetMusic",
    "Software": "Software",
    "MIDI": "Midi",
    "UserDefinedResource": "UserDefinedResource",
}
_STREAMED = (
    "MessageHeader",
    "UpdateIndicator",
    "Release",
    "ReleaseDeal",
    "PurgedRelease",
    *RESOURCE_PREFIXES,
)


def accepts(namespace: str | None, root: str) -> bool:
    return namespace in ERN3_NAMESPACES and root in MESSAGE_TYPES


def _details(elem, name: str) -> list:
    """The DetailsByTerritory blocks, the Worldwide one first."""
    blocks = list(children(elem, name))
    return sorted(blocks, key=lambda b: 0 if "Worldwide" in texts(b, "TerritoryCode") else 1)


def _titles(elem, blocks: list) -> list[dict]:
    titles = []
    reference = child(elem, "ReferenceTitle")
    if reference is not None:
        entry = title_entry(
            reference,
            "ReferenceTitle",
            language_script=reference.get("LanguageAndScriptCode"),
            territory=None,
            is_default=False,
        )
        if entry:
            titles.append(entry)
    default_taken = False
    for block in blocks:
        territory = next(iter(texts(block, "TerritoryCode")), None)
        block_language = block.get("LanguageAndScriptCode")
        for node in children(block, "Title"):
            title_type = node.get("TitleType") or "Title"
            is_default = not default_taken and title_type == "DisplayTitle"
            entry = title_entry(
                node,
                title_type,
                language_script=node.get("LanguageAndScriptCode") or block_language,
                territory=territory,
                is_default=is_default,
            )
            if entry:
                default_taken = default_taken or is_default
                titles.append(entry)
    return titles


def _default_title(titles: list[dict]) -> str | None:
    for title in titles:
        if title["is_default"]:
            return title["text"]
    for title in titles:
        if title["title_type"] in ("FormalTitle", "ReferenceTitle"):
            return title["text"]
    return titles[0]["text"] if titles else None


def _party(node, role_names: tuple[str, ...]) -> dict:
    names = [
        {"name": text(n, "FullName"), "language_script": n.get("LanguageAndScriptCode")}
        for n in children(node, "PartyName")
        if text(n, "FullName")
    ]
    default = next((n["name"] for n in names if n["language_script"] is None), None)
    roles = [r for name in role_names for r in texts(node, name)]
    return {
        "name": default or (names[0]["name"] if names else None),
        "names": names,
        "party_id": text(node, "PartyId"),
        "roles": roles,
        "sequence": node.get("SequenceNumber"),
    }


def _display_artist(blocks: list, artists: list[dict]) -> str | None:
    """The DisplayArtistName of the first (Worldwide) block that has one (the one without a language first),
    else the main and featured artists of the DisplayArtist list. Never composers, conductors or other
    contributors: a classical track with no DisplayArtistName of its own has none here (DDEX: it shares its
    release's)."""
    for block in blocks:
        names = [n for n in children(block, "DisplayArtistName") if n.text and n.text.strip()]
        for node in names:
            if node.get("LanguageAndScriptCode") is None:
                return node.text.strip()
        if names:
            return names[0].text.strip()
    return display_artist_from_roles([(a["name"], a["roles"]) for a in artists])


def _display_artist_names(blocks: list) -> list[dict]:
    return [
        {
            "name": n.text.strip(),
            "language_script": n.get("LanguageAndScriptCode"),
            "match_key": match_key(n.text),
        }
        for block in blocks
        for n in children(block, "DisplayArtistName")
        if n.text and n.text.strip()
    ]


def _names_columns(elem, blocks: list) -> dict[str, str | None]:
    """The title and artist columns a resource and a release share; names come from the first
    (Worldwide) DetailsByTerritory block."""
    first = blocks[0] if blocks else None
    titles = _titles(elem, blocks)
    title = _default_title(titles)
    artists = (
        [_party(a, ("ArtistRole",)) for a in children(first, "DisplayArtist")] if first is not None else []
    )
    display_artist = _display_artist(blocks, artists)
    return {
        "title": title,
        "title_match_key": match_key(title),
        "titles": dumps(titles),
        "display_artist": display_artist,
        "display_artist_match_key": match_key(display_artist),
        "display_artist_names": dumps(_display_artist_names(blocks)),
        "artists": dumps([a | {"role": (a["roles"] or [None])[0]} for a in artists]),
    }


def _territory_dates(blocks: list) -> list[dict]:
    """Every ReleaseDate / OriginalReleaseDate of the ReleaseDetailsByTerritory blocks, with the territories
    (or excluded territories) of its block."""
    found = []
    for block in blocks:
        dates = {
            "release_date": parse_date(text(block, "ReleaseDate")),
            "original_release_date": parse_date(text(block, "OriginalReleaseDate")),
        }
        if any(dates.values()):
            found.append(
                {
                    "territories": texts(block, "TerritoryCode"),
                    "excluded_territories": texts(block, "ExcludedTerritoryCode"),
                }
                | {k: v.isoformat() if v else None for k, v in dates.items()}
            )
    return found


def _release_date(territory_dates: list[dict], field: str, global_date: str | None):
    """The Worldwide block's date, else the Global one, else the earliest date any territory block gives:
    a release dated only per territory still has a date, and the same message always gives the same one."""
    worldwide = [d[field] for d in territory_dates if d[field] and "Worldwide" in d["territories"]]
    if worldwide:
        return parse_date(worldwide[0])
    if parse_date(global_date):
        return parse_date(global_date)
    dated = [d[field] for d in territory_dates if d[field]]
    return parse_date(min(dated)) if dated else None


class _Ern3Message(MessageState):
    def resource(self, elem) -> Record | Quarantined:
        kind = localname(elem)
        prefix = RESOURCE_PREFIXES[kind]
        position = self.position("ResourceList", kind)
        reference = text(elem, "ResourceReference")
        if not reference:
            return Quarantined(position, f"{kind} without ResourceReference")
        ids = identifiers(child(elem, f"{prefix}Id"))
        problems = id_problems(ids)
        if problems:
            return Quarantined(position, f"{kind} {reference}: {'; '.join(problems)}")
        unkeyable = self.unkeyable(position, kind, reference, ids)
        if unkeyable:
            return unkeyable
        blocks = _details(elem, f"{prefix}DetailsByTerritory")
        first = blocks[0] if blocks else None
        contributors = []
        if first is not None:
            contributors = [
                _party(c, ("ResourceContributorRole",)) for c in children(first, "ResourceContributor")
            ]
            contributors += [
                _party(c, ("IndirectResourceContributorRole",)) | {"indirect": True}
                for c in children(first, "IndirectResourceContributor")
            ]
        row = self.base(position) | {
            "resource_reference": reference,
            "resource_kind": kind,
            "resource_type": text(elem, f"{prefix}Type"),
            "isrc": ids.get("ISRC"),
            "iswc": text(elem, f"Indirect{prefix}Id", "ISWC"),
            "proprietary_id": ids.get("ProprietaryId"),
            **_names_columns(elem, blocks),
            "contributors": dumps(contributors),
            "duration_seconds": iso_duration_seconds(text(elem, "Duration")),
            "parental_warning": text(first, "ParentalWarningType") if first is not None else None,
            "language_of_performance": text(elem, "LanguageOfPerformance"),
            "creation_date": text(elem, "CreationDate"),
            "p_line": text(first, "PLine", "PLineText") if first is not None else None,
            "genres": texts(first, "Genre", "GenreText") if first is not None else [],
            "label_name": text(first, "LabelName") if first is not None else None,
        }
        refused = self.refused(position, kind, reference, row, text(elem, "Duration"))
        if refused:
            return refused
        return Record(position, [("raw.ddex_resources", row)])

    def release(self, elem) -> Record | Quarantined:
        position = self.position("ReleaseList", "Release")
        reference = text(elem, "ReleaseReference")
        if not reference:
            return Quarantined(position, "Release without ReleaseReference")
        ids = identifiers(child(elem, "ReleaseId"))
        blocks = _details(elem, "ReleaseDetailsByTerritory")
        first = blocks[0] if blocks else None
        order = track_order(first) if first is not None else []
        resource_refs = [item["resource_reference"] for item in order]
        resource_refs += [
            r
            for r in texts(elem, "ReleaseResourceReferenceList", "ReleaseResourceReference")
            if r not in resource_refs
        ]
        problems = id_problems(ids)
        if problems:
            return self.rejected_release(
                position,
                "Release",
                reference,
                ids,
                problems,
                release_type=text(elem, "ReleaseType"),
                is_main_release=elem.get("IsMainRelease") == "true",
                title=_default_title(_titles(elem, blocks)),
                resource_references=resource_refs,
            )

        def detail(*names):
            return text(first, *names) if first is not None else None

        release_dates = _territory_dates(blocks)
        release_date = _release_date(release_dates, "release_date", text(elem, "GlobalReleaseDate"))
        original_date = _release_date(
            release_dates, "original_release_date", text(elem, "GlobalOriginalReleaseDate")
        )
        row = self.base(position) | {
            "release_reference": reference,
            "release_type": text(elem, "ReleaseType"),
            "is_main_release": elem.get("IsMainRelease") == "true",
            **release_id_columns(ids),
            **_names_columns(elem, blocks),
            "label_name": detail("LabelName"),
            "genres": texts(first, "Genre", "GenreText") if first is not None else [],
            "release_date": release_date or original_date,
            "original_release_date": original_date,
            "release_dates": dumps(release_dates),
            "duration_seconds": iso_duration_seconds(text(elem, "Duration")),
            "parental_warning": detail("ParentalWarningType"),
            "p_line": text(elem, "PLine", "PLineText") or detail("PLine", "PLineText"),
            "c_line": text(elem, "CLine", "CLineText") or detail("CLine", "CLineText"),
            "resource_references": resource_refs,
            "track_order": dumps(order),
        }
        refused = self.refused(position, "Release", reference, row, text(elem, "Duration"))
        if refused:
            return refused
        return Record(position, [("raw.ddex_releases", row)])

    def dispatch(self, elem, name: str, parent_name: str, parent):
        at_top = parent.getparent() is None
        if name == "MessageHeader" and at_top:
            return self.header(elem)
        if name == "UpdateIndicator" and at_top:
            self.update_indicator = (elem.text or "").strip() or None
            return None
        if name == "PurgedRelease":
            return self.purged_release(elem)
        if parent_name not in LISTS:
            return SKIP
        if parent_name == "ResourceList" and name in RESOURCE_PREFIXES:
            return self.resource(elem)
        if parent_name == "ReleaseList" and name == "Release":
            return self.release(elem)
        if name == "ReleaseDeal":
            return self.release_deal(elem)
        return SKIP


def parse(path: Path, ctx: FileContext, part: Part | None = None) -> Iterator[Record | Quarantined]:
    """part: one part of a large message (see `ddex_parts`); None: the whole message."""
    return stream_message(
        path,
        ctx,
        family="ERN 3",
        namespaces=ERN3_NAMESPACES,
        message_class=_Ern3Message,
        streamed=_STREAMED,
        part=part,
    )
