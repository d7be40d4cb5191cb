-- One row per work from every catalog source, latest delivered state per source identifier.
with

recordings as (
    select
        {{ work_id("'isrc:' || isrc") }} as work_id,
        'recording' as kind,
        'isrc:' || isrc as source_key,
        holder_id,
        title,
        title_ja,
        coalesce(title_latn, {{ if_latin('title') }}) as title_latn,
        cast(null as varchar) as title_en,
        display_artist,
        cast(null as varchar[]) as genres,
        cast(null as varchar) as summary,
        duration_seconds,
        cast(null as date) as release_date,
        isrc,
        cast(null as varchar) as icpn,
        cast(null as varchar) as grid,
        cast(null as varchar) as provider_asset_id,
        message_created_at as delivered_at,
        file_id
    from {{ ref('stg_ddex__resources') }}
    where resource_kind in ('SoundRecording', 'Video') and isrc is not null
    qualify row_number() over (partition by isrc order by message_created_at desc, file_id) = 1
),

releases as (
    select
        {{ work_id("coalesce('icpn:' || icpn, 'grid:' || grid, 'release:' || holder_id || ':' || proprietary_id)") }} as work_id,
        'release' as kind,
        coalesce('icpn:' || icpn, 'grid:' || grid, 'release:' || holder_id || ':' || proprietary_id) as source_key,
        holder_id,
        title,
        title_ja,
        coalesce(title_latn, {{ if_latin('title') }}) as title_latn,
        cast(null as varchar) as title_en,
        display_artist,
        genres,
        cast(null as varchar) as summary,
        duration_seconds,
        release_date,
        cast(null as varchar) as isrc,
        icpn,
        grid,
        cast(null as varchar) as provider_asset_id,
        message_created_at as delivered_at,
        file_id
    from {{ ref('stg_ddex__releases') }}
    where is_main_release and coalesce(icpn, grid, proprietary_id) is not null
    qualify row_number() over (partition by source_key order by message_created_at desc, file_id) = 1
),

video_titles as (
    select
        {{ work_id("'adi:' || coalesce(provider_id, holder_id) || ':' || asset_id") }} as work_id,
        work_kind as kind,
        'adi:' || coalesce(provider_id, holder_id) || ':' || asset_id as source_key,
        holder_id,
        title,
        title_ja,
        cast(null as varchar) as title_latn,
        title as title_en,
        cast(null as varchar) as display_artist,
        genres,
        coalesce(summary_long, summary_short) as summary,
        run_time_seconds as duration_seconds,
        case when year is not null then make_date(year, 1, 1) end as release_date,
        cast(null as varchar) as isrc,
        cast(null as varchar) as icpn,
        cast(null as varchar) as grid,
        asset_id as provider_asset_id,
        cast(creation_date as timestamptz) as delivered_at,
        file_id
    from {{ ref('stg_adi__titles') }}
    qualify row_number() over (partition by source_key order by creation_date desc, file_id) = 1
),

final as (
    select * from recordings
    union all
    select * from releases
    union all
    select * from video_titles
)

select * from final
