"""Text processing shared by the article ingest and the kansei stage.

- `japanese`: NFKC match keys, sentence splitting, SudachiPy tokens, lemmas and search keys.
- `language`: ja / en / other detection (py3langid).
- `html`: Japanese-aware decoding of bytes and HTML to clean text (lxml.html).
- `fingerprint`: exact content hash and MinHash near-duplicate signature of an article body.

Nothing here touches the warehouse: functions take text and return values.
"""
