"""Parsing delivered values (durations, dates, identifiers) into typed ones, or saying why not."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path

_ISO_DURATION = re.compile(
    r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_CLOCK = re.compile(r"^(?P<h>\d{1,3}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")


def iso_duration_seconds(value: str | None) -> int | None:
    """'PT3M41S' → 221. Unknown shapes give None rather than a guess."""
    if not value:
        return None
    return _iso_duration_seconds(value)


@lru_cache(maxsize=4096)  # a catalogue repeats a few thousand durations across its tracks
def _iso_duration_seconds(value: str) -> int | None:
    match = _ISO_DURATION.match(value.strip())
    if not match or not any(match.groupdict().values()):
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return round(
        parts.get("days", 0) * 86400
        + parts.get("hours", 0) * 3600
        + parts.get("minutes", 0) * 60
        + parts.get("seconds", 0)
    )


def clock_seconds(value: str | None) -> int | None:
    """'01:00:00' or '01:30' (hours:minutes) → seconds."""
    if not value:
        return None
    match = _CLOCK.match(value.strip())
    if not match:
        return None
    return int(match["h"]) * 3600 + int(match["m"]) * 60 + int(match["s"] or 0)


def parse_date(value: str | None) -> date | None:
    """A calendar date from 'YYYY-MM-DD', 'YYYY-MM-DDThh:mm:ss...' or a bare year ('1994' → None: not a date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


# --- licence windows ----------------------------------------------------------------------------------------
# The ISO 3166-1 countries the warehouse knows: dbt's reference seed, so that ingest and the territory expansion
# never disagree. 'Worldwide' (and DDEX's short form 'WW') stands for all of them.
WORLDWIDE = frozenset({"WORLDWIDE", "WW"})


@cache
def iso_3166_codes() -> frozenset[str]:
    # the seed of the configured dbt project (MSDB_DBT_PROJECT_DIR), read where the parsers need it, helpers too
    from pipelines.settings import MsdbSettings

    seed = MsdbSettings().dbt_project_dir / "seeds" / "iso_3166_countries.csv"
    with seed.open(encoding="utf-8", newline="") as fh:
        return frozenset(row["country_code"].strip().upper() for row in csv.DictReader(fh))


def territory_problems(territories: list[str], excluded: list[str]) -> list[str]:
    """Why a deal's territories cannot be licensed: a code that is no ISO 3166 country (nor Worldwide in the
    granted list). Exclusions are countries only."""
    known = iso_3166_codes()
    problems = [
        f"territory {code!r} is not an ISO 3166 code"
        for code in territories
        if code.strip().upper() not in known and code.strip().upper() not in WORLDWIDE
    ]
    problems += [
        f"excluded territory {code!r} is not an ISO 3166 code" for code in excluded if code.strip().upper() not in known
    ]
    return problems


def window_problems(start: str | None, end: str | None, what: str = "deal") -> list[str]:
    """Why a licence window as delivered cannot be used: a date that does not read, or an end before the start
    (a window of one day, end = start, is fine). Absent dates are not problems (open-ended windows)."""
    problems = []
    start_date, end_date = parse_date(start), parse_date(end)
    if start and start_date is None:
        problems.append(f"{what} start {start!r} is not a date")
    if end and end_date is None:
        problems.append(f"{what} end {end!r} is not a date")
    if start_date and end_date and end_date < start_date:
        problems.append(f"{what} ends {end_date} before it starts {start_date}")
    return problems


def parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


# --- identifiers -------------------------------------------------------------------------------------------
# Each checker returns why a delivered identifier is invalid, or None when it is fine (or absent). The
# original string is what lands in the raw table; these only decide whether the record may land at all.

_EIDR = re.compile(r"^10\.5240/(?P<body>(?:[0-9A-F]{4}-){5})(?P<check>[0-9A-Z])$")


@cache
def _stdnum(module: str):
    import importlib

    return importlib.import_module(f"stdnum.{module}")


def _stdnum_problem(label: str, module: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    checker = _stdnum(module)
    try:
        checker.validate(value)
    except Exception as exc:  # stdnum raises ValidationError subclasses: InvalidChecksum, InvalidLength ...
        return f"invalid {label} {value!r}: {exc}"
    return None


_ISRC_SHAPE = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")


def invalid_isrc(value: str | None) -> str | None:
    """ISRC has no check digit: stdnum checks its shape and the country code. A compact, well-shaped ISRC is
    checked against stdnum's country list directly (a 50,000-track message validates in milliseconds)."""
    if value and _ISRC_SHAPE.match(value) and value[:2] in _isrc_countries():
        return None
    return _stdnum_problem("ISRC", "isrc", value)


@cache
def _isrc_countries() -> frozenset[str]:
    return frozenset(getattr(_stdnum("isrc"), "_country_codes", ()))


def invalid_icpn(value: str | None) -> str | None:
    """ICPN is an EAN-13/UPC-12 (sometimes written as GTIN-14); the check digit must hold."""
    return _stdnum_problem("ICPN", "ean", value)


def invalid_grid(value: str | None) -> str | None:
    """GRid: 18 characters, ISO 7064 Mod 37,36 check character."""
    return _stdnum_problem("GRid", "grid", value)


_ISAN_PREFIX = re.compile(r"^(?:urn:isan:|isan)\s*:?\s*", re.IGNORECASE)
_ISAN_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\ufe63\uff0d]+")


def _isan_digits(value: str) -> str:
    """The ISAN characters of a delivered spelling: 'ISAN 0000-0001-8cfa-0000-i-0000-0000 K',
    'urn:isan:...', full-width or en-dash separators all give '000000018CFA0000I00000000K'."""
    value = unicodedata.normalize("NFKC", value).strip()
    return _ISAN_SEPARATORS.sub("", _ISAN_PREFIX.sub("", value)).upper()


def normalise_isan(value: str | None) -> str | None:
    """A valid ISAN in its standard presentation ('0000-0001-8CFA-0000-I-0000-0000-K', check characters
    added when the delivery left them out); an invalid or absent one is returned as delivered."""
    if value is None or not value.strip():
        return None
    digits = _isan_digits(value)
    isan = _stdnum("isan")
    if not isan.is_valid(digits):
        return value.strip()
    return isan.format(digits)


def invalid_isan(value: str | None) -> str | None:
    """Checked after normalisation: spaces, hyphens, lower case, an 'ISAN ' prefix and a check character
    written after a space are spellings, not errors; a wrong check character or length is."""
    if value is None or not value.strip():
        return None
    try:
        _stdnum("isan").validate(_isan_digits(value))
    except Exception as exc:  # stdnum's ValidationError subclasses
        return f"invalid ISAN {value!r}: {exc}"
    return None


def invalid_isni(value: str | None) -> str | None:
    return _stdnum_problem("ISNI", "isni", value)


def invalid_eidr(value: str | None) -> str | None:
    """EIDR content id '10.5240/XXXX-XXXX-XXXX-XXXX-XXXX-C': python-stdnum has no EIDR module, but its
    check character is ISO 7064 Mod 37,36 over the 20 hex digits, which stdnum does implement."""
    if value is None or not value.strip():
        return None
    match = _EIDR.match(value.strip().upper())
    if not match:
        return f"invalid EIDR {value!r}: expected 10.5240/XXXX-XXXX-XXXX-XXXX-XXXX-C"
    from stdnum.iso7064 import mod_37_36

    expected = mod_37_36.calc_check_digit(match["body"].replace("-", ""))
    if expected != match["check"]:
        return f"invalid EIDR {value!r}: check character should be {expected!r}"
    return None


IDENTIFIER_CHECKS = {
    "isrc": invalid_isrc,
    "icpn": invalid_icpn,
    "ean": invalid_icpn,
    "upc": invalid_icpn,
    "grid": invalid_grid,
    "isan": invalid_isan,
    "isni": invalid_isni,
    "eidr": invalid_eidr,
}


def identifier_problems(ids: dict[str, str | None]) -> list[str]:
    """Every reason an identifier in {kind: value} fails its check; kinds without a check are not judged."""
    problems = []
    for kind, value in ids.items():
        check = _check_for(kind)
        problem = check(value) if check else None
        if problem:
            problems.append(problem)
    return problems


@lru_cache(maxsize=256)
def _check_for(kind: str):
    return IDENTIFIER_CHECKS.get(kind.lower())


# --- text that must not reach a title -----------------------------------------------------------------------
# C0 and C1 control characters (tab, line feed and carriage return aside: `_one_line` and XML whitespace
# handling fold them), bidirectional embedding / override / isolate controls (they make a title read
# differently from how it sorts and matches: 'Trojan Source'), and invisible separators that split one word
# into two for matching (zero-width space, word joiner, a BOM inside text). ZWJ/ZWNJ (emoji sequences,
# Persian, Indic scripts) and LRM/RLM (Arabic and Hebrew titles) are ordinary text and stay.
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
_UNSAFE_NAMES = {
    **{code: "a control character" for code in [*range(0x20), *range(0x7F, 0xA0)]},
    0x200B: "a zero-width space",
    0x2060: "a word joiner",
    0xFEFF: "a zero-width no-break space",
    **{code: "a bidirectional control" for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]},
}


