"""OpenAI-compatible chat APIs as an OCR: the sample, edge cases, requests, verdicts and the emulator side.

Expected values of the sample are read off the JSON file itself (fixture facts).
"""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from adapters.core.errors import ConfigError
from adapters.core.schema import Item
from adapters.providers import azure, google, jenti, kakao, naver, openai, tesseract, upstage
from adapters.providers.base import Outcome
from adapters.providers.response_fields import ResponseFormatError
from provider_support import EMULATED_ERROR_OUTCOMES, answer, load, other_samples, png

SAMPLE = "openai_chat_completion_convenience_store.json"
OTHERS = (azure, google, jenti, kakao, naver, tesseract, upstage)
SECRET = "sk-test-0123456789abcdefghijklmnop"


def completion(content: Any, finish_reason: str = "stop", **message: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, **message},
                         "finish_reason": finish_reason}]}


# --- the sample -----------------------------------------------------------------------------------

def test_sample_parses_to_one_item_per_non_empty_line():
    raw = load(SAMPLE)
    result = openai.parse(raw)
    assert result.is_ok and (result.width, result.height) == (None, None)
    assert [item.text for item in result.items] == ["편의점", "24시간 영업", "담배 · 복권 판매"]
    assert {(item.polygon, item.confidence, item.granularity) for item in result.items} == {(None, None, "line")}
    assert openai.usage(raw) == {"prompt_tokens": 1163, "completion_tokens": 17, "total_tokens": 1180}


def test_sample_is_claimed_by_openai_only():
    raw = load(SAMPLE)
    assert openai.looks_like(raw)
    assert [m.NAME for m in OTHERS if m.looks_like(raw)] == []


def test_openai_claims_no_other_sample():
    assert [name for name, raw in other_samples(SAMPLE) if openai.looks_like(raw)] == []


# --- edge cases --------------------------------------------------------------------------------

def test_code_fence_is_unwrapped_and_lines_stripped():
    result = openai.parse(completion("```text\n  가나다  \r\n\n라마\n```"))
    assert [item.text for item in result.items] == ["가나다", "라마"]


def test_content_parts_and_empty_replies():
    assert [i.text for i in openai.parse(completion([{"type": "text", "text": "가\n나"}])).items] == ["가", "나"]
    assert openai.parse(completion(None)).items == ()
    assert openai.parse(completion("")).items == ()


def test_refusal_and_content_filter_are_error_results():
    assert not openai.parse(completion(None, refusal="I can't help with that.")).is_ok
    assert not openai.parse(completion("", finish_reason="content_filter")).is_ok


