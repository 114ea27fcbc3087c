"""The fast paths of issue "Speed" give exactly what the plain code gives (no timing here).

Each fast path keeps the plain code beside it, so every test compares the two on inputs built
to hit the edges: formula-looking texts, numbers at the range limit, degenerate boxes, sizes
exactly on a bucket edge, logs and errors of work done in a forked child.
"""
from __future__ import annotations

import csv
import importlib.util
import logging
import math
import os
import re
import sys
from dataclasses import fields
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from adapters.core.schema import ImageResult, Item, parse_item, _parse_polygon
from adapters.core.errors import InputError, SchemaError
from adapters.providers import naver
from adapters.providers.response_fields import ResponseFormatError, coordinate
from eval import workers
from eval.evaluate import EvalOptions, MatchRow, evaluate
from eval.matching import Overlaps, greedy_match_indices
from eval.metrics import Counts, add_up
from eval.text import TextOptions
from gt.reader import MAX_COORDINATE, parse_line
from reports import breakdowns as bd
from reports.csv_files import write_csv, write_csv_rows
from reports.eval_tables import match_cells, match_rows

REPO = Path(__file__).resolve().parents[1]


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_speed_for_paths", REPO / "benchmarks" / "eval_speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _benchmark()


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


def test_clova_vertices_fast_path_equals_the_checks():
    good = {"vertices": [{"x": 1, "y": 2.5}, {"y": 3}, {"x": -4.0, "y": MAX_COORDINATE}, {"x": 0, "y": 0}]}
    assert naver._vertices(good, "w") == ((1.0, 2.5), (0.0, 3.0), (-4.0, MAX_COORDINATE), (0.0, 0.0))
    for bad in ({"x": True, "y": 1}, {"x": "1", "y": 1}, {"x": float("nan"), "y": 1}, {"x": 2e9, "y": 1}, [1, 2]):
        with pytest.raises(ResponseFormatError):
            naver._vertices({"vertices": [{"x": 0, "y": 0}, bad]}, "w")


def test_schema_polygon_fast_path_equals_the_checks():
    assert _parse_polygon([[1, 2], [3.5, -4]], "p") == ((1.0, 2.0), (3.5, -4.0))
    for bad, message in (([[1, 2], [True, 3]], "p[1][0]"), ([[1, 2], [1, 2, 3]], "p[1]"), ([[1, 2e9]], "p[0]"),
                         ([[1, float("inf")]], "p[0][1]")):
        with pytest.raises(SchemaError, match=message.replace("[", r"\[").replace("]", r"\]")):
            _parse_polygon(bad, "p")
    with pytest.raises(SchemaError, match="unknown field"):
        parse_item({"text": "a", "polygon": None, "colour": 1}, "i")


# --- scoring ---------------------------------------------------------------------------------------

def _plain_greedy(ov: Overlaps, threshold: float) -> list[int]:
    above = np.flatnonzero(ov.iou > threshold)
    order = np.lexsort((ov.pred[above], ov.gt[above], -np.round(ov.iou[above], 9)))
    used_g, used_p, keep = set(), set(), []
    for k in above[order].tolist():
        if ov.gt[k] in used_g or ov.pred[k] in used_p:
            continue
        used_g.add(int(ov.gt[k]))
        used_p.add(int(ov.pred[k]))
        keep.append(k)
    return keep


@pytest.mark.parametrize("seed", range(5))
def test_greedy_match_indices_equals_the_plain_loop(seed):
    rng = np.random.default_rng(seed)
    n = 400
    ov = Overlaps(rng.integers(0, 60, n), rng.integers(0, 60, n), rng.choice([0.3, 0.5, 0.7, 0.9], n)
                  + rng.normal(0, 1e-12, n) * (rng.random(n) < 0.5))
    for threshold in (0.1, 0.5, 0.8):
        assert greedy_match_indices(ov, threshold).tolist() == _plain_greedy(ov, threshold)


def test_add_up_equals_adding_one_by_one():
    rng = np.random.default_rng(3)
    counts = [Counts(tp=int(rng.integers(0, 9)), correct=int(rng.integers(0, 9)), accuracy_sum=float(rng.random()))
              for _ in range(500)]
    total = Counts()
    for c in counts:
        total = total + c
    assert add_up(counts, Counts()) == total
    assert add_up([], Counts()) == Counts()


