"""Ad creatives: JSON Lines under <landing>/ads/<advertiser_id>/<date>/*.jsonl → raw.ad_creatives.

Each line is validated against the JSON Schema shipped beside this module (`ad_creative.schema.json`), then
against what the schema cannot know: IAB Content Taxonomy 3.1 ids (the `iab_taxonomy` setting), kansei tag ids
(`models/kansei/taxonomy.yaml`), the advertiser of the folder, and the flight window on the logical date. A
creative refused for any reason goes to ops.quarantine with its line and every reason: nothing is matched
that was not loaded here. Memory: one line at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile
from pipelines.ingest.values import json_schema_validator, unsafe_text

if TYPE_CHECKING:
    from pipelines.ads.iab import IabTaxonomy

SCHEMA_PATH = Path(__file__).with_name("ad_creative.schema.json")
AD_CREATIVES_TABLE = "raw.ad_creatives"


def schema() -> dict[str, Any]:
    return json_schema_validator(SCHEMA_PATH).schema


def _validator():
    return json_schema_validator(SCHEMA_PATH)


@cache
def _kansei_tag_ids() -> frozenset[str]:
    from pipelines.kansei.config import load_taxonomy
    from pipelines.settings import PROJECT_ROOT

    return frozenset(tag.id for tag in load_taxonomy(PROJECT_ROOT / "models").tags)


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def creative_errors(
    item: dict[str, Any], advertiser_id: str | None, logical_date: date | None, iab: IabTaxonomy | None = None
) -> list[str]:
    """Every reason a creative is refused ('field: message'); empty when it may be loaded. `iab`: the taxonomy
    to check categories against, else the configured one; without a taxonomy no creative is loaded."""
    from pipelines.ads.iab import IabTaxonomyMissing, configured_iab

    errors = []
    body = item.get("body")
    if isinstance(body, str) and not body.strip():
        errors.append("body: empty body")
    errors += [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(creative)'}: {error.message}"
        for error in sorted(_validator().iter_errors(item), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    ]
    try:
        iab = iab or configured_iab()
    except IabTaxonomyMissing as exc:
        return [*errors, f"iab_categories: cannot be checked: {exc}"]
    for category in _strings(item.get("iab_categories")):
        if category not in iab:
            errors.append(f"iab_categories: unknown IAB Content Taxonomy {iab.version} category {category!r}")
    exclusions = item.get("brand_safety_exclusions")
    for category in _strings(exclusions.get("categories") if isinstance(exclusions, dict) else None):
        if category not in iab:
            errors.append(
                f"brand_safety_exclusions.categories: exclusion names unknown IAB Content Taxonomy {iab.version} "
                f"category {category!r}"
            )
    known_tags = _kansei_tag_ids()
    for tag in _strings(item.get("target_kansei_tags")):
        if tag not in known_tags:
            errors.append(f"target_kansei_tags: unknown kansei tag {tag!r} (models/kansei/taxonomy.yaml)")
    if advertiser_id and isinstance(item.get("advertiser_id"), str) and item["advertiser_id"] != advertiser_id:
        errors.append(f"advertiser_id: {item['advertiser_id']!r} is not the advertiser of its folder ({advertiser_id!r})")
    for field in ("headline", "body", "campaign_id", "creative_id"):
        value = item.get(field)
        if isinstance(value, str) and (problem := unsafe_text(field, value, zero_width=field != "body")):
            errors.append(f"{field}: {problem}")
    start, end = _date(item.get("flight_start")), _date(item.get("flight_end"))
    if start and end and end < start:
        errors.append(f"flight_end: the flight ends {end} before it starts {start}")
    elif end and logical_date and end < logical_date:
        errors.append(f"flight_end: the flight ended {end}, before the logical date {logical_date}")
    return errors


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _row(ctx: FileContext, position: str, line_number: int, item: dict[str, Any], now: datetime) -> dict[str, Any]:
    exclusions = item.get("brand_safety_exclusions") or {}
    return ctx.provenance(position) | {
        "line_number": line_number,
        "advertiser_id": item["advertiser_id"],
        "campaign_id": item["campaign_id"],
        "creative_id": item["creative_id"],
        "language": item["language"],
        "headline": " ".join(item["headline"].split()),
        "body": item["body"].strip(),
        "landing_url": item["landing_url"],
        "target_kansei_tags": list(item.get("target_kansei_tags", [])),
        "iab_categories": list(item["iab_categories"]),
        "excluded_categories": list(exclusions.get("categories", [])),
        "excluded_risk_levels": list(exclusions.get("risk_levels", [])),
        "flight_start": date.fromisoformat(item["flight_start"]),
        "flight_end": date.fromisoformat(item["flight_end"]),
        "creative_as_delivered": json.dumps(item, ensure_ascii=False, sort_keys=True),
        "ingested_at": now,
    }


def parse(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    """One creative per line; a blank line is no record. The file must be UTF-8 (a BOM is allowed)."""
    from pipelines.ads.iab import IabTaxonomyMissing, configured_iab

    now = datetime.now(UTC)
    delivered: dict[str, tuple[int, str]] = {}  # creative id → (first line, its content): one id, one creative
    try:
        iab = configured_iab()  # once per file
    except IabTaxonomyMissing:
        iab = None  # each creative is refused, saying why
    with path.open("rb") as fh:
        for line_number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            position = f"line {line_number}"
            try:
                item = json.loads(raw.decode("utf-8-sig" if line_number == 1 else "utf-8"))
            except UnicodeDecodeError as exc:
                if line_number == 1:
                    raise RejectedFile(f"ad creatives must be UTF-8 JSON Lines: byte {exc.start} is not ({exc.reason})") from exc
                yield Quarantined(position, f"invalid JSON line: not UTF-8 ({exc.reason})")
                continue
            except json.JSONDecodeError as exc:
                yield Quarantined(position, f"invalid JSON line: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(item, dict):
                yield Quarantined(position, f"invalid creative: expected a JSON object, got {type(item).__name__}")
                continue
            errors = creative_errors(item, ctx.holder.id, ctx.logical_date, iab)
            if errors:
                creative_id = item.get("creative_id") if isinstance(item.get("creative_id"), str) else "?"
                yield Quarantined(position, f"ad creative {creative_id} refused: {'; '.join(errors)}")
                continue
            content = json.dumps(item, ensure_ascii=False, sort_keys=True)
            first = delivered.setdefault(item["creative_id"], (line_number, content))
            if first[1] != content:
                yield Quarantined(
                    position,
                    f"ad creative {item['creative_id']} refused: given again with different content (first at line {first[0]})",
                )
                continue
            yield Record(position, [(AD_CREATIVES_TABLE, _row(ctx, position, line_number, item, now))])
