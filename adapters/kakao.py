"""Kakao Vision OCR v2 (``/v2/vision/text/ocr``): response parsing.

Success: ``{"result": [{"boxes": [[x, y] x4], "recognition_words": ["..."]}]}``; no
confidences. Each result is a detected text region (often a whole line, with syllables
separated by spaces, e.g. ``가 자 미``). Error: ``{"code": -10, "msg": "API limit has been
exceeded."}``.
"""
from __future__ import annotations

from typing import Any, Mapping

from adapters.schema import ImageResult, Item
from adapters.wire import ResponseFormatError, point_pairs

NAME = "kakao"


def looks_like(raw: Any) -> bool:
    """True for a Kakao success body or a Kakao error body."""
    if not isinstance(raw, Mapping):
        return False
    if isinstance(raw.get("result"), list):
        return True
    code = raw.get("code")
    return isinstance(code, int) and not isinstance(code, bool) and "msg" in raw


def parse(raw: Any) -> ImageResult:
    """Turn one Kakao response into the common schema; error bodies become error results."""
    if not isinstance(raw, Mapping):
        raise ResponseFormatError(f"expected a JSON object, got {type(raw).__name__}")
    if "result" not in raw and "code" in raw:
        return ImageResult.failed(f"Kakao error {raw.get('code')}: {raw.get('msg', '')}".strip())
    results = raw.get("result")
    if not isinstance(results, list):
        raise ResponseFormatError("no 'result' list in the response")
    items = []
    for k, entry in enumerate(results):
        what = f"result[{k}]"
        if not isinstance(entry, Mapping):
            raise ResponseFormatError(f"{what} is not an object")
        words = entry.get("recognition_words", [])
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ResponseFormatError(f"{what}.recognition_words: expected a list of strings")
        items.append(Item(
            polygon=point_pairs(entry.get("boxes"), f"{what}.boxes"),
            text=" ".join(words),
            confidence=None,
            granularity="line",
        ))
    return ImageResult.ok(items)
