"""Kakao Vision OCR v2 (``/v2/vision/text/ocr``): all the tool knows about it, registered as ``PROVIDER``.

Response parsing, request building, answer classification and box scale-back (``bench collect``),
the emulated service (``bench emulate``), price.

Success: ``{"result": [{"boxes": [[x, y] x4], "recognition_words": ["..."]}]}``; no
confidences. Each result is a detected text region (often a whole line, with syllables
separated by spaces, e.g. ``가 자 미``). Error: ``{"code": -10, "msg": "API limit has been
exceeded."}``.
"""
from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence  # the ABCs: isinstance is 3x faster than with typing's aliases
from typing import Any

from adapters.core.credentials import ProviderConfig
from adapters.core.images import ImagePolicy, PreparedImage
from adapters.core.pricing import Price
from adapters.core.schema import ImageResult, Item
from adapters.providers.base import (HttpAnswer, HttpProvider, HttpRequest, Outcome, Verdict, by_status, json_body,
                                     short_message, unparseable)
from adapters.providers.registry import WEB, EmulatedRequest, Emulation, ProviderSpec, Settings
from adapters.providers.response_fields import ResponseFormatError, point_pairs
from adapters.providers.wire import file_upload, whole

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


# --- request building, answer classification and box scale-back (bench collect) ----------------

DEFAULT_URL = "https://dapi.kakao.com/v2/vision/text/ocr"
# Vision OCR wants small images: over 1024 px on the long side or over 1 MB is resized first.
MAX_SIDE = 1024
MAX_BYTES = 1_000_000
POLICY = ImagePolicy(formats=frozenset({"jpg", "png"}), max_side=MAX_SIDE, max_bytes=MAX_BYTES)

# Error codes from the Kakao REST API reference (common error codes).
_CODE_OUTCOMES = {
    -1: Outcome.TRANSIENT,     # 400 internal error while processing: retry
    -2: Outcome.PERMANENT,     # 400 missing or invalid parameter
    -3: Outcome.AUTH,          # 403 the app has not enabled this API
    -4: Outcome.AUTH,          # 403 account blocked
    -5: Outcome.AUTH,          # 403 no permission for this API
    -7: Outcome.TRANSIENT,     # 400 maintenance or internal problem
    -10: Outcome.QUOTA,        # 400 allowed request count exceeded
    -11: Outcome.QUOTA,        # 400 daily / monthly paid limit exceeded
    -12: Outcome.AUTH,         # 403 app or developer account sanctioned
    -401: Outcome.AUTH,        # 401 invalid app key
    -602: Outcome.PERMANENT,   # 400 image too large
    -603: Outcome.TRANSIENT,   # 400 timeout inside the platform
    -903: Outcome.AUTH,        # 400 app key of an unregistered developer
    -911: Outcome.PERMANENT,   # 400 unsupported image format
    -9798: Outcome.TRANSIENT,  # 503 service maintenance
}


def build_request(image: PreparedImage, url: str, key: str) -> HttpRequest:
    """Multipart POST with the image in field ``image`` and ``Authorization: KakaoAK <key>``."""
    from urllib3.filepost import encode_multipart_formdata  # imported on first use: listing providers stays fast

    body, content_type = encode_multipart_formdata({"image": (image.file_name, image.data, image.mime_type)})
    return HttpRequest(url, {"Authorization": f"KakaoAK {key}", "Content-Type": content_type}, body)


def classify(answer: HttpAnswer) -> Verdict:
    """Kakao answer -> verdict, from the body's numeric ``code`` first, then the status."""
    ok, body = json_body(answer)
    if not ok:
        return unparseable(answer)
    code = body.get("code") if isinstance(body, dict) else None
    if isinstance(code, int) and not isinstance(code, bool) and "result" not in body:
        message = short_message(body.get("msg", ""))
        outcome = _CODE_OUTCOMES.get(code)
        if outcome is None:
            return by_status(answer, body, f"Kakao {code}", message)
        if outcome is Outcome.TRANSIENT and answer.status == 429:
            outcome = Outcome.RATE_LIMITED
        if outcome is Outcome.RATE_LIMITED:
            return by_status(answer, body, f"Kakao {code}", message)
        return Verdict(outcome, f"Kakao {code}", message, body=body)
    if answer.status != 200:
        return by_status(answer, body)
    if not isinstance(body, dict) or not isinstance(body.get("result"), list):
        return by_status(answer, body, "unexpected_response", "no 'result' list in a 200 answer")
    return Verdict(Outcome.SUCCESS, body=body)


