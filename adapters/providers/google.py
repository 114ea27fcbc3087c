"""Google Cloud Vision (``POST /v1/images:annotate``, TEXT_DETECTION): parsing, requests, verdicts.

Wire format (Cloud Vision REST reference, ``images.annotate`` / ``AnnotateImageResponse``): the
request is ``{"requests": [{"image": {"content": <base64>}, "features": [{"type":
"TEXT_DETECTION"}], "imageContext": {"languageHints": ["ko"]}}]}`` (``DOCUMENT_TEXT_DETECTION``
with the option ``feature="document"``). The answer is ``{"responses": [{"textAnnotations":
[...], "fullTextAnnotation": {...}}]}``: ``textAnnotations[0]`` is the whole text (not an item),
``textAnnotations[1:]`` are the words (``description``, ``boundingPoly.vertices``), and the
optional ``fullTextAnnotation`` (pages > blocks > paragraphs > words > symbols) carries the word
confidences, matched to the words in order. Vertices are protobuf JSON: a zero ``x`` or ``y`` is
left out. ``responses[0].error`` (``{"code", "message"}``, google.rpc codes) is an error for that
one image, sent with HTTP 200; a request-level error is ``{"error": {"code": <HTTP status>,
"message", "status", "details"}}``. An image without text answers ``{"responses": [{}]}``.

The API key: Google documents both the ``key`` query parameter and the ``X-Goog-Api-Key``
header for API keys ("Use API keys to access APIs"). :func:`build_request` sends the header by
default, so the key is never part of a URL (URLs end up in urllib3's debug log, proxies and
exception texts); ``key_in="query"`` sends ``?key=`` instead, with a request whose ``repr``
hides the key. Verdict messages never contain the URL.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from dataclasses import dataclass
from collections.abc import Mapping, Sequence  # the ABCs: isinstance is 3x faster than with typing's aliases
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from adapters.core.schema import ImageResult, Item, Point
from adapters.providers.response_fields import ResponseFormatError, unit_confidence, vertices

NAME = "google"
URL_VARIABLE = "GOOGLE_VISION_URL"
SECRET_VARIABLE = "GOOGLE_VISION_API_KEY"
DEFAULT_URL = "https://vision.googleapis.com/v1/images:annotate"
PATH = "/v1/images:annotate"
KEY_HEADER = "X-Goog-Api-Key"
FEATURES = {"text": "TEXT_DETECTION", "document": "DOCUMENT_TEXT_DETECTION"}
DEFAULT_FEATURE = "text"
DEFAULT_LANGUAGE = "ko"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_request_error(raw: Any) -> bool:
    """``{"error": {"code": <int>, "message": ..., "status": ...}}``: Google's request-level error."""
    error = raw.get("error") if isinstance(raw, Mapping) else None
    return (isinstance(error, Mapping) and _is_int(error.get("code")) and isinstance(error.get("message"), str)
            and "responses" not in raw)


def looks_like(raw: Any) -> bool:
    """True for a Cloud Vision ``images:annotate`` answer or a Google API error body."""
    if not isinstance(raw, Mapping):
        return False
    responses = raw.get("responses")
    if isinstance(responses, list):
        return all(isinstance(entry, Mapping) for entry in responses)
    return _is_request_error(raw) and isinstance(raw["error"].get("status"), str)


def _children(node: Any, key: str, what: str) -> list[Any]:
    value = node.get(key, []) if isinstance(node, Mapping) else None
    if not isinstance(value, list):
        raise ResponseFormatError(f"{what}.{key} is not a list")
    return value


def _full_text_words(full: Any) -> Iterator[tuple[str, float | None]]:
    """(text, confidence) of every word of ``fullTextAnnotation``, in document order."""
    if not isinstance(full, Mapping):
        raise ResponseFormatError("fullTextAnnotation is not an object")
    for p, page in enumerate(_children(full, "pages", "fullTextAnnotation")):
        for b, block in enumerate(_children(page, "blocks", f"pages[{p}]")):
            for g, paragraph in enumerate(_children(block, "paragraphs", f"pages[{p}].blocks[{b}]")):
                where = f"pages[{p}].blocks[{b}].paragraphs[{g}]"
                for w, word in enumerate(_children(paragraph, "words", where)):
                    what = f"fullTextAnnotation.{where}.words[{w}]"
                    symbols = _children(word, "symbols", what)
                    texts = [s.get("text", "") if isinstance(s, Mapping) else None for s in symbols]
                    if not all(isinstance(t, str) for t in texts):
                        raise ResponseFormatError(f"{what}.symbols: every symbol needs a text string")
                    yield "".join(texts), unit_confidence(word.get("confidence"), f"{what}.confidence")


