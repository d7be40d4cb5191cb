with

source as (
    {{ raw_relation('catalog_works', {
        'source_format': 'varchar',
        'work_id': 'varchar',
        'work_kind': 'varchar',
        'title': 'varchar',
        'title_match_key': 'varchar',
        'title_language': 'varchar',
        'original_title': 'varchar',
        'original_title_language': 'varchar',
        'display_artist': 'varchar',
        'contributors': 'varchar[]',
        'isrc': 'varchar',
        'icpn': 'varchar',
        'isan': 'varchar',
        'eidr': 'varchar',
        'release_date': 'date',
        'duration_seconds': 'integer',
        'genres': 'varchar[]',
        'territories': 'varchar[]',
        'excluded_territories': 'varchar[]',
        'licence_start': 'date',
        'licence_end': 'date',
        'label_name': 'varchar',
        'synopsis': 'varchar',
        'parental_warning': 'varchar',
        'series_name': 'varchar',
        'season_number': 'integer',
        'episode_number': 'integer',
    }) }}
),

final as (
    select
        -- ids
        file_id,
        work_id as holder_work_id,
        'catalog:' || holder_id || ':' || work_id as source_key,
        upper(isrc) as isrc,
        icpn,
        isan,
        eidr,
        holder_id,
        -- kind
        work_kind,
        source_format,
        -- titles
        title,
        msdb_match_key(title) as title_match_key,
        title_language,
        original_title,
        original_title_language,
        display_artist,
        coalesce(contributors, []) as contributors,
        coalesce(genres, []) as genres,
        label_name,
        synopsis,
        parental_warning,
        series_name,
        season_number,
        episode_number,
        -- facts
        duration_seconds,
        -- licence
        -- DDEX's short form 'WW' is Worldwide (ingest accepts both)
        list_transform(coalesce(territories, []), t -> case when upper(trim(t)) = 'WW' then 'Worldwide' else t end) as territories,
        coalesce(excluded_territories, []) as excluded_territories,
        licence_start,
        licence_end,
        -- dates
        release_date,
        -- provenance
        file_path,
        record_position
    from source
)

select * from final
