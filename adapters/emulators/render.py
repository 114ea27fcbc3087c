"""Render items into each provider's own response bodies (the emulator's "write" side of the wire).

Pure functions: the parsers in ``naver.py``, ``kakao.py`` and ``jenti.py`` read these bodies back
to the same items, which the tests check, so the emulator cannot drift from what the parsers
accept. Coordinates follow what the real services send: CLOVA V2 floats (V1 integers), Kakao and
Light-OCR integers. Kakao and Light-OCR cannot express a word without geometry, so such items
are left out of their bodies; Light-OCR keys by text, so a repeated text keeps its last box (as
the real service's ``dict`` does).
"""
from __future__ import annotations

import time
import uuid
from typing import Any, Iterable, Sequence

from adapters.core.schema import Item, Point

NAVER, KAKAO, JENTI = "naver", "kakao", "jenti"

# kind -> (HTTP status, body) per provider. CLOVA codes and statuses from NAVER Cloud's "CLOVA OCR
# overview" (common response status codes); Kakao's from the Kakao Developers REST API error code
# table. Messages for CLOVA are the documented ones; Kakao and Light-OCR messages are our wording.
_NAVER_ERRORS: dict[str, tuple[int, str, str]] = {
    "url": (400, "0001", "URL is invalid."),
    "auth": (401, "0002", "Secret key validate failed."),
    "body": (400, "0011", "Request body invalid."),
    "version": (400, "0021", "Protocol version not support."),
    "domain": (400, "0022", "Request domain invalid."),
    "quota": (400, "0023", "API request count reach the upper limit."),
    "rate_limit": (400, "0025", "Calls to this api have exceeded the rate limit."),  # 400, as documented
    "table": (400, "0028", "Table detection disabled: Please activate the table extractor button."),
    "method": (405, "0001", "URL is invalid."),
    "too_large": (413, "0011", "Request body invalid."),
    "server": (500, "0500", "Unknown service error."),
    "unavailable": (503, "0501", "OCR service error."),
}
_KAKAO_ERRORS: dict[str, tuple[int, int, str]] = {
    "url": (404, -2, "no such API"),
    "auth": (401, -401, "invalid app key"),
    "body": (400, -2, "invalid request parameters"),
    "bad_image": (400, -2, "the image cannot be read"),
    "quota": (400, -10, "API limit has been exceeded."),
    "rate_limit": (429, -1, "too many requests; retry later"),
    "method": (405, -2, "method not allowed"),
    "too_large": (413, -2, "request too large"),
    "server": (500, -1, "internal server error"),
    "unavailable": (503, -7, "service temporarily unavailable"),
}
_JENTI_ERRORS: dict[str, tuple[int, str]] = {
    "url": (404, "Not Found"),
    "body": (400, "Bad Request"),
    "bad_image": (400, "cannot read the image"),
    "quota": (429, "API request limit exceeded"),
    "rate_limit": (429, "Too Many Requests"),
    "method": (405, "Method Not Allowed"),
    "too_large": (413, "Request Entity Too Large"),
    "server": (500, "Internal Server Error"),
    "unavailable": (503, "Service Unavailable"),
}


def error(provider: str, kind: str, detail: str = "") -> tuple[int, dict[str, Any]]:
    """``(status, body)`` of the provider's error of this kind; ``detail`` is appended to the message."""
    if provider == NAVER:
        status, code, message = _NAVER_ERRORS[kind]
        return status, {"code": code, "message": f"{message} {detail}".strip()}
    if provider == KAKAO:
        status, number, message = _KAKAO_ERRORS[kind]
        return status, {"code": number, "msg": f"{message}: {detail}" if detail else message}
    if provider == JENTI:
        status, message = _JENTI_ERRORS[kind]
        return status, {"error": f"{message}: {detail}" if detail else message}
    raise ValueError(f"unknown provider {provider!r}")


def _bounds(polygon: Sequence[Point]) -> tuple[float, float, float, float]:
    xs = [x for x, _ in polygon]
    ys = [y for _, y in polygon]
    return min(xs), min(ys), max(xs), max(ys)


def _quad(polygon: Sequence[Point]) -> list[Point]:
    """Four points: the polygon itself, or its bounding box in TL, TR, BR, BL order."""
    if len(polygon) == 4:
        return list(polygon)
    left, top, right, bottom = _bounds(polygon)
    return [(left, top), (right, top), (right, bottom), (left, bottom)]


def _whole(value: float) -> int:
    return int(round(value))


def _line_breaks(items: Sequence[Item]) -> list[bool]:
    """CLOVA's ``lineBreak``: True when the next word starts a new line (a guess from geometry)."""
    breaks = []
    for k, item in enumerate(items):
        nxt = items[k + 1] if k + 1 < len(items) else None
        if nxt is None or item.polygon is None or nxt.polygon is None:
            breaks.append(True)
            continue
        left, _, _, bottom = _bounds(item.polygon)
        next_left, next_top, _, _ = _bounds(nxt.polygon)
        breaks.append(next_left < left or next_top >= bottom)
    return breaks


def naver_success(items: Iterable[Item], *, name: str, width: int | None, height: int | None,
                  version: str = "V2", request_id: str = "", timestamp: int | None = None) -> dict[str, Any]:
    """A CLOVA General body for one image; V2 adds ``convertedImageInfo``, ``type`` and ``lineBreak``."""
    items = list(items)
    v2 = version != "V1"
    fields = []
    for item, line_break in zip(items, _line_breaks(items)):
        field: dict[str, Any] = {"valueType": "ALL"}
        if item.polygon is not None:
            field["boundingPoly"] = {"vertices": [
                {"x": float(x), "y": float(y)} if v2 else {"x": _whole(x), "y": _whole(y)}
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


def naver_image_error(*, name: str, message: str, version: str = "V2", request_id: str = "") -> dict[str, Any]:
    """CLOVA's answer when the request was fine but this image could not be processed (HTTP 200)."""
    return {"version": version, "requestId": request_id, "timestamp": int(time.time() * 1000),
            "images": [{"uid": uuid.uuid4().hex, "name": name, "inferResult": "ERROR", "message": message,
                        "validationResult": {"result": "NO_REQUESTED"}}]}


def kakao_success(items: Iterable[Item]) -> dict[str, Any]:
    """A Kakao Vision OCR v2 body: one result per item, integer corner points."""
    return {"result": [
        {"boxes": [[_whole(x), _whole(y)] for x, y in item.polygon], "recognition_words": [item.text]}
        for item in items if item.polygon is not None]}


def jenti_success(items: Iterable[Item]) -> dict[str, Any]:
    """A Light-OCR body: ``{text: [x1, y1, ..., x4, y4]}`` with integer coordinates."""
    body: dict[str, Any] = {}
    for item in items:
        if item.polygon is not None:
            body[item.text] = [_whole(v) for point in _quad(item.polygon) for v in point]
    return body
