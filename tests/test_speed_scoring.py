"""The fast paths of scoring and of the report's breakdowns give what the plain code gives, and
eval.workers' two processes give what one gives (values, log lines in order, errors). No timing here."""
from __future__ import annotations

import logging
import math
import os
import sys

import numpy as np
import pytest

from adapters.core.errors import InputError
from adapters.core.schema import ImageResult, Item
from eval import workers
from eval.evaluate import EvalOptions, evaluate
from eval.matching import Overlaps, greedy_match_indices
from eval.page_text import reading_order, reading_order_of_boxes
from eval.text import TextOptions
from reports import breakdowns as bd
from speed_sets import bench


def _facts(evaluation):
    return [(i.stem, i.status, i.counts, i.rows, i.error, i.page, i.cer, i.cleval) for i in evaluation.images]


# --- scoring ------------------------------------------------------------------------------------

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
    for threshold in (0.1, 0.5, 0.8, 0.95):
        assert greedy_match_indices(ov, threshold).tolist() == _plain_greedy(ov, threshold)


@pytest.mark.parametrize("seed", range(10))
def test_reading_order_of_shapely_bounds_equals_reading_order_of_the_points(seed):
    import shapely

    from eval.geometry import make_polygons

    rng = np.random.default_rng(seed)
    outlines = [tuple((float(x), float(y)) for x, y in rng.integers(0, 80, (int(rng.choice([4, 4, 3, 5, 6])), 2)))
                for _ in range(int(rng.integers(1, 60)))]
    outlines += [((5.0, 5.0),) * 4, ((0.0, 0.0), (2.0, 2.0), (4.0, 4.0), (6.0, 6.0))]  # a point, a line (hulls)
    boxes = shapely.bounds(make_polygons(outlines)).tolist()
    with_missing = [None if k % 7 == 3 else box for k, box in enumerate(boxes)]
    assert reading_order_of_boxes(boxes) == reading_order(outlines)
    assert reading_order_of_boxes(with_missing) == reading_order([None if k % 7 == 3 else o
                                                                  for k, o in enumerate(outlines)])
    assert reading_order_of_boxes([*boxes[:2], [float("nan")] * 4]) is None  # an outline bounds cannot stand for


@pytest.mark.parametrize("protocol", ["iou", "both"])
def test_batched_scoring_equals_scoring_each_image_alone(protocol):
    """The batch (bincount sums, contested-pairs loop, page order from the batch's bounds) against
    the same images scored one at a time, at several thresholds, on the benchmark's hard cases."""
    from eval.evaluate import evaluate_image

    gt, preds = bench.generate(bench.SetSpec("sparse", 120, 6, False, 120), 11)
    dense_gt, dense_preds = bench.generate(bench.SetSpec("dense", 6, 60, True, 6), 12)
    gt.update(dense_gt)
    preds.update(dense_preds)
    options = EvalOptions(thresholds=(0.5, 0.3, 0.7), min_score=0.2, protocol=protocol)
    whole = evaluate(gt, preds, options)
    alone = [evaluate_image(stem, gt[stem], preds.get(stem), options) for stem in sorted(gt)]
    assert _facts(whole) == [(i.stem, i.status, i.counts, i.rows, i.error, i.page, i.cer, i.cleval) for i in alone]


# --- report breakdowns ---------------------------------------------------------------------------

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


def test_size_buckets_a_chunk_at_a_time_equal_all_at_once(monkeypatch):
    rng = np.random.default_rng(9)
    outlines = [_rect(*rng.normal(0, 300, 2), rng.uniform(1, 120), rng.uniform(1, 120), rng.uniform(0, 360))
                for _ in range(100)]
    whole = bd.size_buckets(outlines)
    monkeypatch.setattr(bd, "_SIZE_CHUNK", 7)
    assert bd.size_buckets(outlines) == whole == [bd.size_bucket(bd.box_size(p)) for p in outlines]


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


# --- two processes ------------------------------------------------------------------------------

def test_one_process_by_default(monkeypatch):
    monkeypatch.delenv(workers.WORKERS_VARIABLE, raising=False)
    assert workers.parallel_enabled() is False
    monkeypatch.setenv(workers.WORKERS_VARIABLE, "1")
    assert workers.parallel_enabled() is False


@pytest.fixture(params=["1", pytest.param("2", marks=pytest.mark.slow)], ids=["one process", "forked"])
def forking(monkeypatch, request):
    if request.param == "2" and (not hasattr(os, "fork") or not sys.platform.startswith("linux")):
        pytest.skip("forking is Linux only")
    monkeypatch.setenv(workers.WORKERS_VARIABLE, request.param)
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


@pytest.mark.slow
def test_evaluate_split_equals_evaluate(monkeypatch, caplog):
    gt, preds = bench.generate(bench.SetSpec("sparse", 300, 6, False, 300), 5)
    options = EvalOptions(thresholds=(0.5, 0.3), protocol="both")
    monkeypatch.setattr(logging.getLogger("bench"), "propagate", True)  # the CLI turns it off once run
    caplog.set_level(logging.WARNING, logger="bench")
    whole = evaluate(gt, preds, options)
    one_process = [r.getMessage() for r in caplog.records]
    caplog.clear()
    monkeypatch.setenv(workers.WORKERS_VARIABLE, "2")
    monkeypatch.setattr(workers, "MIN_SPLIT_ITEMS", 0)
    monkeypatch.setattr(workers, "usable_cpus", lambda: 2)
    split = workers.evaluate_split(gt, preds, options)
    assert _facts(split) == _facts(whole)
    assert split.unknown_predictions == whole.unknown_predictions == [f"sparse_orphan_{k}" for k in range(3)]
    assert [r.getMessage() for r in caplog.records] == one_process  # the warning once, not once per process
    assert any("3 image(s) have predictions but no ground truth" in m for m in one_process)
