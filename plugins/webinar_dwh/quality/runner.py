"""Validate the freshly built marts with Great Expectations (GX Core 1.x) before publishing.

The gate in the pipeline: dbt builds the marts into ``marts_build``; :func:`validate_marts` runs
the suites of :mod:`webinar_dwh.quality.suites` against them; ``report.raise_for_blocking()``
stops the DAG run (and so the publish to ``marts``) when a blocking expectation failed or a
required mart is missing. Warn-level failures are logged and reported, never raised.

A typical Airflow task::

    @task
    def validate_marts_build(data_interval_end=None) -> dict:
        from webinar_dwh.quality import validate_marts
        report = validate_marts(dwh_url, schema="marts_build", run_date=data_interval_end.date())
        report.raise_for_blocking()
        return report.to_dict()  # small: fits an XCom

An incremental mart (``MartSpec.incremental_column``: ``fct_registrations._watermark``) whose
published version (``marts.<name>``) exists and has that column is validated in two parts:
its whole-table checks (columns, PII column names, rows present, watermark never null) on the
table, its row-level checks on a GX query asset selecting only the rows with
``_watermark > max(_watermark)`` of the published version, plus the webinars whose ``is_held``
flipped between the published version's ``as_of`` and the build's (``MartSpec.cutoff_relation``)
— every row (re)written since the version BI sees. (A build re-deriving rows from raw always
stores a newer watermark: the run loaded raw first; a rebuild from the same raw rewrites the
same values.) That stays right after a failed gate: the next run's scope still starts at the
last *published* version, so it re-validates whatever the failed build wrote. Otherwise (first
run, no published version, one without the column) the whole table is validated. The report
says which scope each mart was validated on.

GX runs in an ephemeral (in-memory) context created per call; GX and SQLAlchemy are imported only
inside :func:`validate_marts` (importing GX costs ~6 s), so importing this module is cheap. The
DSN's password never reaches a log line, an exception message or the report.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from webinar_dwh.quality.suites import MARTS, Severity, SuitePart, build_suite
from webinar_dwh.warehouse.builds import ChangedRows, changed_rows

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = [
    "FailedExpectation",
    "QualityGateFailed",
    "TableResult",
    "ValidationReport",
    "ValidationScope",
    "to_sqlalchemy_url",
    "validate_marts",
]

logger = logging.getLogger(__name__)

#: The rows a mart's row-level expectations read (one definition, shared with publish).
ValidationScope = ChangedRows

#: How many distinct unexpected values a failure message shows.
MAX_EXAMPLES = 3
#: GX ``partial_unexpected_count``: unexpected values fetched per failed expectation.
_PARTIAL_UNEXPECTED_COUNT = 20
_DATASOURCE = "dwh"
_DOCS_SITE = "marts_quality_gate"
# Expectation kwargs that name the domain (shown first, bare) or are noise in a message.
_COLUMN_KWARGS = ("column", "column_A", "column_B", "column_list")
_HIDDEN_KWARGS = {"batch_id", "unexpected_rows_query", "column_set", "result_format"}
_KWARG_LABELS = {"min_value": "min", "max_value": "max", "value_set": "set"}
# Display order of the arguments (GX stores kwargs sorted by name); unknown ones alphabetically
# before ``mostly``, which always comes last.
_KWARG_ORDER = {"min_value": 0, "max_value": 1, "value_set": 2, "regex": 3, "mostly": 99}


class QualityGateFailed(Exception):
    """Blocking data-quality failures: the marts must not be published.

    Attributes:
        failures: the failed blocking expectations (missing required marts included).
    """

    def __init__(self, failures: Sequence[FailedExpectation], *, schema: str) -> None:
        self.failures = tuple(failures)
        lines = [f"Quality gate failed for schema {schema}: {len(self.failures)} blocking check(s)"]
        lines += [f"  - {f.describe()}" for f in self.failures]
        super().__init__("\n".join(lines))


@dataclass(frozen=True, slots=True)
class FailedExpectation:
    """One expectation that failed (or could not be evaluated) on one table.

    Attributes:
        table: mart name.
        expectation_type: GX snake-case type, e.g. ``expect_column_values_to_be_between``;
            ``table_exists`` for a missing mart.
        columns: the column(s) the expectation is about (empty for table-level ones).
        severity: blocking or warn.
        arguments: the other expectation arguments worth showing (``min``, ``max``, ``mostly``…).
        description: human text used instead of ``arguments`` where those are SQL.
        observed_value: GX's observed value (aggregate expectations), if any.
        unexpected_count: rows violating a row-level expectation, if any.
        element_count: rows in the table (row-level expectations).
        unexpected_percent: share of non-null rows violating, in percent.
        unexpected_examples: a few distinct offending values (tuples for multi-column checks);
            empty when the check withholds values that may be PII.
        details: extra text (missing/unexpected columns, an evaluation error).
        scoped: the expectation read only the rows changed since the published version
            (``element_count`` counts those).
        webinars: ``platform:webinar_id`` of a few offending rows (row-level checks on one
            column of a mart with a ``webinar_id``; empty when the values are withheld).
    """

    table: str
    expectation_type: str
    columns: tuple[str, ...]
    severity: Severity
    arguments: tuple[tuple[str, Any], ...] = ()
    description: str | None = None
    observed_value: Any = None
    unexpected_count: int | None = None
    element_count: int | None = None
    unexpected_percent: float | None = None
    unexpected_examples: tuple[Any, ...] = ()
    details: str | None = None
    scoped: bool = False
    webinars: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the on-call person, e.g.

        ``webinar_attendance: expect_column_values_to_be_between(webinar_date, min=2015-01-01,
        max=2028-11-25) failed — 3 unexpected values, e.g. 2099-03-01 (1.5% of 200 rows)``
        """
        if self.description:
            args = self.description
        else:
            args = ", ".join(
                [*self.columns, *(f"{_KWARG_LABELS.get(k, k)}={_fmt(v)}" for k, v in self.arguments)]
            )
        return f"{self.table}: {self.expectation_type}({args}) failed — {self.outcome()}"

    def outcome(self) -> str:
        """What was observed, in words."""
        if self.details and self.unexpected_count is None:
            return self.details
        if self.unexpected_count is not None:
            n = self.unexpected_count
            text = f"{n} unexpected value{'s' if n != 1 else ''}"
            if self.unexpected_examples:
                text += ", e.g. " + "; ".join(self._example(v) for v in self.unexpected_examples)
            if self.element_count is not None and self.unexpected_percent is not None:
                rows = "changed rows" if self.scoped else "rows"
                text += f" ({self.unexpected_percent:.1f}% of {self.element_count} {rows})"
            if self.webinars:
                text += "; webinars: " + ", ".join(self.webinars)
            return text
        if self.expectation_type == "unexpected_rows_expectation":
            return f"{self.observed_value} found"
        return f"observed {_fmt(self.observed_value)}"

    def _example(self, value: Any) -> str:
        if isinstance(value, (list, tuple)) and len(value) == len(self.columns) > 1:
            return ", ".join(f"{c}={_fmt(v, quote=True)}" for c, v in zip(self.columns, value, strict=True))
        return _fmt(value, quote=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary."""
        return {
            "table": self.table,
            "expectation_type": self.expectation_type,
            "columns": list(self.columns),
            "severity": self.severity.value,
            "unexpected_count": self.unexpected_count,
            "observed_value": _jsonable(self.observed_value),
            "unexpected_examples": [_jsonable(v) for v in self.unexpected_examples],
            "scoped": self.scoped,
            "webinars": list(self.webinars),
            "message": self.describe(),
        }


@dataclass(slots=True)
class TableResult:
    """The outcome for one mart.

    Attributes:
        table: mart name.
        status: ``passed`` (every expectation met), ``warned`` (only warn-level failures),
            ``failed`` (a blocking failure), ``missing`` (required mart absent) or ``skipped``
            (optional mart absent).
        evaluated: number of expectations run.
        failures: failed expectations, blocking first, in suite order.
        scope: the rows the row-level expectations read.
    """

    table: str
    status: str
    evaluated: int = 0
    failures: list[FailedExpectation] = field(default_factory=list)
    scope: ValidationScope = field(default_factory=ValidationScope)

    @property
    def success(self) -> bool:
        """True when every expectation was met (GX's meaning of success)."""
        return self.status == "passed"

    @property
    def blocking(self) -> list[FailedExpectation]:
        return [f for f in self.failures if f.severity is Severity.BLOCKING]

    @property
    def warnings(self) -> list[FailedExpectation]:
        return [f for f in self.failures if f.severity is Severity.WARN]


@dataclass(slots=True)
class ValidationReport:
    """Result of :func:`validate_marts` for one schema and run date.

    Attributes:
        schema: the validated schema (normally ``marts_build``).
        run_date: the run date the date bounds were computed from.
        tables: per-mart results, in :data:`~webinar_dwh.quality.suites.MARTS` order.
        data_docs_index: ``index.html`` of the Data Docs site, when one was built.
        duration_s: wall time of the validation (GX import excluded).
        checkpoint_result: GX's own ``CheckpointResult`` of the run (``None`` when no mart
            existed), for anything GX tooling does with it; this report is a view on it that
            adds what the on-call person needs (severity, redaction, offending webinars).
    """

    schema: str
    run_date: dt.date
    tables: dict[str, TableResult] = field(default_factory=dict)
    data_docs_index: Path | None = None
    duration_s: float = 0.0
    checkpoint_result: Any = None

    @property
    def blocking_failures(self) -> list[FailedExpectation]:
        return [f for t in self.tables.values() for f in t.blocking]

    @property
    def warnings(self) -> list[FailedExpectation]:
        return [f for t in self.tables.values() for f in t.warnings]

    @property
    def passed(self) -> bool:
        """True when nothing blocks publishing (warn-level failures allowed)."""
        return not self.blocking_failures

    def raise_for_blocking(self) -> None:
        """Raise :class:`QualityGateFailed` listing every blocking failure; no-op otherwise."""
        if not self.passed:
            raise QualityGateFailed(self.blocking_failures, schema=self.schema)

    def summary(self) -> str:
        """Multi-line human summary (one line per table, then every failure)."""
        lines = [
            f"Quality gate on {self.schema} (run date {self.run_date.isoformat()}): "
            + ("PASSED" if self.passed else "FAILED")
            + (f" with {len(self.warnings)} warning(s)" if self.warnings else "")
        ]
        for t in self.tables.values():
            lines.append(f"  {t.table}: {t.status} ({t.evaluated} expectations; scope: {t.scope.describe()})")
            lines += [f"    [{f.severity.value}] {f.describe()}" for f in t.failures]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Small JSON-safe summary (fits an Airflow XCom)."""
        return {
            "schema": self.schema,
            "run_date": self.run_date.isoformat(),
            "passed": self.passed,
            "tables": {
                name: {
                    "status": t.status,
                    "evaluated": t.evaluated,
                    "scope": t.scope.to_dict(),
                    "failures": [f.to_dict() for f in t.failures],
                }
                for name, t in self.tables.items()
            },
            "data_docs_index": str(self.data_docs_index) if self.data_docs_index else None,
        }


# --- public entry point --------------------------------------------------------------------------


def validate_marts(
    dsn_or_sqlalchemy_url: str,
    *,
    schema: str = "marts_build",
    run_date: dt.date,
    tables: list[str] | None = None,
    data_docs_dir: Path | None = None,
    published_schema: str | None = "marts",
) -> ValidationReport:
    """Run the expectation suites of the marts in ``schema`` and report, without raising.

    Args:
        dsn_or_sqlalchemy_url: the warehouse: a libpq URI (``postgresql://u:p@h:5432/db``), a
            libpq key/value DSN (``host=h dbname=db user=u``) or a SQLAlchemy URL
            (``postgresql+psycopg://…``); the role needs ``SELECT`` on the marts.
        schema: schema holding the marts to validate.
        run_date: the run's date (Airflow: the data interval's end, as a date); date bounds
            such as "at most two years ahead" are computed from it, so reruns are reproducible.
        tables: marts to validate (default: every mart of
            :data:`~webinar_dwh.quality.suites.MARTS`).
        data_docs_dir: if given, a GX Data Docs site (static HTML) is built there; a failure to
            build it is logged and does not affect the gate.
        published_schema: where the published versions of the marts live. An incremental mart
            whose published version there has its incremental column is validated on the rows
            changed since that version (row-level checks; whole-table checks on the table);
            ``None`` validates every mart whole.

    Returns:
        The report; call :meth:`ValidationReport.raise_for_blocking` to enforce the gate.
        A missing required mart is a blocking failure (``table_exists``); a missing optional
        mart is skipped with a warning.

    Raises:
        ValueError: an unknown mart name in ``tables``.
        ConnectionError: the warehouse cannot be reached (message without the password).
    """
    names = list(MARTS) if tables is None else list(dict.fromkeys(tables))
    unknown = [n for n in names if n not in MARTS]
    if unknown:
        raise ValueError(f"unknown mart(s) {unknown}; known: {', '.join(MARTS)}")

    if isinstance(run_date, dt.datetime):  # e.g. a pendulum DateTime from the Airflow context
        run_date = run_date.date()
    url = to_sqlalchemy_url(dsn_or_sqlalchemy_url)
    safe_url = url.render_as_string(hide_password=True)
    redact = _Redactor(url.password)
    started = time.monotonic()
    logger.info("Validating marts %s in schema %s of %s", ", ".join(names), schema, safe_url)

    with _quiet_gx_logging():
        report = _run(
            url,
            redact,
            names,
            schema=schema,
            run_date=run_date,
            data_docs_dir=data_docs_dir,
            published_schema=published_schema,
        )
    report.duration_s = round(time.monotonic() - started, 3)
    _log(report)
    return report


def _run(
    url: URL,
    redact: _Redactor,
    names: list[str],
    *,
    schema: str,
    run_date: dt.date,
    data_docs_dir: Path | None,
    published_schema: str | None,
) -> ValidationReport:
    """The GX part of :func:`validate_marts`."""
    import great_expectations as gx

    safe_url = url.render_as_string(hide_password=True)
    context = _ephemeral_context()
    try:
        datasource = context.data_sources.add_postgres(
            name=_DATASOURCE, connection_string=url.render_as_string(hide_password=False)
        )
    except Exception as exc:  # GX wraps driver errors in its own types
        raise ConnectionError(
            f"cannot connect to the warehouse {safe_url}: {redact(_first_line(exc))}"
        ) from None

    report = ValidationReport(schema=schema, run_date=run_date)
    engine = datasource.get_engine()
    try:
        present = _existing_relations(engine, schema)
        validations = []
        # suite name -> (mart, suite, whether it reads only the changed rows)
        suites: dict[str, tuple[str, Any, bool]] = {}
        scopes: dict[str, ValidationScope] = {}
        for name in names:
            if name in present:
                scope = scopes[name] = _scope(engine, schema, name, published_schema)
                table = datasource.add_table_asset(name=name, table_name=name, schema_name=schema)
                parts: list[tuple[SuitePart, Any]] = [(SuitePart.ALL, table)]
                if scope.query is not None:
                    changed = datasource.add_query_asset(
                        name=SuitePart.ROWS.suite_name(name), query=scope.query
                    )
                    parts = [(SuitePart.WHOLE_TABLE, table), (SuitePart.ROWS, changed)]
                for part, asset in parts:
                    suite = context.suites.add(build_suite(name, run_date=run_date, part=part))
                    suites[suite.name] = (name, suite, part is SuitePart.ROWS)
                    validations.append(
                        context.validation_definitions.add(
                            gx.ValidationDefinition(
                                name=suite.name,
                                data=asset.add_batch_definition_whole_table(name="whole_table"),
                                suite=suite,
                            )
                        )
                    )
            elif MARTS[name].required:
                report.tables[name] = TableResult(
                    table=name,
                    status="missing",
                    failures=[
                        FailedExpectation(
                            table=name,
                            expectation_type="table_exists",
                            columns=(),
                            severity=Severity.BLOCKING,
                            description=f"{schema}.{name}",
                            details="required mart does not exist (did dbt build it?)",
                        )
                    ],
                )
            else:
                report.tables[name] = TableResult(table=name, status="skipped")
                logger.warning("Optional mart %s.%s does not exist: skipped", schema, name)

        if validations:
            checkpoint = context.checkpoints.add(
                gx.Checkpoint(
                    name="marts_quality_gate",
                    validation_definitions=validations,
                    result_format={
                        "result_format": "SUMMARY",
                        "partial_unexpected_count": _PARTIAL_UNEXPECTED_COUNT,
                    },
                )
            )
            result = report.checkpoint_result = checkpoint.run()
            by_mart: dict[str, list[tuple[Any, Any, bool]]] = {}
            for suite_result in result.run_results.values():
                mart, suite, scoped = suites[suite_result.suite_name]
                by_mart.setdefault(mart, []).append((suite, suite_result, scoped))
            for mart, results in by_mart.items():
                table = _table_result(mart, results, redact, scopes[mart])
                table.failures = [_with_webinars(engine, schema, mart, f) for f in table.failures]
                report.tables[mart] = table
    finally:
        engine.dispose()

    report.tables = {n: report.tables[n] for n in names}
    if data_docs_dir is not None:
        report.data_docs_index = _build_data_docs(context, Path(data_docs_dir))
    return report


def to_sqlalchemy_url(dsn_or_sqlalchemy_url: str) -> URL:
    """Normalise a libpq URI / key-value DSN / SQLAlchemy URL to a ``postgresql+psycopg`` URL.

    Raises:
        ValueError: the string is none of these (the message never contains the password).
    """
    from sqlalchemy.engine import URL, make_url

    text = dsn_or_sqlalchemy_url.strip()
    if "://" in text:
        try:
            url = make_url(text)
        except Exception:
            raise ValueError("not a valid PostgreSQL URI / SQLAlchemy URL") from None
        if url.get_backend_name() not in {"postgresql", "postgres"}:
            raise ValueError(f"not a PostgreSQL URL (backend {url.get_backend_name()!r})")
        return url.set(drivername="postgresql+psycopg")

    from psycopg.conninfo import conninfo_to_dict

    try:
        params = {k: str(v) for k, v in conninfo_to_dict(text).items() if v is not None}
    except Exception:
        raise ValueError("not a valid libpq key/value DSN") from None
    port = params.pop("port", None)
    return URL.create(
        "postgresql+psycopg",
        username=params.pop("user", None),
        password=params.pop("password", None),
        host=params.pop("host", None) or params.pop("hostaddr", None),
        port=int(port) if port else None,
        database=params.pop("dbname", None),
        query=params,
    )


# --- internals -----------------------------------------------------------------------------------


class _Redactor:
    """Replaces the password wherever it might appear in text bound for logs or exceptions."""

    def __init__(self, password: str | None) -> None:
        self._secrets = [s for s in {password, _quote(password)} if s]

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _quote(value: str | None) -> str | None:
    from urllib.parse import quote

    return quote(value, safe="") if value else None


@contextmanager
def _quiet_gx_logging() -> Iterator[None]:
    """Raise GX's own loggers to WARNING while validating: its INFO lines (dozens per
    expectation) would bury the gate's messages in the Airflow task log."""
    gx_logger = logging.getLogger("great_expectations")
    previous = gx_logger.level
    if gx_logger.getEffectiveLevel() < logging.WARNING:
        gx_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        gx_logger.setLevel(previous)


def _ephemeral_context() -> Any:
    """An in-memory GX context: no files, no usage statistics, no progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _existing_relations(engine: Any, schema: str) -> set[str]:
    """Names of the tables, views and materialized views in ``schema``."""
    import sqlalchemy as sa

    query = sa.text(
        "select c.relname from pg_catalog.pg_class as c "
        "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace "
        "where n.nspname = :schema and c.relkind in ('r', 'p', 'v', 'm', 'f')"
    )
    with engine.connect() as conn:
        return set(conn.execute(query, {"schema": schema}).scalars())


def _scope(engine: Any, schema: str, name: str, published_schema: str | None) -> ValidationScope:
    """The rows the row-level checks of ``schema.name`` read: the changed rows of an incremental
    mart (:func:`~webinar_dwh.warehouse.builds.changed_rows`), else the whole table."""
    spec = MARTS[name]
    if spec.incremental_column is None:
        return ValidationScope()
    with engine.connect() as conn:  # the psycopg connection under SQLAlchemy's
        return changed_rows(
            conn.connection.driver_connection,
            schema,
            name,
            published_schema,
            column=spec.incremental_column,
            cutoff_relation=spec.cutoff_relation,
        )


def _table_result(
    name: str, results: list[tuple[Any, Any, bool]], redact: _Redactor, scope: ValidationScope
) -> TableResult:
    """Turn a mart's GX ``ExpectationSuiteValidationResult`` s into a :class:`TableResult`.

    ``results`` holds ``(suite, suite_result, scoped)``: one suite, or the whole-table and the
    changed-rows suite of an incremental mart. Failures are ordered blocking first, then as the
    expectations appear in the suites (GX returns results in its own order).
    """
    order: dict[Any, int] = {}
    for suite, _, _ in results:
        order.update({e.id: len(order) + i for i, e in enumerate(suite.expectations)})
    failures: list[tuple[int, int, FailedExpectation]] = []
    evaluated = 0
    for _, suite_result, scoped in results:
        evaluated += len(suite_result.results)
        for res in suite_result.results:
            if res.success:
                continue
            failure = _failed_expectation(name, res, redact, scoped=scoped)
            rank = 0 if failure.severity is Severity.BLOCKING else 1
            failures.append((rank, order.get(res.expectation_config.id, len(order)), failure))
    failures.sort(key=lambda item: (item[0], item[1]))
    found = [f for _, _, f in failures]
    if any(f.severity is Severity.BLOCKING for f in found):
        status = "failed"
    else:
        status = "warned" if found else "passed"
    return TableResult(table=name, status=status, evaluated=evaluated, failures=found, scope=scope)


def _failed_expectation(
    table: str, res: Any, redact: _Redactor, *, scoped: bool = False
) -> FailedExpectation:
    """Extract what the on-call person needs from one failed ``ExpectationValidationResult``."""
    config = res.expectation_config
    kwargs: dict[str, Any] = dict(config.kwargs)
    meta = config.meta or {}
    try:
        severity = Severity(meta.get("severity", Severity.BLOCKING))
    except ValueError:
        severity = Severity.BLOCKING  # unknown tag: fail safe

    columns: list[str] = []
    for key in _COLUMN_KWARGS:
        value = kwargs.get(key)
        if isinstance(value, str):
            columns.append(value)
        elif isinstance(value, list):
            columns.extend(value)
    arguments = tuple(
        sorted(
            (
                (k, v)
                for k, v in kwargs.items()
                if k not in _COLUMN_KWARGS and k not in _HIDDEN_KWARGS and v is not None
            ),
            key=lambda kv: (_KWARG_ORDER.get(kv[0], len(_KWARG_ORDER)), kv[0]),
        )
    )
    result: dict[str, Any] = dict(res.result or {})

    details = None
    exception = _exception_message(res)
    if exception:
        details = "could not be evaluated: " + redact(exception)
    mismatched = (result.get("details") or {}).get("mismatched") if isinstance(result, dict) else None
    if mismatched:
        parts = []
        if mismatched.get("missing"):
            parts.append("missing columns: " + ", ".join(map(str, mismatched["missing"])))
        if mismatched.get("unexpected"):
            parts.append("unexpected columns: " + ", ".join(map(str, mismatched["unexpected"])))
        details = "; ".join(parts)

    examples: list[Any] = []
    shown = result.get("partial_unexpected_list") or () if meta.get("show_values", True) else ()
    for value in shown:
        value = tuple(value) if isinstance(value, list) else value
        if isinstance(value, dict):
            value = tuple(value.get(c) for c in columns) if columns else tuple(value.values())
        if value not in examples:
            examples.append(value)
        if len(examples) >= MAX_EXAMPLES:
            break

    return FailedExpectation(
        table=table,
        expectation_type=config.type,
        columns=tuple(columns),
        severity=severity,
        arguments=arguments,
        description=getattr(config, "description", None),
        observed_value=result.get("observed_value"),
        unexpected_count=result.get("unexpected_count"),
        element_count=result.get("element_count"),
        unexpected_percent=result.get("unexpected_percent"),
        unexpected_examples=tuple(examples),
        details=details,
        scoped=scoped,
    )


def _with_webinars(engine: Any, schema: str, table: str, failure: FailedExpectation) -> FailedExpectation:
    """``failure`` with the webinars of a few offending rows, where that can be said.

    Only for a row-level check on one column of a mart that has ``webinar_id`` and whose
    values may be shown: the rows holding one of the offending values (a null check: the
    null rows). Any error leaves the failure as it was - the gate's verdict never depends on it.
    """
    import sqlalchemy as sa

    values = [v for v in failure.unexpected_examples if not isinstance(v, tuple)]
    is_null_check = failure.expectation_type == "expect_column_values_to_not_be_null"
    if len(failure.columns) != 1 or not failure.unexpected_count or not (values or is_null_check):
        return failure
    if not is_null_check and len(values) != len(failure.unexpected_examples):
        return failure
    if not {"platform", "webinar_id"} <= set(MARTS[table].columns):
        return failure
    quote = engine.dialect.identifier_preparer.quote
    column = quote(failure.columns[0])
    numeric = all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in values)
    cast = "" if numeric else "::text"
    condition = f"{column} is null" if is_null_check else f"{column}{cast} in :values"
    query = sa.text(
        f"select distinct platform || ':' || webinar_id as webinar from {quote(schema)}.{quote(table)} "
        f"where {condition} order by 1 limit {MAX_EXAMPLES + 2}"
    )
    if not is_null_check:
        query = query.bindparams(sa.bindparam("values", expanding=True))
    try:
        with engine.connect() as conn:
            params = {} if is_null_check else {"values": values if numeric else [_fmt(v) for v in values]}
            found = tuple(r[0] for r in conn.execute(query, params) if r[0] is not None)
    except sa.exc.SQLAlchemyError:
        logger.debug("webinars of a failed check on %s could not be read", table, exc_info=True)
        return failure
    return replace(failure, webinars=found)


def _exception_message(res: Any) -> str | None:
    """The first exception message GX recorded for a result (metric errors are nested by id)."""
    info = res.exception_info or {}
    candidates: Iterable[Any] = [info] if "raised_exception" in info else info.values()
    for item in candidates:
        if isinstance(item, dict) and item.get("raised_exception"):
            return _first_line(item.get("exception_message") or "unknown error")
    return None


def _build_data_docs(context: Any, directory: Path) -> Path | None:
    """Build a filesystem Data Docs site into ``directory``; return its index page or None."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site(
            _DOCS_SITE,
            {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(directory.resolve()),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        context.build_data_docs(site_names=[_DOCS_SITE])
    except Exception:
        logger.warning("Building GX Data Docs in %s failed; gate unaffected", directory, exc_info=True)
        return None
    index = directory / "index.html"
    return index if index.exists() else None


def _log(report: ValidationReport) -> None:
    """Per-table status at INFO, blocking failures at ERROR, warn-level ones at WARNING."""
    for t in report.tables.values():
        logger.info(
            "%s.%s: %s (%d expectations; scope: %s)",
            report.schema,
            t.table,
            t.status,
            t.evaluated,
            t.scope.describe(),
        )
        for f in t.failures:
            log = logger.error if f.severity is Severity.BLOCKING else logger.warning
            log("[%s] %s", f.severity.value, f.describe())
    logger.info("%s (%.1f s)", report.summary().splitlines()[0], report.duration_s)


def _first_line(exc_or_text: object) -> str:
    text = str(exc_or_text).strip()
    return text.splitlines()[0] if text else type(exc_or_text).__name__


def _fmt(value: Any, *, quote: bool = False) -> str:
    """Render a value for a message: dates ISO, decimals plain, strings quoted on request."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return repr(value) if quote else value
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v, quote=True) for v in value) + ")"
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
