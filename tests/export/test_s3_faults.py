"""Flaky S3: deliveries through a fault-injecting proxy (`tests/export/s3_faults.py`) in front of moto on 127.0.0.1.

500s, 503 SlowDown, dropped connections and stalls longer than the read timeout: a delivery completes with
retries, or the export fails in one line within a bounded time and the next run completes it; a partner
never sees a partial or a second delivery.
"""

from __future__ import annotations

import hashlib
import time

import boto3
import duckdb
import pytest

from pipelines.export import run_export
from pipelines.export.targets import AlreadyExists, S3Retry, S3Target, S3Unavailable, target_for
from pipelines.settings import MsdbSettings
from tests.conftest import SAMPLE_DATE
from tests.export.s3_faults import KINDS, FaultyS3

REGION = "ap-northeast-1"
SEED = 76  # its first 11 draws (as many as the night's requests without faults) hold five kinds of fault
# short timeouts and backoffs, so that a stall costs a second; the proxy stalls longer than the read timeout
FAST = S3Retry(connect_timeout=1, read_timeout=1, max_attempts=3, object_attempts=2, backoff_seconds=0.05)
FAST_SETTINGS = {
    "s3_connect_timeout": 1.0, "s3_read_timeout": 1.0, "s3_max_attempts": 3, "s3_object_attempts": 2, "s3_backoff_seconds": 0.05,
}
DELIVERED_KEYS = [
    "cinema-now/works/2026-11-24/manifest.json",
    "cinema-now/works/2026-11-24/works.jsonl",
    "kizuna-ads/ad_matches/2026-11-24/ad_matches.jsonl",
    "kizuna-ads/ad_matches/2026-11-24/manifest.json",
    "melody-stream/works/2026-11-24/manifest.json",
    "melody-stream/works/2026-11-24/works.jsonl",
    "melody-stream/mood_stations/2026-11-24/manifest.json",
    "melody-stream/mood_stations/2026-11-24/mood_stations.jsonl",
    "melody-stream/mood_stations/2026-11-24/mood_stations.schema.json",
    "melody-stream/mead/2026-11-24/manifest.json",
    "melody-stream/mead/2026-11-24/mead.xml",
]


@pytest.fixture
def bucket(moto_s3, request):
    client = boto3.client("s3", endpoint_url=moto_s3, region_name=REGION)
    name = f"flaky-{hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client, name


@pytest.fixture
def proxy(moto_s3):
    with FaultyS3(moto_s3, stall_seconds=2.5) as faulty:
        yield faulty


def objects(client, bucket: str) -> dict[str, str]:
    """Every object in the bucket: key → sha256."""
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {
        o["Key"]: hashlib.sha256(client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()).hexdigest() for o in listed
    }


def fault_free(sample_run) -> dict[str, str]:
    """The sample night as delivered without faults (to a folder: the same bytes as to S3): key → sha256."""
    root = sample_run.warehouse.parent.parent / "deliveries"
    return {key: hashlib.sha256((root / key).read_bytes()).hexdigest() for key in DELIVERED_KEYS}


def ledger(settings) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(
            "SELECT partner_id, feed, logical_date::VARCHAR, status, manifest_sha256 FROM exports.delivery_ledger "
            "WHERE destination LIKE 's3://%' ORDER BY delivered_at, partner_id"  # the copied sample run's are local
        ).fetchall()


def test_the_s3_settings_reach_the_client(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no msdb.toml
    for name, value in {"READ_TIMEOUT": "7.5", "MAX_ATTEMPTS": "5", "RETRY_MODE": "adaptive", "OBJECT_ATTEMPTS": "4"}.items():
        monkeypatch.setenv(f"MSDB_S3_{name}", value)
    target = target_for("s3://partner-feeds/msdb", "http://127.0.0.1:9", REGION, S3Retry.from_settings(MsdbSettings()))
    config = target.client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (5.0, 7.5)
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 5}
    assert (target.retry.object_attempts, target.retry.backoff_seconds) == (4, 1.0)
    monkeypatch.setenv("MSDB_S3_RETRY_MODE", "legacy")
    with pytest.raises(ValueError, match="s3_retry_mode"):
        MsdbSettings()


