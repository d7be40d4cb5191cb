-- Versions sharing a canonical URL or a body must share an article: the bounded label rounds of
-- int_article_versions_grouped did not converge when this returns rows (raise its label_rounds).
with

versions as (
    select * from {{ ref('int_article_versions_grouped') }}
),

split_urls as (
    select 'canonical_url' as shared, canonical_url as shared_value
    from versions
    group by canonical_url
    having count(distinct article_id) > 1
),

split_bodies as (
    select 'dedup_hash' as shared, dedup_hash as shared_value
    from versions
    where dedup_hash is not null
    group by dedup_hash
    having count(distinct article_id) > 1
)

select * from split_urls
union all
select * from split_bodies
