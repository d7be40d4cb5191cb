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
        -- titles
        title,
        title_ja,
        title_en,
        title_latn,
        display_artist,
        genres,
        summary,
        -- facts
        duration_seconds,
        release_date,
        -- external ids
        isrc,
        icpn,
        grid,
        provider_asset_id,
        -- provenance
        delivered_at,
        file_id
    from works
)

select * from final
