"""SQL functions that are Python functions of this package, registered on every connection that reads models.

dbt registers them through its plugin (`pipelines.build.dbt_plugin`); `writer()`, `reader()` and
`published_reader()` register them too, because the staging and intermediate views call them when read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.text.match_key import match_key

if TYPE_CHECKING:
    import duckdb

# SQL name → (Python function, its argument types, its result type), DuckDB type names.
SQL_FUNCTIONS = {
    "msdb_match_key": (match_key, ["VARCHAR"], "VARCHAR"),
}


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Register every SQL function on a connection (a null argument gives null without calling Python)."""
    registered = {
        row[0]
        for row in con.execute(
            "SELECT function_name FROM duckdb_functions() WHERE function_name LIKE 'msdb\\_%' ESCAPE '\\'"
        ).fetchall()
    }
    for name, (function, parameters, result) in SQL_FUNCTIONS.items():
        if name not in registered:
            con.create_function(name, function, parameters, result, side_effects=False)
