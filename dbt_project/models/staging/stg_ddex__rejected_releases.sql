with

source as (
    {{ raw_relation('ddex_rejected_releases', {
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
        'rejected_identifiers': 'varchar[]',
        'title': 'varchar',
        'resource_references': 'varchar[]',
        'reason': 'varchar',
    }) }}
),

final as (
    select
        -- ids (as delivered, the refused ones included)
        file_id,
        message_id,
        release_reference,
        icpn,
        grid,
        upper(isrc) as isrc,
        catalog_number,
        proprietary_id,
        holder_id,
        coalesce(rejected_identifiers, []) as rejected_identifiers,
        -- kind
        release_type,
        coalesce(is_main_release, false) as is_main_release,
        message_type,
        -- titles
        title,
        msdb_match_key(title) as title_match_key,
        coalesce(resource_references, []) as resource_references,
        reason,
        -- dates
        message_created_at,
        -- provenance
        file_path,
        record_position
    from source
)

select * from final
