"""Loopback emulators of the OCR web services, for tests, demos and speed measurements.

A real ``ThreadingHTTPServer`` on 127.0.0.1 speaks one provider's wire format, as that
provider's module describes it (its spec's :class:`~adapters.providers.registry.Emulation`): it
checks the auth header, validates the request the way the service does, answers with that
provider's body shape and error bodies (documented codes and statuses are in each provider
module) and injects faults (:class:`Faults`). Answers come from ground truth, recorded real
responses or a local engine (:mod:`adapters.emulators.answers`). The contract with the collector
is ``notes/EMULATOR_CONTRACT.md``.

Faults are drawn from ``random.Random(seed)``, one draw per request that picks at most one of
drop / rate limit / 5xx / truncate (so their rates must add up to at most 1). ``fail_first`` and
``quota`` are deterministic. Order of checks per request: read body, added latency, drop, path
and method, auth, quota, validation, ``fail_first``, rate limit, 5xx, then the answer (truncated
or whole). Only whole successful answers count toward the quota. A rate limit carries
``Retry-After`` (so tests run fast) whatever status the provider uses for it.

Requests that carry no file name are counted (``fail_first``, :meth:`Emulator.calls_for`) under
the stem the answer source recognises from the bytes, else under a hash of the bytes.

An asynchronous wire (the spec's :class:`~adapters.providers.registry.Polling`, Azure's analyze)
answers an accepted POST with 202 and keeps the answer; each GET of its result draws faults and
checks auth like a POST, gets ``running`` for the first ``polls_running`` polls, then the kept
answer. Both the 202 and ``running`` carry ``Retry-After: poll_after``. Quota counts accepted
POSTs; a truncate fault drawn for a POST is void (the 202 has no body) and ``fail_first`` applies
to POSTs only.
"""
from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import logging
import random
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping
from urllib.parse import parse_qsl, urlsplit

from PIL import Image, UnidentifiedImageError

from adapters.core.errors import InputError, PermanentError
from adapters.core.images import image_stem, oriented_size
from adapters.emulators.answers import (Answer, Answers, EngineAnswers, GtAnswers, ReceivedImage,  # noqa: F401
                                        RecordedAnswers)
from adapters.providers import registry
from adapters.providers.registry import EmulatedRequest, Emulation, ProviderSpec, RequestRejected

log = logging.getLogger("bench.emulator")

MAX_BODY = 64 * 1024 * 1024
MAX_KEPT_RESULTS = 10_000  # answers an asynchronous wire keeps for polling (the oldest go first)
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")  # int(x, 16) alone would take -1, 0x10, 1_0
_SOCKET_TIMEOUT = 30.0


@dataclass(frozen=True)
class Faults:
    """What goes wrong, and how often; see the module docstring for the order of checks."""

    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: float = 1.0
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    quota: int | None = None
    latency_ms: float = 0.0
    fail_first: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        rates = {"error_rate": self.error_rate, "rate_limit_rate": self.rate_limit_rate,
                 "drop_rate": self.drop_rate, "truncate_rate": self.truncate_rate}
        for name, value in rates.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError("error, rate-limit, drop and truncate rates must add up to at most 1 "
                             "(each request suffers at most one of them)")
        for name, value in {"retry_after": self.retry_after, "latency_ms": self.latency_ms}.items():
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        if self.quota is not None and self.quota < 0:
            raise ValueError(f"quota must not be negative, got {self.quota}")
        if self.fail_first < 0:
            raise ValueError(f"fail_first must not be negative, got {self.fail_first}")

    def describe(self) -> str:
        """One line for humans, e.g. ``5xx 10%, drop 5%, quota 50``."""
        parts = [f"{label} {rate:.0%}" for label, rate in (
            ("5xx", self.error_rate), ("429", self.rate_limit_rate), ("drop", self.drop_rate),
            ("truncate", self.truncate_rate)) if rate]
        if self.rate_limit_rate:
            parts.append(f"Retry-After {self.retry_after:g} s")
        if self.quota is not None:
            parts.append(f"quota {self.quota}")
        if self.latency_ms:
            parts.append(f"+{self.latency_ms:g} ms")
        if self.fail_first:
            parts.append(f"first {self.fail_first} per image fail")
        return ", ".join(parts) or "none"


