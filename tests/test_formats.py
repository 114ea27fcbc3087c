"""Loading results files: format detection from content, image keys, and clear input errors."""
from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import pytest

from adapters.core.errors import InputError, SchemaError
from adapters.providers.results import image_key, load_results
from adapters.core.schema import ImageResult, Item, ResultSet

BOX = [[0, 0], [10, 0], [10, 5], [0, 5]]
KAKAO_OK = {"result": [{"boxes": BOX, "recognition_words": ["가 자 미"]}]}
KAKAO_QUOTA = {"code": -10, "msg": "API limit has been exceeded."}
JENTI_OK = {"가자미": [0, 0, 10, 0, 10, 5, 0, 5]}
CLOVA_QUOTA = {"code": "0025", "message": "Request limit exceeded"}


def clova_ok(text: str = "서울") -> dict[str, Any]:
    return {"version": "V2", "requestId": "r", "timestamp": 1, "images": [{
        "name": "x", "inferResult": "SUCCESS", "message": "SUCCESS",
        "convertedImageInfo": {"width": 100, "height": 50},
        "fields": [{"inferText": text, "inferConfidence": 0.9,
                    "boundingPoly": {"vertices": [{"x": 1, "y": 2}, {"x": 30, "y": 2}, {"x": 30, "y": 9}, {"x": 1, "y": 9}]}}]}]}


def write_json(path: Path, doc: Any, bom: bool = False) -> Path:
    data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


@pytest.fixture
def bench_log(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    """Warnings of the "bench" logger, even after the CLI turned off its propagation."""
    monkeypatch.setattr(logging.getLogger("bench"), "propagate", True)
    caplog.set_level(logging.WARNING, logger="bench")
    return caplog


# --- detection from content --------------------------------------------------------------------

def test_kakao_content_in_a_file_named_naver(tmp_path: Path):
    result = load_results(write_json(tmp_path / "naver.json", {"menu": KAKAO_OK}))
    assert result.provider == "kakao"
    assert result.images["menu"].items[0].text == "가 자 미"
    assert result.images["menu"].items[0].polygon == ((0, 0), (10, 0), (10, 5), (0, 5))


def test_naver_content_in_a_file_named_jenti(tmp_path: Path):
    result = load_results(write_json(tmp_path / "jenti.json", {"p1": clova_ok("서울"), "p2": clova_ok("부산")}))
    assert result.provider == "naver"
    assert [result.images[s].items[0].text for s in ("p1", "p2")] == ["서울", "부산"]
    assert (result.images["p1"].width, result.images["p1"].height) == (100, 50)
    assert result.images["p1"].items[0].confidence == pytest.approx(0.9)


def test_jenti_content_with_empty_answers_in_a_file_named_kakao(tmp_path: Path):
    result = load_results(write_json(tmp_path / "kakao.json", {"a": JENTI_OK, "blank": {}}))
    assert result.provider == "jenti"
    assert [i.text for i in result.images["a"].items] == ["가자미"]
    assert result.images["blank"] == ImageResult.ok([])


def test_only_empty_answers_are_jenti(tmp_path: Path):
    result = load_results(write_json(tmp_path / "r.json", {"a": {}, "b": {}}))
    assert result.provider == "jenti"
    assert all(r.is_ok and r.items == () for r in result.images.values())


def test_schema_document_is_recognised_whatever_the_name(tmp_path: Path):
    original = ResultSet("tesseract", {"a": ImageResult.ok([Item(None, "글")]), "b": ImageResult.failed("timeout")})
    original.save(tmp_path / "kakao.json")
    assert load_results(tmp_path / "kakao.json") == original


def test_invalid_schema_document_names_the_file_and_field(tmp_path: Path):
    doc = ResultSet("naver", {"a": ImageResult.ok([Item(None, "글")])}).to_json()
    doc["images"]["a"]["items"][0]["confidence"] = 3
    path = write_json(tmp_path / "naver.json", doc)
    with pytest.raises(SchemaError, match=r"naver\.json: images\['a'\]\.items\[0\]\.confidence"):
        load_results(path)


def test_utf8_bom_is_accepted(tmp_path: Path):
    result = load_results(write_json(tmp_path / "kakao.json", {"menu": KAKAO_OK}, bom=True))
    assert result.provider == "kakao" and list(result.images) == ["menu"]


def test_mixed_providers_are_an_input_error_naming_both(tmp_path: Path):
    path = write_json(tmp_path / "naver.json", {"a": clova_ok(), "b": KAKAO_OK})
    with pytest.raises(InputError) as info:
        load_results(path)
    message = str(info.value)
    assert "naver.json" in message and "naver" in message.replace("naver.json", "") and "kakao" in message
    assert "'a'" in message and "'b'" in message


def test_mixed_error_bodies_are_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="more than one provider"):
        load_results(write_json(tmp_path / "x.json", {"a": CLOVA_QUOTA, "b": KAKAO_QUOTA}))


