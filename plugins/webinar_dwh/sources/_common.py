"""What every vendor package shares: the source interface (:class:`VendorSource`), the HTTP
settings every client has (:class:`HttpSettings`), record validation (:func:`validated`),
timestamps, windows and connection fields. A vendor package holds only what is its own:
endpoints, pagination, auth, contracts and its ``SOURCE``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from webinar_dwh.concurrency import AdaptiveLimiter, chained
from webinar_dwh.http import ApiSession, ConfigurationError, RetryPolicy
from webinar_dwh.records import Item, Record, Rejected

Kind = Literal["str", "id", "int", "number", "timestamp", "object", "list", "bool"]


def parse_timestamp(value: Any) -> datetime:
    """Parse a vendor timestamp into an aware UTC ``datetime``.

    Accepts ISO 8601 strings with an offset or ``Z`` (``2025-03-04T15:00:00-05:00``,
    ``2025-03-04T20:00:00.000000Z``). Naive strings are rejected: a timestamp without an offset
    cannot be placed in a window safely.

    Raises:
        ValueError: not a string, not ISO 8601, or without a UTC offset.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected an ISO 8601 string, got {type(value).__name__}")
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamp has no UTC offset")
    return moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """``moment`` as ISO 8601 UTC with seconds precision, e.g. ``2025-03-04T20:00:00+00:00``.

    Sub-second parts are truncated (never rounded up), so a cursor compared with ``>=`` never
    skips the record it came from.
    """
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def check_window(window_start: datetime, window_end: datetime) -> tuple[datetime, datetime]:
    """Validate a half-open window ``[window_start, window_end)`` and return it in UTC.

    Raises:
        ValueError: a bound is naive or the window is empty/inverted.
    """
    for name, moment in (("window_start", window_start), ("window_end", window_end)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
    start, end = window_start.astimezone(UTC), window_end.astimezone(UTC)
    if start >= end:
        raise ValueError(f"empty window: window_start {start.isoformat()} >= window_end {end.isoformat()}")
    return start, end


def raw_text(obj: Any) -> str:
    """The JSON text of a vendor object as kept in quarantine (non-JSON values as ``repr``)."""
    try:
        return json.dumps(obj, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(obj)


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a vendor record contract.

    Attributes:
        name: JSON key.
        kind: ``str`` (any string), ``id`` (non-empty string or integer), ``int`` (integer, not
            bool), ``number`` (int or float), ``timestamp`` (ISO 8601 string with offset),
            ``object``, ``list``, ``bool``.
        required: The key must be present.
        nullable: ``null`` is acceptable.
    """

    name: str
    kind: Kind
    required: bool = True
    nullable: bool = False


def _kind_error(kind: Kind, value: Any) -> str | None:
    got = type(value).__name__
    if kind == "str":
        return None if isinstance(value, str) else f"must be a string, got {got}"
    if kind == "id":
        if isinstance(value, bool) or not isinstance(value, str | int):
            return f"must be a string or integer id, got {got}"
        return "must not be empty" if value == "" else None
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"must be an integer, got {got}"
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else f"must be a number, got {got}"
    if kind == "timestamp":
        try:
            parse_timestamp(value)
        except ValueError as exc:
            return f"is not a parseable timestamp ({exc}): {str(value)[:40]!r}"
        return None
    if kind == "object":
        return None if isinstance(value, Mapping) else f"must be an object, got {got}"
    if kind == "list":
        return None if isinstance(value, list) else f"must be a list, got {got}"
    if kind == "bool":
        return None if isinstance(value, bool) else f"must be a boolean, got {got}"
    raise AssertionError(kind)


def contract_violation(entity: str, obj: Any, fields: Sequence[Field]) -> str | None:
    """Check a record against its contract; return the first violation as a reason, else ``None``.

    Unknown extra fields are fine (schema drift is kept in the raw JSON); only the listed fields
    are checked for presence and type.
    """
    if not isinstance(obj, Mapping):
        return f"{entity} record is not a JSON object (got {type(obj).__name__})"
    for spec in fields:
        if spec.name not in obj:
            if spec.required:
                return f"missing required field '{spec.name}'"
            continue
        value = obj[spec.name]
        if value is None:
            if spec.nullable or not spec.required:
                continue
            return f"field '{spec.name}' is null"
        problem = _kind_error(spec.kind, value)
        if problem:
            return f"field '{spec.name}' {problem}"
    return None


def validated(
    entity: str,
    parent_key: str | None,
    obj: Any,
    fields: Sequence[Field],
    key_of: Callable[[Mapping[str, Any]], str],
) -> Record | Rejected:
    """One vendor object as a :class:`Record`, or a :class:`Rejected` saying why not.

    ``key_of`` derives the record key from a contract-valid object; a ``ValueError`` it raises
    (or an empty key) rejects the object with that message.
    """
    reason = contract_violation(entity, obj, fields)
    if reason is None:
        try:
            key = key_of(obj)
        except ValueError as exc:
            reason = str(exc)
        else:
            if key:
                return Record(entity, key, parent_key, obj)
            reason = f"{entity} record has no key"
    return Rejected(entity, parent_key, raw_text(obj), reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    """What every vendor client's settings have besides its credentials.

    Attributes:
        conn_id: Airflow connection id, named in error messages.
        page_size: Page size asked of list endpoints (each vendor caps it).
        max_attempts: HTTP attempts per request (first try included).
        timeout: ``(connect, read)`` timeouts in seconds.
        backoff_cap: Upper bound (seconds) of the exponential back-off between retries
            (a server-requested ``Retry-After`` is honoured separately).
        concurrency: Child listings fetched at once (worker threads, one HTTP session each;
            :mod:`webinar_dwh.concurrency`); ``1`` is the sequential client.
        max_rps: Requests per second the client never exceeds, all workers together; ``None``:
            not paced.
    """

    conn_id: str
    page_size: int
    max_attempts: int = 6
    timeout: tuple[float, float] = (10.0, 60.0)
    backoff_cap: float = 30.0
    concurrency: int = 1
    max_rps: float | None = None

    def limiter(self) -> AdaptiveLimiter | None:
        """The vendor's shared request gate when the client is concurrent or paced, else ``None``
        (the sequential client of before: no gate at all)."""
        if self.concurrency <= 1 and not self.max_rps:
            return None
        return AdaptiveLimiter(max_rps=self.max_rps, concurrency=max(1, self.concurrency))

    def session(
        self,
        *,
        vendor: str,
        auth: Any,
        secrets: tuple[str, ...],
        sleep: Callable[[float], None],
        retry: RetryPolicy | None = None,
        **extra: Any,
    ) -> ApiSession:
        """The vendor's HTTP session on these settings (timeouts, retries up to ``max_attempts``
        with back-off capped at ``backoff_cap``); ``secrets`` are never logged."""
        return ApiSession(
            self.base_url,  # type: ignore[attr-defined]  # every vendor's settings have one
            vendor=vendor,
            conn_id=self.conn_id,
            auth=auth,
            timeout=self.timeout,
            retry=retry or RetryPolicy(max_attempts=self.max_attempts, backoff_max=self.backoff_cap),
            sleep=sleep,
            secrets=secrets,
            **{"limiter": self.limiter(), **extra},
        )

    @staticmethod
    def common(
        conn: Any,
        *,
        default_conn_id: str,
        default_page_size: int,
        max_page_size: int | None = None,
        conn_id: str | None = None,
        page_size: int | None = None,
        max_attempts: int | None = None,
        backoff_cap: float | None = None,
        concurrency: int | None = None,
        max_rps: float | None = None,
    ) -> dict[str, Any]:
        """The shared fields from a connection and the pipeline's overrides (``None`` = default)."""
        size = page_size or default_page_size
        return {
            "conn_id": conn_id or getattr(conn, "conn_id", None) or default_conn_id,
            "page_size": min(size, max_page_size) if max_page_size else size,
            "max_attempts": max_attempts or 6,
            "backoff_cap": 30.0 if backoff_cap is None else backoff_cap,
            "concurrency": max(1, concurrency or 1),
            "max_rps": max_rps or None,
        }


def one(item: Item) -> tuple[Item, ...]:
    """A unit of work that is already done: the parent Record itself, in its place in the order."""
    return (item,)


def in_parent_order(client: Any, units: Iterable[Callable[[], Iterable[Item]]]) -> Iterator[Item]:
    """The items of ``units`` (a parent Record, then one unit per child listing of it, parent
    after parent), in exactly that order, fetched ``client.settings.concurrency`` units at a time
    under the client's shared limiter (:func:`webinar_dwh.concurrency.chained`; at most
    :data:`WINDOW_PER_WORKER` units per worker pending).

    With concurrency 1 this is ``for unit in units: yield from unit()``: the sequential client.
    """
    concurrency = max(1, int(getattr(client.settings, "concurrency", 1) or 1))
    return chained(
        units,
        concurrency=concurrency,
        window=WINDOW_PER_WORKER * concurrency,
        limiter=client.session.limiter,
        name=f"{client.vendor.lower()}-fetch",
    )


#: Units of work pending per worker (done or running, not yet yielded): enough to keep every
#: worker busy while the consumer lands a batch, few enough that memory stays a few parents' worth.
WINDOW_PER_WORKER = 4


_SKIP_LOCK = threading.Lock()


def count_skip(client: Any, key: str) -> None:
    """``client.skipped[key] += 1`` (a ``Counter``), safe while worker threads do the same."""
    with _SKIP_LOCK:
        client.skipped[key] += 1


def connection_field(conn: Any, attr: str, conn_id: str, what: str) -> str:
    """A required string attribute of an Airflow-style connection, or a ConfigurationError."""
    value = getattr(conn, attr, None)
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"Airflow connection '{conn_id}' has no {attr} ({what})")
    return value.strip()


