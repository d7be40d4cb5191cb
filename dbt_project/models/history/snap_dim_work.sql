{#-
    System-time history (SCD2) of marts.dim_work, with the contract of a dbt snapshot (strategy check,
    hard_deletes: invalidate): the columns of dim_work, then dbt_scd_id, dbt_updated_at, dbt_valid_from and
    dbt_valid_to, all times the build's start (`snapshot_get_time`). A work whose checked columns differ from
    its open version gets that version closed and a new one opened; a work that left dim_work gets its open
    version closed; a new work (or one that came back) gets a version opened. Other rows are never touched.

    An incremental model rather than a `dbt snapshot`: the snapshot rebuilds a staging table of every row and
    updates through it on each build; here the night reads dim_work and the open versions once (one hash join
    on work_id plus a fingerprint of the checked columns) and writes only the versions it closes and opens
    (delete+insert on dbt_scd_id: a closed version is written again with its dbt_valid_to). It is history, so
    `--full-refresh` leaves it alone (full_refresh=false), as it left the snapshot.

    Memory: the open versions' (work_id, fingerprint) and dim_work's, hashed by DuckDB within the build's
    memory_limit (spilling beyond it); what is written is the night's changed works.
-#}
{{ config(
    materialized='incremental',
    unique_key='dbt_scd_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    full_refresh=false,
) }}

{%- set check_cols = ['kind', 'rights_holder_id', 'parent_work_id', 'title', 'title_ja', 'title_en', 'title_latn',
    'display_artist', 'genres', 'summary', 'series_name', 'season_number', 'episode_number', 'duration_seconds',
    'release_date', 'parental_warning', 'rating', 'label_name', 'isrc', 'icpn', 'grid', 'isan', 'eidr',
    'provider_asset_id', 'is_withdrawn'] %}
{%- set built_at = snapshot_get_time() %}

with

{% if is_incremental() %}

works as (
    select
        *,
        {{ checked_columns_fingerprint(check_cols) }} as checked_fingerprint
    from {{ ref('dim_work') }}
),

open_versions as (
    select
        *,
        {{ checked_columns_fingerprint(check_cols) }} as checked_fingerprint
    from {{ this }}
    where dbt_valid_to is null
),

-- works whose open version no longer says what dim_work says, or that left dim_work
closed as (
    select open_versions.* exclude (dbt_valid_to, checked_fingerprint), {{ built_at }} as dbt_valid_to
    from open_versions
    left join works on open_versions.work_id = works.work_id
    where works.work_id is null or works.checked_fingerprint is distinct from open_versions.checked_fingerprint
),

-- works with no open version, or whose open version is closed above
opened as (
    select works.* exclude (checked_fingerprint)
    from works
    left join open_versions on works.work_id = open_versions.work_id
    where open_versions.work_id is null or works.checked_fingerprint is distinct from open_versions.checked_fingerprint
),

{% else %}

opened as (
    select * from {{ ref('dim_work') }}
),

{% endif %}

versions as (
    select
        opened.*,
        {{ snapshot_hash_arguments(['opened.work_id', built_at]) }} as dbt_scd_id,
        {{ built_at }} as dbt_updated_at,
        {{ built_at }} as dbt_valid_from,
        cast(null as timestamptz) as dbt_valid_to
    from opened
    {% if is_incremental() %}
    union all by name
    select * from closed
    {% endif %}
),

final as (
    select * from versions
)

select * from final
