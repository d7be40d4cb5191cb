"""Declarations the pipeline trusts: the rights-holders and publishers that may land files, and partners.

Both are versioned YAML files owned by the business, validated here so that a typo fails loudly at start-up
rather than quietly quarantining a whole catalog.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

HolderKind = Literal["music", "video", "articles", "ads"]


class RegistryError(ValueError):
    """The registry or a contract file is unreadable or invalid."""


class Holder(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    kind: HolderKind
    timezone: str = "Asia/Tokyo"
    default_language: str | None = None
    licence_territories: list[str] = Field(
        default_factory=list,
        description="ISO 3166-1 alpha-2 codes where this holder's deliveries apply when they name no territory (ADI).",
    )


class HolderRegistry(BaseModel):
    holders: list[Holder]

    def get(self, kind: str, holder_id: str) -> Holder | None:
        for holder in self.holders:
            if holder.id == holder_id and holder.kind == kind:
                return holder
        return None


PartnerKind = Literal["music_service", "vod", "ad_platform"]
FeedFormat = Literal["jsonl", "csv", "parquet"]  # each with <feed>.schema.json (pipelines.export.formats)
# a credential is named, never written: an environment variable's name or an Airflow connection id
_ENV_NAME = r"^[A-Z][A-Z0-9_]{1,63}$"
_CONN_ID = r"^[a-z][a-z0-9_]{1,63}$"


class CredentialsRef(BaseModel):
    """Where the delivery's credentials are found at run time (`pipelines.export.credentials`); the contract
    never holds the secret itself."""

    model_config = ConfigDict(extra="forbid")

    env: str | None = Field(
        default=None, pattern=_ENV_NAME,
        description="prefix of environment variables: <env>_ACCESS_KEY_ID, <env>_SECRET_ACCESS_KEY (and <env>_SESSION_TOKEN)",
    )
    airflow_conn_id: str | None = Field(default=None, pattern=_CONN_ID, description="an Airflow connection id")

    @field_validator("env")
    @classmethod
    def _not_a_key(cls, env: str | None) -> str | None:
        if env is not None and (re.fullmatch(r"(AKIA|ASIA)[A-Z0-9]{16}", env) or re.search(r"[0-9]{6}", env)):
            raise ValueError("looks like a secret, not a variable name: name the variable that holds it")
        return env

    @model_validator(mode="after")
    def _one_reference(self) -> CredentialsRef:
        if (self.env is None) == (self.airflow_conn_id is None):
            raise ValueError("name exactly one of env (an environment variable name) or airflow_conn_id")
        return self


MusicFeed = Literal["mood_stations", "mead"]  # music partners only, beside their works feed
_DPID = r"^PADPID[A-Z0-9]{12}$"  # a DDEX Party Identifier


class MeadRecipient(BaseModel):
    """Who the partner is in a MEAD message's header (`MessageRecipient`); our own party is `MsdbSettings.mead_sender_*`."""

    model_config = ConfigDict(extra="forbid")

    recipient_party_id: str = Field(pattern=_DPID, description="the partner's DDEX Party Identifier (PADPID + 12)")
    recipient_name: str | None = Field(default=None, min_length=1, description="none: the contract's name")


