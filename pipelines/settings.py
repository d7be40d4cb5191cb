"""One typed settings object, built from `MSDB_*` environment variables and an optional `msdb.toml`.

Secrets are never settings: S3 credentials come from the standard AWS environment (or an instance role),
and only the *name* of an endpoint is configured here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# What a wheel ships inside the package (setup.py copies dbt_project/, models/ and expectations/ there)
SHIPPED_ROOT = Path(__file__).resolve().parent / "_project"
BUSINESS_TZ = ZoneInfo("Asia/Tokyo")
# Third-party reference data is not shipped in the repository: the IAB Tech Lab Content Taxonomy (CC BY 3.0) is
# read where the workspace keeps it, or wherever MSDB_IAB_TAXONOMY points (production mounts it).
DEFAULT_IAB_TAXONOMY = PROJECT_ROOT.parent / "shared" / "data" / "iab" / "Content_Taxonomy_3.1.tsv"


def shipped_folder(name: str) -> Path:
    """The default for a project folder (`models`, `dbt_project`, `expectations`): the checkout's when this
    package runs from one, else the copy inside the installed wheel. Production sets the MSDB_*_DIR
    settings instead (docker/Dockerfile), so that a folder can be replaced without reinstalling."""
    if (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / name).is_dir():
        return PROJECT_ROOT / name
    return SHIPPED_ROOT / name


class MsdbSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MSDB_",
        toml_file="msdb.toml",
        extra="ignore",
        frozen=True,
    )

    landing: Path = Field(
        default=Path("data/samples"),
        description="Folder where rights-holders and media land files: <landing>/<kind>/<holder_id>/.../<file>. Never modified.",
    )
    warehouse: Path = Field(default=Path("var/warehouse/msdb.duckdb"), description="The DuckDB warehouse file.")
    deliver: str = Field(
        default="var/deliveries",
        description="Where partner feeds go: a local folder laid out like the bucket, or an s3://bucket/prefix URI.",
    )
    registry: Path | None = Field(
        default=None, description="Holder registry (id, name, kind). Default: <landing>/registry.yaml."
    )
    partners: Path | None = Field(
        default=None, description="Folder of partner contract YAML files. Default: <landing>/partners."
    )
    var_dir: Path = Field(default=Path("var"), description="Scratch space: dbt target, logs, data docs.")
    models_dir: Path = Field(
        default_factory=lambda: shipped_folder("models"),
        description="Kansei taxonomy, lexicon and embedding configuration (MSDB_MODELS_DIR).",
    )
    dbt_project_dir: Path = Field(
        default_factory=lambda: shipped_folder("dbt_project"),
        description="The dbt project and its profiles.yml (MSDB_DBT_PROJECT_DIR); its seeds are also the "
        "reference lists ingest and the gate check against (ISO 3166 countries).",
    )
    expectations_dir: Path = Field(
        default_factory=lambda: shipped_folder("expectations"),
        description="Great Expectations suites, one JSON file each (MSDB_EXPECTATIONS_DIR).",
    )
    iab_taxonomy: Path = Field(
        default=DEFAULT_IAB_TAXONOMY,
        description="The IAB Tech Lab Content Taxonomy 3.1 TSV (CC BY 3.0, not shipped: "
        "https://github.com/InteractiveAdvertisingBureau/Taxonomies, 'Content Taxonomies/Content Taxonomy 3.1.tsv'). "
        "Ingest checks ad creatives' categories against it; the ads stage classifies articles into it (MSDB_IAB_TAXONOMY).",
    )
    embedding_model: str | None = Field(
        default=None,
        description="A sentence-transformers model name or path. Default: models/embedding.yaml (the packaged all-MiniLM-L6-v2).",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3 endpoint for s3:// deliveries (e.g. a MinIO or moto server)."
    )
    s3_region: str = Field(default="ap-northeast-1")
    s3_connect_timeout: float = Field(default=5.0, gt=0, description="Seconds to wait for a connection to S3.")
    s3_read_timeout: float = Field(
        default=15.0, gt=0, description="Seconds to wait for S3's answer on an open connection before trying again."
    )
    s3_max_attempts: int = Field(
        default=3, ge=1, description="Tries of one S3 request, the first included (botocore's retries: 5xx, SlowDown, "
        "timeouts, dropped connections)."
    )
    s3_retry_mode: Literal["standard", "adaptive"] = Field(
        default="standard", description="botocore's retry mode; `adaptive` also slows the client down when throttled."
    )
    s3_object_attempts: int = Field(
        default=2, ge=1, description="Tries of a whole object operation (an upload, multipart included, or a "
        "download), each of up to s3_max_attempts requests; then the export fails with one line (S3Unavailable)."
    )
    s3_backoff_seconds: float = Field(
        default=1.0, ge=0, description="Backoff before the next try of an object: jittered, doubling each time (at most 20 s)."
    )
    lake: str | None = Field(
        default=None,
        description="A DuckLake catalog the stages publish their tables into, for readers and workers on other "
        "machines (pipelines/warehouse/lake.py): `ducklake:postgres:dbname=msdb_lake host=db.internal user=msdb`. "
        "The password by libpq's own means (PGPASSWORD, ~/.pgpass), never here. Unset: no lake.",
    )
    lake_data_path: str | None = Field(
        default=None,
        description="Where the lake writes its Parquet files (`s3://bucket/lake/`, on MSDB_S3_ENDPOINT_URL when "
        "set): needed when the lake is created, then kept in its catalog.",
    )
    query_memory_limit: str | None = Field(
        default=None,
        description="DuckDB's memory_limit in the check and export stages (e.g. '4GB'): sorts, joins and "
        "aggregates over the whole catalog beyond it spill to DuckDB's temporary directory. Default: DuckDB's "
        "own (80% of RAM). Too low fails the stage: the ordered list aggregate of marts.partner_feed_works "
        "does not spill well.",
    )
    gate_sample_rows: int = Field(
        default=10_000,
        ge=1,
        description="Rows per suite Great Expectations validates in pandas (a deterministic sample, rendered "
        "in the Data Docs). The gate's verdicts are computed in SQL over every row.",
    )
    export_batch_rows: int = Field(
        default=5_000, ge=1, description="Feed rows fetched from DuckDB and written to a delivery file at a time."
    )
    mead_sender_party_id: str = Field(
        default="PADPIDA2026112401M", pattern=r"^PADPID[A-Z0-9]{12}$",
        description="Our DDEX Party Identifier: MessageSender of the MEAD feed, and the namespace of its user-defined values.",
    )
    mead_sender_name: str = Field(default="MSDB", min_length=1, description="MessageSender's FullName in the MEAD feed.")
    kansei_shards: int = Field(
        default=2,
        ge=1,
        description="Shards of the texts the tag stage will embed tonight: the Airflow DAG runs one `embed` task "
        "per shard before `tag`, on any worker and outside the writer pool, each filling the embedding cache "
        "(<var_dir>/kansei/embeddings, shared storage when workers are on several hosts) with its share.",
    )
    embed_workers: int = Field(
        default=0,
        ge=0,
        description="Processes that encode texts in the tag stage when a batch has at least "
        "`pipelines.kansei.embedders.PARALLEL_MIN_TEXTS` texts to encode (a full night; a 1%-changed night stays in "
        "one process): 0 for one per core, 1 for none besides the stage's own. Only embedders whose vectors do not "
        "depend on the process (USE multilingual: one text at a time, one BLAS thread) are spread.",
    )
    ingest_memory_limit: str = Field(
        default="64MB",
        description="DuckDB's buffer pool while files load: what a file's transaction holds beyond it goes to "
        "DuckDB's temporary directory, so ingest memory stays bounded whatever the file size.",
    )
    ingest_helpers: int | None = Field(
        default=None,
        ge=0,
        description="Helper processes that share the reading of a large DDEX message with the loader (each "
        "parses it all and reads its share of the items). Default: one per CPU core beyond the first, at most "
        "3. 0: every file is read by the loading process alone.",
    )
    ingest_helper_min_mb: float = Field(
        default=32.0, ge=0, description="DDEX messages at least this large (MB) are read with the helpers."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments beat the environment, which beats msdb.toml.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def registry_file(self) -> Path:
        return self.registry or self.landing / "registry.yaml"

    @property
    def partners_dir(self) -> Path:
        return self.partners or self.landing / "partners"

    @cached_property
    def dbt_target_dir(self) -> Path:
        return self.var_dir / "dbt" / "target"


def default_logical_date(now: datetime | None = None) -> date:
    """Yesterday in Asia/Tokyo: the nightly run at 02:00 JST processes the day that just ended."""
    now = now or datetime.now(BUSINESS_TZ)
    return now.astimezone(BUSINESS_TZ).date() - timedelta(days=1)


def delivery_date(logical_date: date) -> date:
    """Feeds for day D are delivered on D+1, and licences are evaluated on that day (Asia/Tokyo)."""
    return logical_date + timedelta(days=1)
