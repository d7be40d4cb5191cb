"""`msdb generate` on the command line: it writes the landing and prints what each night holds."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pipelines.cli import app


def test_generate_prints_the_nights_and_writes_the_manifest(tmp_path):
    out = tmp_path / "landing"
    args = [
        "generate",
        "--works",
        "200",
        "--articles",
        "20",
        "--holders",
        "2",
        "--nights",
        "1",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, [*args, "--seed", "5"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "generated landing" in result.output and "works changed per follow-up night" in result.output
    manifest = json.loads((out / "generated.json").read_text("utf-8"))
    assert [n["date"] for n in manifest["nights"]] == ["2026-11-24", "2026-11-25"]
    assert manifest["nights"][0]["recordings"] == 180 and manifest["nights"][0]["videos"] == 20


def test_generate_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    result = CliRunner().invoke(app, ["generate", "--works", "10", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "was not written by msdb generate" in " ".join(result.output.split())
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_generate_says_which_date_does_not_read(tmp_path):
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "x"), "--start-date", "2026-02-30"])
    assert result.exit_code == 2 and "--start-date" in result.output
