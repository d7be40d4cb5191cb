{{ config(materialized='view') }}

{#-
    What every works feed is cut from: one row per work with an active licence window, carrying all its
    active windows (per territory, commercial model and use type; a 'Worldwide' window with its
    excluded_territories stays one window here, expanded to a partner's contract territories at delivery),
    its kansei tags and its similar works.
    A view, not a table: dbt builds before the tag and similar stages, and the view reads their tables when
    it is queried, so the quality gate and the export (both after those stages) read the same current rows.
    A partner's contract and the delivery date are applied in pipelines/partner_feed.py.
-#}

with

works as (
    select * from {{ ref('dim_work') }}
),

windows as (
    select * from {{ ref('fct_licence_window') }}
    where status = 'active'
),

countries as (
    select country_code from {{ ref('iso_3166_countries') }}
),

tags as (
    select * from {{ ref('stg_kansei__work_tags') }}
),

neighbours as (
    -- similar titles of the work's own domain; music <-> video neighbours are not part of a works feed
    select * from {{ ref('stg_similarity__work_neighbors') }}
    where not is_cross_domain
),

work_windows as (
    select
        windows.work_id,
        list(
            {
                'territory': windows.territory,
                'commercial_model': windows.commercial_model,
                'use_type': windows.use_type,
                'window_start': windows.window_start,
                'window_end': windows.window_end,
                'is_known_territory': countries.country_code is not null or windows.territory = 'Worldwide',
                'excluded_territories': windows.excluded_territories,
                'licence_window_id': windows.licence_window_id
            }
            order by windows.territory, windows.commercial_model, windows.use_type, windows.window_start, windows.window_end
        ) as licence_windows
    from windows
    left join countries on windows.territory = countries.country_code
    group by windows.work_id
),

work_tags as (
    select
        work_id,
        list(
            {
                'tag_id': tag_id,
                'tag_type': tag_type,
                'label_en': label_en,
                'label_ja': label_ja,
                'weight': weight,
                'score': score,
                'is_primary': is_primary,
                'evidence': evidence
            }
            order by tag_rank, tag_id
        ) as kansei_tags
    from tags
    group by work_id
),

work_neighbours as (
    select
        work_id,
        list(
            {'work_id': neighbor_work_id, 'rank': neighbor_rank, 'score': score}
            order by neighbor_rank, neighbor_work_id
        ) as similar_works
    from neighbours
    group by work_id
),

final as (
    select
        -- ids
        works.work_id,
        works.kind,
        works.rights_holder_id,
        works.isrc,
        works.icpn,
        works.grid,
        works.provider_asset_id,
        -- titles
        works.title,
        works.title_ja,
        works.title_en,
        works.title_latn,
        works.display_artist,
        works.genres,
        works.summary,
        -- facts
        works.duration_seconds,
        works.release_date,
        -- licences
        work_windows.licence_windows,
        -- enrichment
        coalesce(work_tags.kansei_tags, []) as kansei_tags,
        coalesce(work_neighbours.similar_works, []) as similar_works
    from works
    inner join work_windows on works.work_id = work_windows.work_id
    left join work_tags on works.work_id = work_tags.work_id
    left join work_neighbours on works.work_id = work_neighbours.work_id
)

select * from final
