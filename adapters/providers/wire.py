"""Helpers provider modules use to speak their own wire format in a loopback emulator.

Reading requests: a multipart form whose refusal is the ``body`` error, a check that rejects
with an error kind, and the one-file upload most APIs take. Writing bodies: the geometry the
services put in their answers (bounds, four-point quads, whole-number coordinates, CLOVA-style
line breaks). Each provider's own request rules and body shapes stay in its module.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from adapters.core.images import image_stem
from adapters.core.multipart import MultipartError, Part
from adapters.core.multipart import parse as _split_multipart
from adapters.core.schema import Item, Point
from adapters.providers.registry import EmulatedRequest, RequestRejected


def require(condition: bool, kind: str, detail: str) -> None:
    """Reject the request with error ``kind`` unless ``condition`` holds."""
    if not condition:
        raise RequestRejected(kind, detail)


def form_parts(body: bytes, content_type: str) -> dict[str, Part]:
    """The parts of a ``multipart/form-data`` body by field name (first part wins); a malformed
    body is the ``body`` error."""
    try:
        return _split_multipart(body, content_type)
    except MultipartError as exc:
        raise RequestRejected("body", str(exc)) from None


def file_upload(headers: Mapping[str, str], body: bytes, field_name: str) -> EmulatedRequest:
    """A request carrying one image in the multipart field ``field_name``, keyed by its file's stem."""
    request = EmulatedRequest()
    try:
        part = form_parts(body, headers.get("Content-Type", "") or "").get(field_name)
        if part is not None:
            request.name = part.filename or field_name
            request.stem = image_stem(request.name)
        require(part is not None, "body", f"the multipart field {field_name!r} is required")
        assert part is not None
        require(bool(part.data), "body", f"the multipart field {field_name!r} is empty")
        request.data = part.data
    except RequestRejected as exc:
        request.invalid = exc
    return request


def bounds(polygon: Sequence[Point]) -> tuple[float, float, float, float]:
    """Left, top, right and bottom of a polygon."""
    xs = [x for x, _ in polygon]
    ys = [y for _, y in polygon]
    return min(xs), min(ys), max(xs), max(ys)


def quad(polygon: Sequence[Point]) -> list[Point]:
    """Four points: the polygon itself, or its bounding box in TL, TR, BR, BL order."""
    if len(polygon) == 4:
        return list(polygon)
    left, top, right, bottom = bounds(polygon)
    return [(left, top), (right, top), (right, bottom), (left, bottom)]


def whole(value: float) -> int:
    """A coordinate as the services that send integers round it."""
    return int(round(value))


def line_breaks(items: Sequence[Item]) -> list[bool]:
    """True where the next word starts a new line (a guess from geometry; CLOVA's ``lineBreak``)."""
    breaks = []
    for k, item in enumerate(items):
        nxt = items[k + 1] if k + 1 < len(items) else None
        if nxt is None or item.polygon is None or nxt.polygon is None:
            breaks.append(True)
            continue
        left, _, _, bottom = bounds(item.polygon)
        next_left, next_top, _, _ = bounds(nxt.polygon)
        breaks.append(next_left < left or next_top >= bottom)
    return breaks
