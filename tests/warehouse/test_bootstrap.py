"""Bootstrap: roles, schemas, raw/meta tables and privileges, idempotently."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors, sql
from wh_support import BI_PASSWORD, OWNER_PASSWORD, PII_KEY, Warehouse, bootstrap, dsn_as

from webinar_dwh.warehouse.bootstrap import (
    BI_ROLE,
    OWNER_ROLE,
    QUARANTINE_COLUMNS,
    RAW_CHILD_TABLES,
    RAW_COLUMNS,
    RAW_TABLES,
    SCHEMAS,
    BootstrapError,
    bootstrap_roles,
    ensure_schema,
)

pytestmark = pytest.mark.warehouse


def _snapshot(dsn: str) -> list[tuple]:
    """Schemas, relations, columns, ACLs and default ACLs: what bootstrap is responsible for."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            """
            select 'rel', n.nspname || '.' || c.relname, c.relkind::text,
                   pg_get_userbyid(c.relowner), coalesce(c.relacl::text, '')
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = any(%(s)s)
            union all
            select 'schema', nspname, '', pg_get_userbyid(nspowner), coalesce(nspacl::text, '')
            from pg_namespace where nspname = any(%(s)s)
            union all
            select 'default_acl', coalesce(defaclnamespace::regnamespace::text, ''), defaclobjtype::text,
                   pg_get_userbyid(defaclrole), defaclacl::text
            from pg_default_acl
            order by 1, 2
            """,
            {"s": list(SCHEMAS)},
        ).fetchall()


def test_bootstrap_is_idempotent(warehouse: Warehouse) -> None:
    before = _snapshot(warehouse.superuser_dsn)
    bootstrap(warehouse.superuser_dsn)  # the second morning
    assert _snapshot(warehouse.superuser_dsn) == before


def test_every_raw_table_has_the_contract_columns_and_owner(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.owner_dsn) as conn:
        for table in RAW_TABLES.values():
            cols = conn.execute(
                "select attname, format_type(atttypid, atttypmod) from pg_attribute "
                "where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum",
                (f"raw.{table}",),
            ).fetchall()
            assert cols == [(c.name, c.type) for c in RAW_COLUMNS], table
        owners = conn.execute(
            "select distinct pg_get_userbyid(nspowner) from pg_namespace where nspname = any(%s)",
            (list(SCHEMAS),),
        ).fetchall()
        assert owners == [(OWNER_ROLE,)]
        quarantine = conn.execute(
            "select attname, format_type(atttypid, atttypmod) from pg_attribute "
            "where attrelid = 'raw.quarantine'::regclass and attnum > 0 and not attisdropped order by attnum"
        ).fetchall()
        assert quarantine == [(c.name, c.type) for c in QUARANTINE_COLUMNS]


def _raw_indexes(conn: psycopg.Connection) -> dict[str, set[tuple[str, str]]]:
    """``table -> {(index name, "method (columns)")}`` of schema raw."""
    rows = conn.execute(
        "select tablename, indexname, substring(indexdef from ' USING (.*)$') "
        "from pg_indexes where schemaname = 'raw'"
    ).fetchall()
    found: dict[str, set[tuple[str, str]]] = {}
    for table, index, definition in rows:
        found.setdefault(table, set()).add((index, definition))
    return found


def test_raw_tables_have_the_read_indexes_and_no_redundant_ones(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.owner_dsn) as conn:
        found = _raw_indexes(conn)
    for table in RAW_TABLES.values():
        expected = {
            (f"{table}__record_key_idx", "btree (_record_key, _loaded_at, _batch_id, _row_seq)"),
            (f"{table}__loaded_at_idx", "btree (_loaded_at)"),
        }
        if table in RAW_CHILD_TABLES:
            expected.add(
                (
                    f"{table}_parent_key_idx",
                    "btree (_parent_key, _record_key, _loaded_at, _batch_id, _row_seq)",
                )
            )
        assert found[table] == expected, table
    assert set(RAW_CHILD_TABLES) == {
        "bigmarker_registrations",
        "bigmarker_attendees",
        "bigmarker_on_demand_attendees",
        "zoom_participants",
        "zoom_registrants",
        "zoom_webinar_instances",
        "calendly_invitees",
    }


def test_an_older_warehouse_gets_the_new_indexes_once(warehouse: Warehouse) -> None:
    """A warehouse bootstrapped before (BRIN on _loaded_at, parent index from dbt's former
    ``raw_parent_indexes`` hook) ends with the same indexes as a new one, no duplicates."""
    with psycopg.connect(warehouse.owner_dsn) as conn:
        expected = _raw_indexes(conn)
        conn.execute("drop index raw.bigmarker_conferences__loaded_at_idx")
        conn.execute(
            "create index bigmarker_conferences__loaded_at_brin "
            "on raw.bigmarker_conferences using brin (_loaded_at)"
        )
        conn.execute("drop index raw.bigmarker_attendees_parent_key_idx")
        conn.execute("drop index raw.zoom_participants_parent_key_idx")
        # what the hook created (same name, same columns)
        conn.execute(
            "create index bigmarker_attendees_parent_key_idx "
            "on raw.bigmarker_attendees (_parent_key, _record_key, _loaded_at, _batch_id, _row_seq)"
        )
        conn.commit()
        ensure_schema(conn, pii_key=None)
        assert _raw_indexes(conn) == expected


def test_watermark_and_changed_rows_queries_use_the_loaded_at_index(warehouse: Warehouse) -> None:
    """What every incremental dbt build asks each raw table must not read the whole table."""
    with psycopg.connect(warehouse.owner_dsn) as conn:
        conn.execute(
            "insert into raw.zoom_participants (_batch_id, _row_seq, _record_key, _parent_key, "
            "_extracted_at, _loaded_at, _dag_run_id, _logical_date, payload) "
            "select gen_random_uuid(), g, 'k' || g, 'p' || (g % 500), now(), "
            "timestamptz '2026-01-01' + make_interval(secs => g), 'manual__test', current_date, '{}' "
            "from generate_series(1, 50000) as g"
        )
        conn.execute("analyze raw.zoom_participants")
        plans = {
            query: "\n".join(row[0] for row in conn.execute("explain " + query))
            for query in (
                "select max(_loaded_at) from raw.zoom_participants",
                "select _parent_key from raw.zoom_participants where _loaded_at >= '2026-01-01 13:00+00'",
            )
        }
    for query, plan in plans.items():
        assert "zoom_participants__loaded_at_idx" in plan and "Seq Scan" not in plan, (query, plan)


def test_roles_get_login_and_passwords(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.superuser_dsn) as conn:
        rows = conn.execute(
            "select rolname, rolcanlogin, rolsuper, rolpassword like 'SCRAM-SHA-256$%%' "
            "from pg_authid where rolname = any(%s) order by 1",
            ([OWNER_ROLE, BI_ROLE],),
        ).fetchall()
    assert rows == [(BI_ROLE, True, False, True), (OWNER_ROLE, True, False, True)]
    for dsn, role in ((warehouse.owner_dsn, OWNER_ROLE), (warehouse.bi_dsn, BI_ROLE)):
        with psycopg.connect(dsn) as conn:
            assert conn.execute("select current_user").fetchone() == (role,)


def test_pii_key_is_stored_kept_and_replaced(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.owner_dsn) as conn:
        assert conn.execute("select key from meta.pii_key").fetchall() == [(PII_KEY,)]
        conn.commit()
        ensure_schema(conn, pii_key=None)  # no key given: the stored one stays
        assert conn.execute("select key from meta.pii_key").fetchall() == [(PII_KEY,)]
        conn.commit()
        ensure_schema(conn, pii_key="rotated-key")
        assert conn.execute("select key from meta.pii_key").fetchall() == [("rotated-key",)]
    with psycopg.connect(warehouse.bi_dsn) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute("select key from meta.pii_key")


def test_ensure_schema_as_superuser_still_creates_owner_objects(fresh_db: str) -> None:
    database = psycopg.conninfo.conninfo_to_dict(fresh_db)["dbname"]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        bootstrap_roles(conn, owner_password=OWNER_PASSWORD, bi_password=BI_PASSWORD, database=database)
        ensure_schema(conn, pii_key=PII_KEY)
        owners = conn.execute(
            "select distinct pg_get_userbyid(c.relowner) from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname in ('raw', 'meta')"
        ).fetchall()
        assert owners == [(OWNER_ROLE,)]
        assert conn.execute("select current_user").fetchone() == ("postgres",)


def test_bootstrap_roles_refuses_another_database(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn, pytest.raises(ValueError, match="warehouse"):
        bootstrap_roles(conn, owner_password="a", bi_password="b", database="some_other_db")


def test_bootstrap_roles_refuses_empty_passwords(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn, pytest.raises(ValueError, match="bi_password"):
        bootstrap_roles(conn, owner_password="a", bi_password="", database="x")


def test_ensure_schema_refuses_a_role_that_is_not_the_owner(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.bi_dsn) as conn, pytest.raises(BootstrapError, match=OWNER_ROLE):
        ensure_schema(conn, pii_key=None)


def test_ensure_schema_detects_column_drift(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.owner_dsn) as conn:
        conn.execute("alter table raw.zoom_webinars add column surprise int")
        conn.commit()
        with pytest.raises(BootstrapError, match="zoom_webinars"):
            ensure_schema(conn, pii_key=None)


def test_owner_can_create_in_every_layer(warehouse: Warehouse) -> None:
    with psycopg.connect(dsn_as(warehouse.superuser_dsn, OWNER_ROLE)) as conn:
        for schema in SCHEMAS:
            conn.execute(sql.SQL("create table {} (x int)").format(sql.Identifier(schema, "t")))
