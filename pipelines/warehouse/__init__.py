"""The DuckDB warehouse: connections, extension loading and the tables Python stages own.

DuckDB allows one writer per file. Every stage opens one read-write connection through `writer()`, does its
work and closes it before the next stage (or dbt) opens the file; readers go through `reader()`.
"""

from pipelines.warehouse.connection import ArrowStream, load_extension, reader, writer
from pipelines.warehouse.schema import ensure_schema

__all__ = ["ArrowStream", "ensure_schema", "load_extension", "reader", "writer"]
