"""Upstage Document OCR (``POST /v1/document-digitization`` with ``model=ocr``): parsing, requests, verdicts.

Wire format (Upstage console, "Document OCR" API reference): a multipart POST with the file in
field ``document`` and the form field ``model=ocr``, authenticated by ``Authorization: Bearer
<UPSTAGE_API_KEY>``. The answer is ``{"apiVersion", "confidence", "metadata", "mimeType",
"modelVersion", "numBilledPages", "pages": [{"id", "width", "height", "text", "confidence",
"words": [{"id", "text", "confidence", "boundingBox": {"vertices": [{"x", "y"} x4]}}]}],
"text"}``. Words are word-level items in pixels of the page; a vertex may leave out ``x`` or
``y``, which then means 0. ``numBilledPages`` is what Upstage bills, kept in the raw answer for
cost. Upstage documents 3 requests per second for the ``ocr`` alias and HTTP 429 past a rate
limit.

Error bodies are not shown in the documentation that could be found. The shape assumed here is
the OpenAI-style ``{"error": {"message", "type", "param", "code"}}`` that Upstage's own
OpenAI-compatible APIs use and that third-party Upstage clients read (``error.message``); the
emulator's error table below is therefore our wording, not Upstage's. Because that shape is the
OpenAI one, :func:`looks_like` does not claim error bodies (``openai.looks_like`` does); the
parser still turns them into error results.
"""
from __future__ import annotations

import hmac
import json
import statistics
from collections.abc import Mapping, Sequence  # the ABCs: isinstance is 3x faster than with typing's aliases
from typing import Any

from adapters.core.schema import ImageResult, Item, Point
from adapters.providers.response_fields import ResponseFormatError, unit_confidence, vertices

NAME = "upstage"
URL_VARIABLE = "UPSTAGE_OCR_URL"
SECRET_VARIABLE = "UPSTAGE_API_KEY"
DEFAULT_URL = "https://api.upstage.ai/v1/document-digitization"
DEFAULT_MODEL = "ocr"
DOCUMENTED_RPS = 3  # "ocr" alias, Upstage console "Document OCR" model table
PATH = "/v1/document-digitization"


