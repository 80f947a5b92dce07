"""One-shot warehouse set-up for docker compose (service ``airflow-init``); idempotent.

Creates/updates the roles ``dwh_owner`` and ``bi_reader`` (passwords from the environment),
the database-level grants and ``pgcrypto`` (:func:`bootstrap_roles`), then the schemas, raw and
meta tables and the PII key (:func:`ensure_schema`) — the same functions the local stack uses.

``--check-settings`` only checks the environment and exits: ``airflow-init`` runs it before
anything else, so a deployment whose ``.env`` still holds a ``CHANGE_ME`` placeholder (or
misses a secret) stops at once with a message naming the variables — and every other service,
which waits for ``airflow-init`` to complete, never starts with a placeholder for a password.

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
from collections.abc import Mapping

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from webinar_dwh.warehouse.bootstrap import bootstrap_roles, ensure_schema

#: The placeholder .env.example puts where a secret belongs.
PLACEHOLDER = "CHANGE_ME"

#: Secrets airflow-init needs itself; every other variable is checked for placeholders only.
REQUIRED = (
    "DWH_BOOTSTRAP_SUPERUSER_DSN",
    "DWH_OWNER_PASSWORD",
    "DWH_BI_PASSWORD",
    "DWH_PII_KEY",
    "AIRFLOW_ADMIN_PASSWORD",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
)


def settings_problems(env: Mapping[str, str]) -> list[str]:
    """What is wrong with the deployment's environment, one line per problem (no values shown).

    A required secret that is missing or empty, and any variable whose value still contains
    :data:`PLACEHOLDER` (a password, a key, a connection's JSON or a DSN built from one).
    """
    problems = [f"{name} is not set" for name in REQUIRED if not env.get(name, "").strip()]
    problems += [
        f"{name} still contains the placeholder {PLACEHOLDER}"
        for name in sorted(env)
        if PLACEHOLDER in env[name]
    ]
    return problems


def check_settings(env: Mapping[str, str]) -> None:
    """Exit with one clear message when :func:`settings_problems` finds anything."""
    problems = settings_problems(env)
    if problems:
        sys.exit(
            "Refusing to set up the deployment: "
            + "; ".join(problems)
            + ". Put real values into .env (generate secrets as .env.example shows) and run "
            "`docker compose up -d` again."
        )


def _require(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        sys.exit(f"{name} is not set (see .env.example)")
    if PLACEHOLDER in value:
        sys.exit(f"{name} still contains the placeholder {PLACEHOLDER}: set a real value in .env")
    return value


def main(argv: list[str] | None = None) -> int:
    check_settings(os.environ)
    if (argv if argv is not None else sys.argv[1:]) == ["--check-settings"]:
        print("deployment settings: no placeholder left, every secret set")
        return 0
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
                    crm_password=os.environ.get("DWH_CRM_PASSWORD") or None,
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
