"""The common, versioned schema every provider's response is normalized into.

A results document is JSON::

    {"schema": "korean-ocr-bench/results", "version": 1, "provider": "naver",
     "images": {
        "<image stem>": {"status": "ok", "width": 583, "height": 822,
                         "items": [{"polygon": [[x, y], ...] | null, "text": "...",
                                    "confidence": 0.93 | null, "granularity": "word"}]},
        "<image stem>": {"status": "error", "error": "why"}}}

Keeping it small and strict means re-scoring never needs the provider again and a
hand-edited file fails loudly at the first bad field instead of skewing numbers.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping  # the ABCs: isinstance is 3x faster than with typing's aliases
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.core.errors import SchemaError, excerpt

SCHEMA_NAME = "korean-ocr-bench/results"
SCHEMA_VERSION = 1
GRANULARITIES = ("word", "line", "region")
MAX_COORDINATE = 1e9  # beyond any image; larger values would overflow polygon areas to infinity
STATUSES = ("ok", "error")

Point = tuple[float, float]


@dataclass(frozen=True)
class Item:
    """One recognized piece of text. ``polygon`` is None when the provider gave no geometry."""

    polygon: tuple[Point, ...] | None
    text: str
    confidence: float | None = None
    granularity: str = "word"

    def to_json(self) -> dict[str, Any]:
        return {
            "polygon": None if self.polygon is None else [[x, y] for x, y in self.polygon],
            "text": self.text,
            "confidence": self.confidence,
            "granularity": self.granularity,
        }


def unchecked_item(polygon: tuple[Point, ...] | None, text: str, confidence: float | None,
                   granularity: str) -> Item:
    """``Item(...)`` for values a parser's fast path has checked already: the fields set in the
    order ``__init__`` sets them, without its call (half the cost on 200,000 items)."""
    item = object.__new__(Item)
    object.__setattr__(item, "polygon", polygon)
    object.__setattr__(item, "text", text)
    object.__setattr__(item, "confidence", confidence)
    object.__setattr__(item, "granularity", granularity)
    return item


@dataclass(frozen=True)
class ImageResult:
    """What one provider returned for one image: items, or an error with its reason."""

    status: str
    items: tuple[Item, ...] = ()
    error: str | None = None
    width: int | None = None
    height: int | None = None

    @classmethod
    def ok(cls, items: Iterable[Item], width: int | None = None, height: int | None = None) -> "ImageResult":
        return cls(status="ok", items=tuple(items), width=width, height=height)

    @classmethod
    def failed(cls, reason: str) -> "ImageResult":
        return cls(status="error", error=reason)

    @property
    def is_ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        if not self.is_ok:
            return {"status": "error", "error": self.error}
        out: dict[str, Any] = {"status": "ok"}
        if self.width is not None:
            out["width"] = self.width
        if self.height is not None:
            out["height"] = self.height
        out["items"] = [item.to_json() for item in self.items]
        return out


@dataclass
class ResultSet:
    """All images of one provider's run, keyed by image stem."""

    provider: str
    images: dict[str, ImageResult] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_NAME,
            "version": SCHEMA_VERSION,
            "provider": self.provider,
            "images": {stem: result.to_json() for stem, result in self.images.items()},
        }

    def save(self, path: Path) -> None:
        """Write atomically so a crash never leaves half a results file behind."""
        path = Path(path)
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=1)
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def is_schema_document(doc: Any) -> bool:
    """True when ``doc`` claims to be a normalized results document (it may still be invalid)."""
    return isinstance(doc, Mapping) and doc.get("schema") == SCHEMA_NAME


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SchemaError(f"{where}: expected a finite number, got {excerpt(value)}")
    return float(value)


