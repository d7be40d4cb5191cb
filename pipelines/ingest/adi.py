"""CableLabs ADI 1.1 packages (package → title → movie / preview / poster assets), and ADI 3.0 (SCTE 236).

One title is one record (its child assets land with it in raw.adi_assets). ADI 1.1 App_Data values are kept
exactly as delivered in `app_data`, and the well-known ones are typed into columns; ADI 3.0 titles land in the
same columns with `adi_version` = '3.0'. An ISAN is stored in its standard presentation (the delivered spelling
stays in `app_data`); an ISAN or EIDR that fails its check digit quarantines the title. `work_kind` says
whether a title is a movie or an episode (from its show type, else its episode fields).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pipelines.ingest import xmlsafe
from pipelines.ingest.records import FileContext, Quarantined, Record, RejectedFile
from pipelines.ingest.values import (
    clock_seconds,
    duration_problems,
    identifier_problems,
    normalise_isan,
    parse_date,
    parse_int,
    unsafe_text,
    window_problems,
)
from pipelines.ingest.xmlsafe import child, children, localname
from pipelines.text.match_key import match_key


def accepts(namespace: str | None, root: str) -> bool:
    """<ADI> with no namespace (the CableLabs DTD) or a default one (xmlns="..." on the root, as some encoders
    and MSO tools write, e.g. http://www.eventis.nl/PRODIS/ADI): every element is then namespaced, and the
    parser matches local names in any namespace."""
    return root == "ADI" and namespace not in ADI3_NAMESPACES


# Show_Type values (ADI 1.1 App_Data, ADI 3.0 title:ShowType) that say what a title is; compared in lower
# case with spaces, hyphens and underscores removed. Anything else (Special, Sports, absent) is decided by the
# episode fields.
_EPISODE_SHOW_TYPES = {"series", "episode", "episodic", "seriesepisode", "tvseries", "tvshow", "miniseries"}
_MOVIE_SHOW_TYPES = {"movie", "movies", "feature", "featurefilm", "film"}


def work_kind(
    show_type: str | None,
    *,
    series: str | None = None,
    episode_id: str | None = None,
    episode_name: str | None = None,
    season_number: int | None = None,
    episode_number: int | None = None,
) -> str:
    """'episode' or 'movie' for a title. The show type decides when it names one (a movie of an anthology
    'series' that also fills Series_Name and Episode_Name stays a movie); otherwise an Episode_ID or an
    episode number, or a series named together with an episode name or season, make it an episode."""
    shape = "".join(ch for ch in (show_type or "").lower() if ch.isalnum())
    if shape in _EPISODE_SHOW_TYPES:
        return "episode"
    if shape in _MOVIE_SHOW_TYPES:
        return "movie"
    if episode_id or episode_number is not None:
        return "episode"
    if series and (episode_name or season_number is not None):
        return "episode"
    return "movie"


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
    """'Drama;Suspense' and repeated App_Data both become one list, order kept, duplicates dropped. Commas are
    not separators: a person is written 'Minase,Hikari' (last,first) and a company 'MarVista Entertainment, Inc.'."""
    seen: dict[str, None] = {}
    for value in values:
        for part in value.split(";"):
            if part.strip():
                seen.setdefault(part.strip(), None)
    return list(seen)


def _title_record(
    ctx: FileContext, package: dict[str, str], title_asset, position: str
) -> Record | Quarantined:
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
    window = first.get("Licensing_Window_Start"), first.get("Licensing_Window_End")
    problems = window_problems(*window, "licensing window")
    if problems:
        return Quarantined(position, f"title {asset_id}: {'; '.join(problems)}")
    start, end = parse_date(window[0]), parse_date(window[1])
    problems = identifier_problems({"isan": first.get("ISAN"), "eidr": first.get("EIDR")})
    if problems:
        return Quarantined(position, f"title {asset_id}: {'; '.join(problems)}")
    run_time = clock_seconds(first.get("Run_Time"))
    problems = [
        problem
        for name in ("Title", "Title_Brief", "Title_Japanese", "Series_Name", "Episode_Name")
        if (problem := unsafe_text(name, first.get(name)))
    ] + duration_problems(first.get("Run_Time"), run_time)
    if problems:
        return Quarantined(position, f"title {asset_id}: {'; '.join(problems)}")
    season_number, episode_number = (
        parse_int(first.get("Season_Number")),
        parse_int(first.get("Episode_Number")),
    )
    series_id = first.get("Series_Id") or first.get("Series_ID")
    episode_id = first.get("Episode_ID") or first.get("Episode_Id")
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
        "work_kind": work_kind(
            first.get("Show_Type"),
            series=first.get("Series_Name") or series_id,
            episode_id=episode_id,
            episode_name=first.get("Episode_Name"),
            season_number=season_number,
            episode_number=episode_number,
        ),
        "series_id": series_id,
        "episode_id": episode_id,
        "adi_version": "1.1",
        "title": first.get("Title"),
        "title_match_key": match_key(first.get("Title")),
        "isan": normalise_isan(first.get("ISAN")),
        "eidr": first.get("EIDR"),
        "title_brief": first.get("Title_Brief"),
        "title_ja": first.get("Title_Japanese"),
        "series_name": first.get("Series_Name"),
        "season_number": season_number,
        "episode_number": episode_number,
        "episode_name": first.get("Episode_Name"),
        "summary_short": first.get("Summary_Short"),
        "summary_long": first.get("Summary_Long") or first.get("Summary_Medium"),
        "genres": _split(every.get("Genre", [])),
        "categories": _split(every.get("Category", [])),
        "rating": first.get("Rating"),
        "run_time_seconds": run_time,
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


def _unless_conflicting(record: Record, seen: dict[str, tuple[str, str | None]]) -> Record | Quarantined:
    """A package that gives one title Asset_ID twice with different titles: which is right cannot be told, so
    the second is refused and the first stays."""
    row = record.rows[0][1]
    first = seen.setdefault(row["asset_id"], (record.position, row["title"]))
    if first[1] == row["title"]:
        return record
    return Quarantined(
        record.position,
        f"title {row['asset_id']}: Asset_ID already given to {first[1]!r} at {first[0]} in this package; "
        f"here titled {row['title']!r}",
    )


def parse(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    from lxml import etree

    namespace, root = xmlsafe.root_tag(path)
    if not accepts(namespace, root):
        raise RejectedFile(f"not a CableLabs ADI 1.1 package: root {root!r} in namespace {namespace!r}")
    package: dict[str, str] = {}
    titles = 0
    seen: dict[str, tuple[str, str | None]] = {}  # title Asset_ID → (first position, its title)
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
                item = _title_record(ctx, package, elem, f"/ADI/Asset[{titles}]")
                yield _unless_conflicting(item, seen) if isinstance(item, Record) else item
                xmlsafe.release_memory(elem)
    except etree.XMLSyntaxError as exc:
        raise RejectedFile(f"XML breaks off or is malformed: {exc}") from exc


# --- ADI 3.0 (CableLabs MD-SP-ADI3.0 / SCTE 236) -------------------------------------------------------------
# An ADI 3.0 package is a flat list of typed elements under <ADI3> (Title, Movie, Preview, Poster, Offer,
# ContentGroup...) that reference each other by uriId; SCTE 236-2017 writes them as <Asset xsi:type=...>.
# Packages are small: the elements are read one by one (and freed), only the few fields needed are kept, and
# titles are emitted at the end with the assets their ContentGroup links to them.

ADI3_NAMESPACES = {
    "http://www.cablelabs.com/namespaces/metadata/xsd/vod30/1",
    "urn:cablelabs:md:xsd:core:3.0",  # CableLabs MD-SP-CONTENTv3.0
    "http://www.scte.org/schemas/236/2016/core",  # SCTE 236 2016
    "http://www.scte.org/schemas/236/2017/core",  # SCTE 236 2017
}
_ADI3_ASSET_CLASSES = {
    "Movie": "movie",
    "Preview": "preview",
    "Poster": "poster",
    "BoxCover": "box cover",
    "Barker": "barker",
    "Trick": "trickfile",
    "Episode": "movie",
}
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def accepts_adi3(namespace: str | None, root: str) -> bool:
    return namespace in ADI3_NAMESPACES and root == "ADI3"


def _adi3_kind(elem) -> str:
    """'Title', 'Movie', 'Offer'... from the element name or, in SCTE 236-2017, from its xsi:type."""
    xsi_type = elem.get(_XSI_TYPE)
    if xsi_type:
        return xsi_type.rsplit(":", 1)[-1].removesuffix("Type")
    return localname(elem)


def _descendant_texts(elem, name: str) -> list[str]:
    return [n.text.strip() for n in elem.iter(f"{{*}}{name}", name) if n.text and n.text.strip()]


def _descendant_text(elem, name: str) -> str | None:
    values = _descendant_texts(elem, name)
    return values[0] if values else None


def _person_names(elem, name: str) -> list[str]:
    names = []
    for node in elem.iter(f"{{*}}{name}", name):
        full = node.get("fullName") or (node.text or "").strip()
        if not full and (node.get("firstName") or node.get("lastName")):
            full = " ".join(filter(None, (node.get("firstName"), node.get("lastName"))))
        if full:
            names.append(full)
    return names


def _adi3_title(ctx: FileContext, elem, position: str) -> dict | Quarantined:
    uri_id = elem.get("uriId")
    if not uri_id:
        return Quarantined(position, "ADI 3.0 Title without uriId")
    start, end = elem.get("startDateTime"), elem.get("endDateTime")
    problems = window_problems(start, end, "licensing window")
    if problems:
        return Quarantined(position, f"title {uri_id}: {'; '.join(problems)}")
    alternate = {
        n.get("identifierSystem", "").lower(): (n.text or "").strip() for n in elem.iter("{*}AlternateId")
    }
    problems = identifier_problems({"isan": alternate.get("isan"), "eidr": alternate.get("eidr")})
    if problems:
        return Quarantined(position, f"title {uri_id}: {'; '.join(problems)}")
    localizable = next(elem.iter("{*}LocalizableTitle", "LocalizableTitle"), None)
    source = localizable if localizable is not None else elem
    title = _descendant_text(source, "TitleLong") or _descendant_text(source, "TitleMedium")
    run_time = _descendant_text(elem, "DisplayRunTime")
    show_type = _descendant_text(elem, "ShowType")
    series_name = _descendant_text(elem, "SeriesName") or _descendant_text(elem, "SeriesTitle")
    series_id = _descendant_text(elem, "SeriesId") or _descendant_text(elem, "SeriesID")
    episode_id = _descendant_text(elem, "EpisodeID") or _descendant_text(elem, "EpisodeId")
    episode_name = _descendant_text(elem, "EpisodeName")
    season_number = parse_int(_descendant_text(elem, "SeasonNumber"))
    episode_number = parse_int(_descendant_text(elem, "EpisodeNumber"))
    return ctx.provenance(position) | {
        "provider": _descendant_text(elem, "Provider"),
        "provider_id": uri_id.split("/", 1)[0] if "/" in uri_id else None,
        "package_asset_id": None,
        "asset_id": uri_id,
        "verb": None,
        "version_major": parse_int(elem.get("providerVersionNum")),
        "version_minor": parse_int(elem.get("internalVersionNum")),
        "creation_date": parse_date(elem.get("creationDateTime")),
        "adi_version": "3.0",
        "show_type": show_type,
        "work_kind": work_kind(
            show_type,
            series=series_name or series_id,
            episode_id=episode_id,
            episode_name=episode_name,
            season_number=season_number,
            episode_number=episode_number,
        ),
        "series_id": series_id,
        "episode_id": episode_id,
        "title": title,
        "title_match_key": match_key(title),
        "isan": normalise_isan(alternate.get("isan")),
        "eidr": alternate.get("eidr"),
        "title_brief": _descendant_text(source, "TitleBrief"),
        "title_ja": next(
            (
                _descendant_text(n, "TitleLong") or _descendant_text(n, "TitleMedium")
                for n in elem.iter("{*}LocalizableTitle")
                if (n.get("lang") or "").startswith("ja")
            ),
            None,
        ),
        "series_name": series_name,
        "season_number": season_number,
        "episode_number": episode_number,
        "episode_name": episode_name,
        "summary_short": _descendant_text(source, "SummaryShort"),
        "summary_long": _descendant_text(source, "SummaryLong") or _descendant_text(source, "SummaryMedium"),
        "genres": _descendant_texts(elem, "Genre"),
        "categories": [],
        "rating": _descendant_text(elem, "Rating"),
        "run_time_seconds": clock_seconds(run_time),
        "year": parse_int(_descendant_text(elem, "Year")),
        "country_of_origin": _descendant_text(elem, "CountryOfOrigin"),
        "actors": _person_names(elem, "Actor"),
        "directors": _person_names(elem, "Director"),
        "producers": _person_names(elem, "Producer"),
        "licensing_window_start": parse_date(start),
        "licensing_window_end": parse_date(end),
        "app_data": json.dumps([], ensure_ascii=False),
    }


def parse_adi3(path: Path, ctx: FileContext) -> Iterator[Record | Quarantined]:
    from lxml import etree

    namespace, root = xmlsafe.root_tag(path)
    if not accepts_adi3(namespace, root):
        raise RejectedFile(f"not a CableLabs ADI 3.0 package: root {root!r} in namespace {namespace!r}")
    titles: list[tuple[str, dict | Quarantined]] = []
    assets: dict[str, dict] = {}
    groups: dict[str, list[str]] = {}  # title uriId → asset uriIds
    offer_window: tuple[str | None, str | None] = (None, None)
    counts: dict[str, int] = {}
    try:
        for _event, elem in xmlsafe.iterparse(path):
            parent = elem.getparent()
            if parent is None or parent.getparent() is not None:
                continue  # only children of <ADI3>
            kind = _adi3_kind(elem)
            counts[kind] = counts.get(kind, 0) + 1
            position = f"/ADI3/{kind}[{counts[kind]}]"
            if kind == "Title":
                titles.append((position, _adi3_title(ctx, elem, position)))
            elif kind in _ADI3_ASSET_CLASSES and elem.get("uriId"):
                assets[elem.get("uriId")] = {
                    "position": position,
                    "asset_id": elem.get("uriId"),
                    "asset_class": _ADI3_ASSET_CLASSES[kind],
                    "asset_type": _descendant_text(elem, "Type") or kind,
                    "content_value": _descendant_text(elem, "SourceUrl"),
                }
            elif kind == "ContentGroup":
                title_ref = next((n.get("uriId") for n in elem.iter("{*}TitleRef")), None)
                refs = [
                    n.get("uriId")
                    for n in elem.iter()
                    if isinstance(n.tag, str)
                    and localname(n).endswith("Ref")
                    and localname(n) != "TitleRef"
                    and n.get("uriId")
                ]
                if title_ref:
                    groups.setdefault(title_ref, []).extend(refs)
            elif kind == "Offer":
                offer_window = (elem.get("startDateTime"), elem.get("endDateTime"))
            xmlsafe.release_memory(elem)
    except etree.XMLSyntaxError as exc:
        raise RejectedFile(f"XML breaks off or is malformed: {exc}") from exc
    for position, row in titles:
        if isinstance(row, Quarantined):
            yield row
            continue
        if row["licensing_window_start"] is None or row["licensing_window_end"] is None:
            problems = window_problems(*offer_window, "Offer window")
            if problems:
                yield Quarantined(position, f"title {row['asset_id']}: {'; '.join(problems)}")
                continue
        if row["licensing_window_start"] is None:
            row["licensing_window_start"] = parse_date(offer_window[0])
        if row["licensing_window_end"] is None:
            row["licensing_window_end"] = parse_date(offer_window[1])
        start, end = row["licensing_window_start"], row["licensing_window_end"]
        if start and end and end < start:
            yield Quarantined(position, f"title {row['asset_id']}: licensing window ends {end} before it starts {start}")
            continue
        linked = groups.get(row["asset_id"], list(assets) if len(titles) == 1 else [])
        rows = [("raw.adi_titles", row)]
        for asset_id in linked:
            asset = assets.get(asset_id)
            if asset:
                rows.append(
                    (
                        "raw.adi_assets",
                        ctx.provenance(asset["position"])
                        | {k: v for k, v in asset.items() if k != "position"}
                        | {"title_asset_id": row["asset_id"]},
                    )
                )
        yield Record(position, rows)
