"""snapshots.snap_dim_work keeps the contract of a dbt snapshot (strategy check, hard_deletes: invalidate) while a
night writes only the versions it closes and opens.

The model runs on its own (`dbt run --select snap_dim_work`) over a hand-made marts.dim_work, build after build:
a changed checked column closes the open version and opens one, a change to an unchecked column does nothing, a
work that leaves dim_work is closed, one that comes back is opened again, and untouched versions keep their
row as it was (same dbt_scd_id and times).
"""

from __future__ import annotations

import duckdb
import pytest

from tests.build.conftest import rows
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

CHECKED = (
    "kind, rights_holder_id, parent_work_id, title, title_ja, title_en, title_latn, display_artist, genres, summary, "
    "series_name, season_number, episode_number, duration_seconds, release_date, parental_warning, rating, label_name, "
    "isrc, icpn, grid, isan, eidr, provider_asset_id, is_withdrawn"
)


def _dim_work(settings, works: list[tuple[str, str, list[str], bool, str]]) -> None:
    """marts.dim_work with the given (work_id, title, genres, is_withdrawn, file_id) rows, other columns null."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        columns = ", ".join(
            f"{c} {'VARCHAR[]' if c == 'genres' else 'BOOLEAN' if c == 'is_withdrawn' else 'VARCHAR'}" for c in CHECKED.split(", ")
        )
        con.execute(f"CREATE OR REPLACE TABLE marts.dim_work (work_id VARCHAR, {columns}, file_id VARCHAR)")
        con.executemany("INSERT INTO marts.dim_work (work_id, title, genres, is_withdrawn, file_id) VALUES (?, ?, ?, ?, ?)", works)


def _build(settings) -> None:
    from pipelines.build import run_dbt

    result = run_dbt(settings, "run", "--quiet", "--select", "snap_dim_work")
    assert result.success, result.exception


def _history(settings) -> list[tuple]:
    return rows(
        settings,
        """
        SELECT work_id, title, genres, is_withdrawn, file_id, dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to
        FROM snapshots.snap_dim_work ORDER BY work_id, dbt_valid_from
        """,
    )


def test_history_opens_and_closes_only_what_changed(tmp_path):
    settings = make_settings(tmp_path, tmp_path / "landing")
    _dim_work(
        settings,
        [
            ("w_a", "Asagiri", ["J-Pop"], False, "f1"),
            ("w_b", "Yugure", ["J-Pop", "Ambient"], False, "f1"),
            ("w_c", "Hoshizora", None, False, "f1"),
            ("w_d", "Kaze", ["Rock"], False, "f1"),
        ],
    )
    _build(settings)
    first = _history(settings)
    assert [(w, t, valid_to) for w, t, *_, valid_to in first] == [
        ("w_a", "Asagiri", None), ("w_b", "Yugure", None), ("w_c", "Hoshizora", None), ("w_d", "Kaze", None)
    ]
    built_1 = first[0][7]
    assert {row[6] for row in first} == {row[7] for row in first} == {built_1}

    # night 2: A's title changes, B's genres change, C only changes a column the history does not check,
    # D leaves dim_work, E is new
    _dim_work(
        settings,
        [
            ("w_a", "Asagiri (Deluxe)", ["J-Pop"], False, "f2"),
            ("w_b", "Yugure", ["J-Pop"], False, "f1"),
            ("w_c", "Hoshizora", None, False, "f2"),
            ("w_e", "Tsukiyo", [], False, "f2"),
        ],
    )
    _build(settings)
    second = _history(settings)
    built_2 = max(row[7] for row in second)
    assert built_2 > built_1
    by_work = {}
    for row in second:
        by_work.setdefault(row[0], []).append(row)
    assert [(r[1], r[7], r[8]) for r in by_work["w_a"]] == [("Asagiri", built_1, built_2), ("Asagiri (Deluxe)", built_2, None)]
    assert [(r[2], r[7], r[8]) for r in by_work["w_b"]] == [(["J-Pop", "Ambient"], built_1, built_2), (["J-Pop"], built_2, None)]
    # untouched rows: the very same row (id, times, and the unchecked file_id of the version published then)
    assert by_work["w_c"] == [first[2]]
    assert by_work["w_c"][0][4] == "f1"
    assert [(r[7], r[8]) for r in by_work["w_d"]] == [(built_1, built_2)]  # hard delete: closed, not removed
    assert [(r[1], r[2], r[7], r[8]) for r in by_work["w_e"]] == [("Tsukiyo", [], built_2, None)]
    # a closed version keeps its id and dbt_updated_at; a new one gets md5(work_id | build time) as dbt does
    assert by_work["w_a"][0][5:7] == first[0][5:7]
    assert rows(
        settings,
        "SELECT count(*) FROM snapshots.snap_dim_work WHERE dbt_scd_id <> md5(work_id || '|' || CAST(dbt_updated_at AS VARCHAR))",
    ) == [(0,)]

    # night 3: D comes back withdrawn; nothing else changes
    _dim_work(
        settings,
        [
            ("w_a", "Asagiri (Deluxe)", ["J-Pop"], False, "f2"),
            ("w_b", "Yugure", ["J-Pop"], False, "f1"),
            ("w_c", "Hoshizora", None, False, "f2"),
            ("w_d", "Kaze", ["Rock"], True, "f3"),
            ("w_e", "Tsukiyo", [], False, "f2"),
        ],
    )
    _build(settings)
    third = _history(settings)
    built_3 = max(row[7] for row in third)
    assert [r for r in third if r[0] != "w_d"] == [r for r in second if r[0] != "w_d"]
    assert [(r[3], r[7], r[8]) for r in third if r[0] == "w_d"] == [(False, built_1, built_2), (True, built_3, None)]