@pytest.mark.parametrize("doc", [
    {"a": {"text": "hello"}},
    {"a": None, "b": 3},
    {"a": {"error": "x"}},
], ids=["unknown object", "scalars", "jenti error only"])
def test_undetectable_content_is_an_input_error(tmp_path: Path, doc: Any):
    with pytest.raises(InputError, match=r"r\.json: cannot tell which provider"):
        load_results(write_json(tmp_path / "r.json", doc))


def test_top_level_list_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match=r"r\.json: expected a JSON object .* got list"):
        load_results(write_json(tmp_path / "r.json", [KAKAO_OK]))


def test_invalid_json_names_file_line_and_column(tmp_path: Path):
    path = tmp_path / "kakao.json"
    path.write_text('{\n  "a": {"result": []},\n  "b": {"result": [}\n}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"kakao\.json: not valid JSON: .* line 3, column 20"):
        load_results(path)


def test_non_utf8_json_is_an_input_error(tmp_path: Path):
    path = tmp_path / "kakao.json"
    path.write_bytes(json.dumps({"a": {"result": [{"boxes": BOX, "recognition_words": ["가"]}]}},
                                ensure_ascii=False).encode("cp949"))
    with pytest.raises(InputError, match=r"kakao\.json: not UTF-8"):
        load_results(path)


def test_missing_file_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="no such file"):
        load_results(tmp_path / "absent.json")


# --- image keys --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, stem", [
    ("img.jpg", "img"), ("IMG_01.JPEG", "IMG_01"), ("scan.v2.png", "scan.v2"), ("page.tif", "page"),
    ("dir/sub/img.webp", "img"), ("img", "img"), ("report.v2", "report.v2"), (".jpg", ".jpg"),
])
def test_image_key(name: str, stem: str):
    assert image_key(name) == stem


def test_keys_with_image_extensions_map_to_stems(tmp_path: Path):
    result = load_results(write_json(tmp_path / "kakao.json", {"img_1.jpg": KAKAO_OK, "img_2.PNG": KAKAO_OK, "img_3": KAKAO_OK}))
    assert sorted(result.images) == ["img_1", "img_2", "img_3"]


def test_two_files_of_the_same_stem_are_an_input_error(tmp_path: Path):
    path = write_json(tmp_path / "kakao.json", {"img.jpg": KAKAO_OK, "img.png": KAKAO_OK})
    with pytest.raises(InputError, match=r"two entries for image 'img': 'img\.jpg' and 'img\.png'"):
        load_results(path)


# --- broken and error responses become error entries -------------------------------------------

