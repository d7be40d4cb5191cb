"""The catalog template (pipelines/ingest/catalog_template.py): CSV and JSON Lines, schema, validation report."""

from __future__ import annotations

import json
from datetime import date

from pipelines.ingest import catalog_template

CSV = """work_id,work_kind,title,title_language,original_title,original_title_language,display_artist,contributors,isrc,icpn,release_date,duration_seconds,genres,territories,excluded_territories,licence_start,licence_end
HK-001,recording,Kaze no Michi,ja-Latn,風の道,ja-Jpan,Hoshizora Kai,Hoshizora Kai (Composer)|Mori Ren (Lyricist),JPZZ02600011,,2026-12-01,245,J-Pop|Acoustic,Worldwide,KR,2026-12-01,2027-11-30
HK-002,recording,Bad Country,en,,,Hoshizora Kai,,QQZZ02600012,,2026-12-01,200,,JP,,,
HK-003,release,Kaze no Michi (Single),ja-Latn,,,Hoshizora Kai,,,4589990300019,2026-12-01,,,JP,,,
HK-004,recording,Backwards Window,en,,,Hoshizora Kai,,JPZZ02600014,,,three minutes,,JP,,2027-01-01,2026-01-01
"""


def test_csv_rows_load_and_rejections_are_reported(landing, ingest):
    landing.holder("hoshizora", "music").write("music", "hoshizora", "catalog.csv", CSV.encode("utf-8-sig"))
    run = ingest(landing)
    assert run.file("catalog.csv") == ("partial", 4, 1, 3, "catalog-template-csv")
    row = run.one(
        "SELECT work_id, title, original_title, original_title_match_key, contributors, isrc, duration_seconds, genres, "
        "territories, excluded_territories, licence_start, licence_end, source_format FROM raw.catalog_works"
    )
    assert row == (
        "HK-001",
        "Kaze no Michi",
        "風の道",
        "風の道",
        ["Hoshizora Kai (Composer)", "Mori Ren (Lyricist)"],
        "JPZZ02600011",
        245,
        ["J-Pop", "Acoustic"],
        ["Worldwide"],
        ["KR"],
        date(2026, 12, 1),
        date(2027, 11, 30),
        "csv",
    )
    reasons = dict(run.reasons("catalog.csv"))
    assert "invalid ISRC 'QQZZ02600012'" in reasons["row 2 (line 3)"]
    assert "invalid ICPN '4589990300019'" in reasons["row 3 (line 4)"]
    assert "duration_seconds: 'three minutes' is not of type 'integer'" in reasons["row 4 (line 5)"]
    assert "licence_end 2026-01-01 is before licence_start 2027-01-01" in reasons["row 4 (line 5)"]

    [report_file] = (run.settings.var_dir / "reports" / "ingest" / "hoshizora").glob("catalog.csv.*.json")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert (report["status"], report["rows_found"], report["rows_loaded"], report["rows_rejected"]) == (
        "partial",
        4,
        1,
        3,
    )
    assert [r["work_id"] for r in report["rejected_rows"]] == ["HK-002", "HK-003", "HK-004"]
    assert report["rejected_rows"][1]["errors"] == [
        {
            "field": "icpn",
            "message": "invalid ICPN '4589990300019': The number's checksum or check digit is invalid.",
        }
    ]


def test_jsonl_rows_and_broken_lines(landing, ingest):
    lines = [
        {
            "work_id": "AZ-EP3",
            "work_kind": "episode",
            "title": "The Case of the Vanishing Dashi",
            "original_title": "消えた出汁の謎",
            "series_name": "Midnight Kitchen Detectives",
            "season_number": 1,
            "episode_number": 3,
            "isan": "0000-0000-3A8D-0000-Z-0000-0000-6",
            "territories": ["JP"],
        },
        {"work_id": "AZ-EP4", "work_kind": "episode", "title": "No series"},
        {"work_id": "AZ-M1", "work_kind": "movie", "title": "Unknown Field", "studio": "Aozora"},
    ]
    body = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n{not json\n"
    landing.holder("aozora-pictures", "video").write("video", "aozora-pictures", "works.jsonl", body)
    run = ingest(landing)
    assert run.file("works.jsonl") == ("partial", 4, 1, 3, "catalog-template-jsonl")
    assert run.one(
        "SELECT work_kind, original_title, series_name, episode_number, isan FROM raw.catalog_works"
    ) == ("episode", "消えた出汁の謎", "Midnight Kitchen Detectives", 3, "0000-0000-3A8D-0000-Z-0000-0000-6")
    reasons = dict(run.reasons("works.jsonl"))
    assert "'series_name' is a required property" in reasons["line 2"]
    assert "Additional properties are not allowed ('studio' was unexpected)" in reasons["line 3"]
    assert "not JSON" in reasons["line 4"]


def test_header_that_does_not_match_the_schema_rejects_the_file(landing, ingest):
    landing.holder("hoshizora", "music")
    landing.write("music", "hoshizora", "wrong.csv", "id,name\n1,Kaze\n")
    landing.write(
        "music", "hoshizora", "latin1.csv", "work_id,work_kind,title\nHK-9,recording,Café\n".encode("latin-1")
    )
    run = ingest(landing)
    assert run.reasons("wrong.csv") == [
        (
            "file",
            "catalog template CSV header does not match the schema: unknown columns "
            "['id', 'name']; missing required columns ['work_id', 'work_kind', 'title']",
        )
    ]
    assert "must be UTF-8" in run.reasons("latin1.csv")[0][1]
    [report_file] = (run.settings.var_dir / "reports" / "ingest" / "hoshizora").glob("wrong.csv.*.json")
    assert json.loads(report_file.read_text())["status"] == "rejected"


def test_schema_is_valid_and_documents_every_column():
    schema = catalog_template.schema()
    assert schema["required"] == ["work_id", "work_kind", "title"]
    assert catalog_template.row_errors({"work_id": "X", "work_kind": "movie", "title": "Ok"}) == []
    assert catalog_template.row_errors({"work_id": "X", "work_kind": "recording", "title": "No ISRC"}) == [
        {"field": "(row)", "message": "'isrc' is a required property"},
        {"field": "(row)", "message": "'display_artist' is a required property"},
    ]


def test_isan_spellings_are_stored_in_standard_form(landing, ingest):
    line = {
        "work_id": "HZ-M7",
        "work_kind": "movie",
        "title": "Lighthouse Bakery: The Film",
        "isan": "ISAN 0000 0002 a1b2 0004 8 0000 0000 d",
        "territories": ["JP"],
    }
    landing.holder("horizon-tv", "video").write("video", "horizon-tv", "movie.jsonl", json.dumps(line) + "\n")
    run = ingest(landing)
    assert run.file("movie.jsonl") == ("loaded", 1, 1, 0, "catalog-template-jsonl")
    assert run.one("SELECT work_id, isan FROM raw.catalog_works") == (
        "HZ-M7",
        "0000-0002-A1B2-0004-8-0000-0000-D",
    )
