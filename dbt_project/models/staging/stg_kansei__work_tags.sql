with

source as (
    {{ raw_relation('work_tags', {
        'work_id': 'varchar',
        'tag_id': 'varchar',
        'facet': 'varchar',
        'label_en': 'varchar',
        'label_ja': 'varchar',
        'weight': 'double',
        'score': 'double',
        'rank': 'integer',
        'is_primary': 'boolean',
        'evidence': 'varchar',
        'source': 'varchar',
        'model_id': 'varchar',
        'taxonomy_version': 'varchar',
        'lexicon_version': 'varchar',
        'model_version': 'varchar',
        'run_id': 'varchar',
        'logical_date': 'date',
    }, with_provenance=false, source_name='kansei') }}
),

final as (
    select
        -- ids
        work_id,
        tag_id,
        -- tag
        facet as tag_type,
        label_en,
        label_ja,
        -- weight
        weight,
        score,
        rank as tag_rank,
        is_primary,
        -- explanation
        evidence,
        source as tag_source,
        -- versions
        model_id,
        taxonomy_version,
        lexicon_version,
        model_version,
        run_id,
        -- dates
        logical_date
    from source
)

select * from final
