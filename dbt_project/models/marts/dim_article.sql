{#-
    Near-duplicates (syndicated copies, lightly edited reposts) are articles whose bodies' MinHash
    signatures agree on at least `near_duplicate_jaccard` of their 64 values (an estimate of the 4-gram
    Jaccard similarity; pipelines.text.fingerprint). Candidate pairs come from locality-sensitive hashing:
    16 bands of 4 values, a pair is compared when one band is equal. A copy points at the earliest
    published article it duplicates; that original itself is not flagged.

    Articles are ranked once in a total order, first seen (first published, else first ingested; unknown
    last) then article_id; only an earlier article can be an original. Within one bucket (band, band key)
    an article is compared only with the `near_duplicate_bucket_candidates` (K, default 32) earliest
    articles of the bucket, which makes at most 16 x K comparisons per article whatever the bucket sizes.
    Templated or boilerplate bodies put thousands of articles in one bucket: a generated night of 100,000
    articles has buckets of up to ~10,000 and 1.2 billion pairs sharing a band, and comparing (or even
    collecting) every pair of a bucket ran out of memory. The comparisons are made per (article, bucket)
    row against the bucket's K earliest signatures, and only the pairs found similar are kept.
    Where no bucket holds more than K + 1 articles (normal data) this is exactly "every pair sharing a
    band". In a larger bucket an article is not compared with the bucket's later articles that precede
    it: when its earliest near-duplicate is not among the K earliest of any bucket they share, it points
    at a later original that is (the earliest such), or at none (is_near_duplicate false).
-#}
{%- set bands = 16 -%}
{%- set rows_per_band = 4 -%}
{%- set bucket_candidates = var('near_duplicate_bucket_candidates', 32) -%}

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

-- the articles with a full signature, numbered in the order originals are chosen in
fingerprints as (
    select
        latest.article_id,
        latest.minhash,
        row_number() over (
            order by coalesce(history.first_published_at, history.first_ingested_at) nulls last, latest.article_id
        ) as article_seq
    from latest
    inner join history on latest.article_id = history.article_id
    where len(latest.minhash) = {{ bands * rows_per_band }}
),

signature_bands as (
    select
        fingerprints.article_seq,
        band.band_index,
        hash(
            list_slice(
                fingerprints.minhash,
                band.band_index * {{ rows_per_band }} + 1,
                (band.band_index + 1) * {{ rows_per_band }}
            )
        ) as band_key,
        row_number() over (partition by band_index, band_key order by fingerprints.article_seq) as bucket_rank
    from fingerprints
    cross join range({{ bands }}) as band (band_index)
),

-- the K earliest articles of each bucket, with their signatures: the only ones a later article of the
-- bucket is compared with
bucket_heads as (
    select
        signature_bands.band_index,
        signature_bands.band_key,
        list({'article_seq': fingerprints.article_seq, 'minhash': fingerprints.minhash}) as heads
    from signature_bands
    inner join fingerprints on signature_bands.article_seq = fingerprints.article_seq
    where signature_bands.bucket_rank <= {{ bucket_candidates }}
    group by signature_bands.band_index, signature_bands.band_key
),

-- each article against the earlier heads of its buckets, one bucket at a time: pairs are compared where
-- they are found and never collected (a pair sharing several bands is compared in each)
similar_pairs as (
    select
        article_seq,
        unnest(
            list_filter(
                list_transform(
                    list_filter(heads, lambda head: head.article_seq < article_seq),
                    lambda head: {
                        'other_article_seq': head.article_seq,
                        'similarity': list_sum(
                            list_transform(
                                range(1, {{ bands * rows_per_band + 1 }}),
                                lambda i: (head.minhash[i] = minhash[i])::integer
                            )
                        ) / {{ bands * rows_per_band }}
                    }
                ),
                lambda pair: pair.similarity >= {{ var('near_duplicate_jaccard', 0.7) }}
            ),
            recursive := true
        )
    from (
        select
            signature_bands.article_seq,
            fingerprints.minhash,
            bucket_heads.heads
        from signature_bands
        inner join fingerprints on signature_bands.article_seq = fingerprints.article_seq
        inner join bucket_heads
            on
                signature_bands.band_index = bucket_heads.band_index
                and signature_bands.band_key = bucket_heads.band_key
        where signature_bands.bucket_rank > 1
    )
),

-- the earliest article each copy duplicates (earlier first seen, then the smaller id)
originals as (
    select
        this_article.article_id,
        other_article.article_id as near_duplicate_of,
        earliest.similarity as near_duplicate_similarity
    from (
        select
            article_seq,
            min(other_article_seq) as other_article_seq,
            arg_min(similarity, other_article_seq) as similarity
        from similar_pairs
        group by article_seq
    ) as earliest
    inner join fingerprints as this_article on earliest.article_seq = this_article.article_seq
    inner join fingerprints as other_article on earliest.other_article_seq = other_article.article_seq
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
