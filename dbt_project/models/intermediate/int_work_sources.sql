-- One row per delivered version of a source record that describes a work: a DDEX sound recording or video,
-- a DDEX main release, an ADI title, a catalog-template row, and the series and seasons that episodes name.
with

resources as (
    select * from {{ ref('int_ddex_recordings_keyed') }}
    where recording_key is not null
),

release_states as (
    select * from {{ ref('int_ddex_release_states') }}
),

releases as (
    select * from {{ ref('stg_ddex__releases') }}
),

adi_titles as (
    select * from {{ ref('stg_adi__titles') }}
),

catalog as (
    select works.*, files.ingested_at
    from {{ ref('stg_catalog__works') }} as works
    left join {{ ref('stg_ops__ingest_files') }} as files on works.file_id = files.file_id
    qualify row_number() over (partition by works.file_id, works.record_position order by files.ingested_at) = 1
),

recordings as (
    select
        recording_key as source_key,
        'ddex' as source_system,
        'recording' as kind,
        holder_id,
        file_id,
        message_id,
        record_position,
        message_created_at as delivered_at,
        0 as version_major,
        0 as version_minor,
        false as is_delete,
        -- titles
        title,
        title_ja,
        title_en,
        coalesce(title_latn, {{ if_latin('title') }}) as title_latn,
        title_match_key,
        display_artist,
        genres,
        -- facts
        duration_seconds,
        parental_warning,
        label_name,
        -- ids
        isrc
    from resources
    qualify row_number() over (partition by source_key, file_id order by record_position) = 1
),

music_releases as (
    select
        release_states.release_key as source_key,
        'ddex' as source_system,
        'release' as kind,
        releases.holder_id,
        releases.file_id,
        releases.message_id,
        releases.record_position,
        releases.message_created_at as delivered_at,
        0 as version_major,
        0 as version_minor,
        false as is_delete,
        releases.title,
        releases.title_ja,
        releases.title_en,
        coalesce(releases.title_latn, {{ if_latin('releases.title') }}) as title_latn,
        releases.title_match_key,
        releases.display_artist,
        releases.genres,
        releases.duration_seconds,
        coalesce(releases.release_date, releases.original_release_date) as release_date,
        releases.parental_warning,
        releases.label_name,
        releases.icpn,
        releases.grid,
        releases.catalog_number
    from release_states
    inner join releases
        on release_states.file_id = releases.file_id and release_states.release_reference = releases.release_reference
    where not release_states.is_rejected
    qualify row_number() over (partition by release_states.release_key, releases.file_id order by releases.record_position) = 1
),

video_titles as (
    select
        source_key,
        'adi' as source_system,
        work_kind as kind,
        holder_id,
        file_id,
        record_position,
        cast(creation_date as timestamptz) as delivered_at,
        version_major,
        version_minor,
        is_delete,
        title,
        title_ja,
        {{ if_latin('title') }} as title_en,
        title_match_key,
        genres,
        coalesce(summary_long, summary_short) as summary,
        run_time_seconds as duration_seconds,
        year as production_year,
        rating,
        isan,
        eidr,
        asset_id as provider_asset_id,
        case when work_kind = 'episode' then series_name end as series_name,
        case when work_kind = 'episode' then {{ app_data_value('app_data', 'Series_Name_Japanese') }} end as series_name_ja,
        case when work_kind = 'episode' then season_number end as season_number,
        case when work_kind = 'episode' then episode_number end as episode_number
    from adi_titles
),

