"""The one interface every provider implements, and the HTTP plumbing the web providers share.

A provider turns a :class:`PreparedImage` into one call and says how it went as a
:class:`Verdict`: success (with the raw body to keep), rate-limited (with Retry-After),
transient, permanent, auth or quota. Classification reads the HTTP status **and** the body,
because CLOVA and Kakao report quota and rate limits as HTTP 400 with a code in the body.
Providers never retry and never sleep: the collector is the only retry layer.
"""
from __future__ import annotations

import email.utils
import json
import math
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, Mapping

from adapters.core.errors import (AuthError, PermanentError, ProviderError, QuotaExhausted, RateLimited,
                             TransientError)
from adapters.core.images import ImageFile, ImagePolicy, PreparedImage, prepare
from adapters.core.schema import ImageResult
from adapters.providers import registry
from adapters.providers.registry import Settings

if TYPE_CHECKING:  # requests is imported where a call is made: listing providers (the CLI) must stay fast
    import requests

    from adapters.core.credentials import ProviderConfig


class Outcome(str, Enum):
    """How one call ended, from the collector's point of view."""

    SUCCESS = "success"
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    AUTH = "auth"
    QUOTA = "quota"

    @property
    def retryable(self) -> bool:
        return self in (Outcome.RATE_LIMITED, Outcome.TRANSIENT)

    @property
    def stops_run(self) -> bool:
        return self in (Outcome.AUTH, Outcome.QUOTA)


ERROR_CLASSES: dict[Outcome, type[ProviderError]] = {
    Outcome.RATE_LIMITED: RateLimited,
    Outcome.TRANSIENT: TransientError,
    Outcome.PERMANENT: PermanentError,
    Outcome.AUTH: AuthError,
    Outcome.QUOTA: QuotaExhausted,
}


@dataclass(frozen=True)
class Verdict:
    """The classification of one answer. ``body`` is the parsed JSON when there was any."""

    outcome: Outcome
    code: str = ""
    message: str = ""
    retry_after: float | None = None
    body: Any = field(default=None, repr=False)

    @property
    def error_class(self) -> str:
        """The :mod:`adapters.core.errors` class name for a failure, ``""`` for a success."""
        cls = ERROR_CLASSES.get(self.outcome)
        return cls.__name__ if cls else ""

    def describe(self) -> str:
        return f"{self.code}: {self.message}" if self.code and self.message else self.code or self.message


@dataclass(frozen=True)
class Attempt:
    """One call: its verdict, wall time of the call alone (no queueing, no backoff) and bytes sent."""

    verdict: Verdict
    latency_ms: float
    bytes_sent: int


@dataclass(frozen=True)
class HttpRequest:
    """A fully built POST. Headers may hold a secret, so they are kept out of ``repr``."""

    url: str
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    body: bytes


Gate = Callable[[], bool]  # True: send now (token taken); False: the run is stopping, send nothing


class Provider(ABC):
    """Prepare an image, make one call, and map stored answers back to original coordinates."""

    name: str = ""
    default_concurrency: int = 4
    policy: ImagePolicy = ImagePolicy()

    def prepare(self, image: ImageFile) -> PreparedImage:
        return prepare(image, self.policy)

    def start(self) -> None:
        """Get ready to send: called once by the collector before the first request of a run that
        has any to make (local engines start their worker processes and load their models here,
        so an engine that cannot run is an error before any image). Raises InputError if not ready."""

    @abstractmethod
    def call(self, image: PreparedImage, timeout: float) -> Attempt:
        """Make exactly one attempt. Provider trouble is a :class:`Verdict`, never an exception."""

    def send(self, image: PreparedImage, timeout: float, gate: Gate) -> Attempt | None:
        """One attempt that asks ``gate`` for permission as late as possible; None if it refused.

        ``gate`` takes the rate-limit token and checks for a stopped run, so it must run after
        any slow preparation and right before the request goes out: a grant followed by slow
        work lets several requests arrive closer together than ``--rps`` allows.
        """
        if not gate():
            return None
        return self.call(image, timeout)

    def restore(self, raw: Any, scale: tuple[float, float]) -> Any:
        """The raw answer in the original image's coordinates (only resizing providers override)."""
        return raw

    @abstractmethod
    def parse(self, raw: Any) -> ImageResult:
        """The provider module's parser: raw answer -> common schema (may raise ResponseFormatError)."""

    def close(self) -> None:
        """Release sessions / worker processes."""


# --- classification helpers shared by the web providers ----------------------------------------

def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def header(answer: HttpAnswer, name: str) -> str | None:
    lowered = name.lower()
    for key, value in answer.headers.items():
        if key.lower() == lowered:
            return value
    return None


