"""Declarations the pipeline trusts: the rights-holders and publishers that may land files, and partners.

Both are versioned YAML files owned by the business, validated here so that a typo fails loudly at start-up
rather than quietly quarantining a whole catalog.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

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


class PartnerContract(BaseModel):
    """What one partner is licensed to receive, and in which shape."""

    partner_id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    feed: Literal["works", "articles", "ad_matches"] = "works"
    work_kinds: list[str] = Field(default_factory=list)
    territories: list[str]
    commercial_models: list[str] = Field(default_factory=list)
    use_types: list[str] = Field(default_factory=list)
    format: Literal["jsonl"] = "jsonl"
    formats: list[Literal["jsonl", "csv", "parquet"]] = Field(
        default_factory=list,
        description="Files of each delivery (each with <feed>.schema.json); empty: works.jsonl alone, as always.",
    )
    required_fields: list[str] = Field(default_factory=list)
    neighbors: int = 10


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
    contracts = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            contracts.append(PartnerContract.model_validate(_load_yaml(path)))
        except ValidationError as exc:
            raise RegistryError(f"{path}: {exc}") from exc
    ids = [c.partner_id for c in contracts]
    if len(ids) != len(set(ids)):
        raise RegistryError(f"duplicate partner_id in {folder}")
    return contracts
