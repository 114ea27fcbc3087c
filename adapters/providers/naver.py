"""NAVER CLOVA OCR (General, V1 and V2): response parsing.

Wire format (one image per request): ``{"version", "requestId", "timestamp", "images": [
{"name", "inferResult", "message", "convertedImageInfo": {"width", "height"},
"fields": [{"inferText", "inferConfidence", "boundingPoly": {"vertices": [{"x", "y"}]}}],
"tables": [...]}]}``. ``tables`` repeat words that are also in ``fields``, so only
``fields`` are read. An HTTP error body is ``{"code": "0025", "message": "..."}``.
"""
from __future__ import annotations

from typing import Any, Mapping

from adapters.core.schema import ImageResult, Item, Point
from adapters.providers.response_fields import ResponseFormatError, coordinate, rectangle

NAME = "naver"


def looks_like(raw: Any) -> bool:
    """True for a CLOVA success body or a CLOVA error body."""
    if not isinstance(raw, Mapping):
        return False
    if isinstance(raw.get("images"), list) and ("version" in raw or "requestId" in raw):
        return True
    return isinstance(raw.get("code"), str) and "message" in raw


def _vertices(poly: Any, what: str) -> tuple[Point, ...]:
    if not isinstance(poly, Mapping) or not isinstance(poly.get("vertices"), list) or not poly["vertices"]:
        raise ResponseFormatError(f"{what}: expected {{'vertices': [{{'x', 'y'}}, ...]}}")
    points = []
    for vertex in poly["vertices"]:
        if not isinstance(vertex, Mapping):
            raise ResponseFormatError(f"{what}: a vertex is not an object: {vertex!r}")
        # protobuf-style JSON leaves out zero coordinates, so a missing x or y means 0
        points.append((coordinate(vertex.get("x", 0), what), coordinate(vertex.get("y", 0), what)))
    return tuple(points)


def _field_polygon(field: Mapping[str, Any], what: str) -> tuple[Point, ...] | None:
    if field.get("boundingPoly") is not None:
        return _vertices(field["boundingPoly"], f"{what}.boundingPoly")
    box = field.get("bounding")
    if box is not None:
        if not isinstance(box, Mapping):
            raise ResponseFormatError(f"{what}.bounding: expected an object")
        return rectangle(*(coordinate(box.get(k), f"{what}.bounding.{k}") for k in ("left", "top", "width", "height")))
    return None


def _confidence(value: Any, what: str) -> float | None:
    if value is None:
        return None
    return min(1.0, max(0.0, coordinate(value, what)))


def parse(raw: Any) -> ImageResult:
    """Turn one CLOVA response into the common schema; error bodies become error results."""
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
                confidence=_confidence(field.get("inferConfidence"), f"{what}.inferConfidence"),
                granularity="word",
            ))
    valid_size = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height))
    return ImageResult.ok(items, width=width if valid_size else None, height=height if valid_size else None)


# --- request building and answer classification (bench collect) ---------------------------------

import base64 as _base64
import json as _json
import time as _time
import uuid as _uuid

from adapters.core.images import ImagePolicy, PreparedImage
from adapters.providers.base import (HttpAnswer, HttpRequest, Outcome, Verdict, by_status, header, json_body,
                               parse_retry_after, short_message, unparseable)

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
        "requestId": str(_uuid.uuid4()),
        "timestamp": int(_time.time() * 1000),
        "images": [{"format": image.format, "name": image.key,
                    "data": _base64.b64encode(image.data).decode("ascii")}],
    }
    if lang:
        body["lang"] = lang
    headers = {"X-OCR-SECRET": secret, "Content-Type": "application/json; charset=utf-8"}
    return HttpRequest(url, headers, _json.dumps(body, ensure_ascii=False).encode("utf-8"))


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
