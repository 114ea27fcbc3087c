"""Any OpenAI-compatible chat API (OpenAI, Gemini's compatible endpoint, vLLM, Ollama) used as an OCR.

Wire format (OpenAI API reference, "Create chat completion", and the vision guide): ``POST
{base}/chat/completions`` with ``Authorization: Bearer <key>`` and ``{"model", "temperature": 0,
"messages": [{"role": "user", "content": [{"type": "text", "text": <prompt>}, {"type":
"image_url", "image_url": {"url": "data:image/png;base64,..."}}]}]}``. The answer is
``{"id", "object": "chat.completion", "created", "model", "choices": [{"index", "message":
{"role": "assistant", "content"}, "finish_reason"}], "usage": {"prompt_tokens",
"completion_tokens", "total_tokens"}}``; ``usage`` stays in the raw answer for cost.

The model is asked (:data:`DEFAULT_PROMPT`) for every line of text, one per output line, in
reading order, and nothing else, so each non-empty line of ``choices[0].message.content`` is one
item: granularity ``line``, no geometry (``polygon=None``), no confidence. A reply wrapped in a
Markdown code fence is unwrapped first.

Errors are ``{"error": {"message", "type", "param", "code"}}`` (OpenAI's error-codes guide):
``insufficient_quota`` means the money ran out (QUOTA: the run stops), ``rate_limit_exceeded`` /
HTTP 429 is a rate limit, ``invalid_api_key`` / HTTP 401 is AUTH. Compatible servers vary: vLLM
has answered ``{"object": "error", "message", "type", "code": <int>}`` and Gemini's endpoint
wraps Google errors in a list (``[{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}]``);
both are read too.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence  # the ABCs: isinstance is 3x faster than with typing's aliases
from typing import Any

from adapters.core.schema import ImageResult, Item
from adapters.providers.response_fields import ResponseFormatError

NAME = "openai"
URL_VARIABLE = "OPENAI_BASE_URL"
SECRET_VARIABLE = "OPENAI_API_KEY"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
BASE_PATH = "/v1"  # what OPENAI_BASE_URL ends with
PATH = BASE_PATH + "/chat/completions"

DEFAULT_PROMPT = (
    "Transcribe all text in this image exactly as written, including Korean (Hangul), Latin letters, "
    "digits and symbols. Write one output line for each line of text in the image, in reading order "
    "(top to bottom, and left to right within a row). Output only the transcribed text: no translation, "
    "no explanation, no numbering, no Markdown or code fences. If the image has no text, output nothing."
)

_FENCE = re.compile(r"^\s*```[\w-]*[ \t]*\n(.*?)\n?```\s*$", re.DOTALL)


def _error_object(raw: Any) -> Mapping[str, Any] | None:
    """The error object of any shape a compatible server uses, None for a non-error body."""
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]  # Gemini's compatible endpoint wraps errors in a list
    if not isinstance(raw, Mapping) or "choices" in raw:
        return None
    if raw.get("object") == "error" and isinstance(raw.get("message"), str):
        return raw  # vLLM's flat error
    error = raw.get("error")
    return error if isinstance(error, Mapping) else None


def _is_openai_error(raw: Any) -> bool:
    """An OpenAI-style error: the error object has ``message`` and ``type`` (list-wrapped Google
    errors count too, since only the compatible endpoint sends them as a list)."""
    error = _error_object(raw)
    if error is None:
        return False
    if isinstance(raw, list):
        return isinstance(error.get("message"), str)
    return isinstance(error.get("message"), str) and "type" in error


def looks_like(raw: Any) -> bool:
    """True for a chat completion with choices, or an OpenAI-style error body."""
    if isinstance(raw, Mapping) and isinstance(raw.get("choices"), list):
        return raw.get("object") in ("chat.completion", None) and all(
            isinstance(choice, Mapping) and "message" in choice for choice in raw["choices"])
    return _is_openai_error(raw)


def _content_text(content: Any, what: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some servers answer with content parts
        texts = []
        for part in content:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, str):
                texts.append(part)
            else:
                raise ResponseFormatError(f"{what}: a content part without text: {part!r}")
        return "".join(texts)
    raise ResponseFormatError(f"{what}: expected a string, got {type(content).__name__}")


def reply_lines(text: str) -> list[str]:
    """The non-empty lines of a reply, stripped, with one surrounding code fence removed."""
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    return [line.strip() for line in text.splitlines() if line.strip()]


def _error_reason(error: Mapping[str, Any]) -> str:
    code = error.get("code") or error.get("type") or error.get("status") or ""
    return f"{code}: {error.get('message', '')}" if code else str(error.get("message", ""))


def parse(raw: Any) -> ImageResult:
    """A chat completion -> one line item per non-empty line of ``choices[0].message.content``."""
    error = _error_object(raw)
    if error is not None:
        return ImageResult.failed(f"chat API error {_error_reason(error)}")
    if not isinstance(raw, Mapping):
        raise ResponseFormatError(f"expected a JSON object, got {type(raw).__name__}")
    choices = raw.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ResponseFormatError("no 'choices' list in the answer")
    choice = choices[0]
    if not isinstance(choice, Mapping) or not isinstance(choice.get("message"), Mapping):
        raise ResponseFormatError("choices[0].message is not an object")
    message = choice["message"]
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal.strip():
        return ImageResult.failed(f"the model refused: {refusal.strip()[:200]}")
    if choice.get("finish_reason") == "content_filter":
        return ImageResult.failed("the reply was withheld by a content filter")
    text = _content_text(message.get("content"), "choices[0].message.content")
    return ImageResult.ok(Item(polygon=None, text=line, confidence=None, granularity="line")
                          for line in reply_lines(text))


def usage(raw: Any) -> dict[str, int]:
    """The token counts of a completion (``prompt_tokens``, ``completion_tokens``, ``total_tokens``)."""
    found = raw.get("usage") if isinstance(raw, Mapping) else None
    if not isinstance(found, Mapping):
        return {}
    return {k: v for k, v in found.items() if isinstance(v, int) and not isinstance(v, bool)}


# --- request building and answer classification (bench collect) ---------------------------------

from adapters.core.errors import ConfigError
from adapters.core.images import ImagePolicy, PreparedImage
from adapters.core.pricing import INPUT_TOKENS, OUTPUT_TOKENS, Meter, Price
from adapters.providers.base import (HttpAnswer, HttpRequest, Outcome, Verdict, by_status, header, json_body,
                                     parse_retry_after, short_message, unparseable)

# OpenAI takes PNG, JPEG, WebP (and non-animated GIF) images up to 20 MB; other formats go as PNG.
MAX_BYTES = 20 * 1024 * 1024
POLICY = ImagePolicy(formats=frozenset({"jpg", "png", "webp"}), max_bytes=MAX_BYTES)

PRICE = Price(
    provider=NAME, unit="tokens (per model)", krw_per_1000=None, usd_per_1000=None, free_quota="n/a",
    source="https://openai.com/api/pricing/ (or the compatible server's own price list)",
    checked="2026-12-01",
    note="the cost depends on the model and on how many tokens each image takes; every raw answer "
         "keeps usage.prompt_tokens and usage.completion_tokens, so cost = tokens x the model's price",
)


def billed_tokens(raw: Any) -> dict[str, int]:
    """The input and output tokens an answer was billed for (``usage``), empty when it records none."""
    counts = usage(raw)
    if "prompt_tokens" not in counts or "completion_tokens" not in counts:
        return {}
    return {INPUT_TOKENS: counts["prompt_tokens"], OUTPUT_TOKENS: counts["completion_tokens"]}


_RETRY_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def chat_url(base_url: str) -> str:
    """``{base}/chat/completions`` (``base`` like ``https://api.openai.com/v1``)."""
    return base_url.rstrip("/") + "/chat/completions"


def image_data_url(image: PreparedImage) -> str:
    return f"data:{image.mime_type};base64,{base64.b64encode(image.data).decode('ascii')}"


def build_request(image: PreparedImage, base_url: str, secret: str | None, model: str,
                  prompt: str = DEFAULT_PROMPT) -> HttpRequest:
    """One user message (prompt + the image as a ``data:`` URL), temperature 0; no key header without a key."""
    if not model or not model.strip():
        raise ConfigError("the openai provider needs a model (option model=...)")
    body = {
        "model": model.strip(),
        "temperature": 0,
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": prompt},
            {"type": "image_url", "image_url": {"url": image_data_url(image)}},
        ]}],
    }
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    return HttpRequest(chat_url(base_url), headers, json.dumps(body, ensure_ascii=False).encode("utf-8"))


