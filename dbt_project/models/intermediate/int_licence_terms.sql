-- One row per licence term in force for a work: a current DDEX deal (on the release itself and on every
-- recording it contains), the window of the current ADI title version, a catalog-template row's licence.
-- Territories are still as delivered ('Worldwide', exclusions); int_licence_windows_expanded expands them.
-- A deal is in force only when the state of its release is known to be current: a deal whose release has no
-- state (no main release in its message, a main release without identifier) licenses nothing. A release
-- refused at ingest for its ICPN/GRid still licenses its recordings through its deals.
with

deals as (
    select * from {{ ref('stg_ddex__deals') }}
),

releases as (
    select * from {{ ref('int_ddex_releases_classified') }}
),

resources as (
    select * from {{ ref('int_ddex_recordings_keyed') }}
),

release_states as (
    select * from {{ ref('int_ddex_release_states') }}
),

purges as (
    select * from {{ ref('stg_ddex__purges') }}
),

resolved as (
    select * from {{ ref('int_works_resolved') }}
),

sources as (
    select * from {{ ref('int_work_sources') }}
),

holders as (
    select * from {{ ref('stg_raw__holders') }}
),

-- a message's track releases follow the state of the message's main release(s)
file_states as (
    select file_id, bool_and(is_current) as is_current, min(purged_at) as purged_at
    from release_states
    group by file_id
),

deal_releases as (
    select
        deals.*,
        releases.is_main_release,
        releases.is_rejected,
        releases.resource_references,
        releases.isrc as release_isrc,
        release_states.release_key,
        -- unknown is not in force: a main release follows its own state, a track release its message's
        case
            when releases.is_main_release then coalesce(release_states.is_current, false)
            else coalesce(file_states.is_current, false)
        end as is_current,
        case
            when releases.is_main_release then release_states.purged_at
            else file_states.purged_at
        end as purged_at
    from deals
    inner join releases
        on deals.file_id = releases.file_id and deals.release_reference = releases.release_reference
    left join release_states
        on deals.file_id = release_states.file_id and deals.release_reference = release_states.release_reference
    left join file_states on deals.file_id = file_states.file_id
),

deal_works as (
    -- the release itself
    select deal_releases.*, 'release' as licensed_as, deal_releases.release_key as source_key
    from deal_releases
    where is_main_release and release_key is not null and not is_rejected
    union all
    -- every recording the release contains
    select deal_releases.*, 'recording' as licensed_as, resources.recording_key as source_key
    from deal_releases
    cross join unnest(deal_releases.resource_references) as refs(resource_reference)
    inner join resources
        on resources.file_id = deal_releases.file_id and resources.resource_reference = refs.resource_reference
    where resources.recording_key is not null
    union all
    -- a single-track release identified by its ISRC
    select deal_releases.*, 'recording' as licensed_as, 'isrc:' || release_isrc as source_key
    from deal_releases
    where release_isrc is not null
),

isrc_purges as (
    select 'isrc:' || isrc as source_key, message_created_at as purged_at
    from purges
    where isrc is not null
),

deal_work_purges as (
    select deal_works.source_key, deal_works.file_id, min(isrc_purges.purged_at) as purged_at
    from deal_works
    inner join isrc_purges
        on deal_works.source_key = isrc_purges.source_key
        and isrc_purges.purged_at >= coalesce(deal_works.message_created_at, '-infinity'::timestamptz)
    group by all
),

ddex_terms as (
    select
        resolved.work_id,
        'ddex' as source,
        deal_works.holder_id,
        deal_works.file_id,
        deal_works.message_id,
        deal_works.deal_position,
        deal_works.territories,
        deal_works.excluded_territories,
        deal_works.commercial_models,
        deal_works.use_types,
        deal_works.start_date,
        deal_works.end_date,
        deal_works.is_takedown,
        coalesce(deal_works.purged_at, deal_work_purges.purged_at) as purged_at,
        deal_works.message_created_at as granted_at
    from deal_works
    inner join resolved on deal_works.source_key = resolved.source_key
    left join deal_work_purges
        on deal_works.source_key = deal_work_purges.source_key and deal_works.file_id = deal_work_purges.file_id
    where deal_works.is_current
),

current_sources as (
    select *
    from sources
    qualify row_number() over (
        partition by source_key, holder_id
        order by {{ version_order() }}, record_position
    ) = 1
),

adi_terms as (
    select
        resolved.work_id,
        'adi' as source,
        titles.holder_id,
        titles.file_id,
        cast(null as varchar) as message_id,
        cast(null as integer) as deal_position,
        holders.licence_territories as territories,
        cast([] as varchar[]) as excluded_territories,
        ['SubscriptionModel'] as commercial_models,
        ['Stream'] as use_types,
        titles.licensing_window_start as start_date,
        titles.licensing_window_end as end_date,
        false as is_takedown,
        case when current_sources.is_delete then current_sources.delivered_at end as purged_at,
        current_sources.delivered_at as granted_at
    from {{ ref('stg_adi__titles') }} as titles
    inner join current_sources
        on titles.file_id = current_sources.file_id and titles.record_position = current_sources.record_position
    inner join resolved on current_sources.source_key = resolved.source_key
    inner join holders on titles.holder_id = holders.holder_id
),

catalog_terms as (
    select
        resolved.work_id,
        'catalog' as source,
        works.holder_id,
        works.file_id,
        cast(null as varchar) as message_id,
        cast(null as integer) as deal_position,
        works.territories,
        works.excluded_territories,
        ['SubscriptionModel'] as commercial_models,
        ['Stream'] as use_types,
        works.licence_start as start_date,
        works.licence_end as end_date,
        false as is_takedown,
        cast(null as timestamptz) as purged_at,
        current_sources.delivered_at as granted_at
    from {{ ref('stg_catalog__works') }} as works
    inner join current_sources
        on works.file_id = current_sources.file_id and works.record_position = current_sources.record_position
        and current_sources.source_system = 'catalog'
    inner join resolved on current_sources.source_key = resolved.source_key
    where len(works.territories) > 0
),

unioned as (
    select * from ddex_terms
    union all
    select * from adi_terms
    union all
    select * from catalog_terms
),

final as (
    select
        -- ids
        {{ dbt_utils_surrogate(['work_id', 'source', 'holder_id', 'file_id', 'deal_position', 'start_date', 'end_date', 'territories', 'excluded_territories', 'commercial_models', 'use_types', 'is_takedown']) }} as licence_term_id,
        work_id,
        source,
        holder_id,
        file_id,
        message_id,
        deal_position,
        -- terms
        territories,
        excluded_territories,
        commercial_models,
        use_types,
        is_takedown,
        is_takedown or purged_at is not null as is_withdrawn,
        -- dates
        start_date,
        end_date,
        granted_at,
        purged_at
    from unioned
    -- one term delivered twice (the same deal reached through a track release and the album): the earliest
    -- grant, a withdrawal before none; the rest of the order only makes the choice total
    qualify row_number() over (
        partition by licence_term_id
        order by granted_at nulls last, purged_at nulls last, message_id nulls last, is_takedown desc
    ) = 1
)

select * from final
