"""The identity of one morning run, independent of Airflow's objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from webinar_dwh import config


@dataclass(frozen=True)
class RunInfo:
    """The slice of the Airflow context the pipeline needs (small, serialisable, testable).

    Attributes:
        dag_run_id: Airflow run id (``manual__…`` outside Airflow).
        logical_date: The run's logical date (in the schedule's timezone).
        interval_start: Data interval start (UTC).
        interval_end: Data interval end (UTC): the "now" of this run.
        full_refresh: Re-pull from ``DWH_HISTORY_START`` ignoring cursors.
        lookback_days: Per-run override of ``DWH_LOOKBACK_DAYS``.
    """

    dag_run_id: str
    logical_date: date
    interval_start: datetime
    interval_end: datetime
    full_refresh: bool = False
    lookback_days: int | None = None

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> RunInfo:
        params = context.get("params") or {}
        start = context["data_interval_start"]
        end = context["data_interval_end"]
        tz = config.PipelineSettings.from_env().timezone
        logical = context.get("logical_date") or end
        run = context.get("dag_run")
        return cls(
            dag_run_id=getattr(run, "run_id", None) or str(context.get("run_id")),
            logical_date=(
                logical.in_timezone(tz).date() if hasattr(logical, "in_timezone") else logical.date()
            ),
            interval_start=_utc(start),
            interval_end=_utc(end),
            full_refresh=bool(params.get("full_refresh", False)),
            lookback_days=params.get("lookback_days"),
        )

    @classmethod
    def manual(cls, interval_end: datetime, *, full_refresh: bool = False) -> RunInfo:
        """A run outside Airflow (benchmark, scripts) ending at ``interval_end``."""
        end = interval_end.astimezone(UTC)
        return cls(
            dag_run_id=f"manual__{end.isoformat()}",
            logical_date=end.date(),
            interval_start=end - timedelta(days=1),
            interval_end=end,
            full_refresh=full_refresh,
        )


def _utc(moment: datetime) -> datetime:
    """A plain stdlib UTC datetime (pendulum's arithmetic with stdlib tzinfo can drop the zone)."""
    return datetime.fromtimestamp(moment.timestamp(), tz=UTC)


# --------------------------------------------------------------------------- warehouse
