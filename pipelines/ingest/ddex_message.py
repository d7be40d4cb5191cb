"""What every DDEX ERN message carries whatever its version: header, identifiers, titles, track order,
deal terms and purged releases.

The ERN 3 and ERN 4 adapters differ in where things sit (ERN 3 nests names in `...DetailsByTerritory`,
ERN 4 resolves them through a PartyList); both hand their findings to a `MessageState` so that every raw
row carries the same provenance and message metadata: dbt orders messages about one release by
`message_created_at` and reads `message_type` (NewReleaseMessage, UpdateReleaseMessage, PurgeReleaseMessage)
from any row without a join.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from pipelines.ingest import xmlsafe
from pipelines.ingest.ddex_parts import Part, PartReader
from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile
from pipelines.ingest.values import (
    MAX_RELEASE_SECONDS,
    MAX_WORK_SECONDS,
    duration_problems,
    identifier_problems,
    parse_date,
    parse_timestamp,
    territory_problems,
    unsafe_text,
    window_problems,
)
from pipelines.ingest.xmlsafe import (
    all_texts,
    child,
    child_index,
    first_text,
    first_texts,
    local_name,
    localname,
    text,
)
from pipelines.text.match_key import match_key

ERN_NAMESPACE_PREFIX = "http://ddex.net/xml/ern/"
MESSAGE_TYPES = ("NewReleaseMessage", "UpdateReleaseMessage", "PurgeReleaseMessage")
LISTS = {"PartyList", "ResourceList", "ReleaseList", "DealList"}
# A release's identifiers, by kind, and the raw column each lands in (releases and purges alike)
RELEASE_ID_COLUMNS = {
    "ICPN": "icpn",
    "GRid": "grid",
    "ISRC": "isrc",
    "CatalogNumber": "catalog_number",
    "ProprietaryId": "proprietary_id",
}
# A titles JSON worth decoding for `MessageState.refused`: an escape (control characters are written \\u00XX)
# or a character of the ranges `values.unsafe_text` refuses.
_SUSPECT_JSON = re.compile("[\\\\\x7f-\x9f\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
# What a family's `dispatch` returns for an element it leaves in the tree (read later with its enclosing item).
SKIP = object()


def identifiers(id_elem) -> dict[str, str]:
    """{'ICPN': ..., 'GRid': ...} from a ReleaseId / ResourceId / SoundRecordingId element (first of each)."""
    found: dict[str, str] = {}
    if id_elem is None:
        return found
    for node in id_elem[:]:
        name = local_name(node)
        value = (node.text or "").strip()
        if name and value and name not in found:
            found[name] = value
    return found


def release_id_columns(ids: dict[str, str]) -> dict[str, str | None]:
    """{"icpn": ..., "grid": ..., ...} from `identifiers()` of a ReleaseId."""
    return {column: ids.get(kind) for kind, column in RELEASE_ID_COLUMNS.items()}


def id_problems(ids: dict[str, str]) -> list[str]:
    return identifier_problems(ids)


def title_entry(
    node, title_type: str, *, language_script: str | None, territory: str | None, is_default: bool
):
    fields = first_texts(node)
    value = fields.get("TitleText")
    if not value:
        return None
    return {
        "text": value,
        "subtitle": fields.get("SubTitle"),
        "language_script": language_script,
        "territory": territory,
        "is_default": is_default,
        "title_type": title_type,
        "match_key": match_key(value),
    }


def track_order(release_elem) -> list[dict[str, Any]]:
    """The release's resources in sequence: ResourceGroups (discs, sides...) walked by their SequenceNumber,
    and within each group its content items by theirs; items without a number keep document order after."""
    order: list[dict[str, Any]] = []

    def walk(group, path: str) -> None:
        members = []
        for node in group[:]:
            name = local_name(node)
            if name == "ResourceGroup" or name == "ResourceGroupContentItem":
                fields = first_texts(node)
                seq = fields.get("SequenceNumber")
                rank = (0, int(seq), len(members)) if seq and seq.isdigit() else (1, 0, len(members))
                members.append((rank, name, node, fields))
        for _rank, name, node, fields in sorted(members, key=itemgetter(0)):
            seq = fields.get("SequenceNumber")
            if name == "ResourceGroup":
                walk(node, f"{path}/{seq or '-'}" if path else seq or "-")
                continue
            reference = fields.get("ReleaseResourceReference")
            if reference:
                order.append(
                    {
                        "group": path or None,
                        "sequence": int(seq) if seq and seq.isdigit() else None,
                        "resource_reference": reference,
                    }
                )

    for group in release_elem.iter("{*}ResourceGroup", "ResourceGroup"):
        parent = group.getparent()
        if parent is not None and localname(parent) != "ResourceGroup":
            walk(group, "")
    return order


class MessageState:
    """State carried through one message: header facts, row positions, and the message row itself."""

    def __init__(self, ctx: FileContext, version: str, message_type: str, root_attributes: dict[str, str]):
        self.ctx = ctx
        self.version = version
        self.message_type = message_type
        self.root_attributes = root_attributes
        self.message_id: str | None = None
        self.created_at = None
        self.header_row: dict[str, Any] | None = None
        self.update_indicator: str | None = None
        self.positions: Counter[str] = Counter()
        self._base: dict[str, Any] | None = None
        self._position_keys: dict[tuple[str | None, str], tuple[str, str]] = {}

    def position(self, list_name: str | None, item: str) -> str:
        found = self._position_keys.get((list_name, item))
        if found is None:
            key = f"{list_name}/{item}" if list_name else item
            found = self._position_keys[(list_name, item)] = (key, f"/{self.message_type}/{key}[")
        key, prefix = found
        count = self.positions[key] + 1
        self.positions[key] = count
        return f"{prefix}{count}]"

    def base(self, position: str) -> dict[str, Any]:
        """A new row: provenance and message metadata (copied from the last one while the header holds)."""
        base = self._base
        if (
            base is None
            or base["message_id"] is not self.message_id
            or base["message_created_at"] is not self.created_at
        ):
            base = self._base = self.ctx.provenance(position) | {
                "message_id": self.message_id,
                "message_created_at": self.created_at,
                "message_type": self.message_type,
            }
        row = base.copy()
        row["record_position"] = position
        return row

    def header(self, elem) -> None:
        """Read at the end of MessageHeader; the message row itself is written once the message is complete."""
        self.message_id = text(elem, "MessageId")
        self.created_at = parse_timestamp(text(elem, "MessageCreatedDateTime"))
        sender = child(elem, "MessageSender")
        on_behalf = child(elem, "SentOnBehalfOf")
        self.header_row = {
            "message_thread_id": text(elem, "MessageThreadId"),
            "sender_party_id": text(sender, "PartyId") if sender is not None else None,
            "sender_name": text(sender, "PartyName", "FullName") if sender is not None else None,
            "sent_on_behalf_of": text(on_behalf, "PartyName", "FullName") if on_behalf is not None else None,
            "message_control_type": text(elem, "MessageControlType"),
        }

    def unkeyable(self, position: str, kind: str, reference: str, ids: dict[str, str]) -> Quarantined | None:
        """A recording or video becomes a work by its ISRC, else by sender + ProprietaryId, else by sender +
        its release + resource reference (dbt: int_ddex_recordings_keyed). Without an ISRC and a sender it
        cannot be told apart from another message's: quarantined, not dropped without a word."""
        if kind not in ("SoundRecording", "Video") or ids.get("ISRC"):
            return None
        if (self.header_row or {}).get("sender_party_id"):
            return None
        return Quarantined(
            position,
            f"{kind} {reference}: no ISRC and no MessageSender PartyId, so it cannot be keyed as a work "
            f"(ProprietaryId {ids.get('ProprietaryId')!r})",
        )

    def refused(self, position: str, kind: str, reference: str, row: dict[str, Any], duration: str | None):
        """A resource or release row that cannot load as written, quarantined with every reason; None when it
        can. Refused: a title or artist name carrying control, bidirectional or zero-width characters; a
        negative or absurd duration. (An ISRC given to two titles is found by the loader, in SQL, once the
        message is in: `loader._refuse_conflicting_isrcs`.)"""
        problems = [
            problem
            for problem in (
                unsafe_text("title", row.get("title")),
                unsafe_text("display artist", row.get("display_artist")),
            )
            if problem
        ]
        titles = row.get("titles")
        if titles and _SUSPECT_JSON.search(titles):  # escaped or non-ASCII characters: look at each title
            problems += [p for t in json.loads(titles) if (p := unsafe_text("title", t.get("text")))]
        limit = MAX_RELEASE_SECONDS if "release_reference" in row and "resource_reference" not in row else MAX_WORK_SECONDS
        problems += duration_problems(duration, row.get("duration_seconds"), limit)
        if not problems:
            return None
        return Quarantined(position, f"{kind} {reference}: {'; '.join(dict.fromkeys(problems))}")

    def message_record(self) -> Record:
        position = f"/{self.message_type}/MessageHeader"
        row = (
            self.ctx.provenance(position)
            | (self.header_row or {})
            | {
                "message_id": self.message_id,
                "message_type": self.message_type,
                "ern_version": self.version,
                "message_created_at": self.created_at,
                "update_indicator": self.update_indicator,
                "release_profile": self.root_attributes.get("ReleaseProfileVersionId"),
                "language_and_script": self.root_attributes.get("LanguageAndScriptCode"),
            }
        )
        return Record(position, [("raw.ddex_messages", row)])

    def rejected_release(
        self, position: str, kind: str, reference: str, ids: dict[str, str], problems: list[str], **columns
    ) -> Quarantined:
        """A release refused for its identifiers: quarantined, with its links to its recordings kept in
        raw.ddex_rejected_releases (its deals still license them). columns: release_type, is_main_release,
        title, resource_references."""
        reason = f"{kind} {reference}: {'; '.join(problems)}"
        row = (
            self.base(position)
            | release_id_columns(ids)
            | columns
            | {
                "release_reference": reference,
                "rejected_identifiers": [k for k, v in ids.items() if id_problems({k: v})],
                "reason": reason,
            }
        )
        return Quarantined(position, reason, kept=(("raw.ddex_rejected_releases", row),))

    def release_deal(self, elem) -> Record | Quarantined | list[Record | Quarantined]:
        """One ReleaseDeal → one row per (release reference, deal). Territories and exclusions are kept as
        delivered ('Worldwide' with ExcludedTerritoryCode JP is 'Worldwide minus JP').

        A deal that cannot be a licence window (a date that does not read, an end before its start, a territory
        that is no ISO 3166 code) is quarantined alone, at `.../ReleaseDeal[n]/Deal[m]`: the ReleaseDeal's
        other deals load as its record, and each refused deal counts as one more record found."""
        position = self.position("DealList", "ReleaseDeal")
        index = child_index(elem)
        references = all_texts(index.get("DealReleaseReference", ()))
        if not references:
            return Quarantined(position, "ReleaseDeal without DealReleaseReference")
        effective = parse_date(first_text(index.get("EffectiveDate")))
        rows = []
        refused: list[Quarantined] = []
        for deal_position, deal in enumerate(index.get("Deal", ()), start=1):
            deal_index = child_index(deal)
            terms = deal_index.get("DealTerms")
            if terms is None:
                continue
            terms = child_index(terms[0])
            starts, ends = [], []
            for period in terms.get("ValidityPeriod", ()):
                dates = first_texts(period)
                starts.append(dates.get("StartDate") or dates.get("StartDateTime"))
                ends.append(dates.get("EndDate") or dates.get("EndDateTime"))
            start, end = (starts[0] if starts else None), (ends[0] if ends else None)
            territories = all_texts(terms.get("TerritoryCode", ()))
            excluded = all_texts(terms.get("ExcludedTerritoryCode", ()))
            problems = window_problems(start, end) + territory_problems(territories, excluded)
            if problems:
                refused.append(
                    Quarantined(
                        f"{position}/Deal[{deal_position}]",
                        f"deal {deal_position} of release {', '.join(references)} refused: {'; '.join(problems)}",
                    )
                )
                continue
            takedown = any(
                (first_text(terms.get(name)) or "").lower() == "true" for name in ("TakeDown", "IsTakeDown")
            )
            use_types = all_texts(terms.get("UseType", ())) + _nested_texts(terms, "Usage", "UseType")
            prices = _nested_texts(terms, "PriceInformation", "PriceType") + _nested_texts(
                terms, "PriceInformation", "PriceCode"
            )
            models = all_texts(terms.get("CommercialModelType", ()))
            deal_reference = first_text(deal_index.get("DealReference"))
            for reference in references:
                rows.append(
                    (
                        "raw.ddex_deals",
                        self.base(position)
                        | {
                            "release_reference": reference,
                            "deal_position": deal_position,
                            "deal_reference": deal_reference,
                            "territories": list(territories),
                            "excluded_territories": list(excluded),
                            "commercial_models": list(models),
                            "use_types": use_types,
                            "price_types": list(prices),
                            "start_date": parse_date(start),
                            "end_date": parse_date(end),
                            "effective_date": effective,
                            "is_takedown": takedown,
                        },
                    )
                )
        if not refused:
            return Record(position, rows)
        return ([Record(position, rows)] if rows else []) + refused

    def purged_release(self, elem) -> Record | Quarantined:
        """A PurgeReleaseMessage names the releases to withdraw by their ids (not by message references)."""
        position = self.position(None, "PurgedRelease")
        ids = identifiers(child(elem, "ReleaseId"))
        if not ids:
            return Quarantined(position, "PurgedRelease without ReleaseId")
        problems = id_problems(ids)
        if problems:
            return Quarantined(position, f"PurgedRelease: {'; '.join(problems)}")
        title = (
            text(elem, "DisplayTitleText")
            or text(elem, "Title", "TitleText")
            or text(elem, "ReferenceTitle", "TitleText")
        )
        row = self.base(position) | release_id_columns(ids) | {"title": title}
        return Record(position, [("raw.ddex_purges", row)])


