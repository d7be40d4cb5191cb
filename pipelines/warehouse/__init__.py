"""The DuckDB warehouse: connections, extension loading and the tables Python stages own.

DuckDB allows one writer per file, and while it writes no other process may open the file. Every stage opens
one read-write connection through `writer()`, does its work and closes it before the next stage (or dbt) opens
the file; the same process reads back through `reader()`. Other processes (`msdb sql`) read the copy published at the
end of each run or stand-alone stage, through `published_reader()` (see `published.py`).
"""

from pipelines.warehouse.connection import ArrowStream, load_extension, reader, writer
from pipelines.warehouse.published import publish, published_path, published_reader
from pipelines.warehouse.schema import ensure_schema

__all__ = [
    "ArrowStream",
    "ensure_schema",
    "load_extension",
    "publish",
    "published_path",
    "published_reader",
    "reader",
    "writer",
]
