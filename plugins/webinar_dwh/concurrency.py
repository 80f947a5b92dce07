"""Bounded, ordered, rate-limited concurrency for the vendor clients.

A vendor across the internet answers in 100-300 ms; fetched one after the other, the children
of a thousand parents (registrations, attendees, invitees, participants) take many minutes of
waiting. The sources therefore fetch the children of the parents in flight concurrently, under
two rules that keep everything else as it was:

* **Order is preserved** (:func:`in_order`, :func:`chained`): results come back in the order
  the work was submitted, so the item stream a source yields — parent, then its children,
  parent after parent in ascending start order — is exactly the sequential one, batches land in
  the same order, and a cursor moves only past parents whose children all arrived and landed.
* **Memory stays bounded**: at most ``window`` units of work are submitted and not yet consumed
  (a unit is one parent's child listing, held as a list until it is yielded); the submission
  loop waits for the oldest unit before it submits the next.

Mechanism: a ``ThreadPoolExecutor`` of ``concurrency`` worker threads, each with its own
``requests.Session`` (:class:`webinar_dwh.http.ApiSession` keeps one per thread). Chosen over
``httpx``/asyncio deliberately:

* the clients, paginators and contract checks are synchronous generators used by the pipeline,
  the tests and the bench; threads reuse them unchanged, asyncio would need a second copy of
  every client (or an event loop inside a generator);
* the work is waiting on sockets: ``requests`` releases the GIL while it waits, so a handful of
  threads overlap the latency as well as an event loop would, at 2-16 requests in flight;
* ``requests.Session`` is not documented as thread-safe, so no session is shared: one per worker
  keeps keep-alive connections without locks; ``requests`` is already pinned, ``httpx`` is not.

One :class:`AdaptiveLimiter` per vendor client is shared by every worker: a token bucket paces
the requests below ``max_rps``; a 429 pauses *every* worker for the server's wait
(``Retry-After`` / ``X-RateLimit-Reset``) and halves the requests allowed in flight, which then
grow back by one after every ``recover_after`` successful answers (additive increase,
multiplicative decrease). With ``concurrency=1`` no thread and no limiter exist: the sources run
exactly the sequential code of before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: The limiter paces at this share of ``max_rps``: a request leaves the client a few ms after its
#: token (thread wake-up, on a busy machine more), and without headroom two requests could arrive
#: closer together than the limit allows.
RATE_HEADROOM = 0.95


class FetchCancelled(Exception):
    """The concurrent fetch this request belonged to was abandoned (another unit failed or the
    consumer stopped): the worker stops instead of sending more requests."""


@dataclass(slots=True)
class LimiterStats:
    """What the limiter did, for the extract summary.

    Attributes:
        throttled: 429 answers reported to the limiter.
        pauses_s: Seconds every worker was told to pause, summed over 429s (overlaps merged).
        min_in_flight_limit: The lowest number of requests allowed in flight (1 = fully backed off).
    """

    throttled: int = 0
    pauses_s: float = 0.0
    min_in_flight_limit: int = 0


class AdaptiveLimiter:
    """A vendor's shared request gate: token bucket + in-flight limit + shared pause.

    Every request calls :meth:`acquire` before it is sent and :meth:`release` when its answer
    (or connection error) is in; a 429 calls :meth:`throttle` with the wait the server asked for.

    Args:
        max_rps: Requests per second never to exceed (paced at :data:`RATE_HEADROOM` of it, with a
            bucket of one token: no bursts); ``None``/``0``: no pacing.
        concurrency: Requests allowed in flight at most (the number of workers).
        recover_after: Successful answers after which one more request may be in flight again.
        clock: Monotonic clock in seconds.
    """

    def __init__(
        self,
        *,
        max_rps: float | None,
        concurrency: int,
        recover_after: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.max_rps = max_rps or None
        self.concurrency = concurrency
        self.recover_after = max(1, recover_after)
        self._rate = self.max_rps * RATE_HEADROOM if self.max_rps else None
        self._clock = clock
        self._cond = threading.Condition()
        self._limit = concurrency
        self._in_flight = 0
        self._tokens = 1.0
        self._stamp = clock()
        self._paused_until = 0.0
        self._successes = 0
        self._cancelled = False
        self.stats = LimiterStats(min_in_flight_limit=concurrency)

    def __repr__(self) -> str:
        return f"AdaptiveLimiter(max_rps={self.max_rps}, concurrency={self.concurrency}, limit={self._limit})"

    @property
    def in_flight_limit(self) -> int:
        """Requests allowed in flight right now (``concurrency`` unless 429s reduced it)."""
        return self._limit

    @property
    def paused_for(self) -> float:
        """Seconds left of the current shared pause (0 when none)."""
        return max(0.0, self._paused_until - self._clock())

    def acquire(self) -> None:
        """Block until this request may be sent: no pause, a free in-flight slot, a token.

        Raises:
            FetchCancelled: :meth:`cancel` was called.
        """
        with self._cond:
            while True:
                if self._cancelled:
                    raise FetchCancelled("the concurrent fetch was cancelled")
                now = self._clock()
                if now < self._paused_until:
                    self._cond.wait(self._paused_until - now)
                    continue
                if self._in_flight >= self._limit:
                    self._cond.wait(0.5)
                    continue
                if self._rate:
                    self._tokens = min(1.0, self._tokens + (now - self._stamp) * self._rate)
                    self._stamp = now
                    if self._tokens < 1.0:
                        self._cond.wait((1.0 - self._tokens) / self._rate)
                        continue
                    self._tokens -= 1.0
                self._in_flight += 1
                return

    def release(self, *, success: bool) -> None:
        """The request's answer is in; ``success`` (a 2xx/3xx) counts towards recovery."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            if success and self._limit < self.concurrency:
                self._successes += 1
                if self._successes >= self.recover_after:
                    self._successes = 0
                    self._limit += 1
                    log.info("rate limiter: %d requests in flight allowed again", self._limit)
            self._cond.notify_all()

    def throttle(self, wait: float) -> None:
        """A 429: every worker pauses ``wait`` seconds and the in-flight limit halves."""
        with self._cond:
            now = self._clock()
            until = now + max(0.0, wait)
            if until > self._paused_until:
                self.stats.pauses_s += until - max(now, self._paused_until)
                self._paused_until = until
            self._limit = max(1, self._limit // 2)
            self._successes = 0
            self.stats.throttled += 1
            self.stats.min_in_flight_limit = min(self.stats.min_in_flight_limit, self._limit)
            self._cond.notify_all()

    def cancel(self) -> None:
        """Make every waiting and future :meth:`acquire` raise :class:`FetchCancelled`."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def reset(self) -> None:
        """Accept requests again after a :meth:`cancel` (a new fetch starts)."""
        with self._cond:
            self._cancelled = False


def in_order(
    work: Iterable[Callable[[], R]],
    *,
    concurrency: int,
    window: int | None = None,
    limiter: AdaptiveLimiter | None = None,
    name: str = "fetch",
) -> Iterator[R]:
    """Run the callables of ``work`` and yield their results in submission order.

    With ``concurrency <= 1`` each callable runs only when its result is asked for (exactly the
    sequential behaviour). Otherwise up to ``concurrency`` run at once in worker threads and at
    most ``window`` (default ``2 * concurrency``) results are pending or unconsumed; ``work`` is
    consumed lazily in the calling thread.

    When a callable raises, its exception is raised here when its turn comes (everything
    submitted before it has been yielded); the other units are cancelled — the ``limiter`` makes
    their next request raise :class:`FetchCancelled` — and the workers are joined before the
    exception propagates. Closing the generator early does the same.
    """
    if concurrency <= 1:
        for unit in work:
            yield unit()
        return
    window = max(window or 2 * concurrency, concurrency)
    pending: deque[Future[R]] = deque()
    if limiter is not None:
        limiter.reset()
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name)
    finished = False
    try:
        for unit in work:
            if len(pending) >= window:
                yield pending.popleft().result()
            pending.append(pool.submit(unit))
        while pending:
            yield pending.popleft().result()
        finished = True
    finally:
        if not finished:
            for future in pending:
                future.cancel()
            if limiter is not None:
                limiter.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        if limiter is not None:
            limiter.reset()


def chained(
    work: Iterable[Callable[[], Iterable[T]]],
    *,
    concurrency: int,
    window: int | None = None,
    limiter: AdaptiveLimiter | None = None,
    name: str = "fetch",
) -> Iterator[T]:
    """The items of every unit of ``work``, unit after unit in submission order.

    Sequentially (``concurrency <= 1``) each unit's iterable is streamed as it comes (a page at a
    time, as before); concurrently a unit runs to completion in a worker and its items are held
    until its turn (see :func:`in_order` for the window and failure semantics).
    """
    if concurrency <= 1:
        for unit in work:
            yield from unit()
        return

    def collect(unit: Callable[[], Iterable[T]]) -> Callable[[], list[T]]:
        return lambda: list(unit())

    for items in in_order(
        (collect(unit) for unit in work), concurrency=concurrency, window=window, limiter=limiter, name=name
    ):
        yield from items
