"""A contract's `formats` select the delivery's files; without them the works feed is works.jsonl, as always."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import jsonschema
import pytest

from pipelines.ads.feed import AD_MATCH_FEED_COLUMNS
from pipelines.export import (
    DeliveryConflict,
    ExportSummary,
    _deliver_and_record,
    _delivery_files,
    deliver_partner,
)
from pipelines.export.feed_schema import AD_MATCHES, AD_MATCHES_OPS, WORKS, WORKS_OPS
from pipelines.export.formats import read_csv_rows
from pipelines.export.targets import LocalTarget
from pipelines.partner_feed import WORKS_FEED_COLUMNS
from pipelines.warehouse import ensure_schema
from tests.conftest import make_settings
from tests.test_partner_feed import FEED_TABLE, SOURCE_COLUMNS, contract, window, work

LOGICAL, NEXT = date(2026, 11, 24), date(2026, 11, 25)
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


def load(con, catalog: list[dict]) -> None:
    con.execute("DELETE FROM marts.partner_feed_works")
    con.executemany(
        f"INSERT INTO marts.partner_feed_works ({', '.join(SOURCE_COLUMNS)}) VALUES ({', '.join('?' for _ in SOURCE_COLUMNS)})",
        [[w.get(c) for c in SOURCE_COLUMNS] for w in catalog],
    )


def night(con, settings, target, partner, logical_date):
    """One night's delivery of `partner`, recorded in the ledger (so that the next night is a delta)."""
    return _deliver_and_record(
        con, ExportSummary(), target, partner, logical_date, "run", partner.feed,
        lambda: deliver_partner(con, settings, partner, logical_date, target, set()),
    )


