"""Partner contracts: what a partner may receive is validated before anything is delivered."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from pipelines.registry import RegistryError, load_partners
from tests.conftest import SAMPLES


@pytest.fixture
def partners(tmp_path):
    folder = tmp_path / "partners"
    shutil.copytree(SAMPLES / "partners", folder)
    return folder


def _edit(folder, name, **changes):
    path = folder / f"{name}.yaml"
    spec = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    path.write_text(yaml.safe_dump(spec))
    return path


def test_the_sample_contracts_load_with_their_kind_and_defaults(partners):
    contracts = {c.partner_id: c for c in load_partners(partners)}
    assert {p: c.kind for p, c in contracts.items()} == {
        "cinema-now": "vod", "kizuna-ads": "ad_platform", "melody-stream": "music_service",
    }  # fmt: skip
    melody = contracts["melody-stream"]
    assert (melody.formats, melody.delivery, melody.max_drop_share, melody.territories) == (["jsonl"], "delta", 0.2, ["JP"])
    # the sample music partner takes the mood stations and the MEAD feed beside its works
    assert (melody.feeds, melody.mead.recipient_party_id) == (["mood_stations", "mead"], "PADPIDA2026112403M")
    assert contracts["cinema-now"].feeds == contracts["kizuna-ads"].feeds == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"territories": ["JP", "XX"]}, "field 'territories': Value error, unknown territory XX"),
        ({"territorys": ["JP"]}, "field 'territorys': unknown field"),
        ({"kind": "radio"}, "field 'kind': Input should be 'music_service', 'vod' or 'ad_platform'"),
        ({"kind": None}, "field 'kind': Field required"),
        ({"territories": []}, "field 'territories': List should have at least 1 item"),
        ({"delivery": "sometimes"}, "field 'delivery': Input should be 'full' or 'delta'"),
        ({"delivery_uri": "ftp://feeds.example.com/x"}, "field 'delivery_uri': String should match pattern"),
        ({"credentials": {"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG"}}, "field 'credentials.aws_secret_access_key': unknown field"),
        ({"credentials": {"env": "AKIAIOSFODNN7EXAMPLE"}}, "field 'credentials.env': Value error, looks like a secret"),
        ({"credentials": "wJalrXUtnFEMI/K7MDENG"}, "field 'credentials': Input should be a valid dictionary"),
        ({"credentials": {}}, "field 'credentials': Value error, name exactly one of env"),
        ({"fields": ["title", "isan"]}, "field '(contract)': Value error, fields: isan not in the works feed"),
        ({"max_drop_share": 1.5}, "field 'max_drop_share': Input should be less than or equal to 1"),
    ],
)
def test_a_bad_contract_fails_naming_the_file_and_the_field(partners, changes, message):
    path = _edit(partners, "melody-stream", **changes)
    with pytest.raises(RegistryError) as caught:
        load_partners(partners)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_credentials_by_reference_and_an_s3_uri_are_accepted(partners):
    _edit(partners, "melody-stream", credentials={"env": "MELODY_FEED_ROLE"}, delivery_uri="s3://melody-feeds/msdb", delivery="full")
    _edit(partners, "cinema-now", credentials={"airflow_conn_id": "cinema_now_s3"}, delivery_uri="/srv/sftp/cinema-now")
    contracts = {c.partner_id: c for c in load_partners(partners)}
    assert contracts["melody-stream"].credentials.env == "MELODY_FEED_ROLE"
    assert contracts["melody-stream"].delivery_uri == "s3://melody-feeds/msdb"
    assert contracts["cinema-now"].credentials.airflow_conn_id == "cinema_now_s3"


def test_a_missing_or_empty_partners_folder_is_an_error_not_zero_feeds(tmp_path):
    with pytest.raises(RegistryError, match=f"partners folder {tmp_path / 'none'} does not exist"):
        load_partners(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RegistryError, match=r"holds no contract \(\*.yaml\)"):
        load_partners(tmp_path / "empty")


MEAD_RECIPIENT = {"recipient_party_id": "PADPIDA2026112402S", "recipient_name": "Melody Stream Inc."}


def test_a_music_partner_may_list_mood_stations_and_mead(partners):
    _edit(partners, "melody-stream", feeds=["mood_stations", "mead"], mead=MEAD_RECIPIENT)
    melody = {c.partner_id: c for c in load_partners(partners)}["melody-stream"]
    assert (melody.feed, melody.feeds) == ("works", ["mood_stations", "mead"])
    assert (melody.mead.recipient_party_id, melody.mead.recipient_name) == ("PADPIDA2026112402S", "Melody Stream Inc.")


@pytest.mark.parametrize(
    ("name", "changes", "message"),
    [
        ("cinema-now", {"feeds": ["mead"], "mead": MEAD_RECIPIENT}, "feeds: mead are for music_service partners, not vod"),
        ("kizuna-ads", {"feeds": ["mood_stations"]}, "feeds: mood_stations are for music_service partners, not ad_platform"),
        ("melody-stream", {"feeds": ["mead"], "mead": None}, "feeds: mead needs `mead: {recipient_party_id"),
        ("melody-stream", {"feeds": None, "mead": MEAD_RECIPIENT}, "mead: given, but feeds does not list mead"),
        ("melody-stream", {"feeds": ["radio"]}, "field 'feeds.0': Input should be 'mood_stations' or 'mead'"),
        ("melody-stream", {"feeds": ["mead"], "mead": {"recipient_party_id": "DPID-1"}}, "field 'mead.recipient_party_id'"),
    ],
)
def test_music_feeds_outside_a_music_contract_fail_validation(partners, name, changes, message):
    path = _edit(partners, name, **changes)
    with pytest.raises(RegistryError, match=re.escape(message)) as raised:
        load_partners(partners)
    assert str(path) in str(raised.value)
