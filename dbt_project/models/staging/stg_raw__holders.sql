with

source as (
    select * from {{ source('raw', 'holders') }}
),

final as (
    select
        -- ids
        holder_id,
        -- names
        name as holder_name,
        kind as holder_kind,
        -- defaults
        timezone,
        default_language,
        coalesce(licence_territories, []) as licence_territories
    from source
)

select * from final
