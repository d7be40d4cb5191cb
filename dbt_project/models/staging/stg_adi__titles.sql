with

source as (
    {{ raw_relation('adi_titles', {
        'provider': 'varchar',
        'provider_id': 'varchar',
        'package_asset_id': 'varchar',
        'asset_id': 'varchar',
        'verb': 'varchar',
        'version_major': 'integer',
        'version_minor': 'integer',
        'creation_date': 'date',
        'adi_version': 'varchar',
        'show_type': 'varchar',
        'work_kind': 'varchar',
        'series_id': 'varchar',
        'episode_id': 'varchar',
        'title': 'varchar',
        'title_match_key': 'varchar',
        'title_brief': 'varchar',
        'title_ja': 'varchar',
        'isan': 'varchar',
        'eidr': 'varchar',
        'series_name': 'varchar',
        'season_number': 'integer',
        'episode_number': 'integer',
        'episode_name': 'varchar',
        'summary_short': 'varchar',
        'summary_long': 'varchar',
        'genres': 'varchar[]',
        'categories': 'varchar[]',
        'rating': 'varchar',
        'run_time_seconds': 'integer',
        'year': 'integer',
        'country_of_origin': 'varchar',
        'actors': 'varchar[]',
        'directors': 'varchar[]',
        'producers': 'varchar[]',
        'licensing_window_start': 'date',
        'licensing_window_end': 'date',
        'app_data': 'json',
    }) }}
),

final as (
    select
        -- ids
        file_id,
        provider,
        provider_id,
        asset_id,
        package_asset_id,
        {{ adi_key('provider_id', 'holder_id', 'asset_id') }} as source_key,
        isan,
        eidr,
        holder_id,
        -- kind: decided at ingest from the show type, else the episode fields (pipelines/ingest/adi.py);
        -- rows loaded before that column existed fall back to the show type alone
        coalesce(
            work_kind,
            case lower(show_type)
                when 'series' then 'episode'
                when 'episode' then 'episode'
                else 'movie'
            end
        ) as work_kind,
        show_type,
        series_id,
        episode_id,
        upper(coalesce(verb, '')) = 'DELETE' as is_delete,
        adi_version,
        coalesce(version_major, 0) as version_major,
        coalesce(version_minor, 0) as version_minor,
        -- titles
        title,
        msdb_match_key(title) as title_match_key,
        title_brief,
        title_ja,
        series_name,
        season_number,
        episode_number,
        episode_name,
        summary_short,
        summary_long,
        coalesce(genres, []) as genres,
        coalesce(categories, []) as categories,
        rating,
        -- people and extras as delivered: App_Data [[name, value], ...]
        coalesce(app_data, '[]') as app_data,
        -- facts
        run_time_seconds,
        year,
        country_of_origin,
        -- dates
        creation_date,
        licensing_window_start,
        licensing_window_end,
        -- provenance
        file_path,
        record_position
    from source
)

select * from final
