"""Deltas, publication, ledger, audit and circuit breaker of a works feed, night after night.

Each test builds a warehouse whose `marts.partner_feed_works` is a table of the model's shape, holding the
catalog of one night, then runs the real export (`run_export`) against a folder or a real S3 endpoint (moto's
ThreadedMotoServer on 127.0.0.1). Delivery date = logical date + 1; bounds inclusive.
"""

from __future__ import annotations

import json
import stat
from datetime import date
from pathlib import Path

import boto3
import duckdb
import pytest
import yaml

from pipelines.export import ACK_FILE, diff_partner, run_export
from pipelines.export.targets import S3Target
from pipelines.warehouse import writer
from tests.conftest import make_settings

NIGHT_1, NIGHT_2, NIGHT_3 = date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)
A, B, C, D, E, F = (f"w_{n:020x}" for n in range(0xA, 0x10))

WINDOW = (
    "STRUCT(territory VARCHAR, commercial_model VARCHAR, use_type VARCHAR, window_start DATE, window_end DATE, "
    "is_known_territory BOOLEAN, excluded_territories VARCHAR[], licence_window_id VARCHAR)"
)
FEED_TABLE = f"""
    CREATE OR REPLACE TABLE marts.partner_feed_works (
        work_id VARCHAR, kind VARCHAR, rights_holder_id VARCHAR, isrc VARCHAR, icpn VARCHAR, grid VARCHAR,
        provider_asset_id VARCHAR, title VARCHAR, title_ja VARCHAR, title_en VARCHAR, title_latn VARCHAR,
        display_artist VARCHAR, genres VARCHAR[], summary VARCHAR, duration_seconds INTEGER, release_date DATE,
        licence_windows {WINDOW}[], kansei_tags STRUCT(tag_id VARCHAR, score DOUBLE)[],
        similar_works STRUCT(work_id VARCHAR, rank INTEGER, score DOUBLE)[]
    )
"""


def window(work_id: str, territory: str, start: date, end: date | None, excluded=()) -> dict:
    return {
        "territory": territory, "commercial_model": "SubscriptionModel", "use_type": "Stream", "window_start": start,
        "window_end": end, "is_known_territory": True, "excluded_territories": list(excluded),
        "licence_window_id": f"lw_{work_id[-2:]}_{territory}",
    }  # fmt: skip


def work(work_id: str, title: str, *windows: dict) -> dict:
    return {
        "work_id": work_id, "kind": "recording", "title": title, "title_ja": title, "isrc": f"JPZZ0260{int(work_id[-2:], 16):04d}",
        "licence_windows": list(windows), "kansei_tags": [], "similar_works": [],
    }  # fmt: skip


# the catalog each night (what marts.partner_feed_works holds after that night's build)
OPEN = date(2026, 1, 1)
CATALOG_1 = [
    work(A, "Kaze no Michi", window(A, "JP", OPEN, None)),
    work(B, "Tsuki no Oto", window(B, "JP", OPEN, date(2026, 11, 26))),  # last day in force: delivery of night 2
    work(D, "Hoshi", window(D, "Worldwide", OPEN, None, excluded=["US"])),
    work(E, "Yuki", window(E, "JP", OPEN, None)),
    work(F, "Nami", window(F, "KR", OPEN, None)),  # never this partner's: KR only
]
CATALOG_2 = [*CATALOG_1[:2], work(C, "Sakura", window(C, "JP", date(2026, 11, 26), None)), work(D, "Hoshi no Uta", window(D, "Worldwide", OPEN, None, excluded=["US"])), *CATALOG_1[3:]]
CATALOG_3 = [w for w in CATALOG_2 if w["work_id"] != E]  # E taken down: no active window left

COLUMNS = ["work_id", "kind", "title", "title_ja", "isrc", "licence_windows", "kansei_tags", "similar_works"]


