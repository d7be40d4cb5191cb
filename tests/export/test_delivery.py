"""Deliveries: never partial, never overwritten, to a folder or to a real S3 endpoint (moto on 127.0.0.1)."""

from __future__ import annotations

import json

import boto3
import duckdb
import pytest

from pipelines.export import DeliveryConflict, run_export
from pipelines.export.targets import AlreadyExists, LocalTarget, S3Target
from tests.conftest import SAMPLE_DATE


def test_local_target_never_overwrites(tmp_path):
    target = LocalTarget(tmp_path)
    target.put_new("p/works.jsonl", b"one")
    with pytest.raises(AlreadyExists):
        target.put_new("p/works.jsonl", b"two")
    assert (tmp_path / "p/works.jsonl").read_bytes() == b"one"
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["works.jsonl"]  # no temp file left behind


def test_s3_conditional_write_refuses_overwrite(moto_s3):
    boto3.client("s3", endpoint_url=moto_s3, region_name="ap-northeast-1").create_bucket(
        Bucket="cond", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    target = S3Target("cond", "feeds", moto_s3, "ap-northeast-1")
    target.put_new("a.json", b"1")
    with pytest.raises(AlreadyExists, match="s3://cond/feeds/a.json"):
        target.put_new("a.json", b"2")
    assert target.read("a.json") == b"1"


@pytest.mark.slow
def test_export_to_s3_writes_feed_then_manifest(copy_run, moto_s3, sample_run):
    s3 = boto3.client("s3", endpoint_url=moto_s3, region_name="ap-northeast-1")
    s3.create_bucket(Bucket="partner-feeds", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    settings = copy_run.model_copy(update={"deliver": "s3://partner-feeds/msdb", "s3_endpoint_url": moto_s3})
    summary = run_export(settings, SAMPLE_DATE)
    assert [(d.partner_id, d.status, d.rows) for d in summary.deliveries] == [
        ("cinema-now", "delivered", 2),
        ("melody-stream", "delivered", 9),
    ]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="partner-feeds")["Contents"])
    assert keys == [
        "msdb/cinema-now/works/2026-11-24/manifest.json",
        "msdb/cinema-now/works/2026-11-24/works.jsonl",
        "msdb/melody-stream/works/2026-11-24/manifest.json",
        "msdb/melody-stream/works/2026-11-24/works.jsonl",
    ]
    body = s3.get_object(Bucket="partner-feeds", Key="msdb/melody-stream/works/2026-11-24/works.jsonl")["Body"].read()
    local = (sample_run.warehouse.parent.parent / "deliveries/melody-stream/works/2026-11-24/works.jsonl").read_bytes()
    assert body == local  # the same bytes whichever target
    again = run_export(settings, SAMPLE_DATE)
    assert {d.status for d in again.deliveries} == {"already_delivered"}


@pytest.mark.slow
def test_leftover_with_other_content_is_a_conflict_not_an_overwrite(copy_run):
    leftover = copy_run.warehouse.parent.parent / "deliveries/melody-stream/works/2026-11-24/works.jsonl"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b'{"partial": true}\n')
    with pytest.raises(DeliveryConflict, match="exists with other content"):
        run_export(copy_run, SAMPLE_DATE)
    assert leftover.read_bytes() == b'{"partial": true}\n'
    assert not (leftover.parent / "manifest.json").exists()


@pytest.mark.slow
def test_a_blocked_gate_holds_back_only_dependent_feeds(copy_run):
    with duckdb.connect(str(copy_run.warehouse)) as con:
        con.execute(
            "INSERT INTO ops.quality_results (logical_date, suite, expectation, column_name, success, observed, blocks, checked_at) VALUES (?, 'partner:cinema-now', 'expect_column_values_to_not_be_null', "
            "'title', false, '[null]', ['partner:cinema-now'], now())",
            [SAMPLE_DATE],
        )
    summary = run_export(copy_run, SAMPLE_DATE)
    by_partner = {d.partner_id: d for d in summary.deliveries}
    assert by_partner["cinema-now"].status == "blocked"
    assert by_partner["cinema-now"].reason == "quality gate failed: partner:cinema-now"
    assert by_partner["melody-stream"].status == "delivered"
    root = copy_run.warehouse.parent.parent / "deliveries"
    assert not (root / "cinema-now").exists()
    assert json.loads((root / "melody-stream/works/2026-11-24/manifest.json").read_text())["row_count"] == 9
