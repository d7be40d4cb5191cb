-- One row per work × territory × commercial model × use type × window, from DDEX deals and ADI windows.
with

countries as (
    select country_code from {{ ref('iso_3166_countries') }}
),

deals as (
    select * from {{ ref('stg_ddex__deals') }}
),

releases as (
    select * from {{ ref('stg_ddex__releases') }}
),

resources as (
    select * from {{ ref('stg_ddex__resources') }}
),

-- a deal on a release licenses the release itself (main releases) and every resource it contains
deal_releases as (
    select
        deals.*,
        releases.is_main_release,
        releases.icpn,
        releases.grid,
        releases.proprietary_id,
        releases.resource_references
    from deals
    inner join releases
        on deals.file_id = releases.file_id and deals.release_reference = releases.release_reference
),

release_works as (
    select
        {{ work_id("coalesce('icpn:' || icpn, 'grid:' || grid, 'release:' || holder_id || ':' || proprietary_id)") }} as work_id,
        deal_releases.*
    from deal_releases
    where is_main_release
),

recording_works as (
    select
        {{ work_id("'isrc:' || resources.isrc") }} as work_id,
        deal_releases.*
    from deal_releases
    cross join unnest(deal_releases.resource_references) as refs(resource_reference)
    inner join resources
        on resources.file_id = deal_releases.file_id and resources.resource_reference = refs.resource_reference
    where resources.isrc is not null
),

ddex_terms as (
    select work_id, territories, excluded_territories, commercial_models, use_types, start_date, end_date, is_takedown, holder_id, 'ddex' as source
    from release_works
    union all
    select work_id, territories, excluded_territories, commercial_models, use_types, start_date, end_date, is_takedown, holder_id, 'ddex' as source
    from recording_works
),

adi_terms as (
    select
        {{ work_id("'adi:' || coalesce(titles.provider_id, titles.holder_id) || ':' || titles.asset_id") }} as work_id,
        holders.licence_territories as territories,
        cast([] as varchar[]) as excluded_territories,
        ['SubscriptionModel'] as commercial_models,
        ['Stream'] as use_types,
        titles.licensing_window_start as start_date,
        titles.licensing_window_end as end_date,
        false as is_takedown,
        titles.holder_id,
        'adi' as source
    from {{ ref('stg_adi__titles') }} as titles
    inner join {{ ref('stg_raw__holders') }} as holders on titles.holder_id = holders.holder_id
),

terms as (
    select * from ddex_terms
    union all
    select * from adi_terms
),

territories as (
    -- named territories as delivered; 'Worldwide' expanded to every ISO 3166-1 country; exclusions removed
    select terms.*, upper(t.territory) as territory
    from terms cross join unnest(terms.territories) as t(territory)
    where upper(t.territory) <> 'WORLDWIDE'
    union all
    select terms.*, countries.country_code as territory
    from terms
    cross join countries
    where list_contains(list_transform(terms.territories, x -> upper(x)), 'WORLDWIDE')
),

final as (
    select distinct
        -- ids
        work_id,
        territory,
        commercial_model,
        use_type,
        -- window
        start_date as window_start,
        end_date as window_end,
        end_date is null as is_open_ended,
        is_takedown,
        -- provenance
        holder_id as rights_holder_id,
        source
    from territories
    cross join unnest(coalesce(territories.commercial_models, [])) as cm(commercial_model)
    cross join unnest(coalesce(territories.use_types, [])) as ut(use_type)
    where not list_contains(territories.excluded_territories, territory)
)

select * from final
