"""Helper processes that read parts of a large DDEX message while the loader reads the first part.

Python's per-record work (one adapter call per recording) is what bounds ingest speed, and one process runs
it on one core. A message at least `ingest_helper_min_mb` large is therefore read by the loader and by
`ingest_helpers` helper processes together, each reading one part (`ddex_parts`). A helper sends its rows
to the loader as Arrow IPC frames, one per table and batch, and the loader inserts them in the file's one
transaction, next to its own rows: the file still loads whole or not at all.

A helper is a fresh interpreter (DuckDB and polars threads do not survive a fork) that reads one part and
exits; the next helpers start as soon as a file's parts are read, and import while the loader commits. A
helper that fails reports why; the loader then reads the file again alone (see `loader`).
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.ingest.ddex_parts import Part
from pipelines.ingest.frames import RowBatches, TableColumns, TableRows, fewer_gc_passes, from_ipc, to_ipc
from pipelines.ingest.records import FileContext, HolderRef, RejectedFile, Tally, failure_reason

if TYPE_CHECKING:
    import polars as pl

MAX_AUTO_HELPERS = 3
HELPER_BATCH_ROWS = 1_000  # smaller than the loader's batches: a helper's memory adds to the loader's
STOP_TIMEOUT_SECONDS = 10
HELPER_CODE = "from pipelines.ingest.helpers import main; main()"  # what a helper process runs


def default_helper_count() -> int:
    """One helper per core this process may run on beyond the loader's own, at most MAX_AUTO_HELPERS."""
    from pipelines import usable_cores

    return max(0, min(usable_cores() - 1, MAX_AUTO_HELPERS))


def _serve(conn: Connection) -> None:
    """A helper's life: read the one part the loader sends (None: there is none), then exit, so that what the
    part held (Python's heap, polars' and libxml2's buffers) goes back to the system before the loader commits
    the file: a process is the only sure way to hand that memory back."""
    try:
        job = conn.recv()
        if job is not None:
            _read_part(conn, *job)
    except (EOFError, OSError):
        pass
    conn.close()


def _read_part(
    conn: Connection,
    adapter_name: tuple[str, str],
    ctx: FileContext,
    part: Part,
    types: dict[str, dict[str, str]],
) -> None:
    columns = TableColumns(types)

    def send(table: str, rows: TableRows) -> None:
        data = to_ipc(columns.frame(table, rows))
        conn.send(("frame", table))
        conn.send_bytes(data)  # unpickled: one copy fewer on each side

    tally = Tally()
    try:
        module, name = adapter_name
        adapter = getattr(importlib.import_module(module), name)
        part.prepare(ctx.path)
        batches = RowBatches(send, HELPER_BATCH_ROWS)
        with fewer_gc_passes():
            tally.take(adapter(ctx.path, ctx, part=part), batches.add)
            batches.flush()
    except Exception as exc:  # noqa: BLE001 - the loader reads the file again alone
        conn.send(("error", failure_reason(exc)))
        return
    conn.send(("done", part, tally))


class _Helper:
    """One helper: a `python` running `main()` below, talking to the loader over a socket pair. A plain child
    interpreter, not a multiprocessing one: nothing of the host's `__main__` (a script, Airflow, pytest) is
    re-imported, and the helper ends by itself when the loader's end of the connection closes."""

    def __init__(self, number: int):
        self.name = f"msdb-ingest-helper-{number}"
        root = str(Path(__file__).resolve().parents[2])
        env = os.environ | {
            "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH")))),
            # a helper shares the machine with the loader (and other helpers): one polars thread each
            "POLARS_MAX_THREADS": "1",
        }
        ours, theirs = socket.socketpair()
        with ours, theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-c", HELPER_CODE, str(theirs.fileno())],
                env=env,
                cwd=root,
                pass_fds=(theirs.fileno(),),
            )
            self.conn = Connection(os.dup(ours.fileno()))

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        try:
            self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.conn.close()

    def ended(self, wait: bool = False) -> str:
        """Why the helper's connection closed (wait: for its exit code, a moment at most)."""
        try:
            code = self.process.wait(STOP_TIMEOUT_SECONDS) if wait else self.process.poll()
        except subprocess.TimeoutExpired:
            code = None
        return f"reader error: helper process {self.name} ended (exit code {code})"


