with

source as (
    {{ raw_relation('ddex_deals', {
        'message_id': 'varchar',
        'message_type': 'varchar',
        'message_created_at': 'timestamptz',
        'release_reference': 'varchar',
        'deal_position': 'integer',
        'deal_reference': 'varchar',
        'territories': 'varchar[]',
        'excluded_territories': 'varchar[]',
        'commercial_models': 'varchar[]',
        'use_types': 'varchar[]',
        'start_date': 'date',
        'end_date': 'date',
        'is_takedown': 'boolean',
    }) }}
),

final as (
    select
        -- ids
        file_id,
        message_id,
        release_reference,
        deal_position,
        deal_reference,
        holder_id,
        -- terms
        -- DDEX's short form 'WW' is Worldwide (ingest accepts both)
        list_transform(coalesce(territories, []), t -> case when upper(trim(t)) = 'WW' then 'Worldwide' else t end) as territories,
        coalesce(excluded_territories, []) as excluded_territories,
        coalesce(commercial_models, []) as commercial_models,
        coalesce(use_types, []) as use_types,
        coalesce(is_takedown, false) as is_takedown,
        message_type,
        -- dates
        start_date,
        end_date,
        message_created_at,
        -- provenance
        file_path,
        record_position
    from source
)

select * from final
