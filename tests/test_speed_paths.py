"""The fast paths of issue "Speed" give exactly what the plain code beside them gives (no timing here)."""
from __future__ import annotations

import math
import re
from dataclasses import asdict, fields
from types import SimpleNamespace

import pytest

from adapters.core.errors import SchemaError
from adapters.core.schema import _parse_polygon, parse_item
from adapters.providers.response_fields import ResponseFormatError, coordinate, vertices
from eval.evaluate import MatchRow
from eval.metrics import ClevalTableCounts, Counts, add_up
from eval.page_text import PageTextCounts
from gt.reader import MAX_COORDINATE, parse_line
from reports.csv_files import write_csv, write_csv_rows
from reports.eval_tables import match_cells


# --- reading -------------------------------------------------------------------------------------

def _checked_parse(line: str):
    """parse_line without its fast path: the checks alone."""
    from gt import reader

    saved = reader._EIGHT_NUMBERS
    reader._EIGHT_NUMBERS = re.compile("(?!)")  # a pattern that never matches
    try:
        return reader.parse_line(line)
    except ValueError as exc:
        return f"ValueError: {exc}"
    finally:
        reader._EIGHT_NUMBERS = saved


@pytest.mark.parametrize("line", [
    "0,0,10,0,10,5,0,5,1,000원", " 1.5, 2 ,-3.25,4, 5,6 ,7,8 ,  서울역  ", "+1,.5,1.,-0,0,0,0,0,x",
    "999999999.9,0,1,0,1,1,0,1,가", "1000000000,0,1,0,1,1,0,1,가", "1000000001,0,1,0,1,1,0,1,가",
    "\u00a01\u3000,2,3,4,5,6,7,8,nbsp", "١٢,2,3,4,5,6,7,8,arabic digits", "1e3,0,1,0,1,1,0,1,exp", "nan,0,1,0,1,1,0,1,x",
    "1,2,3,4,5,6,7,8,", "1,2,3,4,5,6,7,8", "1,2,3", "1 2,3,4,5,6,7,8,9,x", "--1,0,1,0,1,1,0,1,x", ".,0,1,0,1,1,0,1,x",
])
def test_parse_line_fast_path_equals_the_checks(line):
    try:
        fast = parse_line(line)
    except ValueError as exc:
        fast = f"ValueError: {exc}"
    assert fast == _checked_parse(line)


@pytest.mark.parametrize("value", [0, -3, 2.5, MAX_COORDINATE, -MAX_COORDINATE, MAX_COORDINATE + 1, 10 ** 12,
                                   float("nan"), float("inf"), True, "1", None])
