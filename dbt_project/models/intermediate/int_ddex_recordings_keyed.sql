-- One row per delivered DDEX sound recording or video, with the key that makes it a work: its ISRC, else the
-- sender's ProprietaryId, else the sender + its main release + its resource reference (a DJ-mix supplemental
-- track often has no ISRC). A resource reference alone is only unique inside one message, hence the release.
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

-- the main release of the message that lists the resource (else the message's first main release)
resource_releases as (
    select
        resources.file_id,
        resources.record_position,
        release_states.release_key,
        case when list_contains(releases.resource_references, resources.resource_reference)
            then releases.display_artist end as release_display_artist
    from resources
    inner join release_states on resources.file_id = release_states.file_id
    left join releases
        on release_states.file_id = releases.file_id
        and release_states.release_reference = releases.release_reference
    qualify row_number() over (
        partition by resources.file_id, resources.record_position
        order by
            coalesce(list_contains(releases.resource_references, resources.resource_reference), false) desc,
            release_states.release_key
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
