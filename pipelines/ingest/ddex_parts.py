"""A large DDEX message read in parts, by several processes at once.

The bulk of an ERN message is its ResourceList: one item per recording, each costing the adapter's Python
far more than libxml2's parse. The loader cuts the ResourceList into byte ranges at item start tags, and
each reader parses a document made of the message's head (prolog, root start tag, header, PartyList, the
ResourceList start tag) and its range, closed by `</ResourceList></root>` when the range ends before the
file does. Reader 0 (the loader) reads the head and the first range as one; the last reader reads on to
the end of the file (ReleaseList, DealList and the end of the message).

A part is read exactly as the whole message would be, which these checks make sure of:
- a cut lies between two items of the ResourceList: the reader whose range ends at the cut parses its
  document to the end only if so (a cut inside an item, a comment or a CDATA section breaks its tail);
- the head ends right after the ResourceList start tag: each helper parses the head alone first;
- item positions (`/NewReleaseMessage/ResourceList/SoundRecording[40123]`) run on across parts: a helper
  counts the items before its range with a byte search (ERN writes child elements unqualified) and
  reports the count, every reader reports how many items it read, and the loader checks that the counts
  add up, part after part.
A check that fails, an XML error or a lost helper, and the loader reads the file again alone (which also
names a malformed file's error with its true line number).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.ingest.records import RejectedFile
from pipelines.ingest.xmlsafe import localname, root_name, safe_parser

MIN_PART_BYTES = 1_000_000  # a message with less than this per reader after its head is read whole
SEARCH_WINDOW = 1 << 20  # bytes searched at a time for the ResourceList start tag, and for an item at a cut
HEAD_LIMIT = 64 << 20  # a ResourceList starting later than this (after a huge PartyList) is read whole
COUNT_CHUNK = 1 << 20
# Reader 0 (the loader) also inserts every reader's rows and commits: it reads the share of a helper this many
# times over of the bytes after the head (with one helper, 60%: the two then finish together).
LOADER_WEIGHT = 1.5
_ASCII_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii"}
_LIST_START = re.compile(rb"<ResourceList[\s>]")
_DECLARED_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class SplitMismatch(Exception):
    """A read in parts did not add up: the file is read again whole."""


@dataclass
class Part:
    """One reader's document: byte ranges of the file, then a closing tail; what it found at the end."""

    number: int
    segments: tuple[tuple[int, int], ...]
    tail: bytes  # appended after the segments: the closing tags, or nothing for the part that ends the file
    closing: bytes  # the closing tags (`</ResourceList></root>`)
    # helpers: (head end, range start), the bytes in which to count the items before their range
    count_before: tuple[int, int] | None = None
    kinds: tuple[str, ...] = ()
    offsets: dict[str, int] = field(default_factory=dict)  # {"ResourceList/SoundRecording": items before}
    counts: dict[str, int] = field(default_factory=dict)  # items of each kind read in the part

    @property
    def first(self) -> bool:
        """Reader 0 yields the message record (its document holds the whole head and the true start)."""
        return self.number == 0

    def prepare(self, path: Path) -> None:
        """In a helper, before reading: check the head and count the items before the part's range."""
        if self.count_before is None:
            return
        head_end, start = self.count_before
        _check_head(path, head_end, self.closing)
        self.offsets = count_items(path, self.kinds, head_end, start)


@dataclass(frozen=True)
class Plan:
    head_end: int  # just after the ResourceList start tag
    cuts: tuple[int, ...]  # where ranges 1.. begin (item start tags)
    size: int
    tail: bytes  # b"</ResourceList></ern:NewReleaseMessage>"
    kinds: tuple[str, ...]

    @property
    def readers(self) -> int:
        return len(self.cuts) + 1

    def part(self, number: int) -> Part:
        if number == 0:
            return Part(0, ((0, self.cuts[0]),), self.tail, self.tail, kinds=self.kinds)
        start = self.cuts[number - 1]
        last = number == len(self.cuts)
        end = self.size if last else self.cuts[number]
        return Part(
            number,
            ((0, self.head_end), (start, end)),
            b"" if last else self.tail,
            self.tail,
            count_before=(self.head_end, start),
            kinds=self.kinds,
        )


