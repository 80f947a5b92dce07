"""Notifications: failures and stale sources go to a webhook named by a connection.

The webhook is the ``host`` (full URL) of the connection ``DWH_ALERT_CONN_ID`` (default
``dwh_alerts``); its ``password``, if set, is sent as a bearer token. Slack/Teams/Mattermost
incoming webhooks accept the JSON body below (``text`` is the human line). Without that
connection alerts are only logged. Sending never raises: an alert must not mask the failure
it reports.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from webinar_dwh.config import ConfigError, get_connection

log = logging.getLogger(__name__)


def alert_conn_id() -> str:
    return os.environ.get("DWH_ALERT_CONN_ID", "dwh_alerts")


def build_alert(
    *, kind: str, dag_id: str, task_id: str | None, logical_date: str, reason: str
) -> dict[str, Any]:
    """The alert body (also what is logged)."""
    text = f"[{kind}] {dag_id}.{task_id or '-'} for {logical_date}: {reason}"
    return {
        "kind": kind,
        "dag_id": dag_id,
        "task_id": task_id,
        "logical_date": logical_date,
        "reason": reason[:2000],
        "text": text[:2000],
    }


def send_alert(*, kind: str, dag_id: str, task_id: str | None, logical_date: str, reason: str) -> bool:
    """Send one alert; returns whether a webhook accepted it."""
    import requests

    body = build_alert(kind=kind, dag_id=dag_id, task_id=task_id, logical_date=logical_date, reason=reason)
    log.warning("ALERT %s", body["text"])
    try:
        conn = get_connection(alert_conn_id())
    except ConfigError:
        log.info("no alert connection '%s' defined: alert logged only", alert_conn_id())
        return False
    if not conn.host:
        log.warning("alert connection '%s' has no host (webhook URL)", alert_conn_id())
        return False
    url = conn.host if "://" in conn.host else f"https://{conn.host}"
    headers = {"Content-Type": "application/json"}
    if conn.password:
        headers["Authorization"] = f"Bearer {conn.password}"
    try:
        resp = requests.post(url, data=json.dumps(body), headers=headers, timeout=10)
    except requests.RequestException as exc:
        log.error("alert webhook unreachable (%s)", type(exc).__name__)
        return False
    if resp.status_code >= 300:
        log.error("alert webhook answered HTTP %s", resp.status_code)
        return False
    return True
