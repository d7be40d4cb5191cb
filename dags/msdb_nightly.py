"""
### MSDB nightly

Files landed by rights-holders and media become partner feeds:
`ingest → build → tag → similar → ads → check → export`, one task per stage of `pipelines.nightly`,
the same functions `msdb run` calls from a shell. The quality gate runs after tag and similar:
it checks the partner feeds as they will be delivered, tags and similar titles included.

**Schedule.** Daily at 02:00 Asia/Tokyo. The run that fires at 02:00 JST on D+1 processes day D:
its data interval starts at 02:00 JST on D, and that start is the logical date. Each task reads
the logical date in Asia/Tokyo, so `airflow dags test msdb_nightly D` and `msdb run --date D`
process the same day.

**Pool.** Every stage writes the one DuckDB warehouse file, which takes one writer at a time:
all tasks run in the pool `duckdb_writer` (1 slot), created with
`airflow pools set duckdb_writer 1 "one writer on the MSDB DuckDB warehouse"`.

**Configuration.** `MSDB_*` environment variables of the worker (`MSDB_LANDING`,
`MSDB_WAREHOUSE`, `MSDB_DELIVER`, `MSDB_VAR_DIR`, ...); see `dags/README.md`.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, dag, task

BUSINESS_TZ = "Asia/Tokyo"
DUCKDB_WRITER_POOL = "duckdb_writer"

# What downstream DAGs can schedule on; partner feeds are one asset (their list lives in contract files,
# which are not read at parse time).
WAREHOUSE_MARTS = Asset(name="msdb_marts", uri="msdb://warehouse/marts")
KANSEI_TAGS = Asset(name="msdb_kansei_tags", uri="msdb://warehouse/kansei")
WORK_NEIGHBORS = Asset(name="msdb_work_neighbors", uri="msdb://warehouse/similarity")
AD_MATCHES = Asset(name="msdb_ad_matches", uri="msdb://warehouse/similarity/ad_matches")
PARTNER_FEEDS = Asset(name="msdb_partner_feeds", uri="msdb://deliveries/")


def processing_day(dag_run) -> date:
    """The Tokyo day a run processes: its logical date read in Asia/Tokyo.

    A run triggered without a logical date processes the day before it ran, by the rule of `msdb run`.
    """
    if dag_run.logical_date is None:
        from pipelines.settings import default_logical_date

        return default_logical_date(dag_run.run_after)
    return dag_run.logical_date.astimezone(ZoneInfo(BUSINESS_TZ)).date()


@dag(
    dag_id="msdb_nightly",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone=BUSINESS_TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=BUSINESS_TZ),
    catchup=False,
    max_active_runs=1,
    tags=["msdb", "nightly"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "pool": DUCKDB_WRITER_POOL,
    },
)
def msdb_nightly():
    @task
    def ingest(dag_run=None) -> dict:
        from pipelines.nightly import run_stage

        return run_stage("ingest", processing_day(dag_run))

    @task(outlets=[WAREHOUSE_MARTS])
    def build(dag_run=None) -> dict:
        from pipelines.nightly import run_stage

        return run_stage("build", processing_day(dag_run))

    @task(outlets=[KANSEI_TAGS])
    def tag(dag_run=None) -> dict:
        from pipelines.nightly import run_stage

        return run_stage("tag", processing_day(dag_run))

    @task(outlets=[WORK_NEIGHBORS])
    def similar(dag_run=None) -> dict:
        from pipelines.nightly import run_stage

        return run_stage("similar", processing_day(dag_run))

    @task(outlets=[AD_MATCHES])
    def ads(dag_run=None) -> dict:
        from pipelines.nightly import run_stage

        return run_stage("ads", processing_day(dag_run))

    @task
    def check(dag_run=None) -> dict:
        from pipelines.nightly import run_stage

        return run_stage("check", processing_day(dag_run))

    @task(outlets=[PARTNER_FEEDS])
    def export(dag_run=None) -> dict:
        from pipelines.nightly import run_stage

        return run_stage("export", processing_day(dag_run))

    ingest() >> build() >> tag() >> similar() >> ads() >> check() >> export()


msdb_nightly()
