"""Running ingest on a throwaway landing and reading back what it wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest import IngestSummary, run_ingest
from pipelines.settings import MsdbSettings
from tests.conftest import make_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ADVERSARIAL = FIXTURES / "adversarial"


@dataclass
class IngestRun:
    settings: MsdbSettings
    summary: IngestSummary

    def rows(self, sql: str, params=None) -> list[tuple]:
        with duckdb.connect(str(self.settings.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def one(self, sql: str, params=None):
        rows = self.rows(sql, params)
        assert len(rows) == 1, rows
        return rows[0] if len(rows[0]) > 1 else rows[0][0]

    def file(self, name: str) -> tuple:
        """(status, found, loaded, quarantined, file_format) of the one ingested file whose path ends in name."""
        return self.one(
            "SELECT status, records_found, records_loaded, records_quarantined, file_format FROM ops.ingest_files "
            "WHERE file_path LIKE ?",
            [f"%{name}"],
        )

    def reasons(self, name: str) -> list[tuple[str, str]]:
        return self.rows(
            "SELECT location, reason FROM ops.quarantine WHERE file_path LIKE ? ORDER BY location",
            [f"%{name}"],
        )


@pytest.fixture
def ingest(tmp_path):
    """ingest(landing) runs the loader over the landing into one warehouse per test (reruns share it)."""

    def run(landing, logical_date: date = date(2026, 11, 24)) -> IngestRun:
        settings = make_settings(tmp_path, landing.root)
        return IngestRun(settings, run_ingest(settings, logical_date))

    return run
