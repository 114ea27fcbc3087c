"""Jenti Light-OCR API (``POST /evaluation``): response parsing.

Success: ``{"<text>": [x1, y1, x2, y2, x3, y3, x4, y4], ...}``. The shape is lossy (a word
that appears twice keeps only one box) and has no confidences; an empty object means no
text was found. Anything else (``{"error": "..."}``) is an error for that image.
"""
from __future__ import annotations

from typing import Any, Mapping

from adapters.schema import ImageResult, Item
from adapters.wire import ResponseFormatError, flat_quad

NAME = "jenti"


def _is_quad(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 8
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))


def looks_like(raw: Any) -> bool:
    """True for a non-empty Light-OCR success body (every value a flat quad)."""
    return isinstance(raw, Mapping) and bool(raw) and all(_is_quad(v) for v in raw.values())


def parse(raw: Any) -> ImageResult:
    """Turn one Light-OCR response into the common schema."""
    if not isinstance(raw, Mapping):
        raise ResponseFormatError(f"expected a JSON object, got {type(raw).__name__}")
    if not all(isinstance(v, list) for v in raw.values()):
        reason = raw.get("error") or raw.get("message") or raw.get("detail") or str(dict(raw))[:200]
        return ImageResult.failed(f"Light-OCR error: {reason}")
    return ImageResult.ok(
        Item(polygon=flat_quad(box, f"box of {text!r}"), text=text, confidence=None, granularity="word")
        for text, box in raw.items()
    )
