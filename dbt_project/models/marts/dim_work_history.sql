-- Business-time history: every delivered state of a work, in the order the rights-holders created them.
-- Rebuilt from raw on every build, so a message that arrives late still lands in its place in time.
with

sources as (
    select * from {{ ref('int_work_sources') }}
),

resolved as (
    select * from {{ ref('int_works_resolved') }}
),

versions as (
    select resolved.work_id, sources.*
    from sources
    inner join resolved on sources.source_key = resolved.source_key
),

sequenced as (
    select
        *,
        row_number() over (
            partition by work_id
            order by delivered_at nulls first, version_major, version_minor, file_id, record_position, source_key
        ) as version_number
    from versions
),

timed as (
    select
        *,
        lead(delivered_at) over (partition by work_id order by version_number) as next_delivered_at
    from sequenced
),

final as (
    select
        -- ids
        work_id || '#' || version_number as work_version_id,
        work_id,
        version_number,
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
        -- facts
        duration_seconds,
        release_date,
        -- external ids
        isrc,
        icpn,
        grid,
        provider_asset_id,
        -- validity
        delivered_at as valid_from,
        next_delivered_at as valid_to,
        next_delivered_at is null as is_current,
        -- provenance
        source_system,
        file_id,
        message_id
    from timed
)

select * from final
