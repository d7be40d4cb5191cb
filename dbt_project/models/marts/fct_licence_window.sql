{{ config(
    materialized='incremental',
    unique_key='work_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_works_not_in(\"select work_id from \" ~ ref('dim_work') ~ \" semi join (select distinct work_id from \" ~ ref('int_licence_windows_merged') ~ \") as merged using (work_id)\") }}",
) }}

-- Incremental by work, as int_licence_windows_merged: a night writes again only the works whose terms
-- fingerprint differs from the one their rows here carry (new works and works merged again); works no longer
-- in dim_work or without windows are deleted by the pre-hook. `--full-refresh` writes every work.
with

windows as (
    select * from {{ ref('int_licence_windows_merged') }}
),

works as (
    select work_id from {{ ref('dim_work') }}
),

{% if is_incremental() -%}
changed_works as (
    select distinct windows.work_id, windows.terms_fingerprint
    from windows
    anti join (select distinct work_id, terms_fingerprint from {{ this }}) as published
        on windows.work_id = published.work_id and windows.terms_fingerprint = published.terms_fingerprint
),
{%- endif %}

final as (
    select
        -- ids
        {{ dbt_utils_surrogate(['windows.work_id', 'territory', 'commercial_model', 'use_type', 'window_start']) }} as licence_window_id,
        windows.work_id,
        territory,
        excluded_territories,
        commercial_model,
        use_type,
        -- window
        window_start,
        window_end,
        is_open_ended,
        -- status
        case when is_withdrawn then 'withdrawn' else 'active' end as status,
        is_takedown,
        is_withdrawn,
        withdrawn_at,
        -- provenance
        rights_holder_id,
        rights_holder_ids,
        source,
        term_count,
        -- change cursor
        windows.terms_fingerprint
    from windows
    inner join works on windows.work_id = works.work_id
    {% if is_incremental() -%}
    inner join changed_works on windows.work_id = changed_works.work_id
    {%- endif %}
)

select * from final
