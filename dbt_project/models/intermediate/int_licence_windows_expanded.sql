-- One row per licence term × territory (ISO 3166-1 alpha-2) × commercial model × use type.
-- 'Worldwide' becomes every country of the reference list; excluded territories are removed from it.
with

terms as (
    select * from {{ ref('int_licence_terms') }}
),

countries as (
    select country_code from {{ ref('iso_3166_countries') }}
),

named as (
    select terms.*, upper(trim(t.territory)) as territory
    from terms
    cross join unnest(terms.territories) as t(territory)
    where upper(trim(t.territory)) <> 'WORLDWIDE'
),

worldwide as (
    select terms.*, countries.country_code as territory
    from terms
    cross join countries
    where list_contains(list_transform(terms.territories, x -> upper(trim(x))), 'WORLDWIDE')
),

territories as (
    select * from named
    union all
    select * from worldwide
),

final as (
    select distinct
        -- ids
        work_id,
        licence_term_id,
        territory,
        commercial_model,
        use_type,
        -- window
        start_date as window_start,
        end_date as window_end,
        is_takedown,
        is_withdrawn,
        purged_at,
        -- provenance
        holder_id as rights_holder_id,
        source,
        file_id,
        granted_at
    from territories
    cross join unnest(territories.commercial_models) as cm(commercial_model)
    cross join unnest(territories.use_types) as ut(use_type)
    where not list_contains(list_transform(territories.excluded_territories, x -> upper(trim(x))), territory)
)

select * from final
