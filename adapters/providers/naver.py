"""NAVER CLOVA OCR (General, V1 and V2): all the tool knows about it, registered as ``PROVIDER``.

Response parsing, request building and answer classification (``bench collect``), the emulated
service (``bench emulate``: request validation, bodies and the documented error codes), price.

Wire format (one image per request): ``{"version", "requestId", "timestamp", "images": [
{"name", "inferResult", "message", "convertedImageInfo": {"width", "height"},
"fields": [{"inferText", "inferConfidence", "boundingPoly": {"vertices": [{"x", "y"}]}}],
"tables": [...]}]}``. ``tables`` repeat words that are also in ``fields``, so only
``fields`` are read. An HTTP error body is ``{"code": "0025", "message": "..."}``.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
import uuid
from collections.abc import Mapping, Sequence  # the ABCs: isinstance is 3x faster than with typing's aliases
from typing import Any

from adapters.core.credentials import ProviderConfig
from adapters.core.images import ImagePolicy, PreparedImage
from adapters.core.pricing import Price
from adapters.core.schema import ImageResult, Item, Point, unchecked_item
from adapters.providers.base import (HttpAnswer, HttpProvider, HttpRequest, Outcome, Verdict, by_status, header,
                                     json_body, parse_retry_after, short_message, unparseable)
from adapters.providers.registry import WEB, EmulatedRequest, Emulation, ProviderSpec, RequestRejected, Settings
from adapters.providers.response_fields import (ResponseFormatError, coordinate, rectangle, unit_confidence,
                                                  usual_vertices, vertices)
from adapters.providers.wire import form_parts, line_breaks, require, whole

NAME = "naver"


def looks_like(raw: Any) -> bool:
    """True for a CLOVA success body or a CLOVA error body."""
    if not isinstance(raw, Mapping):
        return False
    if isinstance(raw.get("images"), list) and ("version" in raw or "requestId" in raw):
        return True
    return isinstance(raw.get("code"), str) and "message" in raw


def _field_polygon(field: Mapping[str, Any], what: str) -> tuple[Point, ...] | None:
    if field.get("boundingPoly") is not None:
        return vertices(field["boundingPoly"], f"{what}.boundingPoly")
    box = field.get("bounding")
    if box is not None:
        if not isinstance(box, Mapping):
            raise ResponseFormatError(f"{what}.bounding: expected an object")
        return rectangle(*(coordinate(box.get(k), f"{what}.bounding.{k}") for k in ("left", "top", "width", "height")))
    return None


def parse(raw: Any) -> ImageResult:
    """Turn one CLOVA response into the common schema; error bodies become error results."""
    usual = _parse_usual(raw) if type(raw) is dict else None
    return _parse_checked(raw) if usual is None else usual


_UNUSUAL = object()  # what the fast path returns for a part it leaves to the checks


def _usual_polygon(field: dict[str, Any]) -> Any:
    """``_field_polygon(field)`` for a field without geometry or with the usual ``boundingPoly``
    (``usual_vertices``); ``_UNUSUAL`` for anything else."""
    poly = field.get("boundingPoly")
    if poly is None:
        return None if field.get("bounding") is None else _UNUSUAL
    polygon = usual_vertices(poly)
    return _UNUSUAL if polygon is None else polygon


def _parse_usual(raw: dict[str, Any]) -> ImageResult | None:
    """``_parse_checked(raw)`` for the usual response, or None for anything else (which the checks then read).

    Usual: every image succeeded, every field is an object with a string ``inferText``, no geometry
    or a ``boundingPoly`` of plain numbers in range, and a plain number (or no) confidence. Nothing
    of it can fail a check, so no field's path is spelled out and no ``Item.__init__`` is called.
    """
    images = raw.get("images")
    if type(images) is not list or not images:
        return None
    items = []
    width = height = None
    for image in images:
        if type(image) is not dict or image.get("inferResult", "SUCCESS") != "SUCCESS":
            return None
        info = image.get("convertedImageInfo")
        if isinstance(info, Mapping) and width is None:
            width, height = info.get("width"), info.get("height")
        fields = image.get("fields", [])
        if type(fields) is not list:
            return None
        for field in fields:
            if type(field) is not dict:
                return None
            text = field.get("inferText", "")
            polygon = _usual_polygon(field)
            try:
                confidence = unit_confidence(field.get("inferConfidence"), "inferConfidence")
            except ResponseFormatError:  # the checks below say where
                return None
            if type(text) is not str or polygon is _UNUSUAL:
                return None
            items.append(unchecked_item(polygon, text, confidence, "word"))
    valid_size = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height))
    return ImageResult.ok(items, width=width if valid_size else None, height=height if valid_size else None)


def _parse_checked(raw: Any) -> ImageResult:
    """``parse`` with every check, for any response; each problem is a ``ResponseFormatError`` saying where."""
    if not isinstance(raw, Mapping):
        raise ResponseFormatError(f"expected a JSON object, got {type(raw).__name__}")
    if "images" not in raw and "code" in raw:
        return ImageResult.failed(f"CLOVA error {raw.get('code')}: {raw.get('message', '')}".strip())
    images = raw.get("images")
    if not isinstance(images, list) or not images:
        raise ResponseFormatError("no 'images' list in the response")
    items: list[Item] = []
    width = height = None
    for k, image in enumerate(images):
        if not isinstance(image, Mapping):
            raise ResponseFormatError(f"images[{k}] is not an object")
        verdict = image.get("inferResult", "SUCCESS")
        if verdict != "SUCCESS":
            return ImageResult.failed(f"CLOVA inferResult {verdict}: {image.get('message', '')}".strip())
        info = image.get("convertedImageInfo")
        if isinstance(info, Mapping) and width is None:
            width, height = info.get("width"), info.get("height")
        fields = image.get("fields", [])
        if not isinstance(fields, list):
            raise ResponseFormatError(f"images[{k}].fields is not a list")
        for j, field in enumerate(fields):
            what = f"images[{k}].fields[{j}]"
            if not isinstance(field, Mapping):
                raise ResponseFormatError(f"{what} is not an object")
            text = field.get("inferText", "")
            if not isinstance(text, str):
                raise ResponseFormatError(f"{what}.inferText is not a string")
            items.append(Item(
                polygon=_field_polygon(field, what),
                text=text,
                confidence=unit_confidence(field.get("inferConfidence"), f"{what}.inferConfidence"),
                granularity="word",
            ))
    valid_size = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height))
    return ImageResult.ok(items, width=width if valid_size else None, height=height if valid_size else None)


# --- request building and answer classification (bench collect) ---------------------------------

# CLOVA General takes jpg/jpeg/png/tiff (and pdf); anything else is re-encoded to PNG first.
POLICY = ImagePolicy(formats=frozenset({"jpg", "png", "tiff"}))

# Error codes from the CLOVA OCR API reference (common response status codes).
_CODE_OUTCOMES = {
    "0001": Outcome.AUTH,         # 400 URL is invalid: the invoke URL is wrong, every call would fail
    "0002": Outcome.AUTH,         # 401 Secret key validate failed
    "0011": Outcome.PERMANENT,    # 400 Request body invalid
    "0021": Outcome.PERMANENT,    # 400 Protocol version not support
    "0022": Outcome.PERMANENT,    # 400 Request domain invalid
    "0023": Outcome.QUOTA,        # 400 API request count reach the upper limit
    "0025": Outcome.RATE_LIMITED,  # 400 Calls to this api have exceeded the rate limit
    "0500": Outcome.TRANSIENT,    # 500 Unknown service error
    "0501": Outcome.TRANSIENT,    # 500 OCR service error
}


def build_request(image: PreparedImage, url: str, secret: str, lang: str | None = None) -> HttpRequest:
    """One-image General OCR call: V2 engine, fresh requestId, ms timestamp, base64 data, name = stem."""
    body: dict[str, object] = {
        "version": "V2",
        "requestId": str(uuid.uuid4()),
        "timestamp": int(time.time() * 1000),
        "images": [{"format": image.format, "name": image.key,
                    "data": base64.b64encode(image.data).decode("ascii")}],
    }
    if lang:
        body["lang"] = lang
    headers = {"X-OCR-SECRET": secret, "Content-Type": "application/json; charset=utf-8"}
    return HttpRequest(url, headers, json.dumps(body, ensure_ascii=False).encode("utf-8"))


def classify(answer: HttpAnswer) -> Verdict:
    """CLOVA answer -> verdict, from the body's ``code`` / ``inferResult`` first, then the status."""
    ok, body = json_body(answer)
    if not ok:
        return unparseable(answer)
    if isinstance(body, dict) and isinstance(body.get("code"), str) and "images" not in body:
        code, message = body["code"], short_message(body.get("message", ""))
        outcome = _CODE_OUTCOMES.get(code)
        if outcome is None:
            return by_status(answer, body, f"CLOVA {code}", message)
        retry_after = parse_retry_after(header(answer, "Retry-After")) if outcome is Outcome.RATE_LIMITED else None
        return Verdict(outcome, f"CLOVA {code}", message, retry_after, body)
    if answer.status != 200:
        return by_status(answer, body)
    images = body.get("images") if isinstance(body, dict) else None
    if not isinstance(images, list) or not images or not isinstance(images[0], dict):
        return by_status(answer, body, "unexpected_response", "no 'images' list in a 200 answer")
    verdict = images[0].get("inferResult", "SUCCESS")
    if verdict != "SUCCESS":
        return Verdict(Outcome.PERMANENT, f"inferResult {verdict}", short_message(images[0].get("message", "")), body=body)
    return Verdict(Outcome.SUCCESS, body=body)


