with

source as (
    {{ raw_relation('adi_assets', {
        'title_asset_id': 'varchar',
        'asset_id': 'varchar',
        'asset_class': 'varchar',
        'asset_type': 'varchar',
        'content_value': 'varchar',
    }) }}
),

final as (
    select
        -- ids
        file_id,
        title_asset_id,
        asset_id,
        holder_id,
        -- kind
        lower(asset_class) as asset_class,
        asset_type,
        -- content
        content_value,
        -- provenance
        file_path,
        record_position
    from source
)

select * from final