def looks_like(raw: Any) -> bool:
    """True for an Upstage Document OCR success body (see the module docstring about error bodies)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("pages"), list):
        return False
    if "analyzeResult" in raw or "modelId" in raw:  # Azure's analyze result also has pages
        return False
    return any(key in raw for key in ("numBilledPages", "modelVersion", "mimeType"))


def _size(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or value != int(value):
        return None
    return int(value)


def _error_reason(raw: Mapping[str, Any]) -> str:
    error = raw.get("error")
    if isinstance(error, Mapping):
        code = error.get("code") or error.get("type") or ""
        message = error.get("message", "")
        return f"Upstage error {code}: {message}".strip() if code else f"Upstage error: {message}".strip()
    return f"Upstage error: {error}"


def parse(raw: Any) -> ImageResult:
    """One Document OCR answer -> word items of its first page; error bodies -> error results."""
    if not isinstance(raw, Mapping):
        raise ResponseFormatError(f"expected a JSON object, got {type(raw).__name__}")
    if "pages" not in raw and "error" in raw:
        return ImageResult.failed(_error_reason(raw))
    pages = raw.get("pages")
    if not isinstance(pages, list):
        raise ResponseFormatError("no 'pages' list in the response")
    if not pages:
        return ImageResult.ok([])
    page = pages[0]  # one image is one page
    if not isinstance(page, Mapping):
        raise ResponseFormatError("pages[0] is not an object")
    words = page.get("words", [])
    if not isinstance(words, list):
        raise ResponseFormatError("pages[0].words is not a list")
    items = []
    for k, word in enumerate(words):
        what = f"pages[0].words[{k}]"
        if not isinstance(word, Mapping):
            raise ResponseFormatError(f"{what} is not an object")
        text = word.get("text", "")
        if not isinstance(text, str):
            raise ResponseFormatError(f"{what}.text is not a string")
        box = word.get("boundingBox")
        items.append(Item(
            polygon=None if box is None else vertices(box, f"{what}.boundingBox"),
            text=text,
            confidence=unit_confidence(word.get("confidence"), f"{what}.confidence"),
            granularity="word",
        ))
    return ImageResult.ok(items, width=_size(page.get("width")), height=_size(page.get("height")))


def billed_pages(raw: Any) -> int | None:
    """``numBilledPages`` of a success body (what the call cost), None when absent."""
    value = raw.get("numBilledPages") if isinstance(raw, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


# --- request building and answer classification (bench collect) ---------------------------------

from adapters.core.images import ImagePolicy, PreparedImage
from adapters.core.pricing import PAGES, Meter, Price
from adapters.providers.base import (HttpAnswer, HttpRequest, Outcome, Verdict, by_status, header, json_body,
                                     parse_retry_after, short_message, unparseable)

# JPEG, PNG, BMP, TIFF (also PDF, HEIC and office files) up to 50 MB; WebP is re-encoded to PNG.
MAX_BYTES = 50 * 1024 * 1024
POLICY = ImagePolicy(formats=frozenset({"jpg", "png", "bmp", "tiff"}), max_bytes=MAX_BYTES)

PRICE = Price(
    provider=NAME, unit="page (numBilledPages)", krw_per_1000=None, usd_per_1000=None,
    free_quota="unknown",
    source="https://www.upstage.ai/pricing/api; https://console.upstage.ai/docs/capabilities/parse/document-ocr",
    checked="2026-12-01",
    note="the Document OCR per-page price was not visible in the pricing pages found (they list "
         "commitment tiers and rate limits); each raw answer keeps numBilledPages, so cost = pages x your price",
)


def _billed(raw: Any) -> dict[str, int]:
    pages = billed_pages(raw)
    return {} if pages is None else {PAGES: pages}


# Words in a 429 or 402 body that mean the money, not the rate, ran out (the codes are assumed).
_QUOTA_WORDS = ("insufficient_quota", "insufficient_credit", "credit", "billing", "balance", "quota_exceeded")


def build_request(image: PreparedImage, url: str, secret: str, model: str = DEFAULT_MODEL) -> HttpRequest:
    """Multipart POST: the image in field ``document``, ``model=ocr``, ``Authorization: Bearer <key>``."""
    from urllib3.filepost import encode_multipart_formdata as _multipart  # here: every command imports the providers

    body, content_type = _multipart([
        ("document", (image.file_name, image.data, image.mime_type)),
        ("model", model),
    ])
    return HttpRequest(url, {"Authorization": f"Bearer {secret}", "Content-Type": content_type}, body)


def _error_fields(body: Any) -> tuple[str, str, str] | None:
    """(code, type, message) of an ``{"error": ...}`` body, None for any other body."""
    if not isinstance(body, Mapping) or "pages" in body or "error" not in body:
        return None
    error = body["error"]
    if isinstance(error, Mapping):
        code, kind, message = error.get("code"), error.get("type"), error.get("message", "")
        return ("" if code is None else str(code), "" if kind is None else str(kind),
                message if isinstance(message, str) else json.dumps(message, ensure_ascii=False))
    return "", "", error if isinstance(error, str) else json.dumps(error, ensure_ascii=False)


def _says_quota(*texts: str) -> bool:
    lowered = " ".join(texts).lower()
    return any(word in lowered for word in _QUOTA_WORDS)


def classify(answer: HttpAnswer) -> Verdict:
    """Upstage answer -> verdict: 429 rate limit (quota when the body says so), 401/403 auth, 5xx transient."""
    ok, body = json_body(answer)
    if not ok:
        if answer.status == 404:
            return Verdict(Outcome.AUTH, "HTTP 404", "no API at this URL: check UPSTAGE_OCR_URL")
        return unparseable(answer)
    fields = _error_fields(body)
    if fields is not None or answer.status != 200:
        code, kind, message = fields or ("", "", "")
        label = f"Upstage {code or kind}" if (code or kind) else f"HTTP {answer.status}"
        message = short_message(message)
        if answer.status == 402 or (answer.status in (403, 429) and _says_quota(code, kind, message)):
            return Verdict(Outcome.QUOTA, label, message or "credit or quota exhausted", body=body)
        if answer.status == 429:
            return Verdict(Outcome.RATE_LIMITED, label, message or "too many requests",
                           parse_retry_after(header(answer, "Retry-After")), body)
        if answer.status == 404:
            return Verdict(Outcome.AUTH, label, message or "no API at this URL: check UPSTAGE_OCR_URL", body=body)
        if answer.status == 200:  # an error object in a 200 answer: the request was refused
            return Verdict(Outcome.PERMANENT, label, message or "error body in a 200 answer", body=body)
        return by_status(answer, body, label if fields else "", message)
    if not isinstance(body, Mapping) or not isinstance(body.get("pages"), list):
        return by_status(answer, body, "unexpected_response", "no 'pages' list in a 200 answer")
    return Verdict(Outcome.SUCCESS, body=body)


# --- emulation: what a loopback Upstage speaks --------------------------------------------------

from adapters.core.multipart import MultipartError
from adapters.core.multipart import parse as _split_multipart
from adapters.providers.registry import EmulatedRequest, RequestRejected

# kind -> (HTTP status, error code, error type, message); our wording (see the module docstring).
ERRORS: dict[str, tuple[int, str, str, str]] = {
    "url": (404, "not_found", "invalid_request_error", "No API at this path."),
    "auth": (401, "invalid_api_key", "invalid_request_error", "Invalid API key. Check your Upstage API key."),
    "body": (400, "invalid_request", "invalid_request_error", "The request is invalid."),
    "bad_image": (400, "invalid_document", "invalid_request_error", "The document could not be read."),
    "quota": (402, "insufficient_credit", "insufficient_quota", "Your credit balance is exhausted."),
    "rate_limit": (429, "too_many_requests", "rate_limit_error", "Too many requests. Retry after a moment."),
    "method": (405, "method_not_allowed", "invalid_request_error", "Method not allowed; use POST."),
    "too_large": (413, "payload_too_large", "invalid_request_error", "The document is larger than 50 MB."),
    "server": (500, "internal_server_error", "server_error", "Internal server error."),
    "unavailable": (503, "service_unavailable", "server_error", "The service is temporarily unavailable."),
}


def render_error(kind: str, detail: str = "") -> tuple[int, dict[str, Any]]:
    """``(status, body)`` of the emulated error of ``kind``; ``detail`` is appended to the message."""
    status, code, kind_name, message = ERRORS[kind]
    return status, {"error": {"message": f"{message} {detail}".strip(), "type": kind_name, "param": None,
                              "code": code}}


def authorized(headers: Mapping[str, str], secret: str) -> bool:
    """``Authorization: Bearer <secret>``, compared in constant time."""
    value = ""
    for key, item in headers.items():
        if key.lower() == "authorization":
            value = item or ""
            break
    scheme, _, sent = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(sent.strip().encode("utf-8"), secret.encode("utf-8"))


def _header_value(headers: Mapping[str, str], name: str) -> str:
    getter = getattr(headers, "get", None)
    value = getter(name) if getter is not None else None
    if value is None:
        for key, item in headers.items():
            if key.lower() == name.lower():
                return item or ""
    return value or ""


def _stem(file_name: str) -> str:
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, _ = base.rpartition(".")
    return stem if dot and stem else base


def parse_emulated_request(headers: Mapping[str, str], body: bytes) -> EmulatedRequest:
    """Validate one Document OCR request; problems go to ``invalid`` (kind ``body``), never raised."""
    request = EmulatedRequest()
    try:
        try:
            parts = _split_multipart(body, _header_value(headers, "Content-Type"), require_end=True)
        except MultipartError as exc:
            raise RequestRejected("body", str(exc)) from None
        document = parts.get("document")
        if document is not None:
            request.name = document.filename or "document"
            request.stem = _stem(request.name)
        if document is None or not document.data:
            raise RequestRejected("body", "the multipart field 'document' is required")
        model = parts.get("model")
        if model is None:
            raise RequestRejected("body", "the form field 'model' is required (model=ocr)")
        model_name = model.data.decode("utf-8", "replace").strip()
        if not model_name.startswith("ocr"):
            raise RequestRejected("body", f"model {model_name!r}: this endpoint emulates Document OCR (model=ocr)")
        request.data = document.data
        request.echo["model"] = model_name
    except RequestRejected as exc:
        request.invalid = exc
    return request


def _quad(polygon: Sequence[Point]) -> list[Point]:
    if len(polygon) == 4:
        return list(polygon)
    xs, ys = [x for x, _ in polygon], [y for _, y in polygon]
    return [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]


def render_success(items: Sequence[Item], request: EmulatedRequest | None = None, width: int | None = None,
                   height: int | None = None, model_version: str = "ocr-emulated") -> dict[str, Any]:
    """A Document OCR answer for one page: one word per item with geometry, integer vertices."""
    words = []
    for item in items:
        if item.polygon is None:
            continue  # an Upstage word always has a box
        word: dict[str, Any] = {"boundingBox": {"vertices": [
            {"x": int(round(x)), "y": int(round(y))} for x, y in _quad(item.polygon)]}}
        if item.confidence is not None:
            word["confidence"] = float(item.confidence)
        word["id"] = len(words)
        word["text"] = item.text
        words.append(word)
    text = " ".join(word["text"] for word in words)
    confidences = [word["confidence"] for word in words if "confidence" in word]
    overall = statistics.fmean(confidences) if confidences else 1.0
    page: dict[str, Any] = {"confidence": overall, "id": 0, "text": text, "words": words}
    metadata_page: dict[str, Any] = {"page": 1}
    if width and height:
        page.update(width=width, height=height)
        metadata_page.update(width=width, height=height)
    model = request.echo.get("model") if request is not None else None
    return {
        "apiVersion": "1.1", "confidence": overall, "metadata": {"pages": [metadata_page]},
        "mimeType": "multipart/form-data",
        "modelVersion": model_version if not model or model == DEFAULT_MODEL else model,
        "numBilledPages": 1, "pages": [page], "stored": False, "text": text,
    }


# --- scale-back (bench collect) ---------------------------------------------------------------

def _scaled_vertices(box: Any, fx: float, fy: float) -> Any:
    if not isinstance(box, Mapping) or not isinstance(box.get("vertices"), list):
        return box
    vertices = []
    for vertex in box["vertices"]:
        if isinstance(vertex, Mapping):
            vertex = dict(vertex)
            for key, factor in (("x", fx), ("y", fy)):
                value = vertex.get(key, 0)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    vertex[key] = round(value * factor, 2)
        vertices.append(vertex)
    return {**box, "vertices": vertices}


def _scaled_size(entry: Any, fx: float, fy: float) -> Any:
    if not isinstance(entry, Mapping):
        return entry
    entry = dict(entry)
    for key, factor in (("width", fx), ("height", fy)):
        value = entry.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            entry[key] = int(round(value * factor))
    return entry


def scale_boxes(raw: Any, scale: tuple[float, float]) -> Any:
    """A copy of a success body in the original image's pixels: every vertex times ``scale``
    (sent -> original) and the page sizes set to the original size; other bodies unchanged."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("pages"), list):
        return raw
    fx, fy = scale
    out = dict(raw)
    pages = []
    for page in raw["pages"]:
        page = _scaled_size(page, fx, fy)
        if isinstance(page, dict) and isinstance(page.get("words"), list):
            page["words"] = [{**word, "boundingBox": _scaled_vertices(word["boundingBox"], fx, fy)}
                             if isinstance(word, Mapping) and "boundingBox" in word else word
                             for word in page["words"]]
        pages.append(page)
    out["pages"] = pages
    metadata = raw.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("pages"), list):
        out["metadata"] = {**metadata, "pages": [_scaled_size(p, fx, fy) for p in metadata["pages"]]}
    return out


