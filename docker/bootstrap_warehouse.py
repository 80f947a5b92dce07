"""One-shot warehouse set-up for docker compose (service ``airflow-init``); idempotent.

Creates/updates the roles ``dwh_owner`` and ``bi_reader`` (passwords from the environment),
the database-level grants and ``pgcrypto`` (:func:`bootstrap_roles`), then the schemas, raw and
meta tables and the PII key (:func:`ensure_schema`) — the same functions the local stack uses.

Environment:
    DWH_BOOTSTRAP_SUPERUSER_DSN: superuser URI of the warehouse database (only this service has it).
    DWH_OWNER_PASSWORD, DWH_BI_PASSWORD: role passwords (the same values the DSNs use).
    DWH_DATABASE: warehouse database name.
    DWH_PII_KEY: secret of the keyed e-mail hash (stored in ``meta.pii_key``).
"""

from __future__ import annotations

import os
import sys
import time

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from webinar_dwh.warehouse.bootstrap import bootstrap_roles, ensure_schema


def _require(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        sys.exit(f"{name} is not set (see .env.example)")
    return value


def main() -> int:
    superuser_dsn = _require("DWH_BOOTSTRAP_SUPERUSER_DSN")
    database = os.environ.get("DWH_DATABASE", "dwh")
    owner_password = _require("DWH_OWNER_PASSWORD")
    for attempt in range(30):  # PostgreSQL's healthcheck can pass a moment before it accepts logins
        try:
            with psycopg.connect(superuser_dsn, autocommit=True) as conn:
                bootstrap_roles(
                    conn,
                    owner_password=owner_password,
                    bi_password=_require("DWH_BI_PASSWORD"),
                    database=database,
                )
            break
        except psycopg.OperationalError:
            if attempt == 29:
                raise
            time.sleep(2)
    params = conninfo_to_dict(superuser_dsn)
    params.update(user="dwh_owner", password=owner_password, dbname=database)
    with psycopg.connect(make_conninfo(**params)) as conn:
        ensure_schema(conn, pii_key=_require("DWH_PII_KEY"))
        conn.commit()
    print(f"warehouse {database}: roles dwh_owner, bi_reader and schemas are ready")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
