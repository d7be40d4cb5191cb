-- One row per work × territory × commercial model × use type × window: terms that overlap or touch are one
-- window (two releases licensing the same recording, a renewal that starts the day after the old end).
-- A takedown deal withdraws the terms of its own message (file) for that work/territory/model/use: deals belong
-- to a release, so an album's takedown does not withdraw the licence a single's current deals give the same
-- recording. When every term of a work/territory/model/use is taken down, its windows stay, withdrawn.
with

expanded as (
    select * from {{ ref('int_licence_windows_expanded') }}
),

taken_down as (
    select work_id, territory, commercial_model, use_type, file_id, min(granted_at) as withdrawn_at
    from expanded
    where is_takedown
    group by all
),

-- Terms taken down by their own message license nothing: they are merged (as withdrawn windows) only where no
-- term of the work/territory/model/use is left in force.
-- Both window passes below order a partition the same total way (a term's id breaks ties between terms with
-- equal start and end, e.g. a track deal and a release deal of one file): with a partial order the second
-- pass could see the tied terms the other way round and cut one window into two with the same start.
bounded as (
    select
        expanded.*,
        coalesce(expanded.window_start, date '0001-01-01') as start_bound,
        coalesce(expanded.window_end, date '9999-12-31') as end_bound,
        taken_down.file_id is not null as is_taken_down,
        taken_down.withdrawn_at as taken_down_at
    from expanded
    left join taken_down using (work_id, territory, commercial_model, use_type, file_id)
    where not expanded.is_takedown
    qualify not is_taken_down
        or bool_and(is_taken_down) over (partition by work_id, territory, commercial_model, use_type)
),

ordered as (
    select
        *,
        max(end_bound) over (
            partition by work_id, territory, commercial_model, use_type
            order by start_bound, end_bound, licence_term_id
            rows between unbounded preceding and 1 preceding
        ) as previous_end
    from bounded
),

islands as (
    select
        *,
        sum(case when previous_end is null or start_bound > previous_end + 1 then 1 else 0 end) over (
            partition by work_id, territory, commercial_model, use_type
            order by start_bound, end_bound, licence_term_id
            rows between unbounded preceding and current row
        ) as island
    from ordered
),

merged as (
    select
        work_id,
        territory,
        commercial_model,
        use_type,
        min(start_bound) as start_bound,
        max(end_bound) as end_bound,
        min(rights_holder_id) as rights_holder_id,
        list(distinct rights_holder_id order by rights_holder_id) as rights_holder_ids,
        min(source) as source,
        count(distinct licence_term_id) as term_count,
        max(purged_at) filter (where is_withdrawn) as purged_at,
        bool_and(is_withdrawn) as all_purged,
        bool_and(is_taken_down) as all_taken_down,
        min(taken_down_at) as taken_down_at
    from islands
    group by work_id, territory, commercial_model, use_type, island
),

takedowns_only as (
    -- a takedown with nothing to take down is still a fact worth keeping
    select
        expanded.work_id, expanded.territory, expanded.commercial_model, expanded.use_type,
        coalesce(min(expanded.window_start), date '0001-01-01') as start_bound,
        coalesce(max(expanded.window_end), date '9999-12-31') as end_bound,
        min(expanded.rights_holder_id) as rights_holder_id,
        list(distinct expanded.rights_holder_id order by expanded.rights_holder_id) as rights_holder_ids,
        min(expanded.source) as source,
        count(distinct expanded.licence_term_id) as term_count,
        min(expanded.granted_at) as purged_at,
        true as all_purged,
        true as all_taken_down,
        min(expanded.granted_at) as taken_down_at
    from expanded
    anti join bounded using (work_id, territory, commercial_model, use_type)
    where expanded.is_takedown
    group by all
),

windows as (
    select * from merged
    union all by name
    select * from takedowns_only
),

final as (
    select
        -- ids
        windows.work_id,
        windows.territory,
        windows.commercial_model,
        windows.use_type,
        -- window
        nullif(windows.start_bound, date '0001-01-01') as window_start,
        nullif(windows.end_bound, date '9999-12-31') as window_end,
        windows.end_bound = date '9999-12-31' as is_open_ended,
        windows.all_taken_down as is_takedown,
        windows.all_purged or windows.all_taken_down as is_withdrawn,
        case
            when windows.all_taken_down then coalesce(windows.taken_down_at, windows.purged_at)
            when windows.all_purged then windows.purged_at
        end as withdrawn_at,
        -- provenance
        windows.rights_holder_id,
        windows.rights_holder_ids,
        windows.source,
        windows.term_count
    from windows
)

select * from final
