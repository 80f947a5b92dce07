"""bi_reader sees the published marts and nothing else; marts never show clear-text e-mail."""

from __future__ import annotations

import logging
import re

import psycopg
import pytest
from psycopg import errors, sql
from wh_support import Warehouse

from webinar_dwh.warehouse.bootstrap import PRIVATE_SCHEMAS
from webinar_dwh.warehouse.publish import (
    PiiExposureError,
    assert_no_clear_email_columns,
    find_clear_email_columns,
    publish_marts,
)

pytestmark = pytest.mark.warehouse


@pytest.fixture
def published(warehouse: Warehouse) -> Warehouse:
    """One private table per non-public schema and one published mart."""
    with psycopg.connect(warehouse.owner_dsn) as conn:
        for schema in PRIVATE_SCHEMAS:
            conn.execute(sql.SQL("create table {} (x int)").format(sql.Identifier(schema, "secret")))
        conn.execute("create table marts_build.dim_webinars as select 1 as webinar_id, 'Intro' as title")
        conn.commit()
        publish_marts(conn, ["dim_webinars"])
    return warehouse


def test_bi_reader_selects_published_marts(published: Warehouse) -> None:
    with psycopg.connect(published.bi_dsn) as conn:
        assert conn.execute("select webinar_id, title from marts.dim_webinars").fetchall() == [(1, "Intro")]
        # search_path is set to marts for bi_reader in this database
        assert conn.execute("select count(*) from dim_webinars").fetchone() == (1,)


@pytest.mark.parametrize("schema", PRIVATE_SCHEMAS)
def test_bi_reader_cannot_read_private_schemas(published: Warehouse, schema: str) -> None:
    with psycopg.connect(published.bi_dsn) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(sql.SQL("select * from {}").format(sql.Identifier(schema, "secret")))


