"""A contract's S3 credentials by reference: environment variables or an Airflow connection, never the contract."""

from __future__ import annotations

from types import SimpleNamespace

import boto3
import duckdb
import pytest
import yaml

from pipelines.export import run_export
from pipelines.export.credentials import CredentialsError, resolve
from pipelines.registry import CredentialsRef
from tests.conftest import make_settings
from tests.export.test_deltas import CATALOG_1, NIGHT_1, contract, load_catalog

KEYS = {"MELODY_FEED_ACCESS_KEY_ID": "AKIAMELODYFEED000001", "MELODY_FEED_SECRET_ACCESS_KEY": "melody-secret-value"}


def test_an_env_reference_reads_its_two_variables_and_names_what_is_missing():
    ref = CredentialsRef(env="MELODY_FEED")
    found = resolve(ref, KEYS | {"MELODY_FEED_SESSION_TOKEN": "token-1"})
    assert (found.access_key_id, found.secret_access_key, found.session_token) == ("AKIAMELODYFEED000001", "melody-secret-value", "token-1")
    assert "melody-secret-value" not in repr(found) and "AKIAMELODYFEED000001" not in repr(found)
    with pytest.raises(CredentialsError) as missing:
        resolve(ref, {"MELODY_FEED_ACCESS_KEY_ID": "AKIAMELODYFEED000001"})
    assert str(missing.value) == "credentials {env: MELODY_FEED}: environment variable MELODY_FEED_SECRET_ACCESS_KEY not set"
    assert "AKIAMELODYFEED000001" not in str(missing.value)


def test_an_airflow_reference_reads_the_connection_it_names():
    connections = {"melody_s3": SimpleNamespace(login="AKIAFROMAIRFLOW00001", password="from-airflow", extra_dejson={})}

    def get_connection(conn_id):
        if conn_id not in connections:
            raise LookupError(f"The conn_id `{conn_id}` isn't defined")
        return connections[conn_id]

    found = resolve(CredentialsRef(airflow_conn_id="melody_s3"), get_connection=get_connection)
    assert (found.access_key_id, found.secret_access_key, found.session_token) == ("AKIAFROMAIRFLOW00001", "from-airflow", None)
    with pytest.raises(CredentialsError, match=r"^credentials \{airflow_conn_id: cinema_s3\}: no such Airflow connection \(LookupError\)$"):
        resolve(CredentialsRef(airflow_conn_id="cinema_s3"), get_connection=get_connection)
    connections["keyless"] = SimpleNamespace(login="AKIAFROMAIRFLOW00001", password=None, extra_dejson={})
    with pytest.raises(CredentialsError, match=r"^credentials \{airflow_conn_id: keyless\}: the connection has no password"):
        resolve(CredentialsRef(airflow_conn_id="keyless"), get_connection=get_connection)


def test_an_s3_delivery_uses_the_referenced_keys_and_is_blocked_when_they_are_missing(tmp_path, moto_s3, monkeypatch):
    s3 = boto3.client("s3", endpoint_url=moto_s3, region_name="ap-northeast-1")
    s3.create_bucket(Bucket="melody-feeds", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    partners = tmp_path / "partners"
    partners.mkdir()
    referenced = contract(delivery_uri="s3://melody-feeds/msdb", credentials={"env": "MELODY_FEED"})
    (partners / "east-stream.yaml").write_text(yaml.safe_dump(referenced))
    (partners / "west-stream.yaml").write_text(yaml.safe_dump(contract(partner_id="west-stream", name="West Stream")))
    settings = make_settings(tmp_path, tmp_path / "landing", partners=partners, s3_endpoint_url=moto_s3)
    load_catalog(settings, CATALOG_1)
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)

    missing = run_export(settings, NIGHT_1)
    assert [(d.partner_id, d.status, d.reason) for d in missing.deliveries] == [
        ("east-stream", "blocked", "credentials {env: MELODY_FEED}: environment variable "
                                   "MELODY_FEED_ACCESS_KEY_ID and MELODY_FEED_SECRET_ACCESS_KEY not set"),
        ("west-stream", "delivered", None),  # the other partner is delivered all the same
    ]  # fmt: skip
    assert "Contents" not in s3.list_objects_v2(Bucket="melody-feeds")
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT partner_id, status, delivery_uri FROM exports.delivery_ledger ORDER BY partner_id").fetchall() == [
            ("east-stream", "blocked", "s3://melody-feeds/msdb/east-stream/works/2026-11-24"),
            ("west-stream", "delivered", str(tmp_path / "deliveries/west-stream/works/2026-11-24/manifest.json")),
        ]

    clients = []
    real_client = boto3.client
    monkeypatch.setattr(boto3, "client", lambda *a, **kw: clients.append(kw) or real_client(*a, **kw))
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    delivered = run_export(settings, NIGHT_1, partner_id="east-stream")
    assert [(d.status, d.rows) for d in delivered.deliveries] == [("delivered", 4)]
    assert [(kw["aws_access_key_id"], kw["aws_secret_access_key"]) for kw in clients] == [("AKIAMELODYFEED000001", "melody-secret-value")]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="melody-feeds")["Contents"])
    assert keys == ["msdb/east-stream/works/2026-11-24/manifest.json", "msdb/east-stream/works/2026-11-24/works.jsonl"]