def parquet_rows(path) -> list[dict]:
    with duckdb.connect() as con:
        cursor = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


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
    # the same lines, each with its op (a first delivery: add), following works.schema.json
    assert (folder / "works.jsonl").read_bytes() == (plain_folder / "works.jsonl").read_bytes()
    rows = [json.loads(line) for line in (folder / "works.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["op"], r["work_id"]) for r in rows] == [("add", "w_0123456789abcdef0123"), ("add", "w_0123456789abcdef0124")]
    assert rows[0]["kansei_tags"] == [{"tag_id": "mood.calm", "label_en": "Calm", "label_ja": "穏やか", "score": 0.7}]
    validator = jsonschema.Draft202012Validator(json.loads((folder / "works.schema.json").read_bytes()))
    assert all(not list(validator.iter_errors(row)) for row in rows)


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


def test_csv_and_parquet_deltas_carry_each_rows_op_like_json_lines(con, tmp_path):
    settings = make_settings(tmp_path, tmp_path)
    target = LocalTarget(tmp_path / "out")
    wide = contract(partner_id="wide-stream", territories=["JP"], formats=["csv", "parquet"], max_drop_share=0.6)
    first = night(con, settings, target, wide, LOGICAL)
    # the next night: the first work retitled (update), the second taken down (delete), a new release (add)
    load(con, [CATALOG[0] | {"title": "Kaze no Michi (2026 Remaster)"},
               work(window("JP", date(2026, 1, 1), None), work_id="w_0123456789abcdef0125", isrc="JPZZ02600003")])  # fmt: skip
    second = night(con, settings, target, wide, NEXT)
    assert [(d.delivery_type, d.sequence, d.ops) for d in (first, second)] == [
        ("full", 1, {"add": 2, "update": 0, "delete": 0}), ("delta", 2, {"add": 1, "update": 1, "delete": 1}),
    ]  # fmt: skip
    folder = tmp_path / "out" / "wide-stream" / "works" / "2026-11-25"
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "works.csv", "works.parquet", "works.schema.json"]
    csv_body = (folder / "works.csv").read_bytes().decode("utf-8")
    assert csv_body.split("\r\n")[0].startswith("op,work_id,kind,title,")
    # a delete is its op and work id, every other cell empty
    assert csv_body.split("\r\n")[2] == "delete,w_0123456789abcdef0124" + "," * (len(WORKS.names) - 1)
    rows = read_csv_rows(csv_body.encode("utf-8"), WORKS_OPS)
    assert [(r["op"], r["work_id"], r.get("title")) for r in rows] == [
        ("update", "w_0123456789abcdef0123", "Kaze no Michi (2026 Remaster)"),
        ("delete", "w_0123456789abcdef0124", None),
        ("add", "w_0123456789abcdef0125", "Kaze no Michi"),
    ]  # fmt: skip
    assert rows[1] == {"op": "delete", "work_id": "w_0123456789abcdef0124"}
    parquet = parquet_rows(folder / "works.parquet")
    assert [(r["op"], r["work_id"], r["kind"], r["territories"]) for r in parquet] == [
        ("update", "w_0123456789abcdef0123", "recording", ["JP"]),
        ("delete", "w_0123456789abcdef0124", None, None),
        ("add", "w_0123456789abcdef0125", "recording", ["JP"]),
    ]  # fmt: skip
    schema = json.loads((folder / "works.schema.json").read_bytes())
    assert (schema["properties"]["op"]["enum"], schema["required"]) == (["add", "update", "delete"], ["op", "work_id"])
    validator = jsonschema.Draft202012Validator(schema)
    assert all(not list(validator.iter_errors(row)) for row in rows)
    # a delete carrying more than its key, or an add without its row, breaks the schema
    assert list(validator.iter_errors({"op": "delete", "work_id": "w_0123456789abcdef0124", "title": "x"}))
    assert list(validator.iter_errors({"op": "add", "work_id": "w_0123456789abcdef0125"}))
    manifest = json.loads((folder / "manifest.json").read_bytes())
    assert (manifest["schema_version"], manifest["ops"], manifest["row_count"]) == ("2.0", {"add": 1, "update": 1, "delete": 1}, 3)


def test_an_ad_platform_gets_its_formats_and_deltas_keyed_by_article_and_creative(con, tmp_path):
    insert = "INSERT INTO similarity.ad_matches VALUES (?, ?, 'adv-1', 'cmp-1', ?, ?, ?, ?, ?, 'safe', ?, 'ads@1', ?)"
    con.executemany(
        insert,
        [
            ("a_1", "c_2", 1, 0.8125, ["scene.summer", "scene.seaside"], "IAB-653", "Beach", "夏の海辺", LOGICAL),
            ("a_1", "c_1", 2, 0.5, [], None, None, "text only", LOGICAL),
            ("a_2", "c_1", 1, 0.4, ["mood.calm"], None, None, "old night", date(2026, 11, 23)),
        ],
    )
    settings = make_settings(tmp_path, tmp_path)
    target = LocalTarget(tmp_path / "out")
    ads = dict(territories=["JP"], feed="ad_matches", work_kinds=[], required_fields=[])
    plain = night(con, settings, target, contract(partner_id="plain-ads", **ads), LOGICAL)
    wide_ads = contract(partner_id="wide-ads", formats=["csv", "jsonl"], **ads)
    wide = night(con, settings, target, wide_ads, LOGICAL)
    assert [(d.rows, d.delivery_type, d.sequence) for d in (plain, wide)] == [(2, "full", 1), (2, "full", 1)]
    folder = tmp_path / "out" / "wide-ads" / "ad_matches" / "2026-11-24"
    assert sorted(p.name for p in folder.iterdir()) == [
        "ad_matches.csv", "ad_matches.jsonl", "ad_matches.schema.json", "manifest.json",
    ]  # fmt: skip
    body = (folder / "ad_matches.jsonl").read_bytes()
    assert body == (tmp_path / "out" / "plain-ads" / "ad_matches" / "2026-11-24" / "ad_matches.jsonl").read_bytes()
    rows = [json.loads(line) for line in body.decode("utf-8").splitlines()]
    assert [(r["op"], r["article_id"], r["creative_id"], r["rank"]) for r in rows] == [("add", "a_1", "c_1", 2), ("add", "a_1", "c_2", 1)]
    validator = jsonschema.Draft202012Validator(AD_MATCHES_OPS.json_schema())
    assert all(not list(validator.iter_errors(row)) for row in rows)
    assert read_csv_rows((folder / "ad_matches.csv").read_bytes(), AD_MATCHES_OPS) == rows

    # the next night: a_1 × c_2 rescored (update), a_1 × c_1 gone (delete), a_2 × c_3 new (add)
    con.executemany(
        insert,
        [
            ("a_1", "c_2", 1, 0.875, ["scene.summer"], "IAB-653", "Beach", "夏の海辺", NEXT),
            ("a_2", "c_3", 1, 0.6, ["mood.calm"], None, None, "穏やかな朝", NEXT),
        ],
    )
    delta = night(con, settings, target, wide_ads, NEXT)
    assert (delta.delivery_type, delta.sequence, delta.ops) == ("delta", 2, {"add": 1, "update": 1, "delete": 1})
    folder = tmp_path / "out" / "wide-ads" / "ad_matches" / "2026-11-25"
    rows = [json.loads(line) for line in (folder / "ad_matches.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["op"], r["article_id"], r["creative_id"], r.get("score")) for r in rows] == [
        ("delete", "a_1", "c_1", None), ("update", "a_1", "c_2", 0.875), ("add", "a_2", "c_3", 0.6),
    ]  # fmt: skip
    assert rows[0] == {"op": "delete", "article_id": "a_1", "creative_id": "c_1"}
    assert read_csv_rows((folder / "ad_matches.csv").read_bytes(), AD_MATCHES_OPS) == rows
    assert all(not list(validator.iter_errors(row)) for row in rows)
    state = con.execute(
        "SELECT work_id, sequence FROM exports.delivered_state WHERE partner_id = 'wide-ads' ORDER BY work_id"
    ).fetchall()
    assert state == [('["a_1","c_2"]', 2), ('["a_2","c_3"]', 2)]
