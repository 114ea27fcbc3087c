"""Azure AI Document Intelligence, ``prebuilt-read`` (REST API 2024-11-30): parsing, requests, polling.

Wire format (Microsoft Learn, "Document Models - Analyze Document" and "Get Analyze Result"): an
analysis is started with ``POST {endpoint}/documentintelligence/documentModels/prebuilt-read:
analyze?api-version=2024-11-30`` and the JSON body ``{"base64Source": <base64>}``, authenticated by
``Ocp-Apim-Subscription-Key``. The service answers ``202 Accepted`` with an ``Operation-Location``
header (``.../documentModels/prebuilt-read/analyzeResults/{resultId}?api-version=...``), which is
polled with GET (same key header) until ``status`` is ``succeeded`` or ``failed``
(``notStarted`` / ``running`` before that; ``Retry-After`` says when to ask again).

A finished answer is ``{"status": "succeeded", "createdDateTime", "lastUpdatedDateTime",
"analyzeResult": {"apiVersion", "modelId", "content", "pages": [{"pageNumber", "angle", "width",
"height", "unit": "pixel", "words": [{"content", "polygon": [x1, y1, ..., x4, y4], "confidence",
"span"}], "lines": [{"content", "polygon", "spans"}], "spans"}], ...}}``. For Korean, Azure cuts
"words" at every syllable, so the raw answer keeps both levels and :func:`parse` emits the lines
(granularity ``line``; lines carry no confidence) unless asked for the words. A run that asked for
words records that in each stored answer (``"benchGranularity": "word"``, a key Azure never sends),
so a raw results file read again gives the items the run gave. Errors follow the
Document Intelligence error guide: ``{"error": {"code", "message", "innererror": {"code",
"message"}}}`` (and ``{"status": "failed", "error": {...}}`` for a failed analysis); the API
gateway in front answers 401 / 429 / the free tier's monthly quota (403 "Out of call volume
quota") with ``{"error": {"code": "<status>", "message"}}``.
"""
from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hmac
import json
import re
import time
import unicodedata
import uuid
from collections.abc import Mapping, Sequence  # the ABCs: isinstance is 3x faster than with typing's aliases
from typing import Any, Callable
from urllib.parse import quote, urlencode, urlsplit

from adapters.core.schema import ImageResult, Item, Point
from adapters.providers.response_fields import ResponseFormatError, coordinate, unit_confidence

NAME = "azure"
URL_VARIABLE = "AZURE_DI_ENDPOINT"
SECRET_VARIABLE = "AZURE_DI_KEY"
KEY_HEADER = "Ocp-Apim-Subscription-Key"
API_VERSION = "2024-11-30"
MODEL_ID = "prebuilt-read"
ANALYZE_PATH = f"/documentintelligence/documentModels/{MODEL_ID}:analyze"
RESULTS_PATH = f"/documentintelligence/documentModels/{MODEL_ID}/analyzeResults/"
GRANULARITIES = ("line", "word")
DEFAULT_GRANULARITY = "line"
GRANULARITY_KEY = "benchGranularity"  # never sent by Azure: what a run that asked for words records
DEFAULT_POLL_SECONDS = 1.0
RUNNING = ("notStarted", "running")
STATES = ("notStarted", "running", "succeeded", "failed", "canceled")


def _is_error_object(error: Any) -> bool:
    """Azure's error object: a string ``code`` and ``message``, and no OpenAI ``type``."""
    return (isinstance(error, Mapping) and isinstance(error.get("code"), str)
            and isinstance(error.get("message"), str) and "type" not in error)


def looks_like(raw: Any) -> bool:
    """True for an analyze operation (running, succeeded or failed), a bare analyze result, or an Azure error."""
    if not isinstance(raw, Mapping):
        return False
    if isinstance(raw.get("analyzeResult"), Mapping):
        return True
    if raw.get("status") in STATES and ("createdDateTime" in raw or "error" in raw or "lastUpdatedDateTime" in raw):
        return True
    if isinstance(raw.get("modelId"), str) and isinstance(raw.get("pages"), list) and "apiVersion" in raw:
        return True  # a bare analyzeResult
    return set(raw) <= {"error"} and _is_error_object(raw.get("error"))


