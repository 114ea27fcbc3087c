"""Loopback emulators of the OCR web services, for tests, demos and speed measurements.

A real ``ThreadingHTTPServer`` on 127.0.0.1 speaks one provider's wire format: it checks the auth
header, validates the request the way the service does, answers with that provider's body shape
(rendered by :mod:`adapters.emulators.render`) and injects faults (:class:`Faults`). Answers come from
ground truth (:class:`GtAnswers`), recorded real responses (:class:`RecordedAnswers`) or the local
Tesseract engine (:class:`EngineAnswers`). The contract with the collector is
``notes/EMULATOR_CONTRACT.md``.

Endpoints: naver ``/custom/v1/1/emulator/general`` (an invoke URL), kakao ``/v2/vision/text/ocr``,
jenti ``/evaluation``.

Errors, as the services document them (CLOVA: NAVER Cloud "CLOVA OCR overview", response status
codes; Kakao: Kakao Developers "REST API error code", common codes). Bodies are
``{"code": "00xx", "message": ...}`` for CLOVA and ``{"code": -n, "msg": ...}`` for Kakao:

==========================  =================================  ================================
situation                   CLOVA (naver)                      Kakao
==========================  =================================  ================================
wrong path                  400 ``0001`` URL is invalid.       404 ``-2``
missing / wrong secret      401 ``0002`` Secret key validate   401 ``-401`` (``Authorization:
                            failed. (``X-OCR-SECRET``)         KakaoAK <key>``)
malformed request           400 ``0011`` Request body invalid  400 ``-2`` (no ``image`` part,
                            (no JSON, missing field, 2 images, not multipart, unreadable
                            bad base64, unknown format/lang)   image)
version not V1 / V2         400 ``0021`` Protocol version
                            not support.
quota exhausted             400 ``0023`` API request count     400 ``-10`` API limit has been
                            reach the upper limit.             exceeded.
rate limit (fault)          400 ``0025`` + ``Retry-After``     429 ``-1`` + ``Retry-After``
enableTableDetection: true  400 ``0028`` (the emulated
                            domain has no table extractor)
unreadable image            200, ``images[0].inferResult``     (see malformed request)
                            ``ERROR`` with a message
server error (fault)        500 ``0500`` / 503 ``0501``        500 ``-1`` / 503 ``-7``
==========================  =================================  ================================

CLOVA documents ``0025`` with HTTP 400, and so does the emulator: a client must read the body
code to tell a rate limit from a bad request (``Retry-After`` is added so tests run fast). Kakao
documents no per-second code; ``-1`` ("internal error, retry") is used with 429. Light-OCR
(jenti) has no auth and no documented errors; the emulator answers ``{"error": "..."}`` (what
``jenti.parse`` reads as an error) with 400 (no ``file`` part, unreadable image), 429 (quota,
rate limit) or 5xx. Error messages are the documented CLOVA texts plus a detail; Kakao and
Light-OCR message texts are the emulator's own wording.

Faults are drawn from ``random.Random(seed)``, one draw per request that picks at most one of
drop / rate limit / 5xx / truncate (so their rates must add up to at most 1). ``fail_first`` and
``quota`` are deterministic. Order of checks per request: read body, added latency, drop, path
and method, auth, quota, validation, ``fail_first``, rate limit, 5xx, then the answer (truncated
or whole). Only whole successful answers count toward the quota.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import io
import ipaddress
import json
import logging
import random
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from adapters.providers import tesseract

from adapters.emulators import render as wire_render
from adapters.core.errors import InputError, PermanentError
from adapters.core.images import IMAGE_NAME_SUFFIXES, image_stem, oriented_size
from adapters.core.multipart import MultipartError, Part
from adapters.core.multipart import parse as _split_multipart
from adapters.core.schema import Item
from gt.reader import read_annotations

log = logging.getLogger("bench.emulator")

PROVIDERS = ("naver", "kakao", "jenti")
PATHS = {"naver": "/custom/v1/1/emulator/general", "kakao": "/v2/vision/text/ocr", "jenti": "/evaluation"}
URL_ENV = {"naver": "NAVER_OCR_URL", "kakao": "KAKAO_OCR_URL", "jenti": "JENTI_OCR_URL"}
SECRET_ENV = {"naver": "NAVER_OCR_SECRET", "kakao": "KAKAO_REST_API_KEY"}
NAVER_FORMATS = frozenset({"jpg", "jpeg", "png", "pdf", "tif", "tiff"})
NAVER_LANGS = frozenset({"ko", "ja", "zh-TW"})
MAX_BODY = 64 * 1024 * 1024
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


@dataclass(frozen=True)
class RequestRecord:
    """One request: arrival ``time.monotonic()``, image stem, HTTP status (0 = dropped), fault."""

    time: float
    image: str
    status: int
    fault: str = ""


@dataclass(frozen=True)
class ReceivedImage:
    """The image of one request: name as sent, the stem answers are keyed by, bytes and size."""

    name: str
    stem: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Answer:
    """Items to render in the provider's shape, or a recorded body to send byte for byte."""

    items: tuple[Item, ...] = ()
    verbatim: bytes | None = None


