"""Fair scoring across granularities: `bench eval --protocol`, CLEval and page text as metric
families, text-only providers, and "–" for metrics without a value."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from adapters.core.schema import ImageResult, Item, ResultSet
from bench import app
from eval.cleval import ClevalCounts, evaluate_image as cleval_image, metrics as cleval_metrics, parse_quad_lines
from eval.evaluate import EvalOptions, evaluate, evaluate_image
from eval.metrics import flat_scores, metrics, names
from eval.text import TextOptions
from gt.reader import Word
from reports.compare import bootstrap, comparison_columns, count_matrix
from reports.eval_tables import format_table
from reports.html import _pct

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "kr_docs_mini"
KR_DOCS = Path(os.environ.get("CLEVAL_KR_DOCS") or REPO.parent / "shared" / "datasets" / "kr_docs")
BOX_METRICS = [m.name for m in metrics() if m.name.startswith(("det_", "e2e_", "rec_", "cleval_"))]
PAGE_METRICS = [m.name for m in metrics() if m.name.startswith("page_")]

runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, ["eval", *map(str, args)])


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def box(x0: float, y0: float, x1: float, y1: float) -> tuple[tuple[float, float], ...]:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def words(*entries: tuple) -> list[Word]:
    return [Word(points, text, text != "###", line) for line, (points, text) in enumerate(entries, start=1)]


def scores(gt: list[Word], result: ImageResult | None, **options) -> dict:
    image = evaluate_image("img", gt, result, EvalOptions(protocol="both", **options))
    return {**flat_scores(*image.families(0)), "page": image.page, "cleval": image.cleval, "image": image}


# --- bench eval --protocol --------------------------------------------------------------------------

def test_protocol_iou_is_the_default_and_adds_only_page_text(tmp_path: Path):
    default, iou = tmp_path / "default", tmp_path / "iou"
    assert run("--api_res_json", SAMPLE / "res", "--txt_gt_dir", SAMPLE / "gt", "--out", default).exit_code == 0
    assert run("--api_res_json", SAMPLE / "res", "--txt_gt_dir", SAMPLE / "gt", "--out", iou,
               "--protocol", "iou").exit_code == 0
    for name in ("summary.json", "per_image.csv", "matches.csv", "sweep.csv"):
        assert (default / name).read_bytes() == (iou / name).read_bytes()
    summary = json.loads((iou / "summary.json").read_text(encoding="utf-8"))
    assert "cleval" not in summary and "cleval" not in summary["protocol"]
    assert list(summary)[list(summary).index("recognition") + 1] == "page_text"
    assert set(summary["page_text"]) == {"cer", "char_precision", "char_recall", "char_f1", "word_precision",
                                         "word_recall", "word_f1", "page_ned", "edit_distance", "gt_chars",
                                         "pred_chars", "common_chars", "gt_words", "pred_words", "common_words",
                                         "cer_variants"}
    assert set(summary["page_text"]["cer_variants"]) == {"no_space", "spaced", "no_punct", "casefold", "jamo"}
    assert summary["page_text"]["cer_variants"]["no_space"] == summary["page_text"]["cer"]
    per_image = read_csv(iou / "per_image.csv")
    assert sum(int(r["page_edit_distance"]) for r in per_image) == summary["page_text"]["edit_distance"]
    assert all(not k.startswith("cleval_") for k in per_image[0])


def test_protocol_cleval_and_both(tmp_path: Path):
    outs = {p: tmp_path / p for p in ("iou", "cleval", "both")}
    for protocol, out in outs.items():
        result = run("--api_res_json", SAMPLE / "res", "--txt_gt_dir", SAMPLE / "gt", "--out", out,
                     "--protocol", protocol)
        assert result.exit_code == 0, result.output
    docs = {p: json.loads((out / "summary.json").read_text(encoding="utf-8")) for p, out in outs.items()}
    cleval, both, iou = docs["cleval"], docs["both"], docs["iou"]
    assert "detection" not in cleval and "iou" not in cleval and "thresholds" not in cleval["protocol"]
    assert not (outs["cleval"] / "matches.csv").exists() and not (outs["cleval"] / "sweep.csv").exists()
    assert cleval["cleval"] == both["cleval"] and cleval["page_text"] == both["page_text"] == iou["page_text"]
    for key in ("detection", "end_to_end", "recognition"):
        assert both[key] == iou[key]
    assert both["protocol"]["cleval"] == {"case_sensitive": True, "area_precision_constraint": 0.3,
                                          "granularity_penalty_weight": 1.0,
                                          "recall_granularity_penalty_weight": None,
                                          "precision_granularity_penalty_weight": None,
                                          "vertical_aspect_ratio_threshold": 0.5}
    block = cleval["cleval"]
    assert list(block) == ["detection", "end_to_end", "num_merged", "num_splitted", "num_char_overlapped"]
    assert list(block["detection"]) == ["precision", "recall", "hmean", "num_char_gt", "num_char_det",
                                        "num_char_tp_recall", "num_char_tp_precision", "num_char_fp",
                                        "gran_score_recall", "gran_score_precision"]
    per_image = read_csv(outs["cleval"] / "per_image.csv")
    assert sum(int(r["cleval_det_num_char_gt"]) for r in per_image) == block["detection"]["num_char_gt"]
    assert sum(int(r["cleval_num_merged"]) for r in per_image) == block["num_merged"]
    assert "tp" not in per_image[0] and "det_hmean" not in per_image[0] and "pred_care" in per_image[0]


def test_cleval_through_bench_equals_the_module_on_the_package_format(tmp_path: Path):
    """The bridge (readers, which predictions count, texts) adds nothing: same counts as feeding the
    package-format files straight to eval.cleval, as the package would read them."""
    total = ClevalCounts()
    for gt_file in sorted((SAMPLE / "gt").glob("gt_*.txt")):
        gt_quads, gt_texts = parse_quad_lines(gt_file.read_text(encoding="utf-8-sig"))
        res_file = SAMPLE / "res" / gt_file.name.removeprefix("gt_")
        quads, texts = parse_quad_lines(res_file.read_text(encoding="utf-8-sig")) if res_file.exists() else ([], [])
        total += cleval_image(gt_quads, gt_texts, [t == "###" for t in gt_texts], quads, texts)
    out = tmp_path / "out"
    assert run("--api_res_json", SAMPLE / "res", "--txt_gt_dir", SAMPLE / "gt", "--out", out,
               "--protocol", "cleval").exit_code == 0
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["cleval"] == cleval_metrics(total)


def test_bad_protocol_exits_2():
    result = run("--api_res_json", SAMPLE / "res", "--txt_gt_dir", SAMPLE / "gt", "--protocol", "box")
    assert result.exit_code == 2
    with pytest.raises(ValueError, match="protocol"):
        EvalOptions(protocol="box")


@pytest.mark.skipif(not KR_DOCS.is_dir(), reason=f"kr_docs not found at {KR_DOCS} (CLEVAL_KR_DOCS overrides)")
@pytest.mark.slow  # seconds of work
def test_bench_eval_protocol_cleval_on_kr_docs_equals_the_package(tmp_path: Path):
    from test_cleval import KR_DOCS_PACKAGE

    out = tmp_path / "out"
    result = run("--api_res_json", KR_DOCS / "res_eval_doc_v1_kr.zip", "--txt_gt_dir", KR_DOCS / "gt_eval_doc_v1_kr.zip",
                 "--out", out, "--protocol", "cleval", "--no-progress")
    assert result.exit_code == 0, result.output
    block = json.loads((out / "summary.json").read_text(encoding="utf-8"))["cleval"]
    assert block["detection"]["hmean"] == 0.977989360950786
    assert (block["detection"]["num_char_gt"], block["detection"]["num_char_det"],
            block["detection"]["num_char_tp_recall"]) == (46_486, 46_816, 46_218)
    assert block["end_to_end"]["hmean"] == 0.9165773847119407
    assert block == KR_DOCS_PACKAGE  # every count and rate, in the package's layout
    assert "97.80" in result.stdout and "91.66" in result.stdout  # the terminal's CLEval line


# --- which predictions count -----------------------------------------------------------------------

def test_cleval_detections_follow_the_iou_filtering():
    gt = words((box(0, 0, 40, 10), "abcd"), (box(100, 0, 140, 10), "###"))
    result = ImageResult.ok([
        Item(box(0, 0, 40, 10), "abcd", 0.9),
        Item(box(0, 20, 40, 30), "zz", 0.1),  # below --min-score: not a detection
        Item(None, "abcd"),  # no geometry: not a detection
        Item(box(100, 0, 140, 10), "xyz", 0.9),  # in the don't-care region: CLEval's own rule excuses it
    ])
    s = scores(gt, result, min_score=0.5)
    c = s["cleval"]
    assert (c.detections, c.no_geometry) == (2, 1)
    assert c.det_num_char_fp == 0 and s["cleval_det_precision"] == 1.0 and s["cleval_e2e_hmean"] == 1.0
    assert s["image"].counts[0].pred_discarded == 1  # the IoU protocol discards the same one


def test_cleval_case_follows_ignore_case():
    gt = words((box(0, 0, 40, 10), "Seoul"))
    result = ImageResult.ok([Item(box(0, 0, 40, 10), "SEOUL")])
    assert scores(gt, result)["cleval_e2e_recall"] == pytest.approx(1 / 5)  # the package's default: case-sensitive
    assert scores(gt, result, text=TextOptions(ignore_case=True))["cleval_e2e_recall"] == 1.0
    assert scores(gt, result, text=TextOptions(icdar15=True))["cleval_e2e_recall"] == 1.0


def test_cleval_takes_degenerate_prediction_polygons():
    gt = words((box(0, 0, 40, 10), "ab"))
    result = ImageResult.ok([Item(((5.0, 5.0), (6.0, 6.0)), "ab"), Item((), "x"), Item(box(0, 0, 40, 10), "ab")])
    s = scores(gt, result)
    assert s["cleval"].detections == 3 and s["cleval_det_recall"] == 1.0


# --- page text ------------------------------------------------------------------------------------

def test_page_text_reads_both_sides_in_reading_order():
    gt = words((box(60, 0, 100, 10), "둘"), (box(0, 0, 40, 10), "하나"), (box(0, 20, 40, 30), "셋"))
    lines = ImageResult.ok([Item(box(0, 20, 40, 30), "셋"), Item(box(0, 0, 100, 10), "하나 둘")])
    s = scores(gt, lines)
    assert s["page_cer"] == 0.0 and s["page_word_f1"] == 1.0 and s["page_char_f1"] == 1.0
    assert s["det_recall"] == pytest.approx(1 / 3)  # one line box is no word box: the IoU protocol misses two words


def test_page_text_counts_every_prediction_that_counts():
    gt = words((box(0, 0, 40, 10), "가나"), (box(100, 0, 140, 10), "###"))
    result = ImageResult.ok([
        Item(box(0, 0, 40, 10), "가", 0.9),
        Item(box(100, 0, 140, 10), "잡음", 0.9),  # discarded by the don't-care region
        Item(box(0, 20, 40, 30), "틀림", 0.1),  # below --min-score
        Item(None, "나", 0.9),  # no geometry: after the placed ones
        Item(None, "또", 0.1),  # no geometry but below --min-score
    ])
    page = scores(gt, result, min_score=0.5)["page"]
    assert (page.gt_chars, page.pred_chars, page.edit_distance, page.common_chars) == (2, 2, 0, 2)
    assert (page.gt_words, page.pred_words, page.common_words) == (1, 2, 0)


def test_page_text_follows_the_text_options():
    gt = words((box(0, 0, 40, 10), "Seoul,"), (box(50, 0, 90, 10), "역"))
    result = ImageResult.ok([Item(box(0, 0, 90, 10), "SEOUL 역")])
    plain = scores(gt, result)
    assert plain["page_cer"] == pytest.approx(5 / 7)  # "Seoul,역": eoul -> EOUL, the comma dropped
    assert plain["page_cer_casefold"] == pytest.approx(1 / 7) and plain["page_cer_no_punct"] == pytest.approx(4 / 6)
    assert plain["page_cer_spaced"] == pytest.approx(5 / 8)  # "Seoul, 역" vs "SEOUL 역"
    loose = scores(gt, result, text=TextOptions(ignore_case=True, ignore_punct=True))
    assert loose["page_cer"] == 0.0 and loose["page_word_f1"] == 1.0


def test_page_text_of_an_image_without_answer_and_of_one_without_gt():
    missed = scores(words((box(0, 0, 40, 10), "가나")), None)
    assert missed["page_cer"] == 1.0 and missed["page_char_recall"] == 0.0
    assert missed["page_char_precision"] is None and missed["page_char_f1"] is None
    invented = scores([], ImageResult.ok([Item(None, "가")]))
    assert invented["page_cer"] is None and invented["page_char_precision"] == 0.0


# --- text-only providers ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def text_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kr_docs_mini gt read without boxes: one item per line of text, as an LLM answers."""
    from gt.reader import read_annotations
    from eval.page_text import texts_in_reading_order

    images = {}
    for stem, gt in read_annotations(SAMPLE / "gt").images.items():
        care = [w for w in gt if w.care]
        texts = texts_in_reading_order([w.points for w in care], [w.text for w in care])
        lines = [" ".join(texts[k:k + 5]) for k in range(0, len(texts), 5)]
        images[stem] = ImageResult.ok([Item(None, line, None, "line") for line in lines])
    path = tmp_path_factory.mktemp("openai") / "openai.normalized.json"
    ResultSet("openai", images).save(path)
    return path


