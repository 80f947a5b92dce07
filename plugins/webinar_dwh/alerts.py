"""Notifications: failures and stale sources go to a webhook named by a connection.

The webhook is the ``host`` (full URL) of the connection ``DWH_ALERT_CONN_ID`` (default
``dwh_alerts``); its ``password``, if set, is sent as a bearer token. Slack/Teams/Mattermost
incoming webhooks accept the JSON body below (``text`` is the human line). Without that
connection alerts are only logged. Sending never raises: an alert must not mask the failure
it reports.
"""

from __future__ import annotations

import logging
from typing import Any

from webinar_dwh.config import ConfigError, PipelineSettings, get_connection
from webinar_dwh.notify import DeliveryError, post_json

log = logging.getLogger(__name__)


def alert_conn_id() -> str:
    """The webhook connection (``DWH_ALERT_CONN_ID``); the default when the settings are invalid,
    so that the alert about an invalid setting still goes out."""
    return PipelineSettings.for_parsing()[0].alert_conn_id


def redact(text: str) -> str:
    """``text`` with every secret Airflow knows of (connection passwords, ``DWH_PII_KEY``, …)
    replaced by ``***``; unchanged outside Airflow."""
    try:
        from airflow.sdk._shared.secrets_masker import redact as airflow_redact
    except ImportError:  # outside Airflow: nothing registered to mask
        return text
    return str(airflow_redact(text))


def build_alert(
    *,
    kind: str,
    dag_id: str,
    task_id: str | None,
    logical_date: str,
    reason: str,
    log_url: str | None = None,
) -> dict[str, Any]:
    """The alert body (also what is logged). ``reason`` is redacted: an alert never carries a secret."""
    reason = redact(reason)
    text = f"[{kind}] {dag_id}.{task_id or '-'} for {logical_date}: {reason}"
    if log_url:
        text += f" (log: {log_url})"
    return {
        "kind": kind,
        "dag_id": dag_id,
        "task_id": task_id,
        "logical_date": logical_date,
        "reason": reason[:2000],
        "log_url": log_url,
        "text": text[:2000],
    }


def send_alert(
    *,
    kind: str,
    dag_id: str,
    task_id: str | None,
    logical_date: str,
    reason: str,
    log_url: str | None = None,
) -> bool:
    """Send one alert; returns whether a webhook accepted it."""
    body = build_alert(
        kind=kind, dag_id=dag_id, task_id=task_id, logical_date=logical_date, reason=reason, log_url=log_url
    )
    log.warning("ALERT %s", body["text"])
    try:
        conn = get_connection(alert_conn_id())
    except ConfigError:
        log.info("no alert connection '%s' defined: alert logged only", alert_conn_id())
        return False
    try:
        post_json(conn, body)
    except DeliveryError as exc:
        log.error("alert not delivered: %s", exc)
        return False
    return True
