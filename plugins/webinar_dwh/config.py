"""Settings from Airflow connections and the environment, validated once.

Secrets enter the project only here: through Airflow connections (``AIRFLOW_CONN_<ID>`` locally,
any secrets backend in production). Inside an Airflow task connections are resolved by Airflow
itself (so secrets backends work); elsewhere (benchmark, scripts) the same ``AIRFLOW_CONN_*``
variables are parsed here, in Airflow's JSON or URI form.

A misconfiguration raises :class:`ConfigError` naming the setting or connection to fix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from webinar_dwh.sources import REGISTRY, SOURCES

DEFAULT_CONN_IDS: dict[str, str] = {
    **{name: source.default_conn_id for name, source in REGISTRY.items()},
    "dwh": "dwh_default",
}


class ConfigError(ValueError):
    """A setting or connection is missing or invalid; the message says which and how to fix it."""


@dataclass(frozen=True)
class ConnectionInfo:
    """The parts of an Airflow connection the project uses (duck-compatible with Airflow's).

    ``password`` is excluded from ``repr`` so a logged object never shows the secret.
    """

    conn_id: str
    conn_type: str | None = None
    host: str | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    port: int | None = None
    extra_dejson: dict[str, Any] = field(default_factory=dict, repr=False)


def _env_name(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def _parse_env_connection(conn_id: str, value: str) -> ConnectionInfo:
    value = value.strip()
    if value.startswith("{"):
        try:
            data = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{_env_name(conn_id)} is not valid JSON ({exc.msg} at char {exc.pos})"
            ) from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{_env_name(conn_id)} must be a JSON object")
        extra = data.get("extra") or {}
        if isinstance(extra, str):
            try:
                extra = json.loads(extra) if extra.strip() else {}
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"{_env_name(conn_id)}: 'extra' is not valid JSON ({exc.msg} at char {exc.pos})"
                ) from exc
        if not isinstance(extra, dict):
            raise ConfigError(f"{_env_name(conn_id)}: 'extra' must be a JSON object")
        raw_port = data.get("port")
        try:
            port = None if raw_port is None or raw_port == "" else int(raw_port)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{_env_name(conn_id)}: 'port' must be a whole number") from exc
        return ConnectionInfo(
            conn_id=conn_id,
            conn_type=data.get("conn_type"),
            host=data.get("host"),
            login=data.get("login"),
            password=data.get("password"),
            schema=data.get("schema"),
            port=port,
            extra_dejson=extra,
        )
    parts = urlsplit(value)
    if not parts.scheme:
        raise ConfigError(f"{_env_name(conn_id)} must be a connection URI or Airflow's JSON form")
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{_env_name(conn_id)}: the port must be a whole number") from exc
    return ConnectionInfo(
        conn_id=conn_id,
        conn_type=parts.scheme.replace("postgresql", "postgres"),
        host=unquote(parts.hostname) if parts.hostname else None,
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        schema=parts.path.lstrip("/") or None,
        port=port,
        extra_dejson={},
    )


def _inside_airflow_task() -> bool:
    return bool(os.environ.get("AIRFLOW_CTX_DAG_ID")) or "SUPERVISOR_COMMS" in os.environ


def connection_defined(conn_id: str) -> bool:
    """Whether a connection is configured, without resolving secrets backends.

    Used to switch sources on and off: a source runs when its connection exists (or when
    ``DWH_ENABLE_<SOURCE>`` says so explicitly).
    """
    if os.environ.get(_env_name(conn_id)):
        return True
    if _inside_airflow_task():
        try:
            get_connection(conn_id)
        except ConfigError:
            return False
        return True
    return False


def _mask(conn: ConnectionInfo) -> ConnectionInfo:
    """Register the connection's secrets with Airflow's log masker (when Airflow is importable).

    Airflow masks what it resolves itself; connections parsed here from ``AIRFLOW_CONN_*`` must
    be registered explicitly so a secret that slips into a log line is shown as ``***``.
    """
    secrets = [conn.password] + [
        v for k, v in conn.extra_dejson.items() if isinstance(v, str) and _secret_like(k)
    ]
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # outside Airflow (bench, scripts): nothing to register with
        return conn
    for secret in secrets:
        if secret and len(secret) >= 4:
            mask_secret(secret)
    return conn


def _secret_like(key: str) -> bool:
    low = key.lower()
    return any(word in low for word in ("secret", "token", "password", "key")) and low != "account_id"


#: What the deployment templates (``.env.example``, docker-compose) put where a secret belongs.
PLACEHOLDER = "CHANGE_ME"


def _refuse_placeholder(conn: ConnectionInfo) -> ConnectionInfo:
    """Refuse a connection that still holds the templates' placeholder in any field."""
    fields = {
        "host": conn.host,
        "login": conn.login,
        "password": conn.password,
        "schema": conn.schema,
        **{f"extra.{k}": v for k, v in conn.extra_dejson.items() if isinstance(v, str)},
    }
    left = [name for name, value in fields.items() if value and PLACEHOLDER in value]
    if left:
        raise ConfigError(
            f"connection '{conn.conn_id}' still holds the placeholder {PLACEHOLDER} in "
            f"{', '.join(left)}: set the real value (Admin → Connections or {_env_name(conn.conn_id)})"
        )
    return conn


def get_connection(conn_id: str) -> ConnectionInfo:
    """Resolve a connection: through Airflow inside a task, else from ``AIRFLOW_CONN_<ID>``.

    Raises:
        ConfigError: the connection is not defined anywhere, or still holds the placeholder
            ``CHANGE_ME`` of the deployment templates.
    """
    raw = os.environ.get(_env_name(conn_id))
    if raw:
        return _refuse_placeholder(_mask(_parse_env_connection(conn_id, raw)))
    if _inside_airflow_task():
        try:
            from airflow.sdk import BaseHook

            conn = BaseHook.get_connection(conn_id)
        except Exception as exc:  # Airflow raises its own not-found type per version
            raise ConfigError(
                f"Airflow connection '{conn_id}' is not defined: add it in the UI "
                f"(Admin → Connections) or set {_env_name(conn_id)}"
            ) from exc
        return _refuse_placeholder(
            _mask(
                ConnectionInfo(
                    conn_id=conn_id,
                    conn_type=conn.conn_type,
                    host=conn.host,
                    login=conn.login,
                    password=conn.password,
                    schema=conn.schema,
                    port=conn.port,
                    extra_dejson=dict(conn.extra_dejson or {}),
                )
            )
        )
    raise ConfigError(f"connection '{conn_id}' is not defined: set {_env_name(conn_id)}")


_N = TypeVar("_N", int, float)


def _env_int(name: str, default: int, *, minimum: int = 0) -> int:
    return _env_number(name, default, int, minimum, "a whole number")


def _env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    return _env_number(name, default, float, minimum, "a number")


def _env_number(name: str, default: _N, parse: Callable[[str], _N], minimum: _N, kind: str) -> _N:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not {kind}") from exc
    if not value >= minimum:  # also rejects NaN
        raise ConfigError(f"{name}={value} must be >= {minimum}")
    return value


def _env_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _env_bool(name: str) -> bool | None:
    raw = os.environ.get(name)
    if not raw:
        return None
    low = raw.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} must be true or false")


