"""The DDEX MEAD 1.0.1 feed for music partners: each licensed work's kansei moods and themes as one MeadMessage.

Shape (as rights-holders' MEAD deliveries carry it): root `mead:MeadMessage` in namespace
`http://ddex.net/xml/mead/101` with unqualified children; a `MessageHeader` (MessageId, MessageSender and
MessageRecipient with PartyId and PartyName/FullName, MessageCreatedDateTime); then a
`ResourceInformationList` of recordings keyed by ISRC and a `ReleaseInformationList` of releases keyed by
ICPN, each entry a summary (id, DisplayTitle, DisplayArtist) followed by its `Mood` and `ProgrammaticTheme`
elements. A value MEAD lists is written as is (`<Value>Peaceful</Value>`); any other is
`<Value Namespace="<sender DPID>" UserDefinedValue="...">UserDefined</Value>`.

Kansei tags of the mood, emotion and impression facets become Moods: the taxonomy's `mead_moods` for the tag
where it names some, else the tag's English label as a user-defined value. Theme and scene tags become
ProgrammaticThemes (their English label). Values keep the work's tag order (highest score first), each once.

Byte-identical for identical input: no wall-clock time (MessageCreatedDateTime is the delivery date at
midnight Asia/Tokyo), a MessageId derived from partner, feed and logical date. Memory: written with
`lxml.etree.xmlfile`, one work's element at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import chain
from typing import Any, BinaryIO

from pipelines.export.formats import CountingWriter, FileSpec

MEAD_NAMESPACE = "http://ddex.net/xml/mead/101"
FEED_FILE = "mead.xml"

# MEAD values written as themselves; anything else goes as a UserDefined value under the sender's namespace
STANDARD_MOODS = frozenset({"Angry", "Confident", "Dramatic", "Happy", "Inspiring", "Peaceful"})
STANDARD_THEMES = frozenset({"Beauty", "Family", "Love"})
MOOD_FACETS = ("mood", "emotion", "impression")
THEME_FACETS = ("theme", "scene")


@dataclass(frozen=True)
class Party:
    party_id: str  # a DDEX Party Identifier (DPID)
    name: str


@dataclass(frozen=True)
class MeadHeader:
    message_id: str
    sender: Party
    recipient: Party
    created: str  # xs:dateTime

    @classmethod
    def for_delivery(
        cls, sender: Party, recipient: Party, partner_id: str, logical_date: date, delivery_date: date
    ):
        return cls(
            message_id=f"msdb-{partner_id}-mead-{logical_date.isoformat()}",
            sender=sender,
            recipient=recipient,
            created=f"{delivery_date.isoformat()}T00:00:00+09:00",
        )


@dataclass(frozen=True)
class MeadVocabulary:
    """What the MEAD feed needs of the taxonomy: each tag's facet, English label and MEAD mood values."""

    facets: Mapping[str, str]
    labels: Mapping[str, str]
    mead_moods: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_taxonomy(cls, taxonomy) -> MeadVocabulary:
        # `mead_moods` comes with the 95-tag taxonomy; a taxonomy without it maps every tag to its label
        return cls(
            facets={t.id: t.facet for t in taxonomy.tags},
            labels={t.id: t.label_en for t in taxonomy.tags},
            mead_moods={t.id: tuple(getattr(t, "mead_moods", ()) or ()) for t in taxonomy.tags},
        )

    def values(self, tags: Iterable[Mapping[str, Any]] | None, facets: tuple[str, ...], standard) -> list[dict]:
        """The MEAD values of a work's tags of those facets, in the tags' order, each value once."""
        seen: dict[str, dict[str, Any]] = {}
        for entry in tags or ():
            tag_id = entry["tag_id"]
            if self.facets.get(tag_id) not in facets:
                continue
            mapped = self.mead_moods.get(tag_id, ()) if standard is STANDARD_MOODS else ()
            for value in mapped or (self.labels[tag_id],):
                seen.setdefault(value, {"value": value, "user_defined": value not in standard})
        return list(seen.values())


def mead_row(work: Mapping[str, Any], vocabulary: MeadVocabulary) -> dict[str, Any]:
    """A works-feed row (kansei_tags with tag_id, highest score first) as the MEAD feed's row."""
    title_ja = work.get("title_ja")
    return {
        "work_id": work["work_id"],
        "kind": work["kind"],
        "isrc": work.get("isrc"),
        "icpn": work.get("icpn"),
        "title": title_ja or work.get("title"),
        "title_language": "ja" if title_ja else None,
        "display_artist": work.get("display_artist"),
        "moods": vocabulary.values(work.get("kansei_tags"), MOOD_FACETS, STANDARD_MOODS),
        "themes": vocabulary.values(work.get("kansei_tags"), THEME_FACETS, STANDARD_THEMES),
    }


