"""Upstage Document OCR: the documented-format sample, edge cases, requests, verdicts and the emulator side.

Expected values of the sample are read off the JSON file itself (fixture facts).
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.core.multipart import parse as split_multipart
from adapters.core.schema import Item
from adapters.providers import azure, google, jenti, kakao, naver, openai, tesseract, upstage
from adapters.providers.base import Outcome
from adapters.providers.response_fields import ResponseFormatError
from provider_support import EMULATED_ERROR_OUTCOMES, answer, load, other_samples, png, quad

SAMPLE = "upstage_document_ocr_library_notice.json"
OTHERS = (azure, google, jenti, kakao, naver, openai, tesseract)
SECRET = "up_TEST-secret-0123456789"


# --- the sample -----------------------------------------------------------------------------------

def test_sample_parses_to_its_words():
    raw = load(SAMPLE)
    result = upstage.parse(raw)
    words = raw["pages"][0]["words"]
    assert result.is_ok and (result.width, result.height) == (600, 300)
    assert [item.text for item in result.items] == ["도서관", "이용", "안내", "운영시간", "09:00~18:00", "(월요일", "휴관)"]
    assert result.items[0].polygon == quad(62, 48, 214, 51, 213, 103, 61, 100)
    assert result.items[4].confidence == pytest.approx(0.9716493487358093)
    assert [item.confidence for item in result.items] == pytest.approx([w["confidence"] for w in words])
    assert {item.granularity for item in result.items} == {"word"}
    assert upstage.billed_pages(raw) == 1


def test_sample_is_claimed_by_upstage_only():
    raw = load(SAMPLE)
    assert upstage.looks_like(raw)
    assert [m.NAME for m in OTHERS if m.looks_like(raw)] == []


def test_upstage_claims_no_other_sample():
    claimed = [name for name, raw in other_samples(SAMPLE) if upstage.looks_like(raw)]
    assert claimed == []


# --- edge cases --------------------------------------------------------------------------------

def body(*words: dict[str, Any], **page: Any) -> dict[str, Any]:
    return {"apiVersion": "1.1", "modelVersion": "ocr-x", "numBilledPages": 1,
            "pages": [{"id": 0, "words": list(words), **page}]}


def test_missing_vertex_coordinates_mean_zero():
    word = {"text": "가", "confidence": 0.5, "boundingBox": {"vertices": [{}, {"x": 10}, {"x": 10, "y": 5}, {"y": 5}]}}
    assert upstage.parse(body(word)).items[0].polygon == quad(0, 0, 10, 0, 10, 5, 0, 5)


def test_word_without_box_is_kept_without_polygon_and_confidence_clipped():
    result = upstage.parse(body({"text": "나", "confidence": 1.2}, {"text": "다"}))
    assert [(i.polygon, i.confidence) for i in result.items] == [(None, 1.0), (None, None)]


def test_empty_pages_and_empty_words_are_ok():
    assert upstage.parse({"apiVersion": "1.1", "numBilledPages": 0, "pages": []}).items == ()
    assert upstage.parse(body()).items == ()


def test_error_body_is_an_error_result():
    status, error = upstage.render_error("auth")
    result = upstage.parse(error)
    assert not result.is_ok and "invalid_api_key" in result.error


@pytest.mark.parametrize("raw", [
    None, [], {"pages": {}}, {"apiVersion": "1.1"},
    body("not a word"),
    body({"text": 3}),
    body({"text": "a", "boundingBox": {"vertices": []}}),
    body({"text": "a", "boundingBox": {"vertices": [{"x": "1", "y": 2}]}}),
    body({"text": "a", "confidence": "high"}),
])
def test_malformed_answers_raise(raw):
    with pytest.raises(ResponseFormatError):
        upstage.parse(raw)


# --- requests --------------------------------------------------------------------------------

def test_build_request_is_multipart_with_document_and_model():
    image = png()
    request = upstage.build_request(image, upstage.DEFAULT_URL, SECRET)
    assert request.url == upstage.DEFAULT_URL
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    parts = split_multipart(request.body, request.headers["Content-Type"], require_end=True)
    assert parts["document"].data == image.data and parts["document"].filename == "sign_1.png"
    assert parts["document"].content_type == "image/png"
    assert parts["model"].data == b"ocr"
    assert SECRET not in repr(request)


def test_policy_keeps_documented_formats():
    assert upstage.POLICY.formats == frozenset({"jpg", "png", "bmp", "tiff"})
    assert upstage.POLICY.max_bytes == 50 * 1024 * 1024


# --- verdicts ----------------------------------------------------------------------------------

def test_success():
    verdict = upstage.classify(answer(200, load(SAMPLE)))
    assert verdict.outcome is Outcome.SUCCESS and verdict.body["numBilledPages"] == 1


@pytest.mark.parametrize("kind, outcome", EMULATED_ERROR_OUTCOMES)
def test_every_emulated_error_is_classified(kind, outcome):
    status, error = upstage.render_error(kind, "detail")
    assert upstage.classify(answer(status, error)).outcome is outcome


def test_429_is_a_rate_limit_with_retry_after():
    verdict = upstage.classify(answer(429, {"error": {"message": "Too many requests", "type": "rate_limit_error",
                                                      "code": "too_many_requests"}}, {"retry-after": "2"}))
    assert verdict.outcome is Outcome.RATE_LIMITED and verdict.retry_after == 2.0


def test_429_without_a_body_is_still_a_rate_limit():
    verdict = upstage.classify(answer(429, b"<html>slow down</html>", {"Retry-After": "3"}))
    assert verdict.outcome is Outcome.RATE_LIMITED and verdict.retry_after == 3.0


def test_429_that_says_the_credit_is_gone_is_quota():
    verdict = upstage.classify(answer(429, {"error": {"message": "No credit left", "type": "insufficient_quota",
                                                      "code": "insufficient_credit"}}))
    assert verdict.outcome is Outcome.QUOTA


@pytest.mark.parametrize("status, outcome", [(401, Outcome.AUTH), (403, Outcome.AUTH), (500, Outcome.TRANSIENT),
                                             (502, Outcome.TRANSIENT), (503, Outcome.TRANSIENT)])
def test_status_decides_for_bare_errors(status, outcome):
    assert upstage.classify(answer(status, {"detail": "x"})).outcome is outcome


def test_cut_short_200_is_transient():
    whole = json.dumps(load(SAMPLE)).encode()
    assert upstage.classify(answer(200, whole[: len(whole) // 2])).outcome is Outcome.TRANSIENT


def test_200_without_pages_is_permanent():
    assert upstage.classify(answer(200, {"hello": "world"})).outcome is Outcome.PERMANENT


def test_secret_never_in_a_verdict():
    status, error = upstage.render_error("auth", "")
    for verdict in (upstage.classify(answer(status, error)), upstage.classify(answer(500, b"oops")),
                    upstage.classify(answer(429, error))):
        assert SECRET not in verdict.describe() and SECRET not in repr(verdict)


# --- emulator side -----------------------------------------------------------------------------

def test_render_success_round_trips():
    items = [Item(quad(10, 10, 60, 12, 59, 40, 9, 38), "입구", 0.93), Item(quad(70, 10, 120, 10, 120, 40, 70, 40),
                                                                        "EXIT", None)]
    raw = upstage.render_success(items, width=200, height=100)
    assert upstage.looks_like(raw)
    result = upstage.parse(raw)
    assert result.items == tuple(items) and (result.width, result.height) == (200, 100)
    assert upstage.classify(answer(200, raw)).outcome is Outcome.SUCCESS


def test_render_success_skips_items_without_geometry():
    raw = upstage.render_success([Item(None, "x"), Item(quad(0, 0, 1, 0, 1, 1, 0, 1), "y", 1.0)])
    assert [item.text for item in upstage.parse(raw).items] == ["y"]


def test_upstage_error_bodies_are_left_to_the_openai_shape():
    # the assumed Upstage error shape is OpenAI's: only one module may claim it, and that is openai
    for kind in upstage.ERRORS:
        _, error = upstage.render_error(kind)
        assert not upstage.looks_like(error)
        assert [m.NAME for m in OTHERS if m.looks_like(error)] == ["openai"]


def test_parse_emulated_request_reads_the_document():
    image = png()
    request = upstage.build_request(image, upstage.DEFAULT_URL, SECRET)
    parsed = upstage.parse_emulated_request(request.headers, request.body)
    assert parsed.invalid is None
    assert (parsed.name, parsed.stem, parsed.data, parsed.echo) == ("sign_1.png", "sign_1", image.data,
                                                                     {"model": "ocr"})


@pytest.mark.parametrize("fields, detail", [
    ({"model": "ocr"}, "document"),
    ({"document": ("a.png", b"png-bytes", "image/png")}, "model"),
    ({"document": ("a.png", b"png-bytes", "image/png"), "model": "document-parse"}, "Document OCR"),
])
def test_parse_emulated_request_rejects_incomplete_forms(fields, detail):
    from urllib3.filepost import encode_multipart_formdata
    data, content_type = encode_multipart_formdata(fields)
    parsed = upstage.parse_emulated_request({"Content-Type": content_type}, data)
    assert parsed.invalid is not None and parsed.invalid.kind == "body" and detail in parsed.invalid.detail


def test_parse_emulated_request_rejects_non_multipart():
    parsed = upstage.parse_emulated_request({"Content-Type": "application/json"}, b"{}")
    assert parsed.invalid is not None and parsed.invalid.kind == "body"


def test_authorized():
    assert upstage.authorized({"Authorization": f"Bearer {SECRET}"}, SECRET)
    assert upstage.authorized({"authorization": f"bearer {SECRET}"}, SECRET)
    assert not upstage.authorized({"Authorization": "Bearer nope"}, SECRET)
    assert not upstage.authorized({"Authorization": SECRET}, SECRET)
    assert not upstage.authorized({}, SECRET)


def test_price_entry():
    assert upstage.PRICE.provider == "upstage" and upstage.PRICE.checked == "2026-12-01"
    assert not upstage.PRICE.known and upstage.PRICE.describe().startswith("unknown: ")


def test_scale_boxes_maps_back_to_the_original_image():
    raw = load(SAMPLE)
    before = upstage.parse(raw)
    scaled = upstage.scale_boxes(raw, (2.0, 0.5))
    after = upstage.parse(scaled)
    assert raw == load(SAMPLE)  # the stored answer is not modified
    assert (after.width, after.height) == (1200, 150)
    assert scaled["metadata"]["pages"][0] == {"height": 150, "page": 1, "width": 1200}
    for old, new in zip(before.items, after.items):
        assert new.polygon == tuple((x * 2.0, y * 0.5) for x, y in old.polygon)
        assert (new.text, new.confidence) == (old.text, old.confidence)
    _, error = upstage.render_error("server")
    assert upstage.scale_boxes(error, (2.0, 2.0)) == error
