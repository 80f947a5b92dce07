"""The suites and the report formatting, without a database (GX is imported, nothing runs)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from webinar_dwh.quality import (
    MARTS,
    FailedExpectation,
    Severity,
    build_suite,
    build_suites,
    to_sqlalchemy_url,
)
from webinar_dwh.quality.suites import Check, MartSpec, SuitePart, checks_for, latest_plausible_date

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_package_loads_neither_gx_nor_sqlalchemy() -> None:
    """The DAG file and every task import the package; GX and SQLAlchemy load only where a suite runs."""
    code = (
        "import sys; import webinar_dwh.quality; "
        "assert 'great_expectations' not in sys.modules and 'sqlalchemy' not in sys.modules"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "plugins")},
        capture_output=True,
        text=True,
        check=True,
    )


def test_every_expectation_is_tagged_blocking_or_warn_in_meta_and_gx_severity() -> None:
    suites = build_suites(run_date=dt.date(2026, 11, 25))

    assert list(suites) == list(MARTS)
    for name, suite in suites.items():
        assert suite.name == name
        assert len(suite.expectations) == len(checks_for(name))
        for expectation in suite.expectations:
            severity = Severity(expectation.meta["severity"])
            native = {"blocking": "critical", "warn": "warning"}[severity.value]
            assert expectation.severity.value == native


def test_webinar_date_upper_bound_moves_with_the_run_date() -> None:
    suite = build_suites(run_date=dt.date(2026, 11, 25), names=["webinar_attendance"])["webinar_attendance"]

    (bound,) = [
        e
        for e in suite.expectations
        if e.expectation_type == "expect_column_values_to_be_between" and e.column == "webinar_date"
    ]
    assert str(bound.min_value) == "2015-01-01" and str(bound.max_value) == "2028-11-25"
    assert latest_plausible_date(dt.date(2028, 2, 29)) == dt.date(2030, 2, 28)


def test_core_marts_are_required_and_rollups_optional() -> None:
    assert {n for n, s in MARTS.items() if s.required} == {
        "webinar_attendance",
        "dim_webinars",
        "fct_registrations",
    }


def test_unmapped_share_and_row_count_of_registrations_are_warn_level() -> None:
    warn = {(n, c.expectation) for n in MARTS for c in checks_for(n) if c.severity is Severity.WARN}
    assert ("webinar_attendance", "ExpectColumnValuesToNotBeInSet") in warn
    # on the registrations: "not empty" without counting millions of rows
    assert ("fct_registrations", "UnexpectedRowsExpectation") in warn
    assert ("webinar_attendance", "ExpectColumnPairValuesAToBeGreaterThanB") not in warn


def test_checks_on_person_key_never_show_values() -> None:
    on_person_key = [c for c in checks_for("fct_registrations") if "person_key" in c.columns]
    assert len(on_person_key) >= 3  # not null, unique key, regex
    assert not any(c.show_values for c in on_person_key)


def test_a_check_on_a_column_outside_the_contract_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"\['emial'\]"):
        MartSpec(
            name="t",
            columns=("a",),
            key=("a",),
            checks=(Check("ExpectColumnValuesToNotBeNull", Severity.BLOCKING, {"column": "emial"}),),
        )


def test_failure_line_reads_like_the_on_call_message() -> None:
    failure = FailedExpectation(
        table="webinar_attendance",
        expectation_type="expect_column_values_to_be_between",
        columns=("webinar_date",),
        severity=Severity.BLOCKING,
        arguments=(("min_value", "2015-01-01"), ("max_value", "2028-11-25")),
        unexpected_count=3,
        element_count=200,
        unexpected_percent=1.5,
        unexpected_examples=(dt.date(2099, 3, 1),),
    )

    assert failure.describe() == (
        "webinar_attendance: expect_column_values_to_be_between(webinar_date, min=2015-01-01, "
        "max=2028-11-25) failed — 3 unexpected values, e.g. 2099-03-01 (1.5% of 200 rows)"
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p%40ss@h:5433/dwh", "postgresql+psycopg://u:p%40ss@h:5433/dwh"),
        ("postgres://u@h/dwh", "postgresql+psycopg://u@h/dwh"),
        ("postgresql+psycopg://u:pw@h/dwh", "postgresql+psycopg://u:pw@h/dwh"),
        ("host=h port=5433 dbname=dwh user=u password=pw", "postgresql+psycopg://u:pw@h:5433/dwh"),
        (
            "host=h dbname=dwh user=u sslmode=require",
            "postgresql+psycopg://u@h/dwh?sslmode=require",
        ),
    ],
)
def test_dsn_forms_become_psycopg_sqlalchemy_urls(given: str, expected: str) -> None:
    assert to_sqlalchemy_url(given).render_as_string(hide_password=False) == expected


def test_bad_dsn_errors_do_not_echo_the_input() -> None:
    with pytest.raises(ValueError) as caught:
        to_sqlalchemy_url("mysql://u:Secret1@h/db")
    assert "Secret1" not in str(caught.value)
    with pytest.raises(ValueError) as caught:
        to_sqlalchemy_url("host=h password='Secret2")
    assert "Secret2" not in str(caught.value)


def test_unknown_mart_is_rejected_before_connecting() -> None:
    from webinar_dwh.quality import validate_marts

    with pytest.raises(ValueError, match="unknown mart"):
        validate_marts("postgresql://u@127.0.0.1:1/x", run_date=dt.date(2026, 11, 25), tables=["nope"])


def test_the_scoped_marts_and_their_watermark_is_the_last_column() -> None:
    assert {n: s.incremental_column for n, s in MARTS.items() if s.incremental_column} == {
        "fct_registrations": "_watermark",
        "audience_people": "_built_at",
    }
    assert MARTS["fct_registrations"].columns[-1] == "_watermark"
    assert MARTS["audience_people"].columns[-1] == "_built_at"
    with pytest.raises(ValueError, match=r"\['_wm'\]"):
        MartSpec(name="t", columns=("a",), key=("a",), incremental_column="_wm")


def test_an_incremental_mart_splits_into_whole_table_and_row_level_suites() -> None:
    whole = checks_for("fct_registrations", SuitePart.WHOLE_TABLE)
    rows = checks_for("fct_registrations", SuitePart.ROWS)

    assert {c.expectation for c in whole} == {
        "ExpectTableColumnsToMatchSet",  # present (blocking) and exact (warn)
        # PII column names, _watermark never null, and "not empty" (a quiet day changes no row:
        # never on the scope; without counting millions of rows)
        "UnexpectedRowsExpectation",
    }
    assert len(whole) == 5
    assert "ExpectCompoundColumnsToBeUnique" in {c.expectation for c in rows}
    assert not any(c.whole_table for c in rows)
    everything = checks_for("fct_registrations")
    assert len(whole) + len(rows) == len(everything) and all(c in everything for c in whole + rows)
    suites = {
        part: build_suite("fct_registrations", run_date=dt.date(2026, 11, 25), part=part).name
        for part in SuitePart
    }
    assert suites == {
        SuitePart.ALL: "fct_registrations",
        SuitePart.WHOLE_TABLE: "fct_registrations.whole_table",
        SuitePart.ROWS: "fct_registrations.changed_rows",
    }
