from datetime import UTC, date, datetime
from pathlib import Path

from pipelines.settings import MsdbSettings, default_logical_date, delivery_date


def test_embedded_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = MsdbSettings()
    assert settings.warehouse == Path("var/warehouse/msdb.duckdb")
    assert settings.landing == Path("data/samples")
    assert settings.deliver == "var/deliveries"
    assert settings.registry_file == Path("data/samples/registry.yaml")
    assert settings.partners_dir == Path("data/samples/partners")


def test_environment_beats_toml_file(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "msdb.toml").write_text('landing = "/srv/landing"\ndeliver = "s3://feeds/prod"\n')
    monkeypatch.setenv("MSDB_DELIVER", "s3://feeds/staging")
    settings = MsdbSettings()
    assert settings.landing == Path("/srv/landing")
    assert settings.deliver == "s3://feeds/staging"


def test_default_logical_date_is_yesterday_in_tokyo():
    # 2026-11-24 16:30 UTC is 01:30 on the 25th in Tokyo: the night of the 24th is being processed
    assert default_logical_date(datetime(2026, 11, 24, 16, 30, tzinfo=UTC)) == date(2026, 11, 24)
    # 2026-11-24 14:00 UTC is still the 24th in Tokyo (23:00)
    assert default_logical_date(datetime(2026, 11, 24, 14, 0, tzinfo=UTC)) == date(2026, 11, 23)
    assert delivery_date(date(2026, 12, 31)) == date(2027, 1, 1)


def test_project_folders_are_settings(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("MODELS", "DBT_PROJECT", "EXPECTATIONS"):
        monkeypatch.setenv(f"MSDB_{name}_DIR", f"/opt/msdb/{name.lower()}")
    settings = MsdbSettings()
    assert settings.models_dir == Path("/opt/msdb/models")
    assert settings.dbt_project_dir == Path("/opt/msdb/dbt_project")
    assert settings.expectations_dir == Path("/opt/msdb/expectations")


def test_project_folders_default_to_the_checkout_else_to_what_the_wheel_ships(monkeypatch, tmp_path):
    from pipelines import settings as module

    monkeypatch.chdir(tmp_path)
    root = Path(module.__file__).resolve().parents[1]
    assert MsdbSettings().dbt_project_dir == root / "dbt_project"
    assert MsdbSettings().expectations_dir == root / "expectations"
    # an installed wheel: the package sits in site-packages, with no pyproject.toml beside it
    monkeypatch.setattr(module, "PROJECT_ROOT", tmp_path)
    assert MsdbSettings().models_dir == root / "pipelines" / "_project" / "models"
    assert MsdbSettings().dbt_project_dir == root / "pipelines" / "_project" / "dbt_project"


def test_the_mead_sender_is_ours_by_default_and_a_validated_setting(monkeypatch, tmp_path):
    import pydantic
    import pytest

    monkeypatch.chdir(tmp_path)
    assert (MsdbSettings().mead_sender_party_id, MsdbSettings().mead_sender_name) == ("PADPIDA2026112401M", "MSDB")
    monkeypatch.setenv("MSDB_MEAD_SENDER_PARTY_ID", "PADPIDA2026120199Z")
    monkeypatch.setenv("MSDB_MEAD_SENDER_NAME", "MSDB Data Factory")
    settings = MsdbSettings()
    assert (settings.mead_sender_party_id, settings.mead_sender_name) == ("PADPIDA2026120199Z", "MSDB Data Factory")
    monkeypatch.setenv("MSDB_MEAD_SENDER_PARTY_ID", "MSDB")
    with pytest.raises(pydantic.ValidationError, match="mead_sender_party_id"):
        MsdbSettings()