def _match_confidences(texts: Sequence[str], full: Any) -> list[float | None]:
    """Each word's confidence: the next ``fullTextAnnotation`` word with the same text, in order."""
    found = list(_full_text_words(full))
    out: list[float | None] = []
    cursor = 0
    for text in texts:
        for k in range(cursor, len(found)):
            if found[k][0] == text:
                out.append(found[k][1])
                cursor = k + 1
                break
        else:
            out.append(None)
    return out


def _page_size(full: Any) -> tuple[int | None, int | None]:
    pages = full.get("pages") if isinstance(full, Mapping) else None
    if not isinstance(pages, list) or not pages or not isinstance(pages[0], Mapping):
        return None, None
    width, height = pages[0].get("width"), pages[0].get("height")
    if _is_int(width) and _is_int(height) and width > 0 and height > 0:
        return width, height
    return None, None


def _status_reason(error: Mapping[str, Any]) -> str:
    code, status, message = error.get("code"), error.get("status"), error.get("message", "")
    label = " ".join(str(part) for part in (status, code) if part not in (None, ""))
    return f"{label}: {message}" if label else str(message)


def parse(raw: Any) -> ImageResult:
    """One ``images:annotate`` answer -> word items; per-image and request errors -> error results."""
    if not isinstance(raw, Mapping):
        raise ResponseFormatError(f"expected a JSON object, got {type(raw).__name__}")
    if "responses" not in raw and isinstance(raw.get("error"), Mapping):
        return ImageResult.failed(f"Cloud Vision error {_status_reason(raw['error'])}")
    responses = raw.get("responses")
    if not isinstance(responses, list) or not responses:
        raise ResponseFormatError("no 'responses' list in the answer")
    response = responses[0]
    if not isinstance(response, Mapping):
        raise ResponseFormatError("responses[0] is not an object")
    error = response.get("error")
    if error:
        if not isinstance(error, Mapping):
            raise ResponseFormatError("responses[0].error is not an object")
        return ImageResult.failed(f"Cloud Vision image error {_status_reason(error)}")
    annotations = response.get("textAnnotations", [])
    if not isinstance(annotations, list):
        raise ResponseFormatError("responses[0].textAnnotations is not a list")
    words = annotations[1:]  # the first entry is the whole text
    texts = []
    for k, word in enumerate(words, start=1):
        if not isinstance(word, Mapping) or not isinstance(word.get("description", ""), str):
            raise ResponseFormatError(f"textAnnotations[{k}]: expected an object with a 'description' string")
        texts.append(word.get("description", ""))
    full = response.get("fullTextAnnotation")
    confidences = _match_confidences(texts, full) if full is not None else [None] * len(texts)
    items = [
        Item(polygon=None if word.get("boundingPoly") is None
             else vertices(word["boundingPoly"], f"textAnnotations[{k}].boundingPoly"),
             text=text, confidence=confidence, granularity="word")
        for k, (word, text, confidence) in enumerate(zip(words, texts, confidences), start=1)
    ]
    width, height = _page_size(full)
    return ImageResult.ok(items, width=width, height=height)


# --- request building and answer classification (bench collect) ---------------------------------

from adapters.core.images import ImagePolicy, PreparedImage
from adapters.core.pricing import Price
from adapters.providers.base import (HttpAnswer, HttpRequest, Outcome, Verdict, by_status, header, json_body,
                                     parse_retry_after, short_message, unparseable)

# Every format the collector sends is a Vision format (JPEG, PNG, GIF, BMP, WEBP, RAW, ICO, PDF,
# TIFF). Inline base64 content must fit the JSON request limit (10 MB on the limits page found;
# base64 adds a third), so images over 7 MB are shrunk first.
MAX_BYTES = 7 * 1024 * 1024
POLICY = ImagePolicy(max_bytes=MAX_BYTES)

PRICE = Price(
    provider=NAME, unit="image (one feature unit)", krw_per_1000=None, usd_per_1000=1.50,
    free_quota="first 1,000 units per month",
    source="https://cloud.google.com/vision/pricing",
    checked="2026-12-01",
    note="TEXT_DETECTION and DOCUMENT_TEXT_DETECTION, units 1,001 to 5,000,000 per month; the tier table of the "
         "official page was cut short in the copy read, the figure is the one secondary sources quote from it",
)