@dataclass(frozen=True)
class PipelineSettings:
    """Non-secret pipeline settings (all from ``DWH_*`` environment variables).

    Attributes:
        timezone: IANA zone of the schedule and of reporting dates (``DWH_TIMEZONE``).
        lookback_days: How far before the cursor/interval end each run re-pulls (``DWH_LOOKBACK_DAYS``).
        lookahead_days: How far after the interval end scheduled webinars are pulled (``DWH_LOOKAHEAD_DAYS``).
        history_start: Where a first or full-refresh run starts (``DWH_HISTORY_START``).
        page_size: Page size asked of the APIs (``DWH_PAGE_SIZE``); vendors cap it.
        batch_parents: Parent objects (conferences, events, webinars) per landing transaction.
        max_retries: HTTP attempts per request (``DWH_HTTP_MAX_RETRIES``).
        http_backoff_cap: Upper bound in seconds of one exponential back-off step between HTTP
            retries (``DWH_HTTP_BACKOFF_CAP``); a server's ``Retry-After`` is honoured separately.
        schedule_cron: The morning schedule (``DWH_SCHEDULE``), in ``timezone``.
        task_retries: Airflow retries of a task that failed for a transient reason
            (``DWH_TASK_RETRIES``); credential and configuration errors are never retried.
        freshness_warn_hours: A source not loaded for this long is stale: an alert
            (``DWH_FRESHNESS_WARN_HOURS``).
        freshness_error_hours: ... and this long, an error-level stale source
            (``DWH_FRESHNESS_ERROR_HOURS``); never below the warn threshold.
        docs_dir: Where runs write GX Data Docs and dbt docs (``DWH_DOCS_DIR``; default
            ``.local/docs`` of the checkout).
        alert_conn_id: Connection whose host is the alert webhook (``DWH_ALERT_CONN_ID``).
        digest_conn_ids: Destinations of the morning digest, connection ids separated by commas
            (``DWH_DIGEST_CONN_IDS``); a connection that is not defined is skipped with a log line.
        dashboard_url: The dashboard's address, linked from the digest (``DWH_DASHBOARD_URL``).
        concurrency: Per source, child listings fetched at once (``DWH_<SOURCE>_CONCURRENCY``,
            e.g. ``DWH_BIGMARKER_CONCURRENCY=8``); a source not named fetches one at a time.
        max_rps: Per source, requests per second its client never exceeds, shared by all its
            workers (``DWH_<SOURCE>_MAX_RPS``, e.g. ``DWH_CALENDLY_MAX_RPS=8`` for Calendly's
            500 per minute); a source not named is not paced (429s still pause every worker).
    """

    timezone: str = "Europe/Berlin"
    lookback_days: int = 14
    lookahead_days: int = 60
    history_start: date = date(2024, 1, 1)
    page_size: int = 500
    batch_parents: int = 50
    max_retries: int = 6
    http_backoff_cap: float = 30.0
    schedule_cron: str = "0 6 * * *"
    task_retries: int = 2
    freshness_warn_hours: int = 36
    freshness_error_hours: int = 72
    docs_dir: str | None = None
    alert_conn_id: str = "dwh_alerts"
    digest_conn_ids: tuple[str, ...] = ("digest_webhook", "digest_email")
    dashboard_url: str = "http://127.0.0.1:8501"
    concurrency: Mapping[str, int] = field(default_factory=dict)
    max_rps: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def for_parsing(cls) -> tuple[PipelineSettings, str | None]:
        """The settings for parsing the DAG file, which must never fail.

        Returns:
            ``(settings, None)`` when every setting is valid; else the defaults and the error
            message naming the setting — the DAG still parses (schedule and timezone at their
            defaults) and its first task, which validates again, fails with that message.
        """
        try:
            return cls.from_env(), None
        except ConfigError as exc:
            return cls(), str(exc)

    @classmethod
    def from_env(cls) -> PipelineSettings:
        """Read and validate every ``DWH_*`` setting.

        Raises:
            ConfigError: naming the first invalid setting and what a valid value looks like.
        """
        tz = os.environ.get("DWH_TIMEZONE", cls.timezone)
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"DWH_TIMEZONE={tz!r} is not an IANA time zone (e.g. Europe/Berlin)") from exc
        start_raw = os.environ.get("DWH_HISTORY_START")
        try:
            history_start = date.fromisoformat(start_raw) if start_raw else cls.history_start
        except ValueError as exc:
            raise ConfigError(f"DWH_HISTORY_START={start_raw!r} must be a date like 2024-01-01") from exc
        cron = os.environ.get("DWH_SCHEDULE", cls.schedule_cron)
        if not croniter.is_valid(cron):
            raise ConfigError(f"DWH_SCHEDULE={cron!r} is not a cron expression (e.g. '0 6 * * *')")
        warn_hours = _env_int("DWH_FRESHNESS_WARN_HOURS", cls.freshness_warn_hours, minimum=1)
        error_hours = _env_int("DWH_FRESHNESS_ERROR_HOURS", cls.freshness_error_hours, minimum=1)
        if error_hours < warn_hours:
            raise ConfigError(
                f"DWH_FRESHNESS_ERROR_HOURS={error_hours} must be >= DWH_FRESHNESS_WARN_HOURS={warn_hours}"
            )
        return cls(
            timezone=tz,
            lookback_days=_env_int("DWH_LOOKBACK_DAYS", cls.lookback_days),
            lookahead_days=_env_int("DWH_LOOKAHEAD_DAYS", cls.lookahead_days),
            history_start=history_start,
            page_size=_env_int("DWH_PAGE_SIZE", cls.page_size, minimum=1),
            batch_parents=_env_int("DWH_BATCH_PARENTS", cls.batch_parents, minimum=1),
            max_retries=_env_int("DWH_HTTP_MAX_RETRIES", cls.max_retries, minimum=1),
            http_backoff_cap=_env_float("DWH_HTTP_BACKOFF_CAP", cls.http_backoff_cap),
            schedule_cron=cron,
            task_retries=_env_int("DWH_TASK_RETRIES", cls.task_retries),
            freshness_warn_hours=warn_hours,
            freshness_error_hours=error_hours,
            docs_dir=os.environ.get("DWH_DOCS_DIR") or None,
            alert_conn_id=os.environ.get("DWH_ALERT_CONN_ID") or cls.alert_conn_id,
            digest_conn_ids=_env_list("DWH_DIGEST_CONN_IDS", cls.digest_conn_ids),
            dashboard_url=os.environ.get("DWH_DASHBOARD_URL") or cls.dashboard_url,
            concurrency={
                src: _env_int(f"DWH_{src.upper()}_CONCURRENCY", 1, minimum=1)
                for src in SOURCES
                if os.environ.get(f"DWH_{src.upper()}_CONCURRENCY")
            },
            max_rps={
                src: _env_float(f"DWH_{src.upper()}_MAX_RPS", 0.0, minimum=0.0)
                for src in SOURCES
                if os.environ.get(f"DWH_{src.upper()}_MAX_RPS")
            },
        )