def load_catalog(settings, works: list[dict]) -> None:
    with writer(settings.warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute(FEED_TABLE)
        if not works:
            return
        con.executemany(
            f"INSERT INTO marts.partner_feed_works ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})",
            [[w[c] for c in COLUMNS] for w in works],
        )


def contract(**overrides) -> dict:
    return {
        "partner_id": "east-stream", "name": "East Stream", "kind": "music_service", "feed": "works",
        "work_kinds": ["recording"], "territories": ["JP"], "commercial_models": ["SubscriptionModel"],
        "use_types": ["Stream"], "required_fields": ["work_id", "title"],
    } | overrides  # fmt: skip


@pytest.fixture
def east(tmp_path):
    """Settings for one partner, East Stream (JP), delivering into a folder; `max_drop_share` 0.5."""
    partners = tmp_path / "partners"
    partners.mkdir()
    (partners / "east-stream.yaml").write_text(yaml.safe_dump(contract(max_drop_share=0.5)))
    return make_settings(tmp_path, tmp_path / "landing", partners=partners)


def lines(settings, logical_date: date) -> list[dict]:
    body = Path(settings.deliver, f"east-stream/works/{logical_date}/works.jsonl").read_text("utf-8")
    return [json.loads(line) for line in body.splitlines()]


def manifest(settings, logical_date: date) -> dict:
    return json.loads(Path(settings.deliver, f"east-stream/works/{logical_date}/manifest.json").read_text("utf-8"))


def ledger(settings) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(
            "SELECT logical_date, status, delivery_type, sequence, cursor_from, cursor_to, row_count, ops::VARCHAR "
            "FROM exports.delivery_ledger ORDER BY delivered_at, logical_date"
        ).fetchall()


def test_three_nights_carry_exactly_the_adds_updates_and_deletes(east):
    load_catalog(east, CATALOG_1)
    first = run_export(east, NIGHT_1)
    assert [(d.status, d.delivery_type, d.sequence, d.ops) for d in first.deliveries] == [
        ("delivered", "full", 1, {"add": 4, "update": 0, "delete": 0})
    ]
    assert [(r["op"], r["work_id"], r["title"]) for r in lines(east, NIGHT_1)] == [
        ("add", A, "Kaze no Michi"), ("add", B, "Tsuki no Oto"), ("add", D, "Hoshi"), ("add", E, "Yuki"),
    ]  # fmt: skip

    load_catalog(east, CATALOG_2)  # a new release (C, in force from 11-26) and a new title for D
    with writer(east.warehouse) as con:
        plan, ops = diff_partner(con, east, "east-stream", NIGHT_2)
    assert ops == [(C, "add"), (D, "update")]
    assert not Path(east.deliver, f"east-stream/works/{NIGHT_2}").exists()  # diff publishes nothing
    run_export(east, NIGHT_2)
    assert [(r["op"], r["work_id"], r["title"]) for r in lines(east, NIGHT_2)] == [("add", C, "Sakura"), ("update", D, "Hoshi no Uta")]

    load_catalog(east, CATALOG_3)  # B's window ended on 11-26; E taken down
    run_export(east, NIGHT_3)
    assert lines(east, NIGHT_3) == [{"op": "delete", "work_id": B}, {"op": "delete", "work_id": E}]

    assert {k: manifest(east, NIGHT_3)[k] for k in ("delivery_type", "sequence", "cursor", "ops", "row_count", "partner_rows")} == {
        "delivery_type": "delta", "sequence": 3, "cursor": {"from": "2026-11-25", "to": "2026-11-26"},
        "ops": {"add": 0, "update": 0, "delete": 2}, "row_count": 2, "partner_rows": 3,
    }  # fmt: skip
    assert ledger(east) == [
        (NIGHT_1, "delivered", "full", 1, None, NIGHT_1, 4, '{"add": 4, "update": 0, "delete": 0}'),
        (NIGHT_2, "delivered", "delta", 2, NIGHT_1, NIGHT_2, 2, '{"add": 1, "update": 1, "delete": 0}'),
        (NIGHT_3, "delivered", "delta", 3, NIGHT_2, NIGHT_3, 2, '{"add": 0, "update": 0, "delete": 2}'),
    ]
    with duckdb.connect(str(east.warehouse), read_only=True) as con:
        audit = con.execute(
            "SELECT logical_date, sequence, work_id, op, licence_window_id, territory, window_start, window_end "
            "FROM exports.rights_audit ORDER BY sequence, work_id"
        ).fetchall()
        state = con.execute("SELECT work_id, sequence FROM exports.delivered_state ORDER BY work_id").fetchall()
    assert audit == [
        (NIGHT_1, 1, A, "add", "lw_0a_JP", "JP", OPEN, None),
        (NIGHT_1, 1, B, "add", "lw_0b_JP", "JP", OPEN, date(2026, 11, 26)),
        (NIGHT_1, 1, D, "add", "lw_0d_Worldwide", "JP", OPEN, None),  # the Worldwide window, in JP
        (NIGHT_1, 1, E, "add", "lw_0e_JP", "JP", OPEN, None),
        (NIGHT_2, 2, C, "add", "lw_0c_JP", "JP", date(2026, 11, 26), None),
        (NIGHT_2, 2, D, "update", "lw_0d_Worldwide", "JP", OPEN, None),
    ]
    assert state == [(A, 1), (C, 2), (D, 2)]

    # a forced resync: a full snapshot of what the partner holds, sequence 4
    resync = run_export(east, date(2026, 11, 27), full=True)
    assert [(d.delivery_type, d.sequence, d.ops) for d in resync.deliveries] == [("full", 4, {"add": 3, "update": 0, "delete": 0})]


def test_a_contract_naming_its_licensed_fields_receives_only_those(tmp_path):
    partners = tmp_path / "partners"
    partners.mkdir()
    (partners / "east-stream.yaml").write_text(yaml.safe_dump(contract(fields=["title", "territories"])))
    settings = make_settings(tmp_path, tmp_path / "landing", partners=partners)
    load_catalog(settings, CATALOG_1[:1])
    run_export(settings, NIGHT_1)
    assert lines(settings, NIGHT_1) == [{"op": "add", "work_id": A, "title": "Kaze no Michi", "territories": ["JP"]}]


def test_files_are_readable_by_the_partner_and_a_rerun_is_byte_identical(east, tmp_path):
    load_catalog(east, CATALOG_1)
    twin = east.model_copy(update={"warehouse": tmp_path / "twin" / "msdb.duckdb", "deliver": str(tmp_path / "twin-deliveries")})
    load_catalog(twin, CATALOG_1)
    run_export(east, NIGHT_1, run_id="one")
    run_export(twin, NIGHT_1, run_id="two")
    folder = Path(east.deliver, "east-stream/works/2026-11-24")
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "works.jsonl"]
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        assert path.read_bytes() == (Path(twin.deliver) / "east-stream/works/2026-11-24" / path.name).read_bytes()
    again = run_export(east, NIGHT_1)
    assert [d.status for d in again.deliveries] == ["already_delivered"]


