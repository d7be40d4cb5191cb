"""The lake: the warehouse's outputs published into a DuckLake, for machines that cannot open the file.

A DuckDB file has one writer and lives on one machine's disk. A DuckLake keeps its catalog in a database
(PostgreSQL here: `MSDB_LAKE=ducklake:postgres:dbname=... host=...`) and its data as Parquet files under a
data path (`MSDB_LAKE_DATA_PATH=s3://bucket/lake/`), so any number of machines read it, and several write
into it at once (each commit is a snapshot; the catalog serialises them). When `MSDB_LAKE` is set, each stage
that makes tables readers want (`LAKE_SCHEMAS`) ends by publishing them: `msdb run` once at the end of the
night, an Airflow task at the end of its stage (`pipelines.nightly`).

One publication is one DuckLake transaction, so one snapshot: a reader sees all of a night's tables or none
of them. A table whose content digest (`TABLE_DIGEST`: row count and the sum of the rows' hashes) equals the
one last published is not rewritten: a quiet night writes only what changed. A table gone from the warehouse
is dropped from the lake. Views are not published (they are SQL over the warehouse and its macros): readers of
the lake get the tables. Credentials: the PostgreSQL password by libpq's own means (`PGPASSWORD`,
`~/.pgpass`, `PGSERVICEFILE`), never in the setting; S3 keys from the standard AWS chain (boto3 resolves it:
environment, profile, instance role), handed to DuckDB as a temporary in-memory secret. The preflight checks that
the lake attaches before the first stage (`lake_problem`).

Old snapshots keep their Parquet files until expired:
`CALL ducklake_expire_snapshots('lake', older_than => now() - INTERVAL 30 DAY)` then
`CALL ducklake_cleanup_old_files('lake', cleanup_all => true)` (a maintenance job's, not the nightly's).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pipelines.settings import MsdbSettings
from pipelines.warehouse.connection import load_extension

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

LAKE_ALIAS = "lake"
# The warehouse schemas each stage writes that other machines read (raw and ops stay in the warehouse)
LAKE_SCHEMAS = {
    "build": ("marts",),
    "tag": ("kansei",),
    "similar": ("similarity",),
    "ads": ("similarity",),
    "export": ("exports",),
}
# Where the lake keeps what it was last given: one row per published table
PUBLICATIONS = f"{LAKE_ALIAS}.msdb.published_tables"
# Row count and an order-free digest of a table's rows (`{table}`: a qualified name)
TABLE_DIGEST = "SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0)::VARCHAR FROM {table} AS t"


class LakePublishFailed(RuntimeError):
    """The warehouse's tables could not be published into the lake; the warehouse itself is intact, and the
    next run or stage publishes again."""


@dataclass
class LakePublication:
    snapshot_id: int | None = None
    published: list[str] = field(default_factory=list)  # schema.table rewritten
    unchanged: list[str] = field(default_factory=list)  # same digest as the lake's: not rewritten
    dropped: list[str] = field(default_factory=list)  # gone from the warehouse


def lake_schemas(stages: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({schema for stage in stages for schema in LAKE_SCHEMAS.get(stage, ())}))


def _s3_secret(con: duckdb.DuckDBPyConnection, settings: MsdbSettings) -> None:
    """A temporary (in-memory) S3 secret from the standard AWS credential chain and `MSDB_S3_ENDPOINT_URL`."""
    import boto3

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise LakePublishFailed("no AWS credentials for the lake's data path (AWS_ACCESS_KEY_ID, a profile or a role)")
    frozen = credentials.get_frozen_credentials()
    options = {"KEY_ID": frozen.access_key, "SECRET": frozen.secret_key, "REGION": settings.s3_region}
    if frozen.token:
        options["SESSION_TOKEN"] = frozen.token
    if settings.s3_endpoint_url:
        endpoint = urlsplit(settings.s3_endpoint_url)
        options |= {"ENDPOINT": endpoint.netloc, "URL_STYLE": "path", "USE_SSL": str(endpoint.scheme == "https").lower()}
    values = ", ".join(f"{key} {_quote(value)}" if key != "USE_SSL" else f"{key} {value}" for key, value in options.items())
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET msdb_lake_s3 (TYPE s3, {values})")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def attach_lake(con: duckdb.DuckDBPyConnection, settings: MsdbSettings, read_only: bool = False) -> None:
    """Attach `settings.lake` as `lake` to `con`: the extensions from their packages, S3 credentials when the
    data path (or, for an existing lake, possibly the stored one) is on S3."""
    if not settings.lake:
        raise ValueError("no lake configured (MSDB_LAKE)")
    for extension in ("httpfs", "postgres", "ducklake"):
        load_extension(con, extension)
    _s3_secret(con, settings)
    options = ["READ_ONLY"] if read_only else []
    if settings.lake_data_path and not read_only:
        options.append(f"DATA_PATH {_quote(settings.lake_data_path)}")
    suffix = f" ({', '.join(options)})" if options else ""
    con.execute(f"ATTACH {_quote(settings.lake)} AS {LAKE_ALIAS}{suffix}")


@contextmanager
def lake_reader(settings: MsdbSettings) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with the lake attached read-only as `lake` (`lake.marts.dim_work`)."""
    import duckdb

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        attach_lake(con, settings, read_only=True)
        yield con
    finally:
        con.close()


