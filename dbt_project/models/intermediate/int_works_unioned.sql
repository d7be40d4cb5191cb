-- One row per work: its current state (the latest delivered version across every source that resolved to it),
-- how many sources and holders deliver it, its parent (episode → season → series) and whether it is withdrawn.
with

sources as (
    select * from {{ ref('int_work_sources') }}
),

resolved as (
    select * from {{ ref('int_works_resolved') }}
),

windows as (
    select * from {{ ref('int_licence_windows_merged') }}
),

release_states as (
    select * from {{ ref('int_ddex_release_states') }}
    where is_current
),

purges as (
    select * from {{ ref('stg_ddex__purges') }}
),

versions as (
    select resolved.work_id, sources.*
    from sources
    inner join resolved on sources.source_key = resolved.source_key
),

current_state as (
    select *
    from versions
    qualify row_number() over (
        partition by work_id
        order by {{ version_order() }}, record_position, source_key
    ) = 1
),

coverage as (
    select
        work_id,
        count(distinct source_key) as source_count,
        count(distinct holder_id) as holder_count,
        min(delivered_at) as first_delivered_at
    from versions
    group by work_id
),

licence_status as (
    select work_id, bool_and(is_withdrawn) as all_withdrawn, max(withdrawn_at) as withdrawn_at
    from windows
    group by work_id
),

purged as (
    select resolved.work_id, max(release_states.purged_at) as purged_at
    from release_states
    inner join resolved on release_states.release_key = resolved.source_key
    where release_states.purged_at is not null
    group by all
    union all
    select resolved.work_id, max(purges.message_created_at) as purged_at
    from purges
    inner join resolved on 'isrc:' || purges.isrc = resolved.source_key
    group by all
),

parents as (
    select resolved.source_key, resolved.work_id as parent_work_id
    from resolved
    where resolved.kind in ('series', 'season')
),

final as (
    select
        -- ids
        current_state.work_id,
        current_state.kind,
        resolved.canonical_key as source_key,
        current_state.holder_id,
        coalesce(season.parent_work_id, series.parent_work_id) as parent_work_id,
        -- titles
        current_state.title,
        current_state.title_ja,
        current_state.title_en,
        current_state.title_latn,
        current_state.display_artist,
        current_state.genres,
        current_state.summary,
        current_state.series_name,
        current_state.season_number,
        current_state.episode_number,
        -- facts
        current_state.duration_seconds,
        coalesce(current_state.release_date, make_date(current_state.production_year, 1, 1)) as release_date,
        current_state.production_year,
        current_state.parental_warning,
        current_state.rating,
        current_state.label_name,
        -- external ids
        current_state.isrc,
        current_state.icpn,
        current_state.grid,
        current_state.catalog_number,
        current_state.isan,
        current_state.eidr,
        current_state.provider_asset_id,
        -- status
        coalesce(
            current_state.is_delete
            or (purged_at.purged_at is not null and purged_at.purged_at >= coalesce(current_state.delivered_at, '-infinity'::timestamptz))
            or licence_status.all_withdrawn,
            false
        ) as is_withdrawn,
        case
            when current_state.is_delete then current_state.delivered_at
            when purged_at.purged_at >= coalesce(current_state.delivered_at, '-infinity'::timestamptz) then purged_at.purged_at
            when licence_status.all_withdrawn then licence_status.withdrawn_at
        end as withdrawn_at,
        -- coverage
        coverage.source_count,
        coverage.holder_count,
        -- provenance
        current_state.source_system,
        current_state.delivered_at,
        coverage.first_delivered_at,
        current_state.file_id,
        current_state.message_id
    from current_state
    inner join resolved on current_state.source_key = resolved.source_key
    inner join coverage on current_state.work_id = coverage.work_id
    left join licence_status on current_state.work_id = licence_status.work_id
    left join (select work_id, max(purged_at) as purged_at from purged group by work_id) as purged_at
        on current_state.work_id = purged_at.work_id
    left join parents as season
        on current_state.season_source_key = season.source_key
    left join parents as series
        on current_state.kind = 'season' and current_state.parent_series_source_key = series.source_key
)

select * from final
