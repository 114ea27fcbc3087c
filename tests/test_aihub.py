"""`bench gt aihub`: the geometry rules, the streaming reader, validation and the command end to end.

Every input is an AI-Hub-format file built here (the real one is not redistributable); the
images are tiny Pillow JPEGs in the AI-Hub category folders.
"""
from __future__ import annotations

import csv
import io
import json
import math
import random
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import shapely
from PIL import Image
from shapely.geometry import Polygon, box as shapely_box
from typer.testing import CliRunner

from adapters.core.errors import InputError
from bench import app
from gt.aihub import (CATEGORY_ALIASES, GtLine, JsonStream, char_inside_word, convert_words, is_vertical, min_area_rect,
                      order_corners, parse_split_list, read_annotation_file)
from gt.reader import read_annotations

REPO = Path(__file__).resolve().parents[1]
SHIPPED_LIST = REPO / "gt" / "data" / "aihub_test_image_list.txt"
SHARED_LIST = REPO.parent / "shared" / "datasets" / "aihub_test_image_list.txt"

runner = CliRunner()


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------

def image(id_: str, file_name: str, type_: str) -> dict[str, Any]:
    return {"id": id_, "width": 400, "height": 300, "file_name": file_name, "type": type_}


class Annotations:
    """Numbered annotation records for one file."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def add(self, image_id: str, kind: str, bbox: list[float], text: str | None) -> dict[str, Any]:
        record = {"id": f"a{len(self.records) + 1}", "image_id": image_id, "text": text,
                  "attributes": {"class": kind}, "bbox": bbox}
        self.records.append(record)
        return record

    def word(self, image_id: str, bbox: list[float], text: str | None, chars: list[list[float]] = ()) -> None:
        self.add(image_id, "word", bbox, text)
        for c in chars:
            self.add(image_id, "character", c, "가")


def write_json(path: Path, images: list[dict], annotations: list[dict], *, style: str = "compact",
               order: tuple[str, ...] = ("info", "images", "annotations", "licenses")) -> Path:
    doc = {"info": {"name": "Text in the wild Dataset", "date_created": "2019-10-14 04:31:48"},
           "images": images, "annotations": annotations, "licenses": []}
    doc = {key: doc[key] for key in order}
    if style == "windows":  # what a Windows editor saves: BOM, CRLF, indentation
        data = b"\xef\xbb\xbf" + json.dumps(doc, ensure_ascii=False, indent=4).replace("\n", "\r\n").encode()
    else:
        data = json.dumps(doc, ensure_ascii=False).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def tiny_jpeg(path: Path, shade: int = 128) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (shade, 255 - shade, 60)).save(path, quality=90)
    return path


def run(*args: Any):
    return runner.invoke(app, ["gt", "aihub", *map(str, args)])


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def corners(b: list[float]) -> list[tuple[float, float]]:
    x, y, w, h = b
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


# The awkward data set: one image per situation, in AI-Hub's folders.
A, B, C, D, E, F = "A.jpg", "B.jpg", "C.jpg", "D.jpg", "E.jpg", "F.jpg"
STAIR = [[200 + 22 * k, 150 + 14 * k, 20, 20] for k in range(4)]  # a word written at an angle


def awkward_set(root: Path, style: str = "compact", order: tuple[str, ...] = ("info", "images", "annotations",
                                                                                "licenses")) -> Path:
    images = [image("00000001", A, "sign"), image("00000002", B, "product"), image("00000003", C, "book"),
              image("00000004", D, "traffic sign"), image("00000005", E, "product"), image("00000006", F, "book")]
    ann = Annotations()
    ann.word("00000001", [10, 10, 60, 30], "가나", [[12, 12, 25, 25], [40, 12, 25, 26]])
    ann.word("00000001", [100, 10, 30, 80], "출구", [[102, 12, 26, 35], [102, 50, 26, 35]])  # vertical
    ann.word("00000001", [196, 146, 90, 80], "비스듬", STAIR)
    ann.word("00000001", [200, 10, 50, 20], "OPEN")  # no characters
    # one character inside, one within the 5 px margin (x = 6 > 10 - 5), one exactly 5 px out, one 15 px out
    ann.word("00000001", [10, 100, 50, 30], "부분", [[12, 102, 20, 20], [6, 104, 10, 20], [5, 103, 4, 4],
                                                   [45, 102, 30, 20]])
    ann.add("00000001", "ignored", [300, 10, 40, 40], None)
    ann.add("00000001", "character", [305, 12, 10, 10], "x")  # inside the ignored region: not used
    ann.word("00000001", [10, 200, 60, 30], None, [[12, 202, 20, 20], [34, 203, 20, 20]])  # null text
    ann.word("00000001", [10, 250, 60, 30], "")  # empty text
    ann.word("00000001", [80, 250, 60, 30], "  ")  # white space only
    ann.word("00000001", [150, 250, 0, 30], "폭없음")  # zero width
    ann.add("00000001", "ignored", [150, 280, 10, -3], None)  # negative height
    ann.word("00000001", [300, 100, 40, 20], "줄\n바꿈")  # a line break inside the text
    ann.word("00000002", [10, 10, 0, 10], "없음")  # B: only skipped words
    ann.word("00000002", [10, 10, 20, 10], "")
    ann.word("00000003", [5, 5, 50, 20], "책")  # C
    ann.word("00000004", [5, 5, 50, 20], "서울 10km", [[6, 6, 20, 18]])  # D
    ann.word("00000005", [5, 5, 50, 20], "파일없음")  # E: no image file
    ann.word("00000006", [5, 5, 50, 20], "목록밖")  # F: not in the list
    write_json(root / "textinthewild_data_info.json", images, ann.records, style=style, order=order)
    for folder, name in (("Signboard", A), ("Goods", B), ("book", C), ("Traffic_Sign", D), ("book", F)):
        tiny_jpeg(root / folder / name)
    return root


def awkward_list(path: Path) -> Path:
    path.write_text("Singboard/A.jpg\nGoods/B.jpg\nbook/C.jpg\nTraffic_Sign/D.jpg\nGoods/E.jpg\nGoods/NOPE.jpg\n",
                    encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------

def _light_ocr_pairing(points: list[tuple[float, float]]) -> tuple:
    """Light-OCR's rule (utils/sort_point.py) as described: pair the corners by sorting."""
    if is_vertical(points):
        p = sorted(points, key=lambda q: (q[1], q[0]))
        tl, tr = (p[0], p[1]) if p[0][0] < p[1][0] else (p[1], p[0])
        bl, br = (p[2], p[3]) if p[2][0] < p[3][0] else (p[3], p[2])
    else:
        p = sorted(points)
        tl, bl = (p[0], p[1]) if p[0][1] < p[1][1] else (p[1], p[0])
        tr, br = (p[2], p[3]) if p[2][1] < p[3][1] else (p[3], p[2])
    return tl, tr, br, bl


