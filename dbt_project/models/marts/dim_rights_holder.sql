with

holders as (
    select * from {{ ref('stg_raw__holders') }}
),

files as (
    select * from {{ ref('stg_ops__ingest_files') }}
),

sources as (
    select * from {{ ref('bridge_work_source') }}
),

-- a holder removed from the registry still owns what it delivered
seen as (
    select holder_id from files where holder_id is not null
    union
    select rights_holder_id from sources
),

everyone as (
    select holder_id from holders
    union
    select holder_id from seen
),

deliveries as (
    select
        holder_id,
        count(*) filter (where status in ('loaded', 'partial')) as files_loaded,
        count(*) filter (where status not in ('loaded', 'partial')) as files_quarantined,
        max(ingested_at) as last_delivery_at
    from files
    group by holder_id
),

works as (
    select rights_holder_id as holder_id, count(distinct work_id) as work_count
    from sources
    group by all
),

final as (
    select
        -- ids
        everyone.holder_id as rights_holder_id,
        -- names
        coalesce(holders.holder_name, everyone.holder_id) as name,
        holders.holder_kind as kind,
        holders.holder_id is not null as is_declared,
        -- defaults
        holders.timezone,
        holders.default_language,
        coalesce(holders.licence_territories, []) as licence_territories,
        -- deliveries
        coalesce(works.work_count, 0) as work_count,
        coalesce(deliveries.files_loaded, 0) as files_loaded,
        coalesce(deliveries.files_quarantined, 0) as files_quarantined,
        deliveries.last_delivery_at
    from everyone
    left join holders on everyone.holder_id = holders.holder_id
    left join deliveries on everyone.holder_id = deliveries.holder_id
    left join works on everyone.holder_id = works.holder_id
)

select * from final