def _polygon(values: Any, what: str) -> tuple[Point, ...]:
    if not isinstance(values, list) or len(values) < 6 or len(values) % 2:
        raise ResponseFormatError(f"{what}: expected [x1, y1, x2, y2, ...] with at least 3 points, got {values!r}")
    numbers = [coordinate(v, what) for v in values]
    return tuple((numbers[k], numbers[k + 1]) for k in range(0, len(numbers), 2))


def _size(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or value != int(value):
        return None
    return int(value)


def _error_reason(error: Any) -> str:
    if not isinstance(error, Mapping):
        return str(error)
    code, message = error.get("code", ""), error.get("message", "")
    inner = error.get("innererror")
    if isinstance(inner, Mapping) and inner.get("code"):
        code, message = f"{code}/{inner.get('code')}", inner.get("message", message)
    return f"{code}: {message}" if code else str(message)


def recorded_granularity(raw: Any) -> str | None:
    """The granularity a collection run asked for, as it recorded it in the raw answer
    (:data:`GRANULARITY_KEY`); None when the answer records none (lines, the default)."""
    value = raw.get(GRANULARITY_KEY) if isinstance(raw, Mapping) else None
    if value is not None and value not in GRANULARITIES:
        raise ResponseFormatError(f"{GRANULARITY_KEY} is {value!r}: expected one of {', '.join(GRANULARITIES)}")
    return value


def record_granularity(raw: Any, granularity: str) -> Any:
    """``raw`` as a run at ``granularity`` stores it: a copy of an analyze answer that records
    ``"benchGranularity": "word"`` when words were asked for; lines (the default) and any other
    answer are left as they are. So re-reading a raw results file gives the items the run gave."""
    if granularity == DEFAULT_GRANULARITY or not isinstance(raw, Mapping) or "analyzeResult" not in raw:
        return raw
    return {**raw, GRANULARITY_KEY: granularity}


def parse(raw: Any, granularity: str | None = None) -> ImageResult:
    """An analyze operation (or bare analyze result) -> the first page's lines (or words) as items.

    ``granularity`` None: what the raw answer records (:func:`record_granularity`), else lines.
    """
    if granularity is not None and granularity not in GRANULARITIES:
        raise ValueError(f"granularity {granularity!r}: use one of {', '.join(GRANULARITIES)}")
    if not isinstance(raw, Mapping):
        raise ResponseFormatError(f"expected a JSON object, got {type(raw).__name__}")
    granularity = granularity or recorded_granularity(raw) or DEFAULT_GRANULARITY
    if "analyzeResult" not in raw and "error" in raw:
        return ImageResult.failed(f"Azure error {_error_reason(raw['error'])}")
    status = raw.get("status")
    if status is not None and status != "succeeded":
        return ImageResult.failed(f"Azure analysis {status}: no result")
    result = raw.get("analyzeResult", raw)
    if not isinstance(result, Mapping) or not isinstance(result.get("pages"), list):
        raise ResponseFormatError("no 'analyzeResult.pages' list in the answer")
    pages = result["pages"]
    if not pages:
        return ImageResult.ok([])
    page = pages[0]  # one image is one page
    if not isinstance(page, Mapping):
        raise ResponseFormatError("pages[0] is not an object")
    unit = page.get("unit", "pixel")
    if unit != "pixel":
        raise ResponseFormatError(f"pages[0].unit is {unit!r}: polygons are not image pixels")
    key = "lines" if granularity == "line" else "words"
    entries = page.get(key, [])
    if not isinstance(entries, list):
        raise ResponseFormatError(f"pages[0].{key} is not a list")
    items = []
    for k, entry in enumerate(entries):
        what = f"pages[0].{key}[{k}]"
        if not isinstance(entry, Mapping):
            raise ResponseFormatError(f"{what} is not an object")
        text = entry.get("content", "")
        if not isinstance(text, str):
            raise ResponseFormatError(f"{what}.content is not a string")
        polygon = entry.get("polygon")
        items.append(Item(
            polygon=None if polygon is None else _polygon(polygon, f"{what}.polygon"),
            text=text,
            confidence=unit_confidence(entry.get("confidence"), f"{what}.confidence") if key == "words" else None,
            granularity=granularity,
        ))
    return ImageResult.ok(items, width=_size(page.get("width")), height=_size(page.get("height")))


def parse_words(raw: Any) -> ImageResult:
    """:func:`parse` at word granularity (one item per Azure "word": a syllable in Korean)."""
    return parse(raw, "word")


# --- request building and answer classification (bench collect) ---------------------------------

from adapters.core.images import ImagePolicy, PreparedImage
from adapters.core.pricing import Price
from adapters.providers.base import (Attempt, Gate, HttpAnswer, HttpProvider, HttpRequest, Outcome, Verdict,
                                     transport_verdict, by_status, header, json_body, parse_retry_after,
                                     short_message, unparseable)

# Read takes JPEG, PNG, BMP, TIFF, HEIF (and PDF, Office); WebP is re-encoded to PNG. Images must
# be 50 to 10,000 pixels a side. Documents may be 500 MB (S0) but only 4 MB on the free tier F0,
# which then answers 400: use a paid resource or small images.
MAX_SIDE = 10_000
POLICY = ImagePolicy(formats=frozenset({"jpg", "png", "bmp", "tiff"}), max_side=MAX_SIDE)

PRICE = Price(
    provider=NAME, unit="page", krw_per_1000=None, usd_per_1000=None,
    free_quota="free tier F0: 500 pages per month, first 2 pages of each document",
    source="https://azure.microsoft.com/pricing/details/ai-document-intelligence/; "
           "https://learn.microsoft.com/azure/ai-services/document-intelligence/service-limits",
    checked="2026-12-01",
    note="the Read price per 1,000 pages was not visible in the copies found; billing is per page "
         "analysed (one image = one page)",
)

_TRANSIENT_CODES = {"InternalServerError", "ServiceUnavailable", "Timeout", "GatewayTimeout", "500", "503", "504"}
_QUOTA_TEXT = re.compile(r"out of call volume quota|quota.*(exceeded|exhausted)", re.IGNORECASE)
MIN_POLL_SECONDS = 0.05  # a Retry-After of 0 must not turn polling into a busy loop


def analyze_url(endpoint: str, locale: str | None = None) -> str:
    """The ``:analyze`` URL of ``prebuilt-read`` under ``endpoint`` (``https://NAME.cognitiveservices.azure.com``)."""
    query = {"api-version": API_VERSION}
    if locale:
        query["locale"] = locale
    return endpoint.rstrip("/") + ANALYZE_PATH + "?" + urlencode(query)


def build_request(image: PreparedImage, endpoint: str, secret: str, locale: str | None = None) -> HttpRequest:
    """The POST that starts an analysis: ``{"base64Source": ...}`` with the key header."""
    body = json.dumps({"base64Source": base64.b64encode(image.data).decode("ascii")}).encode("utf-8")
    headers = {KEY_HEADER: secret, "Content-Type": "application/json"}
    return HttpRequest(analyze_url(endpoint, locale), headers, body)


def build_poll(operation_location: str, secret: str) -> HttpRequest:
    """The GET that asks for the result (an :class:`HttpRequest` with an empty body)."""
    return HttpRequest(operation_location, {KEY_HEADER: secret}, b"")


def operation_location(answer: HttpAnswer) -> str | None:
    """The ``Operation-Location`` of a 202 answer, None when missing."""
    value = header(answer, "Operation-Location")
    return value.strip() if value and value.strip() else None


def same_origin(url: str, other: str) -> bool:
    """True when both URLs have the same scheme, host and port (the key may be sent to ``url``)."""
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme.lower(), a.hostname, a.port) == (b.scheme.lower(), b.hostname, b.port)


