"""A warehouse built from a landing folder: ingest then `dbt build`, without the heavier stages."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SAMPLE_DATE, SAMPLES, make_settings


def ingest_and_build(settings, logical_date: date = SAMPLE_DATE):
    from pipelines.build import run_build
    from pipelines.ingest import run_ingest

    run_ingest(settings, logical_date)
    return run_build(settings, logical_date)


def rows(settings, sql: str, params=None) -> list[tuple]:
    from pipelines.warehouse.functions import register_functions

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        register_functions(con)  # staging and intermediate views call msdb_match_key
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="session")
def built_samples(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("built-samples")
    settings = make_settings(root, SAMPLES)
    summary = ingest_and_build(settings)
    return settings, summary
