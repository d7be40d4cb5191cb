"""A contract's `formats` select the delivery's files; without them the works feed is works.jsonl, as always."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import jsonschema
import pytest

from pipelines.ads.feed import AD_MATCH_FEED_COLUMNS
from pipelines.export import DeliveryConflict, _delivery_files, deliver_partner
from pipelines.export.feed_schema import AD_MATCHES, WORKS
from pipelines.export.formats import read_csv_rows
from pipelines.export.targets import LocalTarget
from pipelines.partner_feed import WORKS_FEED_COLUMNS
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


def test_feed_schemas_list_the_columns_the_feeds_deliver():
    assert WORKS.names == WORKS_FEED_COLUMNS
    assert AD_MATCHES.names == AD_MATCH_FEED_COLUMNS


def test_an_ad_platform_gets_its_formats_too(con, tmp_path):
    con.executemany(
        "INSERT INTO similarity.ad_matches VALUES (?, ?, 'adv-1', 'cmp-1', ?, ?, ?, ?, ?, 'safe', ?, 'ads@1', ?)",
        [
            ("a_1", "c_2", 1, 0.8125, ["scene.summer", "scene.seaside"], "IAB-653", "Beach", "夏の海辺", LOGICAL),
            ("a_1", "c_1", 2, 0.5, [], None, None, "text only", LOGICAL),
            ("a_2", "c_1", 1, 0.4, ["mood.calm"], None, None, "old night", date(2026, 11, 23)),
        ],
    )
    settings = make_settings(tmp_path, tmp_path)
    target = LocalTarget(tmp_path / "out")
    ads = dict(territories=["JP"], feed="ad_matches", work_kinds=[], required_fields=[])
    plain = deliver_partner(con, settings, contract(partner_id="plain-ads", **ads), LOGICAL, target, set())
    wide = deliver_partner(con, settings, contract(partner_id="wide-ads", formats=["csv", "jsonl"], **ads), LOGICAL, target, set())
    assert (plain.rows, wide.rows) == (2, 2)
    folder = tmp_path / "out" / "wide-ads" / "ad_matches" / "2026-11-24"
    assert sorted(p.name for p in folder.iterdir()) == [
        "ad_matches.csv", "ad_matches.jsonl", "ad_matches.schema.json", "manifest.json",
    ]  # fmt: skip
    body = (folder / "ad_matches.jsonl").read_bytes()
    assert body == (tmp_path / "out" / "plain-ads" / "ad_matches" / "2026-11-24" / "ad_matches.jsonl").read_bytes()
    rows = [json.loads(line) for line in body.decode("utf-8").splitlines()]
    assert [(r["article_id"], r["creative_id"], r["rank"]) for r in rows] == [("a_1", "c_2", 1), ("a_1", "c_1", 2)]
    validator = jsonschema.Draft202012Validator(AD_MATCHES.json_schema())
    assert all(not list(validator.iter_errors(row)) for row in rows)
    assert read_csv_rows((folder / "ad_matches.csv").read_bytes(), AD_MATCHES) == rows