def _rectangle(cx: float, cy: float, w: float, h: float, angle: float) -> list[tuple[float, float]]:
    c, s = math.cos(angle), math.sin(angle)
    return [(round(cx + x * c - y * s, 6), round(cy + x * s + y * c, 6))
            for x, y in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))]


def test_corner_order_agrees_with_light_ocr_and_is_a_clockwise_simple_polygon():
    rng = random.Random(5)
    for _ in range(3000):
        points = _rectangle(rng.uniform(-50, 500), rng.uniform(-50, 500), rng.uniform(1, 300), rng.uniform(1, 300),
                            rng.uniform(0, 2 * math.pi))
        if rng.random() < 0.5:
            points.reverse()
        k = rng.randrange(4)
        points = points[k:] + points[:k]
        ordered = order_corners(points)
        assert ordered == _light_ocr_pairing(points)
        polygon = Polygon(ordered)
        assert polygon.is_valid and polygon.exterior.is_ccw  # counter-clockwise with y up = clockwise on screen


def test_vertical_words_start_on_their_short_top_edge():
    def edges(quad):
        return math.dist(quad[0], quad[1]), math.dist(quad[1], quad[2])

    top, side = edges(order_corners(_rectangle(100, 100, 20, 120, math.radians(15))))  # a tilted column
    assert top < side
    top, side = edges(order_corners(_rectangle(100, 100, 120, 20, math.radians(15))))  # a tilted line
    assert top > side
    # axis-aligned boxes come out TL, TR, BR, BL whichever rule applies
    assert order_corners([(0, 40), (10, 40), (10, 0), (0, 0)]) == ((0, 0), (10, 0), (10, 40), (0, 40))


