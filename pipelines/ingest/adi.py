"""CableLabs ADI 1.1 packages: package → title → movie / preview / poster assets.

One title asset is one record (its child assets land with it in raw.adi_assets). App_Data values are kept
exactly as delivered in `app_data`, and the well-known ones are typed into columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pipelines.ingest import xmlsafe
from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile
from pipelines.ingest.values import clock_seconds, parse_date, parse_int
from pipelines.ingest.xmlsafe import child, children, localname


def accepts(namespace: str | None, root: str) -> bool:
    return namespace is None and root == "ADI"


def _ams(asset) -> dict[str, str]:
    metadata = child(asset, "Metadata")
    ams = child(metadata, "AMS") if metadata is not None else None
    return dict(ams.attrib) if ams is not None else {}


def _app_data(asset) -> list[tuple[str, str]]:
    metadata = child(asset, "Metadata")
    if metadata is None:
        return []
    return [(n.get("Name", ""), n.get("Value", "")) for n in children(metadata, "App_Data") if n.get("Name")]


def _split(values: list[str]) -> list[str]:
    """'Drama;Suspense' and repeated App_Data both become one list, order kept, duplicates dropped."""
    seen: dict[str, None] = {}
    for value in values:
        for part in value.replace(",", ";").split(";"):
            if part.strip():
                seen.setdefault(part.strip(), None)
    return list(seen)


def _title_record(ctx: FileContext, package: dict[str, str], title_asset, position: str) -> Record | Quarantined:
    ams = _ams(title_asset)
    asset_id = ams.get("Asset_ID")
    if not asset_id:
        return Quarantined(position, "title asset without AMS Asset_ID")
    data = _app_data(title_asset)
    first: dict[str, str] = {}
    every: dict[str, list[str]] = {}
    for name, value in data:
        first.setdefault(name, value)
        every.setdefault(name, []).append(value)
    start, end = parse_date(first.get("Licensing_Window_Start")), parse_date(first.get("Licensing_Window_End"))
    if first.get("Licensing_Window_Start") and start is None:
        return Quarantined(position, f"title {asset_id}: unreadable Licensing_Window_Start {first['Licensing_Window_Start']!r}")
    row = ctx.provenance(position) | {
        "provider": ams.get("Provider"),
        "provider_id": ams.get("Provider_ID"),
        "package_asset_id": package.get("Asset_ID"),
        "asset_id": asset_id,
        "verb": ams.get("Verb") or None,
        "version_major": parse_int(ams.get("Version_Major")),
        "version_minor": parse_int(ams.get("Version_Minor")),
        "creation_date": parse_date(ams.get("Creation_Date")),
        "show_type": first.get("Show_Type"),
        "title": first.get("Title"),
        "title_brief": first.get("Title_Brief"),
        "title_ja": first.get("Title_Japanese"),
        "series_name": first.get("Series_Name"),
        "season_number": parse_int(first.get("Season_Number")),
        "episode_number": parse_int(first.get("Episode_Number")),
        "episode_name": first.get("Episode_Name"),
        "summary_short": first.get("Summary_Short"),
        "summary_long": first.get("Summary_Long") or first.get("Summary_Medium"),
        "genres": _split(every.get("Genre", [])),
        "categories": _split(every.get("Category", [])),
        "rating": first.get("Rating"),
        "run_time_seconds": clock_seconds(first.get("Run_Time")),
        "year": parse_int(first.get("Year")),
        "country_of_origin": first.get("Country_of_Origin"),
        "actors": _split(every.get("Actors", [])),
        "directors": _split(every.get("Director", [])),
        "producers": _split(every.get("Producer", [])),
        "licensing_window_start": start,
        "licensing_window_end": end,
        "app_data": json.dumps(data, ensure_ascii=False),
    }
    rows = [("raw.adi_titles", row)]
    for index, asset in enumerate(children(title_asset, "Asset"), start=1):
        child_ams = _ams(asset)
        content = child(asset, "Content")
        child_data = dict(_app_data(asset))
        rows.append(
            (
                "raw.adi_assets",
                ctx.provenance(f"{position}/Asset[{index}]")
                | {
                    "title_asset_id": asset_id,
                    "asset_id": child_ams.get("Asset_ID") or f"{asset_id}#{index}",
                    "asset_class": child_ams.get("Asset_Class"),
                    "asset_type": child_data.get("Type"),
                    "content_value": content.get("Value") if content is not None else None,
                },
            )
        )
    return Record(position, rows)


def parse(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    from lxml import etree

    namespace, root = xmlsafe.root_tag(path)
    if not accepts(namespace, root):
        raise RejectedFile(f"not a CableLabs ADI 1.1 package: root {root!r} in namespace {namespace!r}")
    package: dict[str, str] = {}
    titles = 0
    try:
        for _event, elem in xmlsafe.iterparse(path):
            parent = elem.getparent()
            if parent is None or parent.getparent() is not None:
                continue  # only children of <ADI>
            name = localname(elem)
            if name == "Metadata":
                ams = child(elem, "AMS")
                package = dict(ams.attrib) if ams is not None else {}
            elif name == "Asset":
                titles += 1
                yield _title_record(ctx, package, elem, f"/ADI/Asset[{titles}]")
                xmlsafe.release_memory(elem)
    except etree.XMLSyntaxError as exc:
        raise RejectedFile(f"XML breaks off or is malformed: {exc}") from exc
