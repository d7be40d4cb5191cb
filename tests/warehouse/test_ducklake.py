"""The nightly run with a DuckLake configured (`MSDB_LAKE`): catalog in a private PostgreSQL, data as Parquet in
a moto S3 bucket. Another machine, a fresh DuckDB connection that knows only the lake's address, finds the same
marts, tags and neighbours as the local warehouse, as one snapshot per publication.

The landing is `msdb generate`'s (a small one: the fixed cost of a night, dbt and the models, dominates).
Skips, saying why, without the PostgreSQL binaries (`.ci/run` installs them).
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import boto3
import duckdb
import pytest

from pipelines.generate import Request, generate_landing
from pipelines.nightly import publish_lake, run_nightly, run_stage
from pipelines.preflight import PreflightFailed, check_before_run
from pipelines.warehouse import load_extension
from pipelines.warehouse.lake import LakePublishFailed, attach_lake, lake_reader, publish_to_lake
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

NIGHT = date(2026, 11, 24)
BUCKET = "msdb-lake"
REQUEST = Request(works=60, articles=6, holders=2, nights=0, seed=11, start=NIGHT, creatives=3)
# tables compared in full, row by row
COMPARED = ["marts.dim_work", "marts.fct_licence_window", "kansei.work_tags", "similarity.work_neighbors", "exports.rights_audit"]


@pytest.fixture(scope="module")
def lake_night(postgres_server, moto_s3, tmp_path_factory):
    root = tmp_path_factory.mktemp("lake-night")
    summary = generate_landing(root / "landing", REQUEST)[0]
    boto3.client("s3", endpoint_url=moto_s3, region_name="ap-northeast-1").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    settings = make_settings(
        root,
        root / "landing",
        lake=f"ducklake:postgres:{postgres_server.libpq(postgres_server.create_database('msdb_lake'))}",
        lake_data_path=f"s3://{BUCKET}/lake/",
        s3_endpoint_url=moto_s3,
    )
    report = run_nightly(settings, NIGHT)
    assert not report.failed_stages
    return settings, summary, report


@pytest.fixture(scope="module")
def other_machine(lake_night, moto_s3):
    """A connection that shares nothing with the run but the lake's address and the S3 credentials."""
    settings, _, _ = lake_night
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    for extension in ("httpfs", "postgres", "ducklake"):
        load_extension(con, extension)
    con.execute(
        f"CREATE SECRET (TYPE s3, KEY_ID 'testing', SECRET 'testing', REGION 'ap-northeast-1', "
        f"ENDPOINT '{moto_s3.removeprefix('http://')}', URL_STYLE 'path', USE_SSL false)"
    )
    con.execute(f"ATTACH '{settings.lake}' AS lake (READ_ONLY)")
    yield con
    con.close()


def _tables(con, catalog: str) -> dict[str, int]:
    names = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = ? "
        "AND schema_name IN ('marts', 'kansei', 'similarity', 'exports') ORDER BY 1",
        [catalog],
    ).fetchall()
    return {name: con.execute(f"SELECT count(*) FROM {catalog}.{name}").fetchone()[0] for (name,) in names}


def test_the_lake_holds_every_table_of_the_warehouse_with_its_rows(lake_night, other_machine):
    settings, summary, _ = lake_night
    with duckdb.connect(str(settings.warehouse), read_only=True) as local:
        local_tables = _tables(local, "msdb")
    lake_tables = _tables(other_machine, "lake")
    assert lake_tables == local_tables
    assert {"marts.dim_work", "marts.fct_licence_window", "kansei.work_tags", "similarity.work_neighbors",
            "similarity.ad_matches", "exports.delivery_ledger"} <= set(lake_tables)  # fmt: skip
    works = other_machine.execute(
        "SELECT count(*) FROM lake.marts.dim_work WHERE kind IN ('recording', 'movie', 'episode')"
    ).fetchone()[0]
    assert works == summary.works == 60  # plus their releases, series and seasons
    assert lake_tables["marts.dim_article"] == summary.articles == 6
    # views are SQL over the warehouse and its macros: not published
    assert "marts.partner_feed_works" not in lake_tables


