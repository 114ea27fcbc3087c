"""CLEval (eval/cleval.py) against numbers the reference ``cleval`` 0.1.1 package produced.

The package is not installed in CI; its counts are stored: ``tests/data/cleval/cases.json``
(hand-made edge cases and seeded random images, written by ``benchmarks/cleval_speed.py
--write-fixture``) and, below, its totals on the ``kr_docs`` data set.
"""
from __future__ import annotations

import json
import os
import unicodedata
import zipfile
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from eval.cleval import (ClevalCounts, ClevalOptions, evaluate_image, lcs_string, metrics,
                         parse_quad_lines)

FIXTURE = Path(__file__).resolve().parent / "data" / "cleval" / "cases.json"
KR_DOCS = Path(os.environ.get("CLEVAL_KR_DOCS")
               or Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "kr_docs")

# The package's output for kr_docs (cleval -g gt_eval_doc_v1_kr.zip -s res_eval_doc_v1_kr.zip --E2E).
KR_DOCS_PACKAGE = {
    "detection": {"num_char_gt": 46486, "num_char_det": 46816, "num_char_tp_recall": 46218,
                  "num_char_tp_precision": 46218, "num_char_fp": 150, "gran_score_recall": 415.0,
                  "gran_score_precision": 770.0, "precision": 0.9707792207792207,
                  "recall": 0.9853074043798132, "hmean": 0.977989360950786},
    "end_to_end": {"num_char_gt": 46486, "num_char_det": 46103, "num_char_tp_recall": 43025,
                   "num_char_tp_precision": 43025, "num_char_fp": 3078, "gran_score_recall": 415.0,
                   "gran_score_precision": 770.0, "precision": 0.9165347157451793,
                   "recall": 0.9166200576517661, "hmean": 0.9165773847119407},
    "num_merged": 470, "num_splitted": 377, "num_char_overlapped": 448,
}


