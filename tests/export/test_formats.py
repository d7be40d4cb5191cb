"""Delivery formats: JSON Lines, CSV and Parquet carry the same rows, byte for byte the same every night, and each
feed's JSON Schema accepts what is delivered and refuses what is not."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import duckdb
import jsonschema
import pytest

from pipelines.export import _jsonl_line, labelled_row
from pipelines.export.feed_schema import AD_MATCHES, FEED_SCHEMAS, KANSEI_TAG, MEAD, MOOD_STATIONS, WORKS
from pipelines.export.formats import folder, read_csv_rows, write_feed
from pipelines.partner_feed import partner_feed
from tests.test_partner_feed import FEED_TABLE, SOURCE_COLUMNS, contract, window, work

ON = date(2026, 11, 25)
LABELS = {"mood.calm": ("Calm", "穏やか"), "scene.rain": ("Rain", "雨")}
WORKS_IN = [
    work(
        window("JP", date(2026, 11, 1), None), window("KR", date(2026, 10, 1), date(2027, 3, 31)),
        work_id="w_00000000000000000001", title="Ame, \"Kaze\"", title_ja="雨と風\n二行目", display_artist="Sora & Umi",
        genres=["J-Pop", "Ballad"], duration_seconds=241, release_date=date(2026, 11, 20),
        kansei_tags=[{"tag_id": "scene.rain", "score": 0.8125}, {"tag_id": "mood.calm", "score": 0.5}],
        similar_works=[{"work_id": "w_00000000000000000002", "rank": 1, "score": 0.75}],
    ),
    work(
        window("JP", date(2026, 1, 1), date(2026, 12, 31)),
        work_id="w_00000000000000000002", title="Asa", title_ja=None, isrc="JPZZ02600002",
    ),
]  # fmt: skip


def feed_batches():
    """The works feed of the fixture catalog, cut by the partner feed's SQL and labelled as the export does."""
    con = duckdb.connect()
    con.execute(FEED_TABLE)
    con.executemany(
        f"INSERT INTO feed_works ({', '.join(SOURCE_COLUMNS)}) VALUES ({', '.join('?' for _ in SOURCE_COLUMNS)})",
        [[w.get(c) for c in SOURCE_COLUMNS] for w in WORKS_IN],
    )
    feed = partner_feed(con, contract(required_fields=["work_id", "title"]), ON, source="feed_works")
    for batch in feed.batches(con, 1):
        yield [labelled_row(row, LABELS) for row in batch]
    con.close()


@pytest.fixture
def delivered(tmp_path):
    specs = write_feed(feed_batches(), WORKS, ["jsonl", "csv", "parquet"], folder(tmp_path / "one"))
    return tmp_path / "one", specs


def jsonl_rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_each_format_and_the_schema_file_are_listed_with_rows_and_hashes(delivered):
    out, specs = delivered
    assert [(s.name, s.rows) for s in specs] == [
        ("works.jsonl", 2), ("works.csv", 2), ("works.parquet", 2), ("works.schema.json", 0),
    ]  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == ["works.csv", "works.jsonl", "works.parquet", "works.schema.json"]
    for spec in specs:
        data = (out / spec.name).read_bytes()
        assert spec.bytes == len(data)
        assert spec.sha256 == hashlib.sha256(data).hexdigest()


def test_every_writer_gives_identical_bytes_on_rerun(delivered, tmp_path):
    out, specs = delivered
    again = write_feed(feed_batches(), WORKS, ["jsonl", "csv", "parquet"], folder(tmp_path / "two"))
    assert again == specs
    for spec in specs:
        assert (tmp_path / "two" / spec.name).read_bytes() == (out / spec.name).read_bytes()


def test_jsonl_is_the_works_feed_as_delivered_until_now(delivered):
    out, _ = delivered
    raw = [row for batch in _raw_batches() for row in batch]
    assert (out / "works.jsonl").read_text(encoding="utf-8") == "".join(_jsonl_line(row, LABELS) for row in raw)
    first = jsonl_rows(out / "works.jsonl")[0]
    assert first["title_ja"] == "雨と風\n二行目"
    assert first["release_date"] == "2026-11-20"
    assert first["licence_windows"] == [
        {"territory": "JP", "commercial_model": "SubscriptionModel", "use_type": "Stream", "start": "2026-11-01", "end": None},
        {"territory": "KR", "commercial_model": "SubscriptionModel", "use_type": "Stream", "start": "2026-10-01", "end": "2027-03-31"},
    ]  # fmt: skip
    assert first["kansei_tags"][0] == {"tag_id": "scene.rain", "label_en": "Rain", "label_ja": "雨", "score": 0.8125}


def _raw_batches():
    con = duckdb.connect()
    con.execute(FEED_TABLE)
    con.executemany(
        f"INSERT INTO feed_works ({', '.join(SOURCE_COLUMNS)}) VALUES ({', '.join('?' for _ in SOURCE_COLUMNS)})",
        [[w.get(c) for c in SOURCE_COLUMNS] for w in WORKS_IN],
    )
    yield from partner_feed(con, contract(required_fields=["work_id", "title"]), ON, source="feed_works").batches(con, 1)
    con.close()


