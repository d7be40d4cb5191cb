"""Parsing delivered values (durations, dates, identifiers) into typed ones, or saying why not."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

_ISO_DURATION = re.compile(
    r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_CLOCK = re.compile(r"^(?P<h>\d{1,3}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")


def iso_duration_seconds(value: str | None) -> int | None:
    """'PT3M41S' → 221. Unknown shapes give None rather than a guess."""
    if not value:
        return None
    match = _ISO_DURATION.match(value.strip())
    if not match or not any(match.groupdict().values()):
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return round(
        parts.get("days", 0) * 86400 + parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60 + parts.get("seconds", 0)
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


def parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def match_key(value: str | None) -> str | None:
    """NFKC, case-folded, whitespace-collapsed: the key two spellings of one title share."""
    if value is None:
        return None
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split()) or None


def invalid_isrc(value: str | None) -> str | None:
    """Why an ISRC is invalid, or None when it is fine (or absent)."""
    if not value:
        return None
    from stdnum import isrc

    try:
        isrc.validate(value)
    except Exception as exc:  # stdnum raises subclasses of ValidationError
        return f"invalid ISRC {value!r}: {exc}"
    return None


def invalid_icpn(value: str | None) -> str | None:
    """ICPN is an EAN-13/UPC-12 (sometimes written as GTIN-14); the check digit must hold."""
    if not value:
        return None
    from stdnum import ean

    try:
        ean.validate(value)
    except Exception as exc:
        return f"invalid ICPN {value!r}: {exc}"
    return None