def test_vertical_means_strictly_taller_than_one_and_a_half_widths():
    assert not is_vertical(corners([0, 0, 20, 30]))
    assert is_vertical(corners([0, 0, 20, 30.01]))


def test_min_area_rect_hugs_an_upright_row_exactly_and_turns_with_slanted_text():
    row = [p for b in ([0, 0, 20, 30], [22, 1, 20, 28], [44, 0, 20, 30]) for p in corners(b)]
    assert sorted(min_area_rect(row)) == sorted([(0, 0), (64, 0), (64, 30), (0, 30)])
    slanted = [p for b in STAIR for p in corners(b)]
    rect = Polygon(min_area_rect(slanted))
    upright = 86 * 62  # the axis-aligned box of the four stairs
    assert rect.area < 0.8 * upright
    assert rect.buffer(1e-6).contains(Polygon(slanted).convex_hull)


@pytest.mark.skipif(shapely.geos_version < (3, 12, 0), reason="GEOS < 3.12 computes the minimum-width rectangle")
def test_min_area_rect_has_the_area_of_geos_minimum_area_rectangle():
    rng = random.Random(3)
    for _ in range(300):
        angle, x, y = rng.uniform(0, math.pi), rng.uniform(0, 400), rng.uniform(0, 400)
        points = []
        for k in range(rng.randint(1, 6)):  # characters along a tilted line, jittered
            cx, cy = x + 25 * k * math.cos(angle) + rng.uniform(-3, 3), y + 25 * k * math.sin(angle) + rng.uniform(-3, 3)
            points += corners([cx, cy, rng.uniform(5, 25), rng.uniform(5, 25)])
        ours = Polygon(min_area_rect(points))
        oracle = shapely.minimum_rotated_rectangle(shapely.MultiPoint(points))
        assert ours.area == pytest.approx(oracle.area, rel=1e-7)
        assert ours.buffer(1e-6).contains(shapely.MultiPoint(points))


def test_character_inside_word_uses_a_strict_5_px_margin():
    word = [100, 100, 50, 20]
    assert char_inside_word(word, [95.5, 96, 10, 10])
    assert not char_inside_word(word, [95, 100, 10, 10])  # exactly 5 px out: Light-OCR uses <
    assert char_inside_word(word, [140, 110, 14.9, 14.9])
    assert not char_inside_word(word, [140, 110, 15, 10])


def test_convert_words_applies_each_rule_and_counts_what_it_drops():
    words = [
        ("word", (0, 0, 50, 20), "가게"),
        ("ignored", (100, 0, 20, 20), "글자 있음"),  # ignored keeps its box and becomes ### whatever its text
        ("word", (200, 0, 40, 20), None),
        ("word", (0, 50, 40, 20), " \t"),
        ("word", (0, 80, -4, 20), "음수"),
        ("word", (0, 110, 40, 20), "###"),
    ]
    chars = [(2, 2, 20, 16), (25, 2, 20, 16), (105, 2, 10, 10), (0, 0, 0, 5)]
    lines, counts = convert_words(words, chars)
    assert [line.text for line in lines] == ["가게", "###", "###", "###"]
    assert lines[0].points == ((2, 2), (45, 2), (45, 18), (2, 18))
    assert lines[1].points == ((100, 0), (120, 0), (120, 20), (100, 20))
    assert lines[2].points == ((200, 0), (240, 0), (240, 20), (200, 20))
    assert counts == {"word": 1, "dont_care_ignored": 1, "dont_care_null_text": 1, "dont_care_text": 1,
                      "empty_text": 1, "bad_box": 1, "own_box": 2, "zero_size_characters": 1}


def test_coordinates_are_rounded_to_the_nearest_integer_not_truncated():
    line = GtLine(((119.9999999, 10.4), (200.5, 10.6), (200.49, -0.4), (-0.6, 3.0)), "가, 나")
    assert line.format() == "120,10,201,11,200,0,-1,3,가, 나"