def lake_problem(settings: MsdbSettings) -> str | None:
    """Why the lake cannot be published into, or None: the catalog attaches (created on first use, as the first
    publication would) and the bucket of an S3 data path answers. For the preflight (`pipelines.preflight`)."""
    import duckdb

    data_path = urlsplit(settings.lake_data_path or "")
    if data_path.scheme == "s3":
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region,
                              config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2}))  # fmt: skip
        try:
            client.head_bucket(Bucket=data_path.netloc)
        except ClientError as exc:
            return f"its data path's bucket {data_path.netloc!r} answered {exc.response.get('Error', {}).get('Code', '?')}"
        except BotoCoreError as exc:
            return f"its data path's bucket {data_path.netloc!r} is not reachable: {exc}"
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        attach_lake(con, settings)
    except (duckdb.Error, LakePublishFailed) as exc:
        return f"cannot attach it: {str(exc).splitlines()[0]}"
    finally:
        con.close()
    return None


def _tables(con: duckdb.DuckDBPyConnection, catalog: str, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    return [
        tuple(row)
        for row in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? AND list_contains(?, schema_name) "
            "ORDER BY ALL",
            [catalog, list(schemas)],
        ).fetchall()
    ]


def publish_to_lake(settings: MsdbSettings, logical_date: date, schemas: tuple[str, ...], command: str = "") -> LakePublication:
    """Copy the warehouse's tables of `schemas` into the lake, in one DuckLake transaction. Call under the
    warehouse's run lock with no connection of this process open on it."""
    import duckdb

    out = LakePublication()
    if not schemas:
        return out
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        con.execute(f"ATTACH {_quote(str(settings.warehouse))} AS warehouse (READ_ONLY)")
        attach_lake(con, settings)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {LAKE_ALIAS}.msdb")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {PUBLICATIONS} (schema_name VARCHAR, table_name VARCHAR, row_count BIGINT, "
            "digest VARCHAR, logical_date DATE, published_at TIMESTAMPTZ)"
        )
        con.begin()
        known = {
            (s, t): (n, d)
            for s, t, n, d in con.execute(f"SELECT schema_name, table_name, row_count, digest FROM {PUBLICATIONS}").fetchall()
        }
        wanted = _tables(con, "warehouse", schemas)
        for schema, table in wanted:
            name = f"{schema}.{table}"
            rows, digest = con.execute(TABLE_DIGEST.format(table=f"warehouse.{name}")).fetchone()
            lake_has = (schema, table) in _tables(con, LAKE_ALIAS, (schema,))
            if lake_has and known.get((schema, table)) == (rows, digest):
                out.unchanged.append(name)
                continue
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {LAKE_ALIAS}.{schema}")
            con.execute(f"CREATE OR REPLACE TABLE {LAKE_ALIAS}.{name} AS SELECT * FROM warehouse.{name}")
            con.execute(f"DELETE FROM {PUBLICATIONS} WHERE schema_name = ? AND table_name = ?", [schema, table])
            con.execute(f"INSERT INTO {PUBLICATIONS} VALUES (?, ?, ?, ?, ?, now())", [schema, table, rows, digest, logical_date])
            out.published.append(name)
        for schema, table in _tables(con, LAKE_ALIAS, schemas):
            if (schema, table) not in wanted:
                con.execute(f"DROP TABLE {LAKE_ALIAS}.{schema}.{table}")
                con.execute(f"DELETE FROM {PUBLICATIONS} WHERE schema_name = ? AND table_name = ?", [schema, table])
                out.dropped.append(f"{schema}.{table}")
        message = {"logical_date": str(logical_date), "command": command} | {
            k: v for k, v in (("published", out.published), ("dropped", out.dropped)) if v
        }
        con.execute(f"CALL {LAKE_ALIAS}.set_commit_message('msdb', ?)", [json.dumps(message)])
        con.commit()
        out.snapshot_id = con.execute(f"SELECT id FROM {LAKE_ALIAS}.current_snapshot()").fetchone()[0]
    except duckdb.Error as exc:
        raise LakePublishFailed(f"publishing {', '.join(schemas)} into the lake failed: {exc}") from exc
    finally:
        con.close()
    log.info("lake snapshot %s: %d tables published, %d unchanged, %d dropped",
             out.snapshot_id, len(out.published), len(out.unchanged), len(out.dropped))  # fmt: skip
    return out
