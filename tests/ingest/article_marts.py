"""Building only the article marts (and their dbt tests) on a test's warehouse, shared by the article tests."""

from __future__ import annotations

from datetime import date

from pipelines.build import run_dbt

ARTICLE_MODELS = (
    "stg_articles__articles",
    "int_article_versions_grouped",
    "dim_article",
    "fct_article_versions",
)


def build_article_marts(
    settings,
    logical_date: date = date(2026, 11, 24),
    models: tuple[str, ...] = ARTICLE_MODELS,
    dbt_vars: dict[str, object] | None = None,
) -> None:
    """dbt build of the article models (or `models`) and the tests attached to them, in-process, with
    `dbt_vars` beside the logical date; fails the test on any error."""
    extra = "".join(f", {name}: {value}" for name, value in (dbt_vars or {}).items())
    result = run_dbt(
        settings,
        "build",
        "--quiet",
        "--select",
        *models,
        "--vars",
        f"{{logical_date: '{logical_date}'{extra}}}",
    )
    failures = [
        f"{r.node.unique_id}: {r.message}" for r in result.result or [] if str(r.status) in ("error", "fail")
    ]
    assert result.success and not failures, failures or result.exception
