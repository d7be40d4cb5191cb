"""Article values that need rules: the canonical URL an article is known by, and when it was published.

Publishers write publish times every way there is: ISO 8601 with or without an offset, RFC 822 in feeds,
'2026/11/24 08:30', '2026年11月24日 8時30分'. The time is kept as given and as a UTC instant; a time without
an offset is read in the publisher's zone and flagged, and so is a time in the future.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

# Query parameters that say how a reader arrived, not which article it is.
TRACKING_PARAMETERS = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|gbraid|wbraid|yclid|msclkid|mc_cid|mc_eid|_ga|_gl|igshid|spm|ocid|cmpid)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_ALREADY_CANONICAL = re.compile(r"^https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*/[A-Za-z0-9._~/!$&'()*+,;=:@-]*\Z")
_UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = "/:@!$&'()*+,;=%"
_QUERY_VALUE_SAFE = "/:@!$'()*,;?"

# A clock a little fast is not a future article; a time more than this ahead of ingest is.
FUTURE_TOLERANCE = timedelta(minutes=10)
_STAMP = re.compile(
    r"^(?P<y>\d{4})[-/.年](?P<mo>\d{1,2})[-/.月](?P<d>\d{1,2})日?"
    r"(?:(?:[T\s]|\s*[（(][月火水木金土日][）)]\s*)*"
    r"(?P<h>\d{1,2})[:時](?P<mi>\d{2})(?:[:分](?P<s>\d{2})(?:[.,](?P<frac>\d{1,6})\d*)?秒?)?分?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?|JST|UTC|GMT)?$",
    re.IGNORECASE,
)
_NAMED_ZONES = {"Z": timedelta(0), "UTC": timedelta(0), "GMT": timedelta(0), "JST": timedelta(hours=9)}


def canonical_url(url: str | None) -> str | None:
    """The form of an article URL that two deliveries of one article share, or None if it is no http(s) URL.

    Scheme and host lower-cased (the host IDNA-encoded), default port, fragment and tracking parameters
    (utm_*, fbclid, gclid...) dropped, remaining query parameters sorted, percent-escapes of unreserved
    characters decoded and the others upper-cased, non-ASCII characters escaped, an empty path written '/'.
    """
    if not url or not url.strip():
        return None
    if _ALREADY_CANONICAL.match(url):
        return url  # lower-case host, no port, query, fragment or escape: nothing to do (most URLs)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        host = parts.hostname.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    if parts.username:
        return None  # credentials in an article URL: not a public article address
    path = _escape(parts.path or "/", _PATH_SAFE)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)]
    query = sorted((key, value) for key, value in query if not TRACKING_PARAMETERS.match(key))
    query_string = _escape(
        urlencode(query, quote_via=quote, safe=_QUERY_VALUE_SAFE), _QUERY_VALUE_SAFE + "&=%"
    )
    return urlunsplit((scheme, host, path, query_string, ""))


def _escape(value: str, safe: str) -> str:
    def tidy(match: re.Match) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    return quote(_PERCENT.sub(tidy, value), safe=safe)


@dataclass(frozen=True)
class ArticleTime:
    raw: str | None  # as the publisher gave it
    utc: datetime | None
    flags: tuple[str, ...] = ()


def parse_article_time(raw: str | None, zone: str) -> tuple[datetime | None, bool]:
    """(aware datetime, whether the value carried its own offset), or (None, False) when unreadable."""
    value = (raw or "").strip()
    if not value:
        return None, False
    match = _STAMP.match(value)
    if match:
        try:
            stamp = datetime(
                int(match["y"]),
                int(match["mo"]),
                int(match["d"]),
                int(match["h"] or 0),
                int(match["mi"] or 0),
                int(match["s"] or 0),
                int((match["frac"] or "0").ljust(6, "0")),
            )
        except ValueError:
            return None, False
        offset = _offset(match["tz"])
        if offset is None:
            return stamp.replace(tzinfo=ZoneInfo(zone)), False
        return stamp.replace(tzinfo=timezone(offset)), True
    try:
        stamp = parsedate_to_datetime(value)  # RFC 822 / 2822, as RSS 2.0 writes dates
    except (TypeError, ValueError, IndexError):
        return None, False
    if stamp.tzinfo is None:  # '-0000' or no zone: the offset is unknown
        return stamp.replace(tzinfo=ZoneInfo(zone)), False
    return stamp, True


def _offset(zone: str | None) -> timedelta | None:
    if not zone:
        return None
    named = _NAMED_ZONES.get(zone.upper())
    if named is not None:
        return named
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))


def article_time(raw: str | None, zone: str, now: datetime, field: str = "published_at") -> ArticleTime:
    """A publish (or update) time as given and in UTC, with the flags a reader of the data should see:
    `<field>_missing`, `<field>_unreadable`, `<field>_without_offset` (read in the publisher's zone),
    `<field>_in_future`."""
    raw = raw.strip() if raw and raw.strip() else None
    if raw is None:
        return ArticleTime(None, None, (f"{field}_missing",))
    stamp, has_offset = parse_article_time(raw, zone)
    if stamp is None:
        return ArticleTime(raw, None, (f"{field}_unreadable",))
    utc = stamp.astimezone(UTC)
    flags = []
    if not has_offset:
        flags.append(f"{field}_without_offset")
    if utc > now + FUTURE_TOLERANCE:
        flags.append(f"{field}_in_future")
    return ArticleTime(raw, utc, tuple(flags))
