"""Local engines in worker processes: the one collecting provider every local engine uses.

:class:`EngineProvider` runs any :class:`~adapters.providers.registry.LocalEngine` in a pool of
worker processes, one image per worker at a time, called from the collector's threads:

* **spawned, not forked**: a worker is a fresh interpreter, so it inherits no file descriptor
  of the collector (its journal and the journal's lock above all) and no lock held by one of
  the collector's threads at fork time;
* **started up front**: :meth:`EngineProvider.start` (the collector calls it when a run has
  images to send) starts every worker and has each load its engine (``engine.load(settings)``
  when the engine has one) before the first image, so a model that cannot be loaded is an error
  before any image and no latency holds start-up time; a run with nothing to send starts nothing;
* **dying with the collector**: a worker asks the kernel for SIGKILL when its parent dies
  (``prctl(PR_SET_PDEATHSIG)`` on Linux) and also watches its parent's pid, so after ``kill -9``
  of ``bench collect`` no worker goes on computing or holding anything;
* **Ctrl-C is the parent's business**: workers ignore SIGINT (and so do the processes they start,
  e.g. ``tesseract``), so an image in flight completes and is journaled while the collector
  stops handing out work;
* **a thread budget**: OpenMP / BLAS libraries get ``usable CPUs // workers`` threads each (1 with
  the default of one worker per CPU); engines with their own thread settings (ONNX Runtime) read
  :func:`thread_budget`;
* **failures cost one attempt**: a worker that dies (OOM, a signal) breaks its pool; the calls in
  flight are transient failures and the retries get a fresh pool. An image with no answer within
  ``timeout + grace`` seconds is a transient timeout and its pool's workers are killed (a busy
  worker cannot be interrupted otherwise); the other images in flight on that pool are retried.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from adapters.core.errors import EngineUnavailable, ProviderError
from adapters.core.images import ImagePolicy, PreparedImage
from adapters.core.schema import ImageResult
from adapters.core.system import usable_cpus
from adapters.providers.base import Attempt, Outcome, Provider, Verdict
from adapters.providers.registry import LocalEngine, Settings

START_TIMEOUT = 300.0  # seconds for every worker to start and load its engine (a large model loads slowly)
PARENT_POLL = 0.5      # seconds between two looks at the parent's pid (where PDEATHSIG is not had)
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OMP_THREAD_LIMIT", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# --- in the worker processes -----------------------------------------------------------------------

_budget = 1
_barrier: Any = None


def thread_budget() -> int:
    """Threads one engine may use in this process: ``usable CPUs // workers`` in a pool worker,
    1 elsewhere (``bench serve`` runs one engine per request thread)."""
    return _budget


def _signal_when_parent_dies() -> bool:
    """Linux: SIGKILL this process when the thread that started it ends. False where not had."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_POLL)
        if os.getppid() != parent:  # re-parented: the collector is gone
            os._exit(1)


def _die_with_parent(parent: int, signal_ok: bool) -> None:
    # PDEATHSIG fires when the *thread* that started this process ends, so the pool asks for it
    # only when it was started from the main thread; the pid watch covers every other case.
    if signal_ok:
        _signal_when_parent_dies()
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()


def _init_worker(parent: int, signal_ok: bool, budget: int, barrier: Any) -> None:
    global _budget, _barrier
    _die_with_parent(parent, signal_ok)
    # Ctrl-C is the parent's business: it stops handing out work and waits for these to finish.
    # SIG_IGN is inherited by the processes an engine starts (tesseract), so an image in flight
    # completes and is journaled instead of being recorded as a failure.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _budget = budget
    os.environ.update({name: str(budget) for name in _THREAD_VARIABLES})
    _barrier = barrier


def _warm(engine: LocalEngine, settings: Settings) -> str | None:
    """Run once in every worker (the barrier keeps each worker to one): load the engine.
    Returns None, or why the engine cannot run."""
    try:
        _barrier.wait(START_TIMEOUT)
    except threading.BrokenBarrierError:
        pass  # a worker did not start; the pool reports that itself
    load: Callable[[Settings], Any] | None = getattr(engine, "load", None)
    if load is None:
        return None
    try:
        load(settings)
    except Exception as exc:  # noqa: BLE001 - whatever a model loader raises, the user must read it
        return str(exc) if isinstance(exc, EngineUnavailable) else f"{type(exc).__name__}: {exc}"
    return None


def _recognize(engine: LocalEngine, data: bytes, settings: Settings, timeout: float) -> Any:
    return engine.recognize(data, settings, timeout)


# --- in the collector -----------------------------------------------------------------------------

def _kill_workers(pool: ProcessPoolExecutor) -> None:
    kill = getattr(pool, "kill_workers", None)  # Python 3.14+
    if kill is not None:
        kill()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            process.kill()
        except (OSError, ValueError, AttributeError):
            pass


