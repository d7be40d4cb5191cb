"""The gate's SQL reading of each expectation type says what Great Expectations said on the whole frame."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from pipelines.check import SuiteSpec, _Validator
from pipelines.check.sql_expectations import evaluate

pytestmark = pytest.mark.slow

# a small fct_licence_window-like table with one of every trouble: nulls, a NaN, repeats, a bad territory,
# an inverted window, a malformed ISRC
ROWS = [
    ("lw1", "w_0000000000000000000a", "JP", "active", date(2026, 11, 1), None, "JPSK02600001", 1.0, True, 0),
    ("lw2", "w_0000000000000000000a", "KR", "active", date(2026, 11, 1), date(2026, 10, 31), "JPSK02600002", 2.0, True, 0),
    ("lw3", None, "XX", "withdrawn", None, date(2026, 12, 1), "JP-SK0-26-00003", float("nan"), False, 1),
    ("lw3", "w_0000000000000000000b", "JP", "pending", date(2026, 11, 5), date(2026, 11, 5), None, None, True, 0),
    ("lw4", "w_0000000000000000000c", None, None, date(2026, 11, 6), date(2026, 11, 7), "JPSK02600004", 3.0, None, 2),
]
COLUMNS = ["licence_window_id", "work_id", "territory", "status", "window_start", "window_end", "isrc", "score", "in_marts", "gap"]

CASES = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": c}} for c in ("work_id", "score", "licence_window_id")
] + [
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": c}} for c in ("licence_window_id", "work_id", "isrc")
] + [
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "territory", "value_set": ["JP", "KR"]}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "territory", "value_set": ["JP", "KR", "XX"]}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "status", "value_set": ["active", "withdrawn"]}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "in_marts", "value_set": [True]}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "gap", "value_set": [0]}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "isrc", "regex": "^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$"}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "work_id", "regex": "^w_[0-9a-f]{20}$"}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "isrc", "regex": "^(JP)?SK"}},
    {
        "type": "expect_column_pair_values_a_to_be_greater_than_b",
        "kwargs": {"column_A": "window_end", "column_B": "window_start", "or_equal": True, "ignore_row_if": "either_value_is_missing"},
    },
    {
        "type": "expect_column_pair_values_a_to_be_greater_than_b",
        "kwargs": {"column_A": "window_end", "column_B": "window_start", "or_equal": False, "ignore_row_if": "either_value_is_missing"},
    },
    {"type": "expect_column_to_exist", "kwargs": {"column": "territory"}},
    {"type": "expect_column_to_exist", "kwargs": {"column": "isan"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "isan"}},
]  # fmt: skip


def _gx(expectations: list[dict], frame: pd.DataFrame, name: str) -> list[tuple]:
    return _Validator().validate(SuiteSpec(name, None, [], expectations), frame)


@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], []], ids=["troubled", "clean", "empty"])
def test_sql_verdicts_and_observations_are_those_of_gx_on_the_whole_frame(rows):
    frame = pd.DataFrame(rows, columns=COLUMNS)
    with duckdb.connect() as con:
        con.execute(
            "CREATE TABLE windows (licence_window_id VARCHAR, work_id VARCHAR, territory VARCHAR, status VARCHAR, "
            "window_start DATE, window_end DATE, isrc VARCHAR, score DOUBLE, in_marts BOOLEAN, gap BIGINT)"
        )
        if rows:
            con.executemany(f"INSERT INTO windows VALUES ({', '.join('?' for _ in COLUMNS)})", rows)
        in_sql = evaluate(con, "SELECT * FROM windows", CASES)
    in_gx = _gx(CASES, frame.astype({"window_start": object, "window_end": object}), f"whole_{len(rows)}")
    assert sorted(in_sql, key=str) == sorted(in_gx, key=str)
    if rows is ROWS:  # the troubled rows fail what they should, with GX's words
        observed = {(r[0], r[1]): r[3] for r in in_sql if not r[2]}
        assert observed[("expect_column_values_to_be_unique", "licence_window_id")] == '2 of 5 rows unexpected: ["lw3", "lw3"]'
        assert observed[("expect_column_values_to_not_be_null", "score")] == "2 of 5 rows unexpected: [null, null]"
        pairs = [r[3] for r in in_sql if r[0] == "expect_column_pair_values_a_to_be_greater_than_b"]
        assert pairs == [  # end >= start, then end > start: the one-day window fails only the strict one
            '1 of 5 rows unexpected: [["2026-10-31", "2026-11-01"]]',
            '2 of 5 rows unexpected: [["2026-10-31", "2026-11-01"], ["2026-11-05", "2026-11-05"]]',
        ]
        assert observed[("expect_column_values_to_not_be_null", "isan")] == 'error: Error: The column "isan" in BatchData does not exist.'
