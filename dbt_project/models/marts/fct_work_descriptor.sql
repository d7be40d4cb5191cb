with

descriptors as (
    select * from {{ ref('stg_mead__descriptors') }}
),

resolved as (
    select * from {{ ref('int_works_resolved') }}
),

-- the latest MEAD message about a subject replaces the earlier ones
current_messages as (
    select distinct subject_id_type, subject_id, holder_id, file_id
    from descriptors
    qualify dense_rank() over (
        partition by subject_id_type, subject_id, holder_id order by message_created_at desc nulls last, file_id desc
    ) = 1
),

subjects as (
    select
        descriptors.*,
        case descriptors.subject_id_type
            when 'ISRC' then 'isrc:' || descriptors.subject_id
            when 'ICPN' then 'icpn:' || descriptors.subject_id
            when 'GRid' then 'grid:' || descriptors.subject_id
        end as source_key
    from descriptors
    inner join current_messages using (subject_id_type, subject_id, holder_id, file_id)
),

final as (
    select
        -- ids
        {{ dbt_utils_surrogate(['subjects.file_id', 'subjects.record_position', 'subjects.descriptor', 'subjects.value_position']) }} as work_descriptor_id,
        resolved.work_id,
        subjects.subject_id_type,
        subjects.subject_id,
        -- descriptor
        subjects.descriptor,
        split_part(subjects.descriptor, '/', 1) as descriptor_group,
        subjects.value,
        subjects.value_as_delivered,
        subjects.value_number,
        subjects.value_namespace,
        subjects.value_position,
        subjects.attributes,
        -- provenance
        subjects.holder_id as rights_holder_id,
        'mead' as source,
        subjects.message_id,
        subjects.message_created_at,
        subjects.file_id
    from subjects
    inner join resolved on subjects.source_key = resolved.source_key
)

select * from final
