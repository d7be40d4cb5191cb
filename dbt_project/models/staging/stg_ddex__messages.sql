with

source as (
    {{ raw_relation('ddex_messages', {
        'message_id': 'varchar',
        'message_thread_id': 'varchar',
        'message_type': 'varchar',
        'ern_version': 'varchar',
        'sender_party_id': 'varchar',
        'sender_name': 'varchar',
        'update_indicator': 'varchar',
        'message_control_type': 'varchar',
        'message_created_at': 'timestamptz',
    }) }}
),

final as (
    select
        -- ids
        file_id,
        message_id,
        message_thread_id,
        holder_id,
        -- kind
        message_type,
        ern_version,
        update_indicator,
        message_control_type,
        -- parties
        sender_party_id,
        sender_name,
        -- dates
        message_created_at,
        -- provenance
        file_path
    from source
)

select * from final
