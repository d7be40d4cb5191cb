with

source as (
    {{ raw_relation('ddex_releases', {
        'message_id': 'varchar',
        'message_type': 'varchar',
        'message_created_at': 'timestamptz',
        'release_reference': 'varchar',
        'release_type': 'varchar',
        'is_main_release': 'boolean',
        'icpn': 'varchar',
        'grid': 'varchar',
        'isrc': 'varchar',
        'catalog_number': 'varchar',
        'proprietary_id': 'varchar',
        'title': 'varchar',
        'title_match_key': 'varchar',
        'titles': 'json',
        'display_artist': 'varchar',
        'artists': 'json',
        'label_name': 'varchar',
        'genres': 'varchar[]',
        'release_date': 'date',
        'original_release_date': 'date',
        'duration_seconds': 'integer',
        'parental_warning': 'varchar',
        'p_line': 'varchar',
        'c_line': 'varchar',
        'resource_references': 'varchar[]',
    }) }}
),

final as (
    select
        -- ids
        file_id,
        message_id,
        release_reference,
        icpn,
        grid,
        upper(isrc) as isrc,
        catalog_number,
        proprietary_id,
        holder_id,
        -- kind
        release_type,
        coalesce(is_main_release, false) as is_main_release,
        message_type,
        -- titles
        title,
        msdb_match_key(title) as title_match_key,
        {{ title_in('titles', ['ja-Jpan', 'ja']) }} as title_ja,
        {{ title_in('titles', ['en', 'en-Latn']) }} as title_en,
        {{ title_in('titles', ['ja-Latn']) }} as title_latn,
        titles,
        display_artist,
        coalesce(artists, '[]') as artists,
        label_name,
        genres,
        -- facts
        duration_seconds,
        parental_warning,
        p_line,
        c_line,
        coalesce(resource_references, []) as resource_references,
        -- dates
        release_date,
        original_release_date,
        message_created_at,
        -- provenance
        file_path,
        record_position
    from source
)

select * from final
