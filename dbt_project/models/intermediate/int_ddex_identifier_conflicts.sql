-- One row per release identifier (ICPN, GRid or proprietary id) delivered for two or more different releases:
-- different titles and no recording in common. Both stay works (see int_ddex_release_states); the conflict is
-- reported (ops.identifier_conflicts, the run summary) for the senders to settle, never merged silently.
with

states as (
    select * from {{ ref('int_ddex_release_states') }}
),

conflicting as (
    select identifier_key
    from states
    group by identifier_key
    having count(distinct release_key) > 1
),

final as (
    select
        -- ids
        states.identifier_key,
        case split_part(states.identifier_key, ':', 1)
            when 'icpn' then 'ICPN'
            when 'grid' then 'GRid'
            else 'ProprietaryId'
        end as identifier_type,
        regexp_replace(states.identifier_key, '^(icpn|grid):', '') as identifier_value,
        -- the releases that share it
        list(distinct states.release_key order by states.release_key) as source_keys,
        list(distinct states.title order by states.title) filter (where states.title is not null) as titles,
        list(distinct states.holder_id order by states.holder_id) as holder_ids,
        list(distinct states.file_id order by states.file_id) as file_ids,
        list(distinct states.file_path order by states.file_path) as file_paths,
        -- dates
        min(states.valid_from) as first_delivered_at
    from states
    inner join conflicting on states.identifier_key = conflicting.identifier_key
    group by states.identifier_key
)

select * from final
