"""The vocabulary is written into XML text and attributes unescaped: it must need no escaping."""

from __future__ import annotations

from pipelines.generate import vocabulary


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def test_no_word_needs_xml_escaping():
    words = [w for name in dir(vocabulary) if name.isupper() for w in _strings(getattr(vocabulary, name))]
    assert len(words) > 200
    assert [w for w in words if set(w) & set('&<>"')] == []