def test_evaluate_split_equals_evaluate(monkeypatch, caplog):
    gt, preds = bench.generate(bench.SetSpec("sparse", 300, 6, False, 300), 5)
    options = EvalOptions(thresholds=(0.5, 0.3))
    monkeypatch.setattr(logging.getLogger("bench"), "propagate", True)  # the CLI turns it off once run
    caplog.set_level(logging.WARNING, logger="bench")
    whole = evaluate(gt, preds, options)
    one_process = [r.getMessage() for r in caplog.records]
    caplog.clear()
    monkeypatch.setenv(workers.WORKERS_VARIABLE, "2")
    monkeypatch.setattr(workers, "MIN_SPLIT_ITEMS", 0)
    monkeypatch.setattr(workers, "usable_cpus", lambda: 2)
    split = workers.evaluate_split(gt, preds, options)
    assert [(i.stem, i.status, i.counts, i.rows, i.error) for i in split.images] == \
           [(i.stem, i.status, i.counts, i.rows, i.error) for i in whole.images]
    assert split.unknown_predictions == whole.unknown_predictions == [f"sparse_orphan_{k}" for k in range(3)]
    assert [r.getMessage() for r in caplog.records] == one_process  # the warning once, not once per process
    assert any("3 image(s) have predictions but no ground truth" in m for m in one_process)


# --- two processes ---------------------------------------------------------------------------------

@pytest.fixture
def forking(monkeypatch):
    if not hasattr(os, "fork") or not sys.platform.startswith("linux"):
        pytest.skip("forking is Linux only")
    monkeypatch.setenv(workers.WORKERS_VARIABLE, "2")
    monkeypatch.setattr(workers, "usable_cpus", lambda: 2)
    monkeypatch.setattr(logging.getLogger("bench"), "propagate", True)  # the CLI turns it off once run


def _logging(name: str, value, error: Exception | None = None):
    def call():
        logging.getLogger("bench").warning("%s starts", name)
        if error is not None:
            raise error
        logging.getLogger("bench").warning("%s ends", name)
        return value
    return call


def test_run_both_gives_values_and_logs_in_call_order(forking, caplog):
    caplog.set_level(logging.WARNING, logger="bench")
    assert workers.run_both(_logging("first", [1, {"a": (2, 3)}]), _logging("second", "b")) == ([1, {"a": (2, 3)}], "b")
    assert [r.getMessage() for r in caplog.records] == ["first starts", "first ends", "second starts", "second ends"]


def test_run_both_raises_the_first_error_as_one_process_would(forking, caplog):
    caplog.set_level(logging.WARNING, logger="bench")
    with pytest.raises(InputError, match="bad gt"):
        workers.run_both(_logging("first", None, InputError("bad gt")), _logging("second", None, ValueError("bad")))
    assert [r.getMessage() for r in caplog.records] == ["first starts"]  # the second never started


def test_run_both_raises_the_second_error_after_the_first_logs(forking, caplog):
    caplog.set_level(logging.WARNING, logger="bench")
    with pytest.raises(ValueError, match="bad results"):
        workers.run_both(_logging("first", 1), _logging("second", None, ValueError("bad results")))
    assert [r.getMessage() for r in caplog.records] == ["first starts", "first ends", "second starts"]


def test_one_process_by_default(monkeypatch):
    monkeypatch.delenv(workers.WORKERS_VARIABLE, raising=False)
    assert workers.parallel_enabled() is False
    monkeypatch.setenv(workers.WORKERS_VARIABLE, "1")
    assert workers.parallel_enabled() is False


# --- writing ---------------------------------------------------------------------------------------

class _Evaluation:
    def __init__(self, images):
        self.images = images


class _Image:
    def __init__(self, stem, rows):
        self.stem, self.rows = stem, rows


