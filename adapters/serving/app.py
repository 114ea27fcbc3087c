"""``bench serve``: the Light-OCR web API over a local engine, as a plain WSGI application.

The original Light-OCR server (``curl -X POST host:5000/evaluation --form file=@image.jpg``) is
gone; this brings its API back on a local engine (e.g. Tesseract) so a self-hosted engine can be
benchmarked exactly like a commercial API (point the Light-OCR provider at it). The engine and
the wire that renders ``/evaluation`` answers are both provider specs from the registry, chosen
by ``bench serve``. Routes:

==================  =========================================================================
``POST /evaluation``  multipart field ``file`` -> ``{text: [x1, y1, x2, y2, x3, y3, x4, y4]}``,
                      the original shape: integer corners, one box per distinct text (a word
                      read twice keeps its last box, as the original's ``dict`` did), no
                      confidences
``POST /v1/ocr``      the same upload -> the image in the project's result schema: every word,
                      its confidence, the image size (lossless)
``GET /health``       readiness: 200 when the engine and its languages are installed, else 503
``GET /openapi.json`` the OpenAPI 3 description of all of the above
==================  =========================================================================

Every error is JSON ``{"error": message, "code": short_code, "status": http_status}``. The app
is request -> response logic only: validation happens before the engine sees a byte (size from
Content-Length before reading, then a capped read; the image format and pixel count from the
image header before anything is decoded), and nothing from the request is ever used as a path
(the bytes go to Tesseract on stdin). :mod:`adapters.serving.run` puts it on waitress.
"""
from __future__ import annotations

import http
import io
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol

from PIL import Image, UnidentifiedImageError

from adapters.core import multipart
from adapters.core.errors import EngineUnavailable, PermanentError, ProviderError
from adapters.core.images import image_stem
from adapters.core.schema import ImageResult
from adapters.providers.registry import EmulatedRequest, ProviderSpec, Settings

log = logging.getLogger("bench.serve")

FIELD = "file"
ROUTES: dict[str, tuple[str, ...]] = {
    "/evaluation": ("POST",),
    "/v1/ocr": ("POST",),
    "/health": ("GET",),
    "/openapi.json": ("GET",),
}
# Formats Leptonica (Tesseract's image library) reads itself, as Pillow names them.
SUPPORTED_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "GIF", "WEBP", "PPM")  # JPEG includes MPO
DEFAULT_MAX_UPLOAD_MB = 20.0
DEFAULT_MAX_PIXELS = 50_000_000
JSON_TYPE = "application/json; charset=utf-8"

# Formats Pillow cannot open at all but a client may well send: refused as 415, not 400.
_FOREIGN_MAGIC = ((b"%PDF-", "PDF"), (b"%!PS", "PostScript"), (b"\x00\x00\x00\x0cjP  \r\n", "JPEG 2000"),
                  (b"8BPS", "Photoshop PSD"), (b"gimp xcf", "GIMP XCF"))
_FOREIGN_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF", b"avif": "AVIF"}


# How to call the API and how it refuses, for ``bench serve --help`` (app.py and this module define both).
CALLING_HELP = """\b
Calling it (field name `file`, as the original Light-OCR API):
  curl -F 'file=@sample_image.jpg' http://127.0.0.1:5000/evaluation
      -> {"출입구": [42, 49, 218, 49, 218, 108, 42, 108], "비상구": [...]}   one box per distinct text
  curl -F 'file=@sample_image.jpg' http://127.0.0.1:5000/v1/ocr
      -> {"status": "ok", "width": 560, "height": 220, "items": [{"polygon": [[42.0, 49.0], ...],
          "text": "출입구", "confidence": 0.9699, "granularity": "word"}, ...]}   every word
  curl http://127.0.0.1:5000/health
  curl http://127.0.0.1:5000/openapi.json
"""
ERRORS_HELP = """\b
Errors are JSON {"error": ..., "code": ..., "status": ...}: 400 no file, empty file, not an
image, malformed multipart; 415 not multipart/form-data or an unsupported image format; 413
upload over --max-upload-mb (refused before the body is read) or image over --max-pixels
(checked from the image header before decoding); 404 unknown route; 405 wrong method; 503
engine unavailable or busy (with Retry-After: no slot within 120 s, or --threads - --workers - 1
requests already waiting); 504 the engine ran out of --timeout. A body shorter than its
Content-Length gets no answer (the connection is closed).
Binds 127.0.0.1 unless --host says otherwise; off loopback, put a reverse proxy with request
deadlines in front (slow clients can hold every connection). Ctrl-C stops it (exit code 130).
"""


