with

source as (
    {{ raw_relation('work_neighbors', {
        'work_id': 'varchar',
        'neighbor_work_id': 'varchar',
        'rank': 'integer',
        'score': 'double',
        'model_version': 'varchar',
        'logical_date': 'date',
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
        model_version,
        -- dates
        logical_date
    from source
)

select * from final
