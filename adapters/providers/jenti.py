"""Jenti Light-OCR API (``POST /evaluation``): response parsing.

Success: ``{"<text>": [x1, y1, x2, y2, x3, y3, x4, y4], ...}``. The shape is lossy (a word
that appears twice keeps only one box) and has no confidences; an empty object means no
text was found. Anything else (``{"error": "..."}``) is an error for that image.
"""
from __future__ import annotations

from typing import Any, Mapping

from adapters.core.schema import ImageResult, Item
from adapters.providers.response_fields import ResponseFormatError, flat_quad

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


# --- request building and answer classification (bench collect) ---------------------------------

from urllib3.filepost import encode_multipart_formdata as _multipart

from adapters.core.images import ImagePolicy, PreparedImage
from adapters.providers.base import HttpAnswer, HttpRequest, Outcome, Verdict, by_status, json_body, short_message, unparseable

# The Light-OCR server decodes whatever OpenCV reads, so images go out as they are.
POLICY = ImagePolicy()


def build_request(image: PreparedImage, url: str) -> HttpRequest:
    """Multipart POST with the image in field ``file``; Light-OCR has no authentication."""
    body, content_type = _multipart({"file": (image.file_name, image.data, image.mime_type)})
    return HttpRequest(url, {"Content-Type": content_type}, body)


def classify(answer: HttpAnswer) -> Verdict:
    """Light-OCR answer -> verdict: a text -> quad object (possibly empty) is a success."""
    ok, body = json_body(answer)
    if not ok:
        return unparseable(answer)
    if answer.status != 200:
        message = short_message(body.get("error") or body.get("message") or body.get("detail") or "") \
            if isinstance(body, dict) else ""
        return by_status(answer, body, message=message)
    if not isinstance(body, dict):
        return by_status(answer, body, "unexpected_response", "a 200 answer that is not a JSON object")
    if all(_is_quad(value) for value in body.values()):
        return Verdict(Outcome.SUCCESS, body=body)
    reason = body.get("error") or body.get("message") or body.get("detail")
    if reason is not None:
        return Verdict(Outcome.PERMANENT, "Light-OCR error", short_message(reason), body=body)
    return by_status(answer, body, "unexpected_response", "values are not [x1, y1, ..., x4, y4] boxes")