def test_split_list_parsing_and_category_spelling():
    entries, repeats = parse_split_list("\ufeffSingboard/A.jpg\r\n\r\n# note\r\nGoods\\B.JPG\r\nC.png\r\nsingboard/a.jpg\r\n",
                                        "list.txt")
    assert [(e.line, e.name, e.category) for e in entries] == [(1, "A.jpg", "Singboard"), (4, "B.JPG", "Goods"),
                                                               (5, "C.png", None)]
    assert repeats == 1
    assert CATEGORY_ALIASES["singboard"] == CATEGORY_ALIASES["signboard"] == "Signboard"
    with pytest.raises(InputError, match=r"list\.txt, line 2: expected Category/FILE\.jpg"):
        parse_split_list("Goods/A.jpg\nGoods/\n", "list.txt")


def test_shipped_list_is_the_shared_test_split():
    data = SHIPPED_LIST.read_bytes()
    if SHARED_LIST.is_file():
        assert data == SHARED_LIST.read_bytes()
    entries, repeats = parse_split_list(data.decode(), "shipped")
    assert len(entries) == 9886 and repeats == 0
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.category] = counts.get(entry.category, 0) + 1
    assert counts == {"Goods": 3686, "Singboard": 2979, "Traffic_Sign": 1616, "book": 1605}


# ---------------------------------------------------------------------------------------------
# Streaming JSON
# ---------------------------------------------------------------------------------------------

def _random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.35:
        return rng.choice([rng.randint(-10 ** 9, 10 ** 9), rng.uniform(-1e5, 1e5), 1.5e-7, -0.0, None, True, False,
                           "서울역" * rng.randint(0, 3), 'q"uo\\te\n', "\u2028", ""])
    if roll < 0.7:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    return {f"키{k}": _random_value(rng, depth + 1) for k in range(rng.randint(0, 4))}


@pytest.mark.slow  # seconds of work in one test
def test_stream_reads_what_json_load_reads_whatever_the_chunk_boundaries():
    rng = random.Random(11)
    for trial in range(150):
        doc = {"info": _random_value(rng), "images": [_random_value(rng) for _ in range(rng.randint(0, 12))],
               "annotations": [_random_value(rng) for _ in range(rng.randint(0, 12))], "licenses": _random_value(rng)}
        text = json.dumps(doc, ensure_ascii=rng.random() < 0.2, indent=rng.choice([None, 1, 4]))
        if rng.random() < 0.3:
            text = text.replace("\n", "\r\n")
        data = (b"\xef\xbb\xbf" if rng.random() < 0.3 else b"") + text.encode()
        got: dict[str, list] = {"images": [], "annotations": []}
        stream = JsonStream(io.BytesIO(data), "doc.json", chunk_size=rng.randint(1, 23))
        seen = stream.walk({key: (lambda k: lambda i, v, o: got[k].append(v))(key) for key in got})
        assert got == {"images": doc["images"], "annotations": doc["annotations"]}, trial
        assert seen == set(doc)


@pytest.mark.parametrize("tail, message", [
    (b'{"id": "i2", "file_name": "B.jpg",, "type": "book"}]}', "Expecting property name"),
    (b'{"id": "i2", "file_name": "B.jpg"} {"id": "i3"}]}', "expected ',' or ']'"),
    (b'{"id": "i2", "file_name": "B.jpg"}]} trailing', "unexpected data after the top-level object"),
])
def test_invalid_json_names_the_byte_offset(tmp_path: Path, tail: bytes, message: str):
    head = '{"info": {"name": "한국어 글자체"}, "images": [{"id": "i1", "file_name": "가.jpg"}, '.encode()
    path = tmp_path / "bad.json"
    path.write_bytes(head + tail)
    with pytest.raises(InputError) as caught:
        read_annotation_file(path, None, progress=False, chunk_size=16)
    text = str(caught.value)
    assert message in text and "bad.json: invalid JSON at byte" in text
    offset = int(text.split("at byte ")[1].split(":")[0])
    assert len(head) <= offset <= len(head + tail)  # a byte offset (the head holds multi-byte Hangul)
    if tail.startswith(b'{"id": "i2", "file_name": "B.jpg",,'):
        assert offset == len(head) + tail.index(b",,") + 1  # the second comma, where a key should be


