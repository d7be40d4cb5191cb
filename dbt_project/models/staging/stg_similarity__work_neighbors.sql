with

source as (
    {{ raw_relation('work_neighbors', {
        'work_id': 'varchar',
        'neighbor_work_id': 'varchar',
        'rank': 'integer',
        'score': 'double',
        'model_version': 'varchar',
        'logical_date': 'date',
        'search_score': 'double',
        'text_share': 'double',
        'kansei_share': 'double',
        'metadata_share': 'double',
        'is_cross_domain': 'boolean',
    }, with_provenance=false, source_name='similarity') }}
),

final as (
    select
        -- ids
        work_id,
        neighbor_work_id,
        -- neighbour
        rank as neighbor_rank,
        score,
        search_score,
        text_share,
        kansei_share,
        metadata_share,
        coalesce(is_cross_domain, false) as is_cross_domain,
        model_version,
        -- dates
        logical_date
    from source
)

select * from final
