"""Data-quality gate: GX Core 1.x suites for the marts and the runner that validates them.

``validate_marts(...)`` validates ``marts_build`` and returns a :class:`ValidationReport`;
``report.raise_for_blocking()`` raises :class:`QualityGateFailed` when publishing must stop. An
incremental mart with a published version is validated on the rows changed since that version
(see :mod:`webinar_dwh.quality.runner`).
Importing this package does not import Great Expectations (that happens when a validation runs).
"""

from webinar_dwh.quality.runner import (
    FailedExpectation,
    QualityGateFailed,
    TableResult,
    ValidationReport,
    ValidationScope,
    to_sqlalchemy_url,
    validate_marts,
)
from webinar_dwh.quality.suites import MARTS, MartSpec, Severity, SuitePart, build_suite, build_suites

__all__ = [
    "MARTS",
    "FailedExpectation",
    "MartSpec",
    "QualityGateFailed",
    "Severity",
    "SuitePart",
    "TableResult",
    "ValidationReport",
    "ValidationScope",
    "build_suite",
    "build_suites",
    "to_sqlalchemy_url",
    "validate_marts",
]