def base_url_of(conn: Any, conn_id: str, what: str) -> str:
    """The connection's ``host`` as a base URL (``https://`` assumed when no scheme is given)."""
    host = connection_field(conn, "host", conn_id, what).rstrip("/")
    if "://" not in host:
        host = f"https://{host}"
    if not host.startswith(("http://", "https://")):
        raise ConfigurationError(f"Airflow connection '{conn_id}': host must be an http(s) URL ({what})")
    return host


def extra_of(conn: Any) -> Mapping[str, Any]:
    """The connection's ``extra_dejson`` (empty when absent or not a mapping)."""
    extra = getattr(conn, "extra_dejson", None)
    return extra if isinstance(extra, Mapping) else {}


class SourceHandle:
    """An opened source as the pipeline uses it: ``extract(window_start, window_end)`` + ``stats()``.

    Args:
        client: The vendor client (has ``session`` and optionally ``skipped``/``auth``).
        extract: The vendor's ``extract(client, window_start, window_end)`` function.
    """

    def __init__(self, client: Any, extract: Any) -> None:
        self.client = client
        self._extract = extract

    def __repr__(self) -> str:
        return f"SourceHandle({self.client!r})"

    def extract(self, window_start: datetime, window_end: datetime) -> Any:
        """Items of the half-open window ``[window_start, window_end)`` (see the vendor's ``extract``)."""
        return self._extract(self.client, window_start, window_end)

    def stats(self) -> dict[str, Any]:
        """HTTP counters for logs/metrics: requests, retries (by cause), seconds waited, skips."""
        http = self.client.session.stats
        result: dict[str, Any] = {
            "requests": http.requests,
            "retries": http.retries,
            "retries_by_cause": dict(http.retries_by_cause),
            "waited_seconds": round(http.waited_seconds, 3),
            "skipped": dict(getattr(self.client, "skipped", {}) or {}),
        }
        auth = getattr(self.client, "auth", None)
        if auth is not None and hasattr(auth, "tokens_fetched"):
            result["tokens_fetched"] = auth.tokens_fetched
        return result

    def close(self) -> None:
        """Release the client's pooled connections."""
        self.client.close()


