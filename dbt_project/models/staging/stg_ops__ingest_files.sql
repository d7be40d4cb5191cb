with

source as (
    {{ raw_relation('ingest_files', {
        'file_id': 'varchar',
        'file_path': 'varchar',
        'kind': 'varchar',
        'holder_id': 'varchar',
        'file_format': 'varchar',
        'size_bytes': 'bigint',
        'records_found': 'integer',
        'records_loaded': 'integer',
        'records_quarantined': 'integer',
        'status': 'varchar',
        'logical_date': 'date',
        'ingested_at': 'timestamptz',
    }, with_provenance=false, source_name='ops') }}
),

final as (
    select
        -- ids
        file_id,
        holder_id,
        -- kind
        kind,
        file_format,
        status,
        -- counts
        size_bytes,
        records_found,
        records_loaded,
        records_quarantined,
        -- dates
        logical_date,
        ingested_at,
        -- provenance
        file_path
    from source
)

select * from final
