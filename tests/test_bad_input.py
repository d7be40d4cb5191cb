"""A malformed or undeclared delivery never stops the night: it is quarantined and the summary shows it."""

from __future__ import annotations

import shutil

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from pipelines.cli import app
from tests.conftest import SAMPLES, arrived
from tests.ingest.conftest import ADVERSARIAL
from tests.ingest.test_hostile_corpus import CASE_HOLDER, CASES, SECRET

pytestmark = pytest.mark.slow


def test_bad_files_are_quarantined_and_the_run_exits_zero(landing, tmp_path):
    landing.holder("sakura-records", "music").holder("aozora-pictures", "video", licence_territories=["JP"])
    landing.add("music", "sakura-records", SAMPLES / "music/sakura-records/2026-11-24/ERN43_SKR0001.xml")
    landing.write("music", "sakura-records", "broken.xml", b"<ern:NewReleaseMessage xmlns:ern='http://ddex.net/xml/ern/43'><MessageHeader>")
    landing.write("music", "unknown-label", "release.xml", b"<x/>")
    landing.write("video", "aozora-pictures", "notes.pdf", b"%PDF-1.4")
    warehouse = tmp_path / "wh.duckdb"
    partners = landing.root / "partners"  # the music partner only: no video lands, and a feed going to zero is held
    partners.mkdir()
    shutil.copyfile(SAMPLES / "partners" / "melody-stream.yaml", partners / "melody-stream.yaml")
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
        env={"MSDB_VAR_DIR": str(tmp_path / "var"), "MSDB_DELIVER": str(tmp_path / "out"), "MSDB_PARTNERS": str(SAMPLES / "partners")},
    )  # fmt: skip
    assert result.exit_code == 1
    assert "RegistryError" in result.output


# The hostile corpus (tests/fixtures/adversarial/cases.yaml) in a whole night: a handful of representative cases, one per family of attack, in one night with every sample delivery.
REPRESENTATIVE = {
    "music": ["xxe_file_read.xml", "music_zip_slip.zip", "music_duplicate_isrc_in_message.xml"],
    "video": ["video_window_ends_before_start.xml", "video_bidi_override_in_title.xml"],
    "articles": ["articles_control_characters_in_title.jsonl", "articles_rss_truncated.rss"],
}


def test_a_full_run_with_hostile_files_still_delivers_the_good_data(tmp_path):
    root = tmp_path / "landing"
    shutil.copytree(SAMPLES, root)
    registry = yaml.safe_load((root / "registry.yaml").read_text(encoding="utf-8"))
    registry["holders"] += [{"id": holder, "name": holder, "kind": kind} for kind, holder in CASE_HOLDER.items()]
    (root / "registry.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    for kind, names in REPRESENTATIVE.items():
        for name in names:
            (root / kind / CASE_HOLDER[kind]).mkdir(parents=True, exist_ok=True)
            arrived(shutil.copyfile(ADVERSARIAL / name, root / kind / CASE_HOLDER[kind] / name))
    secret = tmp_path / "outside" / "passwd.xml"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    (root / "music" / "tsukiyo" / "passwd.xml").symlink_to(secret)
    warehouse, out = tmp_path / "wh.duckdb", tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["run", "--date", "2026-11-24", "--landing", str(root), "--warehouse", str(warehouse), "--deliver", str(out)],
        env={"MSDB_VAR_DIR": str(tmp_path / "var"), "MSDB_INGEST_HELPERS": "0"},
    )
    assert result.exit_code == 0, result.output
    by_case = {case["file"]: case for case in CASES}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for kind, names in REPRESENTATIVE.items():
            for name in names:
                path = f"{kind}/{CASE_HOLDER[kind]}/{name}"
                reasons = con.execute("SELECT reason FROM ops.quarantine WHERE file_path = ?", [path]).fetchall()
                assert [r for (r,) in reasons if by_case[name]["quarantine"][0]["reason"] in r], (path, reasons)
        assert con.execute("SELECT reason FROM ops.quarantine WHERE file_path = 'music/tsukiyo/passwd.xml'").fetchall() == [
            ("symbolic link 'music/tsukiyo/passwd.xml' leads outside the landing; not read",)
        ]
        files = con.execute("SELECT records_found, records_loaded, records_quarantined FROM ops.ingest_files").fetchall()
        assert all(found == loaded + quarantined for found, loaded, quarantined in files)
        sakura = con.execute(
            "SELECT count(*) FROM marts.dim_work WHERE kind = 'recording' AND rights_holder_id = 'sakura-records'"
        ).fetchone()[0]
    assert sakura == 8  # the good album went through
    manifests = sorted(p.relative_to(out).parts[:2] for p in out.rglob("manifest.json"))
    assert {partner for partner, _feed in manifests} == {"cinema-now", "kizuna-ads", "melody-stream"}
