"""What every DDEX ERN message carries whatever its version: header, identifiers, titles, track order,
deal terms and purged releases.

The ERN 3 and ERN 4 adapters differ in where things sit (ERN 3 nests names in `...DetailsByTerritory`,
ERN 4 resolves them through a PartyList); both hand their findings to a `MessageState` so that every raw
row carries the same provenance and message metadata: dbt orders messages about one release by
`message_created_at` and reads `message_type` (NewReleaseMessage, UpdateReleaseMessage, PurgeReleaseMessage)
from any row without a join.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pipelines.ingest.records import FileContext, Quarantined, Record
from pipelines.ingest.values import identifier_problems, match_key, parse_date, parse_timestamp
from pipelines.ingest.xmlsafe import child, children, localname, text, texts

ERN_NAMESPACE_PREFIX = "http://ddex.net/xml/ern/"
MESSAGE_TYPES = ("NewReleaseMessage", "UpdateReleaseMessage", "PurgeReleaseMessage")
LISTS = {"PartyList", "ResourceList", "ReleaseList", "DealList"}
RELEASE_ID_KINDS = ("ICPN", "GRid", "ISRC", "CatalogNumber", "ProprietaryId")


def identifiers(id_elem) -> dict[str, str]:
    """{'ICPN': ..., 'GRid': ...} from a ReleaseId / ResourceId / SoundRecordingId element (first of each)."""
    found: dict[str, str] = {}
    if id_elem is None:
        return found
    for node in id_elem:
        name = localname(node)
        value = (node.text or "").strip()
        if name and value and name not in found:
            found[name] = value
    return found


def id_problems(ids: dict[str, str]) -> list[str]:
    return identifier_problems({kind: value for kind, value in ids.items()})


def title_entry(
    node, title_type: str, *, language_script: str | None, territory: str | None, is_default: bool
):
    value = text(node, "TitleText")
    if not value:
        return None
    return {
        "text": value,
        "subtitle": text(node, "SubTitle"),
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

    def sequence_key(indexed):
        index, node = indexed
        seq = text(node, "SequenceNumber")
        return (0, int(seq), index) if seq and seq.isdigit() else (1, 0, index)

    def walk(group, path: str) -> None:
        members = [n for n in group if localname(n) in ("ResourceGroup", "ResourceGroupContentItem")]
        for _index, node in sorted(enumerate(members), key=sequence_key):
            if localname(node) == "ResourceGroup":
                walk(
                    node,
                    f"{path}/{text(node, 'SequenceNumber') or '-'}"
                    if path
                    else text(node, "SequenceNumber") or "-",
                )
                continue
            reference = text(node, "ReleaseResourceReference")
            if reference:
                seq = text(node, "SequenceNumber")
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

    def position(self, list_name: str | None, item: str) -> str:
        key = f"{list_name}/{item}" if list_name else item
        self.positions[key] += 1
        return f"/{self.message_type}/{key}[{self.positions[key]}]"

    def base(self, position: str) -> dict[str, Any]:
        return self.ctx.provenance(position) | {
            "message_id": self.message_id,
            "message_created_at": self.created_at,
            "message_type": self.message_type,
        }

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

    def release_deal(self, elem) -> Record | Quarantined:
        """One ReleaseDeal → one row per (release reference, deal). Territories and exclusions are kept as
        delivered ('Worldwide' with ExcludedTerritoryCode JP is 'Worldwide minus JP')."""
        position = self.position("DealList", "ReleaseDeal")
        references = texts(elem, "DealReleaseReference")
        if not references:
            return Quarantined(position, "ReleaseDeal without DealReleaseReference")
        effective = parse_date(text(elem, "EffectiveDate"))
        rows = []
        for deal_position, deal in enumerate(children(elem, "Deal"), start=1):
            terms = child(deal, "DealTerms")
            if terms is None:
                continue
            starts, ends = [], []
            for period in children(terms, "ValidityPeriod"):
                starts.append(text(period, "StartDate") or text(period, "StartDateTime"))
                ends.append(text(period, "EndDate") or text(period, "EndDateTime"))
            start, end = (starts[0] if starts else None), (ends[0] if ends else None)
            if start and parse_date(start) is None:
                return Quarantined(
                    position, f"deal {deal_position}: unreadable ValidityPeriod start {start!r}"
                )
            if end and parse_date(end) is None:
                return Quarantined(position, f"deal {deal_position}: unreadable ValidityPeriod end {end!r}")
            takedown = any((text(terms, name) or "").lower() == "true" for name in ("TakeDown", "IsTakeDown"))
            use_types = texts(terms, "UseType") + texts(terms, "Usage", "UseType")
            for reference in references:
                rows.append(
                    (
                        "raw.ddex_deals",
                        self.base(position)
                        | {
                            "release_reference": reference,
                            "deal_position": deal_position,
                            "deal_reference": text(deal, "DealReference"),
                            "territories": texts(terms, "TerritoryCode"),
                            "excluded_territories": texts(terms, "ExcludedTerritoryCode"),
                            "commercial_models": texts(terms, "CommercialModelType"),
                            "use_types": use_types,
                            "price_types": texts(terms, "PriceInformation", "PriceType")
                            + texts(terms, "PriceInformation", "PriceCode"),
                            "start_date": parse_date(start),
                            "end_date": parse_date(end),
                            "effective_date": effective,
                            "is_takedown": takedown,
                        },
                    )
                )
        return Record(position, rows)

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
        row = self.base(position) | {
            "icpn": ids.get("ICPN"),
            "grid": ids.get("GRid"),
            "isrc": ids.get("ISRC"),
            "catalog_number": ids.get("CatalogNumber"),
            "proprietary_id": ids.get("ProprietaryId"),
            "title": title,
        }
        return Record(position, [("raw.ddex_purges", row)])


def dumps(value) -> str:
    """JSON text of a list of dicts, non-ASCII kept as is (msgspec: several times faster than json here)."""
    import msgspec

    return msgspec.json.encode(value).decode()
