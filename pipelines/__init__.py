"""MSDB pipeline: one subpackage per stage of the nightly run.

ingest → build (dbt) → check (quality gate) → tag (kansei) → similar → export.
Every stage is a plain function taking a settings object and a logical date, so that the same code runs
under Airflow (`dags/msdb_nightly.py`) and from the shell (`msdb run`).
"""

__version__ = "0.1.0"


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the system tells it, else every core."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