def json_body(answer: HttpAnswer) -> tuple[bool, Any]:
    """(True, parsed) when the body is JSON; (False, None) otherwise (empty, truncated, HTML)."""
    try:
        return True, json.loads(answer.body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False, None


def by_status(answer: HttpAnswer, body: Any = None, code: str = "", message: str = "") -> Verdict:
    """The fallback when the body says nothing we recognise: decide from the HTTP status alone."""
    status = answer.status
    code = code or f"HTTP {status}"
    if status == 429:
        return Verdict(Outcome.RATE_LIMITED, code, message or "too many requests",
                       parse_retry_after(header(answer, "Retry-After")), body)
    if status in (401, 403):
        return Verdict(Outcome.AUTH, code, message or "credentials rejected", body=body)
    if status >= 500 or status in (408, 425):
        return Verdict(Outcome.TRANSIENT, code, message or "server error", body=body)
    if 200 <= status < 300:
        return Verdict(Outcome.PERMANENT, code or "unexpected_response",
                       message or "a 200 answer that is not this provider's success shape", body=body)
    return Verdict(Outcome.PERMANENT, code, message or "request rejected", body=body)


def unparseable(answer: HttpAnswer) -> Verdict:
    """A body that is not JSON: a cut-short 200 is retried; otherwise the status decides."""
    if 200 <= answer.status < 300:
        return Verdict(Outcome.TRANSIENT, "unparseable_body", f"{len(answer.body)}-byte body is not complete JSON")
    return by_status(answer, message="non-JSON error body")


def short_message(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."


# --- HTTP transport --------------------------------------------------------------------------

def transport_verdict(exc: "requests.RequestException") -> Verdict:
    """Connection-level trouble, described by exception type only (messages can carry URLs)."""
    import requests

    reason = type(exc).__name__
    inner = getattr(exc, "__context__", None) or (exc.args[0] if exc.args else None)
    if isinstance(inner, BaseException):
        reason += f" ({type(inner).__name__})"
    if isinstance(exc, requests.Timeout):
        return Verdict(Outcome.TRANSIENT, "timeout", reason)
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return Verdict(Outcome.TRANSIENT, "truncated_body", reason)
    if isinstance(exc, requests.ConnectionError):
        return Verdict(Outcome.TRANSIENT, "connection_error", reason)
    return Verdict(Outcome.PERMANENT, "request_error", reason)


class HttpProvider(Provider):
    """A web provider: a pure request builder plus a pure classifier around one POST.

    Each worker thread gets its own ``requests.Session`` (sessions are not thread-safe) with
    urllib3 retries switched off, so the collector's backoff is the only retry layer.
    """

    def __init__(self, name: str, build: Callable[[PreparedImage], HttpRequest],
                 classify: Callable[[HttpAnswer], Verdict], policy: ImagePolicy = ImagePolicy(),
                 restore: Callable[[Any, tuple[float, float]], Any] | None = None,
                 pool_size: int = 16, parse: Callable[[Any], ImageResult] | None = None) -> None:
        self.name = name
        self._parse = parse
        self.policy = policy
        self._builder = build
        self._classify = classify
        self._restore = restore
        self._pool_size = pool_size
        self._local = threading.local()
        self._sessions: list["requests.Session"] = []
        self._lock = threading.Lock()

    def build(self, image: PreparedImage) -> HttpRequest:
        """The request for ``image`` (pure: nothing is sent)."""
        return self._builder(image)

    def session(self) -> "requests.Session":
        """This thread's session (made on first use; closed by :meth:`close`)."""
        session = getattr(self._local, "session", None)
        if session is None:
            import requests
            from requests.adapters import HTTPAdapter

            session = requests.Session()
            session.trust_env = False  # no proxies or .netrc: requests go exactly where configured
            adapter = HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=self._pool_size)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def call(self, image: PreparedImage, timeout: float) -> Attempt:
        attempt = self.send(image, timeout, lambda: True)
        assert attempt is not None  # an always-open gate never refuses
        return attempt

    def send(self, image: PreparedImage, timeout: float, gate: Gate) -> Attempt | None:
        import requests

        request = self.build(image)  # body built (base64, multipart) before the token is taken
        session = self.session()
        if not gate():
            return None
        start = time.perf_counter()
        try:
            response = session.post(request.url, data=request.body, headers=dict(request.headers),
                                    timeout=(min(timeout, 10.0), timeout), allow_redirects=False)
            answer = HttpAnswer(response.status_code, dict(response.headers), response.content)
        except requests.RequestException as exc:
            verdict = transport_verdict(exc)
        else:
            verdict = self._classify(answer)
        latency_ms = (time.perf_counter() - start) * 1000.0
        return Attempt(verdict, latency_ms, len(request.body))

    def restore(self, raw: Any, scale: tuple[float, float]) -> Any:
        if self._restore is None or scale == (1.0, 1.0):
            return raw
        return self._restore(raw, scale)

    def parse(self, raw: Any) -> ImageResult:
        if self._parse is None:
            raise NotImplementedError(f"no parser for {self.name}")
        return self._parse(raw)

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()


# --- choosing one --------------------------------------------------------------------------------

def make_provider(config: "ProviderConfig", settings: Settings = Settings()) -> Provider:
    """The provider named by ``config``, made by its module. The secret stays wrapped until a
    request is built; options the provider leaves unset get its defaults."""
    spec = registry.get(config.provider)
    return spec.make(config, spec.settings(settings))
