"""values: identifier checks (python-stdnum; EIDR by ISO 7064), match keys and parsing."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.ingest import values
from pipelines.text.match_key import match_key


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        ("isrc", "JPTO09404900", None),
        (
            "isrc",
            "QQZZ02600001",
            "invalid ISRC 'QQZZ02600001': One of the parts of the number are invalid or unknown.",
        ),
        ("isrc", "JPTO0940490", "invalid ISRC 'JPTO0940490': The number has an invalid length."),
        ("icpn", "00094631432057", None),  # GTIN-14
        ("icpn", "669447000013", None),  # UPC-12
        (
            "icpn",
            "4589990300019",
            "invalid ICPN '4589990300019': The number's checksum or check digit is invalid.",
        ),
        ("grid", "A1-2425G-ABC1234002-M", None),
        (
            "grid",
            "A1UCASE0000000012X",
            "invalid GRid 'A1UCASE0000000012X': The number's checksum or check digit is invalid.",
        ),
        ("isan", "0000-0000-3A8D-0000-Z-0000-0000-6", None),
        (
            "isan",
            "0000-0000-3A8D-0000-Y-0000-0000-6",
            "invalid ISAN '0000-0000-3A8D-0000-Y-0000-0000-6': The number's checksum or check digit is invalid.",
        ),
        ("isni", "0000 0001 2281 955X", None),
        (
            "isni",
            "0000 0001 2281 9551",
            "invalid ISNI '0000 0001 2281 9551': The number's checksum or check digit is invalid.",
        ),
        ("eidr", "10.5240/7791-8534-2C23-9030-8610-5", None),
        (
            "eidr",
            "10.5240/7791-8534-2C23-9030-8610-6",
            "invalid EIDR '10.5240/7791-8534-2C23-9030-8610-6': check character should be '5'",
        ),
        ("eidr", "7791-8534", "invalid EIDR '7791-8534': expected 10.5240/XXXX-XXXX-XXXX-XXXX-XXXX-C"),
        ("ProprietaryId", "anything", None),  # no check exists: not judged
    ],
)
def test_identifier_problems(kind, value, problem):
    assert values.identifier_problems({kind: value}) == ([problem] if problem else [])


@pytest.mark.parametrize(
    ("original", "key"),
    [
        ("ﾕﾒﾉﾊｼﾞﾏﾘ", "ユメノハジマリ"),
        ("Ｔｓｕｋｉ  no\u3000Uta", "tsuki no uta"),
        ("Café", "café"),
        (None, None),
        ("  ", None),
    ],
)
def test_match_key_is_nfkc_casefolded_and_leaves_originals_alone(original, key):
    assert match_key(original) == key


def test_parsing():
    assert values.iso_duration_seconds("PT3M41S") == 221
    assert values.iso_duration_seconds("PT1H2M3.6S") == 3724
    assert values.iso_duration_seconds("3:41") is None
    assert values.clock_seconds("01:58:00") == 7080
    assert values.parse_date("2012-02-01T00:00:00Z") == date(2012, 2, 1)
    assert values.parse_date("2011") is None
