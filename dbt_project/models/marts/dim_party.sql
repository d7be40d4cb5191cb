with

parties as (
    select * from {{ ref('int_work_parties') }}
),

final as (
    select
        -- ids
        party_id,
        any_value(ddex_party_id) as ddex_party_id,
        -- names
        mode(name) as name,
        any_value(name_ja) filter (where name_ja is not null) as name_ja,
        any_value(name_key) as name_key,
        -- kind
        any_value(party_kind) as party_kind,
        list(distinct role_group order by role_group) as role_groups,
        count(distinct work_id) as work_count
    from parties
    group by party_id
)

select * from final
