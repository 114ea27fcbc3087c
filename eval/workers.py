"""Both cores for the scoring commands, with the results, log lines and errors of one core.

``bench eval`` spends its time in two kinds of work that do not depend on each other until the
end: reading the ground truth and reading the predictions; then scoring images, each alone.
:func:`run_both` runs two such calls at once, one in a forked child process (whose answer comes
back pickled through a pipe), and :func:`evaluate_split` scores the two halves of the image set
that way. Both promise exactly what calling the functions one after the other would give:

* the same values (a child's answer is unpickled into equal objects);
* the same log lines in the same order: while both run, the ``bench`` logger's records are held
  back in each process and handled afterwards, the first call's before the second's;
* the same errors: when the first call fails in the child, it is run again here to raise the
  genuine exception (with its own log lines), and the second call's work is dropped, as it would
  never have started. A child that dies or cannot send its answer is treated the same way.

Forking is asked for with ``BENCH_WORKERS=2`` (or ``auto``: when a CPU is idle) and needs Linux
and two usable CPUs (``parallel_enabled``); otherwise every call simply runs in this process.
Python's cyclic garbage collector is paused while the big object graphs are built and written
(:func:`paused_gc`): they hold no cycles, and on a large set the collector's passes over
millions of live objects cost a fifth of the time.
"""
from __future__ import annotations

import gc
import logging
import os
import pickle
import signal
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

from adapters.core.schema import ImageResult
from adapters.core.system import usable_cpus

log = logging.getLogger("bench")

A = TypeVar("A")
B = TypeVar("B")

WORKERS_VARIABLE = "BENCH_WORKERS"
MIN_SPLIT_ITEMS = 20_000  # gt words + predictions below which scoring in two processes is not worth a fork


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside the block (reference counting still frees everything
    that is not part of a cycle); the previous state is restored after it."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@contextmanager
def collecting_new_objects() -> Iterator[None]:
    """Cyclic garbage collection inside the block, over the objects made inside it only: what
    exists when it starts is frozen (``gc.freeze``) so the collector's passes skip it. For work
    that makes cycles (matplotlib) after a big acyclic graph was built with the collector paused."""
    collecting = gc.isenabled()
    gc.freeze()
    gc.enable()
    try:
        yield
    finally:
        if not collecting:
            gc.disable()
        gc.unfreeze()


def parallel_enabled() -> bool:
    """True when work may go to a forked child: asked for with ``BENCH_WORKERS``, on Linux with two
    usable CPUs.

    Off by default. The child shares the parent's memory copy-on-write, but CPython writes every
    object's reference count as it reads it, so the pages of the half it scores get copied: on the
    dense benchmark set the two processes held about 340 MB more than one (877 MB against 540 MB),
    more than the original single process (647 MB). The time saved is small unless a CPU is
    really idle, and on a busy machine it is a loss (the pickled answers cost CPU and the two
    processes slow each other down in the memory caches); README "Speed" has the measurements. ``BENCH_WORKERS=2`` forks; ``BENCH_WORKERS=auto`` forks
    when the 1-minute load average is below the usable CPUs minus a half (one CPU idle).
    """
    wanted = os.environ.get(WORKERS_VARIABLE, "").strip().lower()
    if wanted not in ("2", "auto") or not (sys.platform.startswith("linux") and hasattr(os, "fork")):
        return False
    cpus = usable_cpus()
    if wanted == "2":
        return cpus >= 2
    try:
        load = os.getloadavg()[0]
    except OSError:
        return False
    return cpus >= 2 and load < cpus - 0.5


