"""
### MSDB nightly

Files landed by rights-holders and media become partner feeds:
`claim_warehouse → ingest (one per rights-holder, publisher and advertiser) → build → embed (one per shard of
tonight's texts) → tag → similar → ads → check → export (one per partner) → release_warehouse`, each a stage of
`pipelines.nightly`, the same functions `msdb run` calls from a shell (`embed` only fills the embedding cache
that `tag` reads: `msdb run` leaves it to `tag`). The quality gate (`check`) runs after tag and similar:
it checks the partner feeds as they will be delivered, tags and similar titles included.

**Schedule.** Daily at 02:00 Asia/Tokyo. The run that fires at 02:00 JST on D+1 processes day D:
its data interval starts at 02:00 JST on D, and that start is the logical date. Each task reads
the logical date in Asia/Tokyo, so `airflow dags test msdb_nightly D` and `msdb run --date D`
process the same day.

**One run at a time.** `max_active_runs=1` holds scheduled runs apart, but each backfill has its
own `max_active_runs`: `claim_warehouse` waits (rescheduled, not holding a slot) until no run of an
earlier logical date is active and no other run holds the warehouse, and `release_warehouse` (a
teardown: it runs even when a stage failed) lets the next one go. Runs so go one after another in
logical-date order, whatever made them. Backfill: see `dags/README.md` for the date bounds.

**Retries.** 2 per task, 2 then 4 minutes apart (exponential backoff); a task that fails for good
logs an alert and POSTs it to the `msdb_alerts` connection's webhook when there is one.

**Pool.** Every stage writes the one DuckDB warehouse file, which takes one writer at a time:
the stage tasks run in the pool `duckdb_writer` (1 slot), created with
`airflow pools set duckdb_writer 1 "one writer on the MSDB DuckDB warehouse"`. The `embed` tasks write no
warehouse row (they read the copy `build` published): they run in `default_pool`, side by side on the workers,
into the embedding cache under `MSDB_VAR_DIR` (shared storage when the workers are on several hosts).

**Configuration.** `MSDB_*` environment variables of the worker (`MSDB_LANDING`,
`MSDB_WAREHOUSE`, `MSDB_DELIVER`, `MSDB_VAR_DIR`, ...); see `dags/README.md`.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pendulum
from airflow.sdk import Asset, AssetAlias, CronDataIntervalTimetable, PokeReturnValue, dag, task

from pipelines.alerts import on_task_failure

DAG_ID = "msdb_nightly"
BUSINESS_TZ = "Asia/Tokyo"
DUCKDB_WRITER_POOL = "duckdb_writer"

# What downstream DAGs can schedule on. Each partner feed is its own asset,
# `msdb://deliveries/<partner_id>/<feed>`, announced through the alias when a new delivery is written:
# which partners exist is in contract files, read by the tasks, not at parse time.
WAREHOUSE_MARTS = Asset(name="msdb_marts", uri="msdb://warehouse/marts")
KANSEI_TAGS = Asset(name="msdb_kansei_tags", uri="msdb://warehouse/kansei")
WORK_NEIGHBORS = Asset(name="msdb_work_neighbors", uri="msdb://warehouse/similarity")
AD_MATCHES = Asset(name="msdb_ad_matches", uri="msdb://warehouse/similarity/ad_matches")
PARTNER_FEEDS = AssetAlias(name="msdb_partner_feeds")


def partner_feed_asset(partner_id: str, feed: str) -> Asset:
    return Asset(name=f"msdb_feed__{partner_id}__{feed}", uri=f"msdb://deliveries/{partner_id}/{feed}")


def processing_day(dag_run) -> date:
    """The Tokyo day a run processes: its logical date read in Asia/Tokyo.

    A run triggered without a logical date processes the day before it ran, by the rule of `msdb run`.
    """
    if dag_run.logical_date is None:
        from pipelines.settings import default_logical_date

        return default_logical_date(dag_run.run_after)
    return dag_run.logical_date.astimezone(ZoneInfo(BUSINESS_TZ)).date()


@dag(
    dag_id=DAG_ID,
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone=BUSINESS_TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=BUSINESS_TZ),
    catchup=False,
    max_active_runs=1,
    tags=["msdb", "nightly"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        "pool": DUCKDB_WRITER_POOL,
        "on_failure_callback": on_task_failure,
    },
)
def msdb_nightly():
    @task.sensor(pool="default_pool", mode="reschedule", poke_interval=30, timeout=timedelta(hours=20))
    def claim_warehouse(dag_run=None, ti=None) -> PokeReturnValue:
        from pipelines.nightly import ACTIVE_RUN_STATES, claim_warehouse_for_run

        waiting = claim_warehouse_for_run(
            dag_run.run_id,
            earlier_run_active=any(ti.get_previous_dagrun(state=state) for state in ACTIVE_RUN_STATES),
            run_active=lambda run_id: ti.get_dagrun_state(DAG_ID, run_id) in ACTIVE_RUN_STATES,
        )
        return PokeReturnValue(is_done=waiting is None, xcom_value=waiting)

    @task(pool="default_pool")
    def ingest_sources() -> list[str]:
        from pipelines.nightly import ingest_sources

        return ingest_sources()

    @task(map_index_template="{{ source }}")
    def ingest(source: str, dag_run=None) -> dict:
        from pipelines.nightly import run_stage

        return run_stage("ingest", processing_day(dag_run), source=source)

    @task(outlets=[WAREHOUSE_MARTS], trigger_rule="none_failed")  # built even when no holder has files
    def build(dag_run=None) -> dict:
        from pipelines.nightly import run_stage

        return run_stage("build", processing_day(dag_run))

    @task(pool="default_pool")
    def kansei_shards() -> list[dict]:
        from pipelines.nightly import kansei_shards

        return kansei_shards()

    @task(pool="default_pool", map_index_template="{{ shard }}/{{ shards }}")
    def embed(shard: int, shards: int) -> dict:
        from pipelines.nightly import embed_kansei_shard

        return embed_kansei_shard(shard, shards)

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

    @task(pool="default_pool")
    def partners() -> list[str]:
        from pipelines.nightly import partner_ids

        return partner_ids()

    @task(outlets=[PARTNER_FEEDS], map_index_template="{{ partner_id }}")
    def export(partner_id: str, dag_run=None, outlet_events=None) -> dict:
        from pipelines.nightly import run_stage

        summary = run_stage("export", processing_day(dag_run), partner_id=partner_id)
        for delivery in summary["deliveries"]:
            if delivery["status"] == "delivered":
                outlet_events[PARTNER_FEEDS].add(
                    partner_feed_asset(delivery["partner_id"], delivery["feed"]), extra={"uri": delivery["uri"]}
                )
        return summary

    @task(pool="default_pool")
    def release_warehouse(dag_run=None) -> bool:
        from pipelines.nightly import release_warehouse_for_run

        return release_warehouse_for_run(dag_run.run_id)

    claim = claim_warehouse()
    sources, partner_list, shard_list = ingest_sources(), partners(), kansei_shards()
    claim >> [sources, partner_list, shard_list]
    loaded = ingest.expand(source=sources)
    built = build()
    embedded = embed.expand_kwargs(shard_list)
    loaded >> built >> embedded >> tag() >> similar() >> ads() >> check() >> (delivered := export.expand(partner_id=partner_list))
    delivered >> release_warehouse().as_teardown(setups=claim)


msdb_nightly()
