"""The production compose file is valid, runs Airflow on Celery, and gives each secret only to its services."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"
COMPOSE = DOCKER / "compose.yaml"
SECRETS = (
    "airflow_db_password", "airflow_fernet_key", "airflow_jwt_secret", "airflow_api_secret_key",
    "redis_password", "minio_root_user", "minio_root_password", "aws_credentials",
)  # fmt: skip
# which service may read which secret: nothing more (a worker never sees the metadata database's password)
SECRETS_OF = {
    "postgres": {"airflow_db_password"},
    "redis": {"redis_password"},
    "minio": {"minio_root_user", "minio_root_password"},
    "minio-init": {"minio_root_user", "minio_root_password"},
    "airflow-init": {"airflow_db_password", "airflow_fernet_key"},
    "airflow-api-server": {"airflow_db_password", "airflow_fernet_key", "airflow_jwt_secret", "airflow_api_secret_key"},
    "airflow-scheduler": {"airflow_db_password", "airflow_fernet_key", "airflow_jwt_secret", "redis_password"},
    "airflow-dag-processor": {"airflow_db_password", "airflow_fernet_key", "airflow_jwt_secret"},
    "airflow-triggerer": {"airflow_db_password", "airflow_fernet_key", "airflow_jwt_secret"},
    "airflow-worker": {"redis_password", "aws_credentials", "airflow_api_secret_key"},
}


def _resolved(secrets_dir: Path) -> dict:
    """The file as `docker-compose config` resolves it (anchors merged, variables filled)."""
    env = {**os.environ, "MSDB_SECRETS_DIR": str(secrets_dir)}
    result = subprocess.run(
        ["docker-compose", "-p", "msdb", "-f", str(COMPOSE), "config"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def _secret_names(service: dict) -> set[str]:
    return {s if isinstance(s, str) else s["source"] for s in service.get("secrets", [])}


def test_no_secret_value_is_written_in_the_docker_folder():
    text = COMPOSE.read_text()
    assert re.search(r"(PASSWORD|SECRET|KEY)\w*:\s*(?!/run/secrets/)[\"']?[A-Za-z0-9]{6,}", text) is None
    for name in SECRETS:  # each secret is a file outside the repository, required
        assert f"file: ${{MSDB_SECRETS_DIR:?set MSDB_SECRETS_DIR to the folder of secret files}}/{name}" in text
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "AWS_" not in dockerfile and "PASSWORD" not in dockerfile and "SECRET" not in dockerfile


def test_the_image_installs_the_postgres_driver_and_sets_the_project_folders():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "-c constraints.txt '.[production]'" in dockerfile
    assert 'python -c "import psycopg, airflow.providers.celery, pipelines.cli"' in dockerfile
    for setting, folder in (("DBT_PROJECT", "dbt_project"), ("MODELS", "models"), ("EXPECTATIONS", "expectations")):
        assert f"MSDB_{setting}_DIR=/opt/msdb/{folder}" in dockerfile
        assert f"COPY {folder} ./{folder}" in dockerfile


needs_compose = pytest.mark.skipif(
    not shutil.which("docker-compose"), reason="docker-compose not installed (apt-get install docker-compose)"
)


@needs_compose
def test_compose_config_validates_and_refuses_a_missing_secrets_folder(tmp_path):
    _resolved(tmp_path)
    bare = {k: v for k, v in os.environ.items() if k != "MSDB_SECRETS_DIR"}
    missing = subprocess.run(["docker-compose", "-p", "msdb", "-f", str(COMPOSE), "config"], env=bare, capture_output=True, text=True)
    assert missing.returncode != 0 and "set MSDB_SECRETS_DIR to the folder of secret files" in missing.stderr


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> dict:
    return _resolved(tmp_path_factory.mktemp("secrets"))


@needs_compose
def test_airflow_runs_on_celery_with_postgres_redis_and_minio(spec):
    services = spec["services"]
    assert set(services) == set(SECRETS_OF)
    airflow = [name for name in services if name.startswith("airflow-")]
    for name in airflow:
        assert services[name]["image"] == "msdb-pipeline:latest"
        assert services[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert services[name]["environment"]["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Asia/Tokyo"
    assert services["airflow-worker"]["command"] == ["airflow", "celery", "worker"]
    assert services["airflow-worker"]["deploy"]["replicas"] == 2
    assert [services[n]["command"] for n in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")] == [
        ["airflow", "api-server"], ["airflow", "scheduler"], ["airflow", "dag-processor"], ["airflow", "triggerer"],
    ]  # fmt: skip
    assert "airflow pools set duckdb_writer 1" in " ".join(services["airflow-init"]["command"])
    # metadata database through psycopg 3 (sync and async engines), Celery through Redis
    scheduler = services["airflow-scheduler"]["environment"]
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC_CMD"):
        assert "postgresql+psycopg://airflow:$$(cat /run/secrets/airflow_db_password)@postgres:5432/airflow" in scheduler[key]
    assert "redis://:$$(cat /run/secrets/redis_password)@redis:6379/0" in scheduler["AIRFLOW__CELERY__BROKER_URL_CMD"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/airflow_db_password"
    # the pipeline's settings only where tasks run: the workers, delivering to MinIO
    worker = services["airflow-worker"]["environment"]
    assert worker["MSDB_DELIVER"] == "s3://msdb-partner-feeds/nightly"
    assert worker["MSDB_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert worker["AWS_SHARED_CREDENTIALS_FILE"] == "/run/secrets/aws_credentials"
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD" not in worker
    assert [name for name in services if any(k.startswith("MSDB_") for k in services[name].get("environment", {}))] == ["airflow-worker"]
    assert "mc mb --ignore-existing feeds/msdb-partner-feeds" in " ".join(services["minio-init"]["command"])


@needs_compose
@pytest.mark.parametrize("service", sorted(SECRETS_OF))
def test_each_service_gets_only_the_secrets_it_needs(spec, service):
    assert _secret_names(spec["services"][service]) == SECRETS_OF[service]
    # and every secret it reads from /run/secrets is one it is given
    read = set(re.findall(r"/run/secrets/(\w+)", yaml.safe_dump(spec["services"][service])))
    assert read <= SECRETS_OF[service]
    assert set(spec["secrets"]) == set(SECRETS)
