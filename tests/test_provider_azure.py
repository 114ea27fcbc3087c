"""Azure Document Intelligence (prebuilt-read): the sample, edge cases, requests, verdicts, the polling
provider (against a fake session: no server) and the emulator side.

Expected values of the sample are read off the JSON file itself (fixture facts).
"""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

from adapters.core.schema import Item
from adapters.providers import azure, google, jenti, kakao, naver, openai, tesseract, upstage
from adapters.providers.base import Outcome
from adapters.providers.response_fields import ResponseFormatError
from provider_support import EMULATED_ERROR_OUTCOMES, answer, load, other_samples, png, quad

SAMPLE = "azure_read_cafe_sign.json"
OTHERS = (google, jenti, kakao, naver, openai, tesseract, upstage)
SECRET = "0123456789abcdef0123456789abcdef"
ENDPOINT = "https://bench-test.cognitiveservices.azure.com"


# --- the sample -----------------------------------------------------------------------------------

def test_sample_parses_to_lines_by_default():
    raw = load(SAMPLE)
    result = azure.parse(raw)
    assert result.is_ok and (result.width, result.height) == (660, 260)
    assert [item.text for item in result.items] == ["무료 와이파이 제공", "영업시간 10:00-22:00"]
    assert result.items[0].polygon == quad(41, 36, 420, 39, 419, 98, 40, 95)
    assert {(item.granularity, item.confidence) for item in result.items} == {("line", None)}


def test_sample_words_are_syllables():
    raw = load(SAMPLE)
    result = azure.parse_words(raw)
    assert [item.text for item in result.items] == ["무", "료", "와", "이", "파", "이", "제", "공",
                                                    "영", "업", "시", "간", "10:00-22:00"]
    assert result.items[-1].confidence == pytest.approx(0.962)
    assert result.items[0].polygon == quad(*raw["analyzeResult"]["pages"][0]["words"][0]["polygon"])
    assert {item.granularity for item in result.items} == {"word"}


def test_sample_is_claimed_by_azure_only():
    raw = load(SAMPLE)
    assert azure.looks_like(raw) and azure.looks_like(raw["analyzeResult"])
    assert [m.NAME for m in OTHERS if m.looks_like(raw)] == []
    assert [m.NAME for m in OTHERS if m.looks_like(raw["analyzeResult"])] == []


def test_azure_claims_no_other_sample():
    assert [name for name, raw in other_samples(SAMPLE) if azure.looks_like(raw)] == []


# --- edge cases --------------------------------------------------------------------------------

def result_with(page: dict[str, Any]) -> dict[str, Any]:
    return {"status": "succeeded", "analyzeResult": {"apiVersion": azure.API_VERSION, "modelId": azure.MODEL_ID,
                                                     "pages": [page]}}


def test_bare_analyze_result_and_empty_pages():
    raw = load(SAMPLE)
    assert azure.parse(raw["analyzeResult"]).items == azure.parse(raw).items
    assert azure.parse({"status": "succeeded", "analyzeResult": {"modelId": "prebuilt-read", "pages": []}}).items == ()


def test_line_without_polygon_is_kept_and_confidence_clipped():
    page = {"unit": "pixel", "lines": [{"content": "가"}], "words": [{"content": "가", "confidence": 1.5,
                                                                         "polygon": [0, 0, 1, 0, 1, 1, 0, 1]}]}
    assert azure.parse(result_with(page)).items == (Item(None, "가", None, "line"),)
    assert azure.parse_words(result_with(page)).items[0].confidence == 1.0


def test_failed_and_running_operations_are_error_results():
    _, failed = azure.render_poll("failed", error_kind="bad_image")
    assert "InvalidContent" in azure.parse(failed).error
    _, running = azure.render_poll("running")
    assert not azure.parse(running).is_ok
    _, error = azure.render_error("auth")
    assert not azure.parse(error).is_ok and azure.parse(error).error.startswith("Azure error 401")


