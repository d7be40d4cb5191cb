"""dim_article's near-duplicates against the model as it was before candidate pairs were bounded (every pair of
articles sharing a MinHash band compared): identical where no bucket holds more than K + 1 articles, and
only ever a subset, pointing at an original among a bucket's K earliest, where buckets are larger."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from pipelines.generate import Request, generate_landing
from pipelines.ingest import run_ingest
from tests.conftest import make_settings
from tests.ingest.article_marts import build_article_marts

pytestmark = pytest.mark.slow

LOGICAL_DATE = date(2026, 11, 24)

# the near-duplicate part of dim_article before the pairs were bounded, rendered (16 bands of 4, Jaccard 0.7)
UNBOUNDED_ORIGINALS = """
with
versions as (select * from intermediate.int_article_versions_grouped),
latest as (select * from versions where is_latest),
history as (
    select article_id, min(published_at) as first_published_at, min(ingested_at) as first_ingested_at
    from versions
    group by article_id
),
signature_bands as (
    select
        latest.article_id,
        band.band_index,
        hash(list_slice(latest.minhash, band.band_index * 4 + 1, (band.band_index + 1) * 4)) as band_key
    from latest
    cross join range(16) as band (band_index)
    where len(latest.minhash) = 64
),
candidate_pairs as (
    select distinct left_band.article_id, right_band.article_id as other_article_id
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
            list_transform(range(1, 65), lambda i: (this_article.minhash[i] = other_article.minhash[i])::integer)
        ) / 64 as similarity,
        coalesce(other_history.first_published_at, other_history.first_ingested_at) as other_first_seen,
        coalesce(this_history.first_published_at, this_history.first_ingested_at) as this_first_seen
    from candidate_pairs
    inner join latest as this_article on candidate_pairs.article_id = this_article.article_id
    inner join latest as other_article on candidate_pairs.other_article_id = other_article.article_id
    inner join history as this_history on candidate_pairs.article_id = this_history.article_id
    inner join history as other_history on candidate_pairs.other_article_id = other_history.article_id
)
select article_id, other_article_id as near_duplicate_of, similarity as near_duplicate_similarity
from similar_pairs
where similarity >= 0.7 and (other_first_seen, other_article_id) < (this_first_seen, article_id)
qualify row_number() over (partition by article_id order by other_first_seen, other_article_id) = 1
"""

# each article's rank in each of its buckets, in the order originals are chosen in
BUCKET_RANKS = """
with
versions as (select * from intermediate.int_article_versions_grouped),
firsts as (
    select article_id, coalesce(min(published_at), min(ingested_at)) as first_seen
    from versions
    group by article_id
)
select
    latest.article_id,
    band.band_index,
    hash(list_slice(latest.minhash, band.band_index * 4 + 1, (band.band_index + 1) * 4)) as band_key,
    row_number() over (
        partition by band.band_index, band_key order by firsts.first_seen nulls last, latest.article_id
    ) as bucket_rank
from versions as latest
inner join firsts on latest.article_id = firsts.article_id
cross join range(16) as band (band_index)
where latest.is_latest and len(latest.minhash) = 64
"""


def _flagged(con) -> dict[str, tuple[str, float]]:
    rows = con.execute(
        "SELECT article_id, near_duplicate_of, near_duplicate_similarity FROM marts.dim_article "
        "WHERE is_near_duplicate"
    ).fetchall()
    return {article: (original, similarity) for article, original, similarity in rows}


def test_bounded_candidate_pairs_match_every_pair_sharing_a_band(tmp_path):
    # generated articles are made of a few dozen template sentences: many near-copies, and buckets of dozens
    landing = tmp_path / "landing"
    generate_landing(
        landing,
        Request(works=1, articles=1500, holders=1, nights=0, seed=3, start=LOGICAL_DATE, creatives=0),
    )
    settings = make_settings(tmp_path, landing)
    run_ingest(settings, LOGICAL_DATE)
    build_article_marts(settings, LOGICAL_DATE, dbt_vars={"near_duplicate_bucket_candidates": 1_000})
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        reference = {a: (o, s) for a, o, s in con.execute(UNBOUNDED_ORIGINALS).fetchall()}
        ranks = con.execute(BUCKET_RANKS).fetchall()
        unbounded = _flagged(con)
    largest_bucket = max(rank for *_, rank in ranks)
    # no bucket above K + 1 = 1,001 articles: exactly the unbounded model, on data that has copies to find
    assert len(reference) >= 20 and largest_bucket > 3, (len(reference), largest_bucket)
    assert unbounded == reference

    # K = 2: an article is compared with the 2 earliest of each of its buckets only
    build_article_marts(settings, LOGICAL_DATE, ("dim_article",), {"near_duplicate_bucket_candidates": 2})
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        bounded = _flagged(con)
    heads: dict[tuple[int, int], set[str]] = {}
    buckets: dict[str, set[tuple[int, int]]] = {}
    for article, band, key, rank in ranks:
        buckets.setdefault(article, set()).add((band, key))
        if rank <= 2:
            heads.setdefault((band, key), set()).add(article)

    def among_heads(article: str, original: str) -> bool:
        return any(original in heads[bucket] for bucket in buckets[article] & buckets[original])

    assert bounded and set(bounded) <= set(reference)
    for article, (original, similarity) in bounded.items():
        assert similarity >= 0.7 and among_heads(article, original)
    for article, (original, similarity) in reference.items():
        if among_heads(article, original):  # its earliest original is a head of a bucket they share
            assert bounded[article] == (original, similarity)
    assert bounded != reference  # the bound did drop comparisons on this data