def make(config: ProviderConfig, settings: Settings) -> HttpProvider:
    """The collecting provider; the secret stays wrapped until a request is built."""
    def build(image: PreparedImage) -> HttpRequest:
        assert config.url is not None and config.secret is not None  # load_config guarantees both
        return build_request(image, config.url, config.secret.reveal(), settings.lang)
    return HttpProvider(NAME, build, classify, POLICY, pool_size=settings.pool_size, parse=parse)


# --- the emulated service (bench emulate) ----------------------------------------------------------
# Errors as NAVER Cloud's "CLOVA OCR overview" documents them (common response status codes):
# kind -> (HTTP status, code, documented message). The rate limit is 400, as documented.

PATH = "/custom/v1/1/emulator/general"  # an invoke URL: /custom/v1/<domain id>/<signature>/general
EMULATED_FORMATS = frozenset({"jpg", "jpeg", "png", "pdf", "tif", "tiff"})
EMULATED_LANGS = frozenset({"ko", "ja", "zh-TW"})
_ERRORS: dict[str, tuple[int, str, str]] = {
    "url": (400, "0001", "URL is invalid."),
    "auth": (401, "0002", "Secret key validate failed."),
    "body": (400, "0011", "Request body invalid."),
    "version": (400, "0021", "Protocol version not support."),
    "domain": (400, "0022", "Request domain invalid."),
    "quota": (400, "0023", "API request count reach the upper limit."),
    "rate_limit": (400, "0025", "Calls to this api have exceeded the rate limit."),
    "table": (400, "0028", "Table detection disabled: Please activate the table extractor button."),
    "method": (405, "0001", "URL is invalid."),
    "too_large": (413, "0011", "Request body invalid."),
    "server": (500, "0500", "Unknown service error."),
    "unavailable": (503, "0501", "OCR service error."),
}


