with

versions as (
    select * from {{ ref('stg_ads__creatives') }}
),

-- the latest delivery of each creative wins: arrival, then file and line break ties
latest as (
    select *
    from versions
    qualify row_number() over (
        partition by creative_id
        order by ingested_at desc, file_path desc, line_number desc, version_id desc
    ) = 1
),

final as (
    select
        -- ids
        creative_id,
        advertiser_id,
        campaign_id,
        -- copy
        language,
        headline,
        body,
        landing_url,
        -- targeting
        target_kansei_tags,
        iab_categories,
        excluded_categories,
        excluded_risk_levels,
        -- dates
        flight_start,
        flight_end,
        ingested_at as delivered_at,
        -- provenance
        version_id,
        file_path
    from latest
)

select * from final
