"""Deliveries: never partial, never overwritten, to a folder or to a real S3 endpoint (moto on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import json

import boto3
import duckdb
import pytest

from pipelines.export import run_export
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
    assert [(d.partner_id, d.feed, d.status) for d in summary.deliveries] == [
        ("cinema-now", "works", "delivered"),
        ("kizuna-ads", "ad_matches", "delivered"),
        ("melody-stream", "works", "delivered"),
        ("melody-stream", "mood_stations", "delivered"),  # the sample music partner's contract lists them
        ("melody-stream", "mead", "delivered"),
    ]
    assert [d.rows for d in summary.deliveries][:3] == [2, 65, 9]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="partner-feeds")["Contents"])
    assert keys == [
        "msdb/cinema-now/works/2026-11-24/manifest.json",
        "msdb/cinema-now/works/2026-11-24/works.jsonl",
        "msdb/kizuna-ads/ad_matches/2026-11-24/ad_matches.jsonl",
        "msdb/kizuna-ads/ad_matches/2026-11-24/manifest.json",
        "msdb/melody-stream/mead/2026-11-24/manifest.json",
        "msdb/melody-stream/mead/2026-11-24/mead.xml",
        "msdb/melody-stream/mood_stations/2026-11-24/manifest.json",
        "msdb/melody-stream/mood_stations/2026-11-24/mood_stations.jsonl",
        "msdb/melody-stream/mood_stations/2026-11-24/mood_stations.schema.json",
        "msdb/melody-stream/works/2026-11-24/manifest.json",
        "msdb/melody-stream/works/2026-11-24/works.jsonl",
    ]
    body = s3.get_object(Bucket="partner-feeds", Key="msdb/melody-stream/works/2026-11-24/works.jsonl")["Body"].read()
    local = (sample_run.warehouse.parent.parent / "deliveries/melody-stream/works/2026-11-24/works.jsonl").read_bytes()
    assert body == local  # the same bytes whichever target
    again = run_export(settings, SAMPLE_DATE)
    assert {d.status for d in again.deliveries} == {"already_delivered"}


@pytest.mark.slow
def test_leftover_with_other_content_is_a_conflict_for_that_partner_only(copy_run, sample_run, monkeypatch, capsys):
    from pipelines.cli import EXIT_FEED_BLOCKED, main

    deliveries = copy_run.warehouse.parent.parent / "deliveries"
    leftover = deliveries / "melody-stream/works/2026-11-24/works.jsonl"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b'{"partial": true}\n')
    audit = "SELECT count(*) FROM exports.rights_audit WHERE partner_id = 'melody-stream'"
    with duckdb.connect(str(copy_run.warehouse)) as con:
        audited = con.execute(audit).fetchone()[0]  # the sample run's, delivered elsewhere
    monkeypatch.setenv("MSDB_VAR_DIR", str(copy_run.var_dir))
    code = main([
        "stage", "export", "--date", SAMPLE_DATE.isoformat(), "--landing", str(copy_run.landing),
        "--warehouse", str(copy_run.warehouse), "--deliver", str(deliveries),
    ])  # fmt: skip
    assert code == EXIT_FEED_BLOCKED == 3
    assert capsys.readouterr().err.splitlines()[-1] == (
        "msdb: feeds not published: melody-stream/works (conflict), melody-stream/mood_stations (blocked), "
        "melody-stream/mead (blocked)"
    )  # a music partner's station and MEAD feeds follow its works feed
    reason = (
        f"{leftover} exists with other content and no manifest (an earlier attempt's, from other data): not "
        "overwritten, nothing published; see the README's runbook for a delivery in conflict"
    )
    assert leftover.read_bytes() == b'{"partial": true}\n'
    assert not (leftover.parent / "manifest.json").exists()
    with duckdb.connect(str(copy_run.warehouse)) as con:
        assert con.execute(
            "SELECT partner_id, feed, status, if(status = 'blocked', NULL, reason), row_count, published_at IS NULL "
            "FROM exports.delivery_ledger WHERE destination = ? ORDER BY partner_id, feed", [str(deliveries)],
        ).fetchall() == [
            ("cinema-now", "works", "delivered", None, 2, False),
            ("kizuna-ads", "ad_matches", "delivered", None, 65, False),
            ("melody-stream", "mead", "blocked", None, 0, True),
            ("melody-stream", "mood_stations", "blocked", None, 0, True),
            ("melody-stream", "works", "conflict", reason, 0, True),
        ]  # fmt: skip
        assert con.execute(
            "SELECT count(*) FROM exports.delivered_state WHERE partner_id = 'melody-stream' AND destination = ?", [str(deliveries)]
        ).fetchone() == (0,)
        assert con.execute(audit).fetchone()[0] == audited  # nothing of the attempt kept
    # the runbook: the partner never saw a manifest, so the orphan is moved aside and the partner delivered again
    leftover.rename(copy_run.warehouse.parent.parent / "orphan-works.jsonl")
    again = run_export(copy_run, SAMPLE_DATE, partner_id="melody-stream")
    assert [(d.feed, d.status, d.rows) for d in again.deliveries] == [
        ("works", "delivered", 9), ("mood_stations", "delivered", 17), ("mead", "delivered", 9),
    ]
    reference = sample_run.warehouse.parent.parent / "deliveries/melody-stream/works/2026-11-24"
    assert [p.read_bytes() for p in sorted(leftover.parent.iterdir())] == [p.read_bytes() for p in sorted(reference.iterdir())]


def test_partial_files_of_a_killed_export_are_removed_by_the_next_export_only_once_their_writer_is_gone(tmp_path):
    import fcntl
    import os

    target = LocalTarget(tmp_path)
    folder = tmp_path / "melody-stream/works/2026-11-24"
    folder.mkdir(parents=True)
    abandoned = folder / ".msdb-partial.works.jsonl.k9x2abcd"  # its writer was killed: no one holds its lock
    abandoned.write_bytes(b'{"op":"add"')
    partner_file = folder / ".sync-state"  # the partner's own dot file: never ours to remove
    partner_file.write_bytes(b"x")
    with target.writing("melody-stream/works/2026-11-24/works.jsonl") as fh:
        fh.write(b"rows\n")
        (live,) = [p for p in folder.iterdir() if p.name.startswith(".msdb-partial.works.jsonl.") and p != abandoned]
        assert target.remove_abandoned("melody-stream") == [abandoned]  # the live writer's file stays
        assert live.exists()
        fd = os.open(live, os.O_RDONLY)
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
    assert sorted(p.name for p in folder.iterdir()) == [".sync-state", "works.jsonl"]
    assert (folder / "works.jsonl").read_bytes() == b"rows\n"
    assert oct((folder / "works.jsonl").stat().st_mode & 0o777) == "0o644"


@pytest.mark.slow
def test_a_blocked_gate_holds_back_only_dependent_feeds(copy_run):
    with duckdb.connect(str(copy_run.warehouse)) as con:
        con.execute(
            "INSERT INTO ops.quality_results (logical_date, suite, expectation, column_name, success, observed, blocks, checked_at) VALUES (?, 'partner:cinema-now', 'expect_column_values_to_not_be_null', "
            "'title', false, '[null]', ['partner:cinema-now'], now())",
            [SAMPLE_DATE],
        )
    summary = run_export(copy_run, SAMPLE_DATE)
    by_partner = {d.partner_id: d for d in summary.deliveries if d.feed in ("works", "ad_matches")}
    assert by_partner["cinema-now"].status == "blocked"
    assert by_partner["cinema-now"].reason == "quality gate failed: partner:cinema-now"
    assert by_partner["melody-stream"].status == "delivered"
    root = copy_run.warehouse.parent.parent / "deliveries"
    assert not (root / "cinema-now").exists()
    assert json.loads((root / "melody-stream/works/2026-11-24/manifest.json").read_text())["row_count"] == 9


def test_s3_large_file_goes_up_in_parts_and_still_never_overwrites(moto_s3):
    boto3.client("s3", endpoint_url=moto_s3, region_name="ap-northeast-1").create_bucket(
        Bucket="parts", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    target = S3Target("parts", "feeds", moto_s3, "ap-northeast-1")
    target.part_bytes = 5 << 20  # S3's smallest part
    body = b'{"work_id":"w_0123456789abcdef0123","title":"\xe9\xa2\xa8\xe3\x81\xae\xe9\x81\x93"}\n' * 180_000  # ~11 MB: 3 parts
    with target.writing("big/works.jsonl") as fh:
        fh.write(body)
    assert target.read("big/works.jsonl") == body
    assert target.sha256("big/works.jsonl") == hashlib.sha256(body).hexdigest()
    with pytest.raises(AlreadyExists), target.writing("big/works.jsonl") as fh:
        fh.write(b"other" * (2 << 20))
    assert target.read("big/works.jsonl") == body
    # the refused upload was aborted, not left to be billed
    assert "Uploads" not in target.client.list_multipart_uploads(Bucket="parts")


@pytest.mark.slow
def test_a_feed_larger_than_a_batch_streams_to_the_same_bytes(copy_run, monkeypatch):
    from pipelines.partner_feed import PartnerFeed

    batches: list[int] = []
    batches_of = PartnerFeed.batches

    def counted(self, con, batch_rows):
        for batch in batches_of(self, con, batch_rows):
            assert len(batch) <= batch_rows
            batches.append(len(batch))
            yield batch

    monkeypatch.setattr(PartnerFeed, "batches", counted)
    root = copy_run.warehouse.parent.parent
    whole = copy_run.model_copy(update={"deliver": str(root / "whole")})
    streamed = copy_run.model_copy(update={"deliver": str(root / "streamed"), "export_batch_rows": 2})
    run_export(whole, SAMPLE_DATE)
    assert batches == [2, 9]  # cinema-now, melody-stream: one batch each
    batches.clear()
    summary = run_export(streamed, SAMPLE_DATE)
    assert batches == [2, 2, 2, 2, 2, 1]  # 2 + 9 rows, two at a time
    assert [(d.partner_id, d.feed, d.status) for d in summary.deliveries] == [
        ("cinema-now", "works", "delivered"),
        ("kizuna-ads", "ad_matches", "delivered"),
        ("melody-stream", "works", "delivered"),
        ("melody-stream", "mood_stations", "delivered"),
        ("melody-stream", "mead", "delivered"),
    ]
    assert [d.rows for d in summary.deliveries][:3] == [2, 65, 9]
    files = sorted(p.relative_to(root / "whole") for p in (root / "whole").rglob("*") if p.is_file())
    assert [str(f) for f in files] == [
        "cinema-now/works/2026-11-24/manifest.json",
        "cinema-now/works/2026-11-24/works.jsonl",
        "kizuna-ads/ad_matches/2026-11-24/ad_matches.jsonl",
        "kizuna-ads/ad_matches/2026-11-24/manifest.json",
        "melody-stream/mead/2026-11-24/manifest.json",
        "melody-stream/mead/2026-11-24/mead.xml",
        "melody-stream/mood_stations/2026-11-24/manifest.json",
        "melody-stream/mood_stations/2026-11-24/mood_stations.jsonl",
        "melody-stream/mood_stations/2026-11-24/mood_stations.schema.json",
        "melody-stream/works/2026-11-24/manifest.json",
        "melody-stream/works/2026-11-24/works.jsonl",
    ]
    for name in files:
        assert (root / "streamed" / name).read_bytes() == (root / "whole" / name).read_bytes()
    manifest = json.loads((root / "streamed/melody-stream/works/2026-11-24/manifest.json").read_text())
    body = (root / "streamed/melody-stream/works/2026-11-24/works.jsonl").read_bytes()
    assert manifest["files"] == [
        {"name": "works.jsonl", "rows": 9, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    ]
