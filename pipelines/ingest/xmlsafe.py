"""XML reading without DTD loading, network access or entity expansion.

Rights-holders' XML is untrusted input: external entities (XXE) and entity bombs are refused before parsing,
and the parser itself is configured so that neither could be honoured anyway.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

from pipelines.ingest.records import RejectedFile
from pipelines.text import shift_jis

_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_PROCESSING_INSTRUCTION = re.compile(r"<\?.*?\?>", re.DOTALL)
_ROOT_START = re.compile(r"<[^!?]")
_HEAD_BYTES = 1 << 16
PROLOG_LIMIT = 1 << 20  # a DOCTYPE or comment block larger than this before the root is refused


def _decode(head: bytes) -> str:
    """The prolog as text. ASCII-compatible encodings (UTF-8, Shift_JIS, ISO-8859-x...) agree on the bytes
    of markup, so latin-1 reads their markup exactly; UTF-16 is recognised by its BOM or its first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, errors="ignore")
    if head[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        return head.decode("utf-16-le" if head[0] == 0x3C else "utf-16-be", errors="ignore")
    return head.decode("latin-1")


def prolog(path: Path) -> str:
    """Everything before the root element's start tag (comments and processing instructions removed)."""
    with path.open("rb") as fh:
        raw = fh.read(_HEAD_BYTES)
        while True:
            text = _COMMENT.sub("", _PROCESSING_INSTRUCTION.sub("", _decode(raw)))
            match = _ROOT_START.search(text)
            if match:
                return text[: match.start()]
            more = fh.read(_HEAD_BYTES)
            if not more:
                return text
            if len(raw) >= PROLOG_LIMIT:
                raise RejectedFile(f"no root element within the first {PROLOG_LIMIT} bytes; not parsed")
            raw += more


def refuse_entity_declarations(path: Path) -> None:
    """Entity declarations have no business in a delivery; they are how XXE and billion-laughs work.

    An external DTD reference alone (`<!DOCTYPE ADI SYSTEM "ADI.DTD">`) is allowed: the parser never loads it.
    """
    if _ENTITY_DECL.search(prolog(path)):
        raise RejectedFile(
            "XML declares entities in its DOCTYPE (possible XXE or entity expansion attack); not parsed"
        )


_PARSER_OPTIONS = {
    "load_dtd": False,
    "dtd_validation": False,
    "no_network": True,
    "resolve_entities": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


def safe_parser():
    """An lxml parser for a whole (small) document, configured as `iterparse` is."""
    from lxml import etree

    return etree.XMLParser(**_PARSER_OPTIONS)


_XML_DECLARATION = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_DECLARATION_BYTES = 1024


def declared_encoding(path: Path) -> str | None:
    """The encoding named in the XML declaration (`<?xml ... encoding="Windows-31J"?>`), None when the file
    has a BOM or no declaration (the parser then reads UTF-8 or UTF-16 by itself)."""
    with Path(path).open("rb") as fh:
        head = fh.read(_DECLARATION_BYTES)
    match = _XML_DECLARATION.match(head)
    return match.group(1).decode("ascii") if match else None


class ShiftJisAsUtf8:
    """A file declared in the Shift_JIS family, read as UTF-8 by the parser (a binary file-like object).

    libxml2 refuses `Windows-31J`, `MS932` and `x-sjis`, and maps `Shift_JIS` bytes differently from CP932;
    here every name of the family is decoded the same way (`pipelines.text.shift_jis`), chunk by chunk so a
    large file streams, and the declaration handed to the parser says UTF-8."""

    CHUNK = 1 << 16

    def __init__(self, path: Path, declared: str):
        self.path = Path(path)
        self.declared = declared
        self.file = self.path.open("rb")
        self.decoder = shift_jis.incremental_decoder()
        self.offset = 0  # bytes of the file decoded so far
        self.pending = b""
        self.started = False

    def _next_chunk(self) -> bytes:
        raw = self.file.read(self.CHUNK)
        final = not raw
        carried = len(self.decoder.getstate()[0])  # bytes of a character split by the previous read
        try:
            text = self.decoder.decode(raw, final=final)
        except UnicodeDecodeError as exc:
            self.close()
            at = self.offset - carried + exc.start
            bad = exc.object[exc.start : exc.end].hex()
            raise RejectedFile(
                f"not valid {self.declared} (read as CP932): byte {at} (0x{bad}) is not a character"
            ) from exc
        self.offset += len(raw)
        data = shift_jis.to_jis(text).encode("utf-8")
        if not self.started and data:
            self.started = True
            data = _XML_DECLARATION.sub(
                lambda m: m.group(0).replace(m.group(1), b"UTF-8"), data, count=1
            )
        if final:
            self.close()
        return data

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            chunks = [self.pending]
            while not self.file.closed:
                chunks.append(self._next_chunk())
            self.pending = b""
            return b"".join(chunks)
        while len(self.pending) < size and not self.file.closed:
            self.pending += self._next_chunk()
        data, self.pending = self.pending[:size], self.pending[size:]
        return data

    def close(self) -> None:
        self.file.close()


def source(path):
    """What the parser reads for a path: the file itself, or a UTF-8 view of a Shift_JIS-family one."""
    if not isinstance(path, Path | str):
        return path  # already a file-like object (a part of a large message)
    declared = declared_encoding(Path(path))
    if shift_jis.is_shift_jis(declared):
        return ShiftJisAsUtf8(Path(path), declared)
    return str(path)


def iterparse(path, events: tuple[str, ...] = ("end",), **kwargs):
    """lxml's iterparse over a file (a path, or a binary file-like object), safely configured. A file
    declared in the Shift_JIS family (`Windows-31J`, `MS932`, `Shift_JIS`...) is read through CP932."""
    from lxml import etree

    return etree.iterparse(source(path), events=events, **_PARSER_OPTIONS, **kwargs)


_BOMS = (
    (codecs.BOM_UTF8, "UTF-8", "utf-8", {"utf8"}),
    (codecs.BOM_UTF16_LE, "UTF-16 (little-endian)", "utf-16-le", {"utf16", "utf16le"}),
    (codecs.BOM_UTF16_BE, "UTF-16 (big-endian)", "utf-16-be", {"utf16", "utf16be"}),
)


def refuse_conflicting_byte_order_mark(path: Path) -> None:
    """A byte-order mark and an XML declaration naming another encoding (a UTF-8 BOM before
    `encoding="Shift_JIS"`): XML calls that a fatal error, and which of the two the sender meant cannot be
    told (libxml2 silently believes the BOM, another reader the declaration), so the file is not read."""
    with Path(path).open("rb") as fh:
        head = fh.read(_DECLARATION_BYTES)
    for bom, name, codec, agreeing in _BOMS:
        if head.startswith(bom):
            match = _XML_DECLARATION.match(head[len(bom) :].decode(codec, errors="ignore").encode("ascii", "ignore"))
            declared = match.group(1).decode("ascii") if match else None
            if declared and declared.lower().replace("-", "").replace("_", "") not in agreeing:
                raise RejectedFile(
                    f"byte-order mark says {name} but the XML declaration says encoding={declared!r}: "
                    "which one is right cannot be told; not parsed"
                )
            return


def _root(path: Path):
    """The root element as its start tag leaves it (name and attributes), reading no further."""
    from lxml import etree

    refuse_entity_declarations(path)
    refuse_conflicting_byte_order_mark(path)
    try:
        for _event, elem in iterparse(path, events=("start",)):
            return elem
    except etree.XMLSyntaxError as exc:
        raise RejectedFile(f"not well-formed XML: {exc}") from exc
    raise RejectedFile("empty XML document")


def root_tag(path: Path) -> tuple[str | None, str]:
    """(namespace, local name) of the root element, reading no further than its start tag."""
    from lxml import etree

    qname = etree.QName(_root(path))
    return qname.namespace, qname.localname


def root_name(path: Path) -> str:
    """The root element's name as written in the file (`ern:NewReleaseMessage`)."""
    root = _root(path)
    return f"{root.prefix}:{localname(root)}" if root.prefix else localname(root)


def localname(elem) -> str:
    tag = elem.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def children(elem, name: str) -> Iterator:
    """Child elements with this local name, in any namespace or none (lxml matches '{*}name' in C)."""
    if elem is None:
        return iter(())
    return elem.iterchildren(f"{{*}}{name}")


def child(elem, name: str):
    if elem is None:
        return None
    return next(elem.iterchildren(f"{{*}}{name}"), None)


def text(elem, *path: str) -> str | None:
    """Text of the first element at a relative path of local names, stripped; None when absent or empty."""
    node = elem
    for name in path:
        node = child(node, name) if node is not None else None
    if node is None or node.text is None:
        return None
    value = node.text.strip()
    return value or None


def texts(elem, *path: str) -> list[str]:
    """Texts of every element at the last step of the path."""
    nodes = [elem]
    for name in path:
        nodes = [c for n in nodes for c in children(n, name)]
    return [n.text.strip() for n in nodes if n.text and n.text.strip()]


def release_memory(elem) -> None:
    """Free an element already processed, and its earlier siblings, so that a 1 GB file streams."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


_LOCAL_NAMES: dict[str, str] = {}  # tag → local name; a delivery uses a few hundred tags at most
_LOCAL_NAMES_LIMIT = 10_000


def _remember_local_name(tag) -> str | None:
    """Local name of an element tag, remembered; None for comments, processing instructions and entities."""
    if not isinstance(tag, str):
        return None
    name = tag[tag.index("}") + 1 :] if tag[0] == "{" else tag
    if len(_LOCAL_NAMES) < _LOCAL_NAMES_LIMIT:
        _LOCAL_NAMES[tag] = name
    return name


def local_name(node) -> str | None:
    """`localname` for hot loops: remembered per tag, None (not "") for a comment or processing instruction."""
    tag = node.tag
    return _LOCAL_NAMES.get(tag) or _remember_local_name(tag)


def child_index(elem) -> dict[str, list]:
    """{local name: [children]} in one pass: for list items read field by field, cheaper than one scan per field."""
    index: dict[str, list] = {}
    names = _LOCAL_NAMES
    for node in elem[:]:  # the children as one list: cheaper than lxml's child iterator
        tag = node.tag
        name = names.get(tag) or _remember_local_name(tag)
        if name is None:
            continue
        nodes = index.get(name)
        if nodes is None:
            index[name] = [node]
        else:
            nodes.append(node)
    return index


def first_texts(elem) -> dict[str, str | None]:
    """{local name: stripped text of the first child of that name, None when empty}: `text(elem, name)` for
    every name at the cost of one pass, for the small elements (a title, an artist) read whole."""
    found: dict[str, str | None] = {}
    names = _LOCAL_NAMES
    for node in elem[:]:
        tag = node.tag
        name = names.get(tag) or _remember_local_name(tag)
        if name is None or name in found:
            continue
        value = node.text
        found[name] = (value.strip() or None) if value is not None else None
    return found


def first_text(nodes: list | None) -> str | None:
    """Stripped text of the first node of a child_index entry; None when absent or empty."""
    if not nodes:
        return None
    value = nodes[0].text
    return (value.strip() or None) if value is not None else None


def all_texts(nodes: list | tuple) -> list[str]:
    """Stripped, non-empty texts of child_index entries: `texts(elem, name)` from an index."""
    found = []
    for node in nodes:
        value = node.text
        if value is not None:
            value = value.strip()
            if value:
                found.append(value)
    return found
