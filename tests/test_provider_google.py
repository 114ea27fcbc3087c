"""Google Cloud Vision: the documented-format sample, edge cases, requests, verdicts and the emulator side.

Expected values of the sample are read off the JSON file itself (fixture facts).
"""
from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest

from adapters.core.schema import Item
from adapters.providers import azure, google, jenti, kakao, naver, openai, tesseract, upstage
from adapters.providers.base import Outcome
from adapters.providers.response_fields import ResponseFormatError
from provider_support import EMULATED_ERROR_OUTCOMES, answer, load, other_samples, png, quad

SAMPLE = "google_vision_document_text_station_sign.json"
OTHERS = (azure, jenti, kakao, naver, openai, tesseract, upstage)
SECRET = "AIzaSyTEST-key-0123456789abcdef"


# --- the sample -----------------------------------------------------------------------------------

def test_sample_parses_to_its_words_with_confidences():
    raw = load(SAMPLE)
    result = google.parse(raw)
    assert result.is_ok and (result.width, result.height) == (640, 360)
    # textAnnotations[0] is the whole text, not an item
    assert [item.text for item in result.items] == ["서울역", "방면", "지하철", "1호선", "출구"]
    # the left-edge word leaves out x = 0
    assert raw["responses"][0]["textAnnotations"][1]["boundingPoly"]["vertices"][0] == {"y": 38}
    assert result.items[0].polygon == quad(0, 38, 171, 38, 171, 104, 0, 104)
    assert [item.confidence for item in result.items] == pytest.approx([0.99, 0.98, 0.99, 0.97, 0.99])
    assert {item.granularity for item in result.items} == {"word"}


def test_sample_is_claimed_by_google_only():
    raw = load(SAMPLE)
    assert google.looks_like(raw)
    assert [m.NAME for m in OTHERS if m.looks_like(raw)] == []


def test_google_claims_no_other_sample():
    assert [name for name, raw in other_samples(SAMPLE) if google.looks_like(raw)] == []


# --- edge cases --------------------------------------------------------------------------------

def words(*entries: tuple[str, list[dict[str, int]]], full: Any = None) -> dict[str, Any]:
    annotations = [{"description": " ".join(t for t, _ in entries), "boundingPoly": {"vertices": [{}]}}]
    annotations += [{"description": t, "boundingPoly": {"vertices": v}} for t, v in entries]
    response: dict[str, Any] = {"textAnnotations": annotations}
    if full is not None:
        response["fullTextAnnotation"] = full
    return {"responses": [response]}


def full_text(*found: tuple[str, float | None]) -> dict[str, Any]:
    return {"pages": [{"blocks": [{"paragraphs": [{"words": [
        {"symbols": [{"text": c} for c in text], **({} if conf is None else {"confidence": conf})}
        for text, conf in found]}]}]}]}


BOX = [{"x": 1, "y": 1}, {"x": 5, "y": 1}, {"x": 5, "y": 4}, {"x": 1, "y": 4}]


def test_without_full_text_confidences_are_unknown():
    result = google.parse(words(("가", BOX), ("나", BOX)))
    assert [(i.text, i.confidence) for i in result.items] == [("가", None), ("나", None)]
    assert (result.width, result.height) == (None, None)


def test_confidences_are_matched_in_order_and_skip_missing_words():
    full = full_text(("가", 0.9), ("x", 0.1), ("나", 0.8), ("가", 0.7))
    result = google.parse(words(("가", BOX), ("나", BOX), ("가", BOX), ("다", BOX), full=full))
    assert [i.confidence for i in result.items] == [0.9, 0.8, 0.7, None]


def test_no_text_is_ok_with_no_items():
    assert google.parse({"responses": [{}]}).items == ()
    assert google.looks_like({"responses": [{}]})


def test_per_image_error_is_an_error_result():
    _, raw = google.render_image_error(None, "cannot decode")
    result = google.parse(raw)
    assert not result.is_ok and "Bad image data" in result.error


def test_request_error_is_an_error_result():
    _, raw = google.render_error("auth")
    result = google.parse(raw)
    assert not result.is_ok and "INVALID_ARGUMENT" in result.error


@pytest.mark.parametrize("raw", [
    None, [], {"responses": []}, {"responses": "x"}, {"responses": [3]},
    {"responses": [{"textAnnotations": {}}]},
    {"responses": [{"textAnnotations": [{}, {"description": 5}]}]},
    {"responses": [{"textAnnotations": [{}, {"description": "a", "boundingPoly": {"vertices": [{"x": "1"}]}}]}]},
    {"responses": [{"textAnnotations": [{}, {"description": "a", "boundingPoly": {}}]}]},
    {"responses": [{"error": "boom"}]},
    words(("a", BOX), full={"pages": "x"}),
])
def test_malformed_answers_raise(raw):
    with pytest.raises(ResponseFormatError):
        google.parse(raw)


# --- requests --------------------------------------------------------------------------------

