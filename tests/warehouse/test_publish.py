"""Publish: the swap from marts_build into marts is atomic, bounded by a lock timeout, recorded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from wh_support import Warehouse

from webinar_dwh.warehouse.publish import PublicationResult, PublishError, publish_marts

pytestmark = pytest.mark.warehouse


MARTS = ("dim_webinars", "fct_registrations")
SUMMARY_VIEW = "create view marts_build.webinar_summary as select count(*) as n from marts_build.dim_webinars"


def build(dsn: str, version: str, rows: int, tables: tuple[str, ...] = MARTS) -> None:
    """What dbt does: (re)create the marts in marts_build, tagged with a version."""
    with psycopg.connect(dsn) as conn:
        for table in tables:
            ident = psycopg.sql.Identifier("marts_build", table)
            conn.execute(psycopg.sql.SQL("drop table if exists {}").format(ident))
            conn.execute(
                psycopg.sql.SQL("create table {} as select g as id, %s::text as version "
                                "from generate_series(1, %s) g").format(ident),
                (version, rows),
            )


def versions(conn: psycopg.Connection) -> dict[str, set[str]]:
    return {
        table: {v for (v,) in conn.execute(
            psycopg.sql.SQL("select distinct version from {}").format(psycopg.sql.Identifier("marts", table))
        )}
        for table in ("dim_webinars", "fct_registrations")
    }


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


@pytest.fixture
def v1(warehouse: Warehouse) -> Warehouse:
    """marts holds version v1 of two marts; marts_build is empty."""
    build(warehouse.owner_dsn, "v1", 3)
    with psycopg.connect(warehouse.owner_dsn) as conn:
        publish_marts(conn, dag_run_id="run-v1")
    return warehouse


def test_publish_moves_marts_grants_and_records(v1: Warehouse) -> None:
    build(v1.owner_dsn, "v2", 5)
    with psycopg.connect(v1.owner_dsn) as conn:
        result = publish_marts(conn, dag_run_id="run-v2")
        assert isinstance(result, PublicationResult)
        assert result.tables == ["dim_webinars", "fct_registrations"]
        assert result.row_counts == {"dim_webinars": 5, "fct_registrations": 5}
        assert versions(conn) == {"dim_webinars": {"v2"}, "fct_registrations": {"v2"}}
        assert conn.execute(
            "select count(*) from pg_class where relnamespace = 'marts_build'::regnamespace"
        ).fetchone() == (0,)
        pubs = conn.execute(
            "select dag_run_id, tables, row_counts from meta.publications order by publication_id"
        ).fetchall()
        assert pubs[-1] == ("run-v2", ["dim_webinars", "fct_registrations"],
                            {"dim_webinars": 5, "fct_registrations": 5})
        assert len(pubs) == 2
    with psycopg.connect(v1.bi_dsn) as conn:
        assert versions(conn) == {"dim_webinars": {"v2"}, "fct_registrations": {"v2"}}


def test_marts_stay_untouched_when_publish_is_not_called(v1: Warehouse) -> None:
    build(v1.owner_dsn, "v2-failed-checks", 9)  # GX failed: publish is skipped
    with psycopg.connect(v1.bi_dsn) as conn:
        assert versions(conn) == {"dim_webinars": {"v1"}, "fct_registrations": {"v1"}}
        assert conn.execute("select count(*) from marts.dim_webinars").fetchone() == (3,)


def test_reader_sees_old_complete_set_until_commit_then_new(v1: Warehouse) -> None:
    build(v1.owner_dsn, "v2", 4)
    outcome: dict[str, object] = {}

    def run_publish() -> None:
        try:
            with psycopg.connect(v1.owner_dsn, application_name="test_publish") as conn:
                outcome["result"] = publish_marts(conn, lock_timeout_s=10)
        except Exception as exc:  # reported to the main thread
            outcome["error"] = exc

    with psycopg.connect(v1.bi_dsn) as reader, psycopg.connect(v1.superuser_dsn, autocommit=True) as dba:
        reader.execute("set transaction isolation level repeatable read")
        first = reader.execute("select distinct version from marts.dim_webinars").fetchall()
        publisher = threading.Thread(target=run_publish)
        publisher.start()
        wait_until(lambda: dba.execute(
            "select count(*) from pg_stat_activity where application_name = 'test_publish' "
            "and wait_event_type = 'Lock'"
        ).fetchone() == (1,))
        # publish is now queued behind the reader's lock: the reader's view stays the old, whole set
        second = reader.execute("select distinct version from marts.fct_registrations").fetchall()
        assert first == second == [("v1",)]
        assert "result" not in outcome
        reader.commit()  # the BI query ends; publish proceeds
        publisher.join(10)
        assert "error" not in outcome, outcome.get("error")
        assert versions(reader) == {"dim_webinars": {"v2"}, "fct_registrations": {"v2"}}


def test_lock_timeout_fails_clearly_and_changes_nothing(v1: Warehouse) -> None:
    build(v1.owner_dsn, "v2", 4)
    with psycopg.connect(v1.bi_dsn) as reader, psycopg.connect(v1.owner_dsn) as conn:
        reader.execute("select count(*) from marts.fct_registrations")  # long BI transaction
        started = time.monotonic()
        with pytest.raises(PublishError, match=r"could not lock marts\..*within 0\.3s"):
            publish_marts(conn, lock_timeout_s=0.3)
        assert time.monotonic() - started < 5
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert versions(conn) == {"dim_webinars": {"v1"}, "fct_registrations": {"v1"}}
        assert conn.execute(
            "select count(*) from pg_class where relnamespace = 'marts_build'::regnamespace and relkind = 'r'"
        ).fetchone() == (2,)
        assert conn.execute("select count(*) from meta.publications").fetchone() == (1,)
        reader.rollback()
        conn.rollback()
        publish_marts(conn)  # the retry succeeds
        assert versions(conn) == {"dim_webinars": {"v2"}, "fct_registrations": {"v2"}}


def test_publishes_a_subset_and_keeps_other_marts(v1: Warehouse) -> None:
    build(v1.owner_dsn, "v2", 4)
    with psycopg.connect(v1.owner_dsn) as conn:
        publish_marts(conn, ["dim_webinars"])
        assert versions(conn) == {"dim_webinars": {"v2"}, "fct_registrations": {"v1"}}
        assert conn.execute("select to_regclass('marts_build.fct_registrations')").fetchone() != (None,)


def test_refuses_missing_or_nothing_to_publish(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.owner_dsn) as conn:
        with pytest.raises(PublishError, match="nothing to publish"):
            publish_marts(conn)
        with pytest.raises(PublishError, match="did dbt build them"):
            publish_marts(conn, ["dim_webinars"])


def test_views_and_dbt_leftovers(v1: Warehouse) -> None:
    build(v1.owner_dsn, "v2", 2)
    with psycopg.connect(v1.owner_dsn) as conn:
        conn.execute(SUMMARY_VIEW)
        conn.execute("create table marts_build.dim_webinars__dbt_tmp (x int)")
        conn.commit()
        result = publish_marts(conn)
        assert result.tables == ["dim_webinars", "fct_registrations", "webinar_summary"]
        assert result.row_counts["webinar_summary"] is None
        assert conn.execute("select to_regclass('marts_build.dim_webinars__dbt_tmp')").fetchone() != (None,)
        # republishing replaces the view too (dropped before the table it reads)
        conn.execute("drop table marts_build.dim_webinars__dbt_tmp")
        conn.commit()
        build(v1.owner_dsn, "v3", 7)
        with psycopg.connect(v1.owner_dsn) as builder:
            builder.execute(SUMMARY_VIEW)
        publish_marts(conn)
    with psycopg.connect(v1.bi_dsn) as bi:
        assert bi.execute("select n from marts.webinar_summary").fetchone() == (7,)


def test_refuses_when_an_unpublished_object_depends_on_a_replaced_mart(v1: Warehouse) -> None:
    with psycopg.connect(v1.owner_dsn) as conn:
        conn.execute("create view marts.hand_made as select * from marts.dim_webinars")
        conn.commit()
        build(v1.owner_dsn, "v2", 4)
        with pytest.raises(PublishError, match="depend"):
            publish_marts(conn)
        assert versions(conn) == {"dim_webinars": {"v1"}, "fct_registrations": {"v1"}}
