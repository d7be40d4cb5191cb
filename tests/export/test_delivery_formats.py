"""A contract's `formats` select the delivery's files; without them the works feed is works.jsonl, as always."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from pipelines.export import DeliveryConflict, _delivery_files, deliver_partner
from pipelines.export.targets import LocalTarget
from pipelines.warehouse import ensure_schema
from tests.conftest import make_settings
from tests.test_partner_feed import FEED_TABLE, SOURCE_COLUMNS, contract, window, work

LOGICAL = date(2026, 11, 24)
CATALOG = [
    work(window("JP", date(2026, 1, 1), None), kansei_tags=[{"tag_id": "mood.calm", "score": 0.7}]),
    work(window("JP", date(2026, 1, 1), None), work_id="w_0123456789abcdef0124", isrc="JPZZ02600002", title_ja="朝"),
]


@pytest.fixture
def con():
    with duckdb.connect() as con:
        ensure_schema(con)
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute(FEED_TABLE.replace("feed_works", "marts.partner_feed_works"))
        con.executemany(
            f"INSERT INTO marts.partner_feed_works ({', '.join(SOURCE_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in SOURCE_COLUMNS)})",
            [[w.get(c) for c in SOURCE_COLUMNS] for w in CATALOG],
        )
        yield con


def test_formats_named_by_the_contract_are_delivered_with_the_schema_then_the_manifest(con, tmp_path):
    settings = make_settings(tmp_path, tmp_path)
    target = LocalTarget(tmp_path / "out")
    plain = deliver_partner(con, settings, contract(territories=["JP"]), LOGICAL, target, set())
    wide = contract(partner_id="wide-stream", territories=["JP"], formats=["jsonl", "csv", "parquet"])
    delivery = deliver_partner(con, settings, wide, LOGICAL, target, set())
    assert (plain.status, plain.rows, delivery.status, delivery.rows) == ("delivered", 2, "delivered", 2)
    folder = tmp_path / "out" / "wide-stream" / "works" / "2026-11-24"
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json", "works.csv", "works.jsonl", "works.parquet", "works.schema.json",
    ]  # fmt: skip
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert [(f["name"], f["rows"]) for f in manifest["files"]] == [
        ("works.jsonl", 2), ("works.csv", 2), ("works.parquet", 2), ("works.schema.json", 0),
    ]  # fmt: skip
    assert manifest["row_count"] == 2
    plain_folder = tmp_path / "out" / "east-stream" / "works" / "2026-11-24"
    assert sorted(p.name for p in plain_folder.iterdir()) == ["manifest.json", "works.jsonl"]
    assert (folder / "works.jsonl").read_bytes() == (plain_folder / "works.jsonl").read_bytes()
    first = json.loads((folder / "works.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["kansei_tags"] == [{"tag_id": "mood.calm", "label_en": "Calm", "label_ja": "穏やか", "score": 0.7}]


def test_a_leftover_file_is_kept_when_identical_and_refused_when_not(tmp_path):
    target = LocalTarget(tmp_path)
    target.put_new("p/works.csv", b"a,b\r\n")
    with _delivery_files(target, "p")("works.csv") as fh:
        fh.write(b"a,b\r\n")
    with pytest.raises(DeliveryConflict, match="works.csv exists with other content"):
        with _delivery_files(target, "p")("works.csv") as fh:
            fh.write(b"a,c\r\n")
    assert target.read("p/works.csv") == b"a,b\r\n"
