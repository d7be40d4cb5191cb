"""DDEX MEAD 1.0.1 (Media Enrichment and Description) messages → raw.mead_descriptors.

A MEAD message describes resources, releases, works or parties that an ERN delivered: moods, programmatic and
lyric themes, BPM, instruments, genres, vocal register, harmony... Each `...Information` element is one record
and lands as one row per descriptor value, keyed by the identifier of what it describes (an ISRC, an ICPN...).
These are the rights-holder's own labels: the kansei evaluation reads them as labelled data.

Values are kept as delivered (`value_as_delivered`, e.g. 'UserDefined'), and `value` resolves DDEX's
user-defined escape hatch to the label it carries (UserDefinedValue="Uplifting" → 'Uplifting').
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pipelines.ingest import xmlsafe
from pipelines.ingest.ddex_message import identifiers
from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile
from pipelines.ingest.values import identifier_problems, parse_timestamp
from pipelines.ingest.xmlsafe import child, localname, text
from pipelines.text.match_key import match_key

MEAD_NAMESPACES = {"http://ddex.net/xml/mead/101": "1.0.1"}
SUBJECTS = ("Resource", "Release", "Work", "Party")
_INFORMATION = tuple(f"{subject}Information" for subject in SUBJECTS)
_ID_KINDS = ("ISRC", "ICPN", "GRid", "ISWC", "ISNI", "ProprietaryId", "CatalogNumber")
_VALUE_ATTRIBUTES_KEPT_ELSEWHERE = {"Namespace", "UserDefinedValue"}


def accepts(namespace: str | None, root: str) -> bool:
    return namespace in MEAD_NAMESPACES and root == "MeadMessage"


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _descriptor_values(node, path: str) -> Iterator[tuple[str, object, dict]]:
    """(descriptor path, value element, inherited attributes) for every leaf below a descriptor element."""
    inherited = {k: v for k, v in node.attrib.items() if k not in _VALUE_ATTRIBUTES_KEPT_ELSEWHERE}
    elements = [c for c in node if isinstance(c.tag, str)]
    if not elements:
        yield path, node, {}
        return
    for sub in elements:
        name = localname(sub)
        if name == "Value":
            yield path, sub, inherited
        else:
            for sub_path, leaf, attrs in _descriptor_values(sub, f"{path}/{name}"):
                yield sub_path, leaf, inherited | attrs


class _MeadMessage:
    def __init__(self, ctx: FileContext):
        self.ctx = ctx
        self.message_id: str | None = None
        self.created_at = None
        self.counts: dict[str, int] = {}

    def header(self, elem) -> None:
        self.message_id = text(elem, "MessageId")
        self.created_at = parse_timestamp(text(elem, "MessageCreatedDateTime"))

    def information(self, elem) -> Record | Quarantined:
        subject_kind = localname(elem).removesuffix("Information")
        self.counts[subject_kind] = self.counts.get(subject_kind, 0) + 1
        position = f"/MeadMessage/{subject_kind}InformationList/{subject_kind}Information[{self.counts[subject_kind]}]"
        summary = child(elem, f"{subject_kind}Summary")
        ids = identifiers(child(summary, f"{subject_kind}Id")) if summary is not None else {}
        subject = next(((kind, ids[kind]) for kind in _ID_KINDS if kind in ids), None)
        if subject is None:
            return Quarantined(
                position, f"{subject_kind}Information without a {subject_kind}Id in its summary"
            )
        problems = identifier_problems(ids)
        if problems:
            return Quarantined(position, f"{subject_kind}Information: {'; '.join(problems)}")
        title = None
        artist = None
        if summary is not None:
            title = text(summary, "DisplayTitle", "TitleText", "Title") or text(
                summary, "DisplayTitle", "TitleText"
            )
            artist = text(summary, "DisplayArtist", "FullName", "Name") or text(summary, "DisplayArtistName")
        base = self.ctx.provenance(position) | {
            "message_id": self.message_id,
            "message_created_at": self.created_at,
            "subject_kind": subject_kind,
            "subject_id_type": subject[0],
            "subject_id": subject[1],
            "subject_title": title,
            "subject_title_match_key": match_key(title),
            "subject_display_artist": artist,
        }
        rows = []
        for descriptor in elem:
            name = localname(descriptor)
            if not name or descriptor is summary:
                continue
            for path, leaf, inherited in _descriptor_values(descriptor, name):
                delivered = (leaf.text or "").strip() or None
                user_defined = leaf.get("UserDefinedValue")
                value = user_defined if delivered == "UserDefined" and user_defined else delivered
                if value is None:
                    continue
                attributes = inherited | {
                    k: v for k, v in leaf.attrib.items() if k not in _VALUE_ATTRIBUTES_KEPT_ELSEWHERE
                }
                rows.append(
                    (
                        "raw.mead_descriptors",
                        base
                        | {
                            "descriptor": path,
                            "value_position": len(rows) + 1,
                            "value": value,
                            "value_as_delivered": delivered,
                            "value_number": _number(value),
                            "value_namespace": leaf.get("Namespace"),
                            "attributes": json.dumps(attributes, ensure_ascii=False, sort_keys=True),
                        },
                    )
                )
        if not rows:
            return Quarantined(position, f"{subject_kind}Information for {subject[1]} carries no descriptor")
        return Record(position, rows)


def parse(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    from lxml import etree

    namespace, root = xmlsafe.root_tag(path)
    if not accepts(namespace, root):
        raise RejectedFile(f"not a DDEX MEAD 1.0.1 message: root {root!r} in namespace {namespace!r}")
    message = _MeadMessage(ctx)
    try:
        for _event, elem in xmlsafe.iterparse(
            path, tag=[f"{{*}}{n}" for n in ("MessageHeader", *_INFORMATION)]
        ):
            parent = elem.getparent()
            if parent is None:
                continue
            name = localname(elem)
            if name == "MessageHeader":
                message.header(elem)
            elif localname(parent) == f"{name}List":
                yield message.information(elem)
                xmlsafe.release_memory(elem)
    except etree.XMLSyntaxError as exc:
        raise RejectedFile(f"XML breaks off or is malformed: {exc}") from exc