def poll_delay(answer: HttpAnswer, default: float = DEFAULT_POLL_SECONDS) -> float:
    """Seconds to wait before the next poll: ``Retry-After``, else ``default``."""
    value = parse_retry_after(header(answer, "Retry-After"))
    return max(MIN_POLL_SECONDS, default if value is None else value)


def is_running(answer: HttpAnswer) -> bool:
    """A 200 poll answer whose analysis is not finished yet."""
    if answer.status != 200:
        return False
    ok, body = json_body(answer)
    return ok and isinstance(body, Mapping) and body.get("status") in RUNNING


def _error_verdict(answer: HttpAnswer, body: Any, error: Mapping[str, Any]) -> Verdict:
    code = str(error.get("code", ""))
    inner = error.get("innererror")
    inner_code = str(inner.get("code", "")) if isinstance(inner, Mapping) else ""
    message = short_message((inner.get("message") if isinstance(inner, Mapping) and inner.get("message")
                             else error.get("message", "")))
    label = "Azure " + "/".join(part for part in (code, inner_code) if part)
    status = answer.status
    if _QUOTA_TEXT.search(str(error.get("message", ""))) and status in (403, 429):
        return Verdict(Outcome.QUOTA, label, message, body=body)
    if status == 429 or code == "429":
        return Verdict(Outcome.RATE_LIMITED, label, message, parse_retry_after(header(answer, "Retry-After")), body)
    if status in (401, 403) or code in ("401", "403", "Unauthorized", "PermissionDenied", "Forbidden"):
        return Verdict(Outcome.AUTH, label, message, body=body)
    if status == 404:
        return Verdict(Outcome.AUTH, label, message or "no API at this URL: check AZURE_DI_ENDPOINT", body=body)
    if status >= 500 or code in _TRANSIENT_CODES or inner_code in _TRANSIENT_CODES:
        return Verdict(Outcome.TRANSIENT, label, message, body=body)
    return Verdict(Outcome.PERMANENT, label, message, body=body)


