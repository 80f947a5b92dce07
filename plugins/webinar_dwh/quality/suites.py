"""Expectation suites for the marts, defined in code: the data contract the publish gate enforces.

Everything about a mart that the gate knows lives in :data:`MARTS`: its key, whether the gate may
skip it when dbt did not build it, and the checks it must pass. Its column list is not repeated
here: it is the mart's enforced dbt contract, read from the model's YAML
(:mod:`webinar_dwh.contracts`). Every expectation carries a severity:

* ``blocking`` — a failure stops publishing ``marts_build`` to ``marts`` (GX severity ``critical``);
* ``warn`` — a failure is reported and logged, publishing goes ahead (GX severity ``warning``).

The severity is stored both in the expectation's ``meta["severity"]`` (the project's contract,
read by :mod:`webinar_dwh.quality.runner`) and in GX's native ``severity`` field (so Data Docs and
any other GX tooling show it too).

An *incremental* mart (``MartSpec.incremental_column``, e.g. ``fct_registrations._watermark``)
is rebuilt by dbt a few webinars at a time; once a version of it is published, the runner
validates its row-level checks on the rows (re)written since then only, so the gate's cost
follows the day's changes, not the history. Checks about the table as a whole
(``Check.whole_table``: its columns, the PII column-name check, whether it has rows, the
incremental column never null) always read the whole table; each is a catalog lookup or an
index-backed query, except the row count (one ``count(*)``, ~0.25 s at 3 M rows).

Great Expectations is imported only inside :func:`build_suite` / :func:`build_suites`, so this
module is cheap to import (Airflow parses the DAG without loading GX; ``MARTS`` is plain data that
the publish step can read as well).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from webinar_dwh.contracts import mart_columns

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite
    from great_expectations.expectations import Expectation

__all__ = [
    "ATTENDANCE_UNTIL_HELD",
    "EARLIEST_WEBINAR_DATE",
    "MARTS",
    "MAX_UNMAPPED_SHARE",
    "PERSON_KEY_REGEX",
    "PII_COLUMN_PATTERN",
    "YEARS_AHEAD",
    "Check",
    "MartSpec",
    "Severity",
    "SuitePart",
    "build_suite",
    "build_suites",
    "checks_for",
    "latest_plausible_date",
]


class Severity(StrEnum):
    """How a failed expectation affects publishing."""

    BLOCKING = "blocking"
    WARN = "warn"


#: GX's native severity for each of ours.
_GX_SEVERITY = {Severity.BLOCKING: "critical", Severity.WARN: "warning"}

#: No webinar in any source is older than this; older dates mean a parsing or timezone bug.
EARLIEST_WEBINAR_DATE = dt.date(2015, 1, 1)
#: Webinars are scheduled at most this many years ahead of the run date.
YEARS_AHEAD = 2
#: Warn when more than this share of webinars has ``course = 'unmapped'`` (the catalog seed
#: ``webinar_catalog_map.csv`` needs new rows).
MAX_UNMAPPED_SHARE = 0.20
#: ``person_key`` is ``hex(hmac_sha256(lower(trim(email)), key))`` — never a clear-text e-mail.
PERSON_KEY_REGEX = r"^[0-9a-f]{64}$"
#: Marketing channels a registration can have (dbt var ``channels``).
CHANNELS = (
    "email",
    "paid_social",
    "paid_search",
    "organic_search",
    "organic_social",
    "partner",
    "direct",
    "unknown",
)
#: Column names that suggest clear-text PII; no mart may have one (SQL ``ILIKE`` pattern).
PII_COLUMN_PATTERN = "%email%"


@dataclass(frozen=True, slots=True)
class Check:
    """One expectation of a mart, independent of GX until :meth:`build` is called.

    Attributes:
        expectation: GX 1.x expectation class name in ``great_expectations.expectations``,
            e.g. ``"ExpectColumnValuesToNotBeNull"``.
        severity: blocking or warn.
        kwargs: keyword arguments of the expectation; callables are called with the run date
            (for bounds that move with it, e.g. "two years after the run").
        description: optional human-readable text shown in reports instead of the kwargs
            (used where the kwargs are a SQL query).
        show_values: false where offending values may be PII (e.g. an e-mail found in
            ``person_key``): reports then give counts only, never the values.
        whole_table: the check is about the table as a whole (its columns, whether it is
            empty): on an incremental mart it reads the whole table even when the row-level
            checks read only the rows changed since the published version.
    """

    expectation: str
    severity: Severity
    kwargs: dict[str, Any]
    description: str | None = None
    show_values: bool = True
    whole_table: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns this check reads."""
        found: list[str] = []
        for key in ("column", "column_A", "column_B", "column_list"):
            value = self.kwargs.get(key)
            found += [value] if isinstance(value, str) else list(value or ())
        return tuple(found)

    def build(self, run_date: dt.date) -> Expectation:
        """Instantiate the GX expectation for ``run_date``."""
        import great_expectations.expectations as gxe

        cls = getattr(gxe, self.expectation)
        kwargs = {k: (v(run_date) if callable(v) else v) for k, v in self.kwargs.items()}
        extra: dict[str, Any] = {}
        if self.description:
            extra["description"] = self.description
        meta: dict[str, Any] = {"severity": self.severity.value}
        if not self.show_values:
            meta["show_values"] = False
        return cls(**kwargs, **extra, meta=meta, severity=_GX_SEVERITY[self.severity])


