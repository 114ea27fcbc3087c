"""Provider parsers: every recorded real response, and the edge cases of each wire format.

Expected values for the recorded responses are read off the JSON files themselves (they are
fixture facts), never computed by calling the parser.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from adapters.providers import jenti, kakao, naver
from adapters.core.schema import ImageResult
from adapters.providers.response_fields import ResponseFormatError

# Shipped with the repository (copies of ../shared/provider_samples; see tests/data/README.md).
SAMPLES = Path(__file__).resolve().parent / "data" / "provider_samples"


def load_sample(name: str) -> Any:
    """A recorded response from tests/data/provider_samples."""
    if not SAMPLES.is_dir():
        pytest.skip(f"recorded provider responses not found at {SAMPLES} (they are part of the repository: "
                    "restore tests/data/provider_samples from git)")
    return json.loads((SAMPLES / name).read_text(encoding="utf-8-sig"))


def quad(*xy: float) -> tuple[tuple[float, float], ...]:
    return tuple((xy[k], xy[k + 1]) for k in range(0, len(xy), 2))


# --- recorded responses -----------------------------------------------------------------------

def test_every_recorded_response_has_a_test():
    """A new file in provider_samples must get its own test here."""
    if not SAMPLES.is_dir():
        pytest.skip(f"recorded provider responses not found at {SAMPLES} (they are part of the repository: "
                    "restore tests/data/provider_samples from git)")
    documented = {name for test in Path(__file__).parent.glob("test_provider_*.py")  # tested there
                  for name in re.findall(r'"([A-Za-z0-9_]+\.json)"', test.read_text(encoding="utf-8"))}
    assert sorted(p.name for p in SAMPLES.glob("*.json") if p.name not in documented) == sorted(RECORDED)


def test_clova_v2_report_page():
    result = naver.parse(load_sample("clova_general_v2_sooeun67_spri_report.json"))
    assert result.is_ok and result.error is None
    assert len(result.items) == 248
    assert (result.width, result.height) == (583, 822)
    first, last = result.items[0], result.items[-1]
    assert first.text == "SPRi"
    assert first.polygon == quad(51, 34, 76, 34, 76, 46, 51, 46)
    assert first.confidence == pytest.approx(0.8933)
    assert last.text == "소프트웨어정책연구소"
    assert last.polygon == quad(265, 779, 359, 779, 359, 792, 265, 792)
    assert last.confidence == 1.0
    # the least confident word of the page
    assert result.items[112].text == "0" and result.items[112].confidence == pytest.approx(0.4631)
    # repeated words stay separate items
    assert [item.text for item in result.items].count("Meta의") == 4
    assert {item.granularity for item in result.items} == {"word"}


def test_clova_v2_tables_are_not_counted_twice():
    raw = load_sample("clova_general_v2_tables_yamyamcoach_menu.json")
    result = naver.parse(raw)
    assert result.is_ok
    # 106 fields; the 104 words repeated inside tables[].cells[] must not be added again
    assert len(result.items) == 106
    texts = [item.text for item in result.items]
    assert texts.count("구분") == 1 and texts.count("김치") == 4
    assert (result.width, result.height) == (3399, 1483)
    assert result.items[0].text == "20층"
    assert result.items[0].polygon == quad(1311, 70, 1560, 70, 1560, 191, 1311, 191)
    assert result.items[0].confidence == pytest.approx(0.9999)
    assert result.items[-1].text == "*유자차*"
    assert result.items[-1].polygon == quad(3029, 1372, 3174, 1372, 3174, 1414, 3029, 1414)
    assert result.items[-1].confidence == pytest.approx(0.989)
    assert {item.granularity for item in result.items} == {"word"}


def test_clova_v1_form_with_integer_vertices():
    result = naver.parse(load_sample("clova_general_v1_egginhealth_inbody.json"))
    assert result.is_ok
    assert len(result.items) == 460
    assert (result.width, result.height) == (None, None)  # V1 has no convertedImageInfo
    first = result.items[0]
    assert first.text == "InBody"
    assert first.polygon == quad(25, 32, 201, 41, 198, 94, 22, 85)  # a rotated quad
    assert first.confidence == pytest.approx(0.9934)
    assert result.items[-1].text == "131001"
    assert result.items[-1].polygon == quad(719, 1088, 741, 1088, 741, 1094, 719, 1094)
    assert result.items[-1].confidence == pytest.approx(0.9088)
    # an integer confidence (1) and the least confident field
    assert result.items[4].text == "신장" and result.items[4].confidence == 1.0
    assert result.items[226].text == "%" and result.items[226].confidence == pytest.approx(0.3139)
    assert [item.text for item in result.items].count("(kg)") == 12
    for item in result.items:
        assert all(isinstance(c, float) and math.isfinite(c) for point in item.polygon for c in point)


def test_kakao_v2_menu():
    result = kakao.parse(load_sample("kakao_v2_gimkuku_menu.json"))
    assert result.is_ok
    assert [item.text for item in result.items] == [
        "전 골", "낙 지", "모", "두", "부", "모 두 부 반 모", "가 자 미 구 이"]
    assert all(item.confidence is None for item in result.items)
    assert {item.granularity for item in result.items} == {"line"}
    assert result.items[0].polygon == quad(7, 11, 163, 11, 163, 61, 7, 61)
    assert result.items[-1].polygon == quad(9, 225, 385, 227, 384, 271, 8, 269)
    assert (result.width, result.height) == (None, None)


RECORDED = {
    "clova_general_v2_sooeun67_spri_report.json",
    "clova_general_v2_tables_yamyamcoach_menu.json",
    "clova_general_v1_egginhealth_inbody.json",
    "kakao_v2_gimkuku_menu.json",
}


# --- NAVER CLOVA edge cases --------------------------------------------------------------------

def clova(*fields: dict[str, Any], **image: Any) -> dict[str, Any]:
    """A minimal CLOVA General response around the given fields."""
    body = {"uid": "u", "name": "img", "inferResult": "SUCCESS", "message": "SUCCESS", "fields": list(fields)}
    body.update(image)
    return {"version": "V2", "requestId": "r", "timestamp": 0, "images": [body]}


def vertices(*points: dict[str, Any]) -> dict[str, Any]:
    return {"vertices": list(points)}


def test_clova_bounding_box_geometry():
    raw = clova({"inferText": "가", "inferConfidence": 0.5,
                 "bounding": {"top": 20, "left": 10, "width": 30, "height": 5}})
    item = naver.parse(raw).items[0]
    assert item.polygon == quad(10, 20, 40, 20, 40, 25, 10, 25)
    assert item.text == "가" and item.confidence == 0.5


def test_clova_field_without_geometry_is_kept_without_polygon():
    result = naver.parse(clova({"inferText": "무형", "inferConfidence": 0.9},
                               {"inferText": "b", "boundingPoly": vertices({"x": 1, "y": 1}, {"x": 2, "y": 1},
                                                                          {"x": 2, "y": 2}, {"x": 1, "y": 2})}))
    assert [item.text for item in result.items] == ["무형", "b"]
    assert result.items[0].polygon is None
    assert result.items[0].confidence == pytest.approx(0.9)
    assert result.items[1].confidence is None


def test_clova_omitted_zero_coordinates():
    # protobuf-style JSON leaves out x or y when it is 0
    raw = clova({"inferText": "a", "boundingPoly": vertices({"y": 5}, {"x": 10}, {"x": 10, "y": 5}, {})})
    assert naver.parse(raw).items[0].polygon == quad(0, 5, 10, 0, 10, 5, 0, 0)


@pytest.mark.parametrize("verdict", ["FAILURE", "ERROR"])
def test_clova_infer_result_other_than_success_is_an_error(verdict):
    result = naver.parse(clova(inferResult=verdict, message="Image download failed"))
    assert not result.is_ok and result.status == "error"
    assert verdict in result.error and "Image download failed" in result.error
    assert result.items == ()


def test_clova_error_body_is_an_error():
    result = naver.parse({"code": "0023", "message": "Request invalid"})
    assert result.status == "error"
    assert "0023" in result.error and "Request invalid" in result.error


def test_clova_empty_page_is_ok_with_no_items():
    result = naver.parse(clova(convertedImageInfo={"width": 10, "height": 20}))
    assert result.is_ok and result.items == () and (result.width, result.height) == (10, 20)


def test_clova_bad_image_size_is_dropped_not_trusted():
    result = naver.parse(clova(convertedImageInfo={"width": 0, "height": 20}))
    assert (result.width, result.height) == (None, None)


@pytest.mark.parametrize("value, clipped", [(1.0000002, 1.0), (-0.0001, 0.0), (0.25, 0.25), (1, 1.0)])
def test_clova_confidence_is_clipped_to_unit_interval(value, clipped):
    raw = clova({"inferText": "a", "inferConfidence": value, "bounding": {"top": 0, "left": 0, "width": 1, "height": 1}})
    assert naver.parse(raw).items[0].confidence == clipped


@pytest.mark.parametrize("raw", [
    [],
    {"version": "V2", "requestId": "r"},
    {"version": "V2", "images": []},
    {"version": "V2", "images": ["not an object"]},
    clova(fields={"inferText": "a"}),
    clova("not an object"),
    clova({"inferText": 7}),
    clova({"inferText": "a", "boundingPoly": {"vertices": {"x": 1, "y": 2}}}),
    clova({"inferText": "a", "boundingPoly": {"vertices": []}}),
    clova({"inferText": "a", "boundingPoly": [[1, 2], [3, 4]]}),
    clova({"inferText": "a", "boundingPoly": vertices([1, 2], [3, 4])}),
    clova({"inferText": "a", "boundingPoly": vertices({"x": "12", "y": 3})}),
    clova({"inferText": "a", "boundingPoly": vertices({"x": True, "y": 3})}),
    clova({"inferText": "a", "boundingPoly": vertices({"x": None, "y": 3})}),
    clova({"inferText": "a", "boundingPoly": vertices({"x": float("nan"), "y": 3})}),
    clova({"inferText": "a", "bounding": [0, 0, 1, 1]}),
    clova({"inferText": "a", "bounding": {"top": 0, "left": 0, "width": 1}}),
    clova({"inferText": "a", "bounding": {"top": "0", "left": 0, "width": 1, "height": 1}}),
    clova({"inferText": "a", "inferConfidence": "0.9"}),
    clova({"inferText": "a", "inferConfidence": False}),
    clova({"inferText": "a", "inferConfidence": float("inf")}),
], ids=lambda raw: json.dumps(raw, default=str)[-70:])
def test_clova_malformed_responses_raise(raw):
    with pytest.raises(ResponseFormatError):
        naver.parse(raw)


def test_clova_error_message_says_where():
    with pytest.raises(ResponseFormatError, match=r"fields\[1\]"):
        naver.parse(clova({"inferText": "ok"}, {"inferText": "a", "boundingPoly": vertices({"x": "1", "y": 0})}))


# --- Kakao edge cases --------------------------------------------------------------------------

BOX = [[0, 0], [10, 0], [10, 5], [0, 5]]


def test_kakao_error_body_is_an_error():
    result = kakao.parse({"code": -10, "msg": "API limit has been exceeded."})
    assert result.status == "error"
    assert "-10" in result.error and "API limit has been exceeded." in result.error


def test_kakao_multiple_recognition_words_are_joined():
    result = kakao.parse({"result": [{"boxes": BOX, "recognition_words": ["가 나", "다"]}]})
    assert [item.text for item in result.items] == ["가 나 다"]
    assert result.items[0].polygon == quad(0, 0, 10, 0, 10, 5, 0, 5)


def test_kakao_no_text_found_is_ok_with_no_items():
    result = kakao.parse({"result": []})
    assert result.is_ok and result.items == ()


def test_kakao_decimal_coordinates():
    result = kakao.parse({"result": [{"boxes": [[0.5, 0], [10, 0.25], [10, 5], [0, 5]], "recognition_words": ["a"]}]})
    assert result.items[0].polygon[:2] == ((0.5, 0.0), (10.0, 0.25))


@pytest.mark.parametrize("raw", [
    "text",
    {"result": {"boxes": BOX}},
    {"other": []},
    {"result": ["not an object"]},
    {"result": [{"recognition_words": ["a"]}]},
    {"result": [{"boxes": [0, 0, 10, 0, 10, 5, 0, 5], "recognition_words": ["a"]}]},
    {"result": [{"boxes": [[0, 0, 1], [1, 0], [1, 1], [0, 1]], "recognition_words": ["a"]}]},
    {"result": [{"boxes": [["0", 0], [1, 0], [1, 1], [0, 1]], "recognition_words": ["a"]}]},
    {"result": [{"boxes": [[False, 0], [1, 0], [1, 1], [0, 1]], "recognition_words": ["a"]}]},
    {"result": [{"boxes": BOX, "recognition_words": "a"}]},
    {"result": [{"boxes": BOX, "recognition_words": ["a", 1]}]},
], ids=lambda raw: json.dumps(raw)[-60:])
def test_kakao_malformed_responses_raise(raw):
    with pytest.raises(ResponseFormatError):
        kakao.parse(raw)


# --- Jenti Light-OCR edge cases ----------------------------------------------------------------

def test_jenti_text_to_flat_quad():
    result = jenti.parse({"서울": [1, 2, 11, 2, 11, 9, 1, 9], "1,000원": [20.5, 2, 40, 2, 40, 9, 20.5, 9]})
    assert result.is_ok
    assert [item.text for item in result.items] == ["서울", "1,000원"]
    assert result.items[0].polygon == quad(1, 2, 11, 2, 11, 9, 1, 9)
    assert result.items[1].polygon[0] == (20.5, 2.0)
    assert all(item.confidence is None and item.granularity == "word" for item in result.items)


def test_jenti_empty_object_means_no_text():
    result = jenti.parse({})
    assert result == ImageResult.ok([])


def test_jenti_error_body_is_an_error():
    result = jenti.parse({"error": "model not loaded"})
    assert result.status == "error" and "model not loaded" in result.error


@pytest.mark.parametrize("raw", [
    ["a", [0, 0, 1, 0, 1, 1, 0, 1]],
    {"a": [0, 0, 1, 0, 1, 1, 0]},
    {"a": [0, 0, 1, 0, 1, 1, 0, 1, 2]},
    {"a": ["0", 0, 1, 0, 1, 1, 0, 1]},
    {"a": [True, 0, 1, 0, 1, 1, 0, 1]},
    {"a": [[0, 0], [1, 0], [1, 1], [0, 1]]},
], ids=lambda raw: json.dumps(raw))
def test_jenti_malformed_responses_raise(raw):
    with pytest.raises(ResponseFormatError):
        jenti.parse(raw)


# --- detection predicates ----------------------------------------------------------------------

@pytest.mark.parametrize("raw, owner", [
    (clova({"inferText": "a"}), "naver"),
    ({"code": "0025", "message": "quota"}, "naver"),
    ({"result": [{"boxes": BOX, "recognition_words": ["a"]}]}, "kakao"),
    ({"code": -10, "msg": "API limit has been exceeded."}, "kakao"),
    ({"가": [0, 0, 1, 0, 1, 1, 0, 1]}, "jenti"),
    ({}, None),
    ({"error": "x"}, None),
    (None, None),
    ([1, 2], None),
])
def test_each_provider_claims_only_its_own_responses(raw, owner):
    claims = [module.NAME for module in (naver, kakao, jenti) if module.looks_like(raw)]
    assert claims == ([] if owner is None else [owner])
