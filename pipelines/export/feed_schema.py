"""One definition of a feed's row, from which every delivery format takes its shape.

A `FeedSchema` lists a feed's columns with their types; the JSON Schema shipped beside each delivery
(`<feed>.schema.json`, draft 2020-12), the DuckDB types the Parquet writer casts to and the CSV header all come
from it, so the formats cannot drift apart. A row here is what a JSON Lines line holds: dates as ISO strings,
lists and objects nested.

A delta feed's schema (`FeedSchema.with_ops`) puts an `op` column first (add, update, delete) and names the
row's key: an add or update carries the whole row, a delete only its `op` and key (in CSV and Parquet the other
cells are empty or null), so a delta in CSV or Parquet says what a JSON Lines delta says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Scalar:
    kind: str  # string, integer, number, boolean, date

    def json_schema(self) -> dict[str, Any]:
        if self.kind == "date":
            return {"type": "string", "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
        return {"type": self.kind}

    def duckdb(self) -> str:
        return {
            "string": "VARCHAR",
            "integer": "BIGINT",
            "number": "DOUBLE",
            "boolean": "BOOLEAN",
            "date": "DATE",
        }[self.kind]


@dataclass(frozen=True)
class Choice(Scalar):
    """A string that is one of `values`."""

    values: tuple[str, ...] = ()

    def json_schema(self) -> dict[str, Any]:
        return {"type": self.kind, "enum": list(self.values)}


@dataclass(frozen=True)
class ListOf:
    item: Scalar | Struct

    def json_schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.json_schema()}

    def duckdb(self) -> str:
        return f"{self.item.duckdb()}[]"


@dataclass(frozen=True)
class Struct:
    fields: tuple[Column, ...]

    def json_schema(self) -> dict[str, Any]:
        return _object_schema(self.fields)

    def duckdb(self) -> str:
        return "STRUCT(" + ", ".join(f'"{f.name}" {f.type.duckdb()}' for f in self.fields) + ")"


@dataclass(frozen=True)
class Column:
    name: str
    type: Scalar | ListOf | Struct
    nullable: bool = True
    description: str = ""
    required: bool = True  # False: a row may leave it out (a field a newer producer adds)

    def json_schema(self) -> dict[str, Any]:
        schema = self.type.json_schema()
        if self.nullable:
            schema = {**schema, "type": [schema["type"], "null"]}
        if self.description:
            schema = {"description": self.description, **schema}
        return schema

    @property
    def nested(self) -> bool:
        return not isinstance(self.type, Scalar)


def _object_schema(columns: tuple[Column, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {c.name: c.json_schema() for c in columns},
        "required": [c.name for c in columns if c.required],
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class FeedSchema:
    """A feed's row: its columns in delivery order (the order of a JSON Lines object, a CSV header, Parquet)."""

    feed: str
    version: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # a delta feed's row key (`with_ops`): what a delete carries beside its op

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def with_ops(self, key: tuple[str, ...], version: str) -> FeedSchema:
        """The schema of this feed delivered as operations: `op` first, then the row; a delete carries only
        its op and `key`."""
        missing = [k for k in key if k not in self.names]
        if missing:
            raise ValueError(f"key {', '.join(missing)} not in the {self.feed} schema")
        return replace(
            self, version=version, key=key, columns=(OP, *self.columns),
            description=f"{self.description} Each row carries its op; a delete only its op and {', '.join(key)}.",
        )

    def json_schema(self) -> dict[str, Any]:
        document = {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": f"https://msdb.example/feeds/{self.feed}/{self.version}/{self.feed}.schema.json",
            "title": f"{self.feed} feed row",
            "description": self.description,
            **_object_schema(self.columns),
        }
        if self.key:
            document["required"] = ["op", *self.key]
            document["if"] = {"properties": {"op": {"const": "delete"}}}
            document["then"] = {"propertyNames": {"enum": ["op", *self.key]}}
            document["else"] = {"required": [c.name for c in self.columns if c.required]}
        return document

    def schema_file(self) -> tuple[str, bytes]:
        """The delivery's `<feed>.schema.json`: its name and bytes (sorted keys: the same bytes every night)."""
        body = json.dumps(self.json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        return f"{self.feed}.schema.json", body.encode("utf-8")

    def duckdb_columns(self) -> dict[str, str]:
        return {c.name: c.type.duckdb() for c in self.columns}


STRING, INTEGER, NUMBER, BOOLEAN, DATE = (
    Scalar("string"),
    Scalar("integer"),
    Scalar("number"),
    Scalar("boolean"),
    Scalar("date"),
)


def _c(
    name: str, type_: Scalar | ListOf | Struct, description: str = "", nullable: bool = True, required: bool = True
) -> Column:
    return Column(name, type_, nullable, description, required)


OP = _c("op", Choice("string", ("add", "update", "delete")), "add, update (the whole row) or delete (the key only).", nullable=False)

KANSEI_TAG = Struct((
    _c("tag_id", STRING, nullable=False), _c("label_en", STRING, nullable=False), _c("label_ja", STRING, nullable=False),
    _c("score", NUMBER, nullable=False),
    # what the 95-tag tagger adds to each tag (branch h11ml): optional until every feed carries them
    _c("tag_type", STRING, required=False), _c("weight", NUMBER, "0-100, the calibrated weight.", required=False),
    _c("is_primary", BOOLEAN, required=False), _c("evidence", STRING, required=False),
))  # fmt: skip

WORKS = FeedSchema(
    feed="works",
    version="1",
    description="One licensed work as a partner receives it on a delivery date (pipelines.partner_feed).",
    columns=(
        _c("work_id", STRING, "Stable MSDB work id.", nullable=False),
        _c("kind", STRING, "recording, release, movie, episode, season or series.", nullable=False),
        _c("title", STRING, "Default display title as delivered."),
        _c("title_ja", STRING), _c("title_en", STRING), _c("title_latn", STRING), _c("display_artist", STRING),
        _c("genres", ListOf(STRING)), _c("summary", STRING), _c("duration_seconds", INTEGER), _c("release_date", DATE),
        _c("isrc", STRING), _c("icpn", STRING), _c("grid", STRING), _c("provider_asset_id", STRING), _c("rights_holder_id", STRING),
        _c("territories", ListOf(STRING), "The partner's territories where a licence window is in force."),
        _c("licence_windows", ListOf(Struct((
            _c("territory", STRING, nullable=False), _c("commercial_model", STRING, nullable=False),
            _c("use_type", STRING, nullable=False), _c("start", DATE), _c("end", DATE),
        ))), "Windows in force on the delivery date, bounds inclusive; null bound: open."),
        _c("kansei_tags", ListOf(KANSEI_TAG), "Kansei tags, highest score first, with their labels."),
        _c("similar_works", ListOf(Struct((_c("work_id", STRING, nullable=False), _c("score", NUMBER, nullable=False)))),
           "Nearest works this partner also receives, nearest first."),
    ),
)  # fmt: skip

AD_MATCHES = FeedSchema(
    feed="ad_matches",
    version="1",
    description="One article x ad creative match of a logical date, contextual only (pipelines.ads.feed).",
    columns=(
        _c("article_id", STRING, nullable=False), _c("article_url", STRING), _c("publisher_id", STRING),
        _c("creative_id", STRING, nullable=False), _c("advertiser_id", STRING), _c("campaign_id", STRING),
        _c("rank", INTEGER, nullable=False), _c("score", NUMBER, nullable=False), _c("matched_tags", ListOf(STRING)),
        _c("iab_category", STRING), _c("iab_category_name", STRING), _c("brand_safety_level", STRING), _c("explanation", STRING),
    ),
)  # fmt: skip

MOOD_STATIONS = FeedSchema(
    feed="mood_stations",
    version="1",
    description="One licensed track of one kansei mood station: the top works by tag weight, ties by work id.",
    columns=(
        _c("tag_id", STRING, "The kansei tag the station plays.", nullable=False),
        _c("facet", STRING, nullable=False), _c("label_en", STRING, nullable=False), _c("label_ja", STRING, nullable=False),
        _c("rank", INTEGER, "1 for the strongest track of the station.", nullable=False),
        _c("work_id", STRING, nullable=False), _c("weight", NUMBER, "The work's score for the tag.", nullable=False),
        _c("isrc", STRING), _c("title", STRING), _c("title_ja", STRING), _c("display_artist", STRING),
    ),
)  # fmt: skip

MEAD = FeedSchema(
    feed="mead",
    version="1",
    description="One work's moods and themes as the MEAD 1.0.1 message carries them (pipelines.export.mead).",
    columns=(
        _c("work_id", STRING, nullable=False), _c("kind", STRING, nullable=False), _c("isrc", STRING), _c("icpn", STRING),
        _c("title", STRING), _c("title_language", STRING), _c("display_artist", STRING),
        _c("moods", ListOf(Struct((_c("value", STRING, nullable=False), _c("user_defined", BOOLEAN, nullable=False))))),
        _c("themes", ListOf(Struct((_c("value", STRING, nullable=False), _c("user_defined", BOOLEAN, nullable=False))))),
    ),
)  # fmt: skip

FEED_SCHEMAS = {s.feed: s for s in (WORKS, AD_MATCHES, MOOD_STATIONS, MEAD)}

# works and ad matches are delivered as operations (`pipelines.export.deltas`): these are their delivered rows
WORKS_OPS = WORKS.with_ops(("work_id",), version="2.0")
AD_MATCHES_OPS = AD_MATCHES.with_ops(("article_id", "creative_id"), version="2.0")