class Answers(Protocol):
    """A source of answers, keyed by image stem; an unknown stem gets an empty answer."""

    def answer(self, image: ReceivedImage) -> Answer: ...

    def describe(self) -> str: ...


def _index_images(images_dir: Path) -> dict[str, Path]:
    index: dict[str, Path] = {}
    for path in sorted(images_dir.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_NAME_SUFFIXES:
            if path.stem in index:
                raise InputError(f"two images with the stem {path.stem!r}: {index[path.stem]} and {path}")
            index[path.stem] = path
    return index


class GtAnswers:
    """Answers from ``<gt_dir>/<stem>.txt`` (``gt_`` prefix allowed); ``###`` words left out.

    With ``images_dir``, boxes are scaled from the original image's size (EXIF orientation
    applied) to the size of the image received, as the real services answer in the sent scale.
    """

    def __init__(self, gt_dir: Path | str, images_dir: Path | str | None = None) -> None:
        self.gt_dir = Path(gt_dir)
        annotations = read_annotations(self.gt_dir)
        self._items = {
            stem: tuple(Item(polygon=w.points, text=w.text) for w in words if w.care)
            for stem, words in annotations.images.items()
        }
        self.images_dir = None if images_dir is None else Path(images_dir)
        if self.images_dir is not None and not self.images_dir.is_dir():
            raise InputError(f"{self.images_dir}: no such folder of images")
        self._originals = {} if self.images_dir is None else _index_images(self.images_dir)
        self._sizes: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        scaled = f", boxes scaled to the images in {self.images_dir}" if self.images_dir else ""
        return f"ground truth of {len(self._items)} images from {self.gt_dir}{scaled}"

    def _original_size(self, stem: str) -> tuple[int, int] | None:
        path = self._originals.get(stem)
        if path is None:
            return None
        with self._lock:
            if stem not in self._sizes:
                try:
                    with Image.open(path) as img:
                        self._sizes[stem] = oriented_size(img)
                except (OSError, UnidentifiedImageError) as exc:
                    log.warning("%s: cannot read the original image to scale boxes (%s)", path, exc)
                    return None
            return self._sizes[stem]

    def answer(self, image: ReceivedImage) -> Answer:
        items = self._items.get(image.stem, ())
        size = self._original_size(image.stem)
        if not items or size is None or size == (image.width, image.height):
            return Answer(items=items)
        sx, sy = image.width / size[0], image.height / size[1]
        return Answer(items=tuple(
            Item(polygon=tuple((x * sx, y * sy) for x, y in item.polygon) if item.polygon else None,
                 text=item.text, confidence=item.confidence, granularity=item.granularity)
            for item in items))


class RecordedAnswers:
    """Serves ``<dir>/<stem>.json`` byte for byte: real recorded provider bodies."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise InputError(f"{self.directory}: no such folder of recorded responses")
        self._root = self.directory.resolve()

    def describe(self) -> str:
        return f"recorded responses from {self.directory}"

    def answer(self, image: ReceivedImage) -> Answer:
        path = (self.directory / f"{image.stem}.json").resolve()
        if path.parent != self._root or not path.is_file():  # unknown, or a name escaping the folder
            return Answer()
        return Answer(verbatim=path.read_bytes())


class EngineAnswers:
    """Runs the local Tesseract engine on the bytes received."""

    def __init__(self, lang: str = tesseract.DEFAULT_LANG, psm: int = tesseract.DEFAULT_PSM) -> None:
        problem = tesseract.available(lang)
        if problem:
            raise tesseract.TesseractUnavailable(problem)
        self.lang, self.psm = lang, psm

    def describe(self) -> str:
        return f"the local Tesseract engine (lang {self.lang}, psm {self.psm})"

    def answer(self, image: ReceivedImage) -> Answer:
        raw = tesseract.recognize(image.data, lang=self.lang, psm=self.psm)
        return Answer(items=tesseract.parse(raw).items)


# ---------------------------------------------------------------- request parsing (pure)

class _Invalid(Exception):
    """A request the service would refuse: the error kind of wire_render and a detail."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail


@dataclass
class _Request:
    name: str = ""
    stem: str = ""
    data: bytes = b""
    version: str = "V2"
    request_id: str = ""
    invalid: _Invalid | None = None


def parse_multipart(body: bytes, content_type: str) -> dict[str, Part]:
    """The parts of a ``multipart/form-data`` body by field name (first part wins)."""
    try:
        return _split_multipart(body, content_type)
    except MultipartError as exc:
        raise _Invalid("body", str(exc)) from None


def _require(condition: bool, kind: str, detail: str) -> None:
    if not condition:
        raise _Invalid(kind, detail)


def _naver_message(message: Any, request: _Request, multipart: bool) -> None:
    _require(isinstance(message, dict), "body", "the body must be a JSON object")
    version = message.get("version")
    if isinstance(message.get("images"), list) and message["images"] and isinstance(message["images"][0], dict):
        name = message["images"][0].get("name")
        if isinstance(name, str):
            request.name = request.stem = name  # CLOVA names are stems already
    _require(isinstance(version, str), "body", "'version' is required")
    _require(version in ("V1", "V2"), "version", f"version {version!r} (use V1 or V2)")
    request.version = version
    request_id = message.get("requestId")
    _require(isinstance(request_id, str) and bool(request_id), "body", "'requestId' must be a non-empty string")
    request.request_id = request_id
    timestamp = message.get("timestamp")
    _require(isinstance(timestamp, int) and not isinstance(timestamp, bool), "body",
             "'timestamp' must be an integer (milliseconds)")
    lang = message.get("lang")
    if lang is not None:
        _require(isinstance(lang, str) and all(code.strip() in NAVER_LANGS for code in lang.split(",")), "body",
                 f"'lang' {lang!r}: use ko, ja, zh-TW or a comma-separated list of them")
    images = message.get("images")
    _require(isinstance(images, list) and len(images) == 1, "body", "'images' must be a list with exactly one image")
    image = images[0]
    _require(isinstance(image, dict), "body", "images[0] must be an object")
    fmt = image.get("format")
    _require(isinstance(fmt, str) and fmt.lower() in NAVER_FORMATS, "body",
             f"images[0].format {fmt!r} (use one of {', '.join(sorted(NAVER_FORMATS))})")
    _require(isinstance(image.get("name"), str) and bool(image["name"]), "body", "images[0].name is required")
    if message.get("enableTableDetection") is True:
        raise _Invalid("table", "")
    if multipart:
        return
    data = image.get("data")
    if data is None:
        _require(image.get("url") is None, "body", "images[0].url: the emulator never fetches URLs; send data")
        raise _Invalid("body", "images[0].data (base64) or images[0].url is required")
    _require(isinstance(data, str), "body", "images[0].data must be a base64 string")
    try:
        request.data = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _Invalid("body", "images[0].data is not valid base64") from None


def parse_request(provider: str, headers: Any, body: bytes) -> _Request:
    """Validate one request body and find the image it names; never raises."""
    request = _Request()
    content_type = headers.get("Content-Type", "") or ""
    try:
        if provider == "naver":
            multipart = content_type.lower().startswith("multipart/")
            if multipart:
                parts = parse_multipart(body, content_type)
                _require("message" in parts, "body", "multipart request without a 'message' part")
                try:
                    message = json.loads(parts["message"].data.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    raise _Invalid("body", "the 'message' part is not JSON") from None
                _naver_message(message, request, multipart=True)
                _require("file" in parts and bool(parts["file"].data), "body", "multipart request without a 'file' part")
                request.data = parts["file"].data
            else:
                try:
                    message = json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    raise _Invalid("body", "the body is not JSON") from None
                _naver_message(message, request, multipart=False)
        else:
            field_name = "image" if provider == "kakao" else "file"
            parts = parse_multipart(body, content_type)
            part = parts.get(field_name)
            if part is not None:
                request.name = part.filename or field_name
                request.stem = image_stem(request.name)
            _require(part is not None, "body", f"the multipart field {field_name!r} is required")
            _require(bool(part.data), "body", f"the multipart field {field_name!r} is empty")
            request.data = part.data
    except _Invalid as exc:
        request.invalid = exc
    return request


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
                status, body = wire_render.error(emulator.provider, "server", "emulator internal error")
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
                raise _Invalid("body", f"bad chunked encoding (chunk size {size_field[:20]!r})")
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
        raise _Invalid("body", "Content-Length is not a number") from None
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

    def __init__(self, provider: str, answers: Answers, faults: Faults = Faults(),
                 secret: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
        self.provider = provider
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
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATHS[self.provider]}"

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def calls_for(self, image_name: str) -> int:
        """How many requests named this image (its stem, or the file name as sent)."""
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

    def _authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        if self._secret is None or self.provider == "jenti":
            return True
        if self.provider == "naver":
            sent = handler.headers.get("X-OCR-SECRET") or ""
        else:
            scheme, _, sent = (handler.headers.get("Authorization") or "").strip().partition(" ")
            if scheme != "KakaoAK":
                return False
        return hmac.compare_digest(sent.strip().encode("utf-8"), self._secret.encode("utf-8"))

    def _quota_left(self, reserve: bool) -> bool:
        with self._lock:
            if self.faults.quota is not None and self._successes >= self.faults.quota:
                return False
            if reserve:
                self._successes += 1
            return True

    def _error(self, handler: BaseHTTPRequestHandler, stem: str, kind: str, detail: str = "",
               fault: str = "", headers: dict[str, str] | None = None) -> None:
        status, body = wire_render.error(self.provider, kind, detail)
        self._finish(handler, stem, status, body, fault, headers)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        handler.arrived = time.monotonic()  # type: ignore[attr-defined]
        try:
            body = _read_body(handler)
        except _Invalid as exc:
            handler.close_connection = True
            return self._error(handler, "", exc.kind, exc.detail)
        if body is None:
            handler.close_connection = True
            self._error(handler, "", "too_large", f"over {MAX_BODY // (1024 * 1024)} MB")
            return
        request = parse_request(self.provider, handler.headers, body)
        stem = request.stem
        if stem:
            with self._lock:
                self._per_image[stem] = self._per_image.get(stem, 0) + 1
                attempt = self._per_image[stem]
        else:
            attempt = 0
        fault, server_status = self._draw_fault()
        if self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000.0)

        if fault == "drop":
            self._record(handler.arrived, stem, 0, "drop")  # type: ignore[attr-defined]
            log.info("%s %s -> dropped", self.provider, stem or "-")
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        path = urlsplit(handler.path).path
        if path.rstrip("/") != PATHS[self.provider]:
            return self._error(handler, stem, "url", f"no API at {path}")
        if handler.command != "POST":
            return self._error(handler, stem, "method", f"{handler.command} is not supported; use POST")
        if not self._authorized(handler):
            return self._error(handler, stem, "auth")
        if not self._quota_left(reserve=False):
            return self._error(handler, stem, "quota")
        if request.invalid is not None:
            return self._error(handler, stem, request.invalid.kind, request.invalid.detail)
        if attempt <= self.faults.fail_first:
            return self._error(handler, stem, "unavailable", "", fault="fail_first")
        if fault == "rate_limit":
            return self._error(handler, stem, "rate_limit", fault="rate_limit",
                               headers={"Retry-After": f"{self.faults.retry_after:g}"})
        if fault == "error":
            return self._error(handler, stem, "server" if server_status == 500 else "unavailable", fault="error")
        self._answer(handler, request, fault)

    def _bad_image(self, handler: BaseHTTPRequestHandler, request: _Request, reason: str, fault: str) -> None:
        if self.provider == "naver":
            body = wire_render.naver_image_error(name=request.name, message=f"Image read failed: {reason}",
                                                 version=request.version, request_id=request.request_id)
            return self._finish(handler, request.stem, 200, body, fault)
        return self._error(handler, request.stem, "bad_image", reason, fault)

    def _answer(self, handler: BaseHTTPRequestHandler, request: _Request, fault: str) -> None:
        stem = request.stem
        try:
            width, height = _inspect_image(request.data)
        except ValueError as exc:
            return self._bad_image(handler, request, str(exc), fault)
        try:
            answer = self.answers.answer(ReceivedImage(request.name, stem, request.data, width, height))
        except PermanentError as exc:  # e.g. Tesseract refused the image
            return self._bad_image(handler, request, str(exc), fault)
        if fault != "truncate" and not self._quota_left(reserve=True):
            return self._error(handler, stem, "quota")
        if answer.verbatim is not None:
            return self._finish(handler, stem, 200, answer.verbatim, fault)
        if self.provider == "naver":
            body = wire_render.naver_success(answer.items, name=request.name, width=width, height=height,
                                             version=request.version, request_id=request.request_id)
        elif self.provider == "kakao":
            body = wire_render.kakao_success(answer.items)
        else:
            body = wire_render.jenti_success(answer.items)
        self._finish(handler, stem, 200, body, fault)
