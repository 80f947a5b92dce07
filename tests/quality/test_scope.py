"""Incremental marts: row-level checks on the rows changed since the published version.

``published_db`` holds a published ``marts.fct_registrations`` whose latest ``_watermark`` is
``PUBLISHED_WATERMARK``: the 5 legacy registrations of ``marts_build`` were (re)written since,
the 6 BigMarker ones were not (conftest's ``WATERMARKS``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.quality.conftest import RUN_DATE, publish_registrations
from webinar_dwh.quality import QualityGateFailed, ValidationReport, validate_marts

pytestmark = pytest.mark.warehouse

RunSql = Callable[[str], None]
SCOPE = "5 rows changed since the published version (_watermark > 2026-11-24 05:00:00+00)"


def _validate(dsn: str, **kwargs: object) -> ValidationReport:
    return validate_marts(dsn, run_date=RUN_DATE, tables=["fct_registrations"], **kwargs)  # type: ignore[arg-type]


def _gate_message(report: ValidationReport) -> str:
    with pytest.raises(QualityGateFailed) as caught:
        report.raise_for_blocking()
    return str(caught.value)


def test_rows_changed_since_the_published_version_are_the_scope_and_the_report_says_so(
    published_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="webinar_dwh.quality"):
        report = _validate(published_db)

    assert report.passed, report.summary()
    result = report.tables["fct_registrations"]
    assert result.status == "passed"
    assert (result.scope.rows, result.scope.since) == (5, "2026-11-24 05:00:00+00")
    assert f"fct_registrations: passed ({result.evaluated} expectations; scope: {SCOPE})" in report.summary()
    assert f"scope: {SCOPE}" in caplog.text
    assert json.loads(json.dumps(report.to_dict()))["tables"]["fct_registrations"]["scope"] == {
        "rows": "changed_since_published",
        "column": "_watermark",
        "since": "2026-11-24 05:00:00+00",
        "cutoff_from": None,
        "cutoff_to": None,
        "count": 5,
    }
    # both parts ran: the whole-table checks and the row-level ones
    whole = validate_marts(
        published_db, run_date=RUN_DATE, tables=["fct_registrations"], published_schema=None
    )
    assert whole.tables["fct_registrations"].scope.whole_table
    assert result.evaluated == whole.tables["fct_registrations"].evaluated


def test_a_bad_row_in_the_scope_blocks(published_db: str, run_sql: RunSql) -> None:
    run_sql("update marts_build.fct_registrations set minutes_attended = -1 where webinar_id = 'u-c'")

    message = _gate_message(_validate(published_db))

    assert (
        "fct_registrations: expect_column_values_to_be_between(minutes_attended, min=0) failed — "
        "1 unexpected value, e.g. -1 (20.0% of 5 changed rows)"
    ) in message


def test_a_duplicate_key_in_the_scope_blocks(published_db: str, run_sql: RunSql) -> None:
    # A rebuilt webinar's rows all carry the build's watermark, so a duplicate lands in the scope.
    run_sql(
        "insert into marts_build.fct_registrations "
        "select * from marts_build.fct_registrations where webinar_id = 'u-c'"
    )

    message = _gate_message(_validate(published_db))

    assert "expect_compound_columns_to_be_unique(platform, webinar_id, person_key) failed — 2 unexpected" in (
        message
    )


def test_old_rows_outside_the_scope_are_not_validated_again(published_db: str, run_sql: RunSql) -> None:
    # Rows of a build older than the published version were validated when it was published.
    run_sql("update marts_build.fct_registrations set minutes_attended = -1 where webinar_id = 'c-101'")

    assert _validate(published_db).passed
    assert not _validate(published_db, published_schema=None).passed  # the whole table: caught


def test_webinars_whose_held_cut_off_moved_are_in_the_scope(marts_db: str, run_sql: RunSql) -> None:
    # The build's as_of is two weeks after the published one's: c-101 (1 Oct) and c-102 (8 Oct)
    # did not start in between, u-a (2 Nov) did. Its rows were rewritten (held now) without a
    # newer watermark than the published one, so the watermark alone would miss them.
    publish_registrations(
        marts_db,
        watermark="2026-11-26 05:00:00+00",
        as_of="2026-10-20T00:00:00+00:00",
        build_as_of="2026-11-03T00:00:00+00:00",
    )
    run_sql("update marts_build.fct_registrations set minutes_attended = -1 where webinar_id = 'u-a'")

    report = _validate(marts_db)

    scope = report.tables["fct_registrations"].scope
    assert (scope.rows, scope.cutoff_from) == (3, "2026-10-20T00:00:00+00:00")
    assert "held cut-off moved 2026-10-20T00:00:00+00:00 -> 2026-11-03T00:00:00+00:00" in scope.describe()
    assert not report.passed


def test_a_quiet_day_validates_no_row_and_warns_about_nothing(marts_db: str) -> None:
    publish_registrations(marts_db, watermark="2026-11-26 05:00:00+00")

    report = _validate(marts_db)

    assert report.tables["fct_registrations"].status == "passed", report.summary()
    assert report.tables["fct_registrations"].scope.rows == 0  # rows present: checked on the whole table


@pytest.mark.parametrize(
    ("published", "reason"),
    [
        ("no marts schema", "first run"),
        ("without _watermark", "published before the mart became incremental"),
        ("empty", "nothing was published into it yet"),
    ],
)
def test_falls_back_to_the_whole_table(marts_db: str, run_sql: RunSql, published: str, reason: str) -> None:
    if published == "without _watermark":
        publish_registrations(marts_db, watermark=None)
    elif published == "empty":
        publish_registrations(marts_db)
        run_sql("truncate marts.fct_registrations")
    run_sql("update marts_build.fct_registrations set minutes_attended = -1 where webinar_id = 'c-101'")

    report = _validate(marts_db)

    result = report.tables["fct_registrations"]
    assert result.scope.whole_table and result.status == "failed", reason
    assert "fct_registrations: failed (" in report.summary() and "scope: whole table)" in report.summary()
    assert "(36.4% of 11 rows)" in _gate_message(report)  # the 4 rows of c-101


def test_whole_table_checks_read_the_whole_table_when_scoped(published_db: str, run_sql: RunSql) -> None:
    run_sql("alter table marts_build.fct_registrations add column attendee_email text")
    # an old row without a watermark would never enter a scope
    run_sql("update marts_build.fct_registrations set _watermark = null where webinar_id = 'c-102'")

    report = _validate(published_db)

    message = _gate_message(report)
    assert report.tables["fct_registrations"].scope.rows == 5
    assert "unexpected_rows_expectation(no column named like '%email%' (clear-text PII)) failed" in message
    assert (
        "unexpected_rows_expectation(_watermark never null (such a row would never be validated))" in message
    )
    assert "unexpected columns: attendee_email" in report.summary()


def test_data_docs_show_both_parts(published_db: str, tmp_path: Path) -> None:
    report = _validate(published_db, data_docs_dir=tmp_path / "docs")

    assert report.data_docs_index is not None and report.data_docs_index.exists()
    html = "".join(p.read_text(errors="replace") for p in (tmp_path / "docs").rglob("*.html"))
    assert "fct_registrations.whole_table" in html and "fct_registrations.changed_rows" in html


def test_a_full_refresh_is_validated_whole_even_without_a_newer_watermark(
    published_db: str, run_sql: RunSql
) -> None:
    # `dbt build --full-refresh` with no load since the published build: every row carries the
    # published watermark, none is newer, yet all were rewritten.
    run_sql("update marts_build.fct_registrations set _watermark = '2026-11-24 05:00:00+00'")
    run_sql("update marts_build.fct_registrations set minutes_attended = -1 where webinar_id = 'c-101'")

    report = _validate(published_db)

    assert report.tables["fct_registrations"].scope.whole_table
    assert not report.passed


def test_people_re_derived_since_the_published_version_are_the_scope_of_audience_people(
    marts_db: str, run_sql: RunSql
) -> None:
    # audience_people is rebuilt from int_audience_people (incremental per person) every run:
    # its _built_at says which people the build re-derived; only those are validated again.
    run_sql("create schema if not exists marts")
    run_sql(
        "create table marts.audience_people as select * from marts_build.audience_people; "
        "update marts.audience_people set _built_at = timestamptz '2026-11-24 05:10+00'"
    )
    run_sql(
        "update marts_build.audience_people set webinars_attended = 5 "
        "where person_key = md5('bob') || md5('bob')"  # built before: validated when published
    )

    report = validate_marts(marts_db, run_date=RUN_DATE, tables=["audience_people"])

    result = report.tables["audience_people"]
    assert (result.scope.rows, result.scope.column) == (1, "_built_at") and result.status == "passed"

    run_sql(
        "update marts_build.audience_people set webinars_attended = 5 "
        "where person_key = md5('ann') || md5('ann')"  # re-derived by this build: validated
    )
    message = _gate_message(validate_marts(marts_db, run_date=RUN_DATE, tables=["audience_people"]))
    assert "audience_people: unexpected_rows_expectation(webinars_attended and recordings_watched" in message
