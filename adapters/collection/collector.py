"""Run a folder of images through one provider: concurrent, paced, retried, resumable.

The pieces and why:

* a thread pool bounded by ``concurrency`` (requests in flight) and a shared
  :class:`RateLimiter` (``rps`` ceiling, Retry-After pauses);
* one retry layer, here: capped exponential backoff with jitter for transient answers,
  Retry-After honoured for rate limits; providers and the HTTP stack never retry;
* every finished image goes to the :class:`Journal` (fsynced) the moment it finishes, so a
  crash loses at most what was in flight, and a re-run sends nothing for stored successes;
* auth and quota errors stop the run cleanly: no new requests, in-flight ones finish and are
  kept, outputs are written, then a typed error says why and how many images remain.
* the rate-limit token is taken by the provider right before the request goes out (a
  ``gate``), so slow preparation cannot bunch requests up at the server;
* one run per journal at a time (an exclusive lock that dies with its process, see
  :meth:`Journal.lock`), so two runs on one ``OUT`` never pay twice for the same image;
* every record carries the request fingerprint (:mod:`adapters.collection.fingerprint`): a run
  whose settings differ from what ``OUT`` holds stops before sending anything;
* ``OUT`` is proven writable before the first request; a journal write that fails stops the run
  (no new requests) and every output is written atomically, so a full disk or a read-only
  folder is one line and exit code 2, never a traceback or a stray ``.tmp``.

Outputs (``OUT/<provider>...``): ``.json`` raw successes keyed by stem (the old scripts'
layout), ``.normalized.json`` (the project's schema, errors included), ``.runs.csv`` (one run
record per image) and ``.journal.jsonl`` (the append-only source of truth). The first three
always hold every image the journal has for the current settings, not only this run's images.
"""
from __future__ import annotations

import collections
import csv
import io
import json
import logging
import random
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import AbstractSet, Any, Callable, Iterable, Mapping

from tqdm.contrib.logging import logging_redirect_tqdm

from adapters.core.credentials import redact, redact_value
from adapters.core.errors import AuthError, InputError, ProviderError, QuotaExhausted
from adapters.core.images import ImageFile, PreparedImage
from adapters.collection.files import WriteError, atomic_write, check_writable
from adapters.collection.fingerprint import mismatch_message, same_request
from adapters.collection.outputs import OutputPaths
from adapters.collection.journal import (JOURNAL_VERSION, STATUS_FAILED, STATUS_OK, Journal, JournalState,
                                         JournalWriteError)
from adapters.providers.base import Outcome, Provider, Verdict
from adapters.collection.ratelimit import RateLimiter
from adapters.core.schema import ImageResult, ResultSet
from adapters.core.progress import progress_bar
from adapters.providers.response_fields import ResponseFormatError

log = logging.getLogger("bench")

COLLECTED = "collected"
REUSED = "reused"
FAILED = "failed"
REMAINING = "remaining"

RUN_COLUMNS = ("image", "file", "status", "error_class", "error_code", "error", "attempts", "latency_ms",
               "bytes_sent", "sent_width", "sent_height", "original_width", "original_height", "format",
               "finished_at")


@dataclass(frozen=True)
class CollectOptions:
    """Knobs of one run; the defaults suit the paid web services."""

    concurrency: int = 4
    rps: float | None = None
    limit: int | None = None
    refresh: bool = False
    retry_failed: bool = False
    timeout: float = 60.0
    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 300.0
    progress: bool | None = None  # None: a bar only when stderr is a terminal
    seed: int | None = None        # jitter seed, for reproducible tests