def _sub(parent, tag: str, text: str | None = None, **attrs):
    from lxml import etree

    element = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def _party(parent, tag: str, party: Party) -> None:
    element = _sub(parent, tag)
    _sub(element, "PartyId", party.party_id)
    _sub(_sub(element, "PartyName"), "FullName", party.name)


def _header(header: MeadHeader):
    from lxml import etree

    element = etree.Element("MessageHeader")
    _sub(element, "MessageId", header.message_id)
    _party(element, "MessageSender", header.sender)
    _party(element, "MessageRecipient", header.recipient)
    _sub(element, "MessageCreatedDateTime", header.created)
    return element


def _information(row: Mapping[str, Any], namespace: str):
    """One ResourceInformation (a recording) or ReleaseInformation (a release)."""
    from lxml import etree

    release = row["kind"] == "release"
    element = etree.Element("ReleaseInformation" if release else "ResourceInformation")
    summary = _sub(element, "ReleaseSummary" if release else "ResourceSummary")
    identifier = _sub(summary, "ReleaseId" if release else "ResourceId")
    code = row.get("icpn") if release else row.get("isrc")
    if code:
        _sub(identifier, "ICPN" if release else "ISRC", code)
    else:
        _sub(identifier, "ProprietaryId", row["work_id"], Namespace=namespace)
    if row.get("title"):
        title = _sub(summary, "DisplayTitle", LanguageAndScriptCode=row.get("title_language"))
        _sub(_sub(title, "TitleText"), "Title", row["title"])
    if row.get("display_artist"):
        _sub(_sub(_sub(summary, "DisplayArtist"), "FullName"), "Name", row["display_artist"])
    for tag, values in (("Mood", row.get("moods")), ("ProgrammaticTheme", row.get("themes"))):
        for value in values or ():
            holder = _sub(element, tag)
            if value["user_defined"]:
                _sub(holder, "Value", "UserDefined", Namespace=namespace, UserDefinedValue=value["value"])
            else:
                _sub(holder, "Value", value["value"])
    return element


def write_mead(
    fh: BinaryIO,
    recordings: Iterable[list[dict[str, Any]]],
    releases: Iterable[list[dict[str, Any]]],
    header: MeadHeader,
    name: str = FEED_FILE,
) -> FileSpec:
    """Stream one MeadMessage into `fh`: the recordings' list, then the releases' (MEAD's order), each batch of
    MEAD rows (`mead_row`) as it comes; a list with no entry is left out. Returns the manifest's file entry."""
    from lxml import etree

    out = CountingWriter(fh)
    rows = 0
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{MEAD_NAMESPACE}}}MeadMessage", nsmap={"mead": MEAD_NAMESPACE}):
            xf.write("\n")
            xf.write(_header(header), pretty_print=True)
            for list_tag, batches in (
                ("ResourceInformationList", recordings),
                ("ReleaseInformationList", releases),
            ):
                entries = (row for batch in batches for row in batch)
                first = next(entries, None)
                if first is None:
                    continue  # no empty list: MEAD wants at least one entry in it
                with xf.element(list_tag):
                    xf.write("\n")
                    for row in chain([first], entries):
                        xf.write(_information(row, header.sender.party_id), pretty_print=True)
                        rows += 1
                xf.write("\n")
    out.write(b"\n")
    return out.spec(name, rows)


def mead_batches(con, delivered_sql: str, vocabulary: MeadVocabulary, kind: str, batch_rows: int):
    """The MEAD rows of a partner's delivered works of one kind (recording or release), in work_id order."""
    cursor = con.execute(
        f"SELECT work_id, kind, isrc, icpn, title, title_ja, display_artist, kansei_tags "
        f"FROM ({delivered_sql}) WHERE kind = ? ORDER BY work_id",
        [kind],
    )
    names = [d[0] for d in cursor.description]
    while rows := cursor.fetchmany(batch_rows):
        yield [mead_row(dict(zip(names, values, strict=True)), vocabulary) for values in rows]


def write_mead_feed(con, delivered_sql: str, vocabulary: MeadVocabulary, header: MeadHeader, open_file, batch_rows: int):
    """A music partner's MEAD delivery (`mead.xml`) over its delivered works; returns the manifest's file."""
    with open_file(FEED_FILE) as fh:
        return write_mead(
            fh,
            mead_batches(con, delivered_sql, vocabulary, "recording", batch_rows),
            mead_batches(con, delivered_sql, vocabulary, "release", batch_rows),
            header,
        )