@dataclass(frozen=True, slots=True)
class MartSpec:
    """The contract of one mart table in ``marts_build`` / ``marts``.

    Attributes:
        name: table name (also the name of its GX suite and table asset).
        columns: every column of the mart, in table order; by default the columns of the
            mart's enforced dbt contract (its YAML, :func:`webinar_dwh.contracts.mart_columns`).
        key: the grain (one row per distinct key).
        required: if false the gate skips the mart with a warning when it does not exist;
            a missing required mart blocks publishing.
        checks: the mart-specific expectations. :func:`build_suite` adds the checks every mart
            has (contract columns present, no extra columns, no e-mail-like column, key not null
            and unique).
        sensitive: columns whose values must never appear in a report or log; every check on
            them reports counts only.
        incremental_column: for a mart built from incremental rows, the column holding the
            watermark (or build time) of the build that (re)wrote each row (never null; a build
            re-derives whole webinars or whole people: ``fct_registrations._watermark``,
            ``audience_people._built_at``). Once a published
            version with this column exists, row-level checks read only the rows with
            ``column > max(column)`` of that version (plus the ``cutoff_relation`` window).
            ``None``: always the whole table.
        cutoff_relation: for an incremental mart that applies the run's cut-off (``is_held``)
            row by row, the relation in the same schema with ``(platform, webinar_id,
            start_time)`` per webinar (``dim_webinars``). A build re-derives the webinars whose
            start lies between the ``as_of`` of the base it built on and its own (both kept in
            the table comment, ``{"as_of": …}``) without a new watermark, so the scope also
            takes the webinars starting between the published version's ``as_of`` and the
            build's.
    """

    name: str
    key: tuple[str, ...]
    required: bool = True
    checks: tuple[Check, ...] = field(default_factory=tuple)
    sensitive: tuple[str, ...] = ()
    incremental_column: str | None = None
    cutoff_relation: str | None = None
    columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.columns:  # the mart's enforced dbt contract (webinar_dwh.contracts)
            object.__setattr__(self, "columns", mart_columns(self.name))
        extra = (self.incremental_column,) if self.incremental_column else ()
        unknown = [c for c in (*self.key, *self.sensitive, *extra) if c not in self.columns]
        unknown += [c for check in self.checks for c in check.columns if c not in self.columns]
        if unknown:
            raise ValueError(f"{self.name}: columns {sorted(set(unknown))} are not in its column list")


def latest_plausible_date(run_date: dt.date) -> dt.date:
    """Latest plausible ``webinar_date`` for a run: ``run_date`` plus :data:`YEARS_AHEAD` years.

    A run on 29 February maps to 28 February of the target year.
    """
    try:
        return run_date.replace(year=run_date.year + YEARS_AHEAD)
    except ValueError:  # 29 Feb -> non-leap year
        return run_date.replace(year=run_date.year + YEARS_AHEAD, day=28)