class PartnerContract(BaseModel):
    """What one partner is licensed to receive, and in which shape. Unknown fields fail: a typo in a
    contract must not widen or silently drop a licence."""

    model_config = ConfigDict(extra="forbid")

    partner_id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    kind: PartnerKind
    feed: Literal["works", "articles", "ad_matches"] = "works"
    feeds: list[MusicFeed] = Field(
        default_factory=list,
        description="music partners: mood_stations and/or mead beside the works feed, over the same licensed works",
    )
    mead: MeadRecipient | None = None
    domains: list[Literal["music", "video", "articles", "ads"]] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list, description="feed fields licensed; empty: every field of the feed")
    work_kinds: list[str] = Field(default_factory=list)
    territories: list[str] = Field(min_length=1, description="ISO 3166-1 alpha-2 codes, or Worldwide")
    commercial_models: list[str] = Field(default_factory=list)
    use_types: list[str] = Field(default_factory=list)
    formats: list[FeedFormat] = Field(
        default_factory=lambda: ["jsonl"], min_length=1,
        description="Files of each delivery; beyond jsonl, each with <feed>.schema.json (each row with its op, as in jsonl)",
    )
    delivery: Literal["full", "delta"] = Field(default="delta", description="delta: adds, updates, deletes after a first full snapshot")
    delivery_uri: str | None = Field(
        default=None, pattern=r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?|/[^\s]*)$",
        description="s3://bucket/prefix or an absolute folder; none: the run's MSDB_DELIVER",
    )
    credentials: CredentialsRef | None = None
    max_drop_share: float = Field(default=0.2, ge=0, le=1, description="a delivery dropping more of the partner's rows is held")
    required_fields: list[str] = Field(default_factory=list)
    neighbors: int = 10

    @model_validator(mode="before")
    @classmethod
    def _single_format(cls, values: object) -> object:
        """`format: jsonl` (the first contracts' spelling) is `formats: [jsonl]`."""
        if isinstance(values, dict) and "format" in values and "formats" not in values:
            values = dict(values)
            values["formats"] = [values.pop("format")]
        return values

    @model_validator(mode="after")
    def _known_fields(self) -> PartnerContract:
        if self.feed == "works" and self.fields:
            from pipelines.partner_feed import WORKS_FEED_COLUMNS

            unknown = [f for f in self.fields if f not in WORKS_FEED_COLUMNS]
            if unknown:
                raise ValueError(f"fields: {', '.join(unknown)} not in the works feed ({', '.join(WORKS_FEED_COLUMNS)})")
        return self

    @model_validator(mode="after")
    def _music_feeds(self) -> PartnerContract:
        if self.feeds and self.kind != "music_service":
            raise ValueError(f"feeds: {', '.join(self.feeds)} are for music_service partners, not {self.kind}")
        if self.feeds and self.feed != "works":
            raise ValueError(f"feeds: {', '.join(self.feeds)} need the works feed (their licensed works), not {self.feed}")
        if len(set(self.feeds)) != len(self.feeds):
            raise ValueError("feeds: each feed once")
        if "mead" in self.feeds and self.mead is None:
            raise ValueError("feeds: mead needs `mead: {recipient_party_id: PADPID..., recipient_name: ...}`")
        if self.mead is not None and "mead" not in self.feeds:
            raise ValueError("mead: given, but feeds does not list mead")
        return self

    @field_validator("territories")
    @classmethod
    def _known_territories(cls, territories: list[str]) -> list[str]:
        from pipelines.territories import WORLDWIDE, country_codes

        known = set(country_codes())
        unknown = [t for t in territories if t != WORLDWIDE and t not in known]
        if unknown:
            raise ValueError(f"unknown territory {', '.join(unknown)} (ISO 3166-1 alpha-2 codes or Worldwide)")
        return territories


def _validation_message(path: Path, exc: ValidationError) -> str:
    """One line per fault, naming the file and the field: `partners/x.yaml: field 'territorys': unknown field`."""
    faults = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(contract)"
        message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        faults.append(f"field {where!r}: {message}")
    return f"{path}: " + "; ".join(faults)


def _load_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"{path}: {exc}") from exc


def load_holders(path: Path) -> HolderRegistry:
    if not path.exists():
        raise RegistryError(f"no holder registry at {path}")
    try:
        return HolderRegistry.model_validate(_load_yaml(path))
    except ValidationError as exc:
        raise RegistryError(f"{path}: {exc}") from exc


def load_partners(folder: Path) -> list[PartnerContract]:
    """Every contract of the partners folder; a missing or empty folder is an error, not zero partners (a
    run that delivers nothing must not look like one that delivered everything)."""
    if not folder.is_dir():
        raise RegistryError(f"partners folder {folder} does not exist")
    contracts = []
    for path in sorted(folder.glob("*.yaml")):
        document = _load_yaml(path)
        if not isinstance(document, dict):
            raise RegistryError(f"{path}: a contract is a mapping of fields, not {type(document).__name__}")
        try:
            contracts.append(PartnerContract.model_validate(document))
        except ValidationError as exc:
            raise RegistryError(_validation_message(path, exc)) from exc
    if not contracts:
        raise RegistryError(f"partners folder {folder} holds no contract (*.yaml)")
    ids = [c.partner_id for c in contracts]
    if len(ids) != len(set(ids)):
        raise RegistryError(f"duplicate partner_id in {folder}")
    return contracts