class ApiError(Exception):
    """A request the API refuses or cannot serve: HTTP status, short code and a plain-English message."""

    def __init__(self, status: int, code: str, message: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = tuple(headers)


class Engine(Protocol):
    """An OCR engine behind the API. ``recognize`` raises :class:`ApiError` for anything but success."""

    name: str

    def recognize(self, data: bytes) -> ImageResult: ...

    def health(self) -> dict[str, Any]: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Limits:
    """What one request may be: body bytes (whole multipart body) and image pixels."""

    max_upload_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 1024 * 1024)
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if self.max_upload_bytes < 1 or self.max_pixels < 1:
            raise ValueError("the upload and pixel limits must be positive")

    def describe(self) -> str:
        return f"uploads up to {_megabytes(self.max_upload_bytes)}, images up to {self.max_pixels:,} pixels"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def json_response(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, body, (("Content-Type", JSON_TYPE), *headers))


def error_payload(status: int, code: str, message: str) -> dict[str, Any]:
    """The body of every error, also used by the runner for errors waitress raises itself."""
    return {"error": message, "code": code, "status": status}


def error_response(error: ApiError) -> Response:
    return json_response(error.status, error_payload(error.status, error.code, error.message), error.headers)


# ---------------------------------------------------------------------------------------------- the engine

class EngineSlots:
    """A provider's local engine with at most ``workers`` recognitions at a time; the rest wait their turn.

    Each recognition is already its own engine process (e.g. ``tesseract`` fed on stdin), so a semaphore
    around it bounds CPU and memory the way a process pool would, without pickling uploads
    across processes; a crashed engine process costs one request. A request that waits longer
    than ``queue_timeout`` for a slot gets 503 with Retry-After instead of piling up, and so does
    one arriving when ``max_waiting`` requests already wait: each waiting request holds one of
    the HTTP server's threads, so the cap keeps a thread free for ``/health``.
    """

    def __init__(self, spec: ProviderSpec, settings: Settings = Settings(), workers: int = 1,
                 timeout: float | None = None, queue_timeout: float = 120.0, max_waiting: int | None = None) -> None:
        if spec.engine is None:
            raise ValueError(f"{spec.name} has no local engine")
        if workers < 1:
            raise ValueError("workers must be at least 1")
        if max_waiting is not None and max_waiting < 0:
            raise ValueError("max_waiting must not be negative")
        self.spec, self.engine, self.name = spec, spec.engine, spec.name
        self.settings, self.workers = spec.settings(settings), workers
        self.timeout, self.queue_timeout, self.max_waiting = timeout, queue_timeout, max_waiting
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._busy = 0
        self._waiting = 0

    def describe(self) -> str:
        return f"{self.spec.title} ({self.engine.describe(self.settings)}, {self.workers} at a time)"

    def _count(self, busy: int = 0, waiting: int = 0) -> None:
        with self._lock:
            self._busy += busy
            self._waiting += waiting

    def _admit(self) -> None:
        """Take an engine slot: at once if one is free, else wait in line unless the line is full."""
        if self._slots.acquire(blocking=False):
            self._count(busy=1)
            return
        with self._lock:
            if self.max_waiting is not None and self._waiting >= self.max_waiting:
                raise ApiError(503, "engine_busy", f"every engine slot is busy and {self._waiting} request(s) "
                                                   f"already wait; retry later", headers=(("Retry-After", "5"),))
            self._waiting += 1
        acquired = self._slots.acquire(timeout=self.queue_timeout)
        self._count(waiting=-1, busy=1 if acquired else 0)
        if not acquired:
            raise ApiError(503, "engine_busy", f"every engine slot stayed busy for {self.queue_timeout:g} s; "
                                               f"retry later", headers=(("Retry-After", "5"),))

    def _run(self, data: bytes) -> Any:
        """One engine run on the image (its raw response); runs while holding a slot."""
        return self.engine.recognize(data, self.settings, self.timeout)

    def recognize(self, data: bytes) -> ImageResult:
        self._admit()
        try:
            raw = self._run(data)
        except EngineUnavailable as exc:
            raise ApiError(503, "engine_unavailable", str(exc)) from None
        except PermanentError as exc:
            raise ApiError(400, "unreadable_image", str(exc)) from None
        except ProviderError as exc:  # the engine ran out of time on this image
            raise ApiError(504, "engine_timeout", str(exc)) from None
        finally:
            self._slots.release()
            self._count(busy=-1)
        return self.spec.parse(raw)

    def health(self) -> dict[str, Any]:
        problem = self.engine.available(self.settings)
        with self._lock:
            busy, waiting = self._busy, self._waiting
        report: dict[str, Any] = {"engine": self.name, "ready": problem is None, **self.engine.facts(self.settings),
                                  "workers": self.workers, "busy": busy, "waiting": waiting,
                                  "max_waiting": self.max_waiting}
        if problem:
            report["error"] = problem
        return report