@pytest.mark.parametrize("raw", [
    {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}},
    {"object": "error", "message": "model not found", "type": "NotFoundError", "param": None, "code": 404},
    [{"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}],
])
def test_error_bodies_of_every_dialect_are_error_results_and_claimed(raw):
    assert not openai.parse(raw).is_ok
    assert openai.looks_like(raw)
    assert [m.NAME for m in OTHERS if m.looks_like(raw)] == []


@pytest.mark.parametrize("raw", [
    None, {}, {"choices": []}, {"choices": "x"}, {"choices": [{"message": "x"}]},
    completion(5), completion([{"type": "image"}]),
])
def test_malformed_answers_raise(raw):
    with pytest.raises(ResponseFormatError):
        openai.parse(raw)


# --- requests --------------------------------------------------------------------------------

def test_build_request_shape():
    image = png()
    request = openai.build_request(image, "http://127.0.0.1:11434/v1/", SECRET, "qwen2.5vl:7b")
    assert request.url == "http://127.0.0.1:11434/v1/chat/completions"
    assert request.headers == {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}
    body = json.loads(request.body)
    assert body["model"] == "qwen2.5vl:7b" and body["temperature"] == 0
    [message] = body["messages"]
    assert message["role"] == "user"
    text, picture = message["content"]
    assert text == {"type": "text", "text": openai.DEFAULT_PROMPT}
    head, payload = picture["image_url"]["url"].split(",", 1)
    assert head == "data:image/png;base64" and base64.b64decode(payload) == image.data
    assert SECRET not in repr(request)


def test_build_request_options():
    jpeg = png(fmt="jpg")
    body = json.loads(openai.build_request(jpeg, openai.DEFAULT_BASE_URL, "", "gpt-4o", prompt="읽어 주세요").body)
    assert body["messages"][0]["content"][0]["text"] == "읽어 주세요"
    assert body["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert "Authorization" not in openai.build_request(jpeg, openai.DEFAULT_BASE_URL, None, "m").headers
    with pytest.raises(ConfigError):
        openai.build_request(jpeg, openai.DEFAULT_BASE_URL, SECRET, "")


def test_default_prompt_asks_for_lines_in_reading_order_and_nothing_else():
    prompt = openai.DEFAULT_PROMPT.lower()
    assert "one output line" in prompt and "reading order" in prompt and "only the transcribed text" in prompt


# --- verdicts ----------------------------------------------------------------------------------

def test_success():
    assert openai.classify(answer(200, load(SAMPLE))).outcome is Outcome.SUCCESS


@pytest.mark.parametrize("kind, outcome", EMULATED_ERROR_OUTCOMES)
def test_every_emulated_error_is_classified(kind, outcome):
    status, error = openai.render_error(kind, "detail")
    assert openai.classify(answer(status, error)).outcome is outcome


def test_insufficient_quota_is_quota_whatever_the_status():
    # the recorded OpenAI body (mattvr/ShellGPT#23), with HTTP 429
    body = {"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
                      "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}}
    assert openai.classify(answer(429, body)).outcome is Outcome.QUOTA
    assert openai.classify(answer(200, body)).outcome is Outcome.QUOTA


def test_rate_limit_retry_after_sources():
    _, body = openai.render_error("rate_limit")
    assert openai.classify(answer(429, body, {"Retry-After": "3"})).retry_after == 3.0
    assert openai.classify(answer(429, body, {"retry-after-ms": "1500"})).retry_after == 1.5
    gemini = [{"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED",
                         "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "23s"}]}}]
    verdict = openai.classify(answer(429, gemini))
    assert verdict.outcome is Outcome.RATE_LIMITED and verdict.retry_after == 23.0


def test_429_without_json_is_a_rate_limit():
    verdict = openai.classify(answer(429, b"Too Many Requests", {"Retry-After": "1"}))
    assert verdict.outcome is Outcome.RATE_LIMITED and verdict.retry_after == 1.0


@pytest.mark.parametrize("status, body, outcome", [
    (401, {"error": {"message": "bad key", "type": "invalid_request_error", "code": None}}, Outcome.AUTH),
    (404, {"error": {"message": "The model `x` does not exist", "type": "invalid_request_error",
                     "code": "model_not_found"}}, Outcome.AUTH),
    (400, {"error": {"message": "too long", "type": "invalid_request_error", "code": "context_length_exceeded"}},
     Outcome.PERMANENT),
    (400, {"object": "error", "message": "bad image", "type": "BadRequestError", "param": None, "code": 400},
     Outcome.PERMANENT),
    (500, {"error": {"message": "boom", "type": "server_error", "code": None}}, Outcome.TRANSIENT),
    (502, b"<html>bad gateway</html>", Outcome.TRANSIENT),
    (403, b"", Outcome.AUTH),
])
def test_other_errors(status, body, outcome):
    assert openai.classify(answer(status, body)).outcome is outcome


def test_content_filter_and_malformed_200():
    assert openai.classify(answer(200, completion("", "content_filter"))).outcome is Outcome.PERMANENT
    assert openai.classify(answer(200, {"choices": []})).outcome is Outcome.PERMANENT


def test_cut_short_200_is_transient():
    whole = json.dumps(load(SAMPLE)).encode()
    assert openai.classify(answer(200, whole[:50])).outcome is Outcome.TRANSIENT


def test_secret_never_in_a_verdict():
    body = {"error": {"message": "Incorrect API key provided: sk-test-****mnop.", "type": "invalid_request_error",
                      "code": "invalid_api_key"}}
    for verdict in (openai.classify(answer(401, body)), openai.classify(answer(500, b"x"))):
        assert SECRET not in verdict.describe() and SECRET not in repr(verdict)


# --- emulator side -----------------------------------------------------------------------------

def test_render_success_round_trips():
    items = [Item(((0, 0), (1, 0), (1, 1), (0, 1)), "편의점", 0.9), Item(None, "24시간  영업")]
    raw = openai.render_success(items)
    assert openai.looks_like(raw) and openai.classify(answer(200, raw)).outcome is Outcome.SUCCESS
    result = openai.parse(raw)
    assert result.items == (Item(None, "편의점", None, "line"), Item(None, "24시간 영업", None, "line"))
    assert set(openai.usage(raw)) == {"prompt_tokens", "completion_tokens", "total_tokens"}


def test_error_bodies_are_claimed_by_openai_only():
    for kind in openai.ERRORS:
        _, error = openai.render_error(kind)
        assert openai.looks_like(error), kind
        assert [m.NAME for m in OTHERS if m.looks_like(error)] == [], kind


def test_parse_emulated_request_round_trip():
    image = png()
    request = openai.build_request(image, openai.DEFAULT_BASE_URL, SECRET, "gpt-4o-mini")
    parsed = openai.parse_emulated_request(request.headers, request.body)
    assert parsed.invalid is None and parsed.data == image.data and parsed.stem == ""
    assert parsed.echo == {"model": "gpt-4o-mini", "prompt": openai.DEFAULT_PROMPT}
    assert openai.render_success([Item(None, "가")], parsed)["model"] == "gpt-4o-mini"


def request_body(**changes: Any) -> bytes:
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "read"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}
    body.update(changes)
    return json.dumps(body).encode()


@pytest.mark.parametrize("body, kind, detail", [
    (b"nope", "body", "not JSON"),
    (request_body(model=""), "body", "model"),
    (request_body(messages=[]), "body", "messages"),
    (request_body(messages=[{"role": "user", "content": "just text"}]), "body", "exactly one image_url"),
    (request_body(messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]), "body", "never fetches"),
    (request_body(messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]}]), "bad_image", "base64"),
])
def test_parse_emulated_request_rejects(body, kind, detail):
    parsed = openai.parse_emulated_request({"Content-Type": "application/json"}, body)
    assert parsed.invalid is not None and parsed.invalid.kind == kind and detail in parsed.invalid.detail


def test_authorized():
    assert openai.authorized({"Authorization": f"Bearer {SECRET}"}, SECRET)
    assert not openai.authorized({"Authorization": "Bearer x"}, SECRET)
    assert not openai.authorized({}, SECRET)


def test_price_entry():
    assert openai.PRICE.provider == "openai" and openai.PRICE.checked == "2026-12-01"
    assert not openai.PRICE.known and "usage" in openai.PRICE.note
