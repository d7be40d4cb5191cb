"""`msdb run --full-refresh` reaches dbt (`--full-refresh`) and every stage function that takes `full_refresh`;
a stage without the keyword runs as before."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines import nightly
from tests.conftest import make_settings

DAY = date(2026, 11, 25)


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, tmp_path / "landing")


@pytest.fixture
def calls(monkeypatch):
    seen: list[tuple[str, dict]] = []

    def with_keyword(settings, logical_date, full_refresh: bool = False):
        seen.append(("with_keyword", {"full_refresh": full_refresh}))
        return {"ok": True}

    def without_keyword(settings, logical_date):
        seen.append(("without_keyword", {}))
        return {"ok": True}

    functions = {"tag": with_keyword, "check": without_keyword}
    monkeypatch.setattr(nightly, "_stage_function", lambda name: functions[name])
    return seen


@pytest.mark.parametrize("full_refresh", [False, True])
def test_run_stage_passes_full_refresh_to_stages_that_take_it(settings, calls, full_refresh):
    nightly.run_stage("tag", DAY, settings, full_refresh=full_refresh)
    nightly.run_stage("check", DAY, settings, full_refresh=full_refresh)
    assert calls == [("with_keyword", {"full_refresh": full_refresh}), ("without_keyword", {})]


@pytest.mark.parametrize(("full_refresh", "flag"), [(False, []), (True, ["--full-refresh"])])
def test_run_build_passes_full_refresh_to_dbt(settings, monkeypatch, full_refresh, flag):
    import pipelines.build as build

    argv: list[tuple[str, ...]] = []

    class Result:
        exception = None
        result: list = []
        success = True

    monkeypatch.setattr(build, "run_dbt", lambda settings, *args: argv.append(args) or Result())
    monkeypatch.setattr(build, "record_release_findings", lambda settings, logical_date: (0, 0))
    build.run_build(settings, DAY, full_refresh=full_refresh)
    assert argv == [("build", "--quiet", "--vars", "{logical_date: '2026-11-25'}", *flag)]


def test_the_build_stage_takes_full_refresh():
    from pipelines.build import run_build

    assert nightly._accepts_full_refresh(run_build)


def test_the_check_stage_takes_full_refresh():
    """--full-refresh makes the gate check every row instead of the night's changes."""
    from pipelines.check import run_check

    assert nightly._accepts_full_refresh(run_check)
