"""Publish: the swap from marts_build into marts is atomic, bounded by a lock timeout, recorded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from wh_support import Warehouse

from webinar_dwh.warehouse.publish import PiiExposureError, PublicationResult, PublishError, publish_marts

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
                psycopg.sql.SQL(
                    "create table {} as select g as id, %s::text as version from generate_series(1, %s) g"
                ).format(ident),
                (version, rows),
            )


def versions(
    conn: psycopg.Connection, schema: str = "marts", tables: tuple[str, ...] = MARTS
) -> dict[str, set[str]]:
    """The build versions each mart of ``schema`` holds."""
    return {
        table: {
            v
            for (v,) in conn.execute(
                psycopg.sql.SQL("select distinct version from {}").format(
                    psycopg.sql.Identifier(schema, table)
                )
            )
        }
        for table in tables
    }


def snapshot(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    """Both schemas (and the swap's scratch schema) as dbt and BI see them: every relation
    (tables, views, indexes, types' tables) with its oid, ACL and contents."""
    rels = conn.execute(
        "select n.nspname, c.relname, c.oid, c.relkind::text, coalesce(c.relacl::text, '') "
        "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname in ('marts', 'marts_build', 'marts_publish_swap') order by 1, 2"
    ).fetchall()
    contents = [
        conn.execute(
            psycopg.sql.SQL("select string_agg(t::text, ',' order by t::text) from {} as t").format(
                psycopg.sql.Identifier(schema, name)
            )
        ).fetchone()
        for schema, name, _, kind, _ in rels
        if kind in ("r", "v", "m")
    ]
    return [*rels, *contents]


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


def test_first_publish_moves_the_marts(v1: Warehouse) -> None:
    with psycopg.connect(v1.owner_dsn) as conn:
        assert versions(conn) == {"dim_webinars": {"v1"}, "fct_registrations": {"v1"}}
        assert conn.execute(
            "select count(*) from pg_class where relnamespace = 'marts_build'::regnamespace"
        ).fetchone() == (0,)


def test_first_publish_of_an_incremental_mart_leaves_its_base_behind(warehouse: Warehouse) -> None:
    # An incremental mart (with _watermark) builds on its table in marts_build; the first
    # publication has no old version to swap back, so it leaves a copy (comment included).
    build(warehouse.owner_dsn, "v1", 3)
    with psycopg.connect(warehouse.owner_dsn, autocommit=True) as conn:
        conn.execute(
            "alter table marts_build.fct_registrations add column _watermark timestamptz default now()"
        )
        conn.execute("create index on marts_build.fct_registrations (_watermark)")
        conn.execute("""comment on table marts_build.fct_registrations is '{"as_of": "2026-11-24"}'""")
        publish_marts(conn, dag_run_id="run-v1")

        assert versions(conn, "marts_build", ("fct_registrations",)) == {"fct_registrations": {"v1"}}
        assert conn.execute(
            "select obj_description('marts_build.fct_registrations'::regclass, 'pg_class'), "
            "(select count(*) from pg_indexes where schemaname = 'marts_build'), "
            "has_table_privilege('bi_reader', 'marts_build.fct_registrations', 'select')"
        ).fetchone() == ('{"as_of": "2026-11-24"}', 1, False)
        assert not conn.execute("select to_regclass('marts_build.dim_webinars')").fetchone()[0]


def test_publish_swaps_old_versions_back_into_the_build_schema_grants_and_records(v1: Warehouse) -> None:
    build(v1.owner_dsn, "v2", 5)
    with psycopg.connect(v1.owner_dsn) as conn:
        result = publish_marts(conn, dag_run_id="run-v2")
        assert isinstance(result, PublicationResult)
        assert result.tables == ["dim_webinars", "fct_registrations"]
        assert result.row_counts == {"dim_webinars": 5, "fct_registrations": 5}
        assert versions(conn) == {"dim_webinars": {"v2"}, "fct_registrations": {"v2"}}
        # the 1st build is the base dbt's incremental models build on next time
        assert versions(conn, "marts_build") == {"dim_webinars": {"v1"}, "fct_registrations": {"v1"}}
        assert conn.execute("select to_regnamespace('marts_publish_swap')").fetchone() == (None,)
        pubs = conn.execute(
            "select dag_run_id, tables, row_counts from meta.publications order by publication_id"
        ).fetchall()
        assert pubs[-1] == (
            "run-v2",
            ["dim_webinars", "fct_registrations"],
            {"dim_webinars": 5, "fct_registrations": 5},
        )
        assert len(pubs) == 2
        # what marts granted does not follow the old versions into the private schema
        acl = conn.execute(
            "select c.relname, has_table_privilege('bi_reader', c.oid, 'select') from pg_class c "
            "where c.relnamespace = 'marts_build'::regnamespace order by 1"
        ).fetchall()
        assert acl == [("dim_webinars", False), ("fct_registrations", False)]
    with psycopg.connect(v1.bi_dsn) as conn:
        assert versions(conn) == {"dim_webinars": {"v2"}, "fct_registrations": {"v2"}}


def test_identically_named_indexes_and_constraints_swap_and_keep_their_names(v1: Warehouse) -> None:
    """dbt names a mart's indexes the same on every build: the swap must not clash on them."""

    def build_indexed(version: str, rows: int) -> None:
        build(v1.owner_dsn, version, rows, tables=("fct_registrations",))
        with psycopg.connect(v1.owner_dsn) as conn:
            conn.execute("create index fct_by_version on marts_build.fct_registrations (version)")
            conn.execute("alter table marts_build.fct_registrations add constraint fct_pk primary key (id)")

    def indexes(conn: psycopg.Connection) -> set[tuple[str, str]]:
        query = "select schemaname, indexname from pg_indexes where tablename = 'fct_registrations'"
        return set(conn.execute(query).fetchall())

    def version(conn: psycopg.Connection, schema: str) -> set[str]:
        return versions(conn, schema, tables=("fct_registrations",))["fct_registrations"]

    build_indexed("v2", 4)
    with psycopg.connect(v1.owner_dsn) as conn:
        publish_marts(conn, ["fct_registrations"])
        conn.commit()
        build_indexed("v3", 6)  # over the index-less v1 that came back: dbt rebuilds the table
        publish_marts(conn, ["fct_registrations"])
        assert (version(conn, "marts"), version(conn, "marts_build")) == ({"v3"}, {"v2"})
        assert indexes(conn) == {
            ("marts", "fct_by_version"),
            ("marts", "fct_pk"),
            ("marts_build", "fct_by_version"),
            ("marts_build", "fct_pk"),
        }
        assert conn.execute(
            "select connamespace::regnamespace::text, conrelid = (connamespace::regnamespace::text "
            "|| '.fct_registrations')::regclass from pg_constraint where conname = 'fct_pk' order by 1"
        ).fetchall() == [("marts", True), ("marts_build", True)]
        # and back again: the indexes of both versions still bear the same names
        conn.commit()
        publish_marts(conn, ["fct_registrations"])
        assert (version(conn, "marts"), version(conn, "marts_build")) == ({"v2"}, {"v3"})
        assert indexes(conn) == {
            (s, i) for s in ("marts", "marts_build") for i in ("fct_by_version", "fct_pk")
        }


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
        wait_until(
            lambda: (
                dba.execute(
                    "select count(*) from pg_stat_activity where application_name = 'test_publish' "
                    "and wait_event_type = 'Lock'"
                ).fetchone()
                == (1,)
            )
        )
        # publish is now queued behind the reader's lock: the reader's view stays the old, whole set
        second = reader.execute("select distinct version from marts.fct_registrations").fetchall()
        assert first == second == [("v1",)]
        assert "result" not in outcome
        reader.commit()  # the BI query ends; publish proceeds
        publisher.join(10)
        assert "error" not in outcome, outcome.get("error")
        assert versions(reader) == {"dim_webinars": {"v2"}, "fct_registrations": {"v2"}}


@pytest.fixture
def v2(v1: Warehouse) -> Warehouse:
    """marts holds v2, marts_build the v1 that publishing v2 swapped back."""
    build(v1.owner_dsn, "v2", 4)
    with psycopg.connect(v1.owner_dsn) as conn:
        publish_marts(conn, dag_run_id="run-v2")
    return v1


def test_lock_timeout_fails_clearly_and_changes_nothing(v2: Warehouse) -> None:
    build(v2.owner_dsn, "v3", 5)
    with psycopg.connect(v2.bi_dsn) as reader, psycopg.connect(v2.owner_dsn) as conn:
        before = snapshot(conn)
        conn.rollback()
        reader.execute("select count(*) from marts.fct_registrations")  # long BI transaction
        # without the lock timeout, publish would wait for the BI transaction and this test hang
        with pytest.raises(PublishError, match=r"could not lock marts\..*within 0\.3s"):
            publish_marts(conn, lock_timeout_s=0.3)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert snapshot(conn) == before
        assert conn.execute("select count(*) from meta.publications").fetchone() == (2,)
        reader.rollback()
        conn.rollback()
        publish_marts(conn)  # the retry succeeds
        assert versions(conn) == {"dim_webinars": {"v3"}, "fct_registrations": {"v3"}}
        assert versions(conn, "marts_build") == {"dim_webinars": {"v2"}, "fct_registrations": {"v2"}}


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


def test_refuses_when_an_unpublished_object_depends_on_a_replaced_mart(v2: Warehouse) -> None:
    build(v2.owner_dsn, "v3", 5)
    with psycopg.connect(v2.owner_dsn) as conn:
        # it would keep reading the old version, which moves to marts_build
        conn.execute("create view marts.hand_made as select * from marts.dim_webinars")
        conn.commit()
        before = snapshot(conn)
        conn.rollback()
        with pytest.raises(
            PublishError, match=r"marts\.dim_webinars: other objects depend on it \(.*hand_made"
        ):
            publish_marts(conn)
        assert snapshot(conn) == before


def test_refuses_clear_email_and_changes_nothing(v2: Warehouse) -> None:
    build(v2.owner_dsn, "v3", 5)
    with psycopg.connect(v2.owner_dsn) as conn:
        conn.execute("alter table marts_build.fct_registrations add column contact text")
        conn.execute("update marts_build.fct_registrations set contact = 'ann@example.com' where id = 3")
        conn.commit()
        before = snapshot(conn)
        conn.rollback()
        with pytest.raises(PiiExposureError, match=r"fct_registrations\.contact: holds values shaped like"):
            publish_marts(conn)
        assert snapshot(conn) == before


def test_a_name_clash_with_an_unpublished_relation_fails_and_changes_nothing(v2: Warehouse) -> None:
    build(v2.owner_dsn, "v3", 5)
    with psycopg.connect(v2.owner_dsn) as conn:
        conn.execute("create table marts.lookup (id int)")
        conn.execute("create index fct_by_version on marts.lookup (id)")
        conn.execute("create index fct_by_version on marts_build.fct_registrations (version)")
        conn.commit()
        before = snapshot(conn)
        conn.rollback()
        with pytest.raises(
            PublishError,
            match=r'cannot move marts_build\.fct_registrations into marts: relation "fct_by_version" already',
        ):
            publish_marts(conn)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert snapshot(conn) == before
