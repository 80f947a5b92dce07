"""What the fake vendor APIs share: JSON encoding, the error answer, the route type, the server
state, and the base class every vendor's API extends (its requests' records and clock)."""

from __future__ import annotations

import json
import random
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.faults import (
    DRIFT_FIELD,
    DRIFT_VALUE,
    malform,
    malformation,
    surprise,
)
from sandbox.generator import (
    LRU,
    Conference,
    Universe,
)
from sandbox.throttle import Throttle

Json = dict[str, Any]

try:  # msgspec is already in the pinned environment (an Airflow dependency) and encodes ~10x faster
    import msgspec

    encode: Callable[[Any], bytes] = msgspec.json.Encoder().encode
except ImportError:  # pragma: no cover - stdlib fallback

    def encode(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


# Titles a vendor will one day send: SQL and shell metacharacters, quotes, emoji, RTL text, NUL-free.
HOSTILE_TITLES: tuple[str, ...] = (
    "'); drop table x; --",
    'Robert"); DELETE FROM marts.webinar_attendance; -- \\ $(rm -rf /) `id` 🎓',
    "وبینار — Ünïcödé \u2018quotes\u2019 %s %(name)s {{ jinja }}",
)


ZOOM_USER_ID = "sbxZoomHostUser01"
ZOOM_USER_EMAIL = "webinars@sandbox.example"
HTML_404 = (
    b"<!DOCTYPE html><html><head><title>The page you were looking for doesn't exist (404)</title>"
    b"</head><body><h1>404 Not Found</h1><p>The page you were looking for doesn't exist.</p></body></html>"
)


class ApiError(Exception):
    """An error answer: status, JSON body and extra headers."""

    def __init__(self, status: int, body: Json | bytes, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def int_param(params: dict[str, str], name: str, default: int) -> int:
    try:
        return int(float(params.get(name, default)))
    except ValueError:
        return default


@dataclass(frozen=True)
class Route:
    """One endpoint: ``method`` and a full-path ``pattern`` (``re.fullmatch``); ``endpoint`` names it
    in the stats (``None``: the pattern's first group does); ``call(api, match, params)`` answers."""

    method: str
    pattern: re.Pattern[str]
    endpoint: str | None
    call: Callable[[Any, re.Match[str], dict[str, str]], Json]


Call = Callable[[Any, re.Match[str], dict[str, str]], Json]


def route(method: str, pattern: str, endpoint: str | None, call: Call) -> Route:
    """A :class:`Route` with its pattern compiled."""
    return Route(method, re.compile(pattern), endpoint, call)


class State:
    """Mutable server state shared by the handler threads."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.universe = Universe(config.seed, config.scale, config.anchor or config.as_of)
        self.lock = threading.Lock()
        self.stats: Counter[tuple[str, str, int]] = Counter()
        self.attempts: Counter[str] = Counter()
        self.zoom_tokens: dict[str, float] = {}
        self.zoom_token_rng = random.Random(f"{config.seed}:zoom-tokens")
        self.page_tokens: dict[str, tuple[str, int, float]] = {}
        self.visible_cache: LRU[tuple[Any, ...], list[Conference]] = LRU(32)
        self.base_url = ""
        self.throttle = Throttle()


class VendorApi:
    """Base of every vendor's API: the request handler mixes them in (``sandbox.server``).

    A vendor class declares ``NAME``, ``PREFIX`` (unknown GET paths below it answer the vendor's
    404), ``ROUTES``, and answers ``authenticate`` / ``too_many_requests`` / ``server_error`` the
    way the vendor documents them.
    """

    NAME: str = ""
    PREFIX: str = ""
    ROUTES: tuple[Route, ...] = ()
    state: State
    headers: Any

    def _read_body(self) -> bytes:
        raise NotImplementedError

    def _record(self, entity: str, key: str, payload: Json) -> Json:
        faults = self.state.config.faults
        if faults.surprises:
            patch = surprise(self.state.config.seed, entity, key, payload)
            if patch:
                payload = {**payload, **patch}
        if faults.malformed_rate > 0:
            kind = malformation(self.state.config.seed, entity, key, faults.malformed_rate)
            if kind:
                payload = malform(payload, entity, kind)
        if faults.drift_new_field:
            payload = {**payload, DRIFT_FIELD: DRIFT_VALUE}
        return payload

    @property
    def _now(self) -> int:
        return int(self.state.config.as_of.timestamp())