def error(kind: str, detail: str = "") -> tuple[int, dict[str, Any]]:
    """``(status, body)`` of CLOVA's error of this kind; ``detail`` is appended to the message."""
    status, code, message = _ERRORS[kind]
    return status, {"code": code, "message": f"{message} {detail}".strip()}


def authorized(headers: Mapping[str, str], secret: str) -> bool:
    """CLOVA's secret travels in ``X-OCR-SECRET``."""
    sent = headers.get("X-OCR-SECRET") or ""
    return hmac.compare_digest(sent.strip().encode("utf-8"), secret.encode("utf-8"))


def _read_message(message: Any, request: EmulatedRequest, multipart: bool) -> None:
    require(isinstance(message, dict), "body", "the body must be a JSON object")
    version = message.get("version")
    if isinstance(message.get("images"), list) and message["images"] and isinstance(message["images"][0], dict):
        name = message["images"][0].get("name")
        if isinstance(name, str):
            request.name = request.stem = name  # CLOVA names are stems already
    require(isinstance(version, str), "body", "'version' is required")
    require(version in ("V1", "V2"), "version", f"version {version!r} (use V1 or V2)")
    request.echo["version"] = version
    request_id = message.get("requestId")
    require(isinstance(request_id, str) and bool(request_id), "body", "'requestId' must be a non-empty string")
    request.echo["requestId"] = request_id
    timestamp = message.get("timestamp")
    require(isinstance(timestamp, int) and not isinstance(timestamp, bool), "body",
            "'timestamp' must be an integer (milliseconds)")
    lang = message.get("lang")
    if lang is not None:
        require(isinstance(lang, str) and all(code.strip() in EMULATED_LANGS for code in lang.split(",")), "body",
                f"'lang' {lang!r}: use ko, ja, zh-TW or a comma-separated list of them")
    images = message.get("images")
    require(isinstance(images, list) and len(images) == 1, "body", "'images' must be a list with exactly one image")
    image = images[0]
    require(isinstance(image, dict), "body", "images[0] must be an object")
    fmt = image.get("format")
    require(isinstance(fmt, str) and fmt.lower() in EMULATED_FORMATS, "body",
            f"images[0].format {fmt!r} (use one of {', '.join(sorted(EMULATED_FORMATS))})")
    require(isinstance(image.get("name"), str) and bool(image["name"]), "body", "images[0].name is required")
    if message.get("enableTableDetection") is True:
        raise RequestRejected("table", "")
    if multipart:
        return
    data = image.get("data")
    if data is None:
        require(image.get("url") is None, "body", "images[0].url: the emulator never fetches URLs; send data")
        raise RequestRejected("body", "images[0].data (base64) or images[0].url is required")
    require(isinstance(data, str), "body", "images[0].data must be a base64 string")
    try:
        request.data = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise RequestRejected("body", "images[0].data is not valid base64") from None


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RequestRejected("body", f"{what} is not JSON") from None