# ---------------------------------------------------------------------------------------------- validation

@dataclass(frozen=True)
class Upload:
    """An accepted image: its bytes, the name the client gave it (never used as a path) and header facts."""

    data: bytes
    filename: str | None
    format: str
    width: int
    height: int


def read_body(stream: Any, content_length: str | None, limit: int) -> bytes:
    """The request body, refusing (413) before reading when Content-Length is over ``limit`` and
    never reading more than ``limit + 1`` bytes when it is absent.

    Read in one call where the stream allows (waitress hands a buffer holding the whole body),
    so the body is in memory once, not once in chunks and again joined. A body shorter than its
    Content-Length never gets here under waitress (it closes such a connection unanswered); from
    another server it would fail as a multipart body cut before its closing boundary.
    """
    length: int | None = None
    if content_length not in (None, ""):
        try:
            length = int(content_length)
        except ValueError:
            raise ApiError(400, "bad_request", f"Content-Length is not a number: {content_length!r}") from None
        if length < 0:
            raise ApiError(400, "bad_request", "Content-Length is negative")
        if length > limit:
            raise ApiError(413, "too_large", f"the upload is {length:,} bytes; the limit is {_megabytes(limit)} "
                                             f"({limit:,} bytes, --max-upload-mb)")
    want = limit + 1 if length is None else length
    chunks, got = [], 0
    while got < want:
        chunk = stream.read(want - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if len(body) > limit:
        raise ApiError(413, "too_large", f"the upload is over the limit of {_megabytes(limit)} (--max-upload-mb)")
    return body


def _foreign_format(data: bytes) -> str | None:
    """The name of a well-known format Pillow cannot open (PDF, HEIC, SVG...), from its first bytes."""
    for magic, name in _FOREIGN_MAGIC:
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in _FOREIGN_BRANDS:
        return _FOREIGN_BRANDS[data[8:12]]
    head = data[:1024].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "SVG"
    return None


def _unsupported(name: str) -> ApiError:
    return ApiError(415, "unsupported_format", f"{name} is not a supported format; send one of "
                                               f"{', '.join(SUPPORTED_FORMATS)}")


def _pixels_error(width: int, height: int, max_pixels: int) -> ApiError:
    return ApiError(413, "too_many_pixels", f"the image is {width} x {height} = {width * height:,} pixels; "
                                            f"the limit is {max_pixels:,} (--max-pixels)")


def _bomb_error(max_pixels: int) -> ApiError:
    pillow_limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
    return ApiError(413, "too_many_pixels", f"the image declares over {pillow_limit:,} pixels (a decompression "
                                            f"bomb to Pillow); the limit is {max_pixels:,} (--max-pixels)")


def inspect_image(data: bytes, max_pixels: int) -> tuple[str, int, int]:
    """Format and size from the image header only (nothing is decoded), or the ApiError refusing it.

    Only the decoders of :data:`SUPPORTED_FORMATS` may read the bytes; anything else is named
    (415) when it is a known format and called "not an image" (400) otherwise.
    """
    try:
        with Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS) as img:
            fmt, (width, height) = img.format or "?", img.size
    except Image.DecompressionBombError:
        raise _bomb_error(max_pixels) from None
    except UnidentifiedImageError:
        raise _refusal(data, max_pixels) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ApiError(400, "not_an_image", f"not a readable image ({type(exc).__name__}: {exc})") from None
    if width * height > max_pixels:
        raise _pixels_error(width, height, max_pixels)
    if width < 1 or height < 1:
        raise ApiError(400, "not_an_image", f"the image is {width} x {height} pixels")
    return fmt, width, height


