"""Small helpers to read coordinates out of providers' JSON without trusting it."""
from __future__ import annotations

import math
from typing import Any

from adapters.core.errors import excerpt
from adapters.core.schema import MAX_COORDINATE, Point


class ResponseFormatError(ValueError):
    """A provider response that does not have the provider's documented shape."""


def coordinate(value: Any, what: str) -> float:
    """A finite JSON number; bools and strings are rejected so garbage never becomes geometry."""
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
