with

sources as (
    select * from {{ ref('int_work_sources') }}
),

resolved as (
    select * from {{ ref('int_works_resolved') }}
),

final as (
    select
        -- ids
        {{ dbt_utils_surrogate(['resolved.work_id', 'sources.source_key', 'sources.holder_id']) }} as work_source_id,
        resolved.work_id,
        sources.source_key,
        sources.holder_id as rights_holder_id,
        sources.source_system,
        -- resolution
        resolved.match_rule,
        -- deliveries
        count(*) as versions_delivered,
        min(sources.delivered_at) as first_delivered_at,
        max(sources.delivered_at) as last_delivered_at,
        arg_max(sources.file_id, sources.source_version) as latest_file_id
    from sources
    inner join resolved on sources.source_key = resolved.source_key
    group by all
)

select * from final