@pytest.mark.parametrize("table", COMPARED)
def test_a_table_read_from_the_lake_equals_the_warehouse_row_for_row(lake_night, other_machine, table):
    settings, _, _ = lake_night
    with duckdb.connect(str(settings.warehouse), read_only=True) as local:
        expected = local.execute(f"SELECT * FROM msdb.{table} ORDER BY ALL").fetchall()
    assert expected
    assert other_machine.execute(f"SELECT * FROM lake.{table} ORDER BY ALL").fetchall() == expected


def test_a_generated_title_reads_the_same_from_the_lake(lake_night, other_machine):
    settings, _, _ = lake_night
    with duckdb.connect(str(settings.warehouse), read_only=True) as local:
        work_id, title, territories = local.execute(
            "SELECT w.work_id, w.title, list(DISTINCT l.territory ORDER BY l.territory) FROM marts.dim_work w "
            "JOIN marts.fct_licence_window l USING (work_id) GROUP BY ALL ORDER BY w.work_id LIMIT 1"
        ).fetchone()
    assert title and territories
    assert other_machine.execute(
        "SELECT w.title, list(DISTINCT l.territory ORDER BY l.territory) FROM lake.marts.dim_work w "
        "JOIN lake.marts.fct_licence_window l USING (work_id) WHERE work_id = ? GROUP BY ALL",
        [work_id],
    ).fetchone() == (title, territories)


def test_a_night_is_one_snapshot_and_its_data_are_parquet_objects_in_the_bucket(lake_night, other_machine, moto_s3):
    settings, _, _ = lake_night
    snapshots = other_machine.execute(
        "SELECT snapshot_id, commit_message FROM ducklake_snapshots('lake') WHERE author = 'msdb' "
        "AND commit_message LIKE '%\"command\": \"ingest build tag similar ads check export\"%'"
    ).fetchall()
    assert len(snapshots) == 1
    assert '"logical_date": "2026-11-24"' in snapshots[0][1]
    files = other_machine.execute(
        "SELECT data_file FROM ducklake_list_files('lake', 'dim_work', schema => 'marts')"
    ).fetchall()
    assert files and all(f.startswith(f"s3://{BUCKET}/lake/marts/dim_work/") and f.endswith(".parquet") for (f,) in files)
    s3 = boto3.client("s3", endpoint_url=moto_s3, region_name="ap-northeast-1")
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET) for o in page.get("Contents", [])]
    assert keys and all(k.startswith("lake/") and k.endswith(".parquet") for k in keys)
    head = s3.get_object(Bucket=BUCKET, Key=files[0][0].removeprefix(f"s3://{BUCKET}/"), Range="bytes=0-3")["Body"].read()
    assert head == b"PAR1"
    with duckdb.connect(str(settings.warehouse), read_only=True) as local:
        recorded = local.execute(
            "SELECT status, summary->'published' FROM ops.stage_runs WHERE stage = 'lake' AND (summary->>'snapshot_id') = ?",
            [str(snapshots[0][0])],
        ).fetchall()
    assert len(recorded) == 1 and recorded[0][0] == "success"
    assert {"marts.dim_work", "kansei.work_tags", "exports.delivery_ledger"} <= set(json.loads(recorded[0][1]))


def test_publishing_again_rewrites_nothing_unchanged(lake_night, other_machine):
    settings, _, _ = lake_night
    before = other_machine.execute("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')").fetchone()[0]
    again = publish_to_lake(settings, NIGHT, ("kansei", "marts"))
    assert again.published == [] and again.dropped == []
    assert "marts.dim_work" in again.unchanged and "kansei.work_tags" in again.unchanged
    assert other_machine.execute("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')").fetchone()[0] == before
    assert publish_lake(settings, NIGHT, ("ingest", "check")) is None  # stages that make no lake table


