import subprocess
import sys

import pytest

from pipelines.cli import _logical_date


def test_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", "--help"], capture_output=True, text=True, check=True)
    for command in ("run", "stage", "quarantine", "sql", "report"):
        assert command in out.stdout


def test_help_does_not_import_heavy_modules():
    code = "import sys; import pipelines.cli; print(sorted(m for m in ('torch','duckdb','polars','dbt','great_expectations') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bad_date_is_a_clear_error():
    import typer

    with pytest.raises(typer.BadParameter, match="is not a date"):
        _logical_date("2026-13-01")


def test_run_help_documents_the_exit_codes():
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--help"], capture_output=True, text=True, check=True)
    text = " ".join(out.stdout.split())
    assert "3 the run finished but at least one feed was not published" in text
    assert "1 a stage failed" in text


def _warehouse(tmp_path):
    from pipelines.warehouse import writer

    path = tmp_path / "warehouse" / "msdb.duckdb"
    path.parent.mkdir()
    with writer(path):
        pass
    return path


@pytest.mark.parametrize(
    ("output_format", "expected"),
    [
        ("csv", 'title,tags,missing\n' + "長" * 300 + ',"[""雨"", ""夜""]",\n'),
        ("json", '[\n  {\n    "title": "' + "長" * 300 + '",\n    "tags": [\n      "雨",\n      "夜"\n    ],\n    "missing": null\n  }\n]\n'),
    ],
)
def test_sql_prints_csv_and_json_whole(tmp_path, output_format, expected):
    from typer.testing import CliRunner

    from pipelines.cli import app

    query = "SELECT repeat('長', 300) AS title, ['雨', '夜'] AS tags, NULL AS missing"
    result = CliRunner().invoke(app, ["sql", query, "--warehouse", str(_warehouse(tmp_path)), "--format", output_format])
    assert result.exit_code == 0, result.output
    assert result.output == expected


def test_sql_table_never_cuts_a_value(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    query = "SELECT repeat('長', 300) AS title, 'JPSK02600002' AS isrc"
    result = CliRunner().invoke(app, ["sql", query, "--warehouse", str(_warehouse(tmp_path))])
    assert result.exit_code == 0, result.output
    assert result.output.count("長") == 300 and "…" not in result.output and "JPSK02600002" in result.output


@pytest.mark.slow
def test_run_exits_3_and_names_the_blocked_feed_and_skipped_files(copy_run, tmp_path, monkeypatch):
    import shutil

    import yaml
    from typer.testing import CliRunner

    from pipelines.cli import EXIT_FEED_BLOCKED, app
    from tests.conftest import SAMPLES

    partners = tmp_path / "partners"
    shutil.copytree(SAMPLES / "partners", partners)
    contract = partners / "melody-stream.yaml"
    spec = yaml.safe_load(contract.read_text())
    spec["required_fields"].append("isan")  # no such feed column: the whole feed is blocked
    contract.write_text(yaml.safe_dump(spec))
    monkeypatch.setenv("MSDB_PARTNERS", str(partners))
    monkeypatch.setenv("MSDB_VAR_DIR", str(copy_run.var_dir))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(
        app,
        ["run", "--date", "2026-11-24", "--landing", str(SAMPLES), "--warehouse", str(copy_run.warehouse), "--deliver", copy_run.deliver],
    )
    assert result.exit_code == EXIT_FEED_BLOCKED == 3, result.output
    assert "blocked feed melody-stream/works: quality gate failed: partner:melody-stream" in result.output
    assert "partner:melody-stream: expect_column_to_exist(isan) — column isan is missing" in result.output
    assert "files skipped as already loaded: 10" in result.output
    assert "music/sakura-records/2026-11-24/ERN43_SKR0001.xml" in result.output
    assert "NaN" not in result.output
    # the run's report, written once the run ended, says the same
    report = copy_run.var_dir / "reports" / "2026-11-24.html"
    assert f"report: {report}" in result.output.splitlines()
    html = report.read_text(encoding="utf-8")
    assert 'data-figure="feeds not published"><b>3</b>' in html  # its works feed, and the stations and MEAD after it
    assert "<td>melody-stream</td><td>works</td><td>blocked</td>" in html


def test_a_failed_stage_exits_1_and_says_what_is_not_built(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pipelines.cli import EXIT_STAGE_FAILED, app
    from tests.conftest import SAMPLES

    landing = tmp_path / "landing"
    landing.mkdir()  # no registry.yaml: ingest refuses to guess who may deliver
    monkeypatch.setenv("MSDB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MSDB_PARTNERS", str(SAMPLES / "partners"))  # without contracts the run would not start (exit 2)
    monkeypatch.setenv("COLUMNS", "400")  # long tmp paths (pytest-xdist adds a folder) stay on one line
    warehouse = tmp_path / "warehouse" / "msdb.duckdb"
    result = CliRunner().invoke(
        app, ["run", "--date", "2026-11-24", "--landing", str(landing), "--warehouse", str(warehouse), "--deliver", str(tmp_path / "out")]
    )
    assert result.exit_code == EXIT_STAGE_FAILED == 1
    output = " ".join(result.output.split())
    assert f"stage failed: RegistryError: no holder registry at {landing / 'registry.yaml'}" in output
    assert "works in warehouse / tagged │ not built / 0 │" in output  # not "0 works": dbt never ran
    # the report of what ran: the failed ingest, and no stage after it
    report = tmp_path / "var" / "reports" / "2026-11-24.html"
    assert f"report: {report}" in result.output.splitlines()
    html = report.read_text(encoding="utf-8")
    assert "<span" in html and ">ingest: failed</span>" in html and "build:" not in html
    assert "The check stage has no results for this date." in html