def _retry_after(answer: HttpAnswer, error: Mapping[str, Any]) -> float | None:
    """``Retry-After``, else OpenAI's ``retry-after-ms``, else a Google ``RetryInfo`` delay."""
    seconds = parse_retry_after(header(answer, "Retry-After"))
    if seconds is not None:
        return seconds
    millis = header(answer, "retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    for detail in error.get("details") or ():
        # Gemini's compatible endpoint: type.googleapis.com/google.rpc.RetryInfo
        if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith(".rpc.RetryInfo"):
            match = _RETRY_DELAY.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _error_verdict(answer: HttpAnswer, body: Any, error: Mapping[str, Any]) -> Verdict:
    code = error.get("code")
    kind = error.get("type") or error.get("status") or ""
    code_text = "" if code is None or isinstance(code, int) else str(code)
    label = "chat API " + (code_text or str(kind) or f"HTTP {answer.status}")
    message = short_message(error.get("message", ""))
    status = answer.status
    if "insufficient_quota" in (code_text, kind):
        return Verdict(Outcome.QUOTA, label, message or "quota exhausted", body=body)
    if code_text == "invalid_api_key" or status == 401 or kind in ("authentication_error", "UNAUTHENTICATED"):
        return Verdict(Outcome.AUTH, label, message or "credentials rejected", body=body)
    if status == 429 or code_text == "rate_limit_exceeded" or kind in ("rate_limit_error", "RESOURCE_EXHAUSTED"):
        return Verdict(Outcome.RATE_LIMITED, label, message or "too many requests", _retry_after(answer, error),
                       body)
    if status == 403 or kind == "PERMISSION_DENIED":
        return Verdict(Outcome.AUTH, label, message or "not allowed", body=body)
    if status == 404 or code_text == "model_not_found":
        return Verdict(Outcome.AUTH, label, message or "no such model or URL: check OPENAI_BASE_URL and the model",
                       body=body)
    if status >= 500 or kind in ("server_error", "INTERNAL", "UNAVAILABLE"):
        return Verdict(Outcome.TRANSIENT, label, message or "server error", body=body)
    return Verdict(Outcome.PERMANENT, label, message or "request rejected", body=body)


def classify(answer: HttpAnswer) -> Verdict:
    """Chat API answer -> verdict, from the error's ``code`` / ``type`` first, then the status."""
    ok, body = json_body(answer)
    if not ok:
        if answer.status == 404:
            return Verdict(Outcome.AUTH, "HTTP 404", "no API at this URL: check OPENAI_BASE_URL")
        return unparseable(answer)
    error = _error_object(body)
    if error is not None:
        return _error_verdict(answer, body, error)
    if answer.status != 200:
        return by_status(answer, body)
    choices = body.get("choices") if isinstance(body, Mapping) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping) \
            or not isinstance(choices[0].get("message"), Mapping):
        return by_status(answer, body, "unexpected_response", "no choices[0].message in a 200 answer")
    if choices[0].get("finish_reason") == "content_filter":
        return Verdict(Outcome.PERMANENT, "content_filter", "the reply was withheld by a content filter", body=body)
    return Verdict(Outcome.SUCCESS, body=body)


