"""Jenti Light-OCR API (``POST /evaluation``): all the tool knows about it, registered as ``PROVIDER``.

Response parsing, request building and answer classification (``bench collect``), the emulated
service (``bench emulate``; its success body is also what ``bench serve`` answers), price.

Success: ``{"<text>": [x1, y1, x2, y2, x3, y3, x4, y4], ...}``. The shape is lossy (a word
that appears twice keeps only one box) and has no confidences; an empty object means no
text was found. Anything else (``{"error": "..."}``) is an error for that image.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence  # the ABCs: isinstance is 3x faster than with typing's aliases
from typing import Any

from adapters.core.credentials import ProviderConfig
from adapters.core.images import ImagePolicy, PreparedImage
from adapters.core.pricing import Price
from adapters.core.schema import ImageResult, Item
from adapters.providers.base import (HttpAnswer, HttpProvider, HttpRequest, Outcome, Verdict, by_status, json_body,
                                     short_message, unparseable)
from adapters.providers.registry import WEB, EmulatedRequest, Emulation, ProviderSpec, Settings
from adapters.providers.response_fields import ResponseFormatError, flat_quad
from adapters.providers.wire import file_upload, quad, whole

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

# The Light-OCR server decodes whatever OpenCV reads, so images go out as they are.
POLICY = ImagePolicy()


def build_request(image: PreparedImage, url: str) -> HttpRequest:
    """Multipart POST with the image in field ``file``; Light-OCR has no authentication."""
    from urllib3.filepost import encode_multipart_formdata  # imported on first use: listing providers stays fast

    body, content_type = encode_multipart_formdata({"file": (image.file_name, image.data, image.mime_type)})
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


def make(config: ProviderConfig, settings: Settings) -> HttpProvider:
    """The collecting provider (no credentials: only the endpoint)."""
    def build(image: PreparedImage) -> HttpRequest:
        assert config.url is not None  # load_config guarantees it
        return build_request(image, config.url)
    return HttpProvider(NAME, build, classify, POLICY, pool_size=settings.pool_size, parse=parse)


# --- the emulated service (bench emulate; its success body is also bench serve's /evaluation) -----
# Light-OCR has no auth and no documented errors: bodies are {"error": ...} (what parse() reads as
# an error) in our wording. kind -> (HTTP status, message).

PATH = "/evaluation"
_ERRORS: dict[str, tuple[int, str]] = {
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


def error(kind: str, detail: str = "") -> tuple[int, dict[str, Any]]:
    """``(status, body)`` of the emulated error of this kind; ``detail`` is appended to the message."""
    status, message = _ERRORS[kind]
    return status, {"error": f"{message}: {detail}" if detail else message}


def parse_request(headers: Mapping[str, str], body: bytes) -> EmulatedRequest:
    """A multipart upload with the image in field ``file``."""
    return file_upload(headers, body, "file")


def render_success(items: Sequence[Item]) -> dict[str, Any]:
    """A Light-OCR body: ``{text: [x1, y1, ..., x4, y4]}`` with integer coordinates.

    Keyed by text, so a repeated text keeps its last box (as the real service's ``dict`` does);
    items without geometry cannot be expressed and are left out.
    """
    body: dict[str, Any] = {}
    for item in items:
        if item.polygon is not None:
            body[item.text] = [whole(v) for point in quad(item.polygon) for v in point]
    return body


def _success(items: Sequence[Item], request: EmulatedRequest, width: int, height: int) -> dict[str, Any]:
    return render_success(items)


PROVIDER = ProviderSpec(
    name=NAME,
    title="Light-OCR",
    kind=WEB,
    looks_like=looks_like,
    parse=parse,
    make=make,
    price=Price(
        provider=NAME, unit="self-hosted", krw_per_1000=0.0, usd_per_1000=0.0, free_quota="n/a",
        source="self-hosted Light-OCR API: no per-call fee", checked="2026-11-25",
        note="API cost only; server cost not included",
    ),
    url_variable="JENTI_OCR_URL",
    setup_help="JENTI_OCR_URL (e.g. http://host:5000/evaluation)",
    emulation=Emulation(path=PATH, parse_request=parse_request, success=_success, error=error),
    empty_answer={},
    order=30,
)
