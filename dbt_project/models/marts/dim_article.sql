{#-
    Near-duplicates (syndicated copies, lightly edited reposts) are articles whose bodies' MinHash
    signatures agree on at least `near_duplicate_jaccard` of their 64 values (an estimate of the 4-gram
    Jaccard similarity; pipelines.text.fingerprint). Candidate pairs come from locality-sensitive hashing:
    16 bands of 4 values, a pair is compared when one band is equal. A copy points at the earliest
    published article it duplicates; that original itself is not flagged.
-#}
{%- set bands = 16 -%}
{%- set rows_per_band = 4 -%}

with

versions as (
    select * from {{ ref('int_article_versions_grouped') }}
),

latest as (
    select *
    from versions
    where is_latest
),

history as (
    select
        article_id,
        min(published_at) as first_published_at,
        min(ingested_at) as first_ingested_at
    from versions
    group by article_id
),

signature_bands as (
    select
        latest.article_id,
        band.band_index,
        hash(list_slice(latest.minhash, band.band_index * {{ rows_per_band }} + 1, (band.band_index + 1) * {{ rows_per_band }})) as band_key
    from latest
    cross join range({{ bands }}) as band (band_index)
    where len(latest.minhash) = {{ bands * rows_per_band }}
),

candidate_pairs as (
    select distinct
        left_band.article_id,
        right_band.article_id as other_article_id
    from signature_bands as left_band
    inner join signature_bands as right_band
        on
            left_band.band_index = right_band.band_index
            and left_band.band_key = right_band.band_key
            and left_band.article_id <> right_band.article_id
),

similar_pairs as (
    select
        candidate_pairs.article_id,
        candidate_pairs.other_article_id,
        list_sum(
            list_transform(
                range(1, {{ bands * rows_per_band + 1 }}),
                lambda i: (this_article.minhash[i] = other_article.minhash[i])::integer
            )
        ) / {{ bands * rows_per_band }} as similarity,
        coalesce(other_history.first_published_at, other_history.first_ingested_at) as other_first_seen,
        coalesce(this_history.first_published_at, this_history.first_ingested_at) as this_first_seen
    from candidate_pairs
    inner join latest as this_article on candidate_pairs.article_id = this_article.article_id
    inner join latest as other_article on candidate_pairs.other_article_id = other_article.article_id
    inner join history as this_history on candidate_pairs.article_id = this_history.article_id
    inner join history as other_history on candidate_pairs.other_article_id = other_history.article_id
),

-- the earliest article each copy duplicates (earlier first seen, then the smaller id)
originals as (
    select
        article_id,
        other_article_id as near_duplicate_of,
        similarity as near_duplicate_similarity
    from similar_pairs
    where
        similarity >= {{ var('near_duplicate_jaccard', 0.7) }}
        and (other_first_seen, other_article_id) < (this_first_seen, article_id)
    qualify row_number() over (partition by article_id order by other_first_seen, other_article_id) = 1
),

final as (
    select
        -- ids
        latest.article_id,
        latest.publisher_id,
        latest.url,
        latest.canonical_url,
        -- text
        latest.title,
        latest.body,
        latest.author,
        latest.language,
        latest.category,
        latest.content_hash,
        -- duplicates
        latest.version_count,
        originals.near_duplicate_of,
        originals.near_duplicate_of is not null as is_near_duplicate,
        originals.near_duplicate_similarity,
        -- provenance
        latest.source_format,
        latest.quality_flags,
        latest.version_id as latest_version_id,
        -- dates
        latest.published_at_raw,
        latest.published_at,
        latest.updated_at,
        history.first_ingested_at,
        latest.ingested_at as last_ingested_at
    from latest
    inner join history on latest.article_id = history.article_id
    left join originals on latest.article_id = originals.article_id
)

select * from final
