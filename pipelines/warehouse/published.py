"""The published copy of the warehouse: what readers open while a run is writing.

DuckDB lets one process hold a database file read-write, and while it does no other process may open that
file at all, not even read-only (the writer's lock is exclusive). So readers never open the live file:
whenever a writer closes the warehouse (the end of every stage, and after dbt), the committed file is copied
to a temporary file beside it and atomically renamed (`os.replace`) onto `<stem>.published.duckdb`.
`msdb sql` opens that copy read-only. It therefore sees the warehouse as of the end of the last stage that
wrote, never a half-done one, and it neither waits for nor blocks the nightly writer: a reader keeps the old
copy's inode open while the next one is renamed into place.

This is a snapshot copy, not a read-only attach: an attach of the live file would need the writer's lock.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)


def published_path(warehouse: Path) -> Path:
    return warehouse.with_name(f"{warehouse.stem}.published{warehouse.suffix or '.duckdb'}")


def publish(warehouse: Path) -> Path | None:
    """Copy the (closed, checkpointed) warehouse to its published path, atomically. Call only when this
    process holds no connection to it."""
    if not warehouse.exists():
        return None
    target = published_path(warehouse)
    copies = [(warehouse, target)]
    wal = warehouse.with_name(warehouse.name + ".wal")
    target_wal = target.with_name(target.name + ".wal")
    if wal.exists():  # a writer that died before its checkpoint: the log belongs to the state
        copies.append((wal, target_wal))
    elif target_wal.exists():
        target_wal.unlink()
    for source, destination in copies:
        fd, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
        os.close(fd)
        try:
            shutil.copyfile(source, temporary)
            os.replace(temporary, destination)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return target


def publish_quietly(warehouse: Path) -> None:
    """Publishing is for readers; a failure to publish must not fail the stage that wrote."""
    try:
        publish(warehouse)
    except OSError as exc:
        log.warning("could not publish a read-only copy of %s: %s", warehouse, exc)


@contextmanager
def published_reader(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the published copy (see module docstring)."""
    import duckdb

    target = published_path(warehouse)
    if not target.exists():
        if not warehouse.exists():
            raise FileNotFoundError(f"no warehouse at {warehouse}: run `msdb run` first")
        # A warehouse from before publishing existed: publish it now, if no writer holds it.
        try:
            duckdb.connect(str(warehouse), read_only=True).close()
        except duckdb.IOException as exc:
            raise RuntimeError(f"{warehouse} is being written and has no published copy yet; retry after this stage") from exc
        publish(warehouse)
    from pipelines.warehouse.functions import register_functions

    con = duckdb.connect(str(target), read_only=True)
    register_functions(con)
    try:
        yield con
    finally:
        con.close()
