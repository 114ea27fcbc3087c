"""Small helpers to read coordinates out of providers' JSON without trusting it."""
from __future__ import annotations

import math
from collections.abc import Mapping  # the ABCs: isinstance is 3x faster than with typing's aliases
from typing import Any

from adapters.core.errors import excerpt
from adapters.core.schema import MAX_COORDINATE, Point


class ResponseFormatError(ValueError):
    """A provider response that does not have the provider's documented shape."""


def coordinate(value: Any, what: str) -> float:
    """A finite JSON number; bools and strings are rejected so garbage never becomes geometry."""
    kind = type(value)  # fast path: a plain number in range (NaN and infinities fail the comparison)
    if (kind is float or kind is int) and -MAX_COORDINATE <= value <= MAX_COORDINATE:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ResponseFormatError(f"{what}: expected a number, got {excerpt(value)}")
    if abs(value) > MAX_COORDINATE:
        raise ResponseFormatError(f"{what}: {excerpt(value)} is out of range (beyond {MAX_COORDINATE:g})")
    return float(value)


def flat_quad(values: Any, what: str) -> tuple[Point, ...]:
    """``[x1, y1, ..., x4, y4]`` as four points."""
    if not isinstance(values, list) or len(values) != 8:
        raise ResponseFormatError(f"{what}: expected [x1, y1, x2, y2, x3, y3, x4, y4], got {excerpt(values)}")
    numbers = [coordinate(v, what) for v in values]
    return tuple((numbers[k], numbers[k + 1]) for k in range(0, 8, 2))


def point_pairs(values: Any, what: str) -> tuple[Point, ...]:
    """``[[x, y], ...]`` as points."""
    if not isinstance(values, list) or not values:
        raise ResponseFormatError(f"{what}: expected a list of [x, y] points, got {excerpt(values)}")
    points = []
    for point in values:
        if not isinstance(point, list) or len(point) != 2:
            raise ResponseFormatError(f"{what}: expected an [x, y] point, got {excerpt(point)}")
        points.append((coordinate(point[0], what), coordinate(point[1], what)))
    return tuple(points)


def rectangle(left: float, top: float, width: float, height: float) -> tuple[Point, ...]:
    """An axis-aligned box as four points in TL, TR, BR, BL order."""
    return ((left, top), (left + width, top), (left + width, top + height), (left, top + height))


def vertices(poly: Any, what: str) -> tuple[Point, ...]:
    """``{"vertices": [{"x", "y"}, ...]}`` (CLOVA, Cloud Vision, Upstage) as points.

    Protobuf-style JSON leaves out zero coordinates, so a missing ``x`` or ``y`` means 0.
    """
    usual = usual_vertices(poly)
    if usual is not None:
        return usual
    if not isinstance(poly, Mapping) or type(poly.get("vertices")) is not list or not poly["vertices"]:
        raise ResponseFormatError(f"{what}: expected {{'vertices': [{{'x', 'y'}}, ...]}}")
    points = []
    for vertex in poly["vertices"]:
        if not isinstance(vertex, Mapping):
            raise ResponseFormatError(f"{what}: a vertex is not an object: {vertex!r}")
        points.append((coordinate(vertex.get("x", 0), what), coordinate(vertex.get("y", 0), what)))
    return tuple(points)


def usual_vertices(poly: Any) -> tuple[Point, ...] | None:
    """``vertices(poly)`` for the usual polygon (a dict of a non-empty list of dicts of plain numbers
    in range, a missing coordinate 0), read without building messages; None for anything else,
    which ``vertices`` then checks and names."""
    points = poly.get("vertices") if type(poly) is dict else None
    if type(points) is not list or not points:
        return None
    polygon = []
    for vertex in points:
        if type(vertex) is not dict:
            return None
        x, y = vertex.get("x", 0), vertex.get("y", 0)
        if not ((type(x) is float or type(x) is int) and (type(y) is float or type(y) is int)
                and -MAX_COORDINATE <= x <= MAX_COORDINATE and -MAX_COORDINATE <= y <= MAX_COORDINATE):
            return None
        polygon.append((float(x), float(y)))
    return tuple(polygon)


def unit_confidence(value: Any, what: str) -> float | None:
    """A confidence clipped to 0..1 (services round past the ends); None when the provider gave none."""
    if value is None:
        return None
    return min(1.0, max(0.0, coordinate(value, what)))
