with

articles as (
    select * from {{ ref('stg_articles__articles') }}
),

latest as (
    select *
    from articles
    qualify row_number() over (partition by article_id order by published_at desc nulls last, file_id) = 1
),

final as (
    select
        -- ids
        article_id,
        publisher_id,
        url,
        -- text
        title,
        body,
        language,
        category,
        content_hash,
        -- dates
        published_at
    from latest
)

select * from final
