with

source as (
    {{ raw_relation('holders', {
        'holder_id': 'varchar',
        'name': 'varchar',
        'kind': 'varchar',
        'timezone': 'varchar',
        'default_language': 'varchar',
        'licence_territories': 'varchar[]',
    }, with_provenance=false) }}
),

final as (
    select
        -- ids
        holder_id,
        -- names
        name as holder_name,
        kind as holder_kind,
        -- defaults
        timezone,
        default_language,
        coalesce(licence_territories, []) as licence_territories
    from source
)

select * from final
