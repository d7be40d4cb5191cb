-- One row per work × published change. Built on the snapshots (system time): they only ever append, so the
-- change_sequence of a work only ever grows, and a feed that remembers the last sequence it sent per work
-- (or the last changed_at) sends exactly what changed since.
--
-- Incremental by change cursor: a work's rows depend only on its own versions, so a night recomputes the works
-- with a version opened or closed after the latest changed_at already here (delete+insert on work_id) from all
-- their versions, and reads nothing else of the snapshots but the two time columns that find them.
-- Memory: the changed works' versions, within the build's DuckDB memory_limit.
{{ config(
    materialized='incremental',
    unique_key='work_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

with

{% if is_incremental() %}
cursor as (
    select coalesce(max(changed_at), '-infinity'::timestamptz) as changed_at from {{ this }}
),

changed_works as (
    select work_id from {{ ref('snap_dim_work') }}
    where dbt_valid_from > (select changed_at from cursor) or dbt_valid_to > (select changed_at from cursor)
    union
    select work_id from {{ ref('snap_fct_licence_window') }}
    where dbt_valid_from > (select changed_at from cursor) or dbt_valid_to > (select changed_at from cursor)
),
{% endif %}

work_versions as (
    select * from {{ ref('snap_dim_work') }}
    {% if is_incremental() %}where work_id in (select work_id from changed_works){% endif %}
),

window_versions as (
    select * from {{ ref('snap_fct_licence_window') }}
    {% if is_incremental() %}where work_id in (select work_id from changed_works){% endif %}
),

work_events as (
    select
        work_id,
        dbt_valid_from as changed_at,
        case
            when lag(dbt_valid_from) over (partition by work_id order by dbt_valid_from, dbt_scd_id) is null then 'work_created'
            when is_withdrawn and not coalesce(lag(is_withdrawn) over (partition by work_id order by dbt_valid_from, dbt_scd_id), false)
                then 'work_withdrawn'
            else 'work_updated'
        end as change_kind
    from work_versions
    union all
    -- a version closed with no successor: the work left the catalog
    select work_id, dbt_valid_to as changed_at, 'work_removed' as change_kind
    from work_versions as closed
    where dbt_valid_to is not null
      and not exists (
          select 1 from work_versions as later
          where later.work_id = closed.work_id and later.dbt_valid_from = closed.dbt_valid_to
      )
),

window_events as (
    select work_id, dbt_valid_from as changed_at, 'licence_changed' as change_kind
    from window_versions
    union all
    select work_id, dbt_valid_to as changed_at, 'licence_changed' as change_kind
    from window_versions as closed
    where dbt_valid_to is not null
      and not exists (
          select 1 from window_versions as later
          where later.licence_window_id = closed.licence_window_id and later.dbt_valid_from = closed.dbt_valid_to
      )
),

events as (
    select * from work_events
    union all
    select * from window_events
),

changes as (
    select
        work_id,
        changed_at,
        list(distinct change_kind order by change_kind) as change_kinds
    from events
    group by work_id, changed_at
),

final as (
    select
        -- ids
        work_id || '#' || row_number() over (partition by work_id order by changed_at) as work_change_id,
        work_id,
        row_number() over (partition by work_id order by changed_at) as change_sequence,
        -- change
        changed_at,
        change_kinds
    from changes
)

select * from final