_UNSAFE_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def unsafe_text(label: str, value: str | None, zero_width: bool = True) -> str | None:
    """Why a delivered name or title cannot be loaded as written, or None when it can.

    zero_width=False: invisible separators are let through (publishers' web text uses the zero-width space as
    a line-break hint in Japanese: the livedoor corpus has titles full of them); controls never are."""
    if not value:
        return None
    match = (_UNSAFE_TEXT if zero_width else _UNSAFE_CONTROLS).search(value)
    if match is None:
        return None
    code = ord(match.group())
    return f"{label} {value!r} contains {_UNSAFE_NAMES[code]} (U+{code:04X}) at character {match.start() + 1}"


# --- durations ---------------------------------------------------------------------------------------------
# Longer than this, a recording, a video or a film is a typo or an attack, not a work (the raw column is an
# INT32 of seconds: PT9999999H would not even fit). A release (a box set) may run longer.
MAX_WORK_SECONDS = 24 * 3600
MAX_RELEASE_SECONDS = 31 * 24 * 3600


def duration_problems(value: str | None, seconds: int | None, limit: int = MAX_WORK_SECONDS) -> list[str]:
    """Why a delivered duration cannot be loaded: negative, or longer than `limit` (`seconds` as parsed)."""
    if not value:
        return []
    if value.strip().startswith("-"):
        return [f"duration {value.strip()!r} is negative"]
    if seconds is not None and seconds > limit:
        return [f"duration {value.strip()!r} is {seconds} s, longer than {limit // 3600} hours"]
    return []


# --- JSON Schema ---------------------------------------------------------------------------------------------
@cache
def json_schema_validator(path: Path):
    """The Draft 2020-12 validator (formats checked) of the schema file at `path`, the schema itself checked once."""
    from jsonschema import Draft202012Validator, FormatChecker

    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())