def source_conn_id(source: str) -> str:
    """Connection id of a source (``DWH_<SOURCE>_CONN_ID`` overrides the default)."""
    if source not in SOURCES:
        raise ConfigError(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
    return os.environ.get(f"DWH_{source.upper()}_CONN_ID", DEFAULT_CONN_IDS[source])


def dbt_target_dir() -> str | None:
    """``DWH_DBT_TARGET_DIR``: where in-process dbt calls keep artifacts and partial-parse state
    (per worker when several share the code; default: under the project's ``target/``)."""
    return os.environ.get("DWH_DBT_TARGET_DIR") or None


def dwh_conn_id() -> str:
    return os.environ.get("DWH_CONN_ID", DEFAULT_CONN_IDS["dwh"])


def source_enabled(source: str) -> tuple[bool, str]:
    """Whether a source runs, and why (for the log line of a skipped task).

    ``DWH_ENABLE_<SOURCE>`` (true/false) wins; otherwise the source runs when its connection exists.
    """
    explicit = _env_bool(f"DWH_ENABLE_{source.upper()}")
    conn_id = source_conn_id(source)
    if explicit is False:
        return False, f"disabled by DWH_ENABLE_{source.upper()}=false"
    if explicit is True:
        return True, f"enabled by DWH_ENABLE_{source.upper()}=true"
    if connection_defined(conn_id):
        return True, f"connection '{conn_id}' is defined"
    return False, f"connection '{conn_id}' is not defined (set {_env_name(conn_id)} to enable it)"


def pii_key() -> str | None:
    """Secret for the keyed e-mail hash: ``DWH_PII_KEY`` or the ``dwh_pii_key`` connection's password."""
    key = os.environ.get("DWH_PII_KEY")
    if key and PLACEHOLDER in key:
        raise ConfigError(f"DWH_PII_KEY still holds the placeholder {PLACEHOLDER}: set a long random secret")
    if key:
        try:
            from airflow.sdk.log import mask_secret

            mask_secret(key)
        except ImportError:
            pass
        return key
    if os.environ.get(_env_name("dwh_pii_key")) or _inside_airflow_task():
        try:
            return get_connection("dwh_pii_key").password
        except ConfigError:
            return None
    return None


@contextmanager
def patched_env(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a ``with`` block, then restore them exactly
    (variables that did not exist are removed again)."""
    old = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
