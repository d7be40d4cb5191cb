with

versions as (
    select * from {{ ref('int_article_versions_grouped') }}
),

final as (
    select
        -- ids
        version_id,
        article_id,
        version_number,
        is_latest,
        publisher_id,
        file_id,
        record_position,
        -- urls
        url,
        canonical_url,
        -- text
        title,
        language,
        category,
        content_hash,
        -- provenance
        source_format,
        quality_flags,
        -- dates
        published_at_raw,
        published_at,
        updated_at,
        ingested_at
    from versions
)

select * from final
