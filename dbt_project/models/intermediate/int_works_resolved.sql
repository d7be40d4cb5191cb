-- One row per source key: the work it belongs to after entity resolution.
--   recordings: the ISRC is the key, whichever message or holder delivered it;
--   releases:   ICPN, else GRid (a GRid seen with an ICPN elsewhere resolves to the ICPN), else proprietary id;
--   video:      the provider's ids first (same provider id + asset id = same key), then the normalized title
--               and production year (movies), series title + season + episode (episodes), series title (series,
--               seasons). The earliest delivered key of a group names the work, so its id does not move.
with

sources as (
    select * from {{ ref('int_work_sources') }}
),

latest as (
    select *
    from sources
    qualify row_number() over (
        partition by source_key
        order by {{ version_order() }}, record_position
    ) = 1
),

first_seen as (
    select source_key, min(delivered_at) as first_delivered_at
    from sources
    group by source_key
),

series_titles as (
    select source_key, title_match_key as series_title_key
    from latest
    where kind = 'series'
),

keyed as (
    select
        latest.source_key,
        latest.kind,
        first_seen.first_delivered_at,
        case
            when latest.kind = 'movie' and latest.title_match_key is not null and latest.production_year is not null
                then 'movie|' || {{ video_title_key('latest.title_match_key') }} || '|' || latest.production_year
            when latest.kind = 'episode' and series_titles.series_title_key is not null
                and latest.season_number is not null and latest.episode_number is not null
                then 'episode|' || series_titles.series_title_key || '|' || latest.season_number || '|' || latest.episode_number
            when latest.kind = 'series' and latest.title_match_key is not null
                then 'series|' || latest.title_match_key
            when latest.kind = 'season' and latest.title_match_key is not null
                then 'season|' || latest.title_match_key
            else latest.source_key
        end as match_key
    from latest
    inner join first_seen on latest.source_key = first_seen.source_key
    left join series_titles on latest.series_source_key = series_titles.source_key
),

grouped as (
    select
        *,
        first_value(source_key) over (
            partition by kind, match_key order by first_delivered_at nulls last, source_key
        ) as canonical_key
    from keyed
),

final as (
    select
        -- ids
        source_key,
        {{ work_id('canonical_key') }} as work_id,
        canonical_key,
        kind,
        -- resolution
        match_key,
        case
            when source_key = canonical_key then 'source_id'
            else 'title_year'
        end as match_rule
    from grouped
)

select * from final
