with

parties as (
    select * from {{ ref('int_work_parties') }}
),

works as (
    select work_id from {{ ref('dim_work') }}
),

final as (
    select
        -- ids
        {{ dbt_utils_surrogate(['parties.work_id', 'party_id', 'role']) }} as work_party_id,
        parties.work_id,
        party_id,
        -- role
        role_group,
        role,
        min(sequence) as sequence
    from parties
    inner join works on parties.work_id = works.work_id
    group by all
)

select * from final
