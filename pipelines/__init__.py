"""MSDB pipeline: one subpackage per stage of the nightly run.

ingest → build (dbt) → check (quality gate) → tag (kansei) → similar → export.
Every stage is a plain function taking a settings object and a logical date, so that the same code runs
under Airflow (`dags/msdb_nightly.py`) and from the shell (`msdb run`).
"""

__version__ = "0.1.0"