@pytest.mark.parametrize("fault", KINDS)
def test_a_manifest_written_through_a_fault_appears_once_and_is_not_a_conflict(bucket, proxy, fault):
    client, name = bucket
    target = S3Target(name, "msdb", proxy.url, REGION, FAST)
    manifest = b'{"partner_id": "melody-stream", "row_count": 9}\n'
    proxy.script.append(("PUT", r"/p/manifest\.json$", fault))
    target.put_new("p/manifest.json", manifest)
    # one faulty try, then one that succeeds or, when the first got through (drop_response, stall_response),
    # answers 412: our own write, recognised by its sha256
    assert proxy.requests("PUT", "/p/manifest.json") == [fault, None]
    assert objects(client, name) == {"msdb/p/manifest.json": hashlib.sha256(manifest).hexdigest()}
    # another's manifest is still a conflict, retried or not
    proxy.script.append(("PUT", r"/p/manifest\.json$", "drop"))
    with pytest.raises(AlreadyExists, match=f"s3://{name}/msdb/p/manifest.json"):
        target.put_new("p/manifest.json", b'{"published_by": "another run"}\n')
    assert proxy.requests("PUT", "/p/manifest.json")[2:] == ["drop", None]
    assert client.get_object(Bucket=name, Key="msdb/p/manifest.json")["Body"].read() == manifest


def test_a_multipart_upload_whose_part_keeps_failing_starts_over_and_appears_once(bucket, proxy):
    client, name = bucket
    target = S3Target(name, "msdb", proxy.url, REGION, FAST)
    target.part_bytes = 5 << 20  # S3's smallest part
    body = b'{"work_id":"w_0123456789abcdef0123","title":"\xe9\xa2\xa8\xe3\x81\xae\xe9\x81\x93"}\n' * 130_000  # ~8 MB: 2 parts
    # part 2 fails every request of its first upload (max_attempts 3): that upload is aborted and a new one made,
    # whose completion is answered but the answer lost
    proxy.script += [("PUT", r"big/works\.jsonl\?.*partNumber=2", fault) for fault in ("slowdown503", "error500", "drop")]
    proxy.script += [("POST", r"big/works\.jsonl\?uploadId=", "drop_response")]
    with target.writing("big/works.jsonl") as fh:
        fh.write(body)
    assert objects(client, name) == {"msdb/big/works.jsonl": hashlib.sha256(body).hexdigest()}
    assert proxy.faults == {"slowdown503": 1, "error500": 1, "drop": 1, "drop_response": 1}
    calls = [(method, path.split("?")[1].split("=")[0]) for method, path, _ in proxy.log if "?" in path]
    assert calls.count(("POST", "uploads")) == 2  # the upload started over
    assert [method for method, _, _ in proxy.log].count("DELETE") == 1  # the first one aborted
    assert "Uploads" not in client.list_multipart_uploads(Bucket=name)