def test_broken_response_for_one_image_is_an_error_entry_naming_it(tmp_path: Path, bench_log):
    broken = {"result": [{"boxes": [["7", 11], [163, 11], [163, 61], [7, 61]], "recognition_words": ["전 골"]}]}
    result = load_results(write_json(tmp_path / "kakao.json", {"good.jpg": KAKAO_OK, "menu_07.jpg": broken}))
    assert result.provider == "kakao"
    assert result.images["good"].is_ok and len(result.images["good"].items) == 1
    entry = result.images["menu_07"]
    assert entry.status == "error"
    assert "menu_07" in entry.error
    warnings = [r.getMessage() for r in bench_log.records if r.name == "bench" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "menu_07" in warnings[0] and "kakao.json" in warnings[0]


def test_null_response_is_an_error_entry(tmp_path: Path, bench_log):
    result = load_results(write_json(tmp_path / "naver.json", {"a": clova_ok(), "b": None}))
    assert result.provider == "naver"
    assert result.images["a"].is_ok and result.images["b"].status == "error"
    assert any("'b'" in r.getMessage() for r in bench_log.records)


def test_old_kakao_quota_errors_are_error_entries(tmp_path: Path):
    doc = {"img_1.jpg": KAKAO_OK, "img_2.jpg": KAKAO_QUOTA, "img_3.jpg": KAKAO_QUOTA}
    result = load_results(write_json(tmp_path / "kakao.json", doc))
    assert result.provider == "kakao"
    assert result.images["img_1"].is_ok
    for stem in ("img_2", "img_3"):
        assert result.images[stem].status == "error"
        assert "API limit has been exceeded." in result.images[stem].error


def test_kakao_file_of_only_quota_errors(tmp_path: Path):
    result = load_results(write_json(tmp_path / "kakao.json", {"a": KAKAO_QUOTA}))
    assert result.provider == "kakao" and result.images["a"].status == "error"


def test_old_naver_error_bodies_are_error_entries(tmp_path: Path):
    result = load_results(write_json(tmp_path / "naver.json", {"a": clova_ok(), "b": CLOVA_QUOTA}))
    assert result.provider == "naver"
    assert result.images["b"].status == "error" and "0025" in result.images["b"].error


def test_jenti_error_body_next_to_answers_is_an_error_entry(tmp_path: Path):
    result = load_results(write_json(tmp_path / "jenti.json", {"a": JENTI_OK, "b": {"error": "server busy"}}))
    assert result.provider == "jenti"
    assert result.images["b"].status == "error" and "server busy" in result.images["b"].error


# --- ICDAR-style predictions -------------------------------------------------------------------

ICDAR_FILES = {
    "res_img_1.txt": "0,0,10,0,10,5,0,5,서울\n1,1,2,1,2,2,1,2\n",
    "img_2.txt": "\ufeff5,5,6,5,6,6,5,6,1,000원\r\n\r\n",
    "gt_img_3.txt": "",
}


def check_icdar(result: ResultSet):
    assert result.provider == "icdar"
    assert sorted(result.images) == ["img_1", "img_2", "img_3"]
    first = result.images["img_1"]
    assert [i.text for i in first.items] == ["서울", ""]
    assert first.items[0].polygon == ((0, 0), (10, 0), (10, 5), (0, 5))
    assert first.items[1].confidence is None
    assert [i.text for i in result.images["img_2"].items] == ["1,000원"]
    assert result.images["img_3"] == ImageResult.ok([])


def test_icdar_folder(tmp_path: Path):
    folder = tmp_path / "res"
    folder.mkdir()
    for name, text in ICDAR_FILES.items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
    check_icdar(load_results(folder))


def test_icdar_zip(tmp_path: Path):
    path = tmp_path / "submit.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in ICDAR_FILES.items():
            archive.writestr(name, text.encode("utf-8"))
    check_icdar(load_results(str(path)))


def test_icdar_duplicate_stems_are_an_input_error(tmp_path: Path):
    folder = tmp_path / "res"
    folder.mkdir()
    (folder / "res_a.txt").write_text("0,0,1,0,1,1,0,1,x\n", encoding="utf-8")
    (folder / "a.txt").write_text("0,0,1,0,1,1,0,1,y\n", encoding="utf-8")
    with pytest.raises(InputError, match="'a'"):
        load_results(folder)
