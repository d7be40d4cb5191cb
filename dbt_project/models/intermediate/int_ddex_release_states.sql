-- One row per main release × message that delivered it: the release's states in MessageCreatedDateTime order.
with

releases as (
    select * from {{ ref('stg_ddex__releases') }}
    where is_main_release and coalesce(icpn, grid, proprietary_id) is not null
),

purges as (
    select * from {{ ref('stg_ddex__purges') }}
),

-- a release delivered once with ICPN and GRid and once with the GRid only is the same release
grid_icpn as (
    select grid, min(icpn) as icpn
    from releases
    where grid is not null and icpn is not null
    group by grid
),

keyed as (
    select
        {{ release_key('coalesce(releases.icpn, grid_icpn.icpn)', 'releases.grid', 'releases.holder_id', 'releases.proprietary_id') }} as release_key,
        releases.file_id,
        releases.message_id,
        releases.message_type,
        releases.holder_id,
        releases.release_reference,
        releases.message_created_at
    from releases
    left join grid_icpn on releases.grid = grid_icpn.grid
    qualify row_number() over (partition by release_key, releases.file_id order by releases.record_position) = 1
),

-- Update messages replace the earlier state: ordered by when the message was created, not when it arrived
versioned as (
    select
        *,
        row_number() over (partition by release_key order by message_created_at nulls first, file_id) as state_sequence,
        lead(message_created_at) over (partition by release_key order by message_created_at nulls first, file_id) as superseded_at
    from keyed
),

purged as (
    select
        {{ release_key('coalesce(purges.icpn, grid_icpn.icpn)', 'purges.grid', 'purges.holder_id', 'purges.proprietary_id') }} as release_key,
        purges.message_created_at as purged_at
    from purges
    left join grid_icpn on purges.grid = grid_icpn.grid
    where coalesce(purges.icpn, purges.grid, purges.proprietary_id) is not null
),

withdrawals as (
    select versioned.release_key, versioned.file_id, min(purged.purged_at) as purged_at
    from versioned
    inner join purged
        on versioned.release_key = purged.release_key
        and purged.purged_at >= coalesce(versioned.message_created_at, '-infinity'::timestamptz)
        and (versioned.superseded_at is null or purged.purged_at < versioned.superseded_at)
    group by all
),

final as (
    select
        -- ids
        versioned.release_key || '|' || versioned.file_id as release_state_id,
        versioned.release_key,
        versioned.file_id,
        versioned.message_id,
        versioned.release_reference,
        versioned.holder_id,
        -- state
        versioned.message_type,
        versioned.state_sequence,
        versioned.superseded_at is null as is_current,
        withdrawals.purged_at,
        -- dates
        versioned.message_created_at as valid_from,
        versioned.superseded_at as valid_to
    from versioned
    left join withdrawals
        on versioned.release_key = withdrawals.release_key and versioned.file_id = withdrawals.file_id
)

select * from final
