"""Connect helpers: DSN or Airflow-style connection, application_name, timeouts, no leaked password."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg import conninfo
from wh_support import OWNER_PASSWORD, Warehouse

from webinar_dwh.warehouse.db import connect, conninfo_params, describe, sqlalchemy_url

pytestmark = pytest.mark.warehouse


@dataclass
class FakeAirflowConnection:
    """The fields of an Airflow Connection that connect() reads."""

    host: str | None
    port: int | None
    login: str | None
    password: str | None = field(repr=False)
    schema: str | None
    extra_dejson: dict[str, Any] = field(default_factory=dict)


def as_connection(dsn: str) -> FakeAirflowConnection:
    p = conninfo.conninfo_to_dict(dsn)
    return FakeAirflowConnection(
        host=p["host"], port=int(p["port"]), login=p["user"], password=p.get("password"),
        schema=p["dbname"], extra_dejson={"sslmode": "disable", "unrelated": "x"},
    )


def test_connect_from_dsn_sets_application_name_and_timeouts(warehouse: Warehouse) -> None:
    with connect(warehouse.owner_dsn, application_name="landing_test", statement_timeout_s=1.5,
                 lock_timeout_s=0.25) as conn:
        row = conn.execute(
            "select current_setting('application_name'), current_setting('statement_timeout'), "
            "current_setting('lock_timeout'), current_user"
        ).fetchone()
        assert row == ("landing_test", "1500ms", "250ms", "dwh_owner")
        assert not conn.autocommit


def test_statement_timeout_is_enforced(warehouse: Warehouse) -> None:
    with connect(warehouse.owner_dsn, statement_timeout_s=0.1) as conn, pytest.raises(
        psycopg.errors.QueryCanceled
    ):
        conn.execute("select pg_sleep(2)")


def test_connect_from_an_airflow_style_connection(warehouse: Warehouse) -> None:
    with connect(as_connection(warehouse.owner_dsn), autocommit=True) as conn:
        assert conn.execute("select current_user, current_database()").fetchone() == (
            "dwh_owner", warehouse.database,
        )
        assert conn.autocommit


def test_unrelated_extras_are_not_passed_to_libpq(warehouse: Warehouse) -> None:
    params = conninfo_params(as_connection(warehouse.owner_dsn))
    assert params["sslmode"] == "disable" and "unrelated" not in params
    assert params["dbname"] == warehouse.database and params["password"] == OWNER_PASSWORD


def test_describe_and_errors_never_show_the_password() -> None:
    secret = "s3cr3t-p@ss word"
    conn = FakeAirflowConnection("db.example", 5432, "dwh_owner", secret, "dwh")
    assert describe(conn) == "dwh_owner@db.example:5432/dwh"
    assert secret not in repr(conn)
    with pytest.raises(ValueError) as info:
        conninfo_params("host=x password=s3cr3t tail-without-equals")
    assert "s3cr3t" not in str(info.value) and "tail" not in str(info.value)
    assert describe("host=x password=s3cr3t broken") == "<unparsable DSN>"


def test_sqlalchemy_url_quotes_credentials() -> None:
    conn = FakeAirflowConnection("db.example", 5433, "dwh owner", "p@ss:/word", "dwh", {"sslmode": "require"})
    assert sqlalchemy_url(conn) == "postgresql+psycopg://dwh%20owner:p%40ss%3A%2Fword@db.example:5433/dwh?sslmode=require"
    from sqlalchemy.engine import make_url

    url = make_url(sqlalchemy_url(conn))
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "dwh owner", "p@ss:/word", "db.example", 5433, "dwh",
    )


def test_sqlalchemy_url_connects(warehouse: Warehouse) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(sqlalchemy_url(warehouse.owner_dsn))
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("select current_user")).scalar() == "dwh_owner"
    finally:
        engine.dispose()