def test_a_provider_without_geometry_gets_page_text_and_no_box_metric(text_only: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = run("--api_res_json", text_only, "--txt_gt_dir", SAMPLE / "gt", "--out", out, "--protocol", "both")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["pred_care"] == 0 and summary["no_geometry"] > 0
    for key in ("detection", "end_to_end"):
        assert [summary[key][m] for m in ("precision", "recall", "hmean")] == [None] * 3
    assert set(summary["recognition"].values()) == {None}
    for key in ("detection", "end_to_end"):
        assert [summary["cleval"][key][m] for m in ("precision", "recall", "hmean")] == [None] * 3
    assert summary["page_text"]["cer"] == 0.0 and summary["page_text"]["word_f1"] == 1.0
    row = read_csv(out / "per_image.csv")[0]
    assert all(row[name] == "" for name in BOX_METRICS)  # empty cells, not 0
    assert all(row[name] != "" for name in PAGE_METRICS)
    sweep = read_csv(out / "sweep.csv")[0]
    assert sweep["det_recall"] == "" and sweep["tp"] == "0"
    table = result.stdout.splitlines()
    assert table[4].split()[1:] == ["–"] * 10  # the IoU line: a dash for each metric


@pytest.mark.slow  # a whole report: plots and pages
def test_report_ranks_a_provider_without_geometry_on_page_text(text_only: Path, tmp_path: Path):
    out = tmp_path / "report"
    result = runner.invoke(app, ["report", str(SAMPLE / "res"), str(text_only), "--txt_gt_dir", str(SAMPLE / "gt"),
                                 "--out", str(out), "--bootstrap", "100", "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = {r["provider"]: r for r in read_csv(out / "comparison.csv")}
    openai, icdar = rows["openai"], rows["icdar"]
    for name in BOX_METRICS:
        assert openai[name] == openai[f"{name}_ci_low"] == openai[f"{name}_ci_high"] == "", name
        assert icdar[name] != "" and icdar[f"{name}_ci_low"] != "", name
    for name in PAGE_METRICS:
        assert openai[name] != "" and openai[f"{name}_ci_low"] != "", name
    for provider, row in rows.items():  # the numbers of eval/<provider>/summary.json, to the last digit
        summary = json.loads((out / "eval" / provider / "summary.json").read_text(encoding="utf-8"))
        assert float(row["cleval_e2e_hmean"] or "nan") == pytest.approx(summary["cleval"]["end_to_end"]["hmean"]
                                                                        or float("nan"), nan_ok=True, rel=0, abs=0)
        assert float(row["page_cer_jamo"]) == summary["page_text"]["cer_variants"]["jamo"]
    page = (out / "report.html").read_text(encoding="utf-8")
    comparison = page.split('id="full-table"', 1)[1].split('id="ranking"', 1)[0]  # one block per group
    for title in ("IoU protocol", "CLEval", "Page text", "Page CER by kind of error"):
        assert f"<caption>{title}" in comparison
    openai_rows = [block.split("</tr>", 1)[0] for block in comparison.split("<td class=\"l\">openai</td>")[1:]]
    assert sum(row.count(">–<") for row in openai_rows) >= len(BOX_METRICS)
    ranking = page.split('id="ranking"', 1)[1].split("</table>", 1)[0]
    assert ranking.index("openai") < ranking.index("icdar")  # it reads the page perfectly: ranked first
    assert "openai: det H –, e2e H –, acc –, CER –, CLEval e2e H –, page CER 0.00" in result.stdout


# --- empty denominators --------------------------------------------------------------------------

def test_empty_denominators_show_a_dash_everywhere(tmp_path: Path):
    empty = tmp_path / "naver.json"
    empty.write_text("{}", encoding="utf-8")
    out = tmp_path / "out"
    result = run("--api_res_json", empty, "--txt_gt_dir", SAMPLE / "gt", "--out", out, "--protocol", "both")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["detection"]["precision"] is None and summary["detection"]["recall"] == 0.0
    assert summary["detection"]["hmean"] is None  # hmean passes "no value" through
    assert summary["recognition"]["cer"] is None and summary["cleval"]["detection"]["precision"] is None
    assert summary["page_text"]["char_precision"] is None and summary["page_text"]["cer"] == 1.0
    row = read_csv(out / "per_image.csv")[0]
    assert row["det_precision"] == row["rec_cer"] == row["page_char_precision"] == "" and row["det_recall"] == "0.0"
    assert "–" in result.stdout.splitlines()[4] and _pct(None) == "–"


def test_bootstrap_takes_percentiles_over_the_resamples_with_a_value():
    gt = {"a": words((box(0, 0, 10, 5), "가")), "b": words((box(0, 0, 10, 5), "나"))}
    evaluation = evaluate(gt, {"a": ImageResult.ok([Item(box(0, 0, 10, 5), "가")])}, EvalOptions(protocol="both"))
    intervals = bootstrap(count_matrix(evaluation), 200, seed=0)
    assert intervals["det_precision"] == (1.0, 1.0)  # resamples holding only "b" have no precision
    assert intervals["det_recall"][0] == 0.0 and intervals["det_recall"][1] == 1.0
    nothing = evaluate(gt, {}, EvalOptions(protocol="both"))
    low, high = bootstrap(count_matrix(nothing), 50, seed=0)["det_precision"]
    assert np.isnan(low) and np.isnan(high)  # no resample has a value: "–"


def test_comparison_has_columns_for_every_protocol():
    columns = comparison_columns()
    for name in ("det_hmean", "cleval_det_hmean", "cleval_e2e_hmean", "page_cer", "page_char_f1", "page_ned",
                 "page_cer_no_space", "page_cer_spaced", "page_cer_no_punct", "page_cer_casefold", "page_cer_jamo"):
        assert columns[columns.index(name):][:3] == [name, f"{name}_ci_low", f"{name}_ci_high"]
    assert set(names()) <= set(columns)


def test_terminal_tables_per_family():
    evaluation = evaluate({"a": words((box(0, 0, 10, 5), "가"))}, {"a": ImageResult.ok([Item(box(0, 0, 10, 5), "가")])},
                          EvalOptions(protocol="both"))
    text = format_table(evaluation, "x")
    assert "CLEval (percent):" in text and "Page text (percent):" in text and "Page CER by kind of error" in text