def parse_request(headers: Mapping[str, str], body: bytes) -> EmulatedRequest:
    """A General OCR request: a JSON body with base64 data, or multipart ``message`` + ``file``."""
    request = EmulatedRequest()
    content_type = headers.get("Content-Type", "") or ""
    try:
        if content_type.lower().startswith("multipart/"):
            parts = form_parts(body, content_type)
            require("message" in parts, "body", "multipart request without a 'message' part")
            _read_message(_json(parts["message"].data, "the 'message' part"), request, multipart=True)
            require("file" in parts and bool(parts["file"].data), "body", "multipart request without a 'file' part")
            request.data = parts["file"].data
        else:
            _read_message(_json(body, "the body"), request, multipart=False)
    except RequestRejected as exc:
        request.invalid = exc
    return request


def render_success(items: Sequence[Item], *, name: str, width: int | None, height: int | None,
                   version: str = "V2", request_id: str = "", timestamp: int | None = None) -> dict[str, Any]:
    """A CLOVA General body for one image; V2 adds ``convertedImageInfo``, ``type`` and ``lineBreak``.

    Coordinates as the service sends them: V2 floats, V1 integers.
    """
    items = list(items)
    v2 = version != "V1"
    fields = []
    for item, line_break in zip(items, line_breaks(items)):
        field: dict[str, Any] = {"valueType": "ALL"}
        if item.polygon is not None:
            field["boundingPoly"] = {"vertices": [
                {"x": float(x), "y": float(y)} if v2 else {"x": whole(x), "y": whole(y)}
                for x, y in item.polygon]}
        field["inferText"] = item.text
        field["inferConfidence"] = 1.0 if item.confidence is None else round(float(item.confidence), 4)
        if v2:
            field["type"] = "NORMAL"
            field["lineBreak"] = line_break
        fields.append(field)
    image: dict[str, Any] = {
        "uid": uuid.uuid4().hex, "name": name, "inferResult": "SUCCESS", "message": "SUCCESS",
        "validationResult": {"result": "NO_REQUESTED"},
    }
    if v2 and width and height:
        image["convertedImageInfo"] = {"width": width, "height": height, "pageIndex": 0, "longImage": False}
    image["fields"] = fields
    return {"version": version, "requestId": request_id,
            "timestamp": int(time.time() * 1000) if timestamp is None else timestamp, "images": [image]}


def render_image_error(*, name: str, message: str, version: str = "V2", request_id: str = "") -> dict[str, Any]:
    """CLOVA's answer when the request was fine but this image could not be processed (HTTP 200)."""
    return {"version": version, "requestId": request_id, "timestamp": int(time.time() * 1000),
            "images": [{"uid": uuid.uuid4().hex, "name": name, "inferResult": "ERROR", "message": message,
                        "validationResult": {"result": "NO_REQUESTED"}}]}


def _success(items: Sequence[Item], request: EmulatedRequest, width: int, height: int) -> dict[str, Any]:
    return render_success(items, name=request.name, width=width, height=height,
                          version=request.echo.get("version", "V2"), request_id=request.echo.get("requestId", ""))


def _image_error(request: EmulatedRequest, reason: str) -> tuple[int, dict[str, Any]]:
    return 200, render_image_error(name=request.name, message=f"Image read failed: {reason}",
                                   version=request.echo.get("version", "V2"),
                                   request_id=request.echo.get("requestId", ""))


PROVIDER = ProviderSpec(
    name=NAME,
    title="NAVER",
    kind=WEB,
    looks_like=looks_like,
    parse=parse,
    make=make,
    price=Price(
        provider=NAME, unit="API call (one image)", krw_per_1000=None, usd_per_1000=None,
        free_quota="unknown",
        source="https://www.ncloud.com/product/aiService/ocr (pricing tab); "
               "https://api.ncloud-docs.com/docs/ai-application-service-ocr",
        checked="2026-11-25",
        note="the General (text) OCR price could not be confirmed: the API documentation found does not "
             "state it and the pricing page was not available to check; fill it in from your NAVER Cloud "
             "contract or the pricing page",
    ),
    url_variable="NAVER_OCR_URL",
    secret_variable="NAVER_OCR_SECRET",
    setup_help="NAVER_OCR_URL (the domain's invoke URL) and NAVER_OCR_SECRET",
    options=("lang",),
    option_help={"lang": "the request's lang (ko, ja, zh-TW, comma-separated)"},
    emulation=Emulation(path=PATH, parse_request=parse_request, success=_success, error=error,
                        authorized=authorized, image_error=_image_error),
    order=10,
)
