with

source as (
    {{ raw_relation('ad_creatives', {
        'line_number': 'integer',
        'advertiser_id': 'varchar',
        'campaign_id': 'varchar',
        'creative_id': 'varchar',
        'language': 'varchar',
        'headline': 'varchar',
        'body': 'varchar',
        'landing_url': 'varchar',
        'target_kansei_tags': 'varchar[]',
        'iab_categories': 'varchar[]',
        'excluded_categories': 'varchar[]',
        'excluded_risk_levels': 'varchar[]',
        'flight_start': 'date',
        'flight_end': 'date',
        'ingested_at': 'timestamptz',
    }) }}
),

final as (
    select
        -- ids
        file_id || ':' || record_position as version_id,
        creative_id,
        advertiser_id,
        campaign_id,
        -- copy
        language,
        headline,
        body,
        landing_url,
        -- targeting
        coalesce(target_kansei_tags, []) as target_kansei_tags,
        iab_categories,
        coalesce(excluded_categories, []) as excluded_categories,
        coalesce(excluded_risk_levels, []) as excluded_risk_levels,
        -- dates
        flight_start,
        flight_end,
        ingested_at,
        -- provenance
        file_id,
        file_path,
        line_number,
        record_position
    from source
)

select * from final
