"""The countries a licence window can cover: dbt's reference seed `iso_3166_countries`, read by Python too, so
that the territory cells dbt builds, the quality gate and the partner feed never disagree.

A licence window's territory is one of those codes, or `WORLDWIDE`: every one of them except the window's
`excluded_territories` (`marts.fct_licence_window`).
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from pipelines.settings import MsdbSettings

WORLDWIDE = "Worldwide"


def country_codes(dbt_project_dir: Path | None = None) -> tuple[str, ...]:
    """The seed's codes, in its order, from the configured dbt project (`MSDB_DBT_PROJECT_DIR`) unless given."""
    return _seed_codes((dbt_project_dir or MsdbSettings().dbt_project_dir) / "seeds" / "iso_3166_countries.csv")


@cache
def _seed_codes(seed: Path) -> tuple[str, ...]:
    with seed.open(encoding="utf-8", newline="") as fh:
        return tuple(row["country_code"] for row in csv.DictReader(fh))
