"""Airflow connection env values that point the pipeline at a running sandbox.

The JSON connection form of docs/design.md §"Connections and settings"::

    env = airflow_conn_env(server)   # {"AIRFLOW_CONN_BIGMARKER_DEFAULT": '{"conn_type": "http", ...}', ...}
    os.environ.update(env)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.server import SandboxServer


DBT_SEED_ENV: dict[str, str] = {"DWH_DBT_SEED_DIR": "sandbox_seeds"}
"""Points dbt at the catalog seed of the sandbox's webinars (``dbt_project/sandbox_seeds``) instead
of the project's example seed (``dbt_project/seeds``): every deployment on the sandbox (demo,
tests, bench) sets it. Inside the project on purpose: Cosmos runs each dbt task in a copy of the
project, and dbt writes a seed's run SQL under target/ by its path (an absolute path would make
it overwrite the CSV itself)."""


def airflow_conn_env(server: SandboxServer) -> dict[str, str]:
    """``AIRFLOW_CONN_{BIGMARKER,CALENDLY,ZOOM}_DEFAULT`` values for ``server`` (must be started)."""
    urls, creds = server.urls, server.config.credentials
    conns = {
        "AIRFLOW_CONN_BIGMARKER_DEFAULT": {
            "conn_type": "http",
            "host": urls["bigmarker"],
            "password": creds.bigmarker_api_key,
        },
        "AIRFLOW_CONN_CALENDLY_DEFAULT": {
            "conn_type": "http",
            "host": urls["calendly"],
            "password": creds.calendly_token,
        },
        "AIRFLOW_CONN_ZOOM_DEFAULT": {
            "conn_type": "http",
            "host": urls["zoom"],
            "login": creds.zoom_client_id,
            "password": creds.zoom_client_secret,
            "extra": {"account_id": creds.zoom_account_id, "oauth_url": urls["zoom_oauth"], "user_id": "me"},
        },
    }
    return {name: json.dumps(value) for name, value in conns.items()}
