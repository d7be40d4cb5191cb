"""`msdb` as a user meets it: a mistake is one line on stderr and a documented exit code, never a traceback.

Each case runs the real entry point (`python -m pipelines.cli`, what the `msdb` script calls) in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"


def msdb(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", **(env or {})}
    environment = {k: v for k, v in environment.items() if v is not None}
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_unknown_stage_is_a_usage_error(tmp_path):
    result = msdb("stage", "bogus", cwd=tmp_path)
    assert result.returncode == 2
    assert one_error_line(result) == (
        "msdb: error: Invalid value for NAME: unknown stage 'bogus': one of ingest, build, tag, similar, ads, check, export"
    )


def test_an_unknown_command_is_a_usage_error(tmp_path):
    result = msdb("bogus", cwd=tmp_path)
    assert result.returncode == 2
    assert one_error_line(result) == "msdb: error: No such command 'bogus'."


@pytest.mark.parametrize("command", ["run", "stage ingest", "quarantine", "report"])
def test_a_bad_date_is_a_usage_error(tmp_path, command):
    result = msdb(*command.split(), "--date", "2026-13-01", cwd=tmp_path)
    assert result.returncode == 2
    assert one_error_line(result) == "msdb: error: Invalid value for --date: '2026-13-01' is not a date (YYYY-MM-DD)"


def test_ingest_on_a_missing_landing_folder_stops_before_the_stage(tmp_path):
    result = msdb("stage", "ingest", "--date", "2026-11-24", "--landing", "nowhere", "--warehouse", "w/msdb.duckdb", cwd=tmp_path)
    assert result.returncode == 2
    assert one_error_line(result) == "msdb: error: landing folder nowhere does not exist (--landing or MSDB_LANDING)"
    assert not (tmp_path / "w" / "msdb.duckdb").exists()  # nothing ran


def test_debug_shows_the_traceback(tmp_path):
    result = msdb("--debug", "stage", "ingest", "--landing", "nowhere", "--warehouse", "w/msdb.duckdb", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "PreflightFailed: landing folder nowhere does not exist" in result.stderr
    assert result.stderr.splitlines()[-1] == "msdb: error: landing folder nowhere does not exist (--landing or MSDB_LANDING)"


def _run(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    args = {"--landing": str(SAMPLES), "--warehouse": "w/msdb.duckdb", "--deliver": "out"}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        args[flag] = value
    return msdb("run", "--date", "2026-11-24", *(part for pair in args.items() for part in pair), cwd=tmp_path, env=env)


def test_a_warehouse_folder_that_cannot_be_made_is_a_usage_error(tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    result = _run(tmp_path, "--warehouse", "taken/msdb.duckdb")
    assert result.returncode == 2
    assert one_error_line(result) == "msdb: error: warehouse folder taken: a file is in the way of that folder"


def test_a_warehouse_that_is_a_folder_is_a_usage_error(tmp_path):
    (tmp_path / "w" / "msdb.duckdb").mkdir(parents=True)
    result = _run(tmp_path)
    assert result.returncode == 2
    assert one_error_line(result) == (
        "msdb: error: warehouse w/msdb.duckdb is a folder: give the DuckDB file (--warehouse or MSDB_WAREHOUSE)"
    )


def test_a_delivery_folder_that_cannot_be_made_is_a_usage_error(tmp_path):
    (tmp_path / "out").write_text("a file, not a folder")
    result = _run(tmp_path, "--deliver", "out/feeds")
    assert result.returncode == 2
    assert one_error_line(result) == "msdb: error: delivery folder out/feeds: a file is in the way of that folder"
    assert not (tmp_path / "w" / "msdb.duckdb").exists()  # checked before the first stage


def test_an_unsupported_delivery_target_is_a_usage_error(tmp_path):
    result = _run(tmp_path, "--deliver", "ftp://feeds.example/msdb")
    assert result.returncode == 2
    assert one_error_line(result) == "msdb: error: delivery target 'ftp://feeds.example/msdb': use a folder or s3://bucket/prefix"


def test_an_unreachable_s3_endpoint_is_a_usage_error(tmp_path):
    env = {"MSDB_S3_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}
    result = _run(tmp_path, "--deliver", "s3://feeds/nightly", env=env)
    assert result.returncode == 2
    line = one_error_line(result)
    assert line.startswith("msdb: error: delivery target s3://feeds/nightly is not reachable: Could not connect to the endpoint URL")


def test_a_missing_bucket_is_a_usage_error(tmp_path, moto_s3):
    result = _run(tmp_path, "--deliver", "s3://no-such-bucket/nightly", env={"MSDB_S3_ENDPOINT_URL": moto_s3})
    assert result.returncode == 2
    assert one_error_line(result) == "msdb: error: delivery target s3://no-such-bucket/nightly: bucket 'no-such-bucket' answered 404"


def test_a_missing_models_folder_names_its_setting(tmp_path):
    result = _run(tmp_path, env={"MSDB_MODELS_DIR": str(tmp_path / "models")})
    assert result.returncode == 2
    assert one_error_line(result) == f"msdb: error: models folder {tmp_path / 'models'} does not exist: set MSDB_MODELS_DIR"


def test_a_missing_iab_taxonomy_names_its_setting_before_ingest_reads_the_ad_creatives(tmp_path):
    missing = tmp_path / "iab" / "Content_Taxonomy_3.1.tsv"
    result = _run(tmp_path, env={"MSDB_IAB_TAXONOMY": str(missing)})  # the samples land ad creatives
    assert result.returncode == 2
    assert one_error_line(result) == (
        f"msdb: error: IAB Content Taxonomy {missing} not found: set MSDB_IAB_TAXONOMY to the Content Taxonomy 3.1 "
        "TSV (IAB Tech Lab, CC BY 3.0, from https://github.com/InteractiveAdvertisingBureau/Taxonomies "
        "('Content Taxonomies/Content Taxonomy 3.1.tsv'))"
    )
    assert not (tmp_path / "w").exists()  # stopped before the first stage: no warehouse


def test_a_bad_setting_is_a_usage_error(tmp_path):
    result = _run(tmp_path, env={"MSDB_GATE_SAMPLE_ROWS": "0"})
    assert result.returncode == 2
    assert one_error_line(result) == "msdb: error: bad setting: MSDB_GATE_SAMPLE_ROWS: Input should be greater than or equal to 1"


def test_a_failing_stage_exits_1_in_one_line(tmp_path):
    (tmp_path / "landing").mkdir()  # no registry.yaml: ingest refuses to guess who may deliver
    result = msdb("stage", "ingest", "--date", "2026-11-24", "--landing", "landing", "--warehouse", "w/msdb.duckdb", cwd=tmp_path)
    assert result.returncode == 1
    assert one_error_line(result) == "msdb: error: stage ingest failed: RegistryError: no holder registry at landing/registry.yaml"


def test_readers_without_a_warehouse_say_so(tmp_path):
    for command in (["quarantine", "--date", "2026-11-24"], ["sql", "SELECT 1"], ["docs"], ["report", "--date", "2026-11-24"]):
        result = msdb(*command, "--warehouse", "w/msdb.duckdb", cwd=tmp_path)
        assert result.returncode == 2, command
        assert one_error_line(result) == "msdb: error: no warehouse at w/msdb.duckdb: run `msdb run` first"


def test_a_bad_query_exits_1_in_one_line(tmp_path):
    from pipelines.warehouse import writer

    with writer(tmp_path / "w" / "msdb.duckdb"):
        pass
    result = msdb("sql", "SELECT no_such_column FROM ops.stage_runs", "--warehouse", "w/msdb.duckdb", cwd=tmp_path)
    assert result.returncode == 1
    assert one_error_line(result).startswith('msdb: error: BinderException: Binder Error: Referenced column "no_such_column" not found')
