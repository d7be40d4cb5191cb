"""The dbt-duckdb plugin of this project (`plugins:` in dbt_project/profiles.yml): dbt's connection gets the
package's SQL functions (`msdb_match_key`...), so models call the very Python function ingest calls."""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from pipelines.warehouse.functions import register_functions


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        register_functions(conn)
