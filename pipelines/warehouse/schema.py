"""Tables written by Python stages: raw landing tables, ops bookkeeping and stage outputs.

dbt owns everything else (staging views, marts). Raw tables carry provenance on every row: the file's sha256
(`file_id`), and the record's position in the file (`record_position`, an XPath-like location).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

PROVENANCE = """
    file_id VARCHAR NOT NULL,           -- sha256 of the delivered file
    file_path VARCHAR NOT NULL,         -- path relative to the landing root
    record_position VARCHAR NOT NULL,   -- where in the file the record starts
    holder_id VARCHAR NOT NULL
"""

# Columns added to raw.articles after its first release: ALTER keeps existing warehouses loadable.
ARTICLE_COLUMNS = "\n".join(
    f"ALTER TABLE raw.articles ADD COLUMN IF NOT EXISTS {column};"
    for column in (
        "canonical_url VARCHAR",       # the URL two deliveries of one article share
        "source_id VARCHAR",           # the feed's guid / Atom id, or the dump's id
        "author VARCHAR",
        "language_declared VARCHAR",   # what the source said (xml:lang, <html lang>, a JSON field)
        "language_detected VARCHAR",   # py3langid's ISO 639-1 code
        "language_confidence DOUBLE",  # its normalised probability
        "updated_at_raw VARCHAR",
        "updated_at TIMESTAMPTZ",
        "content_hash VARCHAR",        # sha256 of the normalised body; NULL for an empty body
        "minhash BIGINT[]",            # 64 MinHash values of the body's character 4-grams (near-duplicates)
        "quality_flags VARCHAR[]",     # published_at_without_offset, published_at_in_future, empty_body ...
        "source_encoding VARCHAR",     # utf-8, cp932, euc_jp ...
        "ingested_at TIMESTAMPTZ",
    )
)

DDL = f"""
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA IF NOT EXISTS kansei;
CREATE SCHEMA IF NOT EXISTS similarity;
CREATE SCHEMA IF NOT EXISTS exports;

CREATE TABLE IF NOT EXISTS raw.holders (
    holder_id VARCHAR NOT NULL,        -- replaced wholesale from the registry file on every ingest
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    timezone VARCHAR,
    default_language VARCHAR,
    licence_territories VARCHAR[]      -- where a holder's deliveries without territories (ADI) apply
);