def test_an_unreachable_catalog_fails_the_publication_and_is_recorded(lake_night, tmp_path):
    settings, _, _ = lake_night
    copy = tmp_path / "msdb.duckdb"
    shutil.copyfile(settings.warehouse, copy)
    broken = settings.model_copy(
        update={"warehouse": copy, "lake": "ducklake:postgres:dbname=nowhere host=127.0.0.1 port=1 user=postgres"}
    )
    with pytest.raises(LakePublishFailed, match="publishing marts into the lake failed"):
        publish_lake(broken, NIGHT, ("build",))
    with duckdb.connect(str(copy), read_only=True) as local:
        status = local.execute(
            "SELECT status, summary->>'error' FROM ops.stage_runs WHERE stage = 'lake' ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    assert status[0] == "failed" and status[1].startswith("LakePublishFailed: publishing marts into the lake failed")


def test_several_workers_write_into_the_lake_at_once(lake_night):
    """What the lake gives beyond the file: writers that share nothing (here threads, each its own DuckDB, as
    workers on several machines would be) commit into one table at the same time, and no commit is lost."""
    settings, _, _ = lake_night
    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    with duckdb.connect(config=config) as con:
        attach_lake(con, settings)
        con.execute("CREATE SCHEMA lake.workers")
        con.execute("CREATE TABLE lake.workers.ingested_files (holder_id VARCHAR, file_number INTEGER)")

    def worker(holder_id: str) -> None:
        with duckdb.connect(config=config) as con:
            attach_lake(con, settings)
            for number in range(2):
                con.execute("INSERT INTO lake.workers.ingested_files VALUES (?, ?)", [holder_id, number])

    holders = ["label-a", "label-b", "studio-c"]
    with ThreadPoolExecutor(len(holders)) as pool:
        list(pool.map(worker, holders))
    with lake_reader(settings) as con:
        rows = con.execute(
            "SELECT holder_id, list(file_number ORDER BY file_number) FROM lake.workers.ingested_files GROUP BY 1 ORDER BY 1"
        ).fetchall()
        commits = con.execute(
            # small inserts are inlined into the catalog (`inlined_insert`), larger ones written as Parquet
            "SELECT count(*) FROM ducklake_snapshots('lake') WHERE author IS DISTINCT FROM 'msdb' "
            "AND list_has_any(map_keys(changes), ['inlined_insert', 'tables_inserted_into'])"
        ).fetchone()[0]
    assert rows == [("label-a", [0, 1]), ("label-b", [0, 1]), ("studio-c", [0, 1])]
    assert commits == 6


def test_a_stage_run_on_its_own_publishes_only_its_tables(lake_night, tmp_path):
    """What an Airflow task does: the export stage again (every feed already delivered) publishes `exports.*`
    alone, the ledger's new rows included."""
    settings, _, _ = lake_night
    summary = run_stage("export", NIGHT, settings)
    assert {d["status"] for d in summary["deliveries"]} == {"already_delivered"}
    with duckdb.connect(str(settings.warehouse), read_only=True) as local:
        published, ledger_rows = local.execute(
            "SELECT summary->'published', (SELECT count(*) FROM exports.delivery_ledger) FROM ops.stage_runs "
            "WHERE stage = 'lake' ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    assert json.loads(published) == ["exports.delivery_ledger"]
    with lake_reader(settings) as con:
        assert con.execute("SELECT count(*) FROM lake.exports.delivery_ledger").fetchone()[0] == ledger_rows
        assert con.execute(
            "SELECT count(*) FILTER (WHERE status = 'already_delivered') FROM lake.exports.delivery_ledger"
        ).fetchone()[0] == len(summary["deliveries"])


def test_the_preflight_refuses_a_lake_that_does_not_attach_or_whose_bucket_is_missing(lake_night):
    settings, _, _ = lake_night
    check_before_run(settings, ("build",))  # the night's lake attaches
    broken = settings.model_copy(update={"lake": "ducklake:postgres:dbname=nowhere host=127.0.0.1 port=1 user=postgres"})
    with pytest.raises(PreflightFailed, match=r"^lake ducklake:postgres:dbname=nowhere .*\(MSDB_LAKE\): cannot attach it"):
        check_before_run(broken, ("build",))
    check_before_run(broken, ("ingest",))  # a stage that publishes nothing does not need the lake
    no_bucket = settings.model_copy(update={"lake_data_path": "s3://no-such-lake/lake/"})
    with pytest.raises(PreflightFailed, match="its data path's bucket 'no-such-lake' answered 404"):
        check_before_run(no_bucket, ("tag",))
