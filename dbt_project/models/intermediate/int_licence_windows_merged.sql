-- One row per work × territory × commercial model × use type × window: terms that overlap or touch are one
-- window (two releases licensing the same recording, a renewal that starts the day after the old end).
-- A territory is an ISO 3166-1 code, or 'Worldwide': every known country except excluded_territories (empty
-- on the other rows), so a Worldwide deal is one row per window, never one per country.
-- Memory: rows are the terms' territory cells (int_licence_windows_expanded) of the works merged this night.
-- A takedown deal withdraws the terms of its own message (file) for that work/territory/model/use: deals belong
-- to a release, so an album's takedown does not withdraw the licence a single's current deals give the same
-- recording. When every term of a work/territory/model/use is taken down, its windows stay, withdrawn.
{{ config(
    materialized='incremental',
    unique_key='work_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_works_not_in(\"select work_id from \" ~ ref('int_licence_terms')) }}",
) }}

-- Incremental by work: a work's windows depend only on its own licence terms, so a night merges again only
-- the works whose terms fingerprint (macros/incremental_works.sql) differs from the one its windows were merged
-- from; works without terms any more are deleted by the pre-hook. `--full-refresh` merges every work.
with

fingerprints as (
    select terms.work_id, {{ licence_terms_fingerprint('terms') }} as terms_fingerprint
    from {{ ref('int_licence_terms') }} as terms
    group by terms.work_id
),

changed_works as (
    select fingerprints.*
    from fingerprints
    {% if is_incremental() -%}
    anti join (select distinct work_id, terms_fingerprint from {{ this }}) as merged
        on fingerprints.work_id = merged.work_id and fingerprints.terms_fingerprint = merged.terms_fingerprint
    {%- endif %}
),

-- Territories come as cells (int_licence_windows_expanded): a country, or 'Worldwide' for every known country
-- the work/model/use's terms do not single out (excluded_territories lists those). Every country of a cell
-- holds the same terms, so a cell is merged like one territory, and a Worldwide deal stays one row here.
expanded as (
    select * from {{ ref('int_licence_windows_expanded') }}
    {% if is_incremental() -%}
    where work_id in (select work_id from changed_works)
    {%- endif %}
),

-- the takedowns of each message (file): they withdraw that message's terms only
taken_down as (
    select work_id, territory, commercial_model, use_type, file_id, min(granted_at) as withdrawn_at
    from expanded
    where is_takedown
    group by all
),

-- Most work/territory/model/use hold one term (its window is itself): they skip the two window passes, which
-- sort every partition. That is known from the terms (few rows), before the territory cells multiply them: when
-- a work has one non-takedown term for a model and use, each of its cells has one row for them (a term covers
-- a cell once). Rows of a work/model/use not found there take the window passes, as any would.
-- The count includes terms their own message takes down: such a work/model/use has one row per territory still,
-- and a row taken down takes the window passes anyway (see single_terms).
term_uses as (
    select terms.work_id, cm.commercial_model, ut.use_type, count(distinct terms.licence_term_id) as terms
    from {{ ref('int_licence_terms') }} as terms
    cross join unnest(terms.commercial_models) as cm(commercial_model)
    cross join unnest(terms.use_types) as ut(use_type)
    where not terms.is_takedown
    group by all
),

terms_bounded as (
    select
        expanded.*,
        coalesce(expanded.window_start, date '0001-01-01') as start_bound,
        coalesce(expanded.window_end, date '9999-12-31') as end_bound,
        taken_down.file_id is not null as is_taken_down,
        taken_down.withdrawn_at as taken_down_at,
        coalesce(term_uses.terms, 2) as terms_for_model_and_use
    from expanded
    left join taken_down
        on expanded.work_id = taken_down.work_id
        and expanded.territory = taken_down.territory
        and expanded.commercial_model = taken_down.commercial_model
        and expanded.use_type = taken_down.use_type
        and expanded.file_id = taken_down.file_id
    left join term_uses
        on expanded.work_id = term_uses.work_id
        and expanded.commercial_model = term_uses.commercial_model
        and expanded.use_type = term_uses.use_type
    where not expanded.is_takedown
),

-- work/territory/model/use with a takedown that still hold a term no takedown of its own message withdraws
-- (found among the few partitions with a takedown, without a window over every row)
still_in_force as (
    select distinct terms_bounded.work_id, terms_bounded.territory, terms_bounded.commercial_model, terms_bounded.use_type
    from terms_bounded
    semi join taken_down
        on terms_bounded.work_id = taken_down.work_id
        and terms_bounded.territory = taken_down.territory
        and terms_bounded.commercial_model = taken_down.commercial_model
        and terms_bounded.use_type = taken_down.use_type
    where not terms_bounded.is_taken_down
),

