"""The common results schema: round trip, strict validation with a clear first error, safe saving."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.core.errors import InputError, SchemaError
from adapters.core.schema import (
    SCHEMA_NAME,
    SCHEMA_VERSION,
    ImageResult,
    Item,
    ResultSet,
    is_schema_document,
    parse_result_set,
)


def sample_set() -> ResultSet:
    return ResultSet(provider="naver", images={
        "page_1": ImageResult.ok([
            Item(((0.0, 0.0), (10.5, 0.0), (10.5, 4.0), (0.0, 4.0)), "서울특별시", 0.93, "word"),
            Item(None, "무형", None, "line"),
            Item(((1.0, 1.0), (2.0, 1.0), (2.0, 2.0)), "", 0.0, "region"),
        ], width=583, height=822),
        "page_2": ImageResult.ok([]),
        "page_3": ImageResult.failed("CLOVA error 0025: quota exceeded"),
    })


def valid_doc() -> dict[str, Any]:
    return {
        "schema": SCHEMA_NAME, "version": SCHEMA_VERSION, "provider": "kakao",
        "images": {
            "a": {"status": "ok", "width": 10, "height": 20, "items": [
                {"polygon": [[0, 0], [1, 0], [1, 1], [0, 1]], "text": "가", "confidence": 0.5, "granularity": "word"},
                {"polygon": [[0, 0], [1, 0], [1, 1], [0, 1]], "text": "나", "confidence": None, "granularity": "line"},
            ]},
            "b": {"status": "error", "error": "Kakao error -10: API limit has been exceeded."},
        },
    }


def test_round_trip_through_json_text():
    original = sample_set()
    text = json.dumps(original.to_json(), ensure_ascii=False)
    assert parse_result_set(json.loads(text)) == original


def test_to_json_layout():
    doc = sample_set().to_json()
    assert doc["schema"] == "korean-ocr-bench/results" and doc["version"] == 1 and doc["provider"] == "naver"
    assert doc["images"]["page_1"]["width"] == 583 and doc["images"]["page_1"]["height"] == 822
    assert doc["images"]["page_1"]["items"][0] == {
        "polygon": [[0.0, 0.0], [10.5, 0.0], [10.5, 4.0], [0.0, 4.0]],
        "text": "서울특별시", "confidence": 0.93, "granularity": "word"}
    assert doc["images"]["page_1"]["items"][1]["polygon"] is None
    assert "width" not in doc["images"]["page_2"]
    assert doc["images"]["page_3"] == {"status": "error", "error": "CLOVA error 0025: quota exceeded"}


def test_valid_document_parses():
    result = parse_result_set(valid_doc())
    assert result.provider == "kakao"
    assert list(result.images) == ["a", "b"]
    a = result.images["a"]
    assert a.is_ok and (a.width, a.height) == (10, 20)
    assert a.items[0].polygon == ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
    assert [(i.text, i.confidence, i.granularity) for i in a.items] == [("가", 0.5, "word"), ("나", None, "line")]
    assert not result.images["b"].is_ok and result.images["b"].error.startswith("Kakao error -10")


def test_optional_item_fields_have_defaults():
    doc = valid_doc()
    doc["images"]["a"]["items"] = [{"text": "x"}]
    item = parse_result_set(doc).images["a"].items[0]
    assert (item.polygon, item.confidence, item.granularity) == (None, None, "word")


def test_is_schema_document():
    assert is_schema_document(valid_doc())
    assert not is_schema_document({"images": {}})
    assert not is_schema_document([valid_doc()])


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    if value is DELETE:
        del doc[path[-1]]
    else:
        doc[path[-1]] = value


DELETE = object()
ITEM0 = ("images", "a", "items", 0)


@pytest.mark.parametrize("path, value, message", [
    (("schema",), "something-else", "not a 'korean-ocr-bench/results' document"),
    (("version",), 2, "unsupported schema version 2"),
    (("version",), "1", "unsupported schema version '1'"),
    (("version",), DELETE, "unsupported schema version None"),
    (("provider",), DELETE, "'provider' must be a non-empty string"),
    (("provider",), "", "'provider' must be a non-empty string"),
    (("images",), [], "'images' must be an object"),
    (("images", "a"), "ok", r"images\['a'\]: expected an object"),
    (("images", "a", "status"), "done", r"images\['a'\]\.status: expected 'ok' or 'error', got 'done'"),
    (("images", "a", "status"), DELETE, r"images\['a'\]\.status"),
    (("images", "b", "error"), DELETE, r"images\['b'\]\.error: an error entry needs a non-empty reason"),
    (("images", "b", "error"), "", r"images\['b'\]\.error"),
    (("images", "a", "items"), DELETE, r"images\['a'\]\.items: expected a list"),
    (("images", "a", "width"), 0, r"images\['a'\]\.width: expected a positive integer"),
    (("images", "a", "height"), 8.5, r"images\['a'\]\.height: expected a positive integer"),
    (("images", "a", "width"), True, r"images\['a'\]\.width"),
    (ITEM0, "가", r"images\['a'\]\.items\[0\]: expected an object"),
    (ITEM0 + ("polygon",), {"x": 1}, r"images\['a'\]\.items\[0\]\.polygon: expected a list"),
    (ITEM0 + ("polygon", 2), [1, 1, 1], r"images\['a'\]\.items\[0\]\.polygon\[2\]: expected an \[x, y\] pair"),
    (ITEM0 + ("polygon", 2), {"x": 1, "y": 1}, r"items\[0\]\.polygon\[2\]: expected an \[x, y\] pair"),
    (ITEM0 + ("polygon", 1, 1), float("nan"), r"items\[0\]\.polygon\[1\]\[1\]: expected a finite number, got nan"),
    (ITEM0 + ("polygon", 1, 0), float("inf"), r"items\[0\]\.polygon\[1\]\[0\]: expected a finite number"),
    (ITEM0 + ("polygon", 1, 0), "1", r"items\[0\]\.polygon\[1\]\[0\]: expected a finite number"),
    (ITEM0 + ("polygon", 1, 0), False, r"items\[0\]\.polygon\[1\]\[0\]: expected a finite number"),
    (ITEM0 + ("text",), DELETE, r"items\[0\]\.text: expected a string"),
    (ITEM0 + ("text",), 12, r"items\[0\]\.text: expected a string"),
    (ITEM0 + ("confidence",), 1.5, r"items\[0\]\.confidence: expected a value in \[0, 1\], got 1.5"),
    (ITEM0 + ("confidence",), -0.1, r"items\[0\]\.confidence: expected a value in \[0, 1\]"),
    (ITEM0 + ("confidence",), "0.5", r"items\[0\]\.confidence: expected a finite number"),
    (ITEM0 + ("granularity",), "char", r"items\[0\]\.granularity: expected one of word, line, region, got 'char'"),
    (ITEM0 + ("score",), 0.5, r"items\[0\]: unknown field\(s\) \['score'\]"),
], ids=lambda v: None if not isinstance(v, tuple) else ".".join(map(str, v)))
def test_validation_names_the_bad_field(path, value, message):
    doc = valid_doc()
    _set(doc, path, value)
    with pytest.raises(SchemaError, match=message) as info:
        parse_result_set(doc, "runs/x/naver.json")
    assert str(info.value).startswith("runs/x/naver.json: ")
    assert isinstance(info.value, InputError)  # the CLI maps it to exit code 2


def test_first_problem_is_reported():
    doc = valid_doc()
    doc["images"]["a"]["items"][1]["granularity"] = "char"
    doc["images"]["a"]["items"][0]["confidence"] = 7
    with pytest.raises(SchemaError, match=r"items\[0\]\.confidence"):
        parse_result_set(doc)


def test_save_writes_readable_utf8_korean(tmp_path: Path):
    target = tmp_path / "naver.json"
    sample_set().save(target)
    data = target.read_bytes()
    assert "서울특별시".encode("utf-8") in data and b"\\u" not in data
    assert parse_result_set(json.loads(data.decode("utf-8"))) == sample_set()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["naver.json"]


def test_save_replaces_an_existing_file_whole(tmp_path: Path):
    target = tmp_path / "naver.json"
    target.write_text("x" * 100_000, encoding="utf-8")
    small = ResultSet("naver", {"a": ImageResult.failed("quota")})
    small.save(target)
    assert json.loads(target.read_text(encoding="utf-8")) == small.to_json()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["naver.json"]


@pytest.mark.parametrize("bad_text", [object(), "\ud800"], ids=["not serializable", "lone surrogate"])
def test_failed_save_keeps_the_old_file_and_leaves_nothing_behind(tmp_path: Path, bad_text: Any):
    """A save that fails half-way must neither damage the previous results nor leave a .tmp file."""
    target = tmp_path / "naver.json"
    sample_set().save(target)
    before = target.read_bytes()
    broken = ResultSet("naver", {"a": ImageResult.ok([Item(None, bad_text)])})
    with pytest.raises((TypeError, ValueError)):
        broken.save(target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["naver.json"]


def test_parse_does_not_mutate_the_document():
    doc = valid_doc()
    snapshot = copy.deepcopy(doc)
    parse_result_set(doc)
    assert doc == snapshot
