"""Helpers shared by the warehouse tests (a uniquely named module: several test folders have a conftest)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import conninfo

from webinar_dwh.warehouse.bootstrap import BI_ROLE, CRM_ROLE, OWNER_ROLE, bootstrap_roles, ensure_schema

# The local test cluster uses trust authentication: passwords are set (and must be accepted)
# but not verified by the server; privileges are still enforced per role.
OWNER_PASSWORD = "owner-test-password"
BI_PASSWORD = "bi-test-password"
CRM_PASSWORD = "crm-test-password"
PII_KEY = "test-pii-key-0123456789abcdef"


@dataclass(frozen=True)
class Warehouse:
    """DSNs of one bootstrapped test database."""

    superuser_dsn: str
    owner_dsn: str
    bi_dsn: str
    database: str
    crm_dsn: str = ""


def dsn_as(dsn: str, user: str, password: str | None = None) -> str:
    """``dsn`` with another user (and password)."""
    params = conninfo.conninfo_to_dict(dsn)
    params["user"] = user
    if password is not None:
        params["password"] = password
    else:
        params.pop("password", None)
    return conninfo.make_conninfo(**params)


def bootstrap(superuser_dsn: str) -> Warehouse:
    """Run bootstrap_roles (superuser) and ensure_schema (owner) on ``superuser_dsn``'s database."""
    database = conninfo.conninfo_to_dict(superuser_dsn)["dbname"]
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        bootstrap_roles(
            conn,
            owner_password=OWNER_PASSWORD,
            bi_password=BI_PASSWORD,
            crm_password=CRM_PASSWORD,
            database=database,
        )
    owner_dsn = dsn_as(superuser_dsn, OWNER_ROLE, OWNER_PASSWORD)
    with psycopg.connect(owner_dsn) as conn:
        ensure_schema(conn, pii_key=PII_KEY)
    return Warehouse(
        superuser_dsn=superuser_dsn,
        owner_dsn=owner_dsn,
        bi_dsn=dsn_as(superuser_dsn, BI_ROLE, BI_PASSWORD),
        database=database,
        crm_dsn=dsn_as(superuser_dsn, CRM_ROLE, CRM_PASSWORD),
    )