def test_non_utf8_file_is_reported_with_its_byte_offset(tmp_path: Path):
    path = tmp_path / "cp949.json"
    prefix = b'{"images": [{"id": "1", "file_name": "'
    path.write_bytes(prefix + "간판.jpg".encode("cp949") + b'"}], "annotations": []}')
    with pytest.raises(InputError, match=rf"not UTF-8 text at byte {len(prefix)}"):
        read_annotation_file(path, None, progress=False)


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------

def test_awkward_set_converts_by_the_rules(tmp_path: Path):
    aihub, out = awkward_set(tmp_path / "aihub"), tmp_path / "out"
    result = run("--aihub", aihub, "--list", awkward_list(tmp_path / "list.txt"), "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output

    gt = read_annotations(out / "gt")
    assert sorted(gt.images) == ["A", "C", "D"]
    words_a = gt.images["A"]
    assert [(w.text, w.care) for w in words_a] == [
        ("가나", True), ("출구", True), ("비스듬", True), ("OPEN", True), ("부분", True), ("###", False),
        ("###", False), ("줄 바꿈", True)]
    by_text = {w.text: w.points for w in words_a if w.care}
    assert by_text["가나"] == ((12, 12), (65, 12), (65, 38), (12, 38))
    assert by_text["출구"] == ((102, 12), (128, 12), (128, 85), (102, 85))  # vertical: the characters' column
    assert by_text["OPEN"] == ((200, 10), (250, 10), (250, 30), (200, 30))  # no characters: its own box
    assert by_text["부분"] == ((6, 102), (32, 102), (32, 124), (6, 124))  # characters 5 and 15 px out: not used
    assert words_a[5].points == ((300, 10), (340, 10), (340, 50), (300, 50))  # ignored region: its own box
    assert words_a[6].points == ((12, 202), (54, 202), (54, 223), (12, 223))  # null text: characters' rectangle
    slanted = Polygon(by_text["비스듬"])
    assert slanted.area < 0.8 * 86 * 62 and slanted.exterior.is_ccw

    # every line's polygon holds the characters that belong to its word (1 px for integer rounding)
    source = json.loads((aihub / "textinthewild_data_info.json").read_text(encoding="utf-8"))
    records = [r for r in source["annotations"] if r["image_id"] == "00000001"]
    chars = [r["bbox"] for r in records if r["attributes"]["class"] == "character"]
    written = iter(w for w in words_a)
    for record in records:
        kind, (_, _, w, h) = record["attributes"]["class"], record["bbox"]
        if kind == "character" or w <= 0 or h <= 0 or (kind == "word" and record["text"] is not None
                                                        and not record["text"].strip()):
            continue
        line = next(written)
        polygon = Polygon(line.points).buffer(1.0)
        members = [c for c in chars if kind == "word" and char_inside_word(record["bbox"], c)]
        for cx, cy, cw, ch in members or [record["bbox"]]:
            assert polygon.contains(shapely_box(cx, cy, cx + cw, cy + ch)), (record["id"], line)

    assert read_csv(out / "categories.csv") == [{"stem": "A", "category": "Signboard"},
                                                {"stem": "C", "category": "book"},
                                                {"stem": "D", "category": "Traffic_Sign"}]
    assert (out / "categories.csv").read_bytes().startswith(b"\xef\xbb\xbfstem,category\n")
    assert sorted(str(p.relative_to(out / "images")) for p in (out / "images").rglob("*.jpg")) == [
        "Signboard/A.jpg", "Traffic_Sign/D.jpg", "book/C.jpg"]
    assert (out / "images" / "Signboard" / A).read_bytes() == (aihub / "Signboard" / A).read_bytes()
    assert {(r["file_name"], r["reason"]) for r in read_csv(out / "left_out.csv")} == {
        ("B.jpg", "no word left after conversion (empty gt)"),
        ("E.jpg", "no image file under the AI-Hub folder"),
        ("NOPE.jpg", "not in the annotation file")}

    summary = result.stdout
    assert "images written: 3" in summary and "Signboard 1" in summary
    assert "gt lines: 8 words, 1 don't care (ignored regions), 1 don't care (words with null text)" in summary
    assert "skipped: 3 words with empty text, 3 words or regions with zero or negative width or height" in summary
    assert "images left out: 3 (1 not in the annotation file, 1 no image file under the AI-Hub folder, " \
           "1 no word left after conversion (empty gt))" in summary
    assert "read 6 images and 34 annotations" in summary


def test_windows_saved_json_and_annotations_before_images_give_the_same_gt(tmp_path: Path):
    outputs = []
    for name, style, order in (("plain", "compact", ("info", "images", "annotations", "licenses")),
                               ("windows", "windows", ("info", "images", "annotations", "licenses")),
                               ("reordered", "compact", ("annotations", "licenses", "info", "images"))):
        aihub, out = awkward_set(tmp_path / name / "aihub", style, order), tmp_path / name / "out"
        result = run("--aihub", aihub, "--list", awkward_list(tmp_path / name / "list.txt"), "--out", out,
                     "--no-progress")
        assert result.exit_code == 0, result.output
        outputs.append({p.name: p.read_bytes() for p in (out / "gt").glob("*.txt")})
        if name == "reordered":
            assert "in 2 pass(es)" in result.stdout
    assert outputs[0] == outputs[1] == outputs[2] and len(outputs[0]) == 3


def test_default_list_is_the_shipped_split_and_signboard_spelling_is_handled(tmp_path: Path):
    entries, _ = parse_split_list(SHIPPED_LIST.read_text(encoding="utf-8"), "shipped")
    sign = next(e for e in entries if e.category == "Singboard")
    goods = next(e for e in entries if e.category == "Goods")
    ann = Annotations()
    ann.word("1", [5, 5, 40, 20], "간판")
    ann.word("2", [5, 5, 40, 20], "상품")
    aihub = tmp_path / "aihub"
    write_json(aihub / "textinthewild_data_info.json", [image("1", sign.name, "sign"), image("2", goods.name, "product")],
               ann.records)
    tiny_jpeg(aihub / "Signboard" / sign.name)
    tiny_jpeg(aihub / "Goods" / goods.name)
    result = run("--aihub", aihub, "--out", tmp_path / "out", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "images written: 2" in result.stdout and "9,884 not in the annotation file" in result.stdout
    assert {r["category"] for r in read_csv(tmp_path / "out" / "categories.csv")} == {"Signboard", "Goods"}
    assert (tmp_path / "out" / "images" / "Signboard" / sign.name).is_file()


def test_link_all_duplicates_and_flat_folders(tmp_path: Path):
    aihub = tmp_path / "aihub"
    ann = Annotations()
    for k in range(1, 5):
        ann.word(str(k), [5, 5, 40, 20], f"단어{k}")
    images = [image("1", "dup.jpg", "product"), image("2", "dup.jpg", "sign"),  # one file name, two records
              image("3", "twice.jpg", "book"), image("4", "flat.jpg", "mystery type")]
    write_json(aihub / "textinthewild_data_info.json", images, ann.records)
    tiny_jpeg(aihub / "Goods" / "dup.jpg")
    tiny_jpeg(aihub / "Goods" / "twice.jpg", 10)  # the same name in two folders
    tiny_jpeg(aihub / "book" / "twice.jpg", 200)
    tiny_jpeg(aihub / "flat.jpg")  # not in a category folder: its type names the category
    out = tmp_path / "out"
    result = run("--aihub", aihub, "--all", "--out", out, "--link", "--no-progress")
    assert result.exit_code == 0, result.output
    assert read_csv(out / "categories.csv") == [{"stem": "dup", "category": "Goods"},
                                                {"stem": "flat", "category": "mystery_type"},
                                                {"stem": "twice", "category": "book"}]
    assert read_annotations(out / "gt").images["dup"][0].text == "단어1"  # the first record wins
    assert "1 image record(s) repeat the file name" in result.stdout
    assert "1 file name(s) exist in several folders" in result.stdout
    linked = out / "images" / "book" / "twice.jpg"
    assert linked.stat().st_ino == (aihub / "book" / "twice.jpg").stat().st_ino or linked.is_symlink()
    assert "hard-linked" in result.stdout or "symlinked" in result.stdout


@pytest.mark.parametrize("mutate, fragment", [
    (lambda doc: doc["annotations"].append({"id": "zz9", "image_id": "00000099", "text": "x",
                                            "attributes": {"class": "word"}, "bbox": [1, 1, 2, 2]}),
     r"annotation #35 \(id 'zz9'\) at byte \d+: refers to image id '00000099', which is not in \"images\""),
    (lambda doc: doc["annotations"][3].pop("bbox"), r"annotation #4 \(id 'a4'\) at byte \d+: missing key 'bbox'"),
    (lambda doc: doc["annotations"][0].pop("text"), r"annotation #1 \(id 'a1'\) .*: missing key 'text'"),
    (lambda doc: doc["annotations"][2]["attributes"].pop("class"), r"#3 \(id 'a3'\) .*missing key 'attributes.class'"),
    (lambda doc: doc["annotations"][1].update(bbox=[1, 2, 3]), r"#2 .*bbox must be 4 numbers \[x, y, width, "
                                                                r"height\], found \[1, 2, 3\]"),
    (lambda doc: doc["annotations"][1].update(bbox=["1", 2, 3, 4]), r"#2 .*bbox must be 4 numbers"),
    (lambda doc: doc["annotations"][1].update(bbox=[1, 2, True, 4]), r"#2 .*bbox must be 4 numbers"),
    (lambda doc: doc["annotations"][4]["attributes"].update({"class": "sentence"}),
     r"#5 .*unknown attributes.class 'sentence' \(expected word, character or ignored\)"),
    (lambda doc: doc["annotations"][0].update(text=7), r"#1 .*text must be a string or null, found int"),
    (lambda doc: doc["images"][2].pop("file_name"), r"image #3 \(id '00000003'\) at byte \d+: missing key 'file_name'"),
    (lambda doc: doc["images"][4].update(id="00000001"), r"image #5 .*image id '00000001' is already used by image #1"),
    (lambda doc: doc.pop("annotations"), r"no \"annotations\" array"),
    (lambda doc: doc.update(images={"id": 1}), r"\"images\" must be an array, found dict"),
])
def test_bad_records_stop_with_exit_2_and_name_the_record(tmp_path: Path, mutate, fragment):
    aihub = awkward_set(tmp_path / "aihub")
    path = aihub / "textinthewild_data_info.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    mutate(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = run("--aihub", aihub, "--list", awkward_list(tmp_path / "list.txt"), "--out", tmp_path / "out",
                 "--no-progress")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ")
    assert re.search(fragment, result.output), result.output
    assert not (tmp_path / "out" / "gt").exists()  # nothing written from a bad file


def test_record_error_points_at_the_record_byte(tmp_path: Path):
    aihub = awkward_set(tmp_path / "aihub")
    path = aihub / "textinthewild_data_info.json"
    data = path.read_bytes().replace(b'"id": "a7", "image_id": "00000001"', b'"id": "a7", "image_id": "nowhere"')
    path.write_bytes(data)
    result = run("--aihub", aihub, "--all", "--out", tmp_path / "out", "--no-progress")
    assert result.exit_code == 2
    start = data.index(b'{"id": "a7"')
    assert f"annotation #7 (id 'a7') at byte {start}: refers to image id 'nowhere'" in result.output


def test_usage_errors_exit_2(tmp_path: Path):
    aihub = awkward_set(tmp_path / "aihub")
    listing = awkward_list(tmp_path / "list.txt")
    result = run("--aihub", aihub, "--list", listing, "--all", "--out", tmp_path / "o1")
    assert result.exit_code == 2 and "--list and --all exclude each other" in result.output
    result = run("--aihub", aihub, "--list", listing, "--out", aihub / "converted")
    assert result.exit_code == 2 and "is inside the AI-Hub folder" in result.output
    result = run("--aihub", tmp_path / "missing", "--out", tmp_path / "o2")
    assert result.exit_code == 2 and "no such folder" in result.output
    result = run("--aihub", tmp_path, "--out", tmp_path / "o3")
    assert result.exit_code == 2 and "annotation file not found (pass --annotations FILE" in result.output
    nothing = tmp_path / "nothing.txt"
    nothing.write_text("Goods/NOPE1.jpg\nbook/NOPE2.jpg\n", encoding="utf-8")
    result = run("--aihub", aihub, "--list", nothing, "--out", tmp_path / "o4", "--no-progress")
    assert result.exit_code == 2 and "none of the 2 entries" in result.output and "NOPE1.jpg" in result.output
    no_files = tmp_path / "no_files.txt"
    no_files.write_text("Goods/E.jpg\n", encoding="utf-8")
    result = run("--aihub", aihub, "--list", no_files, "--out", tmp_path / "o5", "--no-progress")
    assert result.exit_code == 2 and "has an image file" in result.output
    empty = tmp_path / "empty"
    write_json(empty / "textinthewild_data_info.json", [], [])
    result = run("--aihub", empty, "--all", "--out", tmp_path / "o7", "--no-progress")
    assert result.exit_code == 2 and "the \"images\" array is empty" in result.output
    empty_only = tmp_path / "empty_only.txt"
    empty_only.write_text("Goods/B.jpg\n", encoding="utf-8")
    result = run("--aihub", aihub, "--list", empty_only, "--out", tmp_path / "o6", "--no-progress")
    assert result.exit_code == 2 and "had a word left" in result.output


def test_existing_set_needs_overwrite_which_replaces_only_its_own_files(tmp_path: Path):
    aihub, out = awkward_set(tmp_path / "aihub"), tmp_path / "out"
    listing = awkward_list(tmp_path / "list.txt")
    assert run("--aihub", aihub, "--list", listing, "--out", out, "--no-progress").exit_code == 0
    (out / "gt" / "stale.txt").write_text("0,0,1,0,1,1,0,1,old\n", encoding="utf-8")
    (out / "notes.md").write_text("mine", encoding="utf-8")
    result = run("--aihub", aihub, "--list", listing, "--out", out, "--no-progress")
    assert result.exit_code == 2 and "already holds a data set" in result.output
    result = run("--aihub", aihub, "--list", listing, "--out", out, "--overwrite", "--no-progress")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "gt").iterdir()) == ["A.txt", "C.txt", "D.txt"]
    assert (out / "notes.md").read_text(encoding="utf-8") == "mine"


