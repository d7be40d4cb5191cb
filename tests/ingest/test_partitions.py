"""Partitions by date: each landed file belongs to a logical date (its date folder, else the day it arrived in
Asia/Tokyo); the run for D loads the files of D and before and leaves the later ones for their night."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest

from pipelines.ingest.landing import partition_date
from pipelines.warehouse import writer
from tests.conftest import arrived

D = date(2026, 11, 24)
JST = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("relative_path", "arrived_at", "expected"),
    [
        ("music/tsukiyo/2026-11-25/x.xml", None, date(2026, 11, 25)),
        ("music/tsukiyo/20261125/x.xml", None, date(2026, 11, 25)),
        # the innermost date folder wins; a file named after its date is dated too
        ("video/aozora/2026-11/2026-11-26/sub/ADI.xml", None, date(2026, 11, 26)),
        ("articles/harbour-review/2026-11-24.jsonl", None, date(2026, 11, 24)),
        # not dates: an impossible day, a half-dashed name, a holder folder named like a date
        ("music/tsukiyo/2026-02-30/x.xml", datetime(2026, 11, 20, 9, tzinfo=JST), date(2026, 11, 20)),
        ("music/tsukiyo/2026-1125/x.xml", datetime(2026, 11, 20, 9, tzinfo=JST), date(2026, 11, 20)),
        ("music/20261125/x.xml", datetime(2026, 11, 20, 9, tzinfo=JST), date(2026, 11, 20)),
        # arrival: 2026-11-24 15:30 UTC is already the 25th in Tokyo
        ("music/tsukiyo/x.xml", datetime(2026, 11, 24, 15, 30, tzinfo=ZoneInfo("UTC")), date(2026, 11, 25)),
        ("music/tsukiyo/x.xml", datetime(2026, 11, 24, 14, 59, tzinfo=ZoneInfo("UTC")), date(2026, 11, 24)),
    ],
)
def test_partition_date(relative_path, arrived_at, expected):
    mtime_ns = int(arrived_at.timestamp() * 1e9) if arrived_at else None
    assert partition_date(relative_path, mtime_ns) == expected


def _article(slug: str, title: str) -> str:
    return json.dumps(
        {
            "url": f"https://harbour-review.example/articles/{slug}",
            "title": title,
            "body": f"{title}. The harbour quartet played three encores to a packed boathouse on a rainy night.",
            "published_at": "2026-11-23T09:15:00+00:00",
            "category": "entertainment",
            "language": "en",
        }
    ) + "\n"


@pytest.fixture
def dated_landing(landing):
    """Files of D-1, D and D+1 in date folders, and one without a date folder that arrived at 00:30 on D+1
    (Tokyo), i.e. on D in UTC."""
    landing.holder("harbour-review", "articles", default_language="en")
    landing.write("articles", "harbour-review", "2026-11-23/a.jsonl", _article("a", "Autumn jazz at the pier"))
    landing.write("articles", "harbour-review", "2026-11-24/b.jsonl", _article("b", "Brass in the rain"))
    landing.write("articles", "harbour-review", "20261125/c.jsonl", _article("c", "Cold night, warm choir"))
    late = landing.write("articles", "harbour-review", "late.jsonl", _article("d", "Dawn ferry songs"))
    arrived(late, datetime(2026, 11, 25, 0, 30, tzinfo=JST).timestamp())
    return landing


def test_the_run_for_d_loads_d_and_before_and_defers_the_rest(ingest, dated_landing):
    first = ingest(dated_landing, D)
    assert first.summary.paths("loaded") == [
        "articles/harbour-review/2026-11-23/a.jsonl",
        "articles/harbour-review/2026-11-24/b.jsonl",
    ]
    assert first.summary.paths("deferred") == [
        "articles/harbour-review/20261125/c.jsonl",
        "articles/harbour-review/late.jsonl",
    ]
    assert first.summary.by_kind() == {
        "articles": {"files_loaded": 2, "files_deferred": 2, "records_loaded": 2, "records_quarantined": 0}
    }
    # deferred files are neither seen nor quarantined
    assert first.rows("SELECT file_path, partition_date, logical_date FROM ops.ingest_files ORDER BY file_path") == [
        ("articles/harbour-review/2026-11-23/a.jsonl", date(2026, 11, 23), D),
        ("articles/harbour-review/2026-11-24/b.jsonl", D, D),
    ]
    assert first.rows("SELECT count(*) FROM ops.quarantine") == [(0,)]
    assert first.rows("SELECT title FROM raw.articles ORDER BY title") == [
        ("Autumn jazz at the pier",),
        ("Brass in the rain",),
    ]

    # the night of D+1 takes them, and skips what D loaded
    second = ingest(dated_landing, date(2026, 11, 25))
    assert second.summary.paths("loaded") == [
        "articles/harbour-review/20261125/c.jsonl",
        "articles/harbour-review/late.jsonl",
    ]
    assert second.summary.paths("skipped") == [
        "articles/harbour-review/2026-11-23/a.jsonl",
        "articles/harbour-review/2026-11-24/b.jsonl",
    ]
    assert second.summary.paths("deferred") == []
    assert second.rows(
        "SELECT file_path, partition_date, logical_date FROM ops.ingest_files WHERE logical_date = '2026-11-25' "
        "ORDER BY file_path"
    ) == [
        ("articles/harbour-review/20261125/c.jsonl", date(2026, 11, 25), date(2026, 11, 25)),
        ("articles/harbour-review/late.jsonl", date(2026, 11, 25), date(2026, 11, 25)),
    ]
    assert second.rows("SELECT count(*) FROM raw.articles") == [(4,)]

    # D run again: the files of D+1 were loaded by their night, not deferred again
    again = ingest(dated_landing, D)
    assert (again.summary.paths("loaded"), again.summary.paths("deferred")) == ([], [])
    assert len(again.summary.paths("skipped")) == 4
    assert again.rows("SELECT count(*) FROM ops.ingest_files") == [(4,)]


def test_a_warehouse_from_before_partitions_gets_the_column(tmp_path):
    """ops.ingest_files as it was: its files belong to the night that loaded them."""
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA ops")
        con.execute(
            "CREATE TABLE ops.ingest_files (file_id VARCHAR NOT NULL, file_path VARCHAR NOT NULL, kind VARCHAR, "
            "holder_id VARCHAR, file_format VARCHAR, size_bytes BIGINT, records_found INTEGER NOT NULL, "
            "records_loaded INTEGER NOT NULL, records_quarantined INTEGER NOT NULL, status VARCHAR NOT NULL, "
            "logical_date DATE NOT NULL, ingested_at TIMESTAMPTZ NOT NULL)"
        )
        con.execute(
            "INSERT INTO ops.ingest_files VALUES ('f1', 'music/sakura-records/x.xml', 'music', 'sakura-records', "
            "'ern43', 10, 1, 1, 0, 'loaded', DATE '2026-11-20', TIMESTAMPTZ '2026-11-20 17:00:00+00')"
        )
    with writer(path, publish=False) as con:
        assert con.execute("SELECT file_id, partition_date FROM ops.ingest_files").fetchall() == [
            ("f1", date(2026, 11, 20))
        ]