def _refusal(data: bytes, max_pixels: int) -> ApiError:
    """Why bytes no supported decoder accepts are refused: 415 for a format we can name, else 400."""
    try:  # header only: naming the format never decodes it
        with Image.open(io.BytesIO(data)) as other:
            return _unsupported(other.format or "this")
    except Image.DecompressionBombError:
        return _bomb_error(max_pixels)
    except Exception:  # any plugin may choke on garbage: it is then simply not an image we know
        pass
    foreign = _foreign_format(data)
    if foreign:
        return _unsupported(foreign)
    return ApiError(400, "not_an_image", "the file is not an image (no supported image header found)")


def parse_upload(body: bytes, content_type: str, limits: Limits) -> Upload:
    """The image of a ``multipart/form-data`` request with field ``file``, checked and sized."""
    if not body:
        raise ApiError(400, "missing_file", f"no upload: send the image as multipart/form-data field {FIELD!r}, "
                                            f"e.g. curl --form '{FIELD}=@image.jpg'")
    if multipart.media_type(content_type) != multipart.FORM_DATA:
        raise ApiError(415, "unsupported_media_type",
                       f"expected multipart/form-data with the image in field {FIELD!r}, "
                       f"got Content-Type {content_type or 'none'!r}")
    try:
        parts = multipart.parse(body, content_type, require_end=True)
    except multipart.MultipartError as exc:
        raise ApiError(400, "malformed_multipart", f"malformed multipart body: {exc}") from None
    part = parts.get(FIELD)
    if part is None:
        others = ", ".join(repr(name) for name in parts) or "none"
        raise ApiError(400, "missing_file", f"the multipart field {FIELD!r} is required (fields sent: {others})")
    if not part.data:
        raise ApiError(400, "empty_file", f"the multipart field {FIELD!r} is empty")
    fmt, width, height = inspect_image(part.data, limits.max_pixels)
    return Upload(part.data, part.filename, fmt, width, height)


# ---------------------------------------------------------------------------------------------- the app

def _route(path: str) -> str | None:
    trimmed = path.rstrip("/") or "/"
    return trimmed if trimmed in ROUTES else None


