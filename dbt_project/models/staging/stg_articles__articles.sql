with

source as (
    select * from {{ source('raw', 'articles') }}
),

final as (
    select
        -- ids
        'a_' || substr(sha256(url), 1, 20) as article_id,
        file_id,
        holder_id as publisher_id,
        url,
        -- text
        title,
        body,
        language,
        category,
        sha256(lower(regexp_replace(body, '\s+', '', 'g'))) as content_hash,
        -- dates
        published_at_raw,
        published_at
    from source
)

select * from final
