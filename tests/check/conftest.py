"""A sample warehouse built once (ingest + dbt build); each test checks a copy it may break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, make_settings


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> Path:
    from tests.build.conftest import ingest_and_build

    root = tmp_path_factory.mktemp("gate-samples")
    settings = make_settings(root, SAMPLES)
    ingest_and_build(settings)
    return settings.warehouse


@pytest.fixture
def gate_settings(built_warehouse, tmp_path):
    """Settings on a private copy of the built warehouse, with the sample partner contracts copied too."""
    partners = tmp_path / "partners"
    shutil.copytree(SAMPLES / "partners", partners)
    settings = make_settings(tmp_path, SAMPLES, partners=partners)
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(built_warehouse, settings.warehouse)
    return settings
