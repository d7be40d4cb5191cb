-- One row per licence term × territory (ISO 3166-1 alpha-2) × commercial model × use type.
-- 'Worldwide' becomes every country of the reference list; excluded territories are removed from it.
-- A term's models, uses and territories are each listed once per term (few rows), and only then multiplied out:
-- unnesting lists row by row after a Worldwide expansion, and a DISTINCT over the expanded rows, cost most of
-- the build at catalog scale. A term is one licence_term_id (unique in int_licence_terms).
with

terms as (
    select
        *,
        list_contains(list_transform(territories, x -> upper(trim(x))), 'WORLDWIDE') as is_worldwide,
        list_transform(excluded_territories, x -> upper(trim(x))) as excluded
    from {{ ref('int_licence_terms') }}
),

countries as (
    select country_code from {{ ref('iso_3166_countries') }}
),

term_uses as (
    select distinct terms.licence_term_id, cm.commercial_model, ut.use_type
    from terms
    cross join unnest(terms.commercial_models) as cm(commercial_model)
    cross join unnest(terms.use_types) as ut(use_type)
),

named as (
    select distinct terms.licence_term_id, terms.is_worldwide, terms.excluded, upper(trim(t.territory)) as territory
    from terms
    cross join unnest(terms.territories) as t(territory)
    where upper(trim(t.territory)) <> 'WORLDWIDE'
),

-- a country a Worldwide term also names comes from the Worldwide expansion only (no DISTINCT needed after it)
named_only as (
    select named.licence_term_id, named.territory
    from named
    left join countries on named.territory = countries.country_code
    where not (named.is_worldwide and countries.country_code is not null)
      and not list_contains(named.excluded, named.territory)
),

worldwide as (
    select terms.licence_term_id, countries.country_code as territory
    from terms
    cross join countries
    where terms.is_worldwide and not list_contains(terms.excluded, countries.country_code)
),

territories as (
    select * from named_only
    union all
    select * from worldwide
),

final as (
    select
        -- ids
        terms.work_id,
        terms.licence_term_id,
        territories.territory,
        term_uses.commercial_model,
        term_uses.use_type,
        -- window
        terms.start_date as window_start,
        terms.end_date as window_end,
        terms.is_takedown,
        terms.is_withdrawn,
        terms.purged_at,
        -- provenance
        terms.holder_id as rights_holder_id,
        terms.source,
        terms.file_id,
        terms.granted_at
    from territories
    inner join terms on territories.licence_term_id = terms.licence_term_id
    inner join term_uses on territories.licence_term_id = term_uses.licence_term_id
)

select * from final