def box(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _load_fixture() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _case_options(case: dict) -> ClevalOptions:
    o = case.get("options", {})
    return ClevalOptions(case_sensitive=o.get("case_sensitive", True),
                         area_precision_constraint=o.get("area_precision_constraint", 0.3),
                         recall_granularity_penalty_weight=o.get("recall_penalty"),
                         precision_granularity_penalty_weight=o.get("precision_penalty"),
                         vertical_aspect_ratio_threshold=o.get("vertical_aspect_ratio_threshold", 0.5))


def _evaluate_case(case: dict) -> ClevalCounts:
    return evaluate_image([b["points"] for b in case["gt"]], [b["text"] for b in case["gt"]],
                          [b["dc"] for b in case["gt"]], [b["points"] for b in case["det"]],
                          [b["text"] for b in case["det"]], _case_options(case))


_FIXTURE = _load_fixture()


@pytest.mark.parametrize("index", range(len(_FIXTURE["cases"])))
def test_counts_equal_the_package_on_stored_cases(index: int) -> None:
    case = _FIXTURE["cases"][index]
    expected = dict(zip(_FIXTURE["count_fields"], case["package_counts"]))
    assert _evaluate_case(case).as_dict() == expected


def test_stored_cases_cover_the_interesting_rules() -> None:
    """The fixture is only worth something if it exercises splits, merges, overlaps and don't care."""
    total = sum(_evaluate_case(case) for case in _FIXTURE["cases"])
    assert total.num_merged > 20 and total.num_splitted > 20 and total.num_char_overlapped > 20
    assert any(b["dc"] for case in _FIXTURE["cases"] for b in case["gt"])
    assert any(not case["gt"] for case in _FIXTURE["cases"]) and any(not case["det"] for case in _FIXTURE["cases"])
    assert {"case_sensitive", "area_precision_constraint", "recall_penalty"} <= {
        key for case in _FIXTURE["cases"] for key in case.get("options", {})}


def _read_zip(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {name.replace("gt_", "").replace("res_", "").replace(".txt", ""):
                archive.read(name).decode("utf-8", "replace").lstrip("\ufeff") for name in archive.namelist()}


def test_kr_docs_equals_the_package() -> None:
    gt_zip, res_zip = KR_DOCS / "gt_eval_doc_v1_kr.zip", KR_DOCS / "res_eval_doc_v1_kr.zip"
    if not (gt_zip.is_file() and res_zip.is_file()):
        pytest.skip(f"kr_docs not found at {KR_DOCS} (the shared data sets sit next to the repository; "
                    "CLEVAL_KR_DOCS overrides the folder)")
    gt, res = _read_zip(gt_zip), _read_zip(res_zip)
    total = ClevalCounts()
    for key, gt_text in gt.items():
        (gt_quads, gt_words), (res_quads, res_words) = parse_quad_lines(gt_text), parse_quad_lines(res.get(key, ""))
        total += evaluate_image(gt_quads, gt_words, [t == "###" for t in gt_words], res_quads, res_words)
    assert metrics(total) == KR_DOCS_PACKAGE


# ---------------------------------------------------------------------------------------------
# The API and the rules, on small hand-checked images


def test_perfect_reading_scores_one() -> None:
    counts = evaluate_image([box(0, 0, 60, 20), box(70, 0, 110, 20)], ["출입구", "EXIT"], [False, False],
                            [box(1, 1, 59, 19), box(70, 0, 110, 20)], ["출입구", "EXIT"])
    m = metrics(counts)
    assert m["detection"]["hmean"] == 1.0 and m["end_to_end"]["hmean"] == 1.0
    assert m["detection"]["num_char_gt"] == 7


def test_metrics_layout() -> None:
    m = metrics(ClevalCounts())
    block = ["precision", "recall", "hmean", "num_char_gt", "num_char_det", "num_char_tp_recall",
             "num_char_tp_precision", "num_char_fp", "gran_score_recall", "gran_score_precision"]
    assert list(m) == ["detection", "end_to_end", "num_merged", "num_splitted", "num_char_overlapped"]
    assert sorted(m["detection"]) == sorted(block) and sorted(m["end_to_end"]) == sorted(block)


def test_empty_denominators_are_none_not_zero() -> None:
    nothing = metrics(evaluate_image([], [], [], [], []))
    assert nothing["detection"]["precision"] is None and nothing["detection"]["recall"] is None
    assert nothing["detection"]["hmean"] is None
    missed = metrics(evaluate_image([box(0, 0, 40, 10)], ["word"], [False], [], []))
    assert missed["detection"]["recall"] == 0.0 and missed["detection"]["precision"] is None
    assert missed["detection"]["hmean"] is None
    wrong = metrics(evaluate_image([box(0, 0, 40, 10)], ["word"], [False], [box(0, 50, 40, 60)], ["x"]))
    assert wrong["detection"]["recall"] == 0.0 and wrong["detection"]["precision"] == 0.0
    assert wrong["detection"]["hmean"] == 0.0


def test_counts_add_up_and_sum() -> None:
    a = evaluate_image([box(0, 0, 40, 10)], ["abcd"], [False], [box(0, 0, 40, 10)], ["abcd"])
    b = evaluate_image([box(0, 0, 40, 10)], ["abcd"], [False], [box(0, 0, 20, 10), box(20, 0, 40, 10)], ["ab", "cd"])
    total = a + b
    assert total.det_num_char_gt == 8 and total.num_splitted == 1 and total.det_gran_score_recall == 1.0
    assert sum([a, b]) == total == sum([a, b], ClevalCounts())
    assert {f.name for f in fields(total)} >= {"num_merged", "num_splitted", "num_char_overlapped"}


def test_split_costs_one_granularity_penalty_per_extra_piece() -> None:
    counts = evaluate_image([box(0, 0, 40, 10)], ["abcd"], [False], [box(0, 0, 20, 10), box(20, 0, 40, 10)],
                            ["ab", "cd"])
    m = metrics(counts)
    assert counts.det_num_char_tp_recall == 4 and counts.det_gran_score_recall == 1.0
    assert m["detection"]["recall"] == 0.75
    assert counts.e2e_num_char_tp_recall == 4  # read in order along the word: "ab" + "cd"


def test_merge_of_two_words_is_one_box_with_a_penalty() -> None:
    counts = evaluate_image([box(0, 0, 40, 10), box(50, 0, 90, 10)], ["ab", "cd"], [False, False],
                            [box(0, 0, 90, 10)], ["ab cd"])
    assert counts.num_merged == 1 and counts.det_gran_score_precision == 1.0
    assert counts.e2e_num_char_tp_recall == 4 and counts.e2e_num_char_det == 5  # the space is a wrong character


def test_detection_of_a_dont_care_region_is_neither_rewarded_nor_punished() -> None:
    with_dc = evaluate_image([box(0, 0, 40, 10), box(0, 20, 80, 30)], ["word", "###"], [False, True],
                             [box(0, 0, 40, 10), box(0, 20, 80, 30)], ["word", "blurred"])
    without = evaluate_image([box(0, 0, 40, 10)], ["word"], [False], [box(0, 0, 40, 10)], ["word"])
    assert with_dc == without


def test_nfd_input_scores_like_nfc() -> None:
    """The package compares code points as given; here both sides are NFC first."""
    nfc, nfd = "한국어 교환", unicodedata.normalize("NFD", "한국어 교환")
    assert nfc != nfd
    a = evaluate_image([box(0, 0, 120, 20)], [nfc], [False], [box(0, 0, 120, 20)], [nfd])
    b = evaluate_image([box(0, 0, 120, 20)], [nfc], [False], [box(0, 0, 120, 20)], [nfc])
    c = evaluate_image([box(0, 0, 120, 20)], [nfd], [False], [box(0, 0, 120, 20)], [nfc])
    assert a == b == c and a.det_num_char_gt == 6 and a.e2e_num_char_tp_recall == 6


def test_case_insensitive_upper_cases_both_sides() -> None:
    sensitive = evaluate_image([box(0, 0, 40, 10)], ["Seoul"], [False], [box(0, 0, 40, 10)], ["SEOUL"])
    insensitive = evaluate_image([box(0, 0, 40, 10)], ["Seoul"], [False], [box(0, 0, 40, 10)], ["SEOUL"],
                                 ClevalOptions(case_sensitive=False))
    assert sensitive.e2e_num_char_tp_recall == 1 and insensitive.e2e_num_char_tp_recall == 5


def test_points_accept_arrays_flat_lists_and_tuples() -> None:
    args = (["abcd"], [False])
    as_tuples = evaluate_image([box(0, 0, 40, 10)], *args, [box(2, 0, 38, 10)], ["abcd"])
    as_array = evaluate_image(np.array([box(0, 0, 40, 10)]), *args, np.array([box(2, 0, 38, 10)]), ["abcd"])
    as_flat = evaluate_image([[0, 0, 40, 0, 40, 10, 0, 10]], *args, [[2, 0, 38, 0, 38, 10, 2, 10]], ["abcd"])
    assert as_tuples == as_array == as_flat


def test_polygons_with_more_points_score_like_their_quad() -> None:
    """Not in the package (its POLY type fails); a rectangle given with extra points on its sides
    must score like the rectangle itself."""
    gt_quad = box(0, 0, 60, 20)
    gt_hexagon = [(0, 0), (30, 0), (60, 0), (60, 20), (30, 20), (0, 20)]
    det_quad = box(0, 0, 31, 20)
    det_octagon = [(0, 0), (15, 0), (31, 0), (31, 10), (31, 20), (15, 20), (0, 20), (0, 10)]
    plain = evaluate_image([gt_quad], ["abcdef"], [False], [det_quad, box(31, 0, 60, 20)], ["abc", "def"])
    many = evaluate_image([gt_hexagon], ["abcdef"], [False], [det_octagon, box(31, 0, 60, 20)], ["abc", "def"])
    assert plain == many and plain.num_splitted == 1


def test_tall_word_centres_run_from_the_bottom_up() -> None:
    """The package turns a tall box's corners a quarter so its "left" side is its bottom edge:
    the pseudo characters of a vertical word run bottom to top. Kept, for equality; it only
    matters when a vertical word is split (the pieces are read bottom piece first)."""
    gt, pieces = [box(0, 0, 20, 80)], [box(0, 0, 20, 40), box(0, 40, 20, 80)]
    top_first = evaluate_image(gt, ["세로쓰기"], [False], pieces, ["세로", "쓰기"])
    bottom_first = evaluate_image(gt, ["세로쓰기"], [False], pieces, ["쓰기", "세로"])
    assert top_first.num_splitted == 1 and top_first.det_num_char_tp_recall == 4
    assert top_first.e2e_num_char_tp_recall == 2  # read as "쓰기" + "세로"
    assert bottom_first.e2e_num_char_tp_recall == 4


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        evaluate_image([box(0, 0, 1, 1)], ["a", "b"], [False], [], [])
    with pytest.raises(ValueError):
        evaluate_image([], [], [], [box(0, 0, 1, 1)], [])
    with pytest.raises(ValueError):
        evaluate_image([[(0, 0), (1, 1)]], ["a"], [False], [], [])


def test_detector_without_text_gets_detection_scores_only() -> None:
    counts = evaluate_image([box(0, 0, 40, 10)], ["abcd"], [False], [box(0, 0, 40, 10)], None)
    assert counts.det_num_char_tp_recall == 4 and counts.e2e_num_char_tp_recall == 0


@pytest.mark.parametrize("a, b, expected", [
    ("ab", "ba", "b"), ("abc", "cab", "ab"), ("한국어", "어국한", "어"), ("abcabc", "cbacba", "cbc"),
    ("교환환불", "환불교환", "환불"), ("aab", "aba", "ab"), ("x", "y", ""), ("ab", "", ""), ("같다", "같다", "같다"),
])
def test_lcs_picks_the_packages_subsequence(a: str, b: str, expected: str) -> None:
    assert lcs_string(a, b) == expected


def test_parse_quad_lines_reads_the_package_format() -> None:
    content = '1,2,3,4,5,6,7,8,hello\r\n\r\n -1 , 2,3,4,5,6,7,8,"say \\"hi\\", ok"\r\n0,0,1,0,1,1,0,1,###\n'
    quads, texts = parse_quad_lines(content)
    assert quads.shape == (3, 4, 2) and texts == ["hello", 'say "hi", ok', "###"]
    assert quads[0].tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]] and quads[1, 0].tolist() == [-1, 2]
    assert parse_quad_lines("")[0].shape == (0, 4, 2)
    with pytest.raises(ValueError):
        parse_quad_lines("1,2,3,4,text\n")
    with pytest.raises(ValueError):
        parse_quad_lines("1,2,3,4,5,6,7,+8,text\n")  # the package's pattern has no plus sign


