{#-
    Every delivered version of an article gets the article it belongs to. Two versions are one article when
    they share a canonical URL or a body (same normalised content hash); that relation is transitive, so
    groups are found by label propagation: each version starts with its delivery order as label, and each
    round hands every version the smallest label among the versions sharing its URL, then its body.
    `label_rounds` rounds join chains of up to 2 x label_rounds hops; the singular test
    assert_article_versions_grouped_converged fails if a longer chain ever shows up.

    Very short bodies ('動画はこちら') are shared by unrelated articles, so a body joins versions only
    from `article_dedup_min_chars` characters on.
-#}
{%- set label_rounds = 4 -%}

with

versions as (
    select * from {{ ref('stg_articles__articles') }}
),

ordered as (
    select
        *,
        coalesce(try_cast(regexp_extract(record_position, '(\d+)', 1) as integer), 0) as record_index,
        row_number() over (order by ingested_at, file_id, record_index, record_position) as delivery_seq,
        case when length(body) >= {{ var('article_dedup_min_chars', 40) }} then content_hash end as dedup_hash,
        -- a time flagged as in the future does not make a version the latest
        coalesce(
            case when not list_contains(quality_flags, 'updated_at_in_future') then updated_at end,
            case when not list_contains(quality_flags, 'published_at_in_future') then published_at end
        ) as version_time
    from versions
),

labels_0 as (
    select version_id, canonical_url, dedup_hash, delivery_seq as label
    from ordered
),

{% for round in range(1, label_rounds + 1) %}
labels_{{ round }}_by_url as (
    select
        version_id,
        canonical_url,
        dedup_hash,
        min(label) over (partition by canonical_url) as label
    from labels_{{ round - 1 }}
),

labels_{{ round }} as (
    select
        version_id,
        canonical_url,
        dedup_hash,
        case
            when dedup_hash is null then label
            else min(label) over (partition by dedup_hash)
        end as label
    from labels_{{ round }}_by_url
),
{% endfor %}

-- the earliest delivered version of each group names the article
anchors as (
    select
        labels.label,
        ordered.canonical_url as anchor_url
    from labels_{{ label_rounds }} as labels
    inner join ordered on labels.label = ordered.delivery_seq
    qualify row_number() over (partition by labels.label order by labels.version_id) = 1
),

grouped as (
    select
        ordered.*,
        'a_' || substr(sha256(anchors.anchor_url), 1, 20) as article_id
    from ordered
    inner join labels_{{ label_rounds }} as labels on ordered.version_id = labels.version_id
    inner join anchors on labels.label = anchors.label
),

ranked as (
    select
        *,
        row_number() over (
            partition by article_id
            order by version_time desc nulls last, ingested_at desc, file_id desc, record_index desc
        ) as recency_rank,
        count(*) over (partition by article_id) as version_count
    from grouped
),

final as (
    select
        -- ids
        version_id,
        article_id,
        version_count - recency_rank + 1 as version_number,
        recency_rank = 1 as is_latest,
        version_count,
        file_id,
        record_position,
        publisher_id,
        source_id,
        -- urls
        url,
        canonical_url,
        -- text
        title,
        body,
        author,
        language,
        category,
        -- fingerprints
        content_hash,
        dedup_hash,
        minhash,
        -- provenance
        source_format,
        source_encoding,
        quality_flags,
        -- dates
        published_at_raw,
        published_at,
        updated_at_raw,
        updated_at,
        version_time,
        ingested_at,
        delivery_seq
    from ranked
)

select * from final