def pipeline_overrides(settings: Any, source: str | None = None) -> dict[str, Any]:
    """``page_size``/``max_attempts``/``backoff_cap`` overrides from a ``PipelineSettings``-like
    object, and ``source``'s own ``concurrency``/``max_rps`` (``DWH_<SOURCE>_CONCURRENCY`` /
    ``DWH_<SOURCE>_MAX_RPS``) when it names one."""
    overrides = {
        "page_size": getattr(settings, "page_size", None),
        "max_attempts": getattr(settings, "max_retries", None),
        "backoff_cap": getattr(settings, "http_backoff_cap", None),
    }
    if source is not None:
        overrides["concurrency"] = (getattr(settings, "concurrency", None) or {}).get(source)
        overrides["max_rps"] = (getattr(settings, "max_rps", None) or {}).get(source)
    return overrides


class Client(Protocol):
    """What the pipeline needs of a vendor client (the rest is the vendor's own)."""

    session: Any

    def close(self) -> None: ...


@dataclass(frozen=True)
class VendorSource:
    """One vendor as the pipeline drives it: open a client, extract a window, place the cursor.

    Attributes:
        name: Source name (``webinar_dwh.sources.REGISTRY``); raw tables are ``<name>_<entity>``.
        default_conn_id: Its Airflow connection unless ``DWH_<NAME>_CONN_ID`` says otherwise.
        entities: Every entity it lands, the parent (cursor) entity first.
        cursor_entity: The parent entity whose start time is the cursor.
        client_type: The vendor's client, built as ``client_type(settings, sleep=...)``.
        settings_type: Its settings, built by ``settings_type.from_connection(conn, **overrides)``
            from an Airflow-style connection and the pipeline's overrides.
        extract: ``extract(client, window_start, window_end)``: every parent whose start lies in
            the half-open window, ascending, each followed by its children (Records/Rejected).
        cursor_of: The cursor value (ISO 8601 UTC) of a parent Record.
    """

    name: str
    default_conn_id: str
    entities: tuple[str, ...]
    cursor_entity: str
    client_type: Callable[..., Client]
    settings_type: Any
    extract: Callable[[Any, datetime, datetime], Iterator[Item]]
    cursor_of: Callable[[Record], str]

    @contextmanager
    def open(
        self, conn: Any, settings: Any = None, *, sleep: Callable[[float], None] = time.sleep
    ) -> Iterator[SourceHandle]:
        """Open the source for one task run and close its connections afterwards.

        Args:
            conn: Airflow-style connection of this vendor.
            settings: ``PipelineSettings``-like object: its ``page_size``, ``max_retries``,
                ``http_backoff_cap`` and this source's ``concurrency``/``max_rps`` override the
                client's defaults when present.
            sleep: Sleep function for retry waits.

        Yields:
            A handle with ``extract(window_start, window_end)`` and ``stats()``.
        """
        vendor_settings = self.settings_type.from_connection(conn, **pipeline_overrides(settings, self.name))
        handle = SourceHandle(self.client_type(vendor_settings, sleep=sleep), self.extract)
        try:
            yield handle
        finally:
            handle.close()
