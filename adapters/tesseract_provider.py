"""The local Tesseract engine behind the same :class:`Provider` interface as the web services.

The collector's threads each hand one image to a process pool, so the engine runs in
parallel processes (one OpenMP thread each) while retry, journal and outputs stay shared
with the web providers. There is nothing to rate-limit and no credentials.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from adapters import tesseract
from adapters.errors import PermanentError, ProviderError
from adapters.images import ImagePolicy, PreparedImage
from adapters.provider import Attempt, Outcome, Provider, Verdict
from adapters.schema import ImageResult

# Leptonica reads these itself; the rest is re-encoded as PNG by prepare().
POLICY = ImagePolicy(formats=frozenset({"jpg", "png", "tiff", "bmp", "webp"}))


def _init_worker() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    # Ctrl-C is the parent's business: it stops handing out work and waits for these to finish.
    # Ignoring SIGINT here is inherited by the tesseract child, so an in-flight image completes
    # and is journaled instead of being recorded as a failure.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _recognize(data: bytes, lang: str, psm: int, timeout: float) -> dict[str, Any]:
    return tesseract.recognize(data, lang=lang, psm=psm, timeout=timeout)


class TesseractProvider(Provider):
    """Runs :func:`adapters.tesseract.recognize` in ``processes`` worker processes."""

    name = tesseract.NAME
    policy = POLICY

    def __init__(self, lang: str = tesseract.DEFAULT_LANG, psm: int = tesseract.DEFAULT_PSM,
                 processes: int | None = None) -> None:
        self.lang = lang
        self.psm = psm
        self.processes = processes or tesseract.usable_cpus()
        self.default_concurrency = self.processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=self.processes, initializer=_init_worker)
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None

    def call(self, image: PreparedImage, timeout: float) -> Attempt:
        start = time.perf_counter()
        pool = self._executor()
        try:
            future = pool.submit(_recognize, image.data, self.lang, self.psm, timeout)
            raw = future.result(timeout=timeout + 30)
            verdict = Verdict(Outcome.SUCCESS, body=raw)
        except PermanentError as exc:
            verdict = Verdict(Outcome.PERMANENT, "tesseract_error", str(exc))
        except ProviderError as exc:  # e.g. the engine timed out on this image
            verdict = Verdict(Outcome.PERMANENT, "tesseract_error", str(exc))
        except tesseract.TesseractUnavailable as exc:
            verdict = Verdict(Outcome.PERMANENT, "tesseract_unavailable", str(exc))
        except FutureTimeout:
            verdict = Verdict(Outcome.TRANSIENT, "timeout", f"no answer from the worker within {timeout + 30:g} s")
        except BrokenProcessPool:
            self._discard(pool)  # a worker died (OOM, signal): the retry gets a fresh pool
            verdict = Verdict(Outcome.TRANSIENT, "worker_died", "a Tesseract worker process died")
        latency_ms = (time.perf_counter() - start) * 1000.0
        return Attempt(verdict, latency_ms, len(image.data))

    def parse(self, raw: Any) -> ImageResult:
        return tesseract.parse(raw)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
