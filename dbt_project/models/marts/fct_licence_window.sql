with

windows as (
    select * from {{ ref('int_licence_windows_merged') }}
),

works as (
    select work_id from {{ ref('dim_work') }}
),

final as (
    select
        -- ids
        {{ dbt_utils_surrogate(['windows.work_id', 'territory', 'commercial_model', 'use_type', 'window_start']) }} as licence_window_id,
        windows.work_id,
        territory,
        commercial_model,
        use_type,
        -- window
        window_start,
        window_end,
        is_open_ended,
        -- status
        case when is_withdrawn then 'withdrawn' else 'active' end as status,
        is_takedown,
        is_withdrawn,
        withdrawn_at,
        -- provenance
        rights_holder_id,
        rights_holder_ids,
        source,
        term_count
    from windows
    inner join works on windows.work_id = works.work_id
)

select * from final
