-- One row per main release × message that delivered it: the release's states in MessageCreatedDateTime order.
-- A main release refused at ingest for a bad identifier is a state too (known by the identifiers it was
-- delivered with): its message replaces the earlier states, so their deals stop, and its own deals license its
-- recordings. Two different releases under one ICPN/GRid (different title and no recording in common) are two
-- releases: the first delivered keeps the identifier's key, the other gets the key + '~' + its title key.
with

releases as (
    select * from {{ ref('int_ddex_releases_classified') }}
    where is_main_release
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

identified as (
    select
        coalesce(
            {{ release_key('coalesce(releases.icpn, grid_icpn.icpn)', 'releases.grid', 'releases.holder_id', 'releases.proprietary_id') }},
            case when releases.is_rejected then
                {{ release_key('releases.delivered_icpn', 'releases.delivered_grid', 'releases.holder_id', 'releases.delivered_proprietary_id') }}
            end
        ) as identifier_key,
        releases.*
    from releases
    left join grid_icpn on releases.grid = grid_icpn.grid
),

sequenced as (
    select
        *,
        row_number() over (
            partition by identifier_key
            order by message_created_at nulls first, file_id, list_position, release_reference
        ) as delivery_sequence
    from identified
    where identifier_key is not null
),

-- the earliest delivery of the identifier that is the same release: same title or a recording in common
first_match as (
    select
        later.release_id,
        arg_min(earlier.release_id, earlier.delivery_sequence) as match_id
    from sequenced as later
    inner join sequenced as earlier
        on later.identifier_key = earlier.identifier_key
        and earlier.delivery_sequence <= later.delivery_sequence
        and (
            earlier.release_id = later.release_id
            or earlier.title_match_key = later.title_match_key
            or list_has_any(earlier.recording_isrcs, later.recording_isrcs)
        )
    group by later.release_id
),

identities as (
    -- two hops: a renamed update of a release, then a new tracklist under the new name, stay one release
    select
        sequenced.*,
        anchor.release_id as anchor_id,
        anchor.delivery_sequence as anchor_sequence,
        anchor.title_match_key as anchor_title_key,
        anchor.file_id as anchor_file_id,
        anchor.release_reference as anchor_release_reference
    from sequenced
    inner join first_match as one on sequenced.release_id = one.release_id
    inner join first_match as two on one.match_id = two.release_id
    inner join sequenced as anchor on two.match_id = anchor.release_id
),

keyed as (
    select
        case
            when dense_rank() over (partition by identifier_key order by anchor_sequence) = 1 then identifier_key
            else identifier_key || '~' || coalesce(anchor_title_key, anchor_file_id || ':' || anchor_release_reference)
        end as release_key,
        *
    from identities
),

one_per_message as (
    select *
    from keyed
    qualify row_number() over (partition by release_key, file_id order by list_position, release_reference) = 1
),

-- Update messages replace the earlier state: ordered by when the message was created, not when it arrived
versioned as (
    select
        *,
        row_number() over (partition by release_key order by message_created_at nulls first, file_id) as state_sequence,
        lead(message_created_at) over (partition by release_key order by message_created_at nulls first, file_id) as superseded_at
    from one_per_message
),

purged as (
    select
        {{ release_key('coalesce(purges.icpn, grid_icpn.icpn)', 'purges.grid', 'purges.holder_id', 'purges.proprietary_id') }} as identifier_key,
        purges.message_created_at as purged_at
    from purges
    left join grid_icpn on purges.grid = grid_icpn.grid
    where coalesce(purges.icpn, purges.grid, purges.proprietary_id) is not null
),

withdrawals as (
    select versioned.release_key, versioned.file_id, min(purged.purged_at) as purged_at
    from versioned
    inner join purged
        on versioned.identifier_key = purged.identifier_key
        and purged.purged_at >= coalesce(versioned.message_created_at, '-infinity'::timestamptz)
        and (versioned.superseded_at is null or purged.purged_at < versioned.superseded_at)
    group by all
),

final as (
    select
        -- ids
        versioned.release_key || '|' || versioned.file_id as release_state_id,
        versioned.release_key,
        versioned.identifier_key,
        versioned.file_id,
        versioned.file_path,
        versioned.message_id,
        versioned.release_reference,
        versioned.holder_id,
        -- state
        versioned.message_type,
        versioned.state_sequence,
        versioned.superseded_at is null as is_current,
        versioned.is_rejected,
        withdrawals.purged_at,
        -- the release as delivered in this state
        versioned.title,
        versioned.recording_isrcs,
        -- dates
        versioned.message_created_at as valid_from,
        versioned.superseded_at as valid_to
    from versioned
    left join withdrawals
        on versioned.release_key = withdrawals.release_key and versioned.file_id = withdrawals.file_id
)

select * from final