def classify(answer: HttpAnswer) -> Verdict:
    """Verdict on one Azure answer: a POST error, or a poll answer (``succeeded`` is the success).

    A ``202`` or a still-running poll is not a result: it is reported as transient, which is what
    the collector should conclude if polling had to stop there.
    """
    if answer.status == 202:
        return Verdict(Outcome.TRANSIENT, "accepted", "the analysis was accepted but no result was fetched")
    ok, body = json_body(answer)
    if not ok:
        if answer.status == 404:
            return Verdict(Outcome.AUTH, "HTTP 404", "no API at this URL: check AZURE_DI_ENDPOINT")
        return unparseable(answer)
    if not isinstance(body, Mapping):
        return by_status(answer, body, "unexpected_response", "a JSON answer that is not an object")
    status = body.get("status")
    if answer.status == 200 and status in STATES:
        if status == "succeeded":
            if isinstance(body.get("analyzeResult"), Mapping):
                return Verdict(Outcome.SUCCESS, body=body)
            return Verdict(Outcome.PERMANENT, "unexpected_response", "succeeded without an analyzeResult", body=body)
        if status in RUNNING:
            return Verdict(Outcome.TRANSIENT, f"Azure {status}", "the analysis has not finished", body=body)
        if status == "canceled":
            return Verdict(Outcome.PERMANENT, "Azure canceled", "the analysis was canceled", body=body)
        error = body.get("error")
        if isinstance(error, Mapping):
            return _error_verdict(answer, body, error)
        return Verdict(Outcome.PERMANENT, "Azure failed", "the analysis failed without an error object", body=body)
    error = body.get("error")
    if isinstance(error, Mapping):
        return _error_verdict(answer, body, error)
    if answer.status == 404:
        return Verdict(Outcome.AUTH, "HTTP 404", "no API at this URL: check AZURE_DI_ENDPOINT", body=body)
    if answer.status == 200 and isinstance(body.get("pages"), list):
        return Verdict(Outcome.SUCCESS, body=body)  # a bare analyzeResult
    return by_status(answer, body, "" if answer.status != 200 else "unexpected_response",
                     "" if answer.status != 200 else "no 'status' / 'analyzeResult' in a 200 answer")


def _reveal(secret: Any) -> str:
    reveal = getattr(secret, "reveal", None)
    return reveal() if callable(reveal) else str(secret)


