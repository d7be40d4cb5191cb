with

source as (
    {{ raw_relation('work_tags', {
        'work_id': 'varchar',
        'tag_id': 'varchar',
        'facet': 'varchar',
        'score': 'double',
        'source': 'varchar',
        'model_version': 'varchar',
        'logical_date': 'date',
    }, with_provenance=false, source_name='kansei') }}
),

final as (
    select
        -- ids
        work_id,
        tag_id,
        -- tag
        facet,
        score,
        source as tag_source,
        model_version,
        -- dates
        logical_date
    from source
)

select * from final