def test_coordinate_fast_path_keeps_every_check(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or abs(value) > MAX_COORDINATE:
        with pytest.raises(ResponseFormatError):
            coordinate(value, "x")
    else:
        assert coordinate(value, "x") == float(value) and type(coordinate(value, "x")) is float


def test_response_vertices_fast_path_equals_the_checks():
    good = {"vertices": [{"x": 1, "y": 2.5}, {"y": 3}, {"x": -4.0, "y": MAX_COORDINATE}, {"x": 0, "y": 0}]}
    assert vertices(good, "w") == ((1.0, 2.5), (0.0, 3.0), (-4.0, MAX_COORDINATE), (0.0, 0.0))
    for bad in ({"x": True, "y": 1}, {"x": "1", "y": 1}, {"x": float("nan"), "y": 1}, {"x": 2e9, "y": 1}, [1, 2]):
        with pytest.raises(ResponseFormatError):
            vertices({"vertices": [{"x": 0, "y": 0}, bad]}, "w")
    for bad in ({"vertices": []}, {"vertices": ({"x": 1, "y": 1},)}, [], None):
        with pytest.raises(ResponseFormatError):
            vertices(bad, "w")


def test_schema_polygon_fast_path_equals_the_checks():
    assert _parse_polygon([[1, 2], [3.5, -4]], "p") == ((1.0, 2.0), (3.5, -4.0))
    for bad, message in (([[1, 2], [True, 3]], "p[1][0]"), ([[1, 2], [1, 2, 3]], "p[1]"), ([[1, 2e9]], "p[0]"),
                         ([[1, float("inf")]], "p[0][1]")):
        with pytest.raises(SchemaError, match=re.escape(message)):
            _parse_polygon(bad, "p")
    with pytest.raises(SchemaError, match="unknown field"):
        parse_item({"text": "a", "polygon": None, "colour": 1}, "i")


# --- adding up -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", [Counts, ClevalTableCounts, PageTextCounts])
def test_add_up_equals_adding_one_by_one(kind):
    names = [f.name for f in fields(kind)]
    values = [[(k * 7 + j) % 11 + (0.1 * k if isinstance(getattr(kind(), name), float) else 0)
               for j, name in enumerate(names)] for k in range(300)]
    counts = [kind(**dict(zip(names, v))) for v in values]
    total = kind()
    for c in counts:
        total = total + c
    assert add_up(counts, kind()) == total
    assert add_up([], kind()) == kind()


# --- writing -------------------------------------------------------------------------------------

def test_match_cells_write_the_bytes_of_asdict_and_dictwriter(tmp_path):
    texts = ["=HYPERLINK(\"x\")", "+1.5", "-3", "@a", "\tx", "\rx", "", "보통", None, "a,b", 'q"uote', "line\nbreak"]
    rows = []
    for k, text in enumerate(texts):
        rows.append(MatchRow("-stem" if k % 5 == 0 else "img", "match", k, k, 0.1 * k, text, texts[-1 - k],
                             k % 2 == 0, k, k + 1, None if k % 3 else 0.5))
        rows.append(MatchRow("img", "missed", gt_line=k, gt_text=text))
    evaluation = SimpleNamespace(images=[SimpleNamespace(rows=rows)])
    columns = [f.name for f in fields(MatchRow)]
    write_csv(tmp_path / "plain.csv", (asdict(r) for r in rows), columns)
    write_csv_rows(tmp_path / "fast.csv", match_cells(evaluation), columns)
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()


# --- page text and per-image scores ---------------------------------------------------------------

def test_per_image_scores_a_column_at_a_time_equal_flat_scores():
    from eval.metrics import count_types, flat_scores, scores_per_row

    for kind in count_types():
        names = [f.name for f in fields(kind)]
        rows = [kind()]  # every denominator 0: EMPTY
        for k in range(200):
            rows.append(kind(**{name: (k * 13 + 7 * j) % 6 * (0.25 if isinstance(getattr(kind(), name), float) else 1)
                                for j, name in enumerate(names)}))
        columns = scores_per_row(rows, kind)
        for i, row in enumerate(rows):
            expected = flat_scores(row)
            got = {name: values[i] for name, values in columns.items()}
            assert got == expected and [type(v) for v in got.values()] == [type(v) for v in expected.values()]


def test_per_image_csv_written_a_column_at_a_time_has_the_bytes_of_dictwriter(tmp_path):
    from adapters.core.schema import ImageResult, Item, ResultSet
    from eval.evaluate import EvalOptions, evaluate
    from gt.reader import Word
    from reports.eval_tables import PER_IMAGE_FILE, per_image_rows, write_evaluation

    square = ((0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (0.0, 5.0))
    gt = {"=cmd": [Word(square, "가")], "+1": [Word(square, "나"), Word(square, "###", False)], "empty": [],
          "plain": [Word(square, "다")]}
    predictions = {"=cmd": ImageResult.ok([Item(square, "가", 0.9)]), "+1": ImageResult.failed("@bad: =HYPERLINK"),
                   "plain": ImageResult.ok([Item(None, "다")])}
    for protocol in ("iou", "cleval", "both"):
        evaluation = evaluate(gt, predictions, EvalOptions(protocol=protocol))
        write_evaluation(tmp_path / protocol, evaluation, "naver")
        rows = per_image_rows(evaluation)
        write_csv(tmp_path / f"{protocol}.csv", rows, list(rows[0]))
        assert (tmp_path / protocol / PER_IMAGE_FILE).read_bytes() == (tmp_path / f"{protocol}.csv").read_bytes()


_TEXTS = ["서울역", "서울 역", "Ｈello, World!", "ᄒᆞᆫ글", "한\u0301", "\"따옴표\"", "  공백  ", "", "###", "A-1", "ß", "ﬁ"]


@pytest.mark.parametrize("options", [dict(), dict(ignore_case=True), dict(icdar15=True),
                                     dict(ignore_space=True, ignore_punct=True)])
def test_page_counts_of_batch_normalised_texts_equal_the_plain_page_counts(options):
    import random

    from adapters.core.schema import Item
    from eval.page_text import cer_variants, page_text_counts
    from eval.protocols import page_counts, page_text_form
    from eval.text import TextOptions, normalize
    from gt.reader import Word

    text = TextOptions(**options)
    rng = random.Random(3)
    for _ in range(60):
        care = [Word(((x, 0.0), (x + 5, 0.0), (x + 5, 4.0), (x, 4.0)), rng.choice(_TEXTS)) for x in range(0, 40, 8)]
        items = [Item(((x, 0.5), (x + 5, 0.5), (x + 5, 4.0), (x, 4.0)), rng.choice(_TEXTS)) for x in range(0, 40, 9)]
        counted = [k for k in range(len(items)) if rng.random() < 0.8]
        gt_texts, pred_texts = [w.text for w in care], [items[i].text for i in counted]
        page = page_text_counts(gt_texts, pred_texts, lambda value: normalize(value, text))
        variants = cer_variants(gt_texts, pred_texts, lambda value: normalize(value, text))
        given = [page_text_form(w.text, text, normalize(w.text, text)) for w in care]
        assert page_counts(care, items, counted, text) == (page, variants.flat())
        assert page_counts(care, items, counted, text, care_normalized=given) == (page, variants.flat())


def test_common_counts_the_multiset_intersection():
    from collections import Counter

    from eval.page_text import _common

    for a, b in [("", "abc"), ("aab", "ab"), ("가나나다", "나나나"), (["w", "w", "x"], ["w", "y"]), ("abc", "")]:
        assert _common(a, b) == sum((Counter(a) & Counter(b)).values())


# --- reading ground truth: whole files and folders ------------------------------------------------

_LINES = ["0,0,10,0,10,5,0,5,1,000원", "0,0,10,0,10,5,0,5,###", "0,0,10,0,10,5,0,5, \"###\" ", "0,0,1,0,1,1,0,1,=SUM(A1)",
          " 1.5, 2 ,-3.25,4, 5,6 ,7,8 ,  서울역  ", "+1,.5,1.,-0,0,0,0,0,+x", "999999999.9,0,1,0,1,1,0,1,@가",
          "1000000000,0,1,0,1,1,0,1,가", "nan,0,1,0,1,1,0,1,x", "1e3,0,1,0,1,1,0,1,x", "1,2,3,4,5,6,7,8,",
          "1,2,3,4,5,6,7,8", "1,2,3", "true,0,1,0,1,1,0,1,x", "\ufeff1,0,1,0,1,1,0,1,bom", "1,0,1,0,1,1,0,1,a\u2028b",
          "١٢,2,3,4,5,6,7,8,arabic digits", "1,0,1,0,1,1,0,1,\x0b\x0ctab", "1,0,1,0,1,1,0,1,ﬁ", "  ", ""]


def _plain_text_parse(text, **options):
    """parse_annotation_text without its whole-file pass: the loop alone."""
    from gt import reader

    saved = reader._usual_words
    reader._usual_words = lambda *_: None
    try:
        return _text_parse(text, **options)
    finally:
        reader._usual_words = saved


def _text_parse(text, **options):
    from gt.reader import parse_annotation_text

    try:
        words, bad = parse_annotation_text(text, "f.txt", **options)
    except ValueError as exc:
        return f"{type(exc).__name__}: {exc}"
    return [(w, vars(w)) for w in words], bad


@pytest.mark.parametrize("options", [dict(), dict(dont_care=None), dict(unquote=True), dict(skip_bad_lines=True)])
@pytest.mark.parametrize("seed", range(40))
def test_whole_file_pass_equals_the_line_loop(seed, options):
    import random

    rng = random.Random(seed)
    usual = [line for line in _LINES[:7] + _LINES[16:19]]
    pool = usual * 3 + _LINES if seed % 2 else usual  # half the files have only usual lines
    lines = [rng.choice(pool) for _ in range(rng.randint(0, 12))]
    ending = rng.choice(["\n", "\r\n", "\r", "\n\n"])
    text = ending.join(lines) + rng.choice(["", ending, "\n", "\r"])
    assert _text_parse(text, **options) == _plain_text_parse(text, **options)


def test_whole_file_pass_takes_the_usual_files():
    from gt import reader

    assert reader._usual_words("1,0,1,0,1,1,0,1,a\r\n1,0,1,0,1,1,0,1,###\r\n", {"###"}, False) is not None
    for unusual in ("", "\n", "1,0,1,0,1,1,0,1,a\n\n1,0,1,0,1,1,0,1,b", "1,0,1,0,1,1,0,1,a\r1,0,1,0,1,1,0,1,b",
                    "1\n,0,1,0,1,1,0,1,1,a", "1,0,1,0,1,1,0,1,a\n   "):
        assert reader._usual_words(unusual, {"###"}, False) is None


def _plain_folder(source, **options):
    """read_annotations with the plain folder listing and the Path checks for every file."""
    from gt import reader

    saved = reader._folder_txt_named, reader._regular_file_bytes
    reader._folder_txt_named = lambda folder: [(str(p), p.name) for p in reader._folder_txt(folder)]
    reader._regular_file_bytes = lambda _: None
    try:
        return _read_folder(source, **options)
    finally:
        reader._folder_txt_named, reader._regular_file_bytes = saved


def _read_folder(source, **options):
    from gt.reader import read_annotations

    try:
        found = read_annotations(source, **options)
    except ValueError as exc:
        return f"{type(exc).__name__}: {exc}"
    return list(found.images.items()), list(found.sources.items()), found.bad_lines


def _annotation_tree(root):
    line = "1,0,1,0,1,1,0,1,"
    files = {"gt_a.txt": line + "가\n", "gt_b.TXT": "\ufeff" + line + "bom", "gt_a-b.txt": line + "c\r\n",
             "a/gt_z.txt": line + "z", "a-b/gt_y.txt": line + "y", "a/b/gt_x.txt": line + "x\n\n" + line + "###",
             "Z/gt_w.txt": line + "w", "gt_empty.txt": "", "note.md": "not read", "a/b/c.txt/gt_v.txt": line + "v"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "gt_kr.txt").write_bytes((line + "한국어").encode("cp949"))
    (root / "folder.txt").mkdir()


def test_folder_reading_equals_the_plain_paths(tmp_path):
    _annotation_tree(tmp_path)
    found = _read_folder(tmp_path)
    assert found == _plain_folder(tmp_path) and len(found[1]) == 10


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs FIFOs and symbolic links")
def test_folder_reading_skips_fifos_and_names_dangling_links_as_the_plain_paths(tmp_path, monkeypatch):
    import os

    _annotation_tree(tmp_path)
    os.mkfifo(tmp_path / "gt_fifo.txt")  # never opened: reading it would block
    os.symlink(tmp_path / "gt_a.txt", tmp_path / "gt_link.txt")
    found = _read_folder(tmp_path)
    assert found == _plain_folder(tmp_path) and len(found[1]) == 11
    monkeypatch.chdir(tmp_path / "a")
    found = _read_folder(".")
    assert found == _plain_folder(".") and ("z", "gt_z.txt") in found[1]  # as Path names "./gt_z.txt"
    os.symlink(tmp_path / "nowhere.txt", tmp_path / "a" / "gt_gone.txt")
    failure = _read_folder(tmp_path)
    assert failure == _plain_folder(tmp_path) and "gt_gone.txt: cannot read (a link" in failure


# --- reading predictions: CLOVA responses ---------------------------------------------------------

def _outcome(parse, raw):
    """What a parser gives, compared by repr so that -0.0 and 0.0 or 1 and 1.0 differ."""
    try:
        result = parse(raw)
    except ValueError as exc:
        return f"{type(exc).__name__}: {exc}"
    return repr(result), [vars(item) for item in result.items]


def _clova_field(k: int, **changes):
    field = {"valueType": "ALL", "boundingPoly": {"vertices": [{"x": 1.5 + k, "y": 2}, {"x": 9, "y": 2.0},
                                                               {"x": 9.0, "y": 7}, {"x": 1, "y": 7}]},
             "inferText": f"=글{k}", "inferConfidence": 0.9, "type": "NORMAL", "lineBreak": False}
    field.update(changes)
    return {key: value for key, value in field.items() if value is not _DROP}


_DROP = object()
_ODD_VALUES = [_DROP, None, True, False, "1", float("nan"), float("inf"), -float("inf"), MAX_COORDINATE,
               -MAX_COORDINATE, MAX_COORDINATE + 1, 10 ** 30, -0.0, 0, 1, 1.0, 1.5, -1, [], {}]


def _odd_clova_responses():
    """One usual CLOVA response and many of it with one thing odd."""
    def response(fields, /, **image_changes):
        image = {"uid": "u", "name": "img", "inferResult": "SUCCESS", "message": "SUCCESS",
                 "convertedImageInfo": {"width": 100, "height": 50, "pageIndex": 0}, "fields": fields}
        image.update(image_changes)
        image = {key: value for key, value in image.items() if value is not _DROP}
        return {"version": "V2", "requestId": "r", "timestamp": 1, "images": [image]}

    usual = [_clova_field(k) for k in range(3)]
    yield response(usual)
    for value in _ODD_VALUES:
        for key in ("inferText", "inferConfidence", "boundingPoly", "bounding"):
            yield response(usual[:1] + [_clova_field(1, **{key: value})])
        for key in ("x", "y"):
            vertex = {"x": 3, "y": 4}
            vertex[key] = value
            vertex = {k: v for k, v in vertex.items() if v is not _DROP}
            yield response([_clova_field(0, boundingPoly={"vertices": [{"x": 1, "y": 1}, vertex]})])
        for key in ("inferResult", "fields", "convertedImageInfo"):
            yield response(usual, **{key: value})
        yield response(usual, convertedImageInfo={"width": value, "height": 5})
        yield response(usual + [value])
    for poly in ({"vertices": []}, {"vertices": None}, {"vertices": ({"x": 1, "y": 1},)}, {}, [], {"vertices": [[1, 2]]}):
        yield response([_clova_field(0, boundingPoly=poly)])
    yield response([_clova_field(0, boundingPoly=_DROP, bounding={"left": 1, "top": 2, "width": 3, "height": 4})])
    yield response([_clova_field(0, boundingPoly=None)])
    yield {"version": "V2", "images": [response(usual)["images"][0], {"inferResult": "FAILURE", "message": "x"}]}
    yield {"version": "V2", "images": [{"inferResult": "ERROR", "message": "bad"}, response(usual)["images"][0]]}
    yield from ({"code": "0025", "message": "rate"}, {"images": []}, {"images": None}, {}, [], "x", None,
                {"version": "V2", "images": [{}]}, {"version": "V2", "images": [{"fields": []}]})


def test_clova_fast_path_equals_the_checks():
    from adapters.providers import naver

    responses = list(_odd_clova_responses())
    taken = 0
    for raw in responses:
        assert _outcome(naver.parse, raw) == _outcome(naver._parse_checked, raw), raw
        taken += type(raw) is dict and naver._parse_usual(raw) is not None
    assert 40 < taken < len(responses) - 100  # both paths are exercised


# --- reading predictions: the project's schema ----------------------------------------------------

def _odd_schema_entries():
    """One usual schema entry and many of it with one thing odd."""
    def item(**changes):
        value = {"polygon": [[1, 2.5], [3.0, 4], [5, 6], [7, 8]], "text": "=A1", "confidence": 0.5,
                 "granularity": "word"}
        value.update(changes)
        return {key: v for key, v in value.items() if v is not _DROP}

    def entry(items, /, **changes):
        value = {"status": "ok", "width": 10, "height": 20, "items": items}
        value.update(changes)
        return {key: v for key, v in value.items() if v is not _DROP}

    yield entry([item(), item(polygon=None, confidence=None), item(granularity="line", polygon=[])])
    for value in _ODD_VALUES + ["word", "region", "ok", "error", "", "x" * 300]:
        for key in ("polygon", "text", "confidence", "granularity", "colour"):
            yield entry([item(), item(**{key: value})])
        yield entry([item(polygon=[[1, 2], [value, 3]])])
        yield entry([item(polygon=[[1, 2], [3, value]])])
        for key in ("status", "width", "height", "items", "error"):
            yield entry([item()], **{key: value})
        yield entry([item(), value])
    for polygon in ([[1, 2, 3]], [[1]], [(1, 2)], [[1, 2]] * 7, [[[1, 2]]], "1,2"):
        yield entry([item(polygon=polygon)])
    yield {"status": "error", "error": "timeout"}
    yield {"status": "error"}
    yield from ([], None, "ok", {}, {"status": "ok"})


def test_schema_fast_path_equals_the_checks():
    from adapters.core import schema

    entries = list(_odd_schema_entries())
    taken = 0
    for value in entries:
        fast = _outcome(lambda v: schema.parse_image_result(v, "f: images['a']"), value)
        assert fast == _outcome(lambda v: schema._checked_image_result(v, "f: images['a']"), value), value
        taken += type(value) is dict and schema._usual_image_result(value) is not None
    assert 40 < taken < len(entries) - 100  # both paths are exercised


# --- the JSON stream's buffer ----------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(30))
def test_json_stream_offsets_are_the_file_byte_offsets(seed):
    """The buffer's start offset is moved by whichever of the dropped or kept text is shorter: both are exact."""
    import io
    import json
    import random

    from adapters.core.jsonstream import JsonStream

    rng = random.Random(seed)
    doc = {f"키{k}": ["가나다" * rng.randint(0, 40), rng.random(), {"x": "é😀" * rng.randint(0, 9)}]
           for k in range(rng.randint(1, 80))}
    bom = b"\xef\xbb\xbf" if seed % 2 else b""
    data = bom + json.dumps(doc, ensure_ascii=False).encode("utf-8")
    stream = JsonStream(io.BytesIO(data), "t", chunk_size=rng.randint(4, 400))
    for key in stream.members():
        value, start = stream.value()
        expected = data.index((json.dumps(key, ensure_ascii=False) + ": ").encode("utf-8")) + len(
            (json.dumps(key, ensure_ascii=False) + ": ").encode("utf-8"))
        assert stream.offset(start) == expected and value == doc[key]
    assert stream.at_end() and stream.offset() == len(data)
