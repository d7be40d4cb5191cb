"""What a run needs before its first stage: fail in a second with one sentence, not an hour in with a traceback.

Checked: the landing folder exists (for the stages that read it), the project folders the settings point at
(dbt project, models, expectations: MSDB_*_DIR), the IAB taxonomy file (ads, and ingest of a landing with ad
creatives: MSDB_IAB_TAXONOMY), the warehouse's folder is writable, the delivery target is writable (a folder)
or reachable (the S3 bucket answers), and the lake (MSDB_LAKE), when set, attaches. Nothing is written but the
folders a run would create anyway (and a new lake's catalog tables).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from pipelines.settings import MsdbSettings

# which stage reads what (a stage of `msdb stage` is checked for what it needs, a whole run for all of it)
READS_LANDING = {"ingest", "check", "export"}  # landed files; partner contracts under <landing>/partners
READS_PROJECT = {
    "build": ("dbt_project_dir",),
    "tag": ("models_dir",),
    "similar": ("models_dir",),
    "check": ("expectations_dir", "dbt_project_dir"),
    "export": ("models_dir", "deliver"),
    "ingest": ("dbt_project_dir",),  # the ISO 3166 seed
}
SETTING_NAMES = {
    "dbt_project_dir": "MSDB_DBT_PROJECT_DIR",
    "models_dir": "MSDB_MODELS_DIR",
    "expectations_dir": "MSDB_EXPECTATIONS_DIR",
}


class PreflightFailed(ValueError):
    """A setting points at something a run cannot use; the message says which and what to do."""


def _writable_folder(folder: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise PreflightFailed(f"{what} {folder}: a file is in the way of that folder") from exc
    except OSError as exc:
        raise PreflightFailed(f"{what} {folder}: cannot create it ({exc.strerror})") from exc
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".msdb-preflight-"):
            pass
    except OSError as exc:
        raise PreflightFailed(f"{what} {folder} is not writable ({exc.strerror})") from exc


def _reachable_bucket(settings: MsdbSettings) -> None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = urlparse(settings.deliver).netloc
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2}),
    )
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "?")
        raise PreflightFailed(f"delivery target {settings.deliver}: bucket {bucket!r} answered {code}") from exc
    except BotoCoreError as exc:
        raise PreflightFailed(f"delivery target {settings.deliver} is not reachable: {exc}") from exc


def check_deliver(settings: MsdbSettings) -> None:
    parsed = urlparse(settings.deliver)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise PreflightFailed(f"delivery target {settings.deliver!r} names no bucket: use s3://bucket/prefix")
        _reachable_bucket(settings)
    elif parsed.scheme in ("", "file"):
        _writable_folder(Path(parsed.path if parsed.scheme == "file" else settings.deliver), "delivery folder")
    else:
        raise PreflightFailed(f"delivery target {settings.deliver!r}: use a folder or s3://bucket/prefix")


def check_before_run(settings: MsdbSettings, stages: tuple[str, ...] | list[str]) -> None:
    """Raise PreflightFailed, with one line saying what to fix, when `stages` cannot run with `settings`."""
    if READS_LANDING & set(stages):
        if not settings.landing.is_dir():
            raise PreflightFailed(f"landing folder {settings.landing} does not exist (--landing or MSDB_LANDING)")
        if settings.partners is not None and not settings.partners.is_dir():
            raise PreflightFailed(f"partner contracts folder {settings.partners} does not exist (MSDB_PARTNERS)")
    if {"check", "export"} & set(stages):
        from pipelines.registry import RegistryError, load_partners

        try:  # a missing folder, no contract, an unknown field or territory: nothing is delivered
            load_partners(settings.partners_dir)
        except RegistryError as exc:
            raise PreflightFailed(f"partner contracts: {exc}") from exc
    needed = {name for stage in stages for name in READS_PROJECT.get(stage, ())}
    for name in ("dbt_project_dir", "models_dir", "expectations_dir"):
        folder = getattr(settings, name)
        if name in needed and not folder.is_dir():
            raise PreflightFailed(f"{name.removesuffix('_dir').replace('_', ' ')} folder {folder} does not exist: set {SETTING_NAMES[name]}")
    if "ads" in stages or ("ingest" in stages and (settings.landing / "ads").is_dir()):
        if not settings.iab_taxonomy.is_file():  # creatives are checked against it, articles classified into it
            from pipelines.ads.iab import IabTaxonomyMissing

            raise PreflightFailed(str(IabTaxonomyMissing(settings.iab_taxonomy)))
    if settings.warehouse.is_dir():
        raise PreflightFailed(f"warehouse {settings.warehouse} is a folder: give the DuckDB file (--warehouse or MSDB_WAREHOUSE)")
    _writable_folder(settings.warehouse.parent, "warehouse folder")
    if settings.warehouse.exists() and not os.access(settings.warehouse, os.W_OK):
        raise PreflightFailed(f"warehouse {settings.warehouse} is not writable")
    if "deliver" in needed:
        check_deliver(settings)
    if settings.lake:
        from pipelines.warehouse.lake import lake_problem, lake_schemas

        if lake_schemas(stages) and (problem := lake_problem(settings)):
            raise PreflightFailed(f"lake {settings.lake} (MSDB_LAKE): {problem}")
