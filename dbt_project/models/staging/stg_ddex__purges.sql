with

source as (
    {{ raw_relation('ddex_purges', {
        'message_id': 'varchar',
        'message_type': 'varchar',
        'message_created_at': 'timestamptz',
        'icpn': 'varchar',
        'grid': 'varchar',
        'isrc': 'varchar',
        'catalog_number': 'varchar',
        'proprietary_id': 'varchar',
        'title': 'varchar',
    }) }}
),

final as (
    select
        -- ids
        file_id,
        message_id,
        icpn,
        grid,
        upper(isrc) as isrc,
        catalog_number,
        proprietary_id,
        holder_id,
        -- titles
        title,
        -- dates
        message_created_at,
        -- provenance
        file_path,
        record_position
    from source
)

select * from final
