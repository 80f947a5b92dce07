"""The sandbox's request-rate bookkeeping: the vendors' rate limits (fixed windows, as the
vendors document them: Calendly per minute with ``X-RateLimit-Reset``, Zoom per second and
category) and the peak request rate each vendor saw (a sliding window over every request,
429s included), which the tests and the bench compare with the client's configured maximum."""

from __future__ import annotations

import math
import threading
from collections import Counter, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RateBucket:
    """One limit: ``limit`` requests per fixed window of ``window_s`` seconds, named ``name``
    (``"calendly"``, ``"zoom:heavy"``); ``limit <= 0`` means unlimited."""

    name: str
    limit: int
    window_s: float


class Throttle:
    """Thread-safe counters of one sandbox server (reset with the stats)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}
        self._arrivals: dict[str, deque[float]] = {}
        self.peak: Counter[str] = Counter()
        self.limited: Counter[str] = Counter()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._arrivals.clear()
            self.peak.clear()
            self.limited.clear()

    def arrive(self, vendor: str, now: float, peak_window_s: float) -> None:
        """Count one request of ``vendor`` arriving at ``now`` (monotonic seconds) in the peak."""
        with self._lock:
            times = self._arrivals.setdefault(vendor, deque())
            times.append(now)
            while times and times[0] <= now - peak_window_s:
                times.popleft()
            if len(times) > self.peak[vendor]:
                self.peak[vendor] = len(times)

    def admit(self, vendor: str, bucket: RateBucket, now: float) -> float | None:
        """Admit a request under ``bucket`` at ``now`` (wall-clock seconds), or return the
        seconds until its window resets (the request is refused, not counted)."""
        if bucket.limit <= 0 or bucket.window_s <= 0:
            return None
        index = math.floor(now / bucket.window_s)
        with self._lock:
            current, count = self._windows.get(bucket.name, (index, 0))
            if current != index:
                count = 0
            if count >= bucket.limit:
                self.limited[vendor] += 1
                return (index + 1) * bucket.window_s - now
            self._windows[bucket.name] = (index, count + 1)
        return None