@pytest.mark.slow
def test_the_night_is_delivered_whole_through_30_percent_faults(copy_run, sample_run, bucket, moto_s3):
    client, name = bucket
    proxy = FaultyS3(moto_s3, rate=0.3, seed=SEED, stall_seconds=2.5)
    # and, whatever the draw, the answers to one data file and to one manifest are lost after S3 stored them, the
    # data file's download (to compare its sha256) breaks mid-body, and one check for a manifest gets a 500
    proxy.script += [
        ("GET", r"cinema-now/works/2026-11-24/works\.jsonl$", "drop_response"),
        ("HEAD", r"kizuna-ads/ad_matches/2026-11-24/manifest\.json$", "error500"),
        ("PUT", r"cinema-now/works/2026-11-24/works\.jsonl$", "drop_response"),
        ("PUT", r"melody-stream/works/2026-11-24/manifest\.json$", "stall_response"),
    ]
    settings = copy_run.model_copy(
        update={"deliver": f"s3://{name}/msdb", "s3_endpoint_url": proxy.url, **FAST_SETTINGS, "s3_max_attempts": 4}
    )
    with proxy:
        summary = run_export(settings, SAMPLE_DATE)
    assert [(d.partner_id, d.feed, d.status, d.rows) for d in summary.deliveries] == [
        ("cinema-now", "works", "delivered", 2),
        ("kizuna-ads", "ad_matches", "delivered", 65),
        ("melody-stream", "works", "delivered", 9),
        ("melody-stream", "mood_stations", "delivered", 17),
        ("melody-stream", "mead", "delivered", 9),
    ]
    # the same bytes as a fault-free night, each file once, one manifest per delivery, no upload left open
    assert objects(client, name) == {f"msdb/{key}": sha for key, sha in fault_free(sample_run).items()}
    assert "Uploads" not in client.list_multipart_uploads(Bucket=name)
    # one ledger row per delivery, naming the manifest published
    published = objects(client, name)
    assert ledger(settings) == [
        (partner, feed, "2026-11-24", "delivered", published[f"msdb/{partner}/{feed}/2026-11-24/manifest.json"])
        for partner, feed in [
            ("cinema-now", "works"), ("kizuna-ads", "ad_matches"),
            ("melody-stream", "works"), ("melody-stream", "mood_stations"), ("melody-stream", "mead"),
        ]
    ]
    assert proxy.requests("PUT", "melody-stream/works/2026-11-24/manifest.json") == ["stall_response", None]
    assert sum(proxy.faults.values()) >= 0.2 * len(proxy.log)
    assert set(proxy.faults) == set(KINDS)


@pytest.mark.slow
def test_when_s3_goes_down_the_export_stops_in_one_line_and_the_next_run_delivers(copy_run, sample_run, bucket, proxy):
    client, name = bucket
    settings = copy_run.model_copy(update={"deliver": f"s3://{name}/msdb", "s3_endpoint_url": proxy.url, **FAST_SETTINGS})
    # up until the first partner's manifest is published; then every request fails and none reaches S3
    proxy.down_after = ("PUT", r"cinema-now/works/2026-11-24/manifest\.json$")
    started = time.monotonic()
    with pytest.raises(S3Unavailable) as failed:
        run_export(settings, SAMPLE_DATE)
    took = time.monotonic() - started
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith(
        f"HEAD s3://{name}/msdb/kizuna-ads/ad_matches/2026-11-24/manifest.json: {proxy.url} failed 2 x 3 attempts in "
    )
    assert took < 60  # bounded (the old client hung for 182 s): 6 requests of at most 1 s plus backoffs
    # the first partner's delivery is whole and recorded; nothing of the others
    reference = fault_free(sample_run)
    assert objects(client, name) == {f"msdb/{k}": sha for k, sha in reference.items() if k.startswith("cinema-now/")}
    assert [row[:4] for row in ledger(settings)] == [("cinema-now", "works", "2026-11-24", "delivered")]

    proxy.down = False  # S3 is back
    summary = run_export(settings, SAMPLE_DATE)
    assert [(d.partner_id, d.feed, d.status) for d in summary.deliveries] == [
        ("cinema-now", "works", "already_delivered"),
        ("kizuna-ads", "ad_matches", "delivered"),
        ("melody-stream", "works", "delivered"),
        ("melody-stream", "mood_stations", "delivered"),
        ("melody-stream", "mead", "delivered"),
    ]
    assert objects(client, name) == {f"msdb/{k}": sha for k, sha in reference.items()}
    assert [row[:4] for row in ledger(settings)] == [
        ("cinema-now", "works", "2026-11-24", "delivered"),
        ("cinema-now", "works", "2026-11-24", "already_delivered"),
        ("kizuna-ads", "ad_matches", "2026-11-24", "delivered"),
        ("melody-stream", "works", "2026-11-24", "delivered"),
        ("melody-stream", "mood_stations", "2026-11-24", "delivered"),
        ("melody-stream", "mead", "2026-11-24", "delivered"),
    ]