# --- emulation: what a loopback OpenAI-compatible server speaks ---------------------------------

from adapters.providers.registry import EmulatedRequest, RequestRejected

# kind -> (HTTP status, message, type, code). The auth, quota, rate-limit, server and overload
# messages are OpenAI's documented ones; the rest is our wording in OpenAI's shape.
ERRORS: dict[str, tuple[int, str, str, str | None]] = {
    "url": (404, "Invalid URL.", "invalid_request_error", None),
    "auth": (401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    "body": (400, "The request body is invalid.", "invalid_request_error", None),
    "bad_image": (400, "You uploaded an unsupported image. Please make sure your image is valid.",
                  "invalid_request_error", "invalid_image"),
    "quota": (429, "You exceeded your current quota, please check your plan and billing details.",
              "insufficient_quota", "insufficient_quota"),
    "rate_limit": (429, "Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
    "method": (405, "Method not allowed; use POST.", "invalid_request_error", None),
    "too_large": (413, "The request is too large.", "invalid_request_error", None),
    "server": (500, "The server had an error while processing your request.", "server_error", None),
    "unavailable": (503, "The engine is currently overloaded, please try again later.", "server_error", None),
}


def render_error(kind: str, detail: str = "") -> tuple[int, dict[str, Any]]:
    """``(status, body)`` of the emulated error of ``kind``."""
    status, message, kind_name, code = ERRORS[kind]
    return status, {"error": {"message": f"{message} {detail}".strip(), "type": kind_name, "param": None,
                              "code": code}}


def authorized(headers: Mapping[str, str], secret: str) -> bool:
    """``Authorization: Bearer <secret>``, compared in constant time."""
    for name, value in headers.items():
        if name.lower() == "authorization":
            scheme, _, sent = (value or "").strip().partition(" ")
            return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode("utf-8"),
                                                                       secret.encode("utf-8"))
    return False


def parse_emulated_request(headers: Mapping[str, str], body: bytes) -> EmulatedRequest:
    """Validate one chat completion request with one ``data:`` image; never raises.

    No file name travels, so ``stem`` stays empty; ``echo`` keeps the model and the prompt.
    """
    request = EmulatedRequest()
    try:
        try:
            message = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RequestRejected("body", "the body is not JSON") from None
        if not isinstance(message, Mapping):
            raise RequestRejected("body", "the body must be a JSON object")
        model = message.get("model")
        if not isinstance(model, str) or not model:
            raise RequestRejected("body", "'model' is required")
        request.echo["model"] = model
        messages = message.get("messages")
        if not isinstance(messages, list) or not messages:
            raise RequestRejected("body", "'messages' must be a non-empty list")
        images, prompts = [], []
        for entry in messages:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("role"), str):
                raise RequestRejected("body", "every message needs a 'role'")
            content = entry.get("content")
            if isinstance(content, str):
                prompts.append(content)
                continue
            if not isinstance(content, list):
                raise RequestRejected("body", "message content must be a string or a list of parts")
            for part in content:
                if not isinstance(part, Mapping):
                    raise RequestRejected("body", "a content part is not an object")
                if part.get("type") == "text" and isinstance(part.get("text"), str):
                    prompts.append(part["text"])
                elif part.get("type") == "image_url":
                    image_url = part.get("image_url")
                    url = image_url.get("url") if isinstance(image_url, Mapping) else None
                    if not isinstance(url, str):
                        raise RequestRejected("body", "image_url.url must be a string")
                    images.append(url)
        if len(images) != 1:
            raise RequestRejected("body", f"expected exactly one image_url part, got {len(images)}")
        url = images[0]
        head, comma, payload = url.partition(",")
        if not url.startswith("data:") or not comma or not head.endswith(";base64"):
            raise RequestRejected("body", "the image must be a data:<type>;base64,... URL "
                                          "(the emulator never fetches URLs)")
        try:
            request.data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise RequestRejected("bad_image", "the data URL is not valid base64") from None
        request.echo["prompt"] = "\n".join(prompts)
    except RequestRejected as exc:
        request.invalid = exc
    return request


