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
    body VARCHAR,
    language VARCHAR,
    category VARCHAR,
    published_at_raw VARCHAR,          -- as given by the publisher
    published_at TIMESTAMPTZ,          -- in UTC
    source_format VARCHAR              -- jsonl, livedoor, rss ...
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
    status VARCHAR NOT NULL,           -- loaded, partial, quarantined
    logical_date DATE NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL
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

CREATE TABLE IF NOT EXISTS kansei.work_tags (
    work_id VARCHAR NOT NULL,
    tag_id VARCHAR NOT NULL,
    facet VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    source VARCHAR NOT NULL,           -- embedding, lexicon
    model_version VARCHAR NOT NULL,
    logical_date DATE NOT NULL
);

CREATE TABLE IF NOT EXISTS kansei.article_tags (
    article_id VARCHAR NOT NULL,
    tag_id VARCHAR NOT NULL,
    facet VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    source VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    logical_date DATE NOT NULL
);

CREATE TABLE IF NOT EXISTS kansei.work_embeddings (
    work_id VARCHAR NOT NULL,
    text_sha256 VARCHAR NOT NULL,      -- embeddings are recomputed only when the text changes
    model_version VARCHAR NOT NULL,
    embedding FLOAT[] NOT NULL
);

CREATE TABLE IF NOT EXISTS similarity.work_neighbors (
    work_id VARCHAR NOT NULL,
    neighbor_work_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,
    score DOUBLE NOT NULL,
    model_version VARCHAR NOT NULL,
    logical_date DATE NOT NULL
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
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)