_TRANSIENT_RPC = {4, 10, 13, 14}  # DEADLINE_EXCEEDED, ABORTED, INTERNAL, UNAVAILABLE
_RETRY_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


@dataclass(frozen=True, repr=False)
class KeyedRequest(HttpRequest):
    """A request whose URL carries ``?key=``: its ``repr`` shows the URL without the key."""

    def __repr__(self) -> str:
        return f"HttpRequest(url={redact_url(self.url)!r})"


def redact_url(url: str) -> str:
    """``url`` with the value of any ``key`` query parameter replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, "***" if k == "key" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def build_request(image: PreparedImage, url: str, secret: str, feature: str = DEFAULT_FEATURE,
                  lang: str | None = DEFAULT_LANGUAGE, key_in: str = "header") -> HttpRequest:
    """One-image ``images:annotate`` call: base64 content, TEXT_DETECTION (or DOCUMENT_...), a language hint."""
    if feature not in FEATURES:
        raise ValueError(f"feature {feature!r}: use one of {', '.join(FEATURES)}")
    entry: dict[str, Any] = {
        "image": {"content": base64.b64encode(image.data).decode("ascii")},
        "features": [{"type": FEATURES[feature]}],
    }
    if lang:
        entry["imageContext"] = {"languageHints": [code.strip() for code in lang.split(",") if code.strip()]}
    body = json.dumps({"requests": [entry]}, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if key_in == "header":
        headers[KEY_HEADER] = secret
        return HttpRequest(url, headers, body)
    if key_in != "query":
        raise ValueError(f"key_in {key_in!r}: use 'header' or 'query'")
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "key"] + [("key", secret)]
    return KeyedRequest(urlunsplit(parts._replace(query=urlencode(query))), headers, body)


def _error_info(error: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """(reason, metadata) of the ``google.rpc.ErrorInfo`` detail, if any."""
    for detail in error.get("details") or ():
        if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith("google.rpc.ErrorInfo"):
            metadata = detail.get("metadata")
            return str(detail.get("reason", "")), metadata if isinstance(metadata, Mapping) else {}
    return "", {}


def _retry_delay(error: Mapping[str, Any]) -> float | None:
    """Seconds of a ``google.rpc.RetryInfo`` detail (``"retryDelay": "23s"``), if any."""
    for detail in error.get("details") or ():
        if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _RETRY_DELAY.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _daily_quota(message: str, metadata: Mapping[str, Any]) -> bool:
    """A quota that resets per day (or later) is exhausted: waiting seconds will not help."""
    limit = str(metadata.get("quota_limit", "")) + " " + str(metadata.get("quota_limit_value", ""))
    text = f"{message} {limit}".lower()
    return "per day" in text or "perday" in text or "per month" in text


def classify(answer: HttpAnswer) -> Verdict:
    """Cloud Vision answer -> verdict, from the error body first (status, ErrorInfo reason), then the status."""
    ok, body = json_body(answer)
    if not ok:
        if answer.status == 404:
            return Verdict(Outcome.AUTH, "HTTP 404", "no API at this URL: check GOOGLE_VISION_URL")
        return unparseable(answer)
    if _is_request_error(body):
        error = body["error"]
        status = str(error.get("status", ""))
        message = short_message(error.get("message", ""))
        reason, metadata = _error_info(error)
        code = f"Cloud Vision {status or error.get('code')}" + (f" {reason}" if reason else "")
        if answer.status == 429 or status == "RESOURCE_EXHAUSTED":
            if _daily_quota(message, metadata):
                return Verdict(Outcome.QUOTA, code, message, body=body)
            retry_after = parse_retry_after(header(answer, "Retry-After"))
            return Verdict(Outcome.RATE_LIMITED, code, message,
                           retry_after if retry_after is not None else _retry_delay(error), body)
        if reason.startswith("API_KEY") or status in ("UNAUTHENTICATED", "PERMISSION_DENIED") \
                or answer.status in (401, 403):
            return Verdict(Outcome.AUTH, code, message, body=body)
        if answer.status == 404:
            return Verdict(Outcome.AUTH, code, message or "no API at this URL", body=body)
        if answer.status >= 500 or status in ("INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED"):
            return Verdict(Outcome.TRANSIENT, code, message, body=body)
        return Verdict(Outcome.PERMANENT, code, message, body=body)
    if answer.status != 200:
        return by_status(answer, body)
    responses = body.get("responses") if isinstance(body, Mapping) else None
    if not isinstance(responses, list) or not responses or not isinstance(responses[0], Mapping):
        return by_status(answer, body, "unexpected_response", "no 'responses' list in a 200 answer")
    error = responses[0].get("error")
    if isinstance(error, Mapping) and error:
        rpc = error.get("code")
        code, message = f"Cloud Vision image error {rpc}", short_message(error.get("message", ""))
        if rpc == 8:  # RESOURCE_EXHAUSTED for this image
            return Verdict(Outcome.RATE_LIMITED, code, message, parse_retry_after(header(answer, "Retry-After")),
                           body)
        outcome = Outcome.TRANSIENT if rpc in _TRANSIENT_RPC else Outcome.PERMANENT
        return Verdict(outcome, code, message, body=body)
    return Verdict(Outcome.SUCCESS, body=body)


# --- emulation: what a loopback Cloud Vision speaks ---------------------------------------------

from adapters.providers.registry import EmulatedRequest, RequestRejected


def _rpc_error(status_code: int, status: str, message: str, reason: str = "",
               metadata: Mapping[str, str] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": status_code, "message": message, "status": status}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                             "domain": "googleapis.com",
                             "metadata": dict(metadata or {"service": "vision.googleapis.com"})}]
    return {"error": error}


# kind -> (HTTP status, google.rpc status, message, ErrorInfo reason, ErrorInfo metadata). The key and
# quota texts follow recorded Google answers; the others are our wording in Google's shape.
_QUOTA_META = {"service": "vision.googleapis.com", "quota_metric": "vision.googleapis.com/default",
               "quota_limit": "DefaultPerDayPerProject"}
_RATE_META = {"service": "vision.googleapis.com", "quota_metric": "vision.googleapis.com/default",
              "quota_limit": "DefaultRequestsPerMinutePerProject"}
ERRORS: dict[str, tuple[int, str, str, str, Mapping[str, str] | None]] = {
    "url": (404, "NOT_FOUND", "The requested URL was not found on this server.", "", None),
    "auth": (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "API_KEY_INVALID", None),
    "body": (400, "INVALID_ARGUMENT", "Invalid JSON payload received.", "", None),
    "bad_image": (400, "INVALID_ARGUMENT", "Bad image data.", "", None),
    "quota": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Requests' and limit 'Requests per day' "
              "of service 'vision.googleapis.com'.", "RATE_LIMIT_EXCEEDED", _QUOTA_META),
    "rate_limit": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Requests' and limit 'Requests per "
                   "minute' of service 'vision.googleapis.com'.", "RATE_LIMIT_EXCEEDED", _RATE_META),
    "method": (405, "INVALID_ARGUMENT", "Method not allowed; images:annotate takes POST.", "", None),
    "too_large": (400, "INVALID_ARGUMENT", "Request payload size exceeds the limit.", "", None),
    "server": (500, "INTERNAL", "Internal error encountered.", "", None),
    "unavailable": (503, "UNAVAILABLE", "The service is currently unavailable.", "", None),
}


def render_error(kind: str, detail: str = "") -> tuple[int, dict[str, Any]]:
    """``(status, body)`` of the emulated request-level error of ``kind``."""
    status, rpc_status, message, reason, metadata = ERRORS[kind]
    return status, _rpc_error(status, rpc_status, f"{message} {detail}".strip(), reason, metadata)


def render_image_error(request: EmulatedRequest | None, reason: str) -> tuple[int, dict[str, Any]]:
    """An unreadable image: HTTP 200 with ``responses[0].error`` (google.rpc INVALID_ARGUMENT = 3)."""
    return 200, {"responses": [{"error": {"code": 3, "message": f"Bad image data. {reason}".strip()}}]}


def authorized(headers: Mapping[str, str], secret: str, query: Mapping[str, str] | None = None) -> bool:
    """The key from ``X-Goog-Api-Key`` or, failing that, the ``key`` query parameter (pass ``query``)."""
    sent = ""
    for name, value in headers.items():
        if name.lower() == KEY_HEADER.lower():
            sent = value or ""
            break
    if not sent and query is not None:
        sent = query.get("key") or ""
    return bool(sent) and hmac.compare_digest(sent.strip().encode("utf-8"), secret.encode("utf-8"))


def query_of(url_or_path: str) -> dict[str, str]:
    """The query parameters of a request path, for :func:`authorized`."""
    return dict(parse_qsl(urlsplit(url_or_path).query, keep_blank_values=True))


def parse_emulated_request(headers: Mapping[str, str], body: bytes) -> EmulatedRequest:
    """Validate one ``images:annotate`` request (one image, inline content, a text feature); never raises.

    The wire carries no file name, so ``name`` and ``stem`` stay empty: an answer source has to
    recognise the image by its bytes.
    """
    request = EmulatedRequest()
    try:
        try:
            message = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RequestRejected("body", "the body is not JSON") from None
        entries = message.get("requests") if isinstance(message, Mapping) else None
        if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], Mapping):
            raise RequestRejected("body", "'requests' must be a list with exactly one request")
        entry = entries[0]
        image = entry.get("image")
        if not isinstance(image, Mapping):
            raise RequestRejected("body", "requests[0].image is required")
        content = image.get("content")
        if content is None:
            if image.get("source") is not None:
                raise RequestRejected("body", "requests[0].image.source: the emulator never fetches images; "
                                              "send image.content")
            raise RequestRejected("body", "requests[0].image.content (base64) is required")
        if not isinstance(content, str):
            raise RequestRejected("body", "requests[0].image.content must be a base64 string")
        try:
            request.data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise RequestRejected("body", "requests[0].image.content is not valid base64") from None
        features = entry.get("features")
        types = [f.get("type") for f in features if isinstance(f, Mapping)] if isinstance(features, list) else []
        chosen = [t for t in types if t in FEATURES.values()]
        if not chosen:
            raise RequestRejected("body", "requests[0].features needs TEXT_DETECTION or DOCUMENT_TEXT_DETECTION")
        request.echo["feature"] = "DOCUMENT_TEXT_DETECTION" if "DOCUMENT_TEXT_DETECTION" in chosen else chosen[0]
        context = entry.get("imageContext")
        hints = context.get("languageHints") if isinstance(context, Mapping) else None
        if hints is not None:
            if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
                raise RequestRejected("body", "imageContext.languageHints must be a list of strings")
            request.echo["languageHints"] = list(hints)
    except RequestRejected as exc:
        request.invalid = exc
    return request


def _vertex(x: float, y: float) -> dict[str, int]:
    """A protobuf-JSON vertex: integer pixels, zero coordinates left out."""
    out = {}
    if int(round(x)):
        out["x"] = int(round(x))
    if int(round(y)):
        out["y"] = int(round(y))
    return out


def _quad(polygon: Sequence[Point]) -> list[Point]:
    if len(polygon) == 4:
        return list(polygon)
    xs, ys = [x for x, _ in polygon], [y for _, y in polygon]
    return [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]


def _poly(points: Sequence[Point]) -> dict[str, Any]:
    return {"vertices": [_vertex(x, y) for x, y in points]}


def render_success(items: Sequence[Item], request: EmulatedRequest | None = None, width: int | None = None,
                   height: int | None = None) -> dict[str, Any]:
    """An ``images:annotate`` answer: ``textAnnotations`` (whole text, then one per item with
    geometry) and a ``fullTextAnnotation`` whose words carry the items' confidences."""
    drawn = [item for item in items if item.polygon is not None]
    if not drawn:
        return {"responses": [{}]}
    hints = request.echo.get("languageHints") if request is not None else None
    locale = hints[0] if hints else DEFAULT_LANGUAGE
    text = "\n".join(item.text for item in drawn)
    xs = [x for item in drawn for x, _ in item.polygon]  # type: ignore[union-attr]
    ys = [y for item in drawn for _, y in item.polygon]  # type: ignore[union-attr]
    outline = [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]
    annotations: list[dict[str, Any]] = [{"locale": locale, "description": text, "boundingPoly": _poly(outline)}]
    words = []
    for item in drawn:
        quad = _quad(item.polygon)  # type: ignore[arg-type]
        annotations.append({"description": item.text, "boundingPoly": _poly(quad)})
        symbols = [{"text": char} for char in item.text]
        if symbols:
            symbols[-1]["property"] = {"detectedBreak": {"type": "LINE_BREAK"}}
        word: dict[str, Any] = {"boundingBox": _poly(quad), "symbols": symbols}
        if item.confidence is not None:
            word["confidence"] = float(item.confidence)
        words.append(word)
    page: dict[str, Any] = {"property": {"detectedLanguages": [{"languageCode": locale}]}}
    if width and height:
        page.update(width=width, height=height)
    page["blocks"] = [{"boundingBox": _poly(outline), "paragraphs": [{"boundingBox": _poly(outline), "words": words}],
                       "blockType": "TEXT"}]
    return {"responses": [{"textAnnotations": annotations,
                           "fullTextAnnotation": {"pages": [page], "text": text + "\n"}}]}


