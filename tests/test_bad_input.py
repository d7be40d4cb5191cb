"""A malformed or undeclared delivery never stops the night: it is quarantined and the summary shows it."""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from tests.conftest import SAMPLES

pytestmark = pytest.mark.slow


def test_bad_files_are_quarantined_and_the_run_exits_zero(landing, tmp_path):
    landing.holder("sakura-records", "music").holder("aozora-pictures", "video", licence_territories=["JP"])
    landing.add("music", "sakura-records", SAMPLES / "music/sakura-records/2026-11-24/ERN43_SKR0001.xml")
    landing.write("music", "sakura-records", "broken.xml", b"<ern:NewReleaseMessage xmlns:ern='http://ddex.net/xml/ern/43'><MessageHeader>")
    landing.write("music", "unknown-label", "release.xml", b"<x/>")
    landing.write("video", "aozora-pictures", "notes.pdf", b"%PDF-1.4")
    warehouse = tmp_path / "wh.duckdb"
    result = CliRunner().invoke(
        app,
        ["run", "--date", "2026-11-24", "--landing", str(landing.root), "--warehouse", str(warehouse),
         "--deliver", str(tmp_path / "out")],
        env={"MSDB_VAR_DIR": str(tmp_path / "var")},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "files quarantined" in result.output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("SELECT file_path, location, reason FROM ops.quarantine ORDER BY file_path").fetchall()
        loaded = con.execute("SELECT count(*) FROM marts.dim_work WHERE kind = 'recording'").fetchone()[0]
    reasons = {path: reason for path, _, reason in rows}
    assert "XML breaks off" in reasons["music/sakura-records/broken.xml"]
    assert "'unknown-label' is not declared" in reasons["music/unknown-label/release.xml"]
    assert "no reader for video files with extension '.pdf'" in reasons["video/aozora-pictures/notes.pdf"]
    assert loaded == 8  # the good album still went through


def test_a_failing_stage_exits_non_zero(landing, tmp_path):
    (landing.root / "registry.yaml").write_text("holders: [{id: Bad Id, kind: nowhere}]")
    result = CliRunner().invoke(
        app, ["run", "--date", "2026-11-24", "--landing", str(landing.root), "--warehouse", str(tmp_path / "w.duckdb")],
        env={"MSDB_VAR_DIR": str(tmp_path / "var"), "MSDB_DELIVER": str(tmp_path / "out")},
    )  # fmt: skip
    assert result.exit_code == 1
    assert "RegistryError" in result.output