class App:
    """The WSGI application: ``App(engine, wire)(environ, start_response)``; ``wire`` is the provider
    whose emulated success body answers ``/evaluation`` (Light-OCR's ``{text: quad}``)."""

    def __init__(self, engine: Engine, wire: ProviderSpec, limits: Limits = Limits(),
                 title: str = "Korean OCR Bench serve") -> None:
        if wire.emulation is None:
            raise ValueError(f"{wire.name} has no wire format to answer in")
        self.engine = engine
        self.wire = wire
        self._render = wire.emulation.success
        self.limits = limits
        self.title = title
        self._openapi = json.dumps(openapi_document(limits, engine.describe(), title), ensure_ascii=False).encode()

    # -- WSGI
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        started = time.perf_counter()
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO") or "/")
        try:
            response = self.respond(method, path, environ)
        except ApiError as exc:
            response = error_response(exc)
        except Exception:  # a bug must cost one request, never the server
            log.exception("unexpected error while serving %s %s", method, path)
            response = error_response(ApiError(500, "internal_error", "unexpected server error; see the server log"))
        headers = [*response.headers, ("Content-Length", str(len(response.body)))]
        start_response(f"{response.status} {http.HTTPStatus(response.status).phrase}", headers)
        log.info("%s %s -> %d (%.0f ms)", method, path, response.status, (time.perf_counter() - started) * 1000)
        return [b""] if method == "HEAD" else [response.body]

    def respond(self, method: str, path: str, environ: dict[str, Any]) -> Response:
        """Route one request; raises :class:`ApiError` for every refusal."""
        route = _route(path)
        if route is None:
            raise ApiError(404, "not_found", f"no API at {path}; see GET /openapi.json")
        allowed = ROUTES[route]
        if method == "HEAD" and "GET" in allowed:
            method = "GET"
        if method not in allowed:
            raise ApiError(405, "method_not_allowed", f"{method} is not supported on {route}; use {', '.join(allowed)}",
                           headers=(("Allow", ", ".join(allowed + (("HEAD",) if "GET" in allowed else ()))),))
        if route == "/health":
            return self.health()
        if route == "/openapi.json":
            return Response(200, self._openapi, (("Content-Type", JSON_TYPE),))
        # the body is dropped once parsed: a request waiting for the engine holds only the image
        upload = parse_upload(read_body(environ.get("wsgi.input") or io.BytesIO(), environ.get("CONTENT_LENGTH"),
                                        self.limits.max_upload_bytes),
                              str(environ.get("CONTENT_TYPE") or ""), self.limits)
        result = self.engine.recognize(upload.data)
        if route == "/evaluation":
            request = EmulatedRequest(name=upload.filename or FIELD, stem=image_stem(upload.filename or FIELD),
                                      data=upload.data)
            return json_response(200, self._render(result.items, request, upload.width, upload.height))
        return json_response(200, result.to_json())

    def health(self) -> Response:
        report = self.engine.health()
        ready = bool(report.get("ready"))
        payload = {"status": "ok" if ready else "unavailable", **report,
                   "limits": {"max_upload_bytes": self.limits.max_upload_bytes, "max_pixels": self.limits.max_pixels}}
        return json_response(200 if ready else 503, payload)


# ---------------------------------------------------------------------------------------------- OpenAPI