def plan(path: Path, readers: int, kinds: tuple[str, ...]) -> Plan | None:
    """Where to cut the message for `readers` readers; None when it is not worth it or not safe to try
    (little after the ResourceList start tag, no item start tag near a cut, an encoding whose markup bytes
    are not ASCII). Reads the head and a window at each cut, never the whole file (whose pages would count
    in this process's memory)."""
    if readers < 2:
        return None
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(SEARCH_WINDOW)
        declared = _DECLARED_ENCODING.match(head)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
            return None
        if declared and declared.group(1).decode().lower() not in _ASCII_ENCODINGS:
            return None
        list_start = _LIST_START.search(head)
        while list_start is None and len(head) < HEAD_LIMIT:  # past a large PartyList
            more = fh.read(SEARCH_WINDOW)
            if not more:
                return None  # no ResourceList (a purge): read whole
            head += more
            list_start = _LIST_START.search(head, max(0, len(head) - len(more) - 16))
        if list_start is None:
            return None
        head_end = head.find(b">", list_start.start()) + 1
        if head_end <= 0 or size - head_end < MIN_PART_BYTES * readers:
            return None
        item = _item_start(kinds)
        cuts: list[int] = []
        loader_share = LOADER_WEIGHT / (LOADER_WEIGHT + readers - 1)
        for number in range(readers - 1):
            share = loader_share + (1 - loader_share) * number / (readers - 1)
            target = head_end + int((size - head_end) * share)
            fh.seek(target)
            found = item.search(fh.read(SEARCH_WINDOW))
            if found is None or (cuts and target + found.start() <= cuts[-1]):
                return None
            cuts.append(target + found.start())
    tail = f"</ResourceList></{root_name(path)}>".encode()
    return Plan(head_end, tuple(cuts), size, tail, kinds)


def count_items(path: Path, kinds: tuple[str, ...], start: int, end: int) -> dict[str, int]:
    """{"ResourceList/<kind>": start tags of that kind in bytes [start, end)}, read a chunk at a time."""
    item = _item_start(kinds)
    overlap = max(len(kind) for kind in kinds) + 2  # a tag cut by a chunk boundary is found in the next
    found: Counter[str] = Counter()
    carry = b""
    with path.open("rb") as fh:
        fh.seek(start)
        remaining = end - start
        while remaining > 0:
            chunk = fh.read(min(COUNT_CHUNK, remaining))
            if not chunk:
                raise RejectedFile("the file changed while it was read")
            remaining -= len(chunk)
            data = carry + chunk
            limit = len(data) if remaining == 0 else max(0, len(data) - overlap)
            # a match starting before the limit is whole in data; one starting after it is found next time
            found.update(match.group(1).decode() for match in item.finditer(data) if match.start() < limit)
            carry = data[limit:]
    return {f"ResourceList/{kind}": count for kind, count in found.items()}


def check_counts(first: Part, others: list[Part]) -> None:
    """Each part's offsets are the items before it: raises SplitMismatch where they do not add up."""
    expected = Counter(first.counts)
    for part in others:
        if +Counter(part.offsets) != +expected:
            raise SplitMismatch(
                f"part {part.number} counted {dict(part.offsets)} items before it; the parts before read "
                f"{dict(+expected)}"
            )
        expected += Counter(part.counts)


def _item_start(kinds: tuple[str, ...]) -> re.Pattern[bytes]:
    return re.compile(rb"<(" + b"|".join(re.escape(kind.encode()) for kind in kinds) + rb")[\s/>]")


def _check_head(path: Path, head_end: int, tail: bytes) -> None:
    """The head, closed by the tail, parses to a message whose last child is an empty ResourceList."""
    from lxml import etree

    with path.open("rb") as fh:
        head = fh.read(head_end)
    try:
        root = etree.fromstring(head + tail, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise SplitMismatch(f"the message head does not parse alone: {exc}") from exc
    if not len(root) or localname(root[-1]) != "ResourceList" or len(root[-1]):
        raise SplitMismatch("the message head does not end with the ResourceList start tag")


class PartReader:
    """A file-like object over a part's document (what lxml's iterparse reads)."""

    def __init__(self, path: Path, part: Part):
        self.file = path.open("rb")
        self.segments = list(part.segments)
        self.tail = part.tail
        self.remaining = 0

    def read(self, size: int = -1) -> bytes:
        while self.remaining == 0:
            if not self.segments:
                data, self.tail = self.tail, b""
                return data
            start, end = self.segments.pop(0)
            self.file.seek(start)
            self.remaining = end - start
        data = self.file.read(self.remaining if size < 0 else min(size, self.remaining))
        if not data:
            raise RejectedFile("the file changed while it was read")
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.file.close()