@pytest.mark.parametrize("raw", [
    None, [], {"status": "succeeded"}, {"status": "succeeded", "analyzeResult": {"pages": {}}},
    result_with({"unit": "inch", "lines": []}),
    result_with({"lines": "x"}),
    result_with({"lines": ["x"]}),
    result_with({"lines": [{"content": 1}]}),
    result_with({"lines": [{"content": "a", "polygon": [0, 0, 1]}]}),
    result_with({"lines": [{"content": "a", "polygon": [0, 0, 1, 0, 1, "1"]}]}),
])
def test_malformed_answers_raise(raw):
    with pytest.raises(ResponseFormatError):
        azure.parse(raw)


def test_unknown_granularity_is_refused():
    with pytest.raises(ValueError):
        azure.parse(load(SAMPLE), "region")


# --- requests --------------------------------------------------------------------------------

def test_build_request_posts_base64_to_analyze():
    image = png()
    request = azure.build_request(image, ENDPOINT + "/", SECRET)
    assert request.url == (f"{ENDPOINT}/documentintelligence/documentModels/prebuilt-read:analyze"
                           f"?api-version=2024-11-30")
    assert request.headers == {"Ocp-Apim-Subscription-Key": SECRET, "Content-Type": "application/json"}
    assert base64.b64decode(json.loads(request.body)["base64Source"]) == image.data
    assert SECRET not in repr(request)
    assert azure.build_request(image, ENDPOINT, SECRET, locale="ko").url.endswith("&locale=ko")


def test_poll_request_and_helpers():
    location = f"{ENDPOINT}/documentintelligence/documentModels/prebuilt-read/analyzeResults/abc?api-version=2024-11-30"
    poll = azure.build_poll(location, SECRET)
    assert poll.url == location and poll.headers == {"Ocp-Apim-Subscription-Key": SECRET} and poll.body == b""
    accepted = answer(202, b"", {"operation-location": location, "Retry-After": "2"})
    assert azure.operation_location(accepted) == location
    assert azure.poll_delay(accepted) == 2.0
    assert azure.poll_delay(answer(202, b"")) == azure.DEFAULT_POLL_SECONDS
    assert azure.poll_delay(answer(202, b"", {"Retry-After": "0"})) == azure.MIN_POLL_SECONDS
    assert azure.same_origin(location, ENDPOINT + "/x") and not azure.same_origin("https://evil.example/x", ENDPOINT)


# --- verdicts ----------------------------------------------------------------------------------

def test_success_and_not_finished():
    assert azure.classify(answer(200, load(SAMPLE))).outcome is Outcome.SUCCESS
    assert azure.classify(answer(200, azure.render_poll("running")[1])).outcome is Outcome.TRANSIENT
    assert azure.classify(answer(202, b"")).outcome is Outcome.TRANSIENT


@pytest.mark.parametrize("kind, outcome", EMULATED_ERROR_OUTCOMES)
def test_every_emulated_error_is_classified(kind, outcome):
    status, error = azure.render_error(kind, "detail")
    assert azure.classify(answer(status, error)).outcome is outcome


@pytest.mark.parametrize("kind, outcome", [("server", Outcome.TRANSIENT), ("unavailable", Outcome.TRANSIENT),
                                           ("bad_image", Outcome.PERMANENT), ("too_large", Outcome.PERMANENT)])
def test_failed_analysis_is_classified_by_its_error(kind, outcome):
    assert azure.classify(answer(200, azure.render_poll("failed", error_kind=kind)[1])).outcome is outcome


def test_429_is_a_rate_limit_with_retry_after_even_without_a_body():
    _, error = azure.render_error("rate_limit")
    assert azure.classify(answer(429, error, {"Retry-After": "5"})).retry_after == 5.0
    verdict = azure.classify(answer(429, b"", {"Retry-After": "2"}))
    assert verdict.outcome is Outcome.RATE_LIMITED and verdict.retry_after == 2.0


@pytest.mark.parametrize("status, outcome", [(401, Outcome.AUTH), (403, Outcome.AUTH), (500, Outcome.TRANSIENT),
                                             (503, Outcome.TRANSIENT)])