-- Terms taken down by their own message license nothing: they are merged (as withdrawn windows) only where no
-- term of the work/territory/model/use is left in force.
bounded as (
    select * from terms_bounded
    where not is_taken_down
    union all
    select terms_bounded.*
    from terms_bounded
    anti join still_in_force using (work_id, territory, commercial_model, use_type)
    where terms_bounded.is_taken_down
),

-- A work/model/use with one term has one row per territory: its window is the row. A row taken down by its own
-- message takes the window passes like any partition with a taken-down term.
single_terms as (
    select
        work_id,
        territory,
        excluded_territories,
        commercial_model,
        use_type,
        start_bound,
        end_bound,
        rights_holder_id,
        [rights_holder_id] as rights_holder_ids,
        source,
        cast(1 as bigint) as term_count,
        case when is_withdrawn then purged_at end as purged_at,
        is_withdrawn as all_purged,
        is_taken_down as all_taken_down,
        taken_down_at
    from bounded
    where terms_for_model_and_use = 1 and not is_taken_down
),

-- Both window passes below order a partition the same total way (a term's id breaks ties between terms with
-- equal start and end, e.g. a track deal and a release deal of one file): with a partial order the second
-- pass could see the tied terms the other way round and cut one window into two with the same start.
ordered as (
    select
        *,
        max(end_bound) over (
            partition by work_id, territory, commercial_model, use_type
            order by start_bound, end_bound, licence_term_id
            rows between unbounded preceding and 1 preceding
        ) as previous_end
    from bounded
    where terms_for_model_and_use > 1 or is_taken_down
),

islands as (
    select
        *,
        sum(case when previous_end is null or start_bound > previous_end + 1 then 1 else 0 end) over (
            partition by work_id, territory, commercial_model, use_type
            order by start_bound, end_bound, licence_term_id
            rows between unbounded preceding and current row
        ) as island
    from ordered
),

merged as (
    select
        work_id,
        territory,
        excluded_territories,
        commercial_model,
        use_type,
        min(start_bound) as start_bound,
        max(end_bound) as end_bound,
        min(rights_holder_id) as rights_holder_id,
        list(distinct rights_holder_id order by rights_holder_id) as rights_holder_ids,
        min(source) as source,
        count(distinct licence_term_id) as term_count,
        max(purged_at) filter (where is_withdrawn) as purged_at,
        bool_and(is_withdrawn) as all_purged,
        bool_and(is_taken_down) as all_taken_down,
        min(taken_down_at) as taken_down_at
    from islands
    -- a cell's exclusions are those of its work/model/use: grouping by them splits nothing
    group by work_id, territory, excluded_territories, commercial_model, use_type, island
    union all by name
    select * from single_terms
),

takedowns_only as (
    -- a takedown with nothing to take down is still a fact worth keeping
    select
        expanded.work_id, expanded.territory, expanded.excluded_territories, expanded.commercial_model, expanded.use_type,
        coalesce(min(expanded.window_start), date '0001-01-01') as start_bound,
        coalesce(max(expanded.window_end), date '9999-12-31') as end_bound,
        min(expanded.rights_holder_id) as rights_holder_id,
        list(distinct expanded.rights_holder_id order by expanded.rights_holder_id) as rights_holder_ids,
        min(expanded.source) as source,
        count(distinct expanded.licence_term_id) as term_count,
        min(expanded.granted_at) as purged_at,
        true as all_purged,
        true as all_taken_down,
        min(expanded.granted_at) as taken_down_at
    from expanded
    anti join bounded using (work_id, territory, commercial_model, use_type)
    where expanded.is_takedown
    group by all
),

windows as (
    select * from merged
    union all by name
    select * from takedowns_only
),

final as (
    select
        -- ids
        windows.work_id,
        windows.territory,
        windows.excluded_territories,
        windows.commercial_model,
        windows.use_type,
        -- window
        nullif(windows.start_bound, date '0001-01-01') as window_start,
        nullif(windows.end_bound, date '9999-12-31') as window_end,
        windows.end_bound = date '9999-12-31' as is_open_ended,
        windows.all_taken_down as is_takedown,
        windows.all_purged or windows.all_taken_down as is_withdrawn,
        case
            when windows.all_taken_down then coalesce(windows.taken_down_at, windows.purged_at)
            when windows.all_purged then windows.purged_at
        end as withdrawn_at,
        -- provenance
        windows.rights_holder_id,
        windows.rights_holder_ids,
        windows.source,
        windows.term_count,
        -- change cursor
        changed_works.terms_fingerprint
    from windows
    left join changed_works on windows.work_id = changed_works.work_id
)

select * from final