def _parse_polygon(value: Any, where: str) -> tuple[Point, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise SchemaError(f"{where}: expected a list of [x, y] points or null, got {type(value).__name__}")
    fast = _usual_points(value)
    if fast is not None:
        return fast
    points = []
    for k, point in enumerate(value):
        if not isinstance(point, list) or len(point) != 2:
            raise SchemaError(f"{where}[{k}]: expected an [x, y] pair, got {excerpt(point)}")
        x, y = _number(point[0], f"{where}[{k}][0]"), _number(point[1], f"{where}[{k}][1]")
        if max(abs(x), abs(y)) > MAX_COORDINATE:
            raise SchemaError(f"{where}[{k}]: coordinate out of range (beyond {MAX_COORDINATE:g}): {excerpt(point)}")
        points.append((x, y))
    return tuple(points)


def _usual_points(value: list[Any]) -> tuple[Point, ...] | None:
    """The usual polygon, [x, y] pairs of plain numbers in range, read without building messages; else None."""
    fast = []
    for point in value:
        if type(point) is not list or len(point) != 2:
            return None
        x, y = point
        if not ((type(x) is float or type(x) is int) and (type(y) is float or type(y) is int)
                and -MAX_COORDINATE <= x <= MAX_COORDINATE and -MAX_COORDINATE <= y <= MAX_COORDINATE):
            return None
        fast.append((float(x), float(y)))
    return tuple(fast)


_ITEM_FIELDS = frozenset({"polygon", "text", "confidence", "granularity"})


def _usual_item(value: Any) -> Item | None:
    """``parse_item(value)`` for an item that passes every check at first sight, else None.

    No message and no item path is built, and the ``Item`` gets its fields without a call of its
    ``__init__``; anything unusual is left to ``parse_item``.
    """
    if type(value) is not dict or not value.keys() <= _ITEM_FIELDS:
        return None
    text, confidence = value.get("text"), value.get("confidence")
    granularity, polygon = value.get("granularity", "word"), value.get("polygon")
    if type(text) is not str or type(granularity) is not str or granularity not in GRANULARITIES:
        return None
    if confidence is not None:
        if not ((type(confidence) is float or type(confidence) is int) and 0.0 <= confidence <= 1.0):
            return None
        confidence = float(confidence)
    if polygon is not None:
        polygon = _usual_points(polygon) if type(polygon) is list else None
        if polygon is None:
            return None
    return unchecked_item(polygon, text, confidence, granularity)


def parse_item(value: Any, where: str) -> Item:
    """Validate one item object of the schema."""
    if not isinstance(value, Mapping):
        raise SchemaError(f"{where}: expected an object, got {type(value).__name__}")
    unknown = () if value.keys() <= _ITEM_FIELDS else set(value) - _ITEM_FIELDS
    if unknown:
        raise SchemaError(f"{where}: unknown field(s) {excerpt(sorted(unknown))}")
    if "text" not in value or not isinstance(value["text"], str):
        raise SchemaError(f"{where}.text: expected a string")
    confidence = value.get("confidence")
    if confidence is not None:
        confidence = _number(confidence, f"{where}.confidence")
        if not 0.0 <= confidence <= 1.0:
            raise SchemaError(f"{where}.confidence: expected a value in [0, 1], got {confidence}")
    granularity = value.get("granularity", "word")
    if granularity not in GRANULARITIES:
        raise SchemaError(f"{where}.granularity: expected one of {', '.join(GRANULARITIES)}, got {excerpt(granularity)}")
    return Item(
        polygon=_parse_polygon(value.get("polygon"), f"{where}.polygon"),
        text=value["text"],
        confidence=confidence,
        granularity=granularity,
    )


def _optional_size(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SchemaError(f"{where}: expected a positive integer, got {excerpt(value)}")
    return value


def parse_image_result(value: Any, where: str) -> ImageResult:
    """Validate one image entry of the schema."""
    usual = _usual_image_result(value) if type(value) is dict else None
    return _checked_image_result(value, where) if usual is None else usual


def _usual_image_result(value: dict[str, Any]) -> ImageResult | None:
    """``parse_image_result`` of an ``ok`` entry whose sizes and items all pass at first sight, else None:
    no item path is spelled out for items that cannot fail a check."""
    items, width, height = value.get("items"), value.get("width"), value.get("height")
    if value.get("status") != "ok" or type(items) is not list:
        return None
    if not (width is None or (type(width) is int and width > 0)) or \
            not (height is None or (type(height) is int and height > 0)):
        return None
    parsed = []
    for item in items:
        usual = _usual_item(item)
        if usual is None:
            return None
        parsed.append(usual)
    return ImageResult.ok(parsed, width=width, height=height)


def _checked_image_result(value: Any, where: str) -> ImageResult:
    """``parse_image_result`` with every check; the error names the first problem and where it is."""
    if not isinstance(value, Mapping):
        raise SchemaError(f"{where}: expected an object, got {type(value).__name__}")
    status = value.get("status")
    if status not in STATUSES:
        raise SchemaError(f"{where}.status: expected 'ok' or 'error', got {excerpt(status)}")
    if status == "error":
        reason = value.get("error")
        if not isinstance(reason, str) or not reason:
            raise SchemaError(f"{where}.error: an error entry needs a non-empty reason string")
        return ImageResult.failed(reason)
    items = value.get("items")
    if not isinstance(items, list):
        raise SchemaError(f"{where}.items: expected a list")
    return ImageResult.ok(
        (parse_item(item, f"{where}.items[{k}]") for k, item in enumerate(items)),
        width=_optional_size(value.get("width"), f"{where}.width"),
        height=_optional_size(value.get("height"), f"{where}.height"),
    )


def parse_result_set(doc: Any, source: str = "results") -> ResultSet:
    """Validate a whole results document; the error names the first problem found."""
    if not is_schema_document(doc):
        raise SchemaError(f"{source}: not a '{SCHEMA_NAME}' document")
    version = doc.get("version")
    if version != SCHEMA_VERSION:
        raise SchemaError(f"{source}: unsupported schema version {excerpt(version)} (this tool reads version {SCHEMA_VERSION})")
    provider = doc.get("provider")
    if not isinstance(provider, str) or not provider:
        raise SchemaError(f"{source}: 'provider' must be a non-empty string")
    images = doc.get("images")
    if not isinstance(images, Mapping):
        raise SchemaError(f"{source}: 'images' must be an object mapping image stem to result")
    return ResultSet(
        provider=provider,
        images={stem: parse_image_result(entry, f"{source}: images[{excerpt(stem)}]") for stem, entry in images.items()},
    )