catalog_works as (
    select
        case
            when work_kind in ('recording', 'music_video') and isrc is not null then 'isrc:' || isrc
            when work_kind = 'release' and icpn is not null then 'icpn:' || icpn
            when work_kind = 'series' then 'series:' || holder_id || ':' || msdb_match_key(title)
            else source_key
        end as source_key,
        'catalog' as source_system,
        case when work_kind = 'music_video' then 'recording' else work_kind end as kind,
        holder_id,
        file_id,
        record_position,
        ingested_at as delivered_at,
        0 as version_major,
        0 as version_minor,
        false as is_delete,
        title,
        case when original_title_language like 'ja%' and original_title_language <> 'ja-Latn' then original_title
             when title_language like 'ja%' and title_language <> 'ja-Latn' then title end as title_ja,
        case when title_language like 'en%' then title end as title_en,
        case when title_language = 'ja-Latn' then title else {{ if_latin('title') }} end as title_latn,
        title_match_key,
        display_artist,
        genres,
        synopsis as summary,
        duration_seconds,
        release_date,
        year(release_date) as production_year,
        parental_warning,
        label_name,
        isrc,
        icpn,
        isan,
        eidr,
        holder_work_id as provider_asset_id,
        case when work_kind = 'episode' then series_name end as series_name,
        case when work_kind = 'episode' then season_number end as season_number,
        case when work_kind = 'episode' then episode_number end as episode_number
    from catalog
),

-- union by name: a column a source does not have (a recording's ISAN, a title's ICPN...) is NULL there
delivered as (
    select * from recordings
    union all by name
    select * from music_releases
    union all by name
    select * from video_titles
    union all by name
    select * from catalog_works
),

-- an episode names its series and season: both are works of their own
series as (
    select
        'series:' || holder_id || ':' || msdb_match_key(series_name) as source_key,
        source_system,
        'series' as kind,
        holder_id,
        file_id,
        message_id,
        record_position,
        delivered_at,
        version_major,
        version_minor,
        false as is_delete,
        series_name as title,
        series_name_ja as title_ja,
        {{ if_latin('series_name') }} as title_en,
        cast(null as varchar) as title_latn,
        msdb_match_key(series_name) as title_match_key,
        genres,
        production_year
    from delivered
    where kind = 'episode' and series_name is not null
),

seasons as (
    select
        series.source_key || ':season:' || delivered.season_number as source_key,
        delivered.source_system,
        'season' as kind,
        delivered.holder_id,
        delivered.file_id,
        delivered.message_id,
        delivered.record_position,
        delivered.delivered_at,
        delivered.version_major,
        delivered.version_minor,
        false as is_delete,
        delivered.series_name || ' - Season ' || delivered.season_number as title,
        delivered.series_name_ja as title_ja,
        cast(null as varchar) as title_en,
        cast(null as varchar) as title_latn,
        series.title_match_key || ' season ' || delivered.season_number as title_match_key,
        delivered.series_name,
        delivered.season_number,
        delivered.production_year
    from delivered
    inner join series on delivered.file_id = series.file_id and delivered.record_position = series.record_position
    where delivered.season_number is not null
),

unioned as (
    select * from delivered
    union all by name
    select * from series
    union all by name
    select * from seasons
),

final as (
    select
        -- ids
        source_key,
        source_system,
        kind,
        holder_id,
        file_id,
        message_id,
        record_position,
        -- version order: message time (DDEX), package version then creation date (ADI), arrival otherwise
        delivered_at,
        version_major,
        version_minor,
        row_number() over (
            partition by source_key, holder_id
            order by {{ version_order(newest_first=false) }}, record_position
        ) as source_version,
        is_delete,
        -- titles
        title,
        title_ja,
        title_en,
        title_latn,
        title_match_key,
        display_artist,
        genres,
        summary,
        -- facts
        duration_seconds,
        release_date,
        production_year,
        parental_warning,
        rating,
        label_name,
        -- external ids
        isrc,
        icpn,
        grid,
        catalog_number,
        isan,
        eidr,
        provider_asset_id,
        -- series
        case when kind = 'episode' and series_name is not null
            then 'series:' || holder_id || ':' || msdb_match_key(series_name) end as series_source_key,
        case when kind = 'episode' and series_name is not null and season_number is not null
            then 'series:' || holder_id || ':' || msdb_match_key(series_name) || ':season:' || season_number end as season_source_key,
        case when kind = 'season' then 'series:' || holder_id || ':' || msdb_match_key(series_name) end as parent_series_source_key,
        series_name,
        season_number,
        episode_number
    from unioned
)

select * from final
