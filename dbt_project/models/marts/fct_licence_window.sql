with

windows as (
    select * from {{ ref('int_licence_windows_expanded') }}
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
        is_takedown,
        -- provenance
        rights_holder_id,
        source
    from windows
    inner join works on windows.work_id = works.work_id
)

select * from final
