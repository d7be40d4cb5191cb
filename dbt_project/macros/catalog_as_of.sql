{#-
    "The catalog as of D", as queries.

    published (system time, from the snapshots): what the warehouse published at that moment;
      works_as_of(ts), licence_windows_as_of(ts) (a 'Worldwide' window is one row with its
      excluded_territories, as in fct_licence_window), licence_windows_by_territory_as_of(ts) (one row per
      country, as fct_licence_window_by_territory)
    delivered (business time, from dim_work_history): the state the rights-holders' messages described at
      that moment, whatever order they arrived in; works_delivered_as_of(ts)

    `create_as_of_macros` (on-run-end) installs them as DuckDB table macros in the marts schema, so any client,
    `msdb sql` included, can run `select * from marts.works_as_of(TIMESTAMPTZ '2026-11-25 00:00:00+09')`.
    Inside dbt (analyses, tests) use the Jinja macros of the same names.
-#}
{% macro works_as_of(as_of) -%}
    select * exclude (dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to)
    from {{ ref('snap_dim_work') }}
    where dbt_valid_from <= {{ as_of }} and (dbt_valid_to is null or dbt_valid_to > {{ as_of }})
{%- endmacro %}

{% macro licence_windows_as_of(as_of) -%}
    select * exclude (dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to)
    from {{ ref('snap_fct_licence_window') }}
    where dbt_valid_from <= {{ as_of }} and (dbt_valid_to is null or dbt_valid_to > {{ as_of }})
{%- endmacro %}

{% macro licence_windows_by_territory_as_of(as_of) -%}
    with windows as ({{ licence_windows_as_of(as_of) }})
    select windows.* exclude (territory, excluded_territories), windows.territory, windows.territory as licensed_as
    from windows
    where windows.territory <> 'Worldwide'
    union all by name
    select windows.* exclude (territory, excluded_territories), countries.country_code as territory, windows.territory as licensed_as
    from windows
    inner join {{ ref('iso_3166_countries') }} as countries
        on windows.territory = 'Worldwide' and not list_contains(windows.excluded_territories, countries.country_code)
{%- endmacro %}

{% macro works_delivered_as_of(as_of) -%}
    select *
    from {{ ref('dim_work_history') }}
    where valid_from <= {{ as_of }} and (valid_to is null or valid_to > {{ as_of }})
{%- endmacro %}

{% macro create_as_of_macros() -%}
    {%- set works = adapter.get_relation(database=target.database, schema='snapshots', identifier='snap_dim_work') if execute else none -%}
    {%- set windows = adapter.get_relation(database=target.database, schema='snapshots', identifier='snap_fct_licence_window') if execute else none -%}
    {%- set history = adapter.get_relation(database=target.database, schema='marts', identifier='dim_work_history') if execute else none -%}
    {%- set countries = adapter.get_relation(database=target.database, schema='reference', identifier='iso_3166_countries') if execute else none -%}
    {%- if works is not none and windows is not none and history is not none and countries is not none -%}
            create schema if not exists marts;
            create or replace macro marts.works_as_of(as_of) as table
                select * exclude (dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to)
                from snapshots.snap_dim_work
                where dbt_valid_from <= as_of and (dbt_valid_to is null or dbt_valid_to > as_of);
            create or replace macro marts.licence_windows_as_of(as_of) as table
                select * exclude (dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to)
                from snapshots.snap_fct_licence_window
                where dbt_valid_from <= as_of and (dbt_valid_to is null or dbt_valid_to > as_of);
            create or replace macro marts.licence_windows_by_territory_as_of(as_of) as table
                with windows as (select * from marts.licence_windows_as_of(as_of))
                select windows.* exclude (territory, excluded_territories), windows.territory, windows.territory as licensed_as
                from windows
                where windows.territory <> 'Worldwide'
                union all by name
                select windows.* exclude (territory, excluded_territories), countries.country_code as territory,
                    windows.territory as licensed_as
                from windows
                inner join reference.iso_3166_countries as countries
                    on windows.territory = 'Worldwide' and not list_contains(windows.excluded_territories, countries.country_code);
            create or replace macro marts.works_delivered_as_of(as_of) as table
                select * from marts.dim_work_history
                where valid_from <= as_of and (valid_to is null or valid_to > as_of);
    {%- else -%}
            select 1
    {%- endif -%}
{%- endmacro %}