CREATE TABLE IF NOT EXISTS raw.ddex_messages (
    {PROVENANCE},
    message_id VARCHAR,
    message_thread_id VARCHAR,
    message_type VARCHAR,              -- NewReleaseMessage, UpdateReleaseMessage, PurgeReleaseMessage
    ern_version VARCHAR,               -- '4.3', '3.8.2', ...
    sender_party_id VARCHAR,
    sender_name VARCHAR,
    message_created_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS raw.ddex_releases (
    {PROVENANCE},
    message_id VARCHAR,
    message_created_at TIMESTAMPTZ,
    release_reference VARCHAR NOT NULL,
    release_type VARCHAR,
    is_main_release BOOLEAN,
    icpn VARCHAR,
    grid VARCHAR,
    catalog_number VARCHAR,
    proprietary_id VARCHAR,
    title VARCHAR,                     -- default display title, exactly as delivered
    titles JSON,                       -- [{{"text", "language_script", "territory", "is_default"}}]
    display_artist VARCHAR,
    label_name VARCHAR,
    genres VARCHAR[],
    release_date DATE,
    duration_seconds INTEGER,
    p_line VARCHAR,
    c_line VARCHAR,
    resource_references VARCHAR[]     -- track order: the release's resources in sequence
);

CREATE TABLE IF NOT EXISTS raw.ddex_resources (
    {PROVENANCE},
    message_id VARCHAR,
    message_created_at TIMESTAMPTZ,
    resource_reference VARCHAR NOT NULL,
    resource_kind VARCHAR,             -- SoundRecording, Video, Image ...
    resource_type VARCHAR,
    isrc VARCHAR,
    title VARCHAR,
    titles JSON,
    display_artist VARCHAR,
    artists JSON,                      -- [{{"name", "names", "role", "sequence"}}]
    contributors JSON,
    duration_seconds INTEGER,
    parental_warning VARCHAR,
    language_of_performance VARCHAR,
    creation_date VARCHAR,
    p_line VARCHAR
);

CREATE TABLE IF NOT EXISTS raw.ddex_deals (
    {PROVENANCE},
    message_id VARCHAR,
    message_created_at TIMESTAMPTZ,
    release_reference VARCHAR NOT NULL,
    deal_position INTEGER,
    territories VARCHAR[],
    excluded_territories VARCHAR[],
    commercial_models VARCHAR[],
    use_types VARCHAR[],
    start_date DATE,
    end_date DATE,
    is_takedown BOOLEAN
);

CREATE TABLE IF NOT EXISTS raw.adi_titles (
    {PROVENANCE},
    provider VARCHAR,
    provider_id VARCHAR,
    package_asset_id VARCHAR,
    asset_id VARCHAR NOT NULL,
    verb VARCHAR,
    version_major INTEGER,
    version_minor INTEGER,
    creation_date DATE,
    show_type VARCHAR,
    title VARCHAR,
    title_brief VARCHAR,
    title_ja VARCHAR,
    series_name VARCHAR,
    season_number INTEGER,
    episode_number INTEGER,
    episode_name VARCHAR,
    summary_short VARCHAR,
    summary_long VARCHAR,
    genres VARCHAR[],
    categories VARCHAR[],
    rating VARCHAR,
    run_time_seconds INTEGER,
    year INTEGER,
    country_of_origin VARCHAR,
    actors VARCHAR[],
    directors VARCHAR[],
    producers VARCHAR[],
    licensing_window_start DATE,
    licensing_window_end DATE,
    app_data JSON                      -- every App_Data name/value of the title, as delivered
);

CREATE TABLE IF NOT EXISTS raw.adi_assets (
    {PROVENANCE},
    title_asset_id VARCHAR NOT NULL,
    asset_id VARCHAR NOT NULL,
    asset_class VARCHAR,               -- movie, preview, poster, box cover ...
    asset_type VARCHAR,
    content_value VARCHAR
);

CREATE TABLE IF NOT EXISTS raw.articles (
    {PROVENANCE},
    url VARCHAR,
    title VARCHAR,
    body VARCHAR,                      -- clean text: HTML stripped of scripts, styles and navigation
    language VARCHAR,                  -- ja, en or other, detected (language_from_declaration in quality_flags when unsure)
    category VARCHAR,
    published_at_raw VARCHAR,          -- as given by the publisher
    published_at TIMESTAMPTZ,          -- in UTC
    source_format VARCHAR              -- jsonl, livedoor, html, rss-2.0, atom-1.0, rss-1.0 ...
);
{ARTICLE_COLUMNS}
CREATE TABLE IF NOT EXISTS raw.article_text (
    {PROVENANCE},                      -- the same record as its raw.articles row
    canonical_url VARCHAR,
    language VARCHAR,
    title_match_key VARCHAR,           -- NFKC, case-folded, dashes unified, whitespace collapsed
    sentences VARCHAR[],               -- the body, one sentence per element
    tokenizer VARCHAR,                 -- 'sudachi-core:C' for ja, 'unicode-words' otherwise
    tokens VARCHAR,                    -- title then body as surface forms separated by single spaces (分かち書き);
                                       -- string_split(tokens, ' ') lists them, the fts extension indexes them
    lemmas VARCHAR,                    -- Sudachi normalized forms (行き → 行く, 附属 → 付属), one per token, likewise
    search_keys VARCHAR[]              -- distinct match keys of content-word lemmas (and of compounds' parts)
);

-- Added with ERN 3.x, MEAD, ADI 3.0 and the catalog template (issue 3). ALTER ... IF NOT EXISTS so that a
-- warehouse created before them gains the columns; every *_match_key is NFKC + casefold + collapsed spaces
-- of the column it sits beside, which keeps the string exactly as delivered.
ALTER TABLE raw.ddex_messages ADD COLUMN IF NOT EXISTS update_indicator VARCHAR;       -- ERN 3: OriginalMessage / UpdateMessage
ALTER TABLE raw.ddex_messages ADD COLUMN IF NOT EXISTS release_profile VARCHAR;        -- ReleaseProfileVersionId
ALTER TABLE raw.ddex_messages ADD COLUMN IF NOT EXISTS language_and_script VARCHAR;    -- message default LanguageAndScriptCode
ALTER TABLE raw.ddex_messages ADD COLUMN IF NOT EXISTS sent_on_behalf_of VARCHAR;
ALTER TABLE raw.ddex_messages ADD COLUMN IF NOT EXISTS message_control_type VARCHAR;   -- LiveMessage / TestMessage

ALTER TABLE raw.ddex_releases ADD COLUMN IF NOT EXISTS message_type VARCHAR;
ALTER TABLE raw.ddex_releases ADD COLUMN IF NOT EXISTS isrc VARCHAR;                   -- release-level ISRC (single-track releases)
ALTER TABLE raw.ddex_releases ADD COLUMN IF NOT EXISTS title_match_key VARCHAR;
ALTER TABLE raw.ddex_releases ADD COLUMN IF NOT EXISTS display_artist_match_key VARCHAR;
ALTER TABLE raw.ddex_releases ADD COLUMN IF NOT EXISTS display_artist_names JSON;      -- [{{"name", "language_script", "match_key"}}]
ALTER TABLE raw.ddex_releases ADD COLUMN IF NOT EXISTS release_dates JSON;             -- per territory: [{{"territories", "release_date", ...}}]
ALTER TABLE raw.ddex_releases ADD COLUMN IF NOT EXISTS artists JSON;                   -- [{{"name", "names", "party_id", "role", "sequence"}}]
ALTER TABLE raw.ddex_releases ADD COLUMN IF NOT EXISTS original_release_date DATE;
ALTER TABLE raw.ddex_releases ADD COLUMN IF NOT EXISTS parental_warning VARCHAR;
ALTER TABLE raw.ddex_releases ADD COLUMN IF NOT EXISTS track_order JSON;               -- [{{"group", "sequence", "resource_reference"}}]

ALTER TABLE raw.ddex_resources ADD COLUMN IF NOT EXISTS message_type VARCHAR;
ALTER TABLE raw.ddex_resources ADD COLUMN IF NOT EXISTS iswc VARCHAR;
ALTER TABLE raw.ddex_resources ADD COLUMN IF NOT EXISTS proprietary_id VARCHAR;
ALTER TABLE raw.ddex_resources ADD COLUMN IF NOT EXISTS title_match_key VARCHAR;
ALTER TABLE raw.ddex_resources ADD COLUMN IF NOT EXISTS display_artist_match_key VARCHAR;
ALTER TABLE raw.ddex_resources ADD COLUMN IF NOT EXISTS display_artist_names JSON;
ALTER TABLE raw.ddex_resources ADD COLUMN IF NOT EXISTS genres VARCHAR[];
ALTER TABLE raw.ddex_resources ADD COLUMN IF NOT EXISTS label_name VARCHAR;

ALTER TABLE raw.ddex_deals ADD COLUMN IF NOT EXISTS message_type VARCHAR;
ALTER TABLE raw.ddex_deals ADD COLUMN IF NOT EXISTS deal_reference VARCHAR;
ALTER TABLE raw.ddex_deals ADD COLUMN IF NOT EXISTS price_types VARCHAR[];
ALTER TABLE raw.ddex_deals ADD COLUMN IF NOT EXISTS effective_date DATE;

ALTER TABLE raw.adi_titles ADD COLUMN IF NOT EXISTS adi_version VARCHAR;               -- '1.1' or '3.0'
ALTER TABLE raw.adi_titles ADD COLUMN IF NOT EXISTS title_match_key VARCHAR;
ALTER TABLE raw.adi_titles ADD COLUMN IF NOT EXISTS isan VARCHAR;
ALTER TABLE raw.adi_titles ADD COLUMN IF NOT EXISTS eidr VARCHAR;
ALTER TABLE raw.adi_titles ADD COLUMN IF NOT EXISTS work_kind VARCHAR;                -- movie or episode (adi.work_kind)
ALTER TABLE raw.adi_titles ADD COLUMN IF NOT EXISTS series_id VARCHAR;
ALTER TABLE raw.adi_titles ADD COLUMN IF NOT EXISTS episode_id VARCHAR;

CREATE TABLE IF NOT EXISTS raw.ddex_purges (
    {PROVENANCE},
    message_id VARCHAR,
    message_created_at TIMESTAMPTZ,
    message_type VARCHAR,              -- always PurgeReleaseMessage
    icpn VARCHAR,                      -- the purged release, by whichever ids the message gives
    grid VARCHAR,
    isrc VARCHAR,
    catalog_number VARCHAR,
    proprietary_id VARCHAR,
    title VARCHAR
);

CREATE TABLE IF NOT EXISTS raw.mead_descriptors (
    {PROVENANCE},
    message_id VARCHAR,
    message_created_at TIMESTAMPTZ,
    subject_kind VARCHAR,              -- Resource, Release, Work, Party
    subject_id_type VARCHAR,           -- ISRC, ICPN, GRid, ISWC, ISNI, ProprietaryId ...
    subject_id VARCHAR NOT NULL,
    subject_title VARCHAR,
    subject_title_match_key VARCHAR,
    subject_display_artist VARCHAR,
    descriptor VARCHAR NOT NULL,       -- Mood, ProgrammaticTheme, LyricTheme, BeatsPerMinute, TimeSignature/Tempo ...
    value_position INTEGER,            -- order within the record
    value VARCHAR NOT NULL,            -- UserDefined resolved to its UserDefinedValue
    value_as_delivered VARCHAR,
    value_number DOUBLE,               -- when the value is numeric (BPM)
    value_namespace VARCHAR,           -- the DPID that owns a user-defined value
    attributes JSON                    -- AppliesToLyrics, AppliesToComposition, IsFeatured ...
);

CREATE TABLE IF NOT EXISTS raw.catalog_works (
    {PROVENANCE},
    source_format VARCHAR,             -- csv, jsonl
    work_id VARCHAR NOT NULL,          -- the rights-holder's own id
    work_kind VARCHAR NOT NULL,        -- recording, release, music_video, movie, episode, series
    title VARCHAR NOT NULL,
    title_match_key VARCHAR,
    title_language VARCHAR,
    original_title VARCHAR,
    original_title_language VARCHAR,
    original_title_match_key VARCHAR,
    display_artist VARCHAR,
    display_artist_match_key VARCHAR,
    contributors VARCHAR[],
    isrc VARCHAR,
    icpn VARCHAR,
    isan VARCHAR,
    eidr VARCHAR,
    release_date DATE,
    duration_seconds INTEGER,
    genres VARCHAR[],
    territories VARCHAR[],
    excluded_territories VARCHAR[],
    licence_start DATE,
    licence_end DATE,
    label_name VARCHAR,
    synopsis VARCHAR,
    parental_warning VARCHAR,
    series_name VARCHAR,
    season_number INTEGER,
    episode_number INTEGER,
    row_as_delivered JSON
);

-- Ad creatives (issue 12): one row per creative line of ads/<advertiser_id>/<date>/*.jsonl that passed its
-- schema, IAB and flight checks (the refused ones are in ops.quarantine).
CREATE TABLE IF NOT EXISTS raw.ad_creatives (
    {PROVENANCE},
    line_number INTEGER NOT NULL,      -- 1-based line of the file (record_position says 'line N')
    advertiser_id VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    creative_id VARCHAR NOT NULL,
    language VARCHAR NOT NULL,
    headline VARCHAR NOT NULL,
    body VARCHAR NOT NULL,
    landing_url VARCHAR NOT NULL,
    target_kansei_tags VARCHAR[],      -- models/kansei/taxonomy.yaml ids; empty when the creative names none
    iab_categories VARCHAR[] NOT NULL, -- IAB Content Taxonomy 3.1 Unique IDs
    excluded_categories VARCHAR[],     -- brand-safety exclusions: IAB ids (with their descendants)
    excluded_risk_levels VARCHAR[],    -- brand-safety exclusions: article levels (low, medium, high)
    flight_start DATE NOT NULL,        -- Asia/Tokyo days, both included
    flight_end DATE NOT NULL,
    creative_as_delivered JSON,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS ops.ingest_files (
    file_id VARCHAR NOT NULL,
    file_path VARCHAR NOT NULL,
    kind VARCHAR,
    holder_id VARCHAR,
    file_format VARCHAR,
    size_bytes BIGINT,
    records_found INTEGER NOT NULL,
    records_loaded INTEGER NOT NULL,
    records_quarantined INTEGER NOT NULL,
    status VARCHAR NOT NULL,           -- loaded, partial, quarantined, undeclared_holder, already_loaded
    logical_date DATE NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL
);
-- why a file was not read although it is new: already_loaded names the earlier file of the same message
ALTER TABLE ops.ingest_files ADD COLUMN IF NOT EXISTS reason VARCHAR;
-- the logical date the file belongs to: its date folder, else its arrival (pipelines.ingest.landing.partition_date).
-- Files loaded before the column existed belong to the night that loaded them.
ALTER TABLE ops.ingest_files ADD COLUMN IF NOT EXISTS partition_date DATE;
UPDATE ops.ingest_files SET partition_date = logical_date WHERE partition_date IS NULL;

-- A release refused at ingest (an ICPN or GRid that fails its check): not a work, but its deals still license
-- the recordings it references, and its message still replaces the earlier states of the release.
CREATE TABLE IF NOT EXISTS raw.ddex_rejected_releases (
    {PROVENANCE},
    message_id VARCHAR,
    message_type VARCHAR,
    message_created_at TIMESTAMPTZ,
    release_reference VARCHAR NOT NULL,
    release_type VARCHAR,
    is_main_release BOOLEAN,
    icpn VARCHAR,                      -- identifiers as delivered, the refused ones included
    grid VARCHAR,
    isrc VARCHAR,
    catalog_number VARCHAR,
    proprietary_id VARCHAR,
    rejected_identifiers VARCHAR[],    -- the kinds that failed their check: ICPN, GRid ...
    title VARCHAR,
    resource_references VARCHAR[],
    reason VARCHAR NOT NULL            -- the reason recorded in ops.quarantine
);

CREATE TABLE IF NOT EXISTS ops.quarantine (
    file_id VARCHAR,
    file_path VARCHAR NOT NULL,
    location VARCHAR NOT NULL,         -- 'file' for a whole file, else the record's position
    stage VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    logical_date DATE NOT NULL,
    quarantined_at TIMESTAMPTZ NOT NULL
);

-- Two different releases delivered under one ICPN/GRid (different titles, no recording in common): both stay
-- works, the conflict is kept here (a new row when it grows) and named in the run summary.
CREATE TABLE IF NOT EXISTS ops.identifier_conflicts (
    identifier_type VARCHAR NOT NULL,  -- ICPN, GRid, ProprietaryId
    identifier_value VARCHAR NOT NULL,
    source_keys VARCHAR[] NOT NULL,    -- one work each: the first delivered keeps the identifier's key
    titles VARCHAR[],
    holder_ids VARCHAR[],
    file_ids VARCHAR[],
    file_paths VARCHAR[],
    logical_date DATE NOT NULL,        -- the run that found the conflict as it stands
    detected_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS ops.stage_runs (
    logical_date DATE NOT NULL,
    stage VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    summary JSON
);

CREATE TABLE IF NOT EXISTS ops.quality_results (
    logical_date DATE NOT NULL,
    suite VARCHAR NOT NULL,
    expectation VARCHAR NOT NULL,
    column_name VARCHAR,
    success BOOLEAN NOT NULL,
    observed VARCHAR,
    blocks VARCHAR[],                  -- feeds ('works') and partners ('partner:<id>') a failure holds back
    checked_at TIMESTAMPTZ NOT NULL
);

-- The tag stage (pipelines/kansei). work_tags and article_tags: one row per item x kept tag.
CREATE TABLE IF NOT EXISTS kansei.work_tags (
    work_id VARCHAR NOT NULL,
    tag_id VARCHAR NOT NULL,
    facet VARCHAR NOT NULL,            -- the tag's type: mood, emotion, theme, scene, impression
    label_en VARCHAR,
    label_ja VARCHAR,
    weight DOUBLE,                     -- 0-100, the calibrated fused weight
    score DOUBLE NOT NULL,             -- weight / 100 (what similarity and the feeds have read since 2026.11)
    rank INTEGER,                      -- 1 = heaviest tag of the work; ties by tag_id
    is_primary BOOLEAN,                -- exactly one per tagged work (rank 1)
    signals STRUCT(exemplar DOUBLE, head DOUBLE, lexicon DOUBLE, lexicon_negated DOUBLE, mead DOUBLE),  -- per-signal probabilities, null when absent
    evidence VARCHAR,                  -- the exemplar phrase, lemma as written, head label or MEAD mood that contributed most
    source VARCHAR NOT NULL,           -- the signal of the evidence: exemplar, head, lexicon, mead
    model_id VARCHAR,                  -- the embedder's model id (spec, package version, dimension)
    taxonomy_version VARCHAR,
    lexicon_version VARCHAR,
    model_version VARCHAR NOT NULL,    -- all of what the tags depend on (see pipelines.kansei.model_version)
    run_id VARCHAR,                    -- the run that computed the row
    logical_date DATE NOT NULL
);

CREATE TABLE IF NOT EXISTS kansei.article_tags (
    article_id VARCHAR NOT NULL,
    tag_id VARCHAR NOT NULL,
    facet VARCHAR NOT NULL,
    label_en VARCHAR,
    label_ja VARCHAR,
    weight DOUBLE,
    score DOUBLE NOT NULL,
    rank INTEGER,
    is_primary BOOLEAN,
    signals STRUCT(exemplar DOUBLE, head DOUBLE, lexicon DOUBLE, lexicon_negated DOUBLE, mead DOUBLE),
    evidence VARCHAR,
    source VARCHAR NOT NULL,
    model_id VARCHAR,
    taxonomy_version VARCHAR,
    lexicon_version VARCHAR,
    model_version VARCHAR NOT NULL,
    run_id VARCHAR,
    logical_date DATE NOT NULL
);

CREATE TABLE IF NOT EXISTS kansei.work_embeddings (
    work_id VARCHAR NOT NULL,
    text_sha256 VARCHAR NOT NULL,      -- embeddings are recomputed only when the text changes
    model_version VARCHAR NOT NULL,
    embedding FLOAT[] NOT NULL         -- the tag stage's text embedding (zero for a text without words)
);

CREATE TABLE IF NOT EXISTS kansei.text_tags (
    text_sha256 VARCHAR NOT NULL,      -- the cache of the tag stage: one row per distinct text (and MEAD moods) scored
    model_version VARCHAR NOT NULL,
    tags STRUCT(
        tag_id VARCHAR, facet VARCHAR, weight DOUBLE, rank INTEGER, is_primary BOOLEAN,
        signals STRUCT(exemplar DOUBLE, head DOUBLE, lexicon DOUBLE, lexicon_negated DOUBLE, mead DOUBLE),
        evidence VARCHAR, source VARCHAR
    )[] NOT NULL,
    vector FLOAT[] NOT NULL,           -- the dense kansei vector (weights / 100 in taxonomy order)
    untaggable_reason VARCHAR          -- why tags is empty: 'no text', 'no tag above threshold', ...
);

CREATE TABLE IF NOT EXISTS kansei.tag_status (
    kind VARCHAR NOT NULL,             -- work, article: one row per work of marts.dim_work and article of dim_article
    item_id VARCHAR NOT NULL,
    text_sha256 VARCHAR NOT NULL,      -- the text its tags were computed from
    tags INTEGER NOT NULL,
    untaggable_reason VARCHAR,         -- null when tagged
    model_version VARCHAR NOT NULL,
    logical_date DATE NOT NULL         -- the night its tags were computed
);

-- One row per tagged work and article: its kansei vector, for similarity.
CREATE TABLE IF NOT EXISTS kansei.item_vectors (
    kind VARCHAR NOT NULL,             -- work, article
    item_id VARCHAR NOT NULL,
    text_sha256 VARCHAR NOT NULL,
    vector FLOAT[] NOT NULL,           -- weights / 100 of the kept tags in taxonomy order, zero elsewhere
    model_id VARCHAR NOT NULL,
    taxonomy_version VARCHAR NOT NULL,
    lexicon_version VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    logical_date DATE NOT NULL
);

-- Each run's tag distribution against the previous run's: one row per run x kind x tag present in either.
-- A history: not emptied by a new model version (previous_model_version says when the versions differ).
CREATE TABLE IF NOT EXISTS kansei.tag_drift (
    run_id VARCHAR NOT NULL,
    run_started_at TIMESTAMPTZ NOT NULL,
    logical_date DATE NOT NULL,
    kind VARCHAR NOT NULL,             -- work, article
    tag_id VARCHAR NOT NULL,
    items BIGINT NOT NULL,             -- tagged items carrying the tag after the run
    share DOUBLE NOT NULL,             -- items / tagged items of the kind
    previous_run_id VARCHAR,           -- null on the first run
    previous_share DOUBLE,             -- 0 when the previous run had the tag on no item
    delta DOUBLE,                      -- share - previous_share; null on the first run
    model_version VARCHAR NOT NULL,
    previous_model_version VARCHAR
);

CREATE TABLE IF NOT EXISTS similarity.work_neighbors (
    work_id VARCHAR NOT NULL,
    neighbor_work_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,
    score DOUBLE NOT NULL,
    model_version VARCHAR NOT NULL,
    logical_date DATE NOT NULL         -- the night the row was computed (a night recomputes only what changed)
);
-- Added with metadata rescoring and cross-domain neighbours (issue 12): score = text + kansei + metadata parts.
ALTER TABLE similarity.work_neighbors ADD COLUMN IF NOT EXISTS search_score DOUBLE;      -- cosine of the dense vectors
ALTER TABLE similarity.work_neighbors ADD COLUMN IF NOT EXISTS text_share DOUBLE;        -- shares of score, summing to 1
ALTER TABLE similarity.work_neighbors ADD COLUMN IF NOT EXISTS kansei_share DOUBLE;
ALTER TABLE similarity.work_neighbors ADD COLUMN IF NOT EXISTS metadata_share DOUBLE;
ALTER TABLE similarity.work_neighbors ADD COLUMN IF NOT EXISTS is_cross_domain BOOLEAN;  -- music <-> video

-- Each work's dense (text + kansei) candidates, rescored into work_neighbors: what a night's incremental
-- update reads to find the works a changed vector can enter or leave the candidates of.
CREATE TABLE IF NOT EXISTS similarity.work_candidates (
    work_id VARCHAR NOT NULL,
    candidate_work_id VARCHAR NOT NULL,
    search_score DOUBLE NOT NULL,
    logical_date DATE NOT NULL
);

-- Each article's nearest articles (pipelines/similarity/articles.py: what `msdb similar eval` measures).
CREATE TABLE IF NOT EXISTS similarity.article_neighbors (
    article_id VARCHAR NOT NULL,
    neighbor_article_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,             -- 1 = nearest; ties by article_id
    score DOUBLE NOT NULL,
    model_version VARCHAR NOT NULL,
    logical_date DATE NOT NULL
);

-- The content lemmas (search keys) of each article text the similar stage compares (articles.py): Sudachi
-- reads only a new or changed text; a tokenizer, SudachiPy or dictionary change (version) reads them all again.
CREATE TABLE IF NOT EXISTS similarity.article_lemmas (
    text_sha256 VARCHAR NOT NULL,      -- of the language, chr(31) and the text (title and body cut at max_chars)
    lemmas VARCHAR[] NOT NULL,         -- content_lemmas of the text
    version VARCHAR NOT NULL           -- pipelines.similarity.articles.lemma_version()
);

-- Top licensed works per article by kansei profile and text: "songs and titles for this article's mood".
CREATE TABLE IF NOT EXISTS similarity.article_work_matches (
    article_id VARCHAR NOT NULL,
    work_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,             -- 1 = best; ties by work_id
    score DOUBLE NOT NULL,
    kansei_score DOUBLE NOT NULL,      -- cosine of the kansei profiles
    shared_tags VARCHAR[] NOT NULL,    -- tags both carry, strongest first
    explanation VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    logical_date DATE NOT NULL
);

-- What each work's similarity vector was made of at the last run: a night recomputes the neighbours of the
-- works whose fingerprint changed (and of the works near them), see pipelines/similarity.
CREATE TABLE IF NOT EXISTS similarity.work_vectors_state (
    work_id VARCHAR NOT NULL,
    domain VARCHAR NOT NULL,           -- music-recording, music-release, video
    vector_sha256 VARCHAR NOT NULL,    -- of the domain, the embedded text's hash and the kansei tag profile
    model_version VARCHAR NOT NULL,    -- embedding model, neighbour count and blend weights the rows depend on
    logical_date DATE NOT NULL         -- the night this fingerprint was first seen
);

-- The ads stage (pipelines/ads): what each article is about (IAB Content Taxonomy 3.1), how safe it is for a
-- brand, and the creatives matched to it. Context only: no user, cookie or history is ever read.
CREATE TABLE IF NOT EXISTS similarity.article_ad_vectors (
    article_id VARCHAR NOT NULL,
    text_sha256 VARCHAR NOT NULL,      -- the text classified; an article is classified again only when it changes
    model_version VARCHAR NOT NULL,
    embedding FLOAT[] NOT NULL,        -- multilingual USE v3 (512), of title and body head
    logical_date DATE NOT NULL
);

CREATE TABLE IF NOT EXISTS similarity.article_iab (
    article_id VARCHAR NOT NULL,
    iab_id VARCHAR NOT NULL,           -- IAB Content Taxonomy 3.1 Unique ID
    iab_name VARCHAR NOT NULL,
    iab_path VARCHAR NOT NULL,         -- 'Sports > Soccer'
    rank INTEGER NOT NULL,             -- 1 = the article's main category
    score DOUBLE NOT NULL,             -- 0..1
    source VARCHAR NOT NULL,           -- embedding, keyword, embedding+keyword
    model_version VARCHAR NOT NULL,
    logical_date DATE NOT NULL
);

CREATE TABLE IF NOT EXISTS similarity.article_brand_safety (
    article_id VARCHAR NOT NULL,
    level VARCHAR NOT NULL,            -- low, medium, high, floor (floor: never beside any ad)
    reasons VARCHAR[] NOT NULL,        -- what raised it: 'keyword 殺人 (high)', 'IAB 380 Crime (high)'
    model_version VARCHAR NOT NULL,
    logical_date DATE NOT NULL
);

CREATE TABLE IF NOT EXISTS similarity.ad_matches (
    article_id VARCHAR NOT NULL,
    creative_id VARCHAR NOT NULL,
    advertiser_id VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,             -- 1 = best creative for the article
    score DOUBLE NOT NULL,
    matched_tags VARCHAR[] NOT NULL,   -- kansei tags of the article the creative targets
    iab_category VARCHAR,              -- the IAB category the match rests on (NULL: kansei and text only)
    iab_category_name VARCHAR,
    brand_safety_level VARCHAR NOT NULL,
    explanation VARCHAR NOT NULL,      -- one line a trafficker reads
    model_version VARCHAR NOT NULL,
    logical_date DATE NOT NULL         -- the night matched: creatives in flight on that day (Asia/Tokyo)
);

-- Quality of a model measured by a run: recall@10 of the similarity index against exact search ...
CREATE TABLE IF NOT EXISTS ops.model_evals (
    logical_date DATE NOT NULL,
    model VARCHAR NOT NULL,            -- what was measured, e.g. similarity:music-recording
    metric VARCHAR NOT NULL,           -- e.g. recall@10
    value DOUBLE NOT NULL,
    sample_size INTEGER NOT NULL,
    details JSON,
    evaluated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS exports.delivery_ledger (
    partner_id VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    logical_date DATE NOT NULL,
    delivery_date DATE NOT NULL,
    delivery_uri VARCHAR NOT NULL,
    manifest_sha256 VARCHAR NOT NULL,
    files JSON NOT NULL,
    row_count INTEGER NOT NULL,
    status VARCHAR NOT NULL,           -- delivered, blocked
    reason VARCHAR,
    delivered_at TIMESTAMPTZ NOT NULL
);

-- Added with deltas, the circuit breaker and acknowledgements (issue 13); ALTER keeps existing warehouses.
-- status: delivered, acknowledged (the partner dropped `_ack.json`), already_delivered, held (circuit
-- breaker: `msdb export --partner P --approve`), blocked (quality gate), conflict (412: published by another).
ALTER TABLE exports.delivery_ledger ADD COLUMN IF NOT EXISTS run_id VARCHAR;
ALTER TABLE exports.delivery_ledger ADD COLUMN IF NOT EXISTS delivery_type VARCHAR;      -- full or delta
ALTER TABLE exports.delivery_ledger ADD COLUMN IF NOT EXISTS sequence INTEGER;           -- per partner feed, 1 = first published
ALTER TABLE exports.delivery_ledger ADD COLUMN IF NOT EXISTS cursor_from DATE;          -- logical date of the delivery this one follows
ALTER TABLE exports.delivery_ledger ADD COLUMN IF NOT EXISTS cursor_to DATE;            -- this delivery's logical date
ALTER TABLE exports.delivery_ledger ADD COLUMN IF NOT EXISTS ops JSON;                  -- {{"add": n, "update": n, "delete": n}}
ALTER TABLE exports.delivery_ledger ADD COLUMN IF NOT EXISTS published_at TIMESTAMPTZ;  -- the manifest's write
ALTER TABLE exports.delivery_ledger ADD COLUMN IF NOT EXISTS acknowledged_at TIMESTAMPTZ;
ALTER TABLE exports.delivery_ledger ADD COLUMN IF NOT EXISTS destination VARCHAR;        -- the target's root URI

-- What each partner holds after its last published delivery: one row per partner, feed, destination (the
-- target's root URI: a new destination starts with a full snapshot) and work, with the sha256 of the row as
-- delivered. The next delta is the difference between today's rows and this state.
CREATE TABLE IF NOT EXISTS exports.delivered_state (
    partner_id VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    destination VARCHAR NOT NULL,
    work_id VARCHAR NOT NULL,
    row_sha256 VARCHAR NOT NULL,
    sequence INTEGER NOT NULL,         -- the delivery that last sent this row
    logical_date DATE NOT NULL,
    PRIMARY KEY (partner_id, feed, destination, work_id)
);

-- One row per work delivered (added or updated) to a partner and licence window in force that allowed it.
CREATE TABLE IF NOT EXISTS exports.rights_audit (
    partner_id VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    logical_date DATE NOT NULL,
    delivery_date DATE NOT NULL,
    sequence INTEGER NOT NULL,
    work_id VARCHAR NOT NULL,
    op VARCHAR NOT NULL,               -- add or update
    licence_window_id VARCHAR,         -- marts.fct_licence_window
    territory VARCHAR NOT NULL,        -- the contract territory the window covers (a country of a Worldwide window)
    commercial_model VARCHAR NOT NULL,
    use_type VARCHAR NOT NULL,
    window_start DATE,
    window_end DATE,
    recorded_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS exports.withheld_rows (
    partner_id VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    logical_date DATE NOT NULL,
    delivery_date DATE NOT NULL,
    work_id VARCHAR NOT NULL,          -- the row held back from that partner's delivery; the rest was delivered
    reason VARCHAR NOT NULL,           -- what in the row breaks the partner's contract
    recorded_at TIMESTAMPTZ NOT NULL
);
"""


# The tag stage's tables before the fused scoring (2026.12): a cache under an older model version, emptied by
# the next run anyway, so they are dropped and created in the current shape rather than altered.
_KANSEI_BEFORE_SCORING = ("kansei.work_tags", "kansei.article_tags", "kansei.text_tags", "kansei.tag_status")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    old = con.execute(
        """
        SELECT count(*) FROM information_schema.columns
        WHERE table_schema = 'kansei' AND table_name = 'text_tags' AND column_name = 'tags' AND data_type NOT LIKE '%weight%'
        """
    ).fetchone()[0]
    for table in _KANSEI_BEFORE_SCORING if old else ():
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute(DDL)