# --- check factories: keep MARTS below readable -------------------------------------------------


def _block(expectation: str, description: str | None = None, **kwargs: Any) -> Check:
    return Check(expectation, Severity.BLOCKING, kwargs, description)


def _warn(expectation: str, description: str | None = None, **kwargs: Any) -> Check:
    return Check(expectation, Severity.WARN, kwargs, description)


def _whole_table(check: Check) -> Check:
    return replace(check, whole_table=True)


def _not_null(*columns: str, severity: Severity = Severity.BLOCKING) -> tuple[Check, ...]:
    return tuple(Check("ExpectColumnValuesToNotBeNull", severity, {"column": c}) for c in columns)


def _non_negative(*columns: str) -> tuple[Check, ...]:
    return tuple(_block("ExpectColumnValuesToBeBetween", column=c, min_value=0) for c in columns)


def _rows_present_without_counting(severity: Severity = Severity.BLOCKING) -> Check:
    # For a mart of millions of rows: "not empty" reads one row instead of counting them all.
    return _whole_table(
        Check(
            "UnexpectedRowsExpectation",
            severity,
            {"unexpected_rows_query": "select 'no row' as problem where not exists (select from {batch})"},
            description="at least one row (checked without counting them)",
        )
    )


def _rows_present(severity: Severity = Severity.BLOCKING) -> Check:
    # On the whole table even for an incremental mart: a quiet day changes no row at all.
    return _whole_table(Check("ExpectTableRowCountToBeBetween", severity, {"min_value": 1}))


def _attended_le_registered() -> Check:
    # attended is null while a webinar is upcoming (_attendance_null_until_held): GX skips a
    # comparison with a null (registered >= null is not a failure).
    return _block(
        "ExpectColumnPairValuesAToBeGreaterThanB",
        column_A="registered",
        column_B="attended",
        or_equal=True,
    )


#: The per-webinar attendance columns that are unknown until a webinar is held.
ATTENDANCE_UNTIL_HELD = ("attended", "walk_ins", "show_up_rate", "avg_minutes_attended", "total_minutes")


def _attendance_null_until_held() -> Check:
    # An upcoming webinar's 0 would read as "nobody came" and drag every rate down; a held
    # webinar always has its counts (0 when nobody came). Rate and average stay null when
    # their denominator is 0, so only the counts are required once held.
    upcoming = " or ".join(f"{c} is not null" for c in ATTENDANCE_UNTIL_HELD)
    held = " or ".join(f"{c} is null" for c in ("attended", "walk_ins", "total_minutes"))
    return _block(
        "UnexpectedRowsExpectation",
        "attendance null exactly while upcoming: "
        "attended, walk_ins, show_up_rate, avg_minutes_attended, total_minutes null when not "
        "is_held; attended, walk_ins, total_minutes not null when is_held",
        unexpected_rows_query=(
            "select platform, webinar_id, is_held from {batch} "
            f"where (not is_held and ({upcoming})) or (is_held and ({held}))"
        ),
    )


def _rate_between_0_and_1(column: str = "show_up_rate") -> Check:
    # Nulls (registered = 0) are ignored by GX's column-map expectations.
    return _block("ExpectColumnValuesToBeBetween", column=column, min_value=0, max_value=1)


def _webinar_date_plausible(column: str = "webinar_date") -> Check:
    return _block(
        "ExpectColumnValuesToBeBetween",
        column=column,
        min_value=EARLIEST_WEBINAR_DATE,
        max_value=latest_plausible_date,  # resolved with the run date in Check.build
    )


# --- the marts ----------------------------------------------------------------------------------
# Each mart's columns come from its enforced dbt contract (the model's YAML): dbt refuses a
# build whose SQL disagrees with it, and the gate checks the built table against the same list
# (blocking on a missing column, warning on an extra one).

