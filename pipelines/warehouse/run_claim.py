"""One scheduled run of the nightly at a time per warehouse, across tasks and machines: a claim file.

The run lock (`run_lock`) covers one process; an Airflow run is many task processes, possibly on many workers,
and its stages must not interleave with another run's (a later day's build between this day's build and tag
would tag the later catalog under this day's name). Airflow does not keep a backfill's runs and the scheduled
runs apart: `max_active_runs` of the DAG counts scheduled runs only, each backfill has its own (default 10).

So the first task of each run claims the warehouse, `<warehouse>.run-claim` (created with O_EXCL: one winner),
naming its run; the run's teardown releases it. A claim whose owner is no longer active (its run failed, was
marked, or its workers were lost before the teardown ran) is taken over: `owner_active` answers for an owner
id (the DAG asks Airflow for the run's state). No Airflow import here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path


def claim_path(warehouse: Path) -> Path:
    return warehouse.with_name(f"{warehouse.name}.run-claim")


def claim_owner(warehouse: Path) -> str | None:
    """The owner id written in the claim, or None when there is no readable claim."""
    try:
        return json.loads(claim_path(warehouse).read_text())["owner"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def try_claim(warehouse: Path, owner: str, owner_active: Callable[[str], bool]) -> str | None:
    """Claims the warehouse for `owner`; returns None when it holds the claim (also when it already did), else
    the id of the active owner that holds it. An inactive owner's claim is taken over."""
    path = claim_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3):  # a stale claim removed, or a claim released, between two looks: look again
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = claim_owner(warehouse)
            if holder == owner:
                return None
            if holder is not None and owner_active(holder):
                return holder
            if holder is None and _age_s(path) < 60:  # being written by its creator
                return "(being claimed)"
            _remove_if_owned_by(path, holder)
            continue
        with os.fdopen(fd, "w") as fh:
            json.dump({"owner": owner, "since": datetime.now(UTC).isoformat(), "pid": os.getpid()}, fh)
        return None
    return claim_owner(warehouse) or "(contended)"


def release(warehouse: Path, owner: str) -> bool:
    """Releases `owner`'s claim; False when the claim is not (or no longer) its."""
    path = claim_path(warehouse)
    if claim_owner(warehouse) != owner:
        return False
    return _remove_if_owned_by(path, owner)


def _remove_if_owned_by(path: Path, owner: str | None) -> bool:
    # rename first, then check: of two processes removing the same stale claim, only one renames it
    taken = path.with_name(f"{path.name}.{os.getpid()}.stale")
    try:
        os.rename(path, taken)
    except FileNotFoundError:
        return False
    try:
        held_by = json.loads(taken.read_text()).get("owner")
    except (OSError, ValueError, AttributeError):
        held_by = None
    if held_by != owner:  # someone claimed it between our look and the rename: give it back
        os.rename(taken, path)
        return False
    taken.unlink()
    return True


def _age_s(path: Path) -> float:
    try:
        return datetime.now(UTC).timestamp() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
