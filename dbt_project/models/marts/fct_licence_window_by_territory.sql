{{ config(materialized='view') }}

{#-
    fct_licence_window with 'Worldwide' expanded: one row per work × country × commercial model × use type ×
    window, for analysts and tests that ask "is this work licensed in KR?". A view: at catalog scale the
    expansion is ~249 rows per Worldwide window, computed only for the rows a query keeps (filter on work_id
    or territory). Feeds do not read it: pipelines/partner_feed.py expands a window to a partner's contract
    territories only.
-#}

with

windows as (
    select * from {{ ref('fct_licence_window') }}
),

countries as (
    select country_code from {{ ref('iso_3166_countries') }}
),

per_territory as (
    select windows.*, windows.territory as country_code
    from windows
    where windows.territory <> 'Worldwide'
    union all
    select windows.*, countries.country_code
    from windows
    inner join countries
        on windows.territory = 'Worldwide' and not list_contains(windows.excluded_territories, countries.country_code)
),

final as (
    select
        -- ids
        licence_window_id,
        work_id,
        country_code as territory,
        territory as licensed_as,
        commercial_model,
        use_type,
        -- window
        window_start,
        window_end,
        is_open_ended,
        -- status
        status,
        is_takedown,
        is_withdrawn,
        withdrawn_at,
        -- provenance
        rights_holder_id,
        rights_holder_ids,
        source,
        term_count
    from per_territory
)

select * from final