MARTS: dict[str, MartSpec] = {
    spec.name: spec
    for spec in (
        MartSpec(
            name="webinar_attendance",
            key=("platform", "webinar_id"),
            checks=(
                _rows_present(),
                *_not_null("webinar_date", "course", "language", "is_held"),
                _attendance_null_until_held(),
                _attended_le_registered(),
                _rate_between_0_and_1(),
                *_non_negative("registered", "attended", "walk_ins", "total_minutes", "on_demand_viewers"),
                *_not_null("is_internal"),
                _block(
                    "UnexpectedRowsExpectation",
                    "reached >= attended + walk_ins and >= on_demand_viewers >= no_show_replay_viewers",
                    unexpected_rows_query=(
                        "select platform, webinar_id, reached, attended, walk_ins, on_demand_viewers, "
                        "no_show_replay_viewers from {batch} where is_held and ("
                        "reached < attended + walk_ins or reached < on_demand_viewers "
                        "or on_demand_viewers < no_show_replay_viewers "
                        "or no_show_replay_viewers > registered - attended)"
                    ),
                ),
                _block(
                    "ExpectColumnValuesToBeBetween",
                    column="avg_minutes_attended",
                    min_value=0,
                    max_value=600,
                ),
                _webinar_date_plausible(),
                _warn(
                    "ExpectColumnValuesToNotBeInSet",
                    column="course",
                    value_set=["unmapped"],
                    mostly=round(1 - MAX_UNMAPPED_SHARE, 6),
                ),
            ),
        ),
        MartSpec(
            name="dim_webinars",
            key=("platform", "webinar_id"),
            checks=(
                _rows_present(),
                _webinar_date_plausible(),
            ),
        ),
        MartSpec(
            name="fct_registrations",
            key=("platform", "webinar_id", "person_key"),
            incremental_column="_watermark",
            cutoff_relation="dim_webinars",
            # A bad person_key may be a clear-text e-mail: never echo its values into logs.
            sensitive=("person_key",),
            checks=(
                _rows_present_without_counting(Severity.WARN),
                _block("ExpectColumnValuesToBeBetween", column="minutes_attended", min_value=0),
                _block("ExpectColumnValuesToMatchRegex", column="person_key", regex=PERSON_KEY_REGEX),
                _block(
                    "ExpectColumnValuesToBeBetween", column="engagement_score", min_value=0, max_value=100
                ),
                *_not_null("watched_replay"),
                *_non_negative("chats", "questions", "polls", "replay_minutes"),
            ),
        ),
        MartSpec(
            name="attendance_by_course_language",
            key=("webinar_month", "platform", "course", "language"),
            required=False,
            checks=(
                _rows_present(),
                _attended_le_registered(),
                _rate_between_0_and_1(),
                *_non_negative("webinars", "registered", "attended", "walk_ins", "total_minutes"),
            ),
        ),
        MartSpec(
            name="attendance_daily",
            key=("webinar_date", "platform", "course", "language"),
            required=False,
            checks=(
                _rows_present(),
                _attended_le_registered(),
                _rate_between_0_and_1(),
                *_non_negative("webinars", "registered", "attended", "walk_ins", "total_minutes"),
            ),
        ),
        # Registration pace, forecast and flags (docs/design.md, "Forecast"): derived views of
        # the figures above; a missing one is reported and skipped, never blocks the figures.
        MartSpec(
            name="registration_pace",
            key=("platform", "webinar_id", "days_before"),
            required=False,
            checks=(
                _block("ExpectColumnValuesToBeBetween", column="days_before", min_value=0, max_value=366),
                _block("ExpectColumnValuesToBeBetween", column="share_of_final", min_value=0, max_value=1),
                *_non_negative("registrations"),
                _block(
                    "ExpectColumnPairValuesAToBeGreaterThanB",
                    column_A="final_registrations",
                    column_B="registrations",
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                ),
            ),
        ),
        MartSpec(
            name="webinar_forecast",
            key=("platform", "webinar_id"),
            required=False,
            checks=(
                *(
                    _block(
                        "ExpectColumnPairValuesAToBeGreaterThanB",
                        column_A=a,
                        column_B=b,
                        or_equal=True,
                        ignore_row_if="either_value_is_missing",
                    )
                    for a, b in (
                        ("forecast_registrations", "registered_so_far"),
                        ("forecast_registrations", "forecast_registrations_low"),
                        ("forecast_registrations_high", "forecast_registrations"),
                    )
                ),
                _rate_between_0_and_1("expected_show_up_rate"),
                _block(
                    "ExpectColumnValuesToBeInSet",
                    column="pace_status",
                    value_set=["ahead", "on track", "behind", "well behind", "not started", "no comparables"],
                ),
            ),
        ),
        MartSpec(
            name="forecast_backtest",
            key=("platform", "webinar_id", "horizon_days"),
            required=False,
            checks=(
                _block("ExpectColumnValuesToBeBetween", column="final_registrations", min_value=1),
                *_non_negative("forecast_abs_error", "baseline_abs_error"),
            ),
        ),
        MartSpec(
            name="webinar_flags",
            key=("flag", "flagged_key"),
            required=False,
            checks=(
                _block(
                    "ExpectColumnValuesToBeInSet",
                    column="flag",
                    value_set=["show_up_outside_band", "pace_well_behind", "course_registrations_drop"],
                ),
                *_not_null("reason"),
            ),
        ),
        # Where registrants come from, who returns, how engaged they are (models/marts/audience).
        MartSpec(
            name="channel_performance",
            key=("webinar_month", "platform", "course", "language", "channel"),
            required=False,
            checks=(
                _rows_present(),
                *_not_null("registrations", "attended"),
                _block("ExpectColumnValuesToBeInSet", column="channel", value_set=list(CHANNELS)),
                _rate_between_0_and_1("show_up_rate"),
                _rate_between_0_and_1("share_of_registrations"),
                _block(
                    "UnexpectedRowsExpectation",
                    "the channel shares of every (month, platform, course, language) sum to 1",
                    unexpected_rows_query=(
                        "select webinar_month, platform, course, language, sum(share_of_registrations) "
                        "from {batch} group by 1, 2, 3, 4 "
                        "having abs(sum(share_of_registrations) - 1) > 0.00001 * count(*)"
                    ),
                ),
                _block(
                    "UnexpectedRowsExpectation",
                    "attended + no_show_replay_viewers <= registrations",
                    unexpected_rows_query=(
                        "select webinar_month, channel from {batch} "
                        "where attended + no_show_replay_viewers > registrations"
                    ),
                ),
            ),
        ),
        MartSpec(
            name="unmapped_channel_values",
            key=("signal", "raw_value"),
            required=False,
            checks=(
                # Values the business has not mapped yet: their registrations are 'unknown'.
                _warn(
                    "UnexpectedRowsExpectation",
                    "no channel signal value the seed channel_map does not map",
                    unexpected_rows_query="select signal, raw_value, registrations from {batch}",
                ),
            ),
        ),
        MartSpec(
            name="audience_people",
            key=("person_key",),
            required=False,
            sensitive=("person_key",),
            # one row per person, re-derived whole (int_audience_people, incremental per person)
            incremental_column="_built_at",
            checks=(
                _block("ExpectColumnValuesToMatchRegex", column="person_key", regex=PERSON_KEY_REGEX),
                _block(
                    "UnexpectedRowsExpectation",
                    "webinars_attended and recordings_watched <= webinars_registered",
                    unexpected_rows_query=(
                        "select webinars_registered from {batch} where webinars_attended > "
                        "webinars_registered or recordings_watched > webinars_registered"
                    ),
                ),
            ),
        ),
        MartSpec(
            name="audience_monthly",
            key=("webinar_month", "course", "language"),
            required=False,
            checks=(
                _rows_present(),
                *_non_negative("new_registrants", "returning_registrants", "repeat_attendees"),
                _block(
                    "UnexpectedRowsExpectation",
                    "new + returning = registrants; repeat attendees <= attendees <= registrants",
                    unexpected_rows_query=(
                        "select webinar_month, course, language from {batch} "
                        "where new_registrants + returning_registrants <> registrants "
                        "or repeat_attendees > attendees or attendees > registrants"
                    ),
                ),
                _rate_between_0_and_1("returning_share"),
            ),
        ),
        MartSpec(
            name="audience_cohorts",
            key=("cohort_month", "first_course", "first_language"),
            required=False,
            checks=(
                *_non_negative("cohort_size"),
                *(
                    _rate_between_0_and_1(f"{kind}_again_{days}d")
                    for kind in ("registered", "attended")
                    for days in (30, 90, 180)
                ),
                _block(
                    "UnexpectedRowsExpectation",
                    "a longer window never holds a smaller share",
                    unexpected_rows_query=(
                        "select cohort_month from {batch} where registered_again_90d < "
                        "registered_again_30d or registered_again_180d < registered_again_90d "
                        "or attended_again_90d < attended_again_30d "
                        "or attended_again_180d < attended_again_90d"
                    ),
                ),
            ),
        ),
        MartSpec(
            name="webinar_engagement",
            key=("platform", "webinar_id"),
            required=False,
            checks=(
                _block(
                    "UnexpectedRowsExpectation",
                    "stayed_60m <= stayed_30m <= stayed_15m <= attended <= registered",
                    unexpected_rows_query=(
                        "select platform, webinar_id from {batch} where stayed_60m > stayed_30m "
                        "or stayed_30m > stayed_15m or stayed_15m > attended or attended > registered"
                    ),
                ),
                _block(
                    "ExpectColumnValuesToBeBetween", column="avg_engagement_score", min_value=0, max_value=100
                ),
                _block(
                    "ExpectColumnValuesToBeBetween",
                    column="avg_attentiveness_score",
                    min_value=0,
                    max_value=100,
                ),
            ),
        ),
        # Vendor values the pipeline did not know, and where they landed (dbt mart of the same
        # name): normally empty. A row is a warning for the on-call person, never a block - the
        # values are already in their documented buckets (docs/design.md, "Vendor values").
        MartSpec(
            name="vendor_value_notices",
            key=("field", "raw_value"),
            # A report about the data, not the numbers: without it the marts still publish.
            required=False,
            checks=(
                _warn(
                    "UnexpectedRowsExpectation",
                    "no vendor value the pipeline does not know (each row of the mart names the "
                    "field, raw value, bucket and webinars)",
                    unexpected_rows_query=(
                        "select field, raw_value, bucket, example_webinar_ids from {batch}"
                    ),
                ),
                _block("ExpectColumnValuesToBeInSet", column="bucket", value_set=["other", "unmapped"]),
                *_non_negative("webinars", "records"),
            ),
        ),
    )
}