def test_csv_is_rfc4180_with_a_header_and_nested_fields_as_json(delivered):
    out, _ = delivered
    text = (out / "works.csv").read_bytes().decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0] == ",".join(WORKS.names)
    assert lines[1].startswith('w_00000000000000000001,recording,"Ame, ""Kaze""","雨と風\n二行目",,,Sora & Umi,')
    assert '"[""J-Pop"",""Ballad""]"' in lines[1]
    assert ',241,2026-11-20,JPZZ02600001,,,,,"[""JP"",""KR""]",' in lines[1]
    assert text.endswith("\r\n")
    assert not text.startswith("\ufeff")


def test_csv_and_parquet_read_back_to_the_jsonl_rows(delivered):
    out, _ = delivered
    expected = jsonl_rows(out / "works.jsonl")
    assert read_csv_rows((out / "works.csv").read_bytes(), WORKS) == expected
    with duckdb.connect() as con:
        cursor = con.execute("SELECT * FROM read_parquet(?)", [str(out / "works.parquet")])
        names = [d[0] for d in cursor.description]
        parquet = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
        types = dict(con.execute("SELECT name, type FROM parquet_schema(?)", [str(out / "works.parquet")]).fetchall())
    assert names == WORKS.names
    assert parquet[0]["release_date"] == date(2026, 11, 20)
    assert types["duration_seconds"] == "INT64"
    # Parquet has every field of a tag; one a row leaves out (optional, see KANSEI_TAG) reads back null
    blank = {field.name: None for field in KANSEI_TAG.fields}
    expected = [row | {"kansei_tags": [blank | tag for tag in row["kansei_tags"]]} for row in expected]
    assert json.loads(json.dumps(parquet, ensure_ascii=False, default=str)) == expected
    assert parquet[0]["kansei_tags"][0]["evidence"] is None


def test_the_schema_file_is_draft_2020_12_and_validates_every_row(delivered):
    out, _ = delivered
    schema = json.loads((out / "works.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for row in jsonl_rows(out / "works.jsonl"):
        assert list(validator.iter_errors(row)) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"work_id": None}, "None is not of type 'string'"),
        ({"duration_seconds": "241"}, "'241' is not of type 'integer', 'null'"),
        ({"release_date": "20/11/2026"}, "'20/11/2026' does not match"),
        ({"kansei_tags": [{"tag_id": "mood.calm", "score": 0.5}]}, "'label_en' is a required property"),
        ({"licence": "all"}, "Additional properties are not allowed ('licence' was unexpected)"),
    ],
)
def test_the_schema_rejects_a_bad_row(delivered, change, message):
    out, _ = delivered
    row = jsonl_rows(out / "works.jsonl")[0] | change
    validator = jsonschema.Draft202012Validator(WORKS.json_schema())
    errors = [e.message for e in validator.iter_errors(row)]
    assert errors and message in errors[0]


def test_a_tag_may_carry_the_weight_and_evidence_the_new_tagger_adds(delivered):
    out, _ = delivered
    row = jsonl_rows(out / "works.jsonl")[0]
    tag = {"tag_id": "scene.rain", "label_en": "Rain", "label_ja": "雨", "score": 0.81, "tag_type": "scene",
           "weight": 81.0, "is_primary": True, "evidence": "雨の夜"}  # fmt: skip
    validator = jsonschema.Draft202012Validator(WORKS.json_schema())
    assert list(validator.iter_errors(row | {"kansei_tags": [tag]})) == []
    errors = [e.message for e in validator.iter_errors(row | {"kansei_tags": [tag | {"signals": {}}]})]
    assert errors == ["Additional properties are not allowed ('signals' was unexpected)"]


@pytest.mark.parametrize("schema", FEED_SCHEMAS.values(), ids=FEED_SCHEMAS.keys())
def test_each_feed_has_a_valid_schema_named_after_it(schema):
    name, body = schema.schema_file()
    assert name == f"{schema.feed}.schema.json"
    document = json.loads(body)
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["required"] == schema.names
    assert body == schema.schema_file()[1]


def test_the_ad_matches_schema_takes_an_ad_matches_row():
    row = {
        "article_id": "a_1", "article_url": "https://news.example/1", "publisher_id": "pub", "creative_id": "c_9",
        "advertiser_id": "adv", "campaign_id": "cmp", "rank": 1, "score": 0.61, "matched_tags": ["scene.summer"],
        "iab_category": "IAB-1", "iab_category_name": "Travel", "brand_safety_level": "safe", "explanation": "summer",
    }  # fmt: skip
    assert list(jsonschema.Draft202012Validator(AD_MATCHES.json_schema()).iter_errors(row)) == []
    assert list(MOOD_STATIONS.names)[:5] == ["tag_id", "facet", "label_en", "label_ja", "rank"]
    assert MEAD.names[-2:] == ["moods", "themes"]


def test_an_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown feed format 'xlsx'"):
        write_feed(iter([]), WORKS, ["xlsx"], folder(tmp_path))


def test_an_empty_feed_still_has_a_header_and_an_empty_parquet(tmp_path):
    specs = write_feed(iter([]), MOOD_STATIONS, ["csv", "parquet"], folder(tmp_path))
    assert [(s.name, s.rows) for s in specs][:2] == [("mood_stations.csv", 0), ("mood_stations.parquet", 0)]
    assert (tmp_path / "mood_stations.csv").read_bytes() == (",".join(MOOD_STATIONS.names) + "\r\n").encode()
    with duckdb.connect() as con:
        assert con.execute("SELECT count(*) FROM read_parquet(?)", [str(tmp_path / "mood_stations.parquet")]).fetchone() == (0,)
