"""`msdb docs` renders the dbt docs site into var/docs/."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from pipelines.cli import app

pytestmark = pytest.mark.slow


def test_msdb_docs_builds_the_site_with_every_mart(built_samples, tmp_path, monkeypatch):
    settings, _ = built_samples
    warehouse = tmp_path / "msdb.duckdb"
    shutil.copyfile(settings.warehouse, warehouse)
    monkeypatch.setenv("MSDB_VAR_DIR", str(tmp_path / "var"))
    result = CliRunner().invoke(app, ["docs", "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    docs = tmp_path / "var" / "docs"
    assert (docs / "index.html").exists() and (docs / "static_index.html").exists()
    catalog = json.loads((docs / "catalog.json").read_text())
    assert {"model.msdb.dim_work", "model.msdb.fct_licence_window", "model.msdb.bridge_work_party"} <= set(catalog["nodes"])
    manifest = json.loads((docs / "manifest.json").read_text())
    dim_work = manifest["nodes"]["model.msdb.dim_work"]
    assert dim_work["description"].startswith("One row per work")
    assert all(column["description"] for column in dim_work["columns"].values())