def test_a_large_drop_or_an_empty_feed_is_held_until_approved(tmp_path):
    partners = tmp_path / "partners"
    partners.mkdir()
    (partners / "east-stream.yaml").write_text(yaml.safe_dump(contract()))  # max_drop_share 0.2 (default)
    settings = make_settings(tmp_path, tmp_path / "landing", partners=partners)
    load_catalog(settings, [])
    empty = run_export(settings, NIGHT_1)
    assert [(d.status, d.reason) for d in empty.deliveries] == [("held", "would leave east-stream 0 rows (it holds 0): held until approved")]
    assert not Path(settings.deliver, "east-stream").exists()

    load_catalog(settings, CATALOG_1)
    run_export(settings, NIGHT_1)
    load_catalog(settings, CATALOG_1[:1])  # 3 of the 4 works gone
    held = run_export(settings, NIGHT_2)
    assert [(d.status, d.reason) for d in held.deliveries] == [
        ("held", "would drop 3 of 4 rows (75% > max_drop_share 20%): held until approved")
    ]
    assert not Path(settings.deliver, f"east-stream/works/{NIGHT_2}").exists()
    approved = run_export(settings, NIGHT_2, partners=["east-stream"], approve=True)
    assert [(d.status, d.sequence, d.ops) for d in approved.deliveries] == [("delivered", 2, {"add": 0, "update": 0, "delete": 3})]
    assert [r[:4] for r in ledger(settings)] == [
        (NIGHT_1, "held", "full", 1),
        (NIGHT_1, "delivered", "full", 1),
        (NIGHT_2, "held", "delta", 2),
        (NIGHT_2, "delivered", "delta", 2),
    ]


def test_an_acknowledgement_file_moves_the_delivery_to_acknowledged(east):
    load_catalog(east, CATALOG_1)
    run_export(east, NIGHT_1)
    folder = Path(east.deliver, "east-stream/works/2026-11-24")
    import hashlib

    sha = hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    (folder / ACK_FILE).write_text(json.dumps({"manifest_sha256": sha}))
    summary = run_export(east, NIGHT_2)
    assert summary.acknowledged == [("east-stream", "works", NIGHT_1)]
    assert [r[:2] for r in ledger(east)] == [(NIGHT_1, "acknowledged"), (NIGHT_2, "delivered")]
    # the acknowledged delivery is still the cursor's start
    assert manifest(east, NIGHT_2)["cursor"] == {"from": "2026-11-24", "to": "2026-11-25"}


