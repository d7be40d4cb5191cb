-- One row per delivered DDEX sound recording or video, with the key that makes it a work: its ISRC, else the
-- sender's ProprietaryId, else the sender + its main release + its resource reference (a DJ-mix supplemental
-- track often has no ISRC). A resource reference alone is only unique inside one message, hence the release
-- (else the message). Null only without a sender, which ingest quarantines.
-- A recording with no DisplayArtistName of its own takes its release's (DDEX), never its contributors'.
with

resources as (
    select * from {{ ref('stg_ddex__resources') }}
    where resource_kind in ('SoundRecording', 'Video')
),

messages as (
    select * from {{ ref('stg_ddex__messages') }}
),

releases as (
    select * from {{ ref('stg_ddex__releases') }}
),

release_states as (
    select * from {{ ref('int_ddex_release_states') }}
),

-- the release of the message that lists the resource: the main release (keyed as int_ddex_release_states
-- keys it) first, else another release that lists it, by its ICPN / GRid / proprietary id
resource_releases as (
    select
        resources.file_id,
        resources.record_position,
        coalesce(
            release_states.release_key,
            {{ release_key('releases.icpn', 'releases.grid', 'releases.holder_id', 'releases.proprietary_id') }}
        ) as release_key,
        releases.display_artist as release_display_artist
    -- an equi-join on each listed reference: a join on the message alone, filtered by list_contains, pairs
    -- every recording with every release of a catalog delivered as one message
    from releases
    cross join unnest(releases.resource_references) as refs(resource_reference)
    inner join resources
        on resources.file_id = releases.file_id
        and resources.resource_reference = refs.resource_reference
    left join release_states
        on releases.file_id = release_states.file_id
        and releases.release_reference = release_states.release_reference
    qualify row_number() over (
        partition by resources.file_id, resources.record_position
        order by
            release_states.release_key is not null desc,
            coalesce(releases.is_main_release, false) desc,
            releases.record_position
    ) = 1
),

senders as (
    select file_id, min(sender_party_id) as sender_party_id
    from messages
    where sender_party_id is not null
    group by file_id
),

final as (
    select
        -- ids
        case
            when resources.isrc is not null
                then 'isrc:' || resources.isrc
            when resources.proprietary_id is not null and senders.sender_party_id is not null
                then 'ddex:' || senders.sender_party_id || ':proprietary:' || resources.proprietary_id
            when senders.sender_party_id is not null and resource_releases.release_key is not null
                then 'ddex:' || senders.sender_party_id || ':' || resource_releases.release_key
                    || ':resource:' || resources.resource_reference
            -- no release of the message lists it or can be keyed: the message itself scopes the reference
            when senders.sender_party_id is not null
                then 'ddex:' || senders.sender_party_id || ':message:' || coalesce(resources.message_id, resources.file_id)
                    || ':resource:' || resources.resource_reference
        end as recording_key,
        senders.sender_party_id,
        resource_releases.release_key,
        -- DDEX: a recording without a DisplayArtistName of its own shares its release's
        resources.* replace (
            coalesce(resources.display_artist, resource_releases.release_display_artist) as display_artist
        )
    from resources
    left join senders on resources.file_id = senders.file_id
    left join resource_releases
        on resources.file_id = resource_releases.file_id
        and resources.record_position = resource_releases.record_position
)

select * from final