def scale_boxes(raw: Any, scale: tuple[float, float]) -> Any:
    """A copy of a Kakao success body with every box point multiplied by ``scale`` (sent -> original)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("result"), list):
        return raw
    fx, fy = scale
    out = dict(raw)
    results = []
    for entry in raw["result"]:
        if isinstance(entry, Mapping) and isinstance(entry.get("boxes"), list):
            entry = dict(entry)
            entry["boxes"] = [
                [round(p[0] * fx, 2), round(p[1] * fy, 2)]
                if isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)
                else p
                for p in entry["boxes"]
            ]
        results.append(entry)
    out["result"] = results
    return out


def make(config: ProviderConfig, settings: Settings) -> HttpProvider:
    """The collecting provider; the key stays wrapped until a request is built."""
    def build(image: PreparedImage) -> HttpRequest:
        assert config.url is not None and config.secret is not None  # load_config guarantees both
        return build_request(image, config.url, config.secret.reveal())
    return HttpProvider(NAME, build, classify, POLICY, scale_boxes, settings.pool_size, parse=parse)


# --- the emulated service (bench emulate) ----------------------------------------------------------
# Codes from the Kakao Developers REST API error code table (common codes); the messages are our
# wording. kind -> (HTTP status, code, message). Kakao documents no per-second limit code: -1
# ("internal error, retry") is sent with 429.

PATH = "/v2/vision/text/ocr"
_ERRORS: dict[str, tuple[int, int, str]] = {
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


def error(kind: str, detail: str = "") -> tuple[int, dict[str, Any]]:
    """``(status, body)`` of Kakao's error of this kind; ``detail`` is appended to the message."""
    status, number, message = _ERRORS[kind]
    return status, {"code": number, "msg": f"{message}: {detail}" if detail else message}


def authorized(headers: Mapping[str, str], secret: str) -> bool:
    """Kakao's key travels as ``Authorization: KakaoAK <key>``."""
    scheme, _, sent = (headers.get("Authorization") or "").strip().partition(" ")
    if scheme != "KakaoAK":
        return False
    return hmac.compare_digest(sent.strip().encode("utf-8"), secret.encode("utf-8"))


def parse_request(headers: Mapping[str, str], body: bytes) -> EmulatedRequest:
    """A multipart upload with the image in field ``image``."""
    return file_upload(headers, body, "image")


def render_success(items: Sequence[Item]) -> dict[str, Any]:
    """A Kakao Vision OCR v2 body: one result per item, integer corner points (items without
    geometry cannot be expressed and are left out)."""
    return {"result": [
        {"boxes": [[whole(x), whole(y)] for x, y in item.polygon], "recognition_words": [item.text]}
        for item in items if item.polygon is not None]}


def _success(items: Sequence[Item], request: EmulatedRequest, width: int, height: int) -> dict[str, Any]:
    return render_success(items)


PROVIDER = ProviderSpec(
    name=NAME,
    title="Kakao",
    kind=WEB,
    looks_like=looks_like,
    parse=parse,
    make=make,
    price=Price(
        provider=NAME, unit="API call (one image)", krw_per_1000=None, usd_per_1000=None,
        free_quota="unknown (Kakao Developers lists free daily/monthly quotas per API)",
        source="https://developers.kakao.com/docs/latest/en/getting-started/quota; "
               "https://developers.kakao.com/docs/latest/en/app-setting/paid-api",
        checked="2026-11-25",
        note="no price for the Vision OCR API was found: the quota and paid-API pages found do not list it; "
             "check the app console's quota page",
    ),
    url_variable="KAKAO_OCR_URL",
    default_url=DEFAULT_URL,
    secret_variable="KAKAO_REST_API_KEY",
    setup_help=f"KAKAO_REST_API_KEY (and KAKAO_OCR_URL, default {DEFAULT_URL})",
    emulation=Emulation(path=PATH, parse_request=parse_request, success=_success, error=error,
                        authorized=authorized),
    order=20,
)
