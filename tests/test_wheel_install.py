"""The wheel works outside the repository: built, installed into a fresh venv, run on the samples from there.

The venv is new and holds the project as the wheel installs it (package, `msdb` script, and the dbt project,
models and expectations it ships in `pipelines/_project/`); MSDB_DBT_PROJECT_DIR, MSDB_MODELS_DIR and
MSDB_EXPECTATIONS_DIR point there, as the production image points them at its copies. Nothing of the repository
is copied but `data/samples`, and the run's working directory is a temporary folder. The third-party
dependencies (2.6 GB: torch, Airflow, dbt...) are the ones already installed for the project, reached through
a `.pth` file, because a test must not download them: only their own folder is added to the path, not the
project's editable install, and the test checks that `pipelines` is imported from the fresh venv.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import IAB_TAXONOMY

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "pipelines", "dbt_project", "models", "expectations")
NOT_BUILT = shutil.ignore_patterns("__pycache__", "*.pyc", "target", "logs", "dbt_packages", "*.egg-info")


def _build_wheel(tmp: Path) -> Path:
    """`pip wheel` of a copy of the build inputs, so that the build leaves nothing in the checkout."""
    source = tmp / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=NOT_BUILT)
        else:
            shutil.copyfile(REPO / name, source / name)
    dist = tmp / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(dist), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("msdb_pipeline-*.whl")
    return wheel


def _fresh_venv(tmp: Path, wheel: Path) -> tuple[Path, Path]:
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    (site_packages / "msdb-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv, site_packages


@pytest.mark.slow
def test_the_wheel_runs_the_nightly_on_the_samples_outside_the_repository(tmp_path):
    if not IAB_TAXONOMY.is_file():
        pytest.skip(f"IAB Content Taxonomy not found at {IAB_TAXONOMY} (real data: set MSDB_IAB_TAXONOMY)")
    wheel = _build_wheel(tmp_path)
    venv, site_packages = _fresh_venv(tmp_path, wheel)
    shipped = site_packages / "pipelines" / "_project"
    assert (shipped / "dbt_project" / "dbt_project.yml").is_file()
    assert (shipped / "dbt_project" / "seeds" / "iso_3166_countries.csv").is_file()
    assert (shipped / "models" / "kansei" / "taxonomy.yaml").is_file()
    assert sorted(p.name for p in (shipped / "expectations").glob("*.json")) == sorted(p.name for p in (REPO / "expectations").glob("*.json"))
    assert not (shipped / "dbt_project" / "target").exists()

    run = tmp_path / "run"
    shutil.copytree(SAMPLES, run / "landing")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MSDB_", "PYTHON", "VIRTUAL_ENV"))}
    env |= {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "COLUMNS": "200",
        "MSDB_DBT_PROJECT_DIR": str(shipped / "dbt_project"),
        "MSDB_MODELS_DIR": str(shipped / "models"),
        "MSDB_EXPECTATIONS_DIR": str(shipped / "expectations"),
        "MSDB_IAB_TAXONOMY": str(IAB_TAXONOMY),  # third-party reference data: never in the wheel, mounted in production
    }
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import pipelines.settings as s; print(s.__file__); print(s.MsdbSettings().models_dir)"],
        cwd=run, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert where.stdout.splitlines() == [str(site_packages / "pipelines" / "settings.py"), str(shipped / "models")]

    result = subprocess.run(
        [str(venv / "bin" / "msdb"), "run", "--date", "2026-11-24", "--landing", "landing", "--warehouse", "warehouse/msdb.duckdb", "--deliver", "feeds"],
        cwd=run, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr

    delivered = {}
    for partner in ("melody-stream", "cinema-now"):
        folder = run / "feeds" / partner / "works" / "2026-11-24"
        manifest = json.loads((folder / "manifest.json").read_text())
        (entry,) = manifest["files"]
        body = (folder / entry["name"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]
        rows = [json.loads(line) for line in body.decode().splitlines()]
        assert len(rows) == entry["rows"] == manifest["row_count"]
        delivered[partner] = {row["work_id"]: row for row in rows}
    songs = {row["isrc"]: row["title_ja"] for row in delivered["melody-stream"].values()}
    assert songs["JPSK02600005"] == "さよならのプラットホーム"
    assert "Promise by the Sea" in {row["title"] for row in delivered["cinema-now"].values()}
    assert (run / "warehouse" / "msdb.published.duckdb").is_file()
    assert f"report: {Path('var/reports/2026-11-24.html')}" in result.stdout.splitlines()  # the run report, from the wheel
    assert (run / "var" / "reports" / "2026-11-24.html").is_file()
    assert not (REPO / "build").exists()