def _common_checks(spec: MartSpec) -> tuple[Check, ...]:
    """Checks every mart gets: schema contract, no PII-looking column, key not null and unique."""
    checks: list[Check] = [
        # All contract columns present (extra columns allowed here) ...
        _whole_table(
            _block(
                "ExpectTableColumnsToMatchSet",
                description="every contract column present",
                column_set=list(spec.columns),
                exact_match=False,
            )
        ),
        # ... and extra columns reported, so the contract (MARTS) gets updated.
        _whole_table(
            _warn(
                "ExpectTableColumnsToMatchSet",
                description="exactly the contract columns",
                column_set=list(spec.columns),
                exact_match=True,
            )
        ),
        # {batch} is GX's subquery of the asset. The column names come from the batch itself
        # (the keys of one row as jsonb), so any row of this query is an e-mail-like column.
        # An empty mart passes vacuously: it holds no e-mail either (row counts are checked
        # separately). No JOIN keyword on purpose: GX then aliases {batch} itself.
        _whole_table(
            _block(
                "UnexpectedRowsExpectation",
                description=f"no column named like '{PII_COLUMN_PATTERN}' (clear-text PII)",
                unexpected_rows_query=(
                    "select k.column_name "
                    "from (select * from {batch} limit 1) as one_row, "
                    "jsonb_object_keys(to_jsonb(one_row)) as k(column_name) "
                    f"where k.column_name ilike '{PII_COLUMN_PATTERN}'"
                ),
            )
        ),
    ]
    if spec.incremental_column:
        # A row without a watermark would never fall in a validation scope. On the whole table,
        # through the mart's index on the column (b-tree indexes nulls too).
        column = spec.incremental_column
        checks.append(
            _whole_table(
                _block(
                    "UnexpectedRowsExpectation",
                    description=f"{column} never null (such a row would never be validated)",
                    unexpected_rows_query=f"select {column} from {{batch}} where {column} is null",
                )
            )
        )
    # Row-level: on an incremental mart, on the rows changed since the published version. The
    # uniqueness of the key there is the uniqueness in the whole table because a build
    # re-derives whole groups of the key: every key of fct_registrations includes (platform,
    # webinar_id) and a build re-derives whole webinars, so all rows of a webinar carry the same
    # watermark and a duplicate of a changed row is a changed row too; audience_people copies
    # int_audience_people, whose unique index on person_key already refuses a duplicate.
    checks += _not_null(*spec.key)
    if len(spec.key) > 1:
        checks.append(_block("ExpectCompoundColumnsToBeUnique", column_list=list(spec.key)))
    else:
        checks.append(_block("ExpectColumnValuesToBeUnique", column=spec.key[0]))
    return tuple(checks)


