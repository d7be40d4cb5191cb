"""Text processing shared by the article ingest and the kansei stage.

- `match_key`: the one match key of titles and names (NFKC, folded, case-folded), also dbt's `msdb_match_key`.
- `shift_jis`: Shift_JIS / CP932 (`Windows-31J`) bytes to text, whatever name the sender declared.
- `japanese`: sentence splitting, SudachiPy tokens, lemmas and search keys.
- `language`: ja / en / other detection (py3langid).
- `html`: Japanese-aware decoding of bytes and HTML to clean text (lxml.html).
- `fingerprint`: exact content hash and MinHash near-duplicate signature of an article body.

Nothing here touches the warehouse: functions take text and return values.
"""
