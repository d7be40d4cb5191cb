with

source as (
    select * from {{ source('raw', 'adi_titles') }}
),

final as (
    select
        -- ids
        file_id,
        provider_id,
        asset_id,
        package_asset_id,
        holder_id,
        -- kind
        case lower(show_type)
            when 'movie' then 'movie'
            when 'series' then 'episode'
            when 'episode' then 'episode'
            else 'movie'
        end as work_kind,
        -- titles
        title,
        title_ja,
        series_name,
        season_number,
        episode_number,
        episode_name,
        summary_short,
        summary_long,
        genres,
        categories,
        rating,
        -- facts
        run_time_seconds,
        year,
        -- dates
        creation_date,
        licensing_window_start,
        licensing_window_end
    from source
)

select * from final