def render_success(items: Sequence[Item], request: EmulatedRequest | None = None, width: int | None = None,
                   height: int | None = None, prompt_tokens: int | None = None) -> dict[str, Any]:
    """A chat completion whose reply is the items' texts, one per line, in the order given."""
    texts = [" ".join(item.text.split()) for item in items]
    content = "\n".join(text for text in texts if text)
    model = (request.echo.get("model") if request is not None else None) or "emulated-ocr"
    completion_tokens = max(1, len(content.encode("utf-8")) // 3) if content else 1
    prompt = 1000 if prompt_tokens is None else prompt_tokens
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion_tokens,
                  "total_tokens": prompt + completion_tokens},
    }


# --- the registry entry ---------------------------------------------------------------------------

from adapters.core.credentials import ProviderConfig
from adapters.providers.base import HttpProvider
from adapters.providers.registry import WEB, Emulation, ProviderSpec, Settings


def make(config: ProviderConfig, settings: Settings) -> HttpProvider:
    """The collecting provider; without a key (a local vLLM or Ollama server) no Authorization is sent.

    A missing model is a :class:`ConfigError` here, before any request (``bench collect`` already
    refuses it through the spec's ``required``).
    """
    model, prompt = settings.get("model"), settings.get("prompt", DEFAULT_PROMPT)
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"{NAME} needs a model: give --model (e.g. gpt-4o-mini, or the model your server serves)")

    def build(image: PreparedImage) -> HttpRequest:
        assert config.url is not None  # load_config guarantees it
        return build_request(image, config.url, config.secret.reveal() if config.secret is not None else None,
                             model, prompt)
    return HttpProvider(NAME, build, classify, POLICY, pool_size=settings.pool_size, parse=parse)


PROVIDER = ProviderSpec(
    name=NAME,
    title="OpenAI-compatible chat",
    kind=WEB,
    looks_like=looks_like,
    parse=parse,
    make=make,
    price=PRICE,
    url_variable=URL_VARIABLE,
    default_url=DEFAULT_BASE_URL,
    secret_variable=SECRET_VARIABLE,
    secret_optional=True,
    setup_help=f"{SECRET_VARIABLE} (may be empty for a local server) and {URL_VARIABLE} "
               f"(default {DEFAULT_BASE_URL}); needs --model",
    options=("model", "prompt"),
    option_help={"model": "the chat model (required), e.g. gpt-4o-mini or the model a vLLM / Ollama server serves",
                 "prompt": "the instruction sent with each image [default: transcribe every line of text, "
                           "one per output line]"},
    defaults={"prompt": DEFAULT_PROMPT},
    required=("model",),
    geometry=False,
    meter=Meter((INPUT_TOKENS, OUTPUT_TOKENS), billed_tokens),
    emulation=Emulation(path=PATH, parse_request=parse_emulated_request, success=render_success,
                        error=render_error, authorized=authorized, client_path=BASE_PATH,
                        sends_name=False),
    order=48,
)
