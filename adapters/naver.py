"""NAVER CLOVA OCR (General, V1 and V2): response parsing.

Wire format (one image per request): ``{"version", "requestId", "timestamp", "images": [
{"name", "inferResult", "message", "convertedImageInfo": {"width", "height"},
"fields": [{"inferText", "inferConfidence", "boundingPoly": {"vertices": [{"x", "y"}]}}],
"tables": [...]}]}``. ``tables`` repeat words that are also in ``fields``, so only
``fields`` are read. An HTTP error body is ``{"code": "0025", "message": "..."}``.
"""
from __future__ import annotations

from typing import Any, Mapping

from adapters.schema import ImageResult, Item, Point
from adapters.wire import ResponseFormatError, coordinate, rectangle

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