@pytest.fixture
def s3_east(east, moto_s3):
    client = boto3.client("s3", endpoint_url=moto_s3, region_name="ap-northeast-1")
    bucket = f"east-feeds-{abs(hash(str(east.warehouse))) % 10**8}"
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    return east.model_copy(update={"deliver": f"s3://{bucket}/msdb", "s3_endpoint_url": moto_s3}), client, bucket


def test_a_crash_before_the_manifest_leaves_none_and_the_next_run_completes(s3_east, monkeypatch):
    settings, client, bucket = s3_east
    load_catalog(settings, CATALOG_1)
    put_new = S3Target.put_new

    def crash_on_manifest(self, key, body):
        if key.endswith("manifest.json"):
            raise ConnectionError("the run died here")
        put_new(self, key, body)

    monkeypatch.setattr(S3Target, "put_new", crash_on_manifest)
    with pytest.raises(ConnectionError):
        run_export(settings, NIGHT_1)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["msdb/east-stream/works/2026-11-24/works.jsonl"]  # data, no manifest: not a delivery yet
    assert ledger(settings) == []
    monkeypatch.setattr(S3Target, "put_new", put_new)
    summary = run_export(settings, NIGHT_1)
    assert [(d.status, d.sequence, d.rows) for d in summary.deliveries] == [("delivered", 1, 4)]
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["msdb/east-stream/works/2026-11-24/manifest.json", "msdb/east-stream/works/2026-11-24/works.jsonl"]
    published = json.loads(client.get_object(Bucket=bucket, Key=keys[0])["Body"].read())
    assert (published["sequence"], published["row_count"], published["files"][0]["rows"]) == (1, 4, 4)


def test_a_second_publish_of_the_same_date_is_refused_412_and_reported(s3_east, monkeypatch):
    settings, client, bucket = s3_east
    load_catalog(settings, CATALOG_1)
    put_new = S3Target.put_new
    other = b'{"published_by": "another run"}\n'

    def racing(self, key, body):
        if key.endswith("manifest.json"):  # another run publishes the same date first
            client.put_object(Bucket=bucket, Key=f"msdb/{key}", Body=other)
        put_new(self, key, body)

    monkeypatch.setattr(S3Target, "put_new", racing)
    summary = run_export(settings, NIGHT_1)
    assert [(d.status, d.reason) for d in summary.deliveries] == [
        ("conflict", f"s3://{bucket}/msdb/east-stream/works/2026-11-24/manifest.json was published meanwhile (412 Precondition Failed); not overwritten")
    ]
    key = "msdb/east-stream/works/2026-11-24/manifest.json"
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == other
    assert [r[1] for r in ledger(settings)] == ["conflict"]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM exports.delivered_state").fetchone() == (0,)  # nothing published by us