class _Held(logging.Handler):
    """Keeps the records given to the ``bench`` logger, to be handled later in order."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), None  # plain text: it may cross a pipe
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


@contextmanager
def _held_logs() -> Iterator[_Held]:
    """Records of ``bench`` and its children are held instead of written (until ``_replay``)."""
    held = _Held()
    handlers, propagate = log.handlers[:], log.propagate
    log.handlers[:] = [held]
    log.propagate = False
    try:
        yield held
    finally:
        log.handlers[:] = handlers
        log.propagate = propagate


def _replay(records: Sequence[logging.LogRecord]) -> None:
    for record in records:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


class _Child:
    """``func()`` in a forked child; ``answer()`` is ``(True, value, records)`` or ``(False, None, [])``."""

    def __init__(self, func: Callable[[], Any]) -> None:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read_end)
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent reports it
                with _held_logs() as held:
                    value = func()
                data = pickle.dumps((True, value, held.records), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:  # the parent runs func again to raise the genuine error
                data = pickle.dumps((False, None, []))
            try:
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(data)
            finally:
                os._exit(0)
        os.close(write_end)
        self.pid: int | None = pid
        self._read_end = read_end

    def answer(self) -> tuple[bool, Any, list[logging.LogRecord]]:
        try:
            with os.fdopen(self._read_end, "rb") as pipe:
                data = pipe.read()
            self._read_end = -1
            self.reap()
            return pickle.loads(data) if data else (False, None, [])
        except Exception:  # a child that died half way, or an answer that does not unpickle
            return False, None, []

    def reap(self, kill: bool = False) -> None:
        if self.pid is None:
            return
        if kill:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.waitpid(self.pid, 0)
        self.pid = None
        if self._read_end >= 0:
            os.close(self._read_end)
            self._read_end = -1


def _at_once(first: Callable[[], A], second: Callable[[], B]) -> tuple[bool, Any, Any, BaseException | None, list, list]:
    """``first`` in a forked child while ``second`` runs here, logs held in both: ``(ok, first's
    value, second's value, second's error, first's records, second's records)``; ``ok`` is False
    when ``first`` failed or its process died (its error is not carried over: run it again)."""
    child = _Child(first)
    error: Exception | None = None
    here: Any = None
    try:
        with _held_logs() as mine:
            try:
                here = second()
            except Exception as exc:
                error = exc
        ok, value, records = child.answer()
    finally:
        child.reap(kill=True)
    return ok, value, here, error, records, mine.records


def _second_first(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """``(first(), second())`` in this process, but ``second`` run first with its log lines held and
    its error kept: what reading the predictions before the gt does to memory (the predictions'
    JSON document is freed before the gt is read, 140 MB less at the peak on the dense set)."""
    error: Exception | None = None
    here: Any = None
    with _held_logs() as held:
        try:
            here = second()
        except Exception as exc:
            error = exc
    value = first()  # its error, if any, is the one raised: second would not have started
    _replay(held.records)
    if error is not None:
        raise error
    return value, here


def run_both(first: Callable[[], A], second: Callable[[], B], parallel: bool | None = None) -> tuple[A, B]:
    """``(first(), second())`` as if called one after the other, with ``first`` in a forked child
    while ``second`` runs here (see the module's docstring for what stays exactly the same). In
    one process, ``second`` runs first (``_second_first``), with the same promises. The two calls
    must not depend on each other."""
    if not (parallel_enabled() if parallel is None else parallel):
        return _second_first(first, second)
    ok, value, here, error, first_records, second_records = _at_once(first, second)
    if not ok:  # the first call failed (or its process did): it runs here, where its error is genuine
        value = first()
        return value, second()
    _replay(first_records)
    _replay(second_records)
    if error is not None:  # raised after the first call's log lines, as it would be
        raise error
    return value, here


def split_point(stems: Sequence[str], gt: Mapping[str, Sequence[Any]], predictions: Mapping[str, ImageResult]) -> int:
    """Where to cut the sorted stems so both halves hold about the same number of gt words plus
    predictions (what scoring time follows)."""
    sizes = [1 + len(gt[s]) + (len(predictions[s].items) if s in predictions else 0) for s in stems]
    half, done = sum(sizes) / 2, 0
    for k, size in enumerate(sizes):
        done += size
        if done >= half:
            return k + 1
    return len(stems)


def evaluate_split(gt: Mapping[str, Sequence[Any]], predictions: Mapping[str, ImageResult], options: Any,
                   progress: Callable[[int], object] | None = None) -> Any:
    """``eval.evaluate.evaluate``, with the second half of the images scored in a forked child.

    Images are scored each alone, so the halves' evaluations joined in stem order equal the
    whole one; this process's half also gets the predictions without ground truth, so the
    warning about them and ``unknown_predictions`` are the whole run's.
    """
    from eval.evaluate import Evaluation, evaluate

    stems = sorted(gt)
    items = sum(len(w) for w in gt.values()) + sum(len(r.items) for r in predictions.values())
    if len(stems) < 2 or items < MIN_SPLIT_ITEMS or not parallel_enabled():
        return evaluate(gt, predictions, options, progress=progress)
    cut = split_point(stems, gt, predictions)
    later = stems[cut:]
    later_set = set(later)
    later_gt = {s: gt[s] for s in later}
    later_predictions = {s: predictions[s] for s in later if s in predictions}
    early_gt = {s: gt[s] for s in stems[:cut]}
    early_predictions = {s: r for s, r in predictions.items() if s not in later_set}
    ok, second, first, error, later_records, early_records = _at_once(
        lambda: evaluate(later_gt, later_predictions, options),
        lambda: evaluate(early_gt, early_predictions, options, progress=progress))
    if not ok or error is not None:  # a bug somewhere: the whole set in one go raises it as it would be
        return evaluate(gt, predictions, options, progress=progress)
    _replay(later_records)
    _replay(early_records)
    if progress is not None:
        progress(len(later))
    return Evaluation(options, first.images + second.images, first.unknown_predictions)
