"""A music partner's mood-station and MEAD feeds, delivered beside its works feed (folder and moto S3)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import boto3
import duckdb
import pytest
import yaml
from lxml import etree

from pipelines.export import run_export
from tests.conftest import SAMPLE_DATE, SAMPLES

RADIO = "melody-radio"


@pytest.fixture
def radio_run(copy_run, tmp_path):
    """The sample run's copy with a fourth contract: the sample music partner's, plus mood_stations and mead."""
    partners = tmp_path / "partners"
    shutil.copytree(SAMPLES / "partners", partners)
    spec = yaml.safe_load((partners / "melody-stream.yaml").read_text())
    spec |= {
        "partner_id": RADIO, "name": "Melody Radio", "feeds": ["mood_stations", "mead"], "formats": ["jsonl", "csv"],
        "mead": {"recipient_party_id": "PADPIDA2026112402S", "recipient_name": "Melody Radio K.K."},
    }  # fmt: skip
    spec.pop("format", None)
    (partners / f"{RADIO}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    return copy_run.model_copy(update={"partners": partners})


def _ledger(settings):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(
            "SELECT feed, status, row_count, delivery_type FROM exports.delivery_ledger WHERE partner_id = ? "
            "ORDER BY delivered_at, feed",
            [RADIO],
        ).fetchall()


def _licensed_isrcs(settings):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        from pipelines.partner_feed import partner_feed
        from pipelines.registry import load_partners
        from pipelines.settings import delivery_date

        (contract,) = [c for c in load_partners(settings.partners_dir) if c.partner_id == RADIO]
        sql = partner_feed(con, contract, delivery_date(SAMPLE_DATE)).delivered_sql
        return sorted(r[0] for r in con.execute(f"SELECT isrc FROM ({sql}) WHERE kind = 'recording'").fetchall())


@pytest.mark.slow
def test_mood_stations_and_mead_to_a_folder_then_already_delivered_on_rerun(radio_run):
    with duckdb.connect(str(radio_run.warehouse)) as con:  # one recording no longer licensed anywhere
        con.execute("CREATE TABLE feed_copy AS SELECT * FROM marts.partner_feed_works")
        con.execute("DROP VIEW marts.partner_feed_works")
        con.execute(
            "CREATE TABLE marts.partner_feed_works AS SELECT * REPLACE (CASE WHEN isrc = 'JPSK02600008' "
            "THEN licence_windows[1:0] ELSE licence_windows END AS licence_windows) FROM feed_copy"
        )
    summary = run_export(radio_run, SAMPLE_DATE, partner_id=RADIO)
    assert [(d.feed, d.status, d.delivery_type) for d in summary.deliveries] == [
        ("works", "delivered", "full"), ("mood_stations", "delivered", "full"), ("mead", "delivered", "full"),
    ]  # fmt: skip
    root = Path(radio_run.deliver) / RADIO
    stations, mead = root / "mood_stations/2026-11-24", root / "mead/2026-11-24"
    assert sorted(p.name for p in stations.iterdir()) == [
        "manifest.json", "mood_stations.csv", "mood_stations.jsonl", "mood_stations.schema.json",
    ]  # fmt: skip
    assert sorted(p.name for p in mead.iterdir()) == ["manifest.json", "mead.xml"]
    manifest = json.loads((mead / "manifest.json").read_text())
    assert (manifest["partner_id"], manifest["feed"], manifest["delivery_type"]) == (RADIO, "mead", "full")
    (entry,) = manifest["files"]
    assert entry["name"] == "mead.xml"
    assert entry["sha256"] == hashlib.sha256((mead / "mead.xml").read_bytes()).hexdigest()
    # the MEAD message names only the recordings this partner receives today, keyed by their ISRCs
    xml = etree.parse(str(mead / "mead.xml")).getroot()
    isrcs = sorted(xml.xpath("ResourceInformationList/ResourceInformation/ResourceSummary/ResourceId/ISRC/text()"))
    licensed = _licensed_isrcs(radio_run)
    assert isrcs == licensed == [f"JPSK0260000{n}" for n in range(1, 8)]  # not JPSK02600008
    assert len(isrcs) == entry["rows"] - len(xml.xpath("ReleaseInformationList/*"))
    assert xml.findtext("MessageHeader/MessageSender/PartyId") == "PADPIDA2026112401M"
    assert xml.findtext("MessageHeader/MessageRecipient/PartyName/FullName") == "Melody Radio K.K."
    assert xml.findtext("MessageHeader/MessageId") == f"msdb-{RADIO}-mead-2026-11-24"
    station_manifest = json.loads((stations / "manifest.json").read_text())
    station_rows = [json.loads(line) for line in (stations / "mood_stations.jsonl").read_text().splitlines()]
    assert station_manifest["row_count"] == len(station_rows) > 0
    assert {r["isrc"] for r in station_rows} <= set(licensed)
    assert "JPSK02600008" not in (stations / "mood_stations.csv").read_text()
    first = [r["rank"] for r in station_rows if r["tag_id"] == station_rows[0]["tag_id"]]
    assert first == list(range(1, len(first) + 1))  # a station's tracks in rank order
    ledger = _ledger(radio_run)
    assert ledger == [
        ("works", "delivered", ledger[0][2], "full"),
        ("mood_stations", "delivered", len(station_rows), "full"),
        ("mead", "delivered", entry["rows"], "full"),
    ]
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    again = run_export(radio_run, SAMPLE_DATE, partner_id=RADIO)
    assert [(d.feed, d.status) for d in again.deliveries] == [
        ("works", "already_delivered"), ("mood_stations", "already_delivered"), ("mead", "already_delivered"),
    ]  # fmt: skip
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    assert [row[:2] for row in _ledger(radio_run)[3:]] == [
        ("works", "already_delivered"), ("mood_stations", "already_delivered"), ("mead", "already_delivered"),
    ]  # fmt: skip
    (mead / "_ack.json").write_text(json.dumps({"manifest_sha256": hashlib.sha256((mead / "manifest.json").read_bytes()).hexdigest()}))
    acked = run_export(radio_run, SAMPLE_DATE, partner_id=RADIO)
    assert acked.acknowledged == [(RADIO, "mead", SAMPLE_DATE)]  # the partner acknowledged its MEAD delivery only
    with duckdb.connect(str(radio_run.warehouse), read_only=True) as con:
        assert con.execute(
            "SELECT feed, status FROM exports.delivery_ledger WHERE partner_id = ? AND acknowledged_at IS NOT NULL", [RADIO]
        ).fetchall() == [("mead", "acknowledged")]


@pytest.mark.slow
def test_mood_stations_and_mead_to_s3_are_the_folders_bytes(radio_run, moto_s3, tmp_path):
    s3 = boto3.client("s3", endpoint_url=moto_s3, region_name="ap-northeast-1")
    s3.create_bucket(Bucket="radio-feeds", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    folder_run = radio_run.model_copy(
        update={"warehouse": tmp_path / "folder" / "msdb.duckdb", "deliver": str(tmp_path / "folder-deliveries")}
    )
    folder_run.warehouse.parent.mkdir()
    shutil.copyfile(radio_run.warehouse, folder_run.warehouse)
    run_export(folder_run, SAMPLE_DATE, partner_id=RADIO)
    settings = radio_run.model_copy(update={"deliver": "s3://radio-feeds/msdb", "s3_endpoint_url": moto_s3})
    summary = run_export(settings, SAMPLE_DATE, partner_id=RADIO)
    assert [(d.feed, d.status) for d in summary.deliveries] == [
        ("works", "delivered"), ("mood_stations", "delivered"), ("mead", "delivered"),
    ]  # fmt: skip
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="radio-feeds")["Contents"])
    assert keys == [
        f"msdb/{RADIO}/mead/2026-11-24/manifest.json",
        f"msdb/{RADIO}/mead/2026-11-24/mead.xml",
        f"msdb/{RADIO}/mood_stations/2026-11-24/manifest.json",
        f"msdb/{RADIO}/mood_stations/2026-11-24/mood_stations.csv",
        f"msdb/{RADIO}/mood_stations/2026-11-24/mood_stations.jsonl",
        f"msdb/{RADIO}/mood_stations/2026-11-24/mood_stations.schema.json",
        f"msdb/{RADIO}/works/2026-11-24/manifest.json",
        f"msdb/{RADIO}/works/2026-11-24/works.csv",  # the contract's formats are the works feed's too
        f"msdb/{RADIO}/works/2026-11-24/works.jsonl",
        f"msdb/{RADIO}/works/2026-11-24/works.schema.json",
    ]
    local = Path(folder_run.deliver)
    for key in keys:
        if "/works/" in key:
            continue
        body = s3.get_object(Bucket="radio-feeds", Key=key)["Body"].read()
        assert body == (local / key.removeprefix("msdb/")).read_bytes(), key  # byte-identical whichever target
    again = run_export(settings, SAMPLE_DATE, partner_id=RADIO)
    assert {d.status for d in again.deliveries} == {"already_delivered"}
    assert [row[:2] for row in _ledger(settings)] == [
        ("works", "delivered"), ("mood_stations", "delivered"), ("mead", "delivered"),
        ("works", "already_delivered"), ("mood_stations", "already_delivered"), ("mead", "already_delivered"),
    ]  # fmt: skip