def test_help_shows_examples():
    result = runner.invoke(app, ["gt", "aihub", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "bench gt aihub --aihub" in result.stdout and "--link" in result.stdout


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------

def _big_annotation_file(path: Path, images: int) -> None:
    """AI-Hub-shaped records (8 words of 3 characters per image), written with string templates for speed."""
    types = ("book", "product", "sign", "traffic sign")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{"info": {"name": "Text in the wild Dataset"}, "images": [')
        handle.write(",".join(f'{{"id": "{i:08d}", "width": 1920, "height": 1440, "file_name": "{i:032X}.jpg", '
                              f'"type": "{types[i % 4]}"}}' for i in range(images)))
        handle.write('], "annotations": [')
        number = 0
        for i in range(images):
            parts = []
            for w in range(8):
                x = 100 + 150 * w
                number += 1
                parts.append(f'{{"id": "{number:08d}", "image_id": "{i:08d}", "text": "가나다", '
                             f'"attributes": {{"class": "word"}}, "bbox": [{x}, 200, 120, 40]}}')
                for c in range(3):
                    number += 1
                    parts.append(f'{{"id": "{number:08d}", "image_id": "{i:08d}", "text": "가", '
                                 f'"attributes": {{"class": "character"}}, "bbox": [{x + 40 * c}, 200, 40, 40]}}')
            handle.write(("," if i else "") + ",".join(parts))
        handle.write('], "licenses": []}')


# In-process, but about 3 s of CPU (a 15 MB file read under tracemalloc): out of the quick loop.
@pytest.mark.slow
def test_reading_a_big_file_keeps_peak_memory_far_below_its_size(tmp_path: Path):
    path = tmp_path / "textinthewild_data_info.json"
    _big_annotation_file(path, 4000)
    size = path.stat().st_size
    assert size > 15e6
    wanted = {f"{i:032X}.jpg".lower() for i in range(0, 4000, 10)}  # a 10 % split, like the test list
    tracemalloc.start()
    try:
        index = read_annotation_file(path, wanted, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(index.images) == 400 and index.annotation_records == 4000 * 32
    assert all(len(record.texts) == 8 and len(record.chars) == 4 * 24 for record in index.images.values())
    assert peak < 0.35 * size, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"
