"""The countries a licence window can cover: dbt's reference seed `iso_3166_countries`, read by Python too, so
that the territory cells dbt builds, the quality gate and the partner feed never disagree.

A licence window's territory is one of those codes, or `WORLDWIDE`: every one of them except the window's
`excluded_territories` (`marts.fct_licence_window`).
"""

from __future__ import annotations

import csv
from functools import cache

from pipelines.settings import PROJECT_ROOT

COUNTRIES_SEED = PROJECT_ROOT / "dbt_project" / "seeds" / "iso_3166_countries.csv"
WORLDWIDE = "Worldwide"


@cache
def country_codes() -> tuple[str, ...]:
    """The seed's codes, in its order."""
    with COUNTRIES_SEED.open(encoding="utf-8", newline="") as fh:
        return tuple(row["country_code"] for row in csv.DictReader(fh))
