with

source as (
    {{ raw_relation('ddex_resources', {
        'message_id': 'varchar',
        'message_type': 'varchar',
        'message_created_at': 'timestamptz',
        'resource_reference': 'varchar',
        'resource_kind': 'varchar',
        'resource_type': 'varchar',
        'isrc': 'varchar',
        'iswc': 'varchar',
        'proprietary_id': 'varchar',
        'title': 'varchar',
        'title_match_key': 'varchar',
        'titles': 'json',
        'display_artist': 'varchar',
        'artists': 'json',
        'contributors': 'json',
        'genres': 'varchar[]',
        'label_name': 'varchar',
        'duration_seconds': 'integer',
        'parental_warning': 'varchar',
        'language_of_performance': 'varchar',
        'creation_date': 'varchar',
        'p_line': 'varchar',
    }) }}
),

final as (
    select
        -- ids
        file_id,
        message_id,
        resource_reference,
        upper(isrc) as isrc,
        iswc,
        proprietary_id,
        holder_id,
        -- kind
        resource_kind,
        resource_type,
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
        coalesce(contributors, '[]') as contributors,
        genres,
        label_name,
        -- facts
        duration_seconds,
        parental_warning,
        language_of_performance,
        p_line,
        -- dates
        creation_date,
        message_created_at,
        -- provenance
        file_path,
        record_position
    from source
)

select * from final
