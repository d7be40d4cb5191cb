-- One row per licence term × territory cell × commercial model × use type. Within one work/model/use, the
-- countries none of its terms names or excludes all hold the same terms (its Worldwide ones), so they are one
-- cell: territory 'Worldwide', excluded_territories = the known countries that are cells of their own. A
-- territory is a cell of its own only when some term of the work/model/use names or excludes it and the terms
-- covering it are not exactly the Worldwide ones (or it is no known country: Worldwide never covers those).
-- So a Worldwide deal is one row, not one per country (~249), and a Worldwide deal next to a JP deal for the
-- same model and use is two cells (JP, Worldwide minus JP), whatever the catalog holds.
-- A term covers a territory it does not exclude and either names or, Worldwide, knows as a country (the seed
-- iso_3166_countries). Codes are compared upper-cased and trimmed. A term is one licence_term_id (unique in
-- int_licence_terms). Memory: rows are terms × models × uses × (1 + the territories they name or exclude).
with

countries as (
    select country_code from {{ ref('iso_3166_countries') }}
),

terms as (
    select
        *,
        coalesce(list_contains(list_transform(territories, x -> upper(trim(x))), 'WORLDWIDE'), false) as is_worldwide,
        coalesce(list_distinct(list_filter(
            list_transform(territories, x -> upper(trim(x))), x -> x is not null and x <> 'WORLDWIDE'
        )), []) as named,
        coalesce(list_distinct(list_filter(
            list_transform(excluded_territories, x -> upper(trim(x))), x -> x is not null
        )), []) as excluded
    from {{ ref('int_licence_terms') }}
),

term_uses as (
    select distinct terms.work_id, terms.licence_term_id, cm.commercial_model, ut.use_type
    from terms
    cross join unnest(terms.commercial_models) as cm(commercial_model)
    cross join unnest(terms.use_types) as ut(use_type)
),

scoped_uses as (
    select term_uses.*, terms.is_worldwide, terms.named, terms.excluded
    from term_uses
    inner join terms on term_uses.licence_term_id = terms.licence_term_id
),

-- the territories some term of a work/model/use names or excludes
mentioned as (
    select distinct scoped_uses.work_id, scoped_uses.commercial_model, scoped_uses.use_type, m.territory
    from scoped_uses
    cross join unnest(list_concat(scoped_uses.named, scoped_uses.excluded)) as m(territory)
),

coverage as (
    select
        mentioned.work_id,
        mentioned.commercial_model,
        mentioned.use_type,
        mentioned.territory,
        countries.country_code is not null as is_country,
        scoped_uses.licence_term_id,
        scoped_uses.is_worldwide,
        not list_contains(scoped_uses.excluded, mentioned.territory) and (
            list_contains(scoped_uses.named, mentioned.territory)
            or (scoped_uses.is_worldwide and countries.country_code is not null)
        ) as covers
    from mentioned
    inner join scoped_uses
        on mentioned.work_id = scoped_uses.work_id
        and mentioned.commercial_model is not distinct from scoped_uses.commercial_model
        and mentioned.use_type is not distinct from scoped_uses.use_type
    left join countries on mentioned.territory = countries.country_code
),

own_cells as (
    select work_id, commercial_model, use_type, territory, bool_and(is_country) as is_country
    from coverage
    group by work_id, commercial_model, use_type, territory
    having not bool_and(is_country) or bool_or(covers <> is_worldwide)
),

worldwide_exclusions as (
    select
        work_id,
        commercial_model,
        use_type,
        list(territory order by territory) as excluded_territories
    from own_cells
    where is_country
    group by work_id, commercial_model, use_type
),

cells as (
    -- the territories of their own, where the term covers them
    select coverage.licence_term_id, coverage.commercial_model, coverage.use_type, coverage.territory,
        cast([] as varchar[]) as excluded_territories
    from coverage
    semi join own_cells
        on coverage.work_id = own_cells.work_id
        and coverage.commercial_model is not distinct from own_cells.commercial_model
        and coverage.use_type is not distinct from own_cells.use_type
        and coverage.territory = own_cells.territory
    where coverage.covers
    union all
    -- every other country, for a Worldwide term
    select scoped_uses.licence_term_id, scoped_uses.commercial_model, scoped_uses.use_type, 'Worldwide' as territory,
        coalesce(worldwide_exclusions.excluded_territories, cast([] as varchar[])) as excluded_territories
    from scoped_uses
    left join worldwide_exclusions
        on scoped_uses.work_id = worldwide_exclusions.work_id
        and scoped_uses.commercial_model is not distinct from worldwide_exclusions.commercial_model
        and scoped_uses.use_type is not distinct from worldwide_exclusions.use_type
    where scoped_uses.is_worldwide
),

final as (
    select
        -- ids
        terms.work_id,
        terms.licence_term_id,
        cells.territory,
        cells.excluded_territories,
        cells.commercial_model,
        cells.use_type,
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
    from cells
    inner join terms on cells.licence_term_id = terms.licence_term_id
)

select * from final
