"""The gate's expectations read in DuckDB SQL, over every row of a suite's relation, without pandas.

Each Great Expectations type the suites use has its SQL reading here, with GX's semantics on pandas, so a
verdict (and what `ops.quality_results.observed` says) is the one GX gave on the whole frame:
- value expectations skip missing values (NULL, and NaN in a float column); `not_null` counts them;
- "N of M rows unexpected: [...]": M is every row of the relation, the list the first 20 unexpected values
  in the relation's order (a pair's as [A, B]);
- `unique`: every row whose value occurs more than once is unexpected;
- `match_regex`: a search, as pandas' `str.contains` (RE2 here, Python's `re` there: the suites' patterns
  read the same in both);
- a missing column is an error of that expectation, worded as GX words it.

Memory: one aggregate pass per suite (DuckDB, spilling beyond its memory_limit; `unique` keeps the distinct
values' hash table), then, for a failed expectation only, a second query for its count and 20 values.
"""

from __future__ import annotations

import json
import math

PARTIAL_UNEXPECTED = 20  # GX's partial_unexpected_list length

NOT_NULL = "expect_column_values_to_not_be_null"
UNIQUE = "expect_column_values_to_be_unique"
IN_SET = "expect_column_values_to_be_in_set"
MATCH_REGEX = "expect_column_values_to_match_regex"
PAIR_GREATER = "expect_column_pair_values_a_to_be_greater_than_b"
COLUMN_EXISTS = "expect_column_to_exist"
SUPPORTED = {NOT_NULL, UNIQUE, IN_SET, MATCH_REGEX, PAIR_GREATER, COLUMN_EXISTS}


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def columns_of(expectation: dict) -> list[str]:
    kwargs = expectation.get("kwargs", {})
    if expectation["type"] == PAIR_GREATER:
        return [kwargs["column_A"], kwargs["column_B"]]
    return [kwargs["column"]]


def _missing(column: str, column_type: str) -> str:
    name = quoted(column)
    if column_type in ("FLOAT", "DOUBLE"):
        return f"({name} IS NULL OR isnan({name}))"
    return f"({name} IS NULL)"


def unexpected_row(expectation: dict, types: dict[str, str]) -> str | None:
    """The SQL predicate of a row this expectation rejects (None for `unique`, which is about other rows too)."""
    kind, kwargs = expectation["type"], expectation.get("kwargs", {})
    if kind not in SUPPORTED:
        raise ValueError(f"{kind} has no SQL reading: add one in pipelines/check/sql_expectations.py")
    if "mostly" in kwargs:
        raise ValueError(f"{kind}: 'mostly' has no SQL reading yet")
    if kind in (COLUMN_EXISTS, UNIQUE):
        return None
    if kind == PAIR_GREATER:
        a, b = kwargs["column_A"], kwargs["column_B"]
        compared = f"NOT ({quoted(a)} {'>=' if kwargs.get('or_equal') else '>'} {quoted(b)})"
        ignore = kwargs.get("ignore_row_if", "both_values_are_missing")
        if ignore == "either_value_is_missing":
            return f"(NOT {_missing(a, types[a])} AND NOT {_missing(b, types[b])} AND {compared})"
        if ignore == "both_values_are_missing":
            return f"(NOT ({_missing(a, types[a])} AND {_missing(b, types[b])}) AND coalesce({compared}, true))"
        return f"coalesce({compared}, true)"
    column = kwargs["column"]
    missing = _missing(column, types[column])
    if kind == NOT_NULL:
        return missing
    if kind == IN_SET:
        values = kwargs.get("value_set") or []
        if not values:
            return f"(NOT {missing})"
        return f"(NOT {missing} AND {quoted(column)} NOT IN ({', '.join(literal(v) for v in values)}))"
    # MATCH_REGEX
    return f"(NOT {missing} AND NOT regexp_matches(CAST({quoted(column)} AS VARCHAR), {literal(kwargs['regex'])}))"


def _plain(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _unexpected_observed(count: int, element_count: int, values: list) -> str:
    sample = json.dumps(_plain(values), ensure_ascii=False, default=str)
    return f"{count} of {element_count} rows unexpected: {sample}"[:500]


def evaluate(con, relation: str, expectations: list[dict]) -> list[tuple[str, str | None, bool, str]]:
    """Every expectation over every row of `relation` (a SQL query): (type, column, success, observed)."""
    return evaluate_counted(con, relation, expectations)[1]


def evaluate_counted(con, relation: str, expectations: list[dict]) -> tuple[int, list[tuple[str, str | None, bool, str]]]:
    """`evaluate`, with the number of rows the verdicts counted."""
    types = {name: column_type for name, column_type, *_ in con.execute(f"DESCRIBE SELECT * FROM ({relation})").fetchall()}
    source = f"({relation}) AS suite_rows"
    measures = ["count(*)"]
    plans = []  # (expectation, column, error, measure index, row predicate)
    for expectation in expectations:
        kind, kwargs = expectation["type"], expectation.get("kwargs", {})
        column = kwargs.get("column") or kwargs.get("column_A")
        absent = [c for c in columns_of(expectation) if c not in types]
        if kind == COLUMN_EXISTS or absent:
            unexpected_row(expectation, {c: types.get(c, "") for c in columns_of(expectation)})  # refuse unknown types
            plans.append((expectation, column, absent, None, None))
            continue
        predicate = unexpected_row(expectation, types)
        if kind == UNIQUE:  # rows beyond the first of each value: > 0 when any value repeats
            measures.append(f"count({quoted(column)}) - count(DISTINCT {quoted(column)})")
        else:
            measures.append(f"count(*) FILTER (WHERE {predicate})")
        plans.append((expectation, column, None, len(measures) - 1, predicate))
    counts = con.execute(f"SELECT {', '.join(measures)} FROM {source}").fetchone()
    element_count = counts[0]
    outcomes = []
    for expectation, column, absent, index, predicate in plans:
        kind = expectation["type"]
        if kind == COLUMN_EXISTS:
            outcomes.append((kind, column, not absent, f"column {column} is missing" if absent else "null"))
        elif absent:
            outcomes.append((kind, column, False, f'error: Error: The column "{absent[0]}" in BatchData does not exist.'[:500]))
        elif not counts[index]:
            outcomes.append((kind, column, True, _unexpected_observed(0, element_count, [])))
        elif kind == UNIQUE:
            name = quoted(column)
            repeated = f"SELECT {name} FROM {source} WHERE {name} IS NOT NULL GROUP BY {name} HAVING count(*) > 1"
            count = con.execute(f"SELECT sum(n) FROM (SELECT count(*) AS n FROM {source} WHERE {name} IS NOT NULL GROUP BY {name} HAVING n > 1)").fetchone()[0]
            values = [v for (v,) in con.execute(f"SELECT {name} FROM {source} SEMI JOIN ({repeated}) AS repeated USING ({name}) LIMIT {PARTIAL_UNEXPECTED}").fetchall()]
            outcomes.append((kind, column, False, _unexpected_observed(int(count), element_count, values)))
        else:
            selected = ", ".join(quoted(c) for c in columns_of(expectation))
            rows = con.execute(f"SELECT {selected} FROM {source} WHERE {predicate} LIMIT {PARTIAL_UNEXPECTED}").fetchall()
            values = [list(r) if len(r) > 1 else r[0] for r in rows]
            outcomes.append((kind, column, False, _unexpected_observed(counts[index], element_count, values)))
    return element_count, outcomes