def test_status_decides_for_html_errors(status, outcome):
    assert azure.classify(answer(status, b"<html/>")).outcome is outcome


def test_cut_short_200_is_transient():
    whole = json.dumps(load(SAMPLE)).encode()
    assert azure.classify(answer(200, whole[:100])).outcome is Outcome.TRANSIENT


# --- the polling provider, against a fake session ----------------------------------------------

class FakeResponse:
    def __init__(self, status: int, body: Any = b"", headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.headers = headers or {}
        self.content = body if isinstance(body, bytes) else json.dumps(body).encode()


class FakeSession:
    def __init__(self, post: Any, gets: list[Any]) -> None:
        self.post_answer, self.gets = post, list(gets)
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    def post(self, url: str, data: bytes, headers: dict[str, str], timeout: Any, allow_redirects: bool) -> Any:
        self.calls.append(("POST", url, headers))
        if isinstance(self.post_answer, Exception):
            raise self.post_answer
        return self.post_answer

    def get(self, url: str, headers: dict[str, str], timeout: Any, allow_redirects: bool) -> Any:
        self.calls.append(("GET", url, headers))
        item = self.gets.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class Clock:
    def __init__(self) -> None:
        self.now, self.slept = 100.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


LOCATION = f"{ENDPOINT}/documentintelligence/documentModels/prebuilt-read/analyzeResults/r1?api-version=2024-11-30"


def provider_with(session: FakeSession, clock: Clock, granularity: str = "line") -> azure.AzureProvider:
    provider = azure.AzureProvider(ENDPOINT, SECRET, granularity=granularity, sleep=clock.sleep, clock=clock)
    provider.session = lambda: session  # type: ignore[method-assign]
    return provider


def test_provider_posts_then_polls_honouring_retry_after():
    clock = Clock()
    session = FakeSession(FakeResponse(202, b"", {"Operation-Location": LOCATION, "Retry-After": "2"}), [
        FakeResponse(200, azure.render_poll("running")[1], {"Retry-After": "3"}),
        FakeResponse(200, {"status": "running"}),
        FakeResponse(200, load(SAMPLE)),
    ])
    provider = provider_with(session, clock)
    attempt = provider.send(png(), 30.0, lambda: True)
    assert attempt is not None and attempt.verdict.outcome is Outcome.SUCCESS
    assert clock.slept == [2.0, 3.0, azure.DEFAULT_POLL_SECONDS]
    assert attempt.latency_ms == pytest.approx(6000.0)
    assert [c[0] for c in session.calls] == ["POST", "GET", "GET", "GET"]
    assert all(c[2]["Ocp-Apim-Subscription-Key"] == SECRET for c in session.calls)
    assert provider.parse(attempt.verdict.body).items[1].text == "영업시간 10:00-22:00"
    assert provider_with(session, clock, "word").parse(attempt.verdict.body).items[0].text == "무"


def test_provider_gives_up_at_the_timeout():
    clock = Clock()
    session = FakeSession(FakeResponse(202, b"", {"Operation-Location": LOCATION}),
                          [FakeResponse(200, {"status": "running"}, {"Retry-After": "4"})] * 5)
    attempt = provider_with(session, clock).send(png(), 10.0, lambda: True)
    assert attempt.verdict.outcome is Outcome.TRANSIENT and attempt.verdict.code == "timeout"
    assert sum(clock.slept) < 10.0


def test_provider_waits_out_a_throttled_poll():
    clock = Clock()
    _, throttled = azure.render_error("rate_limit")
    session = FakeSession(FakeResponse(202, b"", {"Operation-Location": LOCATION, "Retry-After": "1"}),
                          [FakeResponse(429, throttled, {"Retry-After": "2"}), FakeResponse(200, load(SAMPLE))])
    attempt = provider_with(session, clock).send(png(), 30.0, lambda: True)
    assert attempt.verdict.outcome is Outcome.SUCCESS and clock.slept == [1.0, 2.0]


def test_provider_reports_post_errors_and_failed_analyses():
    clock = Clock()
    status, error = azure.render_error("auth")
    attempt = provider_with(FakeSession(FakeResponse(status, error), []), clock).send(png(), 30.0, lambda: True)
    assert attempt.verdict.outcome is Outcome.AUTH
    session = FakeSession(FakeResponse(202, b"", {"Operation-Location": LOCATION}),
                          [FakeResponse(200, azure.render_poll("failed", error_kind="bad_image")[1])])
    assert provider_with(session, clock).send(png(), 30.0, lambda: True).verdict.outcome is Outcome.PERMANENT


def test_provider_refuses_a_foreign_operation_location():
    clock = Clock()
    session = FakeSession(FakeResponse(202, b"", {"Operation-Location": "https://elsewhere.example/r/1"}), [])
    attempt = provider_with(session, clock).send(png(), 30.0, lambda: True)
    assert attempt.verdict.outcome is Outcome.PERMANENT and [c[0] for c in session.calls] == ["POST"]
    assert "elsewhere" not in attempt.verdict.describe()


def test_provider_maps_transport_errors_without_urls():
    clock = Clock()
    session = FakeSession(FakeResponse(202, b"", {"Operation-Location": LOCATION}),
                          [requests.ConnectionError(f"cannot reach {LOCATION}")])
    verdict = provider_with(session, clock).send(png(), 30.0, lambda: True).verdict
    assert verdict.outcome is Outcome.TRANSIENT and verdict.code == "connection_error"
    assert LOCATION not in verdict.describe() and SECRET not in verdict.describe()
    timeout = FakeSession(requests.Timeout("slow"), [])
    assert provider_with(timeout, clock).send(png(), 30.0, lambda: True).verdict.code == "timeout"


def test_provider_sends_nothing_when_the_gate_refuses():
    session = FakeSession(FakeResponse(500, b""), [])
    assert provider_with(session, Clock()).send(png(), 30.0, lambda: False) is None and session.calls == []


def test_provider_call_without_gate():
    clock = Clock()
    session = FakeSession(FakeResponse(202, b"", {"Operation-Location": LOCATION}), [FakeResponse(200, load(SAMPLE))])
    assert provider_with(session, clock).call(png(), 30.0).verdict.outcome is Outcome.SUCCESS


# --- emulator side -----------------------------------------------------------------------------

def test_render_success_round_trips_lines_and_cuts_korean_words():
    items = [Item(quad(10, 10, 110, 10, 110, 40, 10, 40), "출입 OK", None, "line"),
             Item(quad(10, 50, 70, 50, 70, 80, 10, 80), "비상구", None, "line")]
    raw = azure.render_success(items, width=200, height=100)
    assert azure.looks_like(raw)
    result = azure.parse(raw)
    assert result.items == tuple(items) and (result.width, result.height) == (200, 100)
    words = azure.parse_words(raw).items
    assert [w.text for w in words] == ["출", "입", "OK", "비", "상", "구"]
    assert words[0].polygon == quad(10, 10, 10 + 100 / 5, 10, 10 + 100 / 5, 40, 10, 40)
    content = raw["analyzeResult"]["content"]
    assert all(content[w["span"]["offset"]:w["span"]["offset"] + w["span"]["length"]] == w["content"]
               for w in raw["analyzeResult"]["pages"][0]["words"])
    assert azure.classify(answer(200, raw)).outcome is Outcome.SUCCESS


def test_error_bodies_are_claimed_by_azure_only():
    for kind in azure.ERRORS:
        _, error = azure.render_error(kind)
        assert azure.looks_like(error), kind
        assert [m.NAME for m in OTHERS if m.looks_like(error)] == [], kind
    for state in ("running", "failed"):
        _, body = azure.render_poll(state)
        assert azure.looks_like(body) and [m.NAME for m in OTHERS if m.looks_like(body)] == []


def test_polling_contract():
    status, headers = azure.render_accepted("http://127.0.0.1:8123/", "r-42", retry_after=0.5)
    assert status == 202 and headers["Retry-After"] == "0.5"
    location = headers["Operation-Location"]
    assert location == ("http://127.0.0.1:8123/documentintelligence/documentModels/prebuilt-read/analyzeResults/"
                        "r-42?api-version=2024-11-30")
    assert azure.result_id_from_path(location.split("8123", 1)[1]) == "r-42"
    assert azure.result_id_from_path(azure.ANALYZE_PATH) is None
    assert azure.result_id_from_path(azure.RESULTS_PATH + "a/b") is None
    assert azure.render_poll("notStarted")[1]["status"] == "notStarted"
    with pytest.raises(ValueError):
        azure.render_poll("sleeping")
    assert azure.check_analyze_query({"api-version": "2024-11-30"}) is None
    assert azure.check_analyze_query({"api-version": "2023-07-31"}).kind == "body"


def test_parse_emulated_request():
    image = png()
    request = azure.build_request(image, ENDPOINT, SECRET)
    parsed = azure.parse_emulated_request(request.headers, request.body)
    assert parsed.invalid is None and parsed.data == image.data and parsed.stem == ""


@pytest.mark.parametrize("headers, body, detail", [
    ({"Content-Type": "application/octet-stream"}, b"raw", "application/json"),
    ({"Content-Type": "application/json"}, b"{", "not JSON"),
    ({"Content-Type": "application/json"}, b"[]", "object"),
    ({"Content-Type": "application/json"}, b"{}", "base64Source is required"),
    ({"Content-Type": "application/json"}, b'{"urlSource": "https://x"}', "never fetches"),
    ({"Content-Type": "application/json"}, b'{"base64Source": "%%%"}', "base64"),
    ({"Content-Type": "application/json"}, b'{"base64Source": ""}', "empty"),
])
def test_parse_emulated_request_rejects(headers, body, detail):
    parsed = azure.parse_emulated_request(headers, body)
    assert parsed.invalid is not None and parsed.invalid.kind == "body" and detail in parsed.invalid.detail


def test_authorized():
    assert azure.authorized({"Ocp-Apim-Subscription-Key": SECRET}, SECRET)
    assert azure.authorized({"ocp-apim-subscription-key": SECRET}, SECRET)
    assert not azure.authorized({"Ocp-Apim-Subscription-Key": "no"}, SECRET)
    assert not azure.authorized({"Authorization": f"Bearer {SECRET}"}, SECRET)


def test_price_entry():
    assert azure.PRICE.provider == "azure" and azure.PRICE.checked == "2026-12-01"
    assert not azure.PRICE.known and azure.PRICE.describe().startswith("unknown: ")


def test_scale_boxes_maps_back_to_the_original_image():
    raw = load(SAMPLE)
    scaled = azure.scale_boxes(raw, (2.0, 0.5))
    assert raw == load(SAMPLE)  # the stored answer is not modified
    for parse in (azure.parse, azure.parse_words):
        before, after = parse(raw), parse(scaled)
        assert (after.width, after.height) == (1320, 130)
        for old, new in zip(before.items, after.items):
            expected = [v for x, y in old.polygon for v in (x * 2.0, y * 0.5)]
            assert [v for point in new.polygon for v in point] == pytest.approx(expected, abs=0.01)
            assert (new.text, new.confidence) == (old.text, old.confidence)
    region = scaled["analyzeResult"]["paragraphs"][0]["boundingRegions"][0]["polygon"]
    assert region[:2] == [80.0, 18.0]
    assert azure.scale_boxes(raw["analyzeResult"], (2.0, 0.5)) == scaled["analyzeResult"]
    provider = azure.AzureProvider(ENDPOINT, SECRET)
    assert provider.restore(raw, (2.0, 0.5)) == scaled and provider.restore(raw, (1.0, 1.0)) is raw
    _, error = azure.render_error("server")
    assert azure.scale_boxes(error, (2.0, 2.0)) == error
