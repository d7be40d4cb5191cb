import subprocess
import sys

import pytest

from pipelines.cli import _logical_date


def test_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", "--help"], capture_output=True, text=True, check=True)
    for command in ("run", "stage", "quarantine", "sql"):
        assert command in out.stdout


def test_help_does_not_import_heavy_modules():
    code = "import sys; import pipelines.cli; print(sorted(m for m in ('torch','duckdb','polars','dbt','great_expectations') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bad_date_is_a_clear_error():
    import typer

    with pytest.raises(typer.BadParameter, match="is not a date"):
        _logical_date("2026-13-01")
