"""Configuration of the vendor sandbox: the universe, the clock, the credentials and the faults.

Three groups of settings:

* **Universe** (``seed``, ``scale``, ``anchor``): fixed when the server starts. The same triple always
  yields the same conferences, events, registrations and attendance.
* **Clock** (``as_of``): what the APIs reveal. It can move at runtime (``SandboxServer.configure`` or
  ``POST /_sandbox/config``); the universe does not change, only its visible part.
* **Faults** (:class:`Faults`): switches that make the APIs misbehave like the real ones do. All are
  deterministic given the seed (see ``sandbox/faults.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_AS_OF = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
VENDORS = ("bigmarker", "calendly", "zoom")


def parse_datetime(value: str | datetime) -> datetime:
    """Parse an ISO-8601 timestamp (``Z`` allowed); naive values are taken as UTC."""
    if isinstance(value, datetime):
        dt = value
    else:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


@dataclass
class Faults:
    """Fault switches. Shares are probabilities in ``[0, 1]``.

    Attributes:
        rate_429: Share of vendor requests answered 429 with the vendor's own rate-limit headers
            (BigMarker ``Retry-After: <s>``; Calendly ``X-RateLimit-*``; Zoom ``Retry-After: <HTTP date>``).
            Decided per (request line, attempt number), so a retried request has a fresh chance.
        retry_after_seconds: Wait the 429 answers ask for (seconds).
        rate_5xx: Share of vendor requests answered 500/502/503 (with a body).
        malformed_rate: Share of records served broken (missing key, wrong type, unparsable timestamp);
            decided per record, so the ground truth knows which ones the pipeline quarantines.
        drift_new_field: Every served record carries an extra, unknown field.
        bad_webinar_dates: A few BigMarker conferences are served with a start time in year 2099.
        absurd_durations: The attendees of the three conferences that ended last before the
            clock (so inside every run's lookback window) are served with
            ``total_duration`` x 1000 — legal JSON that passes the record contract but breaks the
            marts' plausibility expectation (average minutes watched); the write-audit-publish
            gate must stop it.
        hostile_titles: The same few conferences are served with hostile titles (SQL injection,
            quotes, emoji, RTL); they must round-trip unchanged into the marts.
        surprises: A fifth of the records of every entity carry vendor values the pipeline has
            never seen (``faults.SURPRISES``): unseen languages, types, statuses and time-zone
            names, other spellings (``" EN-us "``, ``"CANCELED"``), extra nesting, nulls where
            the docs promise nothing, a new nested field. Within the record contracts: the
            marts must publish with them in their documented buckets.
        zoom_token_ttl: Lifetime of Zoom OAuth access tokens (seconds).
        zoom_page_token_ttl: Lifetime of Zoom ``next_page_token`` values (seconds; the real API: 15 min).
        zoom_no_report_ids: Zoom webinar ids whose participant report answers 404 / code 3001.
        zoom_not_licensed_ids: Zoom webinar ids whose participant report answers 400 / code 3161.
        zoom_scope_error: Zoom report endpoints answer 400 / code 4711 (missing scopes).
        fault_vendors: Vendors the random faults (429, 5xx) apply to.
        latency_ms: Fixed time (ms) every vendor request takes before it is answered (the OAuth
            endpoint included, admin routes not): a vendor across the internet answers in
            100-300 ms, loopback in ~1 ms.
        latency_jitter_ms: Extra time (ms) in ``[0, latency_jitter_ms)`` on top of ``latency_ms``,
            a pure function of the seed and the request line (``faults.latency_jitter``).
        rate_limit: Enforce the vendors' request-rate limits below with real 429s in each
            vendor's format (the peak request rate is counted either way: ``/_sandbox/stats``).
        bigmarker_rate_limit: BigMarker requests allowed per ``bigmarker_rate_window_s``
            (undocumented by the vendor: a configurable cap); 429 ``Retry-After: <s>``.
        bigmarker_rate_window_s: Length (s) of BigMarker's fixed rate window.
        calendly_rate_limit: Calendly requests allowed per ``calendly_rate_window_s`` (the
            documented 500 per user and minute on paid plans); 429 with ``X-RateLimit-*``.
        calendly_rate_window_s: Length (s) of Calendly's fixed rate window.
        zoom_rate_light: Zoom "light" API requests per second (Pro plan: 30); no endpoint of the
            sandbox is light, the limit is there for completeness.
        zoom_rate_medium: Zoom "medium" API requests per second (Pro plan: 20): webinar lists,
            registrants, past instances.
        zoom_rate_heavy: Zoom "heavy" API requests per second (Pro plan: 10): the participants
            report. 429 ``Retry-After: <HTTP date>`` + ``X-RateLimit-Category/Type``.
        peak_window_s: Sliding window (s) of the peak request rate counted per vendor.
    """

    rate_429: float = 0.0
    retry_after_seconds: int = 1
    rate_5xx: float = 0.0
    malformed_rate: float = 0.0
    drift_new_field: bool = False
    bad_webinar_dates: bool = False
    absurd_durations: bool = False
    hostile_titles: bool = False
    surprises: bool = False
    zoom_token_ttl: int = 3599
    zoom_page_token_ttl: float = 900.0
    zoom_no_report_ids: tuple[int, ...] = ()
    zoom_not_licensed_ids: tuple[int, ...] = ()
    zoom_scope_error: bool = False
    fault_vendors: tuple[str, ...] = VENDORS
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    rate_limit: bool = False
    bigmarker_rate_limit: int = 10
    bigmarker_rate_window_s: float = 1.0
    calendly_rate_limit: int = 500
    calendly_rate_window_s: float = 60.0
    zoom_rate_light: int = 30
    zoom_rate_medium: int = 20
    zoom_rate_heavy: int = 10
    peak_window_s: float = 1.0


@dataclass
class Credentials:
    """Credentials the sandbox accepts; anything else gets the vendor's 401."""

    bigmarker_api_key: str = "sandbox-bigmarker-key"
    calendly_token: str = "sandbox-calendly-token"
    zoom_client_id: str = "sandbox-zoom-client"
    zoom_client_secret: str = "sandbox-zoom-secret"
    zoom_account_id: str = "sandbox-account"


@dataclass
class SandboxConfig:
    """Everything a sandbox server needs.

    Attributes:
        seed: Universe seed.
        scale: 1 ≈ one year of BigMarker history (~1,000 conferences); 0.1 is the demo default.
        as_of: The sandbox clock (UTC): what the APIs reveal.
        anchor: End of the generated history (UTC). ``None`` → the initial ``as_of``. Fixed per server.
        faults: Fault switches.
        credentials: Accepted credentials.
        timezone: Reporting timezone of the ground truth (``webinar_date``).
    """

    seed: int = 42
    scale: float = 0.1
    as_of: datetime = DEFAULT_AS_OF
    anchor: datetime | None = None
    faults: Faults = field(default_factory=Faults)
    credentials: Credentials = field(default_factory=Credentials)
    timezone: str = "Europe/Berlin"

    def __post_init__(self) -> None:
        self.as_of = parse_datetime(self.as_of)
        self.anchor = parse_datetime(self.anchor) if self.anchor is not None else self.as_of

    def public_dict(self) -> dict[str, Any]:
        """JSON-ready view (credentials omitted)."""
        return {
            "seed": self.seed,
            "scale": self.scale,
            "as_of": self.as_of.isoformat().replace("+00:00", "Z"),
            "anchor": self.anchor.isoformat().replace("+00:00", "Z") if self.anchor else None,
            "timezone": self.timezone,
            "faults": dataclasses.asdict(self.faults),
        }


FAULT_FIELDS = {f.name: f for f in dataclasses.fields(Faults)}


def apply_changes(config: SandboxConfig, changes: dict[str, Any]) -> None:
    """Patch ``as_of``, ``timezone`` and fault switches in place (flat keys or a ``faults`` dict).

    Raises:
        ValueError: For universe settings (seed, scale, anchor) or unknown keys.
    """
    flat = dict(changes)
    flat.update(flat.pop("faults", None) or {})
    for key, value in flat.items():
        if key == "as_of":
            config.as_of = parse_datetime(value)
        elif key == "timezone":
            config.timezone = str(value)
        elif key in FAULT_FIELDS:
            default = getattr(Faults(), key)
            if isinstance(default, tuple):
                value = tuple(value)
            elif isinstance(default, bool):
                value = bool(value)
            elif isinstance(default, int):
                value = int(value)
            elif isinstance(default, float):
                value = float(value)
            setattr(config.faults, key, value)
        elif key in ("seed", "scale", "anchor"):
            raise ValueError(f"{key} is fixed when the server starts; start another server to change it")
        else:
            raise ValueError(f"unknown sandbox setting: {key}")