def _stop(pool: ProcessPoolExecutor) -> None:
    """Kill a pool's workers and wait for its manager thread (quick once they are dead), so nothing
    of it is left for the interpreter's exit to trip over."""
    _kill_workers(pool)
    pool.shutdown(wait=True, cancel_futures=True)


class EngineProvider(Provider):
    """A :class:`LocalEngine` in ``processes`` worker processes (see the module docstring).

    ``grace``: seconds past ``timeout`` to wait for an answer; engines that stop themselves at
    ``timeout`` (Tesseract) get a generous grace, engines that cannot (in-process models) none.
    Errors the engine raises become verdicts coded ``<name>_error`` (the image's file name leads
    the message) and ``<name>_unavailable``.
    """

    def __init__(self, name: str, engine: LocalEngine, settings: Settings, parse: Callable[[Any], ImageResult],
                 policy: ImagePolicy = ImagePolicy(), processes: int | None = None, grace: float = 0.0) -> None:
        self.name = name
        self.engine = engine
        self.settings = settings
        self._parse = parse
        self.policy = policy
        self.processes = max(1, processes or usable_cpus())
        self.default_concurrency = self.processes
        self.grace = grace
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    # -- the pool ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers and load the engine in each now (else the first call does); raises
        EngineUnavailable (exit code 2) when the engine cannot run."""
        self._executor()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:  # callers wait for a pool being started rather than start another
            if self._pool is None:
                self._pool = self._start_pool()
            return self._pool

    def _start_pool(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        budget = max(1, usable_cpus() // self.processes)
        pool = ProcessPoolExecutor(
            max_workers=self.processes, mp_context=context, initializer=_init_worker,
            initargs=(os.getpid(), threading.current_thread() is threading.main_thread(), budget,
                      context.Barrier(self.processes)))
        deadline = time.monotonic() + START_TIMEOUT
        try:
            warming = [pool.submit(_warm, self.engine, self.settings) for _ in range(self.processes)]
            answers = [f.result(timeout=max(0.0, deadline - time.monotonic())) for f in warming]
            problems = [problem for problem in answers if problem]
        except FutureTimeout:
            problems = [f"its worker processes did not start and load the engine within {START_TIMEOUT:g} s"]
        except BrokenProcessPool:
            problems = ["a worker process died while starting or loading the engine (its own error, if it printed "
                        "one, is above; a script that runs a collection itself needs if __name__ == '__main__':)"]
        if problems:
            _stop(pool)
            raise EngineUnavailable(f"{self.name}: {problems[0]}")
        return pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """Stop a broken or stuck pool; the next call starts a fresh one."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        _stop(pool)

    # -- one image ---------------------------------------------------------------------------------

    def _verdict(self, outcome: Outcome, code: str, message: str, image: PreparedImage) -> Verdict:
        if outcome is Outcome.PERMANENT and image.file_name not in message:
            message = f"{image.file_name}: {message}"
        return Verdict(outcome, f"{self.name}_{code}", message)

    def call(self, image: PreparedImage, timeout: float) -> Attempt:
        try:
            pool = self._executor()  # a fresh pool after a crash starts here, before the clock
        except EngineUnavailable as exc:
            return Attempt(self._verdict(Outcome.PERMANENT, "unavailable", str(exc), image), 0.0, 0)
        start = time.perf_counter()
        try:
            future = pool.submit(_recognize, self.engine, image.data, self.settings, timeout)
        except (RuntimeError, BrokenProcessPool):  # replaced by another thread a moment ago
            verdict = Verdict(Outcome.TRANSIENT, "worker_died", f"a {self.name} worker process died")
        else:
            verdict = self._wait(future, pool, image, timeout)
        latency_ms = (time.perf_counter() - start) * 1000.0
        return Attempt(verdict, latency_ms, len(image.data))

    def _wait(self, future: Any, pool: ProcessPoolExecutor, image: PreparedImage, timeout: float) -> Verdict:
        limit = timeout + self.grace
        try:
            return Verdict(Outcome.SUCCESS, body=future.result(timeout=limit))
        except FutureTimeout:
            self._discard(pool)
            return Verdict(Outcome.TRANSIENT, "timeout", f"no answer from the {self.name} worker within {limit:g} s "
                                                         f"(its workers were stopped)")
        except BrokenProcessPool:
            self._discard(pool)  # a worker died (OOM, signal): the retry gets a fresh pool
            return Verdict(Outcome.TRANSIENT, "worker_died", f"a {self.name} worker process died")
        except EngineUnavailable as exc:
            return self._verdict(Outcome.PERMANENT, "unavailable", str(exc), image)
        except ProviderError as exc:  # an unreadable image, or the engine's own time limit
            return self._verdict(Outcome.PERMANENT, "error", str(exc), image)
        except Exception as exc:  # noqa: BLE001 - an engine's bug on one image costs that image
            return self._verdict(Outcome.PERMANENT, "error", f"{type(exc).__name__}: {exc}", image)

    def parse(self, raw: Any) -> ImageResult:
        return self._parse(raw)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