# ---------------------------------------------------------------------------------------------
# The benchmark script (benchmarks/cleval_speed.py)


def _benchmark():
    import importlib.util
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "cleval_speed.py"
    spec = importlib.util.spec_from_file_location("cleval_speed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_runs_our_side_without_the_package(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _benchmark().main(["--data", str(tmp_path), "--random", "5", "--passes", "1"]) == 0
    out = capsys.readouterr().out
    assert "kr_docs not found" in out and f"{len(_benchmark().edge_cases()) + 5} evaluated" in out


@pytest.mark.slow
def test_package_agrees_on_fresh_random_cases() -> None:
    """Starts the package in a subprocess: set CLEVAL_PYTHON to a Python with cleval==0.1.1."""
    python = os.environ.get("CLEVAL_PYTHON")
    if not python:
        pytest.skip("CLEVAL_PYTHON is not set (a Python with cleval==0.1.1 installed, e.g. /tmp/cleval-venv/bin/python)")
    assert _benchmark().main(["--data", str(KR_DOCS), "--cleval-python", python, "--random", "60",
                              "--seed", "99", "--passes", "1"]) == 0


def test_centre_on_an_edge_is_inside_on_the_left_and_top_only() -> None:
    """The package's point-in-polygon rule (half-open edges), which decides centres on edges."""
    from eval.cleval_geometry import points_inside
    square = np.array([[[0, 0], [10, 0], [10, 10], [0, 10]]], dtype=float)
    points = np.array([[0, 5], [10, 5], [5, 0], [5, 10], [0, 0], [10, 10], [5, 5], [10.5, 5]], dtype=float)
    inside, _ = points_inside(points, square)
    assert sorted(inside.tolist()) == [0, 2, 4, 6]
    assert sorted(points_inside(points, square[:, ::-1])[0].tolist()) == [0, 2, 4, 6]  # either orientation


def test_excused_detection_blocks_a_one_to_one_match() -> None:
    """A detection mostly inside ``###`` is excused, yet it still counts as a second partner."""
    gts = [box(0, 0, 40, 10), box(38, 0, 60, 10)]
    dets = [box(0, 0, 40, 10), box(30, 0, 60, 10)]  # the second: 22/30 inside the ### region
    counts = evaluate_image(gts, ["abcd", "###"], [False, True], dets, ["abcd", "x"])
    assert counts.det_num_char_tp_recall == 0 and counts.det_num_char_fp == 1
