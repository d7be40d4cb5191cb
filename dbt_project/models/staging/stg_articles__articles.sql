with

source as (
    {{ raw_relation('articles', {
        'url': 'varchar',
        'canonical_url': 'varchar',
        'source_id': 'varchar',
        'title': 'varchar',
        'body': 'varchar',
        'author': 'varchar',
        'language': 'varchar',
        'language_declared': 'varchar',
        'language_detected': 'varchar',
        'language_confidence': 'double',
        'category': 'varchar',
        'content_hash': 'varchar',
        'minhash': 'bigint[]',
        'source_format': 'varchar',
        'source_encoding': 'varchar',
        'quality_flags': 'varchar[]',
        'published_at_raw': 'varchar',
        'published_at': 'timestamptz',
        'updated_at_raw': 'varchar',
        'updated_at': 'timestamptz',
        'ingested_at': 'timestamptz',
    }) }}
),

final as (
    select
        -- ids
        'v_' || substr(sha256(file_id || ':' || record_position), 1, 20) as version_id,
        file_id,
        record_position,
        holder_id as publisher_id,
        source_id,
        -- urls (rows landed before canonical_url existed fall back to the URL as delivered)
        url,
        coalesce(canonical_url, url) as canonical_url,
        -- text
        title,
        body,
        author,
        language,
        language_declared,
        language_detected,
        language_confidence,
        category,
        -- fingerprints
        content_hash,
        minhash,
        -- provenance
        source_format,
        source_encoding,
        coalesce(quality_flags, []::varchar[]) as quality_flags,
        -- dates
        published_at_raw,
        published_at,
        updated_at_raw,
        updated_at,
        ingested_at
    from source
)

select * from final