class AzureProvider(HttpProvider):
    """POST ``:analyze`` after the gate, then poll ``Operation-Location`` until the analysis ends.

    Reuses :class:`HttpProvider`'s session per thread, ``restore`` (with :func:`scale_boxes`),
    ``parse`` and ``close``; only
    :meth:`send` differs. Each poll honours ``Retry-After`` (default 1 s); the whole attempt is
    bounded by ``timeout``, and its latency runs from the POST to the final answer. Only the POST
    takes a rate-limit token: polls are free reads with their own, much higher service limit.
    The key is only ever sent to the endpoint's own host: an ``Operation-Location`` elsewhere is
    refused.
    """

    def __init__(self, endpoint: str, secret: Any, granularity: str = DEFAULT_GRANULARITY,
                 locale: str | None = None, policy: ImagePolicy = POLICY, pool_size: int = 16,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.perf_counter) -> None:
        if granularity not in GRANULARITIES:
            raise ValueError(f"granularity {granularity!r}: use one of {', '.join(GRANULARITIES)}")
        self._endpoint = endpoint
        self._secret = secret
        self.granularity = granularity
        self._sleep, self._clock = sleep, clock

        def build(image: PreparedImage) -> HttpRequest:
            return build_request(image, endpoint, _reveal(secret), locale)

        def parse_at(raw: Any) -> ImageResult:
            return parse(raw, granularity)

        super().__init__(NAME, build, classify, policy, restore=scale_boxes, pool_size=pool_size, parse=parse_at)

    def restore(self, raw: Any, scale: tuple[float, float]) -> Any:
        """Boxes scaled back (:func:`scale_boxes`), and the granularity recorded when it is words."""
        return record_granularity(super().restore(raw, scale), self.granularity)

    def send(self, image: PreparedImage, timeout: float, gate: Gate) -> Attempt | None:
        request = self.build(image)
        session = self.session()
        if not gate():
            return None
        start = self._clock()
        deadline = start + timeout
        verdict = self._run(session, request, timeout, deadline)
        return Attempt(verdict, (self._clock() - start) * 1000.0, len(request.body))

    def _run(self, session: requests.Session, request: HttpRequest, timeout: float, deadline: float) -> Verdict:
        import requests  # here, not at the top: every command imports the providers, few send anything

        try:
            response = session.post(request.url, data=request.body, headers=dict(request.headers),
                                    timeout=(min(timeout, 10.0), timeout), allow_redirects=False)
            answer = HttpAnswer(response.status_code, dict(response.headers), response.content)
        except requests.RequestException as exc:
            return transport_verdict(exc)
        if answer.status != 202:
            return classify(answer)
        location = operation_location(answer)
        if location is None:
            return Verdict(Outcome.PERMANENT, "no_operation_location", "202 Accepted without an Operation-Location")
        if not same_origin(location, request.url):
            return Verdict(Outcome.PERMANENT, "foreign_operation_location",
                           "Operation-Location is on another host; the key is not sent there")
        poll = build_poll(location, _reveal(self._secret))
        wait = poll_delay(answer)
        while True:
            if self._clock() + wait >= deadline:
                return Verdict(Outcome.TRANSIENT, "timeout", f"the analysis did not finish within {timeout:g} s")
            self._sleep(wait)
            remaining = max(0.001, deadline - self._clock())
            try:
                response = session.get(poll.url, headers=dict(poll.headers),
                                       timeout=(min(remaining, 10.0), remaining), allow_redirects=False)
                answer = HttpAnswer(response.status_code, dict(response.headers), response.content)
            except requests.RequestException as exc:
                return transport_verdict(exc)
            if is_running(answer) or (answer.status == 429 and classify(answer).outcome is Outcome.RATE_LIMITED):
                wait = poll_delay(answer)  # not finished, or polling too fast: ask again later
                continue
            return classify(answer)


# --- emulation: what a loopback Document Intelligence speaks ------------------------------------

from adapters.providers.registry import EmulatedRequest, RequestRejected


