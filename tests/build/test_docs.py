"""`msdb docs` renders the dbt docs site into var/docs/, from the published copy (a run may hold the live file)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

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


REPO = Path(__file__).resolve().parents[2]
HOLDING_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipelines.warehouse.run_lock import run_lock
    from pipelines.warehouse import writer

    warehouse = Path(sys.argv[1])
    with run_lock(warehouse, "run --date 2026-11-25"), writer(warehouse):
        print("writing", flush=True)
        time.sleep(300)
    """
)


def test_msdb_docs_reads_the_published_copy_while_a_run_writes(built_samples, tmp_path):
    from pipelines.warehouse import publish

    settings, _ = built_samples
    warehouse = tmp_path / "msdb.duckdb"
    shutil.copyfile(settings.warehouse, warehouse)
    publish(warehouse)  # what the last run left for readers
    env = {**os.environ, "PYTHONPATH": str(REPO), "MSDB_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    run = subprocess.Popen([sys.executable, "-c", HOLDING_WRITER, str(warehouse)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert run.stdout.readline().strip() == "writing"
        result = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "docs", "--warehouse", str(warehouse)],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    finally:
        run.kill()
        run.wait()
    assert result.returncode == 0, result.stderr
    docs = tmp_path / "var" / "docs"
    assert f"dbt docs: {docs / 'index.html'}" in " ".join(result.stdout.split())
    columns = json.loads((docs / "catalog.json").read_text())["nodes"]["model.msdb.dim_work"]["columns"]
    assert {"work_id", "title"} <= {name.lower() for name in columns}
    assert not (tmp_path / "var" / "dbt" / "docs-catalog").exists()  # the scratch copy is gone