class SuitePart(StrEnum):
    """Which checks of a mart a suite holds (an incremental mart is validated in two parts)."""

    ALL = "all"
    WHOLE_TABLE = "whole_table"
    """Checks with ``whole_table`` set: run on the whole table."""
    ROWS = "changed_rows"
    """The row-level checks: run on the rows changed since the published version."""

    def suite_name(self, mart: str) -> str:
        """GX suite (and validation definition) name: the mart's name, plus the part if split."""
        return mart if self is SuitePart.ALL else f"{mart}.{self.value}"

    def includes(self, check: Check) -> bool:
        """Whether ``check`` belongs to this part."""
        return self is SuitePart.ALL or check.whole_table == (self is SuitePart.WHOLE_TABLE)


def checks_for(name: str, part: SuitePart = SuitePart.ALL) -> tuple[Check, ...]:
    """The checks of mart ``name`` in ``part``: the common ones first, then its own.

    Checks reading a ``sensitive`` column are switched to counts-only reporting.
    """
    spec = MARTS[name]
    return tuple(
        replace(c, show_values=False) if set(c.columns) & set(spec.sensitive) else c
        for c in _common_checks(spec) + spec.checks
        if part.includes(c)
    )


def build_suite(name: str, *, run_date: dt.date, part: SuitePart = SuitePart.ALL) -> ExpectationSuite:
    """Build the GX expectation suite of mart ``name`` for a run on ``run_date``.

    Args:
        name: a key of :data:`MARTS`.
        run_date: the run's date (Airflow: the data interval's end in ``DWH_TIMEZONE``); bounds
            such as the latest plausible ``webinar_date`` are computed from it, never from
            ``today()``, so a rerun validates exactly as the original run did.
        part: every check (default), or only the whole-table or the row-level ones (the two
            suites of an incremental mart validated on its changed rows).

    Returns:
        A new, unsaved ``gx.ExpectationSuite`` named ``part.suite_name(name)``.

    Raises:
        KeyError: ``name`` is not a known mart.
    """
    import great_expectations as gx

    if name not in MARTS:
        raise KeyError(f"unknown mart {name!r}; known: {', '.join(MARTS)}")
    if isinstance(run_date, dt.datetime):
        run_date = run_date.date()
    return gx.ExpectationSuite(
        name=part.suite_name(name), expectations=[c.build(run_date) for c in checks_for(name, part)]
    )


def build_suites(*, run_date: dt.date, names: Iterable[str] | None = None) -> dict[str, ExpectationSuite]:
    """Build the suites of ``names`` (default: all of :data:`MARTS`), keyed by mart name."""
    return {n: build_suite(n, run_date=run_date) for n in (MARTS if names is None else names)}
