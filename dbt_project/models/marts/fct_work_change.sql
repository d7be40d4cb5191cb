-- One row per work × published change. Built on the snapshots (system time): they only ever append, so the
-- change_sequence of a work only ever grows, and a feed that remembers the last sequence it sent per work
-- (or the last changed_at) sends exactly what changed since.
with

work_versions as (
    select * from {{ ref('snap_dim_work') }}
),

window_versions as (
    select * from {{ ref('snap_fct_licence_window') }}
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
