"""One run at a time per warehouse: a lock file beside it, held for a whole `msdb run` or stand-alone stage.

DuckDB lets one process write a file at a time, and a second writer fails at whatever moment it first opens
the file, often in the middle of the first one's stage. So every run and stage takes `<warehouse>.lock`
(an exclusive `flock`) before its first stage and keeps it to its end; a second one is told who holds it (pid,
host, command, since when: written into the file) or waits a bounded time (`msdb run --wait SECONDS`).

The kernel drops a `flock` when its process ends, however it ends, so a killed run never leaves a stale lock;
the stage rows it left `running` in `ops.stage_runs` are recorded as `killed` by the next run to take the lock
(`pipelines.nightly`). Nested takes in one process (`run_nightly` around `run_stage`) share the outer one.
Readers never take it: they open the published copy (`pipelines.warehouse.published`).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse's run lock."""


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(f"{warehouse.name}.lock")


# warehouses whose lock this process holds: path → nesting depth
_held: dict[Path, int] = {}


def lock_holder(warehouse: Path) -> dict:
    """What the holder wrote into the lock file (pid, host, command, started_at); {} when unreadable."""
    try:
        return json.loads(lock_path(warehouse).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def _busy_message(warehouse: Path, waited: float) -> str:
    holder = lock_holder(warehouse)
    who = (
        f"`msdb {holder.get('command', '?')}` (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
        f"since {holder.get('started_at', '?')})"
        if holder
        else "another process"
    )
    waited_text = f" after waiting {waited:g} s" if waited else ""
    return f"warehouse {warehouse} is busy{waited_text}: {who} holds {lock_path(warehouse)}; retry when it ends or pass --wait SECONDS"


@contextmanager
def run_lock(warehouse: Path, command: str, wait: float = 0.0) -> Iterator[bool]:
    """Hold the warehouse's run lock; yields True when this block took it (the outermost one), False when this
    process already held it. Raises WarehouseBusy when another process still holds it after `wait` seconds."""
    key = warehouse.resolve()
    if key in _held:
        _held[key] += 1
        try:
            yield False
        finally:
            _held[key] -= 1
        return
    path = lock_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + max(wait, 0.0)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WarehouseBusy(_busy_message(warehouse, wait)) from None
                time.sleep(min(0.2, remaining))
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        _held[key] = 1
        try:
            yield True
        finally:
            del _held[key]
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock
