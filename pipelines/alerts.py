"""Telling people a nightly task failed for good (its retries spent): a log line always, and a JSON POST to a
webhook when the Airflow connection `msdb_alerts` exists (an `http` or `https` connection: host, port, and the
path as its schema; or the whole URL in its extra as `{"url": ...}`).

The webhook's address is a connection, never a file of the repo: `AIRFLOW_CONN_MSDB_ALERTS=http://host:port/path`
or `airflow connections add msdb_alerts --conn-uri ...`. A webhook that fails is logged, never raised: the task
has already failed, and the alert must not hide why.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

log = logging.getLogger(__name__)

ALERTS_CONN_ID = "msdb_alerts"
WEBHOOK_TIMEOUT_S = 10


def failure_alert(context: dict[str, Any]) -> dict[str, Any]:
    """What the alert says, from an Airflow task context: which task of which run, which try, and the error."""
    ti = context.get("ti") or context.get("task_instance")
    run = context.get("dag_run")
    logical_date = getattr(run, "logical_date", None)
    exception = context.get("exception")
    return {
        "dag_id": getattr(ti, "dag_id", None),
        "run_id": getattr(ti, "run_id", None) or getattr(run, "run_id", None),
        "task_id": getattr(ti, "task_id", None),
        "map_index": getattr(ti, "map_index", -1),
        "try_number": getattr(ti, "try_number", None),
        "logical_date": logical_date.isoformat() if logical_date else None,
        "error": f"{type(exception).__name__}: {exception}" if exception else None,
    }


def webhook_url(conn) -> str:
    """The URL of the alerts connection: its extra's `url`, else scheme://host[:port]/schema."""
    extra = conn.extra_dejson or {}
    if extra.get("url"):
        return extra["url"]
    scheme = conn.conn_type if conn.conn_type in ("http", "https") else "http"
    port = f":{conn.port}" if conn.port else ""
    path = (conn.schema or "").lstrip("/")
    return f"{scheme}://{conn.host}{port}/{path}"


def post_alert(url: str, alert: dict[str, Any], timeout: float = WEBHOOK_TIMEOUT_S) -> int:
    """POSTs the alert as JSON; returns the HTTP status."""
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": _text(alert), "alert": alert}, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the URL is the operator's)
        return response.status


def _text(alert: dict[str, Any]) -> str:
    task = alert["task_id"] if alert["map_index"] in (-1, None) else f"{alert['task_id']}[{alert['map_index']}]"
    return f"MSDB {alert['dag_id']}.{task} failed (run {alert['run_id']}, try {alert['try_number']}): {alert['error']}"


def _alerts_connection():
    """The `msdb_alerts` connection, or None when it is not configured."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException, AirflowRuntimeError

    try:
        return Connection.get(ALERTS_CONN_ID)
    except (AirflowNotFoundException, AirflowRuntimeError) as exc:
        log.debug("no %s connection: %s", ALERTS_CONN_ID, exc)
        return None


def on_task_failure(context: dict[str, Any]) -> None:
    """Airflow's `on_failure_callback` for every nightly task."""
    alert = failure_alert(context)
    log.error("%s", _text(alert))
    conn = _alerts_connection()
    if conn is None:
        return
    url = webhook_url(conn)
    try:
        status = post_alert(url, alert)
    except Exception as exc:  # noqa: BLE001 (the alert must never mask the task's own failure)
        log.error("alert webhook %s failed: %s: %s", url, type(exc).__name__, exc)
        return
    log.info("alert posted to the %s webhook (HTTP %s)", ALERTS_CONN_ID, status)