@dataclass
class Summary:
    """Counts over every image found (not just this run's), and what stopped the run if anything."""

    provider: str
    total: int = 0
    collected: int = 0
    reused: int = 0
    failed: int = 0
    remain: int = 0
    retried: int = 0
    calls: int = 0
    stop: Verdict | None = None
    interrupted: bool = False
    paths: OutputPaths | None = None
    earlier: int = 0  # images in the outputs that are not among this run's images (earlier runs)

    def line(self) -> str:
        where = f" -> {self.paths.raw.parent}" if self.paths else ""
        held = (f"; the outputs hold {self.total + self.earlier} images: {self.total} of this run, "
                f"{self.earlier} more from earlier runs" if self.earlier else "")
        return (f"{self.provider}: {self.total} images: {self.collected} collected, {self.reused} reused, "
                f"{self.failed} failed, {self.remain} remain ({self.calls} requests, {self.retried} retries)"
                f"{where}{held}")


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): capped exponential,
    "equal jitter" (half fixed, half random) so parallel workers do not retry in lockstep."""
    delay = min(cap, base * (2 ** (attempt - 1)))
    return delay / 2 + rng.uniform(0.0, delay / 2)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _record(image: ImageFile, prepared: PreparedImage | None, attempts: int, latency_ms: float | None,
            bytes_sent: int | None, error_class: str = "", error_code: str = "", error: str = "") -> dict[str, Any]:
    return {
        "error_class": error_class, "error_code": error_code, "error": error,
        "attempts": attempts,
        "latency_ms": None if latency_ms is None else round(latency_ms, 1),
        "bytes_sent": bytes_sent,
        "sent_width": prepared.width if prepared else None,
        "sent_height": prepared.height if prepared else None,
        "original_width": prepared.original_width if prepared else None,
        "original_height": prepared.original_height if prepared else None,
        "format": prepared.format if prepared else None,
        "finished_at": _now(),
        "identity": _identity(image),
    }


def _identity(image: ImageFile) -> dict[str, Any] | None:
    try:
        return image.identity()
    except OSError:
        return None


class _Run:
    """One execution over the images that need a request. Workers journal their own results."""

    def __init__(self, provider: Provider, journal: Journal, state: JournalState, options: CollectOptions,
                 secrets: tuple[str, ...], request: Mapping[str, Any] | None = None) -> None:
        self.provider = provider
        self.request = request
        self.journal_error: JournalWriteError | None = None
        self.unjournaled = 0  # results paid for that the journal could not take
        self.journal = journal
        self.state = state
        self.options = options
        self.secrets = secrets
        self.limiter = RateLimiter(options.rps)
        self.stop = threading.Event()
        self.stop_verdict: Verdict | None = None
        self.outcomes: dict[str, str] = {}
        self.calls = 0
        self.retried = 0
        self.failed = 0
        self.done = 0
        self._lock = threading.Lock()
        self._rng = random.Random(options.seed)

    # -- bookkeeping ---------------------------------------------------------------------------

    def _persist(self, image: ImageFile, status: str, raw: Any, record: dict[str, Any]) -> bool:
        """Journal one finished image; False (and the run stops) when the journal cannot take it."""
        entry = {"v": JOURNAL_VERSION, "provider": self.provider.name, "image": image.key,
                 "file": str(image.path), "status": status, "raw": raw, "record": record}
        if self.request is not None:
            entry["request"] = self.request
        entry = redact_value(entry, self.secrets)  # what the journal keeps is what the outputs show
        try:
            self.journal.append(entry)  # fsynced: from here on the image survives a crash
        except JournalWriteError as exc:  # disk full, I/O error: send nothing more that could be lost
            log.warning("%s: %s", image.key, exc)
            with self._lock:
                self.journal_error = self.journal_error or exc
                self.unjournaled += 1
            self.stop.set()
            return False
        with self._lock:
            if status == STATUS_OK:
                self.state.successes[image.key] = entry
                self.state.failures.pop(image.key, None)
            else:
                self.state.failures[image.key] = entry
        return True

    def _fail(self, image: ImageFile, prepared: PreparedImage | None, attempts: int, bytes_sent: int | None,
              error_class: str, code: str, message: str, body: Any = None) -> str:
        message = redact(message, self.secrets)
        if not self._persist(image, STATUS_FAILED, body,
                             _record(image, prepared, attempts, None, bytes_sent, error_class, code, message)):
            return REMAINING
        log.warning("%s: %s %s after %d attempt(s)%s", image.key, error_class, code or "", attempts,
                    f": {message}" if message else "")
        return FAILED

    def _halt(self, verdict: Verdict) -> None:
        with self._lock:
            if self.stop_verdict is None:
                self.stop_verdict = verdict
        self.stop.set()

    # -- one image -----------------------------------------------------------------------------

    def work(self, image: ImageFile) -> str:
        if self.stop.is_set():
            return REMAINING
        try:
            prepared = self.provider.prepare(image)
        except InputError as exc:
            return self._fail(image, None, 0, None, "InputError", "unreadable_image", str(exc))
        except Exception as exc:  # an image that breaks the decoder must cost that image, not the run
            log.exception("%s: unexpected error while preparing %s", image.key, image.path)
            return self._fail(image, None, 0, None, type(exc).__name__, "unreadable_image", f"{image.path}: {exc}")
        attempts = 0

        def gate() -> bool:
            """Called by the provider right before the bytes go out: stop check, then the token."""
            nonlocal attempts
            if self.stop.is_set() or not self.limiter.acquire(self.stop):
                return False
            attempts += 1
            with self._lock:
                self.calls += 1
            return True

        while True:
            if self.stop.is_set():  # another worker hit an auth or quota error while we prepared
                return REMAINING
            try:
                attempt = self.provider.send(prepared, self.options.timeout, gate)
            except Exception as exc:  # a bug in a classifier must cost one image, not the run
                log.exception("%s: unexpected error while calling %s", image.key, self.provider.name)
                return self._fail(image, prepared, attempts, None, type(exc).__name__, "internal_error", str(exc))
            if attempt is None:  # the gate refused: the run is stopping and nothing was sent
                return REMAINING
            verdict = attempt.verdict
            if verdict.outcome is Outcome.SUCCESS:
                if not self._persist(image, STATUS_OK, verdict.body,
                                     _record(image, prepared, attempts, attempt.latency_ms, attempt.bytes_sent)):
                    return REMAINING
                return COLLECTED
            if verdict.outcome.stops_run:
                self._halt(verdict)
                return REMAINING
            if verdict.outcome is Outcome.PERMANENT or attempts >= self.options.max_attempts:
                return self._fail(image, prepared, attempts, attempt.bytes_sent, verdict.error_class,
                                  verdict.code, verdict.message, verdict.body)
            delay = backoff_delay(attempts, self.options.backoff_base, self.options.backoff_cap, self._rng)
            if verdict.outcome is Outcome.RATE_LIMITED and verdict.retry_after is not None:
                honoured = min(verdict.retry_after, self.options.max_retry_after)
                self.limiter.pause_until(time.monotonic() + honoured)  # everyone waits, not just us
                delay = max(delay, honoured)
            with self._lock:
                self.retried += 1
            log.debug("%s: %s %s, retry %d in %.2f s", image.key, verdict.error_class, verdict.code, attempts, delay)
            if self.stop.wait(delay):
                return REMAINING

    # -- the pool ------------------------------------------------------------------------------

    def execute(self, todo: list[ImageFile]) -> None:
        if not todo:
            return
        bar = progress_bar(total=len(todo), desc=self.provider.name, unit="img",
                   enabled=self.options.progress,
                   dynamic_ncols=True, leave=True)
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.concurrency), thread_name_prefix="collect")
        futures: dict[Future[str], ImageFile] = {pool.submit(self.work, image): image for image in todo}
        pending = set(futures)
        redirect = logging_redirect_tqdm(loggers=[log])  # warnings print above the bar, not through it
        redirect.__enter__()
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                finished = 0
                for future in done:
                    if future.cancelled():
                        continue
                    outcome = future.result()
                    self.outcomes[futures[future].key] = outcome
                    if outcome != REMAINING:
                        finished += 1
                        self.failed += outcome == FAILED
                if finished:
                    self.done += finished
                    bar.set_postfix(done=self.done, failed=self.failed, retried=self.retried, refresh=False)
                    bar.update(finished)
                if self.stop.is_set():
                    for future in pending:
                        future.cancel()
        except BaseException:
            self.stop.set()  # Ctrl-C or a bug: send nothing new, let in-flight calls finish
            for future in pending:
                future.cancel()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for future, image in futures.items():
                if future.done() and not future.cancelled() and future.exception() is None:
                    self.outcomes[image.key] = future.result()
            bar.close()
            redirect.__exit__(None, None, None)


# --- outputs -----------------------------------------------------------------------------------

_atomic_write = atomic_write  # temp file, fsync, rename; a failure leaves no .tmp and is a WriteError


def _scale(record: dict[str, Any]) -> tuple[float, float]:
    try:
        return (record["original_width"] / record["sent_width"], record["original_height"] / record["sent_height"])
    except (KeyError, TypeError, ZeroDivisionError):
        return 1.0, 1.0


def _error_text(entry: dict[str, Any]) -> str:
    record = entry.get("record", {})
    parts = [record.get("error_class") or "error", record.get("error_code") or ""]
    head = " ".join(p for p in parts if p)
    return f"{head}: {record['error']}" if record.get("error") else head


def earlier_images(images: Iterable[ImageFile], state: JournalState) -> list[str]:
    """Images the journal holds (for the current settings) that are not among ``images``, by stem."""
    present = {image.key for image in images}
    return sorted((set(state.successes) | set(state.failures)) - present)


def write_outputs(provider: Provider, images: Iterable[ImageFile], statuses: dict[str, str],
                  state: JournalState, paths: OutputPaths, secrets: tuple[str, ...] = ()) -> None:
    """Rebuild the three output files from the journal state, each written atomically.

    They hold this run's ``images`` (in their order) and then every other image the journal
    state has, from earlier runs (by stem): successes as ``reused``, failures as ``failed``.
    """
    images = list(images)
    listed = [(image.key, str(image.path), statuses[image.key]) for image in images]
    for key in earlier_images(images, state):
        entry = state.successes.get(key) or state.failures[key]
        listed.append((key, str(entry.get("file", "")), REUSED if key in state.successes else FAILED))
    raw_by_stem: dict[str, Any] = {}
    results = ResultSet(provider.name)
    rows: list[dict[str, Any]] = []
    for key, file, status in listed:
        entry = state.successes.get(key) if status in (COLLECTED, REUSED) else state.failures.get(key)
        row: dict[str, Any] = {"image": key, "file": file, "status": status}
        if entry is not None:
            record = entry.get("record", {})
            row.update({k: record.get(k) for k in RUN_COLUMNS if k in record})
            if status in (COLLECTED, REUSED):
                try:
                    raw = provider.restore(entry["raw"], _scale(record))
                    raw_by_stem[key] = raw
                    results.images[key] = provider.parse(raw)
                except (ResponseFormatError, KeyError, TypeError, ValueError, AttributeError) as exc:
                    log.warning("%s: stored %s response does not parse (%s)", key, provider.name, exc)
                    results.images[key] = ImageResult.failed(f"unreadable {provider.name} response: {exc}")
            else:
                results.images[key] = ImageResult.failed(_error_text(entry))
        rows.append(row)
    _atomic_write(paths.raw, redact(json.dumps(raw_by_stem, ensure_ascii=False), secrets))
    _atomic_write(paths.normalized, redact(json.dumps(results.to_json(), ensure_ascii=False, indent=1), secrets))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RUN_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in RUN_COLUMNS})
    _atomic_write(paths.runs, redact(buffer.getvalue(), secrets), encoding="utf-8-sig")


# --- the entry point ---------------------------------------------------------------------------

# Why an image is sent, or not, by a run (see :func:`plan`).
NEW = "new"              # never collected with these settings
CHANGED = "changed"      # collected, but its file changed since: sent again
REFRESHED = "refreshed"  # collected, sent again because of --refresh
RETRIED = "retried"      # failed in an earlier run, sent again (--retry-failed or --refresh)
KEPT = "kept"            # collected and unchanged: reused, not sent
NOT_RETRIED = "not retried"  # failed in an earlier run, not sent without --retry-failed
SENDING = (NEW, CHANGED, REFRESHED, RETRIED)


@dataclass(frozen=True)
class Plan:
    """What a run does with each image: ``why`` maps every stem to one of the reasons above;
    ``send`` is what it sends, in stem order, ``held_back`` what ``--limit`` leaves for later."""

    why: Mapping[str, str]
    send: tuple[ImageFile, ...]
    held_back: tuple[ImageFile, ...] = ()

    def count(self, reason: str, sent: bool = True) -> int:
        """Images sent (or, with ``sent`` False, held back by ``--limit``) for ``reason``;
        for :data:`KEPT` and :data:`NOT_RETRIED` every image with that reason."""
        if reason not in SENDING:
            return sum(why == reason for why in self.why.values())
        return sum(self.why[image.key] == reason for image in (self.send if sent else self.held_back))


def plan(images: Iterable[ImageFile], state: JournalState, options: CollectOptions) -> Plan:
    """Which of ``images`` a run with ``options`` sends, given what the journal ``state`` holds.

    The one decision both a run and ``--dry-run`` take, so they cannot disagree: it reads the
    image files (to see whether one changed since it was collected) and nothing else.
    """
    why: dict[str, str] = {}
    todo = []
    for image in images:
        collected = image.key in state.successes
        if options.refresh:
            why[image.key] = REFRESHED if collected else RETRIED if image.key in state.failures else NEW
        elif collected:
            unchanged = image.unchanged_since(state.successes[image.key].get("record", {}).get("identity"))
            why[image.key] = KEPT if unchanged else CHANGED
        elif image.key in state.failures:
            why[image.key] = RETRIED if options.retry_failed else NOT_RETRIED
        else:
            why[image.key] = NEW
        if why[image.key] in SENDING:
            todo.append(image)
    cut = len(todo) if options.limit is None else max(0, options.limit)
    return Plan(why, tuple(todo[:cut]), tuple(todo[cut:]))


def _final_statuses(images: list[ImageFile], outcomes: dict[str, str], state: JournalState,
                    planned: AbstractSet[str] = frozenset()) -> dict[str, str]:
    """Each image's status after the run. An image planned for this run that neither succeeded
    nor failed in it (the run stopped first) remains, even if an earlier run failed on it:
    with ``--retry-failed`` it is still owed a request."""
    statuses = {}
    for image in images:
        key = image.key
        outcome = outcomes.get(key)
        if outcome == COLLECTED:
            statuses[key] = COLLECTED
        elif key in state.successes:
            if outcome == FAILED:
                log.warning("%s: the new attempt failed; keeping the earlier successful result", key)
            statuses[key] = REUSED  # earlier result kept: nothing paid for is ever dropped
        elif outcome == FAILED:
            statuses[key] = FAILED
        elif key in planned:
            statuses[key] = REMAINING
        elif key in state.failures:
            statuses[key] = FAILED
        else:
            statuses[key] = REMAINING
    return statuses


def _stop_error(provider: str, verdict: Verdict, summary: Summary, auth_hint: str,
                secrets: tuple[str, ...]) -> ProviderError:
    cause = redact(verdict.describe(), secrets)
    if verdict.outcome is Outcome.QUOTA:
        return QuotaExhausted(f"{provider} quota exhausted after {summary.collected} images ({cause}); "
                              f"{summary.remain} remain: run again when it resets", verdict.code)
    hint = f": {auth_hint}" if auth_hint else ""
    return AuthError(f"{provider} rejected the credentials ({cause}){hint}; {summary.collected} images collected, "
                     f"{summary.remain} remain: fix the credentials and run again", verdict.code)


def _journal_error(error: JournalWriteError, summary: Summary, unjournaled: int) -> JournalWriteError:
    lost = (f"; {unjournaled} answer(s) received could not be journaled and will be sent again"
            if unjournaled else "")
    return JournalWriteError(f"{error}: the run stopped, {summary.collected} image(s) collected and journaled{lost}, "
                             f"{summary.remain} remain: free space (or fix the folder) and run the same command again")


def check_settings(state: JournalState, request: Mapping[str, Any] | None, options: CollectOptions,
                    paths: OutputPaths, provider: str) -> None:
    """Stop before any request when ``OUT`` holds answers collected under other settings."""
    if request is None:
        return
    if state.held is not None and not same_request(state.held, request):
        if not options.refresh:
            raise InputError(mismatch_message(paths.journal.parent, provider, state.held, request))
        log.warning("%s: --refresh: collecting every image again with the new settings; the journal keeps the "
                    "old answers, the outputs hold the new ones", paths.journal.parent)
    if state.legacy and state.held is None:
        log.warning("%s: %d record(s) were written before the journal recorded request settings; they are taken "
                    "as collected with this run's settings (use --refresh if they were not)",
                    paths.journal, state.legacy)


def collect(provider: Provider, images: list[ImageFile], out_dir: Path | str,
            options: CollectOptions = CollectOptions(), secrets: tuple[str, ...] = (),
            auth_hint: str = "", report: Callable[[str], None] | None = None,
            request: Mapping[str, Any] | None = None) -> Summary:
    """Collect ``images`` with ``provider`` into ``out_dir``; see the module docstring.

    ``request`` is the request fingerprint of this run (:mod:`adapters.collection.fingerprint`),
    stored with every record; when ``OUT`` holds answers collected under another one, the run
    stops before sending anything (unless ``options.refresh``). None: settings are not checked.

    Raises :class:`AuthError` / :class:`QuotaExhausted` after persisting when the provider stops
    the run, re-raises ``KeyboardInterrupt`` after persisting on Ctrl-C, and raises a
    :class:`WriteError` / :class:`JournalWriteError` (input errors, exit code 2) when ``OUT``
    cannot be written.
    """
    report = report or log.info
    out_dir = Path(out_dir)
    paths = OutputPaths.for_provider(out_dir, provider.name)
    check_writable(out_dir, (paths.raw, paths.normalized, paths.runs, paths.journal))  # before paying
    journal = Journal(paths.journal, secrets)
    journal.lock()  # a second run on the same OUT fails here instead of paying for every image again
    output_error: WriteError | None = None
    try:  # held until the outputs are written: a second run cannot start on half-written files
        state = journal.load(request, same_request)
        check_settings(state, request, options, paths, provider.name)
        chosen = plan(images, state, options)
        for image in images:
            if chosen.why[image.key] == CHANGED:
                log.warning("%s changed since it was collected; sending it again", image.path)
        todo = list(chosen.send)
        if todo:
            provider.start()  # e.g. engine processes: only when there is work, and before any of it
        run = _Run(provider, journal, state, options, secrets, request)
        summary = Summary(provider.name, total=len(images), paths=paths)
        try:
            run.execute(todo)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            statuses = _final_statuses(images, run.outcomes, state, {image.key for image in todo})
            try:
                write_outputs(provider, images, statuses, state, paths, secrets)
            except WriteError as exc:
                output_error = exc
            counts = collections.Counter(statuses.values())
            summary.collected, summary.reused = counts[COLLECTED], counts[REUSED]
            summary.failed, summary.remain = counts[FAILED], counts[REMAINING]
            summary.calls, summary.retried, summary.stop = run.calls, run.retried, run.stop_verdict
            summary.earlier = len(earlier_images(images, state))
            report(summary.line())
    finally:
        journal.close()
    if summary.interrupted:
        raise KeyboardInterrupt
    if run.journal_error is not None:
        raise _journal_error(run.journal_error, summary, run.unjournaled)
    if output_error is not None:
        raise WriteError(f"{output_error}; everything collected is in {paths.journal}: fix that and run the same "
                         f"command again to rebuild the outputs (nothing stored is sent again)")
    if summary.stop is not None:
        raise _stop_error(provider.name, summary.stop, summary, auth_hint, secrets)
    return summary
