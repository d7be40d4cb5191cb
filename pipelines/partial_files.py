"""Partial files: written beside their final place, then linked or renamed into it (a delivery's data file and
manifest on a folder, the published copy of the warehouse). A process killed in between (kill -9, out of
memory, a lost machine) leaves one behind; the next run removes it, and only it.

A partial file is named `.msdb-partial.<final name>.<random>`, a name no partner takes for data (a dot file that
is never a delivery's file, and never listed in a manifest), and its writer holds an exclusive `flock` on it
from creation to removal. The kernel drops that lock when the process ends, however it ends, so
`remove_abandoned` deletes a partial file only once it can take the lock itself: never one a live process is
still writing (a reader publishing the warehouse, another run delivering into a shared folder).
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

PARTIAL_PREFIX = ".msdb-partial."


def is_partial(name: str) -> bool:
    return name.startswith(PARTIAL_PREFIX)


@contextmanager
def partial_file(final: Path, mode: int = 0o644) -> Iterator[tuple[int, Path]]:
    """A new partial file beside `final`, locked by this process: (a write descriptor, its path). Removed when
    the block ends (after a link, the final name stays; after a rename, there is nothing left to remove)."""
    while True:
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=f"{PARTIAL_PREFIX}{final.name}.")
        path = Path(name)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # removed by a cleanup between mkstemp and flock: take another name
    try:
        os.fchmod(fd, mode)
        yield fd, path
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)  # releases the lock, after the name is gone


def remove_abandoned(folder: Path, recursive: bool = False, prefixes: tuple[str, ...] = (PARTIAL_PREFIX,)) -> list[Path]:
    """Delete the partial files under `folder` whose writer is gone (see the module docstring); returns them.
    `prefixes`: the names of partial files (those of earlier versions too, where they are unambiguous)."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    walk = os.walk(folder) if recursive else [(str(folder), [], os.listdir(folder))]
    for root, _, names in walk:
        for name in names:
            if name.startswith(prefixes) and _remove_if_abandoned(Path(root) / name):
                removed.append(Path(root) / name)
    for path in removed:
        log.warning("removed %s, left by a process that ended while writing it", path)
    return sorted(removed)


def _remove_if_abandoned(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except (FileNotFoundError, OSError):
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its writer is alive
        try:
            if not os.path.samestat(os.fstat(fd), os.lstat(path)):
                return False
            path.unlink()
        except OSError:  # gone meanwhile, or not a file
            return False
        return True
    finally:
        os.close(fd)