def _nested_texts(index: dict[str, list], name: str, leaf: str) -> list[str]:
    """`texts(elem, name, leaf)` from the child index of elem."""
    return [value for node in index.get(name, ()) for value in all_texts(child_index(node).get(leaf, ()))]


@dataclass(frozen=True)
class MessageIdentity:
    """What makes a DDEX message the same message whatever its bytes: a resend with a BOM, in another
    encoding or re-indented has another sha256 but the same id, creation time and sender."""

    message_id: str
    created_at: datetime
    sender: str  # the sender's DPID, else its name

    def describe(self) -> str:
        return f"message {self.message_id!r} of {self.created_at.isoformat()} from {self.sender!r}"


def message_identity(path) -> MessageIdentity | None:
    """The identity of a message from its MessageHeader (reading no further); None when the header lacks a
    part of it, or the file cannot be read far enough (the load that follows says why)."""
    from lxml import etree

    try:
        for _event, elem in xmlsafe.iterparse(path, events=("end",), tag=("{*}MessageHeader", "MessageHeader")):
            parent = elem.getparent()
            if parent is None or parent.getparent() is not None:
                continue
            sender = child(elem, "MessageSender")
            message_id = text(elem, "MessageId")
            created_at = parse_timestamp(text(elem, "MessageCreatedDateTime"))
            sender_key = (text(sender, "PartyId") or text(sender, "PartyName", "FullName")) if sender is not None else None
            if message_id and created_at and sender_key:
                return MessageIdentity(message_id, created_at, sender_key)
            return None
    except (etree.XMLSyntaxError, RejectedFile, OSError):
        return None
    return None


def dumps(value) -> str:
    """JSON text of a list of dicts, non-ASCII kept as is (msgspec: several times faster than json here)."""
    return _json_encoder().encode(value).decode()


@cache
def _json_encoder():
    import msgspec

    return msgspec.json.Encoder()


def stream_message(
    path: Path,
    ctx: FileContext,
    *,
    family: str,
    namespaces: dict[str, str],
    message_class: type[MessageState],
    streamed: tuple[str, ...],
    part: Part | None = None,
) -> Iterator[Record | Quarantined]:
    """The streaming loop every ERN family shares. Only the root and the `streamed` elements surface; each goes
    to `message.dispatch(elem, name, parent_name, parent)`, which returns a record to yield, a list of items to
    yield (a record and what of it was refused), None (taken in, no record) or SKIP (left in the tree). Handled elements are freed at once, so a 1 GB message streams.

    part: read only this part of a large message (see `ddex_parts`); its item positions continue from its
    offsets, only the first part yields the message record, and the part's item counts are set at its end."""
    from lxml import etree

    namespace, root = xmlsafe.root_tag(path)
    if namespace not in namespaces or root not in MESSAGE_TYPES:
        raise RejectedFile(f"not a DDEX {family} message: root {root!r} in namespace {namespace!r}")
    message: MessageState | None = None
    tags = [f"{{*}}{name}" for name in (root, *streamed)]
    source = path if part is None else PartReader(path, part)
    try:
        for event, elem in xmlsafe.iterparse(source, events=("start", "end"), tag=tags):
            if event == "start":  # only the root's matters: the message begins
                if message is None and elem.getparent() is None:
                    message = message_class(ctx, namespaces[namespace], root, dict(elem.attrib))
                    if part is not None:
                        message.positions.update(part.offsets)
                continue
            parent = elem.getparent()
            if parent is None:
                if message.header_row is None and (part is None or part.first):
                    raise RejectedFile(
                        f"{family} {root} without its MessageHeader: no sender and no creation time, so its "
                        "records cannot be ordered against another message's; not loaded"
                    )
                if part is not None:
                    part.counts = {
                        key: count - part.offsets.get(key, 0)
                        for key, count in message.positions.items()
                        if key.startswith("ResourceList/")
                    }
                if part is None or part.first:
                    yield message.message_record()
                continue
            outcome = message.dispatch(elem, local_name(elem), local_name(parent), parent)
            if outcome is SKIP:
                continue
            if isinstance(outcome, list):  # a record and the parts of it refused (a ReleaseDeal's bad deals)
                yield from outcome
            elif outcome is not None:
                yield outcome
            xmlsafe.release_memory(elem)
    except etree.XMLSyntaxError as exc:
        raise RejectedFile(f"XML breaks off or is malformed: {exc}") from exc
    finally:
        if part is not None:
            source.close()


# Artist roles that make a display artist when a record has no DisplayArtistName (ERN 3 ArtistRole,
# ERN 4 DisplayArtistRole); composers, conductors, orchestras and other contributors never do.
MAIN_ARTIST_ROLES = ("MainArtist", "Artist")
FEATURED_ARTIST_ROLES = ("FeaturedArtist",)


def display_artist_from_roles(artists: list[tuple[str | None, list[str]]]) -> str | None:
    """'A & B feat. C' from (name, roles) pairs in sequence order: main artists, then featured ones."""
    main = [name for name, roles in artists if name and any(r in MAIN_ARTIST_ROLES for r in roles)]
    featured = [
        name
        for name, roles in artists
        if name and name not in main and any(r in FEATURED_ARTIST_ROLES for r in roles)
    ]
    if not main:
        return None
    shown = " & ".join(dict.fromkeys(main))
    return f"{shown} feat. {' & '.join(dict.fromkeys(featured))}" if featured else shown
