"""The published copy of the warehouse: what readers open while a run is writing.

DuckDB lets one process hold a database file read-write, and while it does no other process may open that
file at all, not even read-only (the writer's lock is exclusive). So readers never open the live file: the
committed file is copied to a partial file beside it (`pipelines.partial_files`) and atomically renamed
(`os.replace`) onto `<stem>.published.duckdb`, which `msdb sql` opens read-only. A copy left by a process killed
mid-copy is removed by the next run to take the run lock (`remove_abandoned_copies`).

When: once at the end of `msdb run` (whether it succeeded or stopped at a failing stage), and once at the end
of each stage run on its own (`msdb stage X`, an Airflow task: both go through `pipelines.nightly.run_stage`).
Inside those, the writers' and dbt's own requests to publish are deferred (`deferred_publishing`) and the
copy is made once, when the outermost one ends. A writer used outside them (a script, a test) still publishes
when it closes.

Guarantee: readers see the warehouse as of the end of the last run or stage published, never a half-done
one, and neither wait for nor block the nightly writer: a reader keeps the old copy's inode open while the
next one is renamed into place. During `msdb run` they see the previous night until the night ends.

Cost: one copy per run (not one per stage, 6+ a night), made by the file system where it can: a reflink
(FICLONE: btrfs, XFS, bcachefs; the copy shares the blocks and costs nothing until one of them changes), else
`copy_file_range` (in the kernel, server-side on NFS 4.2), else an ordinary copy. Memory: a copy buffer.

This is a snapshot copy, not a read-only attach: an attach of the live file would need the writer's lock.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.partial_files import PARTIAL_PREFIX, partial_file, remove_abandoned

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)


def published_path(warehouse: Path) -> Path:
    return warehouse.with_name(f"{warehouse.stem}.published{warehouse.suffix or '.duckdb'}")


FICLONE = 0x40049409  # ioctl: make the destination share the source's blocks (linux/fs.h)
# errors that mean "this file system cannot do that": try the next way
_UNSUPPORTED = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EBADF, errno.ETXTBSY}

# warehouses whose publishing is deferred in this process: path → nesting depth; and those asked meanwhile
_deferred: dict[Path, int] = {}
_requested: set[Path] = set()


def copy_file(source: Path, destination: Path) -> str:
    """Copy `source` onto `destination` (created or truncated) the cheapest way the file system allows;
    returns which: "reflink", "copy_file_range" or "copy"."""
    with source.open("rb") as src, destination.open("wb") as dst:
        try:
            import fcntl

            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
            return "reflink"
        except (ImportError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno not in _UNSUPPORTED:
                raise
        size = os.fstat(src.fileno()).st_size
        if hasattr(os, "copy_file_range"):
            try:
                copied = 0
                while copied < size:
                    done = os.copy_file_range(src.fileno(), dst.fileno(), size - copied)
                    if done == 0:
                        break
                    copied += done
                if copied == size:
                    return "copy_file_range"
            except OSError as exc:
                if exc.errno not in _UNSUPPORTED:
                    raise
            src.seek(0)
            dst.seek(0)
            dst.truncate()
        shutil.copyfileobj(src, dst, 1 << 20)
        return "copy"


@contextmanager
def deferred_publishing(warehouse: Path) -> Iterator[None]:
    """Publish `warehouse` once, when the outermost of these blocks ends (even by an exception: readers then
    see what the stages before the failure committed); inside, requests to publish only mark it as due."""
    key = warehouse.resolve()
    _deferred[key] = _deferred.get(key, 0) + 1
    try:
        yield
    finally:
        _deferred[key] -= 1
        if not _deferred[key]:
            del _deferred[key]
            if key in _requested:
                _requested.discard(key)
                publish_quietly(warehouse)


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
        with partial_file(destination, 0o644) as (_, partial):
            copy_file(source, partial)
            os.replace(partial, destination)
    return target


def remove_abandoned_copies(warehouse: Path) -> list[Path]:
    """The partial copies a publish killed mid-copy left beside the warehouse (each a full copy of it), and
    those of versions that named them `.<stem>.published.duckdb.<random>`; never one being written."""
    name = published_path(warehouse).name
    return remove_abandoned(warehouse.parent, prefixes=(f"{PARTIAL_PREFIX}{name}.", f".{name}."))


def publish_quietly(warehouse: Path) -> None:
    """Publishing is for readers; a failure to publish must not fail the stage that wrote. Inside
    `deferred_publishing`, only noted: the copy is made when that block ends."""
    key = warehouse.resolve()
    if key in _deferred:
        _requested.add(key)
        return
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
