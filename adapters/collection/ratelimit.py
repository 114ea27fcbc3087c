"""Request pacing shared by all worker threads: ``--rps`` as a hard ceiling, plus Retry-After pauses.

A plain token bucket (capacity 1, refilled at ``rps``) spaces grants ``1/rps`` apart, but
``rps + 1`` grants can still fall inside one closed second, and scheduling jitter between
the grant and the server receiving the request can push more into a window. So a sliding
log of the last ``floor(rps)`` grants is kept as the hard guard: a new grant must come at
least ``1 + margin`` seconds after the grant ``floor(rps)`` places back. Any one-second
window therefore sees at most ``floor(rps)`` requests, even with ``margin`` seconds of jitter.
The default margin (0.2 s) was raised from 0.05 s after a loaded test run saw thread scheduling
alone push an arrival past it; it costs up to a sixth of the throughput at the ceiling.
"""
from __future__ import annotations

import collections
import math
import threading
import time
from typing import Callable


class RateLimiter:
    """Thread-safe pacing; ``rps=None`` means no ceiling (pauses still apply)."""

    def __init__(self, rps: float | None = None, margin: float = 0.2,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rps is not None and not (math.isfinite(rps) and rps > 0):
            raise ValueError(f"rps must be a positive number, got {rps!r}")
        self.rps = rps
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._interval = 0.0 if rps is None else 1.0 / rps
        self._window = 1.0 + margin
        self._per_window = None if rps is None else max(1, math.floor(rps))
        self._grants: collections.deque[float] = collections.deque(maxlen=self._per_window or 1)
        self._next_token = 0.0    # token bucket: earliest time the next token exists
        self._paused_until = 0.0  # set from Retry-After: nobody sends before this

    def pause_until(self, when: float) -> None:
        """Hold every thread until ``when`` (a ``clock()`` time), e.g. after a 429 with Retry-After."""
        with self._lock:
            self._paused_until = max(self._paused_until, when)

    def _earliest(self, now: float) -> float:
        earliest = max(now, self._paused_until, self._next_token)
        if self._per_window is not None and len(self._grants) == self._per_window:
            earliest = max(earliest, self._grants[0] + self._window)
        return earliest

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Block until this thread may send; False if ``stop`` is set (before or while waiting).

        Call it as late as possible, right before the bytes go out (see ``Provider.send``):
        the ceiling holds for grants, so work done between grant and send is jitter.
        """
        while True:
            with self._lock:
                if stop is not None and stop.is_set():
                    return False  # a run stopping for auth or quota must not be granted another request
                now = self._clock()
                earliest = self._earliest(now)
                if earliest <= now:
                    if self._per_window is not None:
                        self._grants.append(now)
                        self._next_token = now + self._interval
                    return True
                wait = earliest - now
            if stop is not None:
                if stop.wait(wait):
                    return False
            else:
                self._sleep(wait)