# --- the registry entry ---------------------------------------------------------------------------

from adapters.core.credentials import ProviderConfig
from adapters.providers.base import HttpProvider
from adapters.providers.registry import WEB, Emulation, ProviderSpec, Settings


def make(config: ProviderConfig, settings: Settings) -> HttpProvider:
    """The collecting provider (boxes scaled back for resized images); the key stays wrapped until a
    request is built."""
    model = settings.get("model", DEFAULT_MODEL)

    def build(image: PreparedImage) -> HttpRequest:
        assert config.url is not None and config.secret is not None  # load_config guarantees both
        return build_request(image, config.url, config.secret.reveal(), model)
    return HttpProvider(NAME, build, classify, POLICY, restore=scale_boxes, pool_size=settings.pool_size, parse=parse)


PROVIDER = ProviderSpec(
    name=NAME,
    title="Upstage",
    kind=WEB,
    looks_like=looks_like,
    parse=parse,
    make=make,
    price=PRICE,
    url_variable=URL_VARIABLE,
    default_url=DEFAULT_URL,
    secret_variable=SECRET_VARIABLE,
    setup_help=f"{SECRET_VARIABLE} (and {URL_VARIABLE}, default {DEFAULT_URL})",
    options=("model",),
    option_help={"model": f"the Document OCR model or alias [default: {DEFAULT_MODEL}]"},
    defaults={"model": DEFAULT_MODEL},
    emulation=Emulation(path=PATH, parse_request=parse_emulated_request, success=render_success,
                        error=render_error, authorized=authorized),
    default_concurrency=DOCUMENTED_RPS,
    meter=Meter((PAGES,), _billed),
    order=42,
)