def test_build_request_sends_text_detection_with_korean_hint_and_header_key():
    image = png()
    request = google.build_request(image, google.DEFAULT_URL, SECRET)
    assert request.url == google.DEFAULT_URL and "key=" not in request.url
    assert request.headers[google.KEY_HEADER] == SECRET
    body = json.loads(request.body)
    entry = body["requests"][0]
    assert base64.b64decode(entry["image"]["content"]) == image.data
    assert entry["features"] == [{"type": "TEXT_DETECTION"}]
    assert entry["imageContext"] == {"languageHints": ["ko"]}
    assert SECRET not in repr(request)


def test_document_feature_and_no_language_hint():
    entry = json.loads(google.build_request(png(), google.DEFAULT_URL, SECRET, feature="document", lang=None)
                       .body)["requests"][0]
    assert entry["features"] == [{"type": "DOCUMENT_TEXT_DETECTION"}] and "imageContext" not in entry
    with pytest.raises(ValueError):
        google.build_request(png(), google.DEFAULT_URL, SECRET, feature="label")


def test_key_in_query_is_hidden_from_repr():
    request = google.build_request(png(), google.DEFAULT_URL + "?alt=json", SECRET, key_in="query")
    assert request.url.endswith(f"key={SECRET}") and "alt=json" in request.url
    assert google.KEY_HEADER not in request.headers
    assert SECRET not in repr(request) and repr(request).endswith("key=***')")
    assert google.redact_url(request.url).count(SECRET) == 0


def test_key_never_reaches_the_log_when_sent_as_a_header(caplog):
    """What urllib3 logs at DEBUG is the URL; with the default header the key is not in it."""
    request = google.build_request(png(), google.DEFAULT_URL, SECRET)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("urllib3.connectionpool").debug('%s "POST %s HTTP/1.1" 200', "host", request.url)
    assert SECRET not in caplog.text


# --- verdicts ----------------------------------------------------------------------------------

def test_success():
    assert google.classify(answer(200, load(SAMPLE))).outcome is Outcome.SUCCESS
    assert google.classify(answer(200, {"responses": [{}]})).outcome is Outcome.SUCCESS


@pytest.mark.parametrize("kind, outcome", EMULATED_ERROR_OUTCOMES)
def test_every_emulated_error_is_classified(kind, outcome):
    status, error = google.render_error(kind, "detail")
    assert google.classify(answer(status, error)).outcome is outcome


