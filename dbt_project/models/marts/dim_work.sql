with

works as (
    select * from {{ ref('int_works_unioned') }}
),

final as (
    select
        -- ids
        work_id,
        kind,
        source_key,
        holder_id as rights_holder_id,
        parent_work_id,
        -- titles
        title,
        title as title_original,
        title_ja,
        title_en,
        title_latn,
        display_artist,
        genres,
        summary,
        series_name,
        season_number,
        episode_number,
        -- facts
        duration_seconds,
        release_date,
        production_year,
        parental_warning,
        rating,
        label_name,
        -- external ids
        isrc,
        icpn,
        grid,
        catalog_number,
        isan,
        eidr,
        provider_asset_id,
        -- status
        is_withdrawn,
        withdrawn_at,
        source_count,
        -- provenance
        source_system,
        delivered_at,
        first_delivered_at,
        file_id,
        message_id
    from works
)

select * from final