def test_bi_reader_cannot_write_or_create(published: Warehouse) -> None:
    with psycopg.connect(published.bi_dsn, autocommit=True) as conn:
        for stmt in (
            "insert into marts.dim_webinars values (2, 'x')",
            "create table marts.mine (x int)",
            "create temporary table scratch (x int)",
            "create table public.mine (x int)",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(stmt)


def test_follow_up_lists_are_readable_by_crm_reader_only(published: Warehouse) -> None:
    """Schema crm (clear-text e-mails): crm_reader reads it, including tables dbt creates later;
    bi_reader and PUBLIC get nothing there, and crm_reader nothing anywhere else."""
    with psycopg.connect(published.owner_dsn) as conn:
        conn.execute("create table crm.followup_no_shows as select 'ann@x.com'::text as email")
        conn.commit()
    with psycopg.connect(published.crm_dsn) as conn:
        assert conn.execute("select email from followup_no_shows").fetchall() == [("ann@x.com",)]
    with psycopg.connect(published.bi_dsn) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute("select email from crm.followup_no_shows")
    for relation in ("marts.dim_webinars", *(f"{schema}.secret" for schema in PRIVATE_SCHEMAS)):
        with psycopg.connect(published.crm_dsn) as conn, pytest.raises(errors.InsufficientPrivilege):
            conn.execute(sql.SQL("select * from {}").format(sql.Identifier(*relation.split("."))))
    with psycopg.connect(published.crm_dsn, autocommit=True) as conn:
        for stmt in ("insert into crm.followup_no_shows values ('x@y.z')", "create table crm.mine (x int)"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(stmt)


def test_default_privileges_cover_tables_created_in_marts_later(published: Warehouse) -> None:
    with psycopg.connect(published.owner_dsn) as conn:
        conn.execute("create table marts.created_directly as select 1 as n")
        conn.commit()
    with psycopg.connect(published.bi_dsn) as conn:
        assert conn.execute("select n from marts.created_directly").fetchone() == (1,)


def test_pii_check_flags_clear_email_columns_and_values(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.owner_dsn) as conn:
        conn.execute(
            "create table marts_build.leaky as select 'ann@x.com'::text as email, "
            "'h'::text as email_hash, 'bob@y.org'::text as contact, 'Meet ann@x.com'::text as title"
        )
        flagged = find_clear_email_columns(conn, schema="marts_build")
        assert flagged == [
            "marts_build.leaky.email: column name suggests a clear-text e-mail",
            "marts_build.leaky.contact: holds values shaped like e-mail addresses",
        ]
        assert find_clear_email_columns(conn, schema="marts_build", scan_values=False) == flagged[:1]
        with pytest.raises(PiiExposureError, match=r"leaky\.email"):
            assert_no_clear_email_columns(conn, schema="marts_build")


def test_publish_refuses_clear_email_and_keeps_marts(published: Warehouse) -> None:
    with psycopg.connect(published.owner_dsn) as conn:
        conn.execute("create table marts_build.dim_webinars as select 7 as webinar_id, 'x' as user_email")
        conn.commit()
        with pytest.raises(PiiExposureError, match="user_email"):
            publish_marts(conn)
        assert conn.execute("select webinar_id from marts.dim_webinars").fetchall() == [(1,)]
        assert conn.execute("select to_regclass('marts_build.dim_webinars')").fetchone() != (None,)
        assert_no_clear_email_columns(conn)  # what BI sees is clean


def test_value_scan_of_an_incremental_mart_reads_the_rows_changed_since_its_published_version(
    warehouse: Warehouse,
) -> None:
    """Rows older than the published watermark were scanned when they were published."""
    with psycopg.connect(warehouse.owner_dsn) as conn:
        conn.execute(
            "create table marts.fct_registrations as select 'clean'::text as contact, "
            "timestamptz '2026-11-24 05:00+00' as _watermark"
        )
        conn.execute(
            "create table marts_build.fct_registrations as select * from (values "
            "('old@example.com', timestamptz '2026-11-23 05:00+00'), "
            "('clean', timestamptz '2026-11-24 05:00+00'), "
            "('clean', timestamptz '2026-11-25 05:00+00')) as v (contact, _watermark)"
        )

        def flagged(**kwargs: str) -> list[str]:
            return find_clear_email_columns(conn, schema="marts_build", **kwargs)

        assert flagged(published_schema="marts") == []
        assert flagged() == [
            "marts_build.fct_registrations.contact: holds values shaped like e-mail addresses"
        ]
        # a row (re)written after the published watermark is in scope; one at it was derived
        # from the same raw rows as the published version (scanned then)
        conn.execute(
            "update marts_build.fct_registrations set contact = 'new@example.com' "
            "where _watermark = '2026-11-24 05:00+00'"
        )
        assert flagged(published_schema="marts") == []
        conn.execute(
            "update marts_build.fct_registrations set contact = 'new@example.com' "
            "where _watermark = '2026-11-25 05:00+00'"
        )
        assert flagged(published_schema="marts") == flagged()
        # no watermark in the published version (or none published): every row
        conn.execute("update marts_build.fct_registrations set contact = 'clean' where contact like 'new%'")
        conn.execute("alter table marts.fct_registrations drop column _watermark")
        assert flagged(published_schema="marts") == flagged() != []


def test_value_scan_reads_a_sample_of_a_large_table(
    warehouse: Warehouse, caplog: pytest.LogCaptureFixture
) -> None:
    with psycopg.connect(warehouse.owner_dsn) as conn:
        # never analysed (reltuples = -1): the scan analyses it to size the sample
        conn.execute(
            "create table marts_build.big as select g as id, 'p' || g || '@example.com' as contact, "
            "'title ' || g as title from generate_series(1, 300000) as g"
        )
        with caplog.at_level(logging.INFO, logger="webinar_dwh.warehouse.publish"):
            flagged = find_clear_email_columns(conn, schema="marts_build", published_schema="marts")
    assert flagged == ["marts_build.big.contact: holds values shaped like e-mail addresses"]
    (line,) = [r.getMessage() for r in caplog.records if "marts_build.big" in r.getMessage()]
    match = re.search(r": ([\d,]+) rows \(a [\d.]+% sample of about", line)
    assert match, line
    assert 50_000 < int(match.group(1).replace(",", "")) < 150_000, line