def test_the_command_line_diffs_holds_approves_and_refuses_a_bad_contract(east, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pipelines.cli import EXIT_FEED_BLOCKED, EXIT_USAGE, app

    (tmp_path / "landing").mkdir()
    for name, value in {"MSDB_PARTNERS": east.partners, "MSDB_WAREHOUSE": east.warehouse, "MSDB_DELIVER": east.deliver,
                        "MSDB_LANDING": tmp_path / "landing", "MSDB_VAR_DIR": east.var_dir, "COLUMNS": "200"}.items():  # fmt: skip
        monkeypatch.setenv(name, str(value))
    cli = CliRunner()
    load_catalog(east, CATALOG_1)
    first = cli.invoke(app, ["export", "--date", "2026-11-24"])
    assert first.exit_code == 0, first.output
    load_catalog(east, CATALOG_2)
    diff = cli.invoke(app, ["feeds", "diff", "--partner", "east-stream", "--date", "2026-11-25"])
    assert diff.exit_code == 0, diff.output
    assert diff.output.splitlines() == [
        f"add {C}",
        f"update {D}",
        "east-stream/works 2026-11-25: delta sequence 2 (cursor 2026-11-24 → 2026-11-25): 1 add, 1 update, 0 delete; "
        "the partner would hold 5 rows (holds 4)",
    ]
    load_catalog(east, [])
    held = cli.invoke(app, ["export", "--date", "2026-11-25"])
    assert held.exit_code == EXIT_FEED_BLOCKED == 3, held.output
    assert "held feed east-stream/works: would leave east-stream 0 rows (it holds 4): held until approved" in held.output
    assert cli.invoke(app, ["export", "--date", "2026-11-25", "--approve"]).exit_code == EXIT_USAGE
    approved = cli.invoke(app, ["export", "--date", "2026-11-25", "--partner", "east-stream", "--approve"])
    assert approved.exit_code == 0, approved.output
    assert lines(east, NIGHT_2) == [{"op": "delete", "work_id": w} for w in (A, B, D, E)]

    (east.partners / "east-stream.yaml").write_text(yaml.safe_dump(contract(territories=["JP", "XX"])))
    refused = cli.invoke(app, ["export", "--date", "2026-11-26"])
    assert refused.exit_code == EXIT_USAGE == 2
    assert f"{east.partners / 'east-stream.yaml'}: field 'territories': Value error, unknown territory XX" in refused.output


def test_a_crash_after_the_manifest_is_recorded_by_the_next_run_without_a_second_delivery(east, monkeypatch):
    import pipelines.export as export

    load_catalog(east, CATALOG_1)

    def crash(*args, **kwargs):
        raise ConnectionError("the run died after publishing")

    monkeypatch.setattr(export, "commit_state", crash)
    with pytest.raises(ConnectionError):
        run_export(east, NIGHT_1)
    assert ledger(east) == []  # the warehouse's transaction was rolled back; the partner has the delivery
    published = Path(east.deliver, "east-stream/works/2026-11-24/manifest.json").read_bytes()
    monkeypatch.undo()
    summary = run_export(east, NIGHT_1)
    assert [(d.status, d.sequence, d.reason) for d in summary.deliveries] == [
        ("delivered", 1, "published by an earlier attempt; recorded now")
    ]
    assert Path(east.deliver, "east-stream/works/2026-11-24/manifest.json").read_bytes() == published
    assert [r[:4] for r in ledger(east)] == [(NIGHT_1, "delivered", "full", 1)]
    load_catalog(east, CATALOG_2)
    assert [d.ops for d in run_export(east, NIGHT_2).deliveries] == [{"add": 1, "update": 1, "delete": 0}]


def _sha256s(folder: Path) -> dict[str, str]:
    import hashlib

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_a_past_date_run_again_after_a_later_one_is_verified_not_exported_again(east):
    load_catalog(east, CATALOG_1)
    run_export(east, NIGHT_1)
    night_1 = Path(east.deliver, f"east-stream/works/{NIGHT_1}")
    delivered = _sha256s(night_1)
    load_catalog(east, CATALOG_2)  # the catalog as of night 2: C added, D retitled
    run_export(east, NIGHT_2)

    again = run_export(east, NIGHT_1)  # the warehouse now holds night 2's catalog
    (delivery,) = again.deliveries
    assert (delivery.status, delivery.rows, delivery.sequence) == ("already_delivered", 4, None)
    assert delivery.reason.endswith("unchanged: the manifest and its 1 file(s) match their sha256")
    assert _sha256s(night_1) == delivered
    assert "Sakura" not in (night_1 / "works.jsonl").read_text("utf-8")
    assert [row[:2] for row in ledger(east)] == [
        (NIGHT_1, "delivered"), (NIGHT_2, "delivered"), (NIGHT_1, "already_delivered"),
    ]  # fmt: skip
    with duckdb.connect(str(east.warehouse), read_only=True) as con:  # the partner's state is still night 2's
        assert con.execute("SELECT work_id, sequence FROM exports.delivered_state ORDER BY work_id").fetchall() == [
            (A, 1), (B, 1), (C, 2), (D, 2), (E, 1),
        ]  # fmt: skip

    # a delivery altered since it was published is not rewritten: it is a conflict for a human
    (night_1 / "works.jsonl").write_bytes((night_1 / "works.jsonl").read_bytes().replace(b"Kaze", b"KAZE"))
    (tampered,) = run_export(east, NIGHT_1).deliveries
    assert tampered.status == "conflict"
    assert tampered.reason == f"{night_1 / 'works.jsonl'} is missing or differs from its manifest's sha256; not overwritten"


def test_a_date_never_delivered_before_a_later_delivery_is_refused(east):
    load_catalog(east, CATALOG_2)
    run_export(east, NIGHT_2)
    (refused,) = run_export(east, NIGHT_1).deliveries  # a backfill of an older date after a later night
    assert refused.status == "blocked"
    assert refused.reason == (
        "not exported: 2026-11-24 was never delivered and east-stream already holds the delivery of 2026-11-25; "
        "the warehouse holds a later night's catalog, which would be delivered under 2026-11-24's name"
    )
    assert not Path(east.deliver, f"east-stream/works/{NIGHT_1}").exists()
    assert [row[:4] for row in ledger(east)] == [(NIGHT_2, "delivered", "full", 1), (NIGHT_1, "blocked", None, None)]