@dataclass
class _KeptResult:
    """The answer of an accepted asynchronous request, served once its polls stop being ``running``."""

    key: str
    status: int
    body: Any
    polls: int = 0


@dataclass(frozen=True)
class RequestRecord:
    """One request: arrival ``time.monotonic()``, image stem, HTTP status (0 = dropped), fault."""

    time: float
    image: str
    status: int
    fault: str = ""


def emulation_of(provider: str | ProviderSpec) -> ProviderSpec:
    """The spec of an emulated provider; one without an emulator is an input error naming those with one."""
    spec = registry.get(provider) if isinstance(provider, str) else provider
    if spec.emulation is None:
        emulated = ", ".join(s.name for s in registry.emulated())
        raise InputError(f"{spec.name} has no emulator (emulated providers: {emulated})")
    return spec


def parse_request(emulation: Emulation, headers: Mapping[str, str], body: bytes) -> EmulatedRequest:
    """Validate one request body and find the image it names; never raises."""
    try:
        return emulation.parse_request(headers, body)
    except RequestRejected as exc:  # a provider that raises instead of returning an invalid request
        return EmulatedRequest(invalid=exc)


def _inspect_image(data: bytes) -> tuple[int, int]:
    """Size of the image as displayed (EXIF orientation applied); ValueError when unreadable."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return oriented_size(img)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a readable image ({type(exc).__name__})") from None


# ---------------------------------------------------------------- the server

class _Server(ThreadingHTTPServer):
    """Tracks open connections so stop() really ends keep-alive ones too."""

    daemon_threads = True
    emulator: "Emulator"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self.connections_lock:
            self.open_connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        with self.connections_lock:
            connections, self.open_connections = list(self.open_connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes; without TCP_NODELAY the body waits ~40 ms
    # for the client's delayed ACK, which would add a latency no real service has
    disable_nagle_algorithm = True
    server_version = "ocr-emulator/1"
    timeout = _SOCKET_TIMEOUT
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        self._serve()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)

    def _serve(self) -> None:
        emulator = self.server.emulator
        try:
            emulator._handle(self)
        except (ConnectionError, socket.timeout, TimeoutError):
            self.close_connection = True
        except Exception:  # a bug in an answer source must not kill the server
            log.exception("emulator: unexpected error while answering %s", self.path)
            self.close_connection = True
            try:
                status, body = emulator.emulation.error("server", "emulator internal error")
                emulator._send(self, status, json.dumps(body).encode(), {})
            except OSError:
                pass


def _read_body(handler: BaseHTTPRequestHandler) -> bytes | None:
    """The request body (Content-Length or chunked); None when it is too large to accept."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks, total = [], 0
        while True:
            size_field = handler.rfile.readline(1024).split(b";")[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_field):
                raise RequestRejected("body", f"bad chunked encoding (chunk size {size_field[:20]!r})")
            size = int(size_field, 16)
            if size == 0:
                while handler.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                return None
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline(1024)
    try:
        length = int(handler.headers.get("Content-Length") or 0)
    except ValueError:
        raise RequestRejected("body", "Content-Length is not a number") from None
    if length < 0 or length > MAX_BODY:
        return None
    return handler.rfile.read(length) if length else b""


def _loopback(host: str) -> str:
    address = "127.0.0.1" if host == "localhost" else host
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"host {host!r}: the emulator binds an IPv4 loopback address only") from None
    if ip.version != 4 or not ip.is_loopback:
        raise ValueError(f"host {host!r}: the emulator binds an IPv4 loopback address only (127.0.0.1)")
    return address


