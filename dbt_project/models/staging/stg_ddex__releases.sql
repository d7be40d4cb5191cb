with

source as (
    select * from {{ source('raw', 'ddex_releases') }}
),

final as (
    select
        -- ids
        file_id,
        message_id,
        release_reference,
        icpn,
        grid,
        catalog_number,
        proprietary_id,
        holder_id,
        -- kind
        release_type,
        is_main_release,
        -- titles
        title,
        {{ title_in('titles', ['ja-Jpan', 'ja']) }} as title_ja,
        {{ title_in('titles', ['ja-Latn']) }} as title_latn,
        titles,
        display_artist,
        label_name,
        genres,
        -- facts
        duration_seconds,
        resource_references,
        -- dates
        release_date,
        message_created_at
    from source
)

select * from final