def test_match_cells_write_the_bytes_of_asdict_and_dictwriter(tmp_path):
    texts = ["=HYPERLINK(\"x\")", "+1.5", "-3", "@a", "\tx", "\rx", "", "보통", None, "a,b", 'q"uote', "line\nbreak"]
    rows = []
    for k, text in enumerate(texts):
        rows.append(MatchRow("-stem" if k % 5 == 0 else "img", "match", k, k, 0.1 * k, text, texts[-1 - k],
                             k % 2 == 0, k, k + 1, None if k % 3 else 0.5))
        rows.append(MatchRow("img", "missed", gt_line=k, gt_text=text))
    evaluation = _Evaluation([_Image("img", rows)])
    columns = [f.name for f in fields(MatchRow)]
    write_csv(tmp_path / "old.csv", match_rows(evaluation), columns)
    write_csv_rows(tmp_path / "new.csv", match_cells(evaluation), columns)
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()
    with open(tmp_path / "new.csv", encoding="utf-8-sig", newline="") as handle:
        assert next(csv.reader(handle)) == columns


# --- report breakdowns -------------------------------------------------------------------------------

def _rect(cx: float, cy: float, w: float, h: float, degrees: float):
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return tuple((cx + x * c - y * s, cy + x * s + y * c) for x, y in ((-w / 2, -h / 2), (w / 2, -h / 2),
                                                                       (w / 2, h / 2), (-w / 2, h / 2)))


def test_size_buckets_and_orientations_equal_the_per_word_rules():
    rng = np.random.default_rng(7)
    outlines = [_rect(0, 0, 100, edge, angle) for edge in (16, 32, 64) for angle in (0, 90, 30, 45)]
    outlines += [_rect(*rng.normal(0, 300, 2), rng.uniform(1, 200), rng.uniform(1, 200), rng.uniform(0, 360))
                 for _ in range(300)]
    outlines += [((0, 0), (10, 0), (20, 0), (30, 0)), ((5, 5),) * 4, ((0, 0), (0, 0), (1, 1), (1, 1)),
                 ((0, 0), (10, 10), (10, 0), (0, 10)), ((0, 0), (0, 15), (10, 15), (10, 0))]
    assert bd.size_buckets(outlines) == [bd.size_bucket(bd.box_size(p)) for p in outlines]
    assert bd.orientations(outlines) == [bd.orientation(p) for p in outlines]
    mixed = outlines[:5] + [((0, 0), (10, 0), (10, 10)), ((0, 0), (4, 0), (4, 40), (2, 45), (0, 40))]
    assert bd.size_buckets(mixed) == [bd.size_bucket(bd.box_size(p)) for p in mixed]
    assert bd.orientations(mixed) == [bd.orientation(p) for p in mixed]


def test_word_breakdowns_equal_word_breakdown_per_provider():
    gt, preds = bench.generate(bench.SetSpec("dense", 6, 100, True, 6), 11)
    other = {stem: ImageResult.ok(Item(it.polygon, it.text[::-1], it.confidence) for it in r.items[::2])
             if r.is_ok else r for stem, r in preds.items()}
    options = TextOptions(ignore_space=True)
    runs = [("a", evaluate(gt, preds, EvalOptions(text=options))), ("b", evaluate(gt, other, EvalOptions(text=options)))]
    fast = bd.word_breakdowns(runs, gt, options)
    for label, evaluation in runs:
        outcomes = bd.word_outcomes(evaluation, gt)
        assert fast[label] == {name: bd.word_breakdown(label, outcomes, rule, order, options)
                               for name, (rule, order) in bd.WORD_RULES.items()}


def test_word_breakdowns_count_a_new_rule_outcome_by_outcome(monkeypatch):
    gt, preds = bench.generate(bench.SetSpec("sparse", 40, 6, False, 40), 2)
    evaluation = evaluate(gt, preds)
    first_letter = (lambda o, _opt: "hangul" if o.word.text[:1] >= "가" else "other", ("hangul", "other"))
    monkeypatch.setitem(bd.WORD_RULES, "script", first_letter)
    rows = bd.word_breakdowns([("p", evaluation)], gt)["p"]["script"]
    assert rows == bd.word_breakdown("p", bd.word_outcomes(evaluation, gt), *first_letter, TextOptions())
    assert sum(r["gt_words"] for r in rows) == sum(w.care for ws in gt.values() for w in ws)
