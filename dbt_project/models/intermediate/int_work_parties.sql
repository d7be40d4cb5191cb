-- One row per work × party × role: DDEX display artists and contributors, labels, ADI cast and crew, studios,
-- catalog-template contributors. A party is identified by its DDEX party id when delivered, else by kind + name.
with

resolved as (
    select * from {{ ref('int_works_resolved') }}
),

sources as (
    select * from {{ ref('int_work_sources') }}
),

resources as (
    select * from {{ ref('int_ddex_recordings_keyed') }}
    where recording_key is not null
),

releases as (
    select * from {{ ref('stg_ddex__releases') }}
),

adi_titles as (
    select * from {{ ref('stg_adi__titles') }}
),

catalog as (
    select * from {{ ref('stg_catalog__works') }}
),

-- only the current version of each source record speaks for the work
current_records as (
    select resolved.work_id, sources.source_key, sources.file_id, sources.record_position, sources.source_system,
           sources.kind, sources.label_name
    from sources
    inner join resolved on sources.source_key = resolved.source_key
    where sources.kind not in ('series', 'season')
    qualify row_number() over (
        partition by sources.source_key, sources.holder_id
        order by {{ version_order('sources') }}, sources.record_position
    ) = 1
),

-- each source record's row, for the current records only
current_resources as (
    select current_records.work_id, resources.artists, resources.contributors
    from current_records
    inner join resources
        on current_records.file_id = resources.file_id and current_records.record_position = resources.record_position
),

current_releases as (
    select current_records.work_id, releases.artists
    from current_records
    inner join releases
        on current_records.file_id = releases.file_id and current_records.record_position = releases.record_position
),

current_adi_titles as (
    select current_records.work_id, adi_titles.app_data
    from current_records
    inner join adi_titles
        on current_records.file_id = adi_titles.file_id and current_records.record_position = adi_titles.record_position
),

current_catalog as (
    select current_records.work_id, catalog.contributors, catalog.display_artist, catalog.label_name
    from current_records
    inner join catalog
        on current_records.file_id = catalog.file_id and current_records.record_position = catalog.record_position
),

ddex_credits as (
    -- display artists: {"name", "names", "party_id", "role", "sequence"}; contributors: {..., "roles": [...]}
    select work_id, artists as credits, false as is_contributors from current_resources
    union all
    select work_id, contributors, true from current_resources
    union all
    select work_id, artists, false from current_releases
),

ddex_people as (
    select
        ddex_credits.work_id,
        p.name,
        p.party_id,
        p.names,
        r.role,
        try_cast(p.sequence as integer) as sequence,
        'person' as party_kind
    from ddex_credits
    cross join unnest(from_json(ddex_credits.credits, '[{"name":"VARCHAR","party_id":"VARCHAR","role":"VARCHAR","roles":["VARCHAR"],"sequence":"VARCHAR","names":[{"name":"VARCHAR","language_script":"VARCHAR"}]}]')) as c(p)
    cross join unnest(
        case when ddex_credits.is_contributors then coalesce(p.roles, ['Contributor']) else [coalesce(p.role, 'MainArtist')] end
    ) as r(role)
),

ddex_labels as (
    select work_id, label_name as name, cast(null as varchar) as party_id, cast(null as struct(name varchar, language_script varchar)[]) as names,
           'Label' as role, 1 as sequence, 'organization' as party_kind
    from current_records
    where source_system = 'ddex' and label_name is not null
),

adi_people as (
    -- App_Data people come one per element as 'Last,First'; 'MarVista Entertainment, Inc.' stays as written
    select
        current_adi_titles.work_id,
        case
            when regexp_matches(pair[2], '^[^,]+,[^ ,][^,]*$') then split_part(pair[2], ',', 2) || ' ' || split_part(pair[2], ',', 1)
            else pair[2]
        end as name,
        cast(null as varchar) as party_id,
        cast(null as struct(name varchar, language_script varchar)[]) as names,
        case pair[1] when 'Actors' then 'Actor' when 'Director' then 'Director' when 'Producer' then 'Producer'
                     when 'Studio' then 'Studio' end as role,
        cast(ordinality as integer) as sequence,
        case when pair[1] = 'Studio' then 'organization' else 'person' end as party_kind
    from current_adi_titles
    cross join unnest(from_json(current_adi_titles.app_data, '[["VARCHAR"]]')) with ordinality as d(pair, ordinality)
    where pair[1] in ('Actors', 'Director', 'Producer', 'Studio') and nullif(trim(pair[2]), '') is not null
),

catalog_people as (
    -- 'Kishimoto Haruki (Composer)'
    select
        current_catalog.work_id,
        trim(regexp_replace(entry, '\s*\(([^)]*)\)\s*$', '')) as name,
        cast(null as varchar) as party_id,
        cast(null as struct(name varchar, language_script varchar)[]) as names,
        coalesce(nullif(regexp_extract(entry, '\(([^)]*)\)\s*$', 1), ''), 'Contributor') as role,
        cast(ordinality as integer) as sequence,
        'person' as party_kind
    from current_catalog
    cross join unnest(current_catalog.contributors) with ordinality as c(entry, ordinality)
    union all
    select work_id, display_artist, null, null, 'MainArtist', 1, 'person'
    from current_catalog
    where display_artist is not null
    union all
    select work_id, label_name, null, null, 'Label', 1, 'organization'
    from current_catalog
    where label_name is not null
),

unioned as (
    select * from ddex_people
    union all by name
    select * from ddex_labels
    union all by name
    select * from adi_people
    union all by name
    select * from catalog_people
),

final as (
    select
        -- ids
        work_id,
        {{ party_id("coalesce('ddex:' || party_id, party_kind || ':' || msdb_match_key(name))") }} as party_id,
        -- party
        name,
        msdb_match_key(name) as name_key,
        list_extract(list_transform(list_filter(names, n -> n.language_script in ('ja-Jpan', 'ja')), n -> n.name), 1) as name_ja,
        party_kind,
        party_id as ddex_party_id,
        -- role
        case
            when role in ('MainArtist', 'FeaturedArtist', 'Artist', 'DisplayArtist') then 'artist'
            when role in ('Composer', 'ComposerLyricist') then 'composer'
            when role in ('Lyricist', 'Librettist') then 'lyricist'
            when role in ('Actor', 'Cast') then 'cast'
            when role in ('Label') then 'label'
            when role in ('Studio') then 'studio'
            else 'crew'
        end as role_group,
        role,
        sequence
    from unioned
    where nullif(trim(name), '') is not null
)

select * from final
