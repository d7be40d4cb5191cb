with

source as (
    select * from {{ source('raw', 'ddex_deals') }}
),

final as (
    select
        -- ids
        file_id,
        message_id,
        release_reference,
        deal_position,
        holder_id,
        -- terms
        territories,
        excluded_territories,
        commercial_models,
        use_types,
        is_takedown,
        -- dates
        start_date,
        end_date,
        message_created_at
    from source
)

select * from final