class IngestHelpers:
    """`count` helper processes at a time for one ingest run (use as a context manager: they are stopped
    after it)."""

    def __init__(self, count: int):
        self.count = count
        self.helpers: list[_Helper] = []

    def __enter__(self) -> IngestHelpers:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        """Start the helpers (they import while the loader opens the warehouse and hashes the first file)."""
        if not self.helpers:
            self.helpers = [_Helper(number) for number in range(1, self.count + 1)]

    def stop(self) -> None:
        for helper in self.helpers:
            helper.stop()
        self.helpers = []

    def kill(self) -> None:
        for helper in self.helpers:
            helper.kill()
        self.helpers = []

    def renew(self) -> None:
        """After a file's parts: reap the helpers (each exits after its part) and start the next ones."""
        for helper in self.helpers:
            helper.stop()
        self.helpers = []
        self.start()

    def read_parts(
        self,
        adapter: Callable,
        ctx: FileContext,
        parts: list[Part],
        types: dict[str, dict[str, str]],
        insert: Callable[[str, pl.DataFrame], None],
    ) -> SharedRead:
        """Start one helper on each part of ctx's file (as many parts as helpers); `insert(table, frame)` is
        called (from one receiving thread per helper) for each frame a helper sends, and returns once the
        frame is in the transaction."""
        self.start()
        adapter_name = (adapter.__module__, adapter.__name__)
        ctx = replace(ctx, holder=HolderRef(ctx.holder.id))  # the registry's models stay in the loader
        for helper, part in zip(self.helpers, parts, strict=True):
            try:
                helper.conn.send((adapter_name, ctx, part, types))
            except OSError as exc:  # the helper is gone: the next large file starts new ones
                reason = helper.ended(wait=True)
                self.kill()
                raise RejectedFile(reason) from exc
        return SharedRead(self, insert)


class SharedRead:
    """The helpers' side of one file: receiving threads, and what each helper reported at the end."""

    def __init__(self, helpers: IngestHelpers, insert: Callable[[str, pl.DataFrame], None]):
        self.helpers = helpers
        self.insert = insert
        self.outcomes: list[tuple[Part, Tally] | None] = [None for _ in helpers.helpers]
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._receive, args=(number, helper), name=f"{helper.name}-receiver")
            for number, helper in enumerate(helpers.helpers)
        ]
        for thread in self.threads:
            thread.start()

    def _receive(self, number: int, helper: _Helper) -> None:
        try:
            while True:
                message = helper.conn.recv()
                if message[0] == "frame":
                    _kind, table = message
                    self.insert(table, from_ipc(helper.conn.recv_bytes()))
                elif message[0] == "done":
                    _kind, part, tally = message
                    self.outcomes[number] = (part, tally)
                    return
                else:
                    _kind, reason = message
                    self.errors.append(reason)
                    return
        except (EOFError, OSError):
            self.errors.append(helper.ended(wait=True))
        except Exception as exc:  # noqa: BLE001 - an insert failed: the loader rolls back and reads it whole
            self.errors.append(failure_reason(exc))
            helper.kill()  # it may be blocked sending the next frame

    def wait(self) -> list[tuple[Part, Tally]]:
        """Each helper's part as read (with its offsets and counts) and what it found, once all are done;
        raises RejectedFile with the first failure's reason."""
        for thread in self.threads:
            thread.join()
        if self.errors:
            self.helpers.kill()
            raise RejectedFile(self.errors[0])
        self.helpers.renew()
        return [outcome for outcome in self.outcomes if outcome is not None]

    def abandon(self) -> None:
        """The loader gave up on the read: end the helpers (the next large file starts new ones)."""
        self.helpers.kill()
        for thread in self.threads:
            thread.join()


def main() -> None:
    """A helper process's entry point: `python -c "from pipelines.ingest.helpers import main; main()" FD`, FD
    being its end of the socket pair."""
    _serve(Connection(int(sys.argv[1])))