# --- scale-back (bench collect) ---------------------------------------------------------------

def _scaled_poly(poly: Any, fx: float, fy: float) -> Any:
    if not isinstance(poly, Mapping) or not isinstance(poly.get("vertices"), list):
        return poly
    vertices = []
    for vertex in poly["vertices"]:
        if isinstance(vertex, Mapping):
            vertex = dict(vertex)
            for key, factor in (("x", fx), ("y", fy)):
                value = vertex.get(key)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    vertex[key] = round(value * factor, 2)
        vertices.append(vertex)
    return {**poly, "vertices": vertices}


def _scaled_tree(node: Any, fx: float, fy: float) -> Any:
    """``fullTextAnnotation`` with every ``boundingBox`` scaled and page sizes set to the original."""
    if isinstance(node, list):
        return [_scaled_tree(child, fx, fy) for child in node]
    if not isinstance(node, Mapping):
        return node
    out = {key: (_scaled_poly(value, fx, fy) if key == "boundingBox" else _scaled_tree(value, fx, fy))
           for key, value in node.items()}
    for key, factor in (("width", fx), ("height", fy)):
        value = node.get(key)
        if _is_int(value):
            out[key] = int(round(value * factor))
    return out


def scale_boxes(raw: Any, scale: tuple[float, float]) -> Any:
    """A copy of an ``images:annotate`` answer in the original image's pixels (sent -> original)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("responses"), list):
        return raw
    fx, fy = scale
    responses = []
    for response in raw["responses"]:
        if isinstance(response, Mapping):
            response = dict(response)
            if isinstance(response.get("textAnnotations"), list):
                response["textAnnotations"] = [
                    {**entry, "boundingPoly": _scaled_poly(entry.get("boundingPoly"), fx, fy)}
                    if isinstance(entry, Mapping) and "boundingPoly" in entry else entry
                    for entry in response["textAnnotations"]]
            if "fullTextAnnotation" in response:
                response["fullTextAnnotation"] = _scaled_tree(response["fullTextAnnotation"], fx, fy)
        responses.append(response)
    return {**raw, "responses": responses}


# --- the registry entry ---------------------------------------------------------------------------

from adapters.core.credentials import ProviderConfig
from adapters.providers.base import HttpProvider
from adapters.providers.registry import WEB, Emulation, ProviderSpec, Settings


def make(config: ProviderConfig, settings: Settings) -> HttpProvider:
    """The collecting provider: the key in ``X-Goog-Api-Key`` (never in the URL), boxes scaled back
    for resized images."""
    feature, lang = settings.get("feature", DEFAULT_FEATURE), settings.get("lang", DEFAULT_LANGUAGE)

    def build(image: PreparedImage) -> HttpRequest:
        assert config.url is not None and config.secret is not None  # load_config guarantees both
        return build_request(image, config.url, config.secret.reveal(), feature, lang)
    return HttpProvider(NAME, build, classify, POLICY, restore=scale_boxes, pool_size=settings.pool_size, parse=parse)


PROVIDER = ProviderSpec(
    name=NAME,
    title="Google Cloud Vision",
    kind=WEB,
    looks_like=looks_like,
    parse=parse,
    make=make,
    price=PRICE,
    url_variable=URL_VARIABLE,
    default_url=DEFAULT_URL,
    secret_variable=SECRET_VARIABLE,
    setup_help=f"{SECRET_VARIABLE} (and {URL_VARIABLE}, default {DEFAULT_URL})",
    options=("feature", "lang"),
    option_help={"feature": " or ".join(f"{name} ({kind})" for name, kind in FEATURES.items())
                            + f" [default: {DEFAULT_FEATURE}]",
                 "lang": f"languageHints, comma-separated [default: {DEFAULT_LANGUAGE}]"},
    defaults={"feature": DEFAULT_FEATURE, "lang": DEFAULT_LANGUAGE},
    choices={"feature": tuple(FEATURES)},
    emulation=Emulation(path=PATH, parse_request=parse_emulated_request, success=render_success,
                        error=render_error, authorized=authorized, auth_query=True,
                        image_error=render_image_error, sends_name=False),
    order=44,
)