def _error_responses(*statuses: int) -> dict[str, Any]:
    reasons = {400: "Bad input: no file, an empty file, not an image, a malformed multipart body",
               413: "Upload over --max-upload-mb, or image over --max-pixels",
               415: "Not multipart/form-data, or an image format the engine does not read",
               500: "Unexpected server error", 503: "Engine unavailable or all engine slots busy (Retry-After)",
               504: "The engine ran out of time on this image"}
    return {str(status): {"description": reasons[status],
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for status in statuses}


def openapi_document(limits: Limits, engine: str, title: str = "Korean OCR Bench serve") -> dict[str, Any]:
    """The OpenAPI 3.0 description of the routes; written by hand so tests can hold the app to it."""
    upload = {
        "required": True,
        "content": {"multipart/form-data": {
            "schema": {"type": "object", "required": [FIELD],
                       "properties": {FIELD: {"type": "string", "format": "binary",
                                              "description": f"The image: {', '.join(SUPPORTED_FORMATS)}; "
                                                             f"{limits.describe()}."}}},
        }},
    }
    upload_errors = _error_responses(400, 413, 415, 500, 503, 504)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": "1",
            "description": ("A Light-OCR API compatible server over the local OCR engine "
                            f"({engine}). Errors are JSON objects with error, code and status."),
        },
        "paths": {
            "/evaluation": {"post": {
                "operationId": "evaluation",
                "summary": "Recognize text: the original Light-OCR response shape",
                "description": ("One key per distinct recognized text, mapped to its box's four corners as "
                                "integers [x1, y1, x2, y2, x3, y3, x4, y4] (top-left, top-right, bottom-right, "
                                "bottom-left). A text read twice keeps its last box; there are no confidences. "
                                "Use /v1/ocr for every word with its confidence."),
                "requestBody": upload,
                "responses": {"200": {"description": "Texts and their boxes (empty object: no text found)",
                                      "content": {"application/json": {
                                          "schema": {"$ref": "#/components/schemas/LightOcrResult"}}}},
                              **upload_errors},
            }},
            "/v1/ocr": {"post": {
                "operationId": "ocr",
                "summary": "Recognize text: every word with its polygon and confidence (the project's schema)",
                "requestBody": upload,
                "responses": {"200": {"description": "One image in the korean-ocr-bench/results schema",
                                      "content": {"application/json": {
                                          "schema": {"$ref": "#/components/schemas/ImageResult"}}}},
                              **upload_errors},
            }},
            "/health": {"get": {
                "operationId": "health",
                "summary": "Readiness: the engine and its languages are installed",
                "responses": {"200": {"description": "Ready", "content": {"application/json": {
                                  "schema": {"$ref": "#/components/schemas/Health"}}}},
                              "503": {"description": "The engine or a language is missing", "content": {
                                  "application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}},
            }},
            "/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3 document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
        },
        "components": {"schemas": {
            "LightOcrResult": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "integer"}, "minItems": 8, "maxItems": 8},
                "example": {"출입구": [42, 49, 218, 49, 218, 108, 42, 108]},
            },
            "Item": {
                "type": "object", "required": ["polygon", "text", "confidence", "granularity"],
                "properties": {
                    "polygon": {"type": "array", "nullable": True, "description": "[x, y] points in image pixels",
                                "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}},
                    "text": {"type": "string"},
                    "confidence": {"type": "number", "nullable": True, "minimum": 0, "maximum": 1},
                    "granularity": {"type": "string", "enum": ["word", "line", "region"]},
                },
            },
            "ImageResult": {
                "type": "object", "required": ["status", "items"],
                "properties": {"status": {"type": "string", "enum": ["ok"]},
                               "width": {"type": "integer", "minimum": 1},
                               "height": {"type": "integer", "minimum": 1},
                               "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}},
            },
            "Health": {
                "type": "object", "required": ["status", "engine", "ready"],
                "properties": {"status": {"type": "string", "enum": ["ok", "unavailable"]},
                               "engine": {"type": "string"}, "ready": {"type": "boolean"},
                               "lang": {"type": "string"}, "languages": {"type": "array", "items": {"type": "string"}},
                               "psm": {"type": "integer"}, "workers": {"type": "integer"},
                               "busy": {"type": "integer"}, "waiting": {"type": "integer"},
                               "max_waiting": {"type": "integer", "nullable": True},
                               "error": {"type": "string"}, "limits": {"type": "object"}},
            },
            "Error": {
                "type": "object", "required": ["error", "code", "status"],
                "properties": {"error": {"type": "string", "description": "What went wrong, in plain English"},
                               "code": {"type": "string", "description": "Short machine-readable reason"},
                               "status": {"type": "integer", "description": "The HTTP status again"}},
            },
        }},
    }
