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
    """Register every SQL function on a connection (a null argument gives null without calling Python); one the
    connection already has is left as it is. Each is simply created, and DuckDB's refusal of a name it already
    has taken as that: asking `duckdb_functions()` first cost ~0.03 CPU s per connection (it lists every
    function of every extension), creating one ~0.001 s."""
    import duckdb

    for name, (function, parameters, result) in SQL_FUNCTIONS.items():
        try:
            con.create_function(name, function, parameters, result, side_effects=False)
        except (duckdb.NotImplementedException, duckdb.CatalogException) as exc:
            # "A function by the name of ... is already created" (this connection), "... already exists" (another
            # connection of the same database)
            if "already" not in str(exc):
                raise
