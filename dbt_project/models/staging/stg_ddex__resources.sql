with

source as (
    select * from {{ source('raw', 'ddex_resources') }}
),

final as (
    select
        -- ids
        file_id,
        message_id,
        resource_reference,
        upper(isrc) as isrc,
        holder_id,
        -- kind
        resource_kind,
        resource_type,
        -- titles
        title,
        {{ title_in('titles', ['ja-Jpan', 'ja']) }} as title_ja,
        {{ title_in('titles', ['ja-Latn']) }} as title_latn,
        titles,
        display_artist,
        -- facts
        duration_seconds,
        parental_warning,
        language_of_performance,
        -- dates
        message_created_at
    from source
)

select * from final
