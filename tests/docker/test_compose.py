"""The production compose file is valid and keeps secrets out of the repo."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yaml"
SECRETS = {"AIRFLOW_DB_PASSWORD": "x", "AIRFLOW_JWT_SECRET": "y", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}


def test_services_and_pool_are_declared():
    spec = yaml.safe_load(COMPOSE.read_text())
    assert {"postgres", "airflow-init", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor"} <= set(spec["services"])
    assert "airflow pools set duckdb_writer 1" in " ".join(spec["services"]["airflow-init"]["command"])
    text = COMPOSE.read_text()
    for name in SECRETS:
        assert f"${{{name}:?" in text  # required from the environment, never written here


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose not installed (apt-get install docker-compose)")
def test_compose_config_validates_and_refuses_missing_secrets():
    env = {**os.environ, **SECRETS}
    ok = subprocess.run(["docker-compose", "-p", "msdb", "-f", str(COMPOSE), "config"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bare = {k: v for k, v in os.environ.items() if k not in SECRETS}
    missing = subprocess.run(["docker-compose", "-p", "msdb", "-f", str(COMPOSE), "config"], env=bare, capture_output=True, text=True)
    assert missing.returncode != 0 and "set in the environment" in missing.stderr
