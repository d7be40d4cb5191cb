with

source as (
    {{ raw_relation('mead_descriptors', {
        'message_id': 'varchar',
        'message_created_at': 'timestamptz',
        'subject_kind': 'varchar',
        'subject_id_type': 'varchar',
        'subject_id': 'varchar',
        'subject_title': 'varchar',
        'subject_display_artist': 'varchar',
        'descriptor': 'varchar',
        'value_position': 'integer',
        'value': 'varchar',
        'value_as_delivered': 'varchar',
        'value_number': 'double',
        'value_namespace': 'varchar',
        'attributes': 'json',
    }) }}
),

final as (
    select
        -- ids
        file_id,
        message_id,
        holder_id,
        -- subject
        subject_kind,
        subject_id_type,
        case when subject_id_type in ('ISRC', 'ICPN', 'GRid') then upper(subject_id) else subject_id end as subject_id,
        subject_title,
        subject_display_artist,
        -- descriptor
        descriptor,
        value_position,
        value,
        value_as_delivered,
        value_number,
        value_namespace,
        attributes,
        -- dates
        message_created_at,
        -- provenance
        file_path,
        record_position
    from source
)

select * from final
