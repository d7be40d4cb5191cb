"""The catalog template for small rights-holders: CSV or JSON Lines, one row per work → raw.catalog_works.

The shape is the JSON Schema shipped beside this module (`catalog_template.schema.json`). CSV cells are
strings: they are typed from the schema first (integers, '|'-separated lists), then every row is validated
against the schema and its identifiers against their check digits. A rejected row goes to ops.quarantine
and, with every reason, to a per-file validation report (JSON) that can be sent back to the rights-holder.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile
from pipelines.ingest.values import (
    identifier_problems,
    json_schema_validator,
    normalise_isan,
    parse_date,
    territory_problems,
)
from pipelines.text.match_key import match_key

SCHEMA_PATH = Path(__file__).with_name("catalog_template.schema.json")
LIST_SEPARATOR = "|"
_INTEGER = re.compile(r"^-?\d+$")


def schema() -> dict[str, Any]:
    return json_schema_validator(SCHEMA_PATH).schema


def _validator():
    return json_schema_validator(SCHEMA_PATH)


def _typed_csv_row(row: dict[str, str]) -> dict[str, Any]:
    """CSV strings → the JSON types the schema declares; empty cells are absent. Values that do not convert
    are left as strings so that the schema reports them."""
    properties = schema()["properties"]
    typed: dict[str, Any] = {}
    for name, raw in row.items():
        value = (raw or "").strip()
        if not value:
            continue
        declared = properties.get(name, {}).get("type")
        if declared == "integer" and _INTEGER.match(value):
            typed[name] = int(value)
        elif declared == "array":
            typed[name] = [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]
        else:
            typed[name] = value
    return typed


def row_errors(row: dict[str, Any]) -> list[dict[str, str]]:
    """Every reason a row is refused: schema violations, failed check digits, an inverted licence window, a
    territory that is no ISO 3166 code (the licence is part of the row: the row is refused whole, never loaded
    without its window)."""
    errors = [
        {"field": ".".join(str(p) for p in error.absolute_path) or "(row)", "message": error.message}
        for error in sorted(_validator().iter_errors(row), key=lambda e: list(map(str, e.absolute_path)))
    ]
    checked = {
        kind: row.get(kind) for kind in ("isrc", "icpn", "isan", "eidr") if isinstance(row.get(kind), str)
    }
    errors += [
        {"field": problem.split()[1].lower(), "message": problem} for problem in identifier_problems(checked)
    ]
    start, end = parse_date(row.get("licence_start")), parse_date(row.get("licence_end"))
    if start and end and end < start:
        errors.append(
            {"field": "licence_end", "message": f"licence_end {end} is before licence_start {start}"}
        )
    territories, excluded = row.get("territories"), row.get("excluded_territories")
    territories = [t for t in territories if isinstance(t, str)] if isinstance(territories, list) else []
    excluded = [t for t in excluded if isinstance(t, str)] if isinstance(excluded, list) else []
    errors += [
        {"field": "excluded_territories" if problem.startswith("excluded") else "territories", "message": problem}
        for problem in territory_problems(territories, excluded)
    ]
    return errors


def _db_row(ctx: FileContext, position: str, source_format: str, row: dict[str, Any]) -> dict[str, Any]:
    return ctx.provenance(position) | {
        "source_format": source_format,
        "work_id": row["work_id"],
        "work_kind": row["work_kind"],
        "title": row["title"],
        "title_match_key": match_key(row["title"]),
        "title_language": row.get("title_language"),
        "original_title": row.get("original_title"),
        "original_title_language": row.get("original_title_language"),
        "original_title_match_key": match_key(row.get("original_title")),
        "display_artist": row.get("display_artist"),
        "display_artist_match_key": match_key(row.get("display_artist")),
        "contributors": row.get("contributors", []),
        "isrc": row.get("isrc"),
        "icpn": row.get("icpn"),
        "isan": normalise_isan(row.get("isan")),
        "eidr": row.get("eidr"),
        "release_date": parse_date(row.get("release_date")),
        "duration_seconds": row.get("duration_seconds"),
        "genres": row.get("genres", []),
        "territories": row.get("territories", []),
        "excluded_territories": row.get("excluded_territories", []),
        "licence_start": parse_date(row.get("licence_start")),
        "licence_end": parse_date(row.get("licence_end")),
        "label_name": row.get("label"),
        "synopsis": row.get("synopsis"),
        "parental_warning": row.get("parental_warning"),
        "series_name": row.get("series_name"),
        "season_number": row.get("season_number"),
        "episode_number": row.get("episode_number"),
        "row_as_delivered": json.dumps(row, ensure_ascii=False, sort_keys=True),
    }


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RejectedFile(f"catalog template must be UTF-8: byte {exc.start} is not ({exc.reason})") from exc


def _csv_rows(path: Path) -> Iterator[tuple[str, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(_read_text(path), newline=""))
    header = reader.fieldnames or []
    if not header:
        raise RejectedFile("catalog template CSV has no header row")
    known = set(schema()["properties"])
    unknown = [name for name in header if name not in known]
    missing = [name for name in schema()["required"] if name not in header]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown columns {unknown}")
        if missing:
            parts.append(f"missing required columns {missing}")
        raise RejectedFile(f"catalog template CSV header does not match the schema: {'; '.join(parts)}")
    for index, row in enumerate(reader, start=1):
        position = f"row {index} (line {reader.line_num})"
        if None in row:  # more cells than header names
            yield position, f"{len(row[None])} cell(s) beyond the {len(header)} header columns"
            continue
        yield position, _typed_csv_row(row)


def _jsonl_rows(path: Path) -> Iterator[tuple[str, dict[str, Any] | str]]:
    for line_number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        position = f"line {line_number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield position, f"not JSON: {exc.msg} at column {exc.colno}"
            continue
        if not isinstance(row, dict):
            yield position, f"expected a JSON object, got {type(row).__name__}"
            continue
        yield position, row


def _write_report(ctx: FileContext, source_format: str, report: dict[str, Any]) -> None:
    target = report_path(ctx)
    if target is None:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "file_path": ctx.relative_path,
        "file_id": ctx.file_id,
        "holder_id": ctx.holder.id,
        "format": f"catalog-template-{source_format}",
        "schema": schema()["$id"],
        "validated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    } | report
    target.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")


def report_path(ctx: FileContext) -> Path | None:
    """<var>/reports/ingest/<holder>/<file name>.<sha256 prefix>.json"""
    if ctx.report_dir is None:
        return None
    return Path(ctx.report_dir) / ctx.holder.id / f"{Path(ctx.relative_path).name}.{ctx.file_id[:12]}.json"


def parse(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    source_format = path.suffix.lower().lstrip(".")
    rows = _csv_rows(path) if source_format == "csv" else _jsonl_rows(path)
    rejected: list[dict[str, Any]] = []
    loaded = 0
    try:
        for position, row in rows:
            errors = [{"field": "(row)", "message": row}] if isinstance(row, str) else row_errors(row)
            if errors:
                work_id = row.get("work_id") if isinstance(row, dict) else None
                rejected.append(
                    {
                        "position": position,
                        "work_id": work_id,
                        "errors": errors,
                        "row": row if isinstance(row, dict) else None,
                    }
                )
                reason = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
                yield Quarantined(position, f"catalog row {work_id or '?'} rejected: {reason}")
                continue
            loaded += 1
            yield Record(position, [("raw.catalog_works", _db_row(ctx, position, source_format, row))])
    except RejectedFile as exc:
        _write_report(
            ctx,
            source_format,
            {
                "status": "rejected",
                "reason": str(exc),
                "rows_found": 0,
                "rows_loaded": 0,
                "rows_rejected": 0,
                "rejected_rows": [],
            },
        )
        raise
    except csv.Error as exc:
        reason = f"unreadable CSV: {exc}"
        _write_report(
            ctx,
            source_format,
            {
                "status": "rejected",
                "reason": reason,
                "rows_found": 0,
                "rows_loaded": 0,
                "rows_rejected": 0,
                "rejected_rows": [],
            },
        )
        raise RejectedFile(reason) from exc
    _write_report(
        ctx,
        source_format,
        {
            "status": "partial" if rejected and loaded else ("rejected" if rejected else "loaded"),
            "rows_found": loaded + len(rejected),
            "rows_loaded": loaded,
            "rows_rejected": len(rejected),
            "rejected_rows": rejected,
        },
    )