def test_recorded_expired_key_answer_is_auth():
    # the shape of a recorded Vision answer (dmotz/thing-translator#27)
    error = {"error": {"code": 400, "message": "API key expired. Please renew the API key.",
                       "status": "INVALID_ARGUMENT",
                       "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                                    "domain": "googleapis.com", "metadata": {"service": "vision.googleapis.com"}}]}}
    assert google.classify(answer(400, error)).outcome is Outcome.AUTH


def test_billing_disabled_is_auth():
    error = {"error": {"code": 403, "message": "This API method requires billing to be enabled.",
                       "status": "PERMISSION_DENIED"}}
    assert google.classify(answer(403, error)).outcome is Outcome.AUTH


def test_429_is_a_rate_limit_with_retry_after_or_retry_info():
    _, error = google.render_error("rate_limit")
    verdict = google.classify(answer(429, error, {"Retry-After": "4"}))
    assert verdict.outcome is Outcome.RATE_LIMITED and verdict.retry_after == 4.0
    error["error"]["details"].append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"})
    assert google.classify(answer(429, error)).retry_after == 7.0


def test_429_without_json_is_a_rate_limit():
    verdict = google.classify(answer(429, b"", {"Retry-After": "1"}))
    assert verdict.outcome is Outcome.RATE_LIMITED and verdict.retry_after == 1.0


def test_per_image_errors():
    assert google.classify(answer(200, google.render_image_error(None, "x")[1])).outcome is Outcome.PERMANENT
    internal = {"responses": [{"error": {"code": 13, "message": "Internal error."}}]}
    assert google.classify(answer(200, internal)).outcome is Outcome.TRANSIENT
    exhausted = {"responses": [{"error": {"code": 8, "message": "Resource exhausted."}}]}
    assert google.classify(answer(200, exhausted)).outcome is Outcome.RATE_LIMITED


@pytest.mark.parametrize("status, outcome", [(401, Outcome.AUTH), (403, Outcome.AUTH), (404, Outcome.AUTH),
                                             (500, Outcome.TRANSIENT), (503, Outcome.TRANSIENT)])
def test_status_decides_for_html_errors(status, outcome):
    assert google.classify(answer(status, b"<html>error</html>")).outcome is outcome


def test_cut_short_200_is_transient():
    whole = json.dumps(load(SAMPLE)).encode()
    assert google.classify(answer(200, whole[:-10])).outcome is Outcome.TRANSIENT


def test_200_without_responses_is_permanent():
    assert google.classify(answer(200, {"x": 1})).outcome is Outcome.PERMANENT


def test_secret_never_in_a_verdict():
    request = google.build_request(png(), google.DEFAULT_URL, SECRET, key_in="query")
    for status, body in (google.render_error("auth"), google.render_error("rate_limit"), (500, b"x")):
        verdict = google.classify(answer(status, body))
        assert SECRET not in verdict.describe() and request.url not in verdict.describe()


# --- emulator side -----------------------------------------------------------------------------

def test_render_success_round_trips():
    items = [Item(quad(0, 10, 50, 10, 50, 40, 0, 40), "서울", 0.91), Item(quad(60, 0, 90, 0, 90, 30, 60, 30), "역", None)]
    raw = google.render_success(items, width=100, height=50)
    assert google.looks_like(raw)
    result = google.parse(raw)
    assert result.items == tuple(items) and (result.width, result.height) == (100, 50)
    assert raw["responses"][0]["textAnnotations"][1]["boundingPoly"]["vertices"][0] == {"y": 10}
    assert google.classify(answer(200, raw)).outcome is Outcome.SUCCESS


def test_render_success_without_items_is_an_empty_response():
    assert google.render_success([Item(None, "x")]) == {"responses": [{}]}


def test_error_bodies_are_claimed_by_google_only():
    for kind in google.ERRORS:
        _, error = google.render_error(kind)
        assert google.looks_like(error), kind
        assert [m.NAME for m in OTHERS if m.looks_like(error)] == [], kind
    _, image_error = google.render_image_error(None, "x")
    assert google.looks_like(image_error) and [m.NAME for m in OTHERS if m.looks_like(image_error)] == []


def test_parse_emulated_request_round_trip():
    image = png()
    request = google.build_request(image, google.DEFAULT_URL, SECRET, feature="document")
    parsed = google.parse_emulated_request(request.headers, request.body)
    assert parsed.invalid is None and parsed.data == image.data and parsed.stem == ""
    assert parsed.echo == {"feature": "DOCUMENT_TEXT_DETECTION", "languageHints": ["ko"]}


@pytest.mark.parametrize("body, detail", [
    (b"not json", "not JSON"),
    (b'{"requests": []}', "exactly one"),
    (b'{"requests": [{"features": [{"type": "TEXT_DETECTION"}]}]}', "image is required"),
    (b'{"requests": [{"image": {"source": {"imageUri": "https://x"}}, "features": [{"type": "TEXT_DETECTION"}]}]}',
     "never fetches"),
    (b'{"requests": [{"image": {"content": "***"}, "features": [{"type": "TEXT_DETECTION"}]}]}', "base64"),
    (b'{"requests": [{"image": {"content": "AAAA"}, "features": [{"type": "LABEL_DETECTION"}]}]}', "TEXT_DETECTION"),
    (b'{"requests": [{"image": {"content": "AAAA"}, "features": [{"type": "TEXT_DETECTION"}], '
     b'"imageContext": {"languageHints": "ko"}}]}', "languageHints"),
])
def test_parse_emulated_request_rejects(body, detail):
    parsed = google.parse_emulated_request({"Content-Type": "application/json"}, body)
    assert parsed.invalid is not None and parsed.invalid.kind == "body" and detail in parsed.invalid.detail


def test_authorized_by_header_or_query():
    assert google.authorized({"X-Goog-Api-Key": SECRET}, SECRET)
    assert google.authorized({"x-goog-api-key": SECRET}, SECRET)
    assert google.authorized({}, SECRET, google.query_of(f"/v1/images:annotate?key={SECRET}"))
    assert not google.authorized({}, SECRET, google.query_of("/v1/images:annotate?key=wrong"))
    assert not google.authorized({}, SECRET)
    assert not google.authorized({"X-Goog-Api-Key": ""}, SECRET, {})


def test_price_entry():
    assert google.PRICE.provider == "google" and google.PRICE.checked == "2026-12-01"
    assert google.PRICE.usd_per_1000 == 1.50 and google.PRICE.source.startswith("https://cloud.google.com/vision")


def test_scale_boxes_maps_back_to_the_original_image():
    raw = load(SAMPLE)
    before = google.parse(raw)
    scaled = google.scale_boxes(raw, (2.0, 0.5))
    after = google.parse(scaled)
    assert raw == load(SAMPLE)  # the stored answer is not modified
    assert (after.width, after.height) == (1280, 180)
    for old, new in zip(before.items, after.items):
        assert new.polygon == tuple((x * 2.0, y * 0.5) for x, y in old.polygon)
        assert (new.text, new.confidence) == (old.text, old.confidence)
    word = scaled["responses"][0]["fullTextAnnotation"]["pages"][0]["blocks"][0]["paragraphs"][0]["words"][0]
    assert word["boundingBox"]["vertices"][1] == {"x": 342.0, "y": 19.0}
    _, error = google.render_error("server")
    assert google.scale_boxes(error, (2.0, 2.0)) == error