class Emulator:
    """One provider's emulated service; use as a context manager or call start() / stop()."""

    def __init__(self, provider: str | ProviderSpec, answers: Answers, faults: Faults = Faults(),
                 secret: str | None = None, host: str = "127.0.0.1", port: int = 0, poll_after: float = 0.1) -> None:
        self.spec = emulation_of(provider)
        assert self.spec.emulation is not None
        self.emulation: Emulation = self.spec.emulation
        self.provider = self.spec.name
        self.answers = answers
        self.faults = faults
        self._secret = secret
        self.host = _loopback(host)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._rng = random.Random(faults.seed)
        self._records: list[RequestRecord] = []
        self._per_image: dict[str, int] = {}
        self._successes = 0
        self.poll_after = poll_after
        self._results: dict[str, _KeptResult] = {}

    # -- lifecycle
    def start(self) -> "Emulator":
        if self._server is not None:
            return self
        server = _Server((self.host, self._port), _Handler)
        server.emulator = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"{self.provider}-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what clients and tests read
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """What the client's endpoint variable is set to (the API's URL, or the base it extends)."""
        path = self.emulation.client_path
        return self.base_url + (self.emulation.path if path is None else path)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def calls_for(self, image_name: str) -> int:
        """How many requests named this image (its stem, or the file name as sent); for a wire
        without names, how many carried the image the answer source recognised as this stem."""
        with self._lock:
            if image_name in self._per_image:
                return self._per_image[image_name]
            return self._per_image.get(image_stem(image_name), 0)

    # -- one request
    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json;charset=UTF-8")
        handler.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            handler.send_header(key, value)
        if getattr(handler, "close_connection", False):
            handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()

    def _finish(self, handler: BaseHTTPRequestHandler, stem: str, status: int, body: Any,
                fault: str = "", headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        if fault == "truncate":
            data = data[: max(1, len(data) // 2)]
        self._record(getattr(handler, "arrived", time.monotonic()), stem, status, fault)
        self._send(handler, status, data, headers or {})
        log.info("%s %s -> %d%s", self.provider, stem or "-", status, f" ({fault})" if fault else "")

    def _record(self, arrived: float, stem: str, status: int, fault: str) -> None:
        with self._lock:
            self._records.append(RequestRecord(arrived, stem, status, fault))

    def _draw_fault(self) -> tuple[str, int]:
        with self._lock:
            u, pick = self._rng.random(), self._rng.random()
        f = self.faults
        for name, rate in (("drop", f.drop_rate), ("rate_limit", f.rate_limit_rate),
                           ("error", f.error_rate), ("truncate", f.truncate_rate)):
            if u < rate:
                return name, 500 if pick < 0.5 else 503
            u -= rate
        return "", 0

    def _authorized(self, handler: BaseHTTPRequestHandler, query: Mapping[str, str]) -> bool:
        if self._secret is None:
            return True
        return self.emulation.is_authorized(handler.headers, self._secret, query)

    def _image_key(self, request: EmulatedRequest) -> str:
        """What a request's image is counted under: its stem, else the stem the answer source
        recognises from the bytes (then also set as the request's stem), else a hash of the bytes."""
        if request.stem or not request.data:
            return request.stem
        identify = getattr(self.answers, "identify", None)
        stem = identify(request.data) if identify is not None else None
        if stem:
            request.stem = stem
            return stem
        return "sha256:" + hashlib.sha256(request.data).hexdigest()[:16]

    def _quota_left(self, reserve: bool) -> bool:
        with self._lock:
            if self.faults.quota is not None and self._successes >= self.faults.quota:
                return False
            if reserve:
                self._successes += 1
            return True

    def _error(self, handler: BaseHTTPRequestHandler, stem: str, kind: str, detail: str = "",
               fault: str = "", headers: dict[str, str] | None = None) -> None:
        status, body = self.emulation.error(kind, detail)
        self._finish(handler, stem, status, body, fault, headers)

    def _drop(self, handler: BaseHTTPRequestHandler, key: str) -> None:
        self._record(handler.arrived, key, 0, "drop")  # type: ignore[attr-defined]
        log.info("%s %s -> dropped", self.provider, key or "-")
        handler.close_connection = True
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _fault_answer(self, handler: BaseHTTPRequestHandler, key: str, fault: str, server_status: int) -> bool:
        """Send the rate-limit or 5xx answer a drawn fault calls for; False when there is none."""
        if fault == "rate_limit":
            self._error(handler, key, "rate_limit", fault="rate_limit",
                        headers={"Retry-After": f"{self.faults.retry_after:g}"})
            return True
        if fault == "error":
            self._error(handler, key, "server" if server_status == 500 else "unavailable", fault="error")
            return True
        return False

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        handler.arrived = time.monotonic()  # type: ignore[attr-defined]
        try:
            body = _read_body(handler)
        except RequestRejected as exc:
            handler.close_connection = True
            return self._error(handler, "", exc.kind, exc.detail)
        if body is None:
            handler.close_connection = True
            self._error(handler, "", "too_large", f"over {MAX_BODY // (1024 * 1024)} MB")
            return
        target = urlsplit(handler.path)
        query = dict(parse_qsl(target.query, keep_blank_values=True))
        polling = self.emulation.polling
        if polling is not None and handler.command == "GET":
            result_id = polling.result_id(handler.path)
            if result_id is not None:
                return self._poll(handler, result_id, query)
        request = parse_request(self.emulation, handler.headers, body)
        if request.invalid is None and self.emulation.check_query is not None:
            request.invalid = self.emulation.check_query(query)
        key = self._image_key(request)
        if key:
            with self._lock:
                self._per_image[key] = self._per_image.get(key, 0) + 1
                attempt = self._per_image[key]
        else:
            attempt = 0
        fault, server_status = self._draw_fault()
        if fault == "truncate" and polling is not None:
            fault = ""  # the 202 has no body to cut short
        if self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000.0)

        if fault == "drop":
            return self._drop(handler, key)
        path = target.path
        if path.rstrip("/") != self.emulation.path:
            return self._error(handler, key, "url", f"no API at {path}")
        if handler.command != "POST":
            return self._error(handler, key, "method", f"{handler.command} is not supported; use POST")
        if not self._authorized(handler, query):
            return self._error(handler, key, "auth")
        if not self._quota_left(reserve=False):
            return self._error(handler, key, "quota")
        if request.invalid is not None:
            return self._error(handler, key, request.invalid.kind, request.invalid.detail)
        if attempt <= self.faults.fail_first:
            return self._error(handler, key, "unavailable", "", fault="fail_first")
        if self._fault_answer(handler, key, fault, server_status):
            return
        self._answer(handler, request, key, fault)

    def _poll(self, handler: BaseHTTPRequestHandler, result_id: str, query: Mapping[str, str]) -> None:
        """A GET of an accepted asynchronous request's result."""
        polling = self.emulation.polling
        assert polling is not None
        with self._lock:
            kept = self._results.get(result_id)
        key = kept.key if kept is not None else ""
        fault, server_status = self._draw_fault()
        if self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000.0)
        if fault == "drop":
            return self._drop(handler, key)
        if not self._authorized(handler, query):
            return self._error(handler, key, "auth")
        if kept is None:
            return self._error(handler, key, "url", f"no result {result_id}")
        if self._fault_answer(handler, key, fault, server_status):
            return
        with self._lock:
            kept.polls += 1
            running = kept.polls <= polling.polls_running
        if running:
            status, body = polling.running()
            return self._finish(handler, key, status, body, fault, {"Retry-After": f"{self.poll_after:g}"})
        self._finish(handler, key, kept.status, kept.body, fault)

    def _reply(self, handler: BaseHTTPRequestHandler, key: str, status: int, body: Any, fault: str) -> None:
        """The answer to a request that got through: sent now, or (an asynchronous wire) kept for
        its polls while the POST is answered 202."""
        polling = self.emulation.polling
        if polling is None:
            return self._finish(handler, key, status, body, fault)
        result_id = uuid.uuid4().hex
        with self._lock:
            self._results[result_id] = _KeptResult(key, status, body)
            while len(self._results) > MAX_KEPT_RESULTS:
                del self._results[next(iter(self._results))]
        accepted, headers = polling.accepted(self.base_url, result_id)
        self._finish(handler, key, accepted, b"", fault, {"Retry-After": f"{self.poll_after:g}", **headers})

    def _bad_image(self, handler: BaseHTTPRequestHandler, request: EmulatedRequest, key: str, reason: str,
                   fault: str) -> None:
        status, body = self.emulation.bad_image(request, reason)
        self._reply(handler, key, status, body, fault)

    def _answer(self, handler: BaseHTTPRequestHandler, request: EmulatedRequest, key: str, fault: str) -> None:
        try:
            width, height = _inspect_image(request.data)
        except ValueError as exc:
            return self._bad_image(handler, request, key, str(exc), fault)
        try:
            answer = self.answers.answer(ReceivedImage(request.name, request.stem, request.data, width, height))
        except PermanentError as exc:  # e.g. Tesseract refused the image
            return self._bad_image(handler, request, key, str(exc), fault)
        if fault != "truncate" and not self._quota_left(reserve=True):
            return self._error(handler, key, "quota")
        if answer.verbatim is not None:
            return self._reply(handler, key, 200, answer.verbatim, fault)
        body = self.emulation.success(answer.items, request, width, height)
        self._reply(handler, key, 200, body, fault)
