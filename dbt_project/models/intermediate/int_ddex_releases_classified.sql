-- One row per DDEX release as delivered, loaded or refused at ingest: whether it is its message's main release
-- (as marked, or inferred when no release of the message carries IsMainRelease="true", as many ERN 3 label
-- deliveries do), its usable identifiers, the ISRCs of its recordings, and why it cannot become a work.
with

loaded as (
    select
        file_id, file_path, holder_id, message_id, message_type, message_created_at, release_reference, record_position,
        release_type, is_main_release as is_marked_main, icpn, grid, isrc, proprietary_id,
        icpn as delivered_icpn, grid as delivered_grid, proprietary_id as delivered_proprietary_id,
        title, title_match_key, resource_references,
        false as is_rejected, cast(null as varchar) as rejected_reason
    from {{ ref('stg_ddex__releases') }}
),

rejected as (
    -- identifiers that failed their check are not used as identifiers; the ones that passed are
    select
        file_id, file_path, holder_id, message_id, message_type, message_created_at, release_reference, record_position,
        release_type, is_main_release as is_marked_main,
        case when not list_contains(rejected_identifiers, 'ICPN') then icpn end as icpn,
        case when not list_contains(rejected_identifiers, 'GRid') then grid end as grid,
        case when not list_contains(rejected_identifiers, 'ISRC') then isrc end as isrc,
        case when not list_contains(rejected_identifiers, 'ProprietaryId') then proprietary_id end as proprietary_id,
        icpn as delivered_icpn, grid as delivered_grid, proprietary_id as delivered_proprietary_id,
        title, title_match_key, resource_references,
        true as is_rejected, reason as rejected_reason
    from {{ ref('stg_ddex__rejected_releases') }}
),

releases as (
    select * from loaded
    union all
    select * from rejected
),

recordings as (
    select file_id, resource_reference, isrc
    from {{ ref('stg_ddex__resources') }}
    where resource_kind in ('SoundRecording', 'Video')
),

-- counts, not lists: a catalog delivered as one message lists every recording of the catalog, and a list of
-- them on each of its releases grows with releases x recordings
message_recordings as (
    select
        file_id,
        count(*) as recordings,
        count(distinct resource_reference) as distinct_references
    from recordings
    group by file_id
),

-- one row per release row (a loaded and a refused release may share a reference): how many of its message's
-- recordings it references
release_coverage as (
    select
        releases.file_id,
        releases.release_reference,
        releases.record_position,
        releases.is_rejected,
        count(distinct recordings.resource_reference) as references_recordings
    from releases
    cross join unnest(releases.resource_references) as refs(resource_reference)
    inner join recordings
        on releases.file_id = recordings.file_id and refs.resource_reference = recordings.resource_reference
    group by all
),

release_recordings as (
    select releases.file_id, releases.release_reference, list(distinct recordings.isrc order by recordings.isrc) as recording_isrcs
    from releases
    cross join unnest(releases.resource_references) as refs(resource_reference)
    inner join recordings
        on releases.file_id = recordings.file_id and refs.resource_reference = recordings.resource_reference
    where recordings.isrc is not null
    group by all
),

-- the clues to a main release when the message marks none
clues as (
    select
        releases.*,
        coalesce(release_recordings.recording_isrcs, []) as recording_isrcs,
        bool_or(releases.is_marked_main) over (partition by releases.file_id) as message_marks_main,
        count(*) over (partition by releases.file_id) as releases_in_message,
        coalesce(message_recordings.recordings, 0) > 0
            and coalesce(release_coverage.references_recordings, 0) = message_recordings.distinct_references
            as references_every_recording,
        coalesce(releases.delivered_icpn, releases.delivered_grid) is not null as carries_icpn_or_grid,
        coalesce(releases.release_type in ('Album', 'Single', 'EP'), false) as is_album_single_or_ep,
        coalesce(try_cast(regexp_extract(releases.record_position, '\[(\d+)\]$', 1) as integer), 0) as list_position
    from releases
    left join message_recordings on releases.file_id = message_recordings.file_id
    left join release_recordings
        on releases.file_id = release_recordings.file_id and releases.release_reference = release_recordings.release_reference
    left join release_coverage
        on releases.file_id = release_coverage.file_id
        and releases.release_reference = release_coverage.release_reference
        and releases.record_position is not distinct from release_coverage.record_position
        and releases.is_rejected = release_coverage.is_rejected
),

ranked as (
    select
        *,
        row_number() over (
            partition by file_id
            order by references_every_recording desc, carries_icpn_or_grid desc, is_album_single_or_ep desc,
                list_position, release_reference, is_rejected
        ) as main_rank
    from clues
),

classified as (
    select
        *,
        case
            when message_marks_main then is_marked_main
            else main_rank = 1
                and (references_every_recording or carries_icpn_or_grid or is_album_single_or_ep or releases_in_message = 1)
        end as is_main_release,
        case
            when message_marks_main then case when is_marked_main then 'marked' end
            when main_rank > 1 then null
            when references_every_recording then 'references_every_recording'
            when carries_icpn_or_grid then 'carries_icpn_or_grid'
            when is_album_single_or_ep then 'release_type'
            when releases_in_message = 1 then 'only_release'
        end as main_release_rule,
        bool_or(is_marked_main) over (partition by file_id) or bool_or(
            main_rank = 1 and (references_every_recording or carries_icpn_or_grid or is_album_single_or_ep or releases_in_message = 1)
        ) over (partition by file_id) as message_has_main
    from ranked
),

final as (
    select
        -- ids
        file_id || '|' || release_reference as release_id,
        file_id,
        release_reference,
        holder_id,
        message_id,
        file_path,
        record_position,
        list_position,
        icpn,
        grid,
        isrc,
        proprietary_id,
        delivered_icpn,
        delivered_grid,
        delivered_proprietary_id,
        -- kind
        release_type,
        message_type,
        is_main_release,
        main_release_rule,
        is_rejected,
        rejected_reason,
        -- content
        title,
        title_match_key,
        resource_references,
        recording_isrcs,
        -- why it cannot become a work (a refused release is in ops.quarantine from ingest already)
        case
            when is_rejected then null
            when not message_has_main then
                'no main release in the message: no IsMainRelease="true", and no release references every '
                || 'recording, carries an ICPN or GRid, or is an Album, Single or EP; release ' || release_reference
                || ' makes no work and its deals license nothing'
            when is_main_release and coalesce(icpn, grid, proprietary_id) is null then
                'main release ' || release_reference || ' carries no ICPN, GRid or ProprietaryId: it makes no work '
                || 'and its deals license nothing'
        end as unusable_reason,
        -- dates
        message_created_at
    from classified
)

select * from final
