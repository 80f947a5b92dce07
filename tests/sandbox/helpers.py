"""Helpers shared by the sandbox tests (credentials, a Zoom token, an independent contract check)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests

from sandbox.faults import MALFORM_FIELDS

BM_KEY = {"API-KEY": "sandbox-bigmarker-key"}
CAL_AUTH = {"Authorization": "Bearer sandbox-calendly-token"}


def zoom_token(http: requests.Session, server: Any) -> dict[str, str]:
    """Bearer header from the sandbox's Zoom OAuth endpoint."""
    resp = http.post(
        server.urls["zoom_oauth"],
        params={"grant_type": "account_credentials", "account_id": "sandbox-account"},
        auth=("sandbox-zoom-client", "sandbox-zoom-secret"),
    )
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def intact(record: dict[str, Any], entity: str) -> bool:
    """What a pipeline's contract check would accept: key present and scalar, timestamp parsable."""
    key_field, ts_field = MALFORM_FIELDS[entity]
    if record.get(key_field) is None or isinstance(record[key_field], dict | list):
        return False
    try:
        datetime.fromisoformat(str(record.get(ts_field)).replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
