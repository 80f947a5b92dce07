"""The quality gate on real PostgreSQL: good marts pass, each broken variant fails as it should.

Every test starts from the valid marts of ``conftest.MARTS_DDL`` and breaks one thing. Most
validate only the mart they break (``tables=[...]``): GX spends ~0.4 s of Python per mart.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.quality.conftest import RUN_DATE
from webinar_dwh.quality import MARTS, QualityGateFailed, validate_marts

pytestmark = pytest.mark.warehouse

RunSql = Callable[[str], None]


def _gate_message(report) -> str:
    with pytest.raises(QualityGateFailed) as caught:
        report.raise_for_blocking()
    return str(caught.value)


def test_valid_marts_pass_every_expectation(marts_db: str) -> None:
    report = validate_marts(marts_db, run_date=RUN_DATE)

    assert report.passed, report.summary()
    assert list(report.tables) == list(MARTS)
    assert all(t.status == "passed" and t.evaluated > 5 for t in report.tables.values())
    assert report.warnings == []
    # GX's own result agrees: one validation result per suite, every one a success
    assert report.checkpoint_result.success
    assert len(report.checkpoint_result.run_results) == len(MARTS)
    report.raise_for_blocking()  # no-op
    assert json.loads(json.dumps(report.to_dict()))["passed"] is True


def test_attended_above_registered_blocks_naming_table_expectation_and_values(
    marts_db: str, run_sql: RunSql
) -> None:
    run_sql("update marts_build.webinar_attendance set attended = 12 where webinar_id = 'c-101'")

    report = validate_marts(marts_db, run_date=RUN_DATE, tables=["webinar_attendance"])

    assert not report.passed
    message = _gate_message(report)
    assert (
        "webinar_attendance: expect_column_pair_values_a_to_be_greater_than_b"
        "(registered, attended, or_equal=True) failed — 1 unexpected value, "
        "e.g. registered=4, attended=12"
    ) in message
    (failure,) = [f for f in report.blocking_failures if f.columns == ("registered", "attended")]
    assert failure.unexpected_count == 1 and failure.unexpected_examples == ((4, 12),)


def test_upcoming_webinar_with_zero_attendance_blocks(marts_db: str, run_sql: RunSql) -> None:
    # u-d is not held yet: a 0 (instead of null) would read as "nobody came"; a held webinar
    # without its counts is as wrong.
    run_sql(
        "update marts_build.webinar_attendance set attended = 0, show_up_rate = 0 where webinar_id = 'u-d'"
    )
    run_sql("update marts_build.webinar_attendance set walk_ins = null where webinar_id = 'c-102'")

    report = validate_marts(marts_db, run_date=RUN_DATE, tables=["webinar_attendance"])

    message = _gate_message(report)
    assert "webinar_attendance: unexpected_rows_expectation(attendance null exactly while upcoming" in message
    assert "failed — 2 found" in message


def test_webinar_date_in_2099_blocks_with_the_run_date_bound(marts_db: str, run_sql: RunSql) -> None:
    run_sql("update marts_build.webinar_attendance set webinar_date = '2099-03-01' where webinar_id = 'u-a'")
    run_sql("update marts_build.dim_webinars set webinar_date = '2014-12-31' where webinar_id = 'u-b'")

    report = validate_marts(marts_db, run_date=RUN_DATE, tables=["webinar_attendance", "dim_webinars"])

    message = _gate_message(report)
    assert (
        "webinar_attendance: expect_column_values_to_be_between(webinar_date, min=2015-01-01, "
        "max=2028-11-25) failed — 1 unexpected value, e.g. 2099-03-01"
    ) in message
    # ... and which webinar holds it
    assert "2099-03-01 (16.7% of 6 rows); webinars: legacy:u-a" in message
    assert "dim_webinars: expect_column_values_to_be_between(webinar_date" in message
    assert "e.g. 2014-12-31" in message
    assert [t.status for t in report.tables.values()] == ["failed", "failed"]


def test_high_unmapped_share_only_warns(
    marts_db: str, run_sql: RunSql, caplog: pytest.LogCaptureFixture
) -> None:
    run_sql("update marts_build.webinar_attendance set course = 'unmapped' where platform = 'legacy'")

    with caplog.at_level(logging.WARNING, logger="webinar_dwh.quality"):
        report = validate_marts(marts_db, run_date=RUN_DATE, tables=["webinar_attendance"])

    report.raise_for_blocking()  # warn-level only: no exception
    assert report.passed and report.tables["webinar_attendance"].status == "warned"
    (warning,) = report.warnings
    assert warning.describe().startswith(
        "webinar_attendance: expect_column_values_to_not_be_in_set(course, set=['unmapped'], "
        "mostly=0.8) failed — 4 unexpected values, e.g. 'unmapped' (66.7% of 6 rows)"
    )
    assert "[warn] webinar_attendance: expect_column_values_to_not_be_in_set" in caplog.text


def test_unseen_vendor_values_warn_with_field_value_and_webinars_and_never_block(
    marts_db: str, run_sql: RunSql, caplog: pytest.LogCaptureFixture
) -> None:
    run_sql(
        "insert into marts_build.vendor_value_notices values "
        "('bigmarker.conference.language', 'bigmarker', 'ru', 'other', 'shown as other', 'c-101', 1, 1), "
        "('calendly.invitee.status', 'legacy', 'waitlisted', 'other', 'counted', 'u-a', 1, 2)"
    )

    with caplog.at_level(logging.WARNING, logger="webinar_dwh.quality"):
        report = validate_marts(marts_db, run_date=RUN_DATE, tables=["vendor_value_notices"])

    report.raise_for_blocking()  # a warning, never a block
    assert report.tables["vendor_value_notices"].status == "warned"
    (warning,) = report.warnings
    assert warning.describe().startswith(
        "vendor_value_notices: unexpected_rows_expectation(no vendor value the pipeline does not know"
    )
    assert warning.describe().endswith("failed — 2 found")
    assert "[warn] vendor_value_notices" in caplog.text


def test_missing_required_mart_blocks_and_missing_optional_mart_is_skipped(
    marts_db: str, run_sql: RunSql, caplog: pytest.LogCaptureFixture
) -> None:
    run_sql("drop table marts_build.fct_registrations")
    run_sql("drop table marts_build.attendance_daily")

    with caplog.at_level(logging.WARNING, logger="webinar_dwh.quality"):
        report = validate_marts(
            marts_db, run_date=RUN_DATE, tables=["fct_registrations", "attendance_daily", "dim_webinars"]
        )

    assert {n: t.status for n, t in report.tables.items()} == {
        "fct_registrations": "missing",
        "attendance_daily": "skipped",
        "dim_webinars": "passed",
    }
    assert "Optional mart marts_build.attendance_daily does not exist: skipped" in caplog.text
    message = _gate_message(report)
    assert (
        "fct_registrations: table_exists(marts_build.fct_registrations) failed — required mart does not exist"
    ) in message
    assert "attendance_daily" not in message


def test_missing_schema_fails_every_required_mart(marts_db: str) -> None:
    report = validate_marts(marts_db, schema="no_such_schema", run_date=RUN_DATE)

    assert {n for n, t in report.tables.items() if t.status == "missing"} == {
        n for n, spec in MARTS.items() if spec.required
    }
    assert not report.passed


def test_email_column_and_clear_text_person_key_block_without_echoing_the_email(
    marts_db: str, run_sql: RunSql, caplog: pytest.LogCaptureFixture
) -> None:
    run_sql("alter table marts_build.fct_registrations add column attendee_email text")
    run_sql(
        "update marts_build.fct_registrations set person_key = 'dan@example.com', "
        "attendee_email = 'dan@example.com' where minutes_attended = 0 and webinar_id = 'c-101'"
    )

    with caplog.at_level(logging.DEBUG):
        report = validate_marts(marts_db, run_date=RUN_DATE, tables=["fct_registrations"])

    message = _gate_message(report)
    assert (
        "fct_registrations: unexpected_rows_expectation(no column named like '%email%' "
        "(clear-text PII)) failed — 1 found"
    ) in message
    assert (
        "fct_registrations: expect_column_values_to_match_regex(person_key, regex=^[0-9a-f]{64}$) "
        "failed — 1 unexpected value (9.1% of 11 rows)"
    ) in message
    assert "unexpected columns: attendee_email" in report.summary()  # warn-level schema drift
    assert "dan@example.com" not in message + report.summary() + json.dumps(report.to_dict())
    assert "dan@example.com" not in caplog.text


def test_missing_contract_column_and_duplicate_key_block_clearly(marts_db: str, run_sql: RunSql) -> None:
    run_sql("alter table marts_build.dim_webinars drop column webinar_date")
    run_sql(
        "insert into marts_build.dim_webinars select * from marts_build.dim_webinars where webinar_id = 'u-a'"
    )

    report = validate_marts(marts_db, run_date=RUN_DATE, tables=["dim_webinars"])

    message = _gate_message(report)
    assert (
        "dim_webinars: expect_table_columns_to_match_set(every contract column present) failed — "
        "missing columns: webinar_date"
    ) in message
    assert 'could not be evaluated: Error: The column "webinar_date"' in message
    assert (
        "dim_webinars: expect_compound_columns_to_be_unique(platform, webinar_id) failed — "
        "2 unexpected values, e.g. platform='legacy', webinar_id='u-a'"
    ) in message


def test_empty_mart_blocks_on_row_count(marts_db: str, run_sql: RunSql) -> None:
    run_sql("truncate marts_build.attendance_daily")

    report = validate_marts(marts_db, run_date=RUN_DATE, tables=["attendance_daily"])

    assert "attendance_daily: expect_table_row_count_to_be_between(min=1) failed — observed 0" in (
        _gate_message(report)
    )


def test_data_docs_site_is_built_and_the_password_never_leaks(
    marts_db: str, run_sql: RunSql, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The test cluster trusts local connections, so a password in the URL is accepted unchecked.
    secret = "S3cr3t-pw/+x"
    url = marts_db.replace("postgres@", "postgres:S3cr3t-pw%2F%2Bx@", 1)
    assert url != marts_db
    run_sql("update marts_build.webinar_attendance set show_up_rate = 1.5 where webinar_id = 'u-c'")

    with caplog.at_level(logging.DEBUG):
        report = validate_marts(
            url, run_date=RUN_DATE, tables=["webinar_attendance"], data_docs_dir=tmp_path / "docs"
        )

    assert "webinar_attendance: expect_column_values_to_be_between(show_up_rate, min=0, max=1)" in (
        _gate_message(report)
    )
    assert report.data_docs_index == tmp_path / "docs" / "index.html"
    assert report.data_docs_index.exists()
    html = [p.read_text(errors="replace") for p in (tmp_path / "docs").rglob("*.html")]
    assert any("webinar_attendance" in page for page in html)
    for text in [caplog.text, json.dumps(report.to_dict()), report.summary(), *html]:
        assert secret not in text and "S3cr3t" not in text


def test_key_value_dsn_is_accepted(marts_db: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(marts_db)
    dsn = " ".join(f"{k}={v}" for k, v in info.items())

    report = validate_marts(dsn, run_date=RUN_DATE, tables=["attendance_by_course_language"])

    assert report.passed, report.summary()


def test_unreachable_warehouse_raises_without_the_password() -> None:
    with pytest.raises(ConnectionError) as caught:
        validate_marts("postgresql://dwh_owner:Hunter2-pw@127.0.0.1:1/dwh", run_date=RUN_DATE)

    assert "Hunter2" not in str(caught.value)
    assert "postgresql+psycopg://dwh_owner:***@127.0.0.1:1/dwh" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