def _error(code: str, message: str, inner: tuple[str, str] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if inner is not None:
        error["innererror"] = {"code": inner[0], "message": inner[1]}
    return {"error": error}


# kind -> (HTTP status, error code, message, innererror). The InvalidRequest / InvalidContent texts
# and the gateway's 401 and F0-quota texts are the documented or recorded ones; the rest is our
# wording in the documented shape.
ERRORS: dict[str, tuple[int, str, str, tuple[str, str] | None]] = {
    "url": (404, "404", "Resource not found.", None),
    "auth": (401, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
                         "provide a valid key for an active subscription and use a correct regional API endpoint "
                         "for your resource.", None),
    "body": (400, "InvalidRequest", "Invalid request.", ("InvalidParameter", "The request body is invalid.")),
    "bad_image": (400, "InvalidRequest", "Invalid request.",
                  ("InvalidContent", "The file format is unsupported or corrupted. Refer to documentation for the "
                                     "list of supported formats.")),
    "quota": (403, "403", "Out of call volume quota for FormRecognizer F0 pricing tier. Please retry after 1 day. "
                          "To increase your call volume switch to a paid tier.", None),
    "rate_limit": (429, "429", "Requests to the analyze operation have exceeded the rate limit of your pricing "
                               "tier. Please retry after the time in Retry-After.", None),
    "method": (405, "MethodNotAllowed", "The requested HTTP method is not allowed.", None),
    "too_large": (400, "InvalidRequest", "Invalid request.",
                  ("InvalidContentLength", "The input document is too large.")),
    "server": (500, "InternalServerError", "An unexpected error occurred.", None),
    "unavailable": (503, "ServiceUnavailable", "A transient error has occurred. Try again.", None),
}


def render_error(kind: str, detail: str = "") -> tuple[int, dict[str, Any]]:
    """``(status, body)`` of the emulated error of ``kind`` (for the POST or a GET)."""
    status, code, message, inner = ERRORS[kind]
    if inner is not None:
        inner = (inner[0], f"{inner[1]} {detail}".strip())
        return status, _error(code, message, inner)
    return status, _error(code, f"{message} {detail}".strip())


def authorized(headers: Mapping[str, str], secret: str) -> bool:
    """``Ocp-Apim-Subscription-Key: <secret>``, compared in constant time."""
    for name, value in headers.items():
        if name.lower() == KEY_HEADER.lower():
            return hmac.compare_digest((value or "").strip().encode("utf-8"), secret.encode("utf-8"))
    return False


def _header_value(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value or ""
    return ""


def parse_emulated_request(headers: Mapping[str, str], body: bytes) -> EmulatedRequest:
    """Validate one ``:analyze`` POST body; never raises. No file name travels, so ``stem`` stays empty.

    The query (``api-version``) is not part of the body: check it with :func:`check_analyze_query`.
    """
    request = EmulatedRequest()
    try:
        content_type = _header_value(headers, "Content-Type").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise RequestRejected("body", f"Content-Type {content_type or 'missing'!r}: send application/json "
                                          "with base64Source (raw bytes are not emulated)")
        try:
            message = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RequestRejected("body", "the body is not JSON") from None
        if not isinstance(message, Mapping):
            raise RequestRejected("body", "the body must be a JSON object")
        source = message.get("base64Source")
        if source is None:
            if message.get("urlSource") is not None:
                raise RequestRejected("body", "urlSource: the emulator never fetches documents; send base64Source")
            raise RequestRejected("body", "base64Source is required")
        if not isinstance(source, str):
            raise RequestRejected("body", "base64Source must be a base64 string")
        try:
            request.data = base64.b64decode(source, validate=True)
        except (binascii.Error, ValueError):
            raise RequestRejected("body", "base64Source is not valid base64") from None
        if not request.data:
            raise RequestRejected("body", "base64Source is empty")
    except RequestRejected as exc:
        request.invalid = exc
    return request


def check_analyze_query(query: Mapping[str, str]) -> RequestRejected | None:
    """The ``:analyze`` query must name ``api-version=2024-11-30``; None when it does."""
    version = query.get("api-version")
    if version != API_VERSION:
        return RequestRejected("body", f"api-version {version!r}: this emulator speaks {API_VERSION}")
    return None


def new_result_id() -> str:
    return str(uuid.uuid4())


def operation_url(base_url: str, result_id: str) -> str:
    """``Operation-Location`` for ``result_id`` under ``base_url`` (``http://127.0.0.1:PORT``)."""
    return (base_url.rstrip("/") + RESULTS_PATH + quote(result_id, safe="") + "?"
            + urlencode({"api-version": API_VERSION}))


def result_id_from_path(path: str) -> str | None:
    """The result id of a poll path (``.../analyzeResults/{id}?api-version=...``), None for other paths."""
    route = urlsplit(path).path
    if not route.startswith(RESULTS_PATH):
        return None
    rest = route[len(RESULTS_PATH):]
    return rest if rest and "/" not in rest else None


def render_accepted(base_url: str, result_id: str, retry_after: float | None = None) -> tuple[int, dict[str, str]]:
    """``(202, headers)`` that accept an analysis: ``Operation-Location`` (and ``Retry-After`` if given)."""
    headers = {"Operation-Location": operation_url(base_url, result_id), "apim-request-id": result_id}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return 202, headers


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _syllable_runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of Azure-like "words": each Hangul syllable alone, other runs split at spaces."""
    runs: list[tuple[int, int]] = []
    start = None
    for k, char in enumerate(text):
        hangul = "HANGUL SYLLABLE" in unicodedata.name(char, "")
        if char.isspace() or hangul:
            if start is not None:
                runs.append((start, k))
                start = None
            if hangul:
                runs.append((k, k + 1))
        elif start is None:
            start = k
    if start is not None:
        runs.append((start, len(text)))
    return runs


def _quad(polygon: Sequence[Point]) -> list[Point]:
    if len(polygon) == 4:
        return list(polygon)
    xs, ys = [x for x, _ in polygon], [y for _, y in polygon]
    return [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]


def _slice(quad: Sequence[Point], a: float, b: float) -> list[Point]:
    """The part of a line quad (TL, TR, BR, BL) between fractions ``a`` and ``b`` of its length."""
    (tlx, tly), (trx, try_), (brx, bry), (blx, bly) = quad

    def top(t: float) -> Point:
        return tlx + (trx - tlx) * t, tly + (try_ - tly) * t

    def bottom(t: float) -> Point:
        return blx + (brx - blx) * t, bly + (bry - bly) * t

    return [top(a), top(b), bottom(b), bottom(a)]


def _flat(points: Sequence[Point]) -> list[float]:
    return [round(float(v), 2) for point in points for v in point]


def render_success(items: Sequence[Item], request: EmulatedRequest | None = None, width: int | None = None,
                   height: int | None = None) -> dict[str, Any]:
    """A ``succeeded`` poll answer: each item is a line; its words are cut the way Azure cuts Korean
    (one per syllable, other runs at spaces) with polygons interpolated along the line."""
    content_parts: list[str] = []
    lines, words = [], []
    offset = 0
    for item in items:
        if item.polygon is None:
            continue  # Azure lines always carry a polygon
        quad = _quad(item.polygon)
        text = item.text.replace("\n", " ")
        lines.append({"content": text, "polygon": _flat(quad), "spans": [{"offset": offset, "length": len(text)}]})
        runs = _syllable_runs(text)
        for start, end in runs:
            length = max(1, len(text))
            words.append({"content": text[start:end], "polygon": _flat(_slice(quad, start / length, end / length)),
                          "confidence": 1.0 if item.confidence is None else round(float(item.confidence), 3),
                          "span": {"offset": offset + start, "length": end - start}})
        content_parts.append(text)
        offset += len(text) + 1
    content = "\n".join(content_parts)
    page: dict[str, Any] = {"pageNumber": 1, "angle": 0}
    if width and height:
        page.update(width=width, height=height)
    page.update(unit="pixel", words=words, lines=lines, spans=[{"offset": 0, "length": len(content)}])
    now = _now()
    return {"status": "succeeded", "createdDateTime": now, "lastUpdatedDateTime": now,
            "analyzeResult": {"apiVersion": API_VERSION, "modelId": MODEL_ID, "stringIndexType": "textElements",
                              "content": content, "pages": [page], "styles": [], "contentFormat": "text"}}


def render_poll(state: str, items: Sequence[Item] = (), width: int | None = None, height: int | None = None,
                error_kind: str = "server", detail: str = "") -> tuple[int, dict[str, Any]]:
    """``(200, body)`` of a poll in ``state``: ``notStarted`` / ``running`` / ``succeeded`` (with the
    items) / ``failed`` (with the error of ``error_kind``, as Azure reports a failed analysis)."""
    if state == "succeeded":
        return 200, render_success(items, width=width, height=height)
    now = _now()
    if state in RUNNING:
        return 200, {"status": state, "createdDateTime": now, "lastUpdatedDateTime": now}
    if state == "failed":
        _status, error = render_error(error_kind, detail)
        return 200, {"status": "failed", "createdDateTime": now, "lastUpdatedDateTime": now, **error}
    raise ValueError(f"state {state!r}: use notStarted, running, succeeded or failed")


# --- scale-back (bench collect) ---------------------------------------------------------------

def _scaled_flat(values: Any, fx: float, fy: float) -> Any:
    if not isinstance(values, list) or len(values) % 2 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return values
    return [round(v * (fx if k % 2 == 0 else fy), 2) for k, v in enumerate(values)]


def _scaled_entries(entries: Any, fx: float, fy: float) -> Any:
    if not isinstance(entries, list):
        return entries
    return [{**entry, "polygon": _scaled_flat(entry["polygon"], fx, fy)}
            if isinstance(entry, Mapping) and "polygon" in entry else entry for entry in entries]


def scale_boxes(raw: Any, scale: tuple[float, float]) -> Any:
    """A copy of an analyze answer in the original image's pixels: polygons of words, lines and
    paragraph regions times ``scale`` (sent -> original), page sizes set to the original size."""
    if not isinstance(raw, Mapping):
        return raw
    result = raw.get("analyzeResult", raw)
    if not isinstance(result, Mapping) or not isinstance(result.get("pages"), list):
        return raw
    fx, fy = scale
    pages = []
    for page in result["pages"]:
        if isinstance(page, Mapping) and page.get("unit", "pixel") == "pixel":
            page = dict(page)
            for key, factor in (("width", fx), ("height", fy)):
                value = page.get(key)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    page[key] = int(round(value * factor))
            page["words"] = _scaled_entries(page.get("words"), fx, fy)
            page["lines"] = _scaled_entries(page.get("lines"), fx, fy)
        pages.append(page)
    scaled: dict[str, Any] = {**result, "pages": pages}
    if isinstance(result.get("paragraphs"), list):
        scaled["paragraphs"] = [
            {**p, "boundingRegions": [{**r, "polygon": _scaled_flat(r.get("polygon"), fx, fy)}
                                      if isinstance(r, Mapping) else r for r in p["boundingRegions"]]}
            if isinstance(p, Mapping) and isinstance(p.get("boundingRegions"), list) else p
            for p in result["paragraphs"]]
    return {**raw, "analyzeResult": scaled} if "analyzeResult" in raw else scaled


# --- the registry entry ---------------------------------------------------------------------------

from adapters.core.credentials import ProviderConfig
from adapters.providers.registry import WEB, Emulation, Polling, ProviderSpec, Settings


def make(config: ProviderConfig, settings: Settings) -> AzureProvider:
    """The collecting provider: POST then poll, lines (or words) as items; the key stays wrapped
    until a request is built."""
    assert config.url is not None and config.secret is not None  # load_config guarantees both
    return AzureProvider(config.url, config.secret, settings.get("granularity", DEFAULT_GRANULARITY), settings.lang,
                         pool_size=settings.pool_size)


def _failed_analysis(request: EmulatedRequest, reason: str) -> tuple[int, dict[str, Any]]:
    """An unreadable image: the analysis is accepted, then fails with InvalidContent."""
    return render_poll("failed", error_kind="bad_image", detail=reason)


PROVIDER = ProviderSpec(
    name=NAME,
    title="Azure Document Intelligence",
    kind=WEB,
    looks_like=looks_like,
    parse=parse,
    make=make,
    price=PRICE,
    url_variable=URL_VARIABLE,
    secret_variable=SECRET_VARIABLE,
    setup_help=f"{URL_VARIABLE} (https://<resource>.cognitiveservices.azure.com) and {SECRET_VARIABLE}",
    options=("granularity", "lang"),
    option_help={"granularity": f"one item per {' or per '.join(GRANULARITIES)} (a Korean word is one syllable) "
                                f"[default: {DEFAULT_GRANULARITY}]",
                 "lang": "the locale hint (e.g. ko) [default: detected]"},
    defaults={"granularity": DEFAULT_GRANULARITY},
    choices={"granularity": GRANULARITIES},
    emulation=Emulation(path=ANALYZE_PATH, parse_request=parse_emulated_request, success=render_success,
                        error=render_error, authorized=authorized, image_error=_failed_analysis, client_path="",
                        check_query=check_analyze_query, sends_name=False,
                        polling=Polling(accepted=render_accepted, result_id=result_id_from_path,
                                        running=lambda: render_poll("running"))),
    order=46,
)
