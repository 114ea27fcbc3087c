"""The evaluator agrees exactly with the naive per-pair baseline of benchmarks/eval_speed.py.

The baseline is an independent, one-pair-at-a-time implementation of the README protocol, so
agreement on generated pages full of ties, bow-ties, zero-area boxes, duplicates and don't-care
regions protects the protocol whatever the evaluator's vectorised code does. No timing here.
"""
from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType

import pytest
import shapely

from adapters.providers.results import load_results
from eval.evaluate import EvalOptions, evaluate
from gt.reader import read_annotations

REPO = Path(__file__).resolve().parents[1]
BENCHMARK = REPO / "benchmarks" / "eval_speed.py"
KR_DOCS = REPO.parent / "shared" / "datasets" / "kr_docs"


def _load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_speed_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()

TINY_DENSE = bench.SetSpec("dense", 8, 100, True, 8)
TINY_SPARSE = bench.SetSpec("sparse", 30, 6, False, 30)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("spec", [TINY_DENSE, TINY_SPARSE], ids=lambda s: s.name)
def test_evaluator_matches_per_pair_baseline(spec, seed):
    gt, preds = bench.generate(spec, seed)
    problems = bench.disagreements(evaluate(gt, preds), bench.baseline_evaluate(gt, preds))
    assert problems == []


def test_agreement_holds_for_a_sweep_with_min_score():
    gt, preds = bench.generate(TINY_DENSE, 3)
    options = EvalOptions(thresholds=(0.5, 0.3, 0.7), min_score=0.5)
    evaluation = evaluate(gt, preds, options)
    assert evaluation.totals(0).below_min_score > 0
    assert bench.disagreements(evaluation, bench.baseline_evaluate(gt, preds, options.thresholds, 0.5)) == []


def test_the_check_catches_a_protocol_difference():
    gt, preds = bench.generate(TINY_SPARSE, 1)
    problems = bench.disagreements(evaluate(gt, preds), bench.baseline_evaluate(gt, preds, thresholds=(0.3,)),
                                   limit=10_000)
    assert any("tp" in p for p in problems)
    assert any("matched pairs" in p for p in problems)


def test_generated_sets_contain_every_hard_case():
    """Agreement only means something if the data exercise each protocol rule."""
    gt, preds = bench.generate(bench.SetSpec("sparse", 400, 6, False, 0), 1)
    dense_gt, dense_preds = bench.generate(TINY_DENSE, 1)
    gt.update(dense_gt)
    preds.update(dense_preds)
    items = [item for r in preds.values() for item in r.items]
    outlines = [item.polygon for item in items if item.polygon is not None]
    quads = [o for o in outlines if len(o) == 4]
    valid = shapely.is_valid(shapely.polygons(quads))
    areas = shapely.area(shapely.convex_hull(shapely.multipoints(quads)))
    words = [w for ws in gt.values() for w in ws]
    assert (~valid & (areas > 0)).sum() > 10, "bow-tie predictions"
    assert (areas == 0).sum() > 5, "zero-area predictions"
    assert any(len(o) < 3 for o in outlines) and any(len(o) > 4 for o in outlines), "odd point counts"
    assert sum(item.polygon is None for item in items) > 0, "items without geometry"
    assert any(r.status == "error" for r in preds.values()), "error entries"
    assert set(gt) - set(preds), "images without a prediction entry"
    assert set(preds) - set(gt), "predictions for unknown images"
    assert any(not ws for ws in gt.values()), "images without gt"
    assert sum(not w.care for w in words) > 50, "don't-care regions"
    evaluation = evaluate(gt, preds)
    totals = evaluation.totals()
    assert totals.pred_discarded > 10 and totals.tp > 1000 and 0 < totals.correct < totals.tp
    for result in preds.values():  # exact duplicate predictions: IoU ties broken by prediction order
        polygons = [item.polygon for item in result.items if item.polygon is not None]
        if len(polygons) != len(set(polygons)):
            break
    else:
        pytest.fail("no exact duplicate predictions")
    for words_of_image in gt.values():  # the same gt box twice: ties broken by gt order
        points = [w.points for w in words_of_image]
        if len(points) != len(set(points)):
            break
    else:
        pytest.fail("no duplicated gt boxes")


def _real_pairs() -> list[tuple[Path, Path]]:
    pairs = [(REPO / "samples" / "kr_docs_mini" / "gt", REPO / "samples" / "kr_docs_mini" / "res")]
    pairs.append(pytest.param(KR_DOCS / "gt_eval_doc_v1_kr.zip", KR_DOCS / "res_eval_doc_v1_kr.zip",
                              marks=[pytest.mark.slow, pytest.mark.skipif(not KR_DOCS.exists(), reason=(
                                  "needs ../shared/datasets/kr_docs (the 100-page CLEval kr_docs set, clovaai/CLEval "
                                  "resources/test_data; in CI it sits beside the checkout); the kr_docs_mini case "
                                  "covers its first 10 pages"))]))
    return pairs


@pytest.mark.parametrize("gt_source, res_source", _real_pairs(), ids=lambda p: p.parent.name)
def test_evaluator_matches_per_pair_baseline_on_real_pages(gt_source, res_source):
    """Real Korean document photos (~100 boxes each) and real model output, read by the tool."""
    gt = read_annotations(gt_source).images
    preds = load_results(res_source).images
    options = EvalOptions(thresholds=(0.5, 0.3, 0.7))
    evaluation = evaluate(gt, preds, options)
    assert evaluation.totals().tp > 0
    assert bench.disagreements(evaluation, bench.baseline_evaluate(gt, preds, options.thresholds)) == []


def test_generation_is_reproducible_from_the_seed():
    assert bench.generate(TINY_SPARSE, 5) == bench.generate(TINY_SPARSE, 5)
    assert bench.generate(TINY_SPARSE, 5) != bench.generate(TINY_SPARSE, 6)


# In-process, but a whole (quick) speed benchmark, 1-2 s of CPU: out of the quick loop.
@pytest.mark.slow
def test_quick_run_prints_the_table(capsys):
    level = logging.getLogger("bench").level
    try:
        assert bench.main(["--quick"]) == 0
    finally:
        logging.getLogger("bench").setLevel(level)  # main() silences the CLI's warnings; later tests need them
    out = capsys.readouterr().out
    assert "dense" in out and "sparse" in out and "baseline img/s" in out and "shapely" in out
