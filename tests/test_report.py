"""`bench report`: numbers equal `bench eval`, breakdown rules, bootstrap, plots, run records, errors."""
from __future__ import annotations

import csv
import json
import logging
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from adapters.providers.results import load_results
from adapters.core.schema import ImageResult, ResultSet
from bench import app
from eval.evaluate import EvalOptions, evaluate
from eval.metrics import flat_scores, names
from eval.text import TextOptions
from gt.reader import read_annotations
from reports import breakdowns as bd
from reports import fonts
from reports.compare import (bootstrap, bootstrap_weights, count_matrix, disambiguate, metrics_from_sums,
                             read_latencies)

pytestmark = pytest.mark.slow  # builds whole reports (evaluation, bootstrap, plots) per module fixture

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "kr_docs_mini"
runner = CliRunner()


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def perturbed_results(path: Path, provider: str = "perturbed") -> Path:
    """A second 'provider' from the sample's real predictions: every 5th item dropped, every 3rd
    text changed, one image answered with an error, and one box moved far away (a false positive)."""
    source = load_results(SAMPLE / "res")
    images: dict[str, ImageResult] = {}
    for k, (stem, result) in enumerate(sorted(source.images.items())):
        if k == 3:
            images[stem] = ImageResult.failed("HTTP 500: server error")
            continue
        items = []
        for i, item in enumerate(result.items):
            if i % 5 == 4:
                continue
            if i % 3 == 2:
                item = replace(item, text=item.text + "가")
            if i == 0:
                item = replace(item, polygon=tuple((x + 5000, y + 5000) for x, y in item.polygon))
            items.append(item)
        images[stem] = ImageResult.ok(items)
    ResultSet(provider, images).save(path)
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One `bench eval` per provider, then `bench report` over a results file and an eval folder."""
    root = tmp_path_factory.mktemp("report")
    perturbed = perturbed_results(root / "perturbed.json")
    with open(root / "perturbed.runs.csv", "w", encoding="utf-8-sig", newline="") as handle:
        handle.write("image,status,latency_ms,attempts\n")
        stems = sorted(load_results(perturbed).images)
        for k, stem in enumerate(stems):
            latency = "" if k == 3 else str(100.0 + 10 * k)
            handle.write(f"{stem},{'failed' if k == 3 else 'collected'},{latency},1\n")
        handle.write("not_in_gt,collected,99999,1\n")
    evals = {}
    for name, predictions in (("icdar", SAMPLE / "res"), ("perturbed", perturbed)):
        out = root / f"eval_{name}"
        result = runner.invoke(app, ["eval", "--api_res_json", str(predictions), "--txt_gt_dir", str(SAMPLE / "gt"),
                                     "--out", str(out), "--iou", "0.5", "--no-progress"])
        assert result.exit_code == 0, result.output
        evals[name] = out
    out = root / "report"
    result = runner.invoke(app, ["report", str(evals["icdar"]), str(perturbed), "--txt_gt_dir", str(SAMPLE / "gt"),
                                 "--out", str(out), "--title", "샘플 비교", "--no-progress"])
    assert result.exit_code == 0, result.output
    return {"root": root, "out": out, "perturbed": perturbed, "stdout": result.stdout, **evals}


def test_comparison_numbers_equal_bench_eval(report: dict[str, Path]):
    rows = {r["engine"]: r for r in read_csv(report["out"] / "comparison.csv")}
    assert set(rows) == {"icdar", "perturbed"}
    for engine in rows:
        summary = json.loads((report[engine] / "summary.json").read_text(encoding="utf-8"))
        row = rows[engine]
        for key in ("images", "gt_care", "pred_care", "missing_predictions", "errors"):
            assert int(row[key]) == summary[key], (engine, key)
        for block, prefix in (("detection", "det"), ("end_to_end", "e2e"), ("recognition", "rec")):
            for name, value in summary[block].items():
                if name in ("tp", "correct"):
                    continue
                assert float(row[f"{prefix}_{name}"]) == value, (engine, block, name)
    assert int(rows["perturbed"]["errors"]) == 1
    assert float(rows["perturbed"]["e2e_hmean"]) < float(rows["icdar"]["e2e_hmean"])
    assert (report["out"] / "comparison.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_eval_folder_input_is_reevaluated_and_said_so(report: dict[str, Path]):
    assert "evaluation folder: re-evaluated its recorded predictions" in report["stdout"]
    own = json.loads((report["out"] / "eval" / "icdar" / "summary.json").read_text(encoding="utf-8"))
    assert own["predictions"] == str(SAMPLE / "res")


def test_latency_from_run_records_and_cost(report: dict[str, Path]):
    rows = {r["engine"]: r for r in read_csv(report["out"] / "comparison.csv")}
    stems = sorted(read_annotations(SAMPLE / "gt").images)
    expected = np.array([100.0 + 10 * k for k in range(len(stems)) if k != 3])  # failed row and unknown image left out
    p50, p95 = np.percentile(expected, [50, 95])
    row = rows["perturbed"]
    assert int(row["latency_n"]) == len(expected)
    assert float(row["latency_p50_ms"]) == pytest.approx(p50, abs=0.05)
    assert float(row["latency_p95_ms"]) == pytest.approx(p95, abs=0.05)
    assert rows["icdar"]["latency_p50_ms"] == "" and rows["icdar"]["latency_n"] == "0"
    assert rows["perturbed"]["cost_krw_per_1000"] == "" and "unknown" in rows["perturbed"]["price_note"]


def test_confidence_intervals_in_csv_contain_the_estimate(report: dict[str, Path]):
    for row in read_csv(report["out"] / "comparison.csv"):
        for name in names():
            low, value, high = float(row[f"{name}_ci_low"]), float(row[name]), float(row[f"{name}_ci_high"])
            assert low <= value + 1e-12 and value <= high + 1e-12, (row["provider"], name, low, value, high)
            assert low < high or name == "rec_accuracy_matched", (row["provider"], name)


def test_plots_and_breakdowns_are_written(report: dict[str, Path]):
    out = report["out"]
    for name in ("plot_headline", "plot_iou_sweep", "plot_cer_distribution", "plot_latency",
                 "plot_breakdown_orientation", "plot_breakdown_length", "plot_breakdown_size"):
        path = out / f"{name}.png"
        assert path.stat().st_size > 5000, name
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 200
            colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
            assert len(colours) > 20, f"{name} looks blank"
    assert not (out / "breakdown_category.csv").exists()  # no categories given
    for name in ("orientation", "length", "size"):
        rows = read_csv(out / f"breakdown_{name}.csv")
        assert {r["provider"] for r in rows} == {"icdar", "perturbed"}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "샘플 비교" in html and "data:image/png;base64," in html
    assert 'src="http' not in html and "<link" not in html and "<script" not in html


def test_word_breakdowns_add_up_to_the_totals(report: dict[str, Path]):
    gt = read_annotations(SAMPLE / "gt").images
    evaluation = evaluate(gt, load_results(report["perturbed"]).images)
    total = evaluation.totals(0)
    outcomes = bd.word_outcomes(evaluation, gt)
    for name, (rule, order) in bd.WORD_RULES.items():
        rows = bd.word_breakdown("p", outcomes, rule, order, TextOptions())
        assert sum(r["gt_words"] for r in rows) == total.gt_care, name
        assert sum(r["matched"] for r in rows) == total.tp, name
        assert sum(r["correct"] for r in rows) == total.correct, name
    categories = {stem: ("even" if k % 2 == 0 else "odd") for k, stem in enumerate(sorted(gt))}
    rows = bd.category_breakdown("p", evaluation, categories)
    assert [r["bucket"] for r in rows] == ["even", "odd"]
    assert sum(r["images"] for r in rows) == total.images and sum(r["matched"] for r in rows) == total.tp


def test_categories_from_file_give_a_category_breakdown(tmp_path: Path, report: dict[str, Path]):
    stems = sorted(read_annotations(SAMPLE / "gt").images)
    (tmp_path / "categories.csv").write_text(
        "stem,category\n" + "".join(f"{s}.jpg,{'book' if k < 6 else 'Goods'}\n" for k, s in enumerate(stems)),
        encoding="utf-8-sig")
    out = tmp_path / "out"
    result = runner.invoke(app, ["report", str(SAMPLE / "res"), "--txt_gt_dir", str(SAMPLE / "gt"), "--out", str(out),
                                 "--categories", str(tmp_path / "categories.csv"), "--bootstrap", "50", "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = read_csv(out / "breakdown_category.csv")
    assert [(r["bucket"], int(r["images"])) for r in rows] == [("book", 6), ("Goods", 4)]
    assert (out / "plot_breakdown_category.png").stat().st_size > 5000


# --- breakdown assignment rules ---------------------------------------------------------------

def rect(x: float, y: float, w: float, h: float) -> tuple[tuple[float, float], ...]:
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


def rotated(w: float, h: float, degrees: float, cx: float = 500, cy: float = 500) -> tuple[tuple[float, float], ...]:
    a = math.radians(degrees)
    corners = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    return tuple((cx + x * math.cos(a) - y * math.sin(a), cy + x * math.sin(a) + y * math.cos(a)) for x, y in corners)


def test_orientation_rule_edges():
    assert bd.orientation(rect(0, 0, 10, 15)) == bd.VERTICAL  # exactly 1.5: vertical
    assert bd.orientation(rect(0, 0, 10, 14.99)) == bd.HORIZONTAL
    assert bd.orientation(rect(0, 0, 0.3, 0.45)) == bd.VERTICAL  # 1.5 x 0.3 is 0.44999... in floats
    assert bd.orientation(rect(0, 0, 40, 10)) == bd.HORIZONTAL
    assert bd.orientation(rect(0, 0, 0, 10)) == bd.VERTICAL
    assert bd.orientation(rect(0, 0, 0, 0)) == bd.HORIZONTAL
    tl, tr, br, bl = rect(0, 0, 10, 30)
    assert bd.orientation((tl, tr, bl, br)) == bd.orientation((br, bl, tl, tr)) == bd.VERTICAL  # any point order


def test_orientation_of_rotated_boxes_uses_their_extent():
    assert bd.orientation(rotated(100, 20, 20)) == bd.HORIZONTAL
    assert bd.orientation(rotated(100, 20, 90)) == bd.VERTICAL  # a word turned upright reads vertically
    assert bd.orientation(rotated(100, 20, 45)) == bd.HORIZONTAL  # equal extents
    assert bd.orientation(rotated(100, 20, 70)) == bd.VERTICAL


def test_length_buckets():
    labels = {n: bd.length_bucket(n) for n in (0, 1, 2, 3, 4, 5, 8, 9, 40)}
    assert labels == {0: "0 (empty)", 1: "1", 2: "2", 3: "3-4", 4: "3-4", 5: "5-8", 8: "5-8", 9: "9+", 40: "9+"}
    assert bd.text_length("\u1112\u1161\u11ab\uae00") == 2  # NFD 한 + 글 count as two syllables
    assert bd.text_length(" 가 자 미 ", TextOptions(ignore_space=True)) == 3
    with pytest.raises(ValueError):
        bd.length_bucket(-1)


def test_box_size_is_the_short_side_whatever_the_rotation():
    assert bd.box_size(rect(0, 0, 100, 20)) == pytest.approx(20)
    assert bd.box_size(rotated(100, 20, 30)) == pytest.approx(20)
    assert bd.box_size(rotated(20, 100, 73)) == pytest.approx(20)
    assert bd.box_size(((0, 0), (10, 0), (20, 0), (30, 0))) == 0.0
    assert [bd.size_bucket(v) for v in (0, 15.99, 16, 31.9, 32, 63.9, 64, 500)] == [
        "<16 px", "<16 px", "16-32 px", "16-32 px", "32-64 px", "32-64 px", ">=64 px", ">=64 px"]


def test_category_rules(tmp_path: Path):
    assert bd.category_from_path("Goods/a.jpg") == "Goods"
    assert bd.category_from_path("Goods/shelf/a.jpg") == "Goods"
    assert bd.category_from_path("a.jpg") is None
    path = tmp_path / "c.csv"
    path.write_text("\ufeffstem,category\nimg_1.jpg,book\nimg_2,Signboard\n\n", encoding="utf-8")
    assert bd.read_categories(path) == {"img_1": "book", "img_2": "Signboard"}
    path.write_text("a,book\nb\n", encoding="utf-8")
    with pytest.raises(bd.InputError, match=r"c.csv, line 2"):
        bd.read_categories(path)
    path.write_text("a,book\na,Goods\n", encoding="utf-8")
    with pytest.raises(bd.InputError, match=r"line 2.*'book' and 'Goods'"):
        bd.read_categories(path)


def test_report_categories_prefer_the_csv_and_warn_about_uncategorised_images(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(logging.getLogger("bench"), "propagate", True)  # the CLI turns it off once run
    caplog.set_level(logging.WARNING, logger="bench")
    images = tmp_path / "images"
    paths = {"a": images / "Goods" / "a.jpg", "b": images / "b.jpg"}
    assert bd.report_categories(None, images, paths, ["a", "b"]) == ({"a": "Goods"}, f"sub-folders of {images}")
    assert "1 gt image(s) have no category (counted as (none)), e.g. b" in caplog.text
    csv_file = tmp_path / "c.csv"
    csv_file.write_text("a,book\nb,Goods\n", encoding="utf-8")
    assert bd.report_categories(csv_file, images, paths, ["a", "b"]) == ({"a": "book", "b": "Goods"},
                                                                       f"from {csv_file}")
    assert bd.report_categories(None, images, {"b": images / "b.jpg"}, ["b"]) == (None, "")
    assert bd.report_categories(None, None, None, ["a"]) == (None, "")


# --- bootstrap ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_evaluation():
    gt = read_annotations(SAMPLE / "gt").images
    return evaluate(gt, load_results(SAMPLE / "res").images, EvalOptions(protocol="both"))  # every family


def test_vectorised_metrics_equal_the_evaluator(sample_evaluation):
    matrix = count_matrix(sample_evaluation)
    vectorised = metrics_from_sums(matrix.sum(axis=0))
    expected = flat_scores(*sample_evaluation.family_totals(0))
    for name in names():
        assert float(vectorised[name]) == pytest.approx(expected[name], rel=1e-12, abs=1e-15), name


def test_bootstrap_is_seeded_and_brackets_the_estimate(sample_evaluation):
    matrix = count_matrix(sample_evaluation)
    first, again, other = bootstrap(matrix, 300, seed=1), bootstrap(matrix, 300, seed=1), bootstrap(matrix, 300, seed=2)
    assert first == again
    assert first != other
    point = flat_scores(*sample_evaluation.family_totals(0))
    for name in names():
        low, high = first[name]
        assert low <= point[name] <= high, name
        assert high - low < 0.5, name
    for weights in bootstrap_weights(10, 250, seed=3):
        assert weights.shape[1] == 10 and np.all(weights.sum(axis=1) == 10)


def test_labels_of_one_provider_twice_are_told_apart():
    labels = disambiguate(["tesseract", "tesseract", "naver"],
                          [Path("runs/psm11/tesseract.json"), Path("runs/psm6/tesseract.json"), Path("x/naver.json")])
    assert labels == ["tesseract [psm11]", "tesseract [psm6]", "naver"]
    assert disambiguate(["kakao", "kakao"], [Path("r/kakao.json"), Path("r/kakao2.json")]) == [
        "kakao [kakao.json]", "kakao [kakao2.json]"]
    assert disambiguate(["a", "a"], [Path("r/a.json"), Path("r/a.json")]) == ["a #1", "a #2"]


def test_run_records_are_read_defensively(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(logging.getLogger("bench"), "propagate", True)  # the CLI turns it off once run
    caplog.set_level(logging.WARNING, logger="bench")
    path = tmp_path / "x.runs.csv"
    path.write_text("image,status,latency_ms\na,collected,10\nb,reused,20.5\nc,failed,\nd,collected,abc\n"
                    "e,remaining,\n", encoding="utf-8-sig")
    assert read_latencies(path).tolist() == [10.0, 20.5]
    assert read_latencies(path, {"b"}).tolist() == [20.5]
    path.write_text("image,status\na,collected\n", encoding="utf-8")
    assert read_latencies(path) is None
    assert "latency left out" in caplog.text


# --- errors -----------------------------------------------------------------------------------------

def test_missing_inputs_exit_2_with_a_clear_message(tmp_path: Path, report: dict[str, Path]):
    gt = str(SAMPLE / "gt")
    cases = [
        (["report", str(tmp_path / "nope.json"), "--txt_gt_dir", gt], "nope.json: no such results file"),
        (["report", str(SAMPLE / "res"), "--txt_gt_dir", str(tmp_path / "no_gt")], "no_gt: no such folder"),
        (["report", str(SAMPLE / "res"), "--txt_gt_dir", gt, "--categories", str(tmp_path / "c.csv")],
         "c.csv: no such categories file"),
        (["report", str(SAMPLE / "res"), "--txt_gt_dir", gt, "--images", str(tmp_path / "imgs")], "imgs: no such folder"),
    ]
    broken = tmp_path / "broken_eval"
    broken.mkdir()
    (broken / "summary.json").write_text(json.dumps({"predictions": str(tmp_path / "gone.json")}), encoding="utf-8")
    cases.append((["report", str(broken), "--txt_gt_dir", gt], "gone.json' no longer exist"))
    for args, message in cases:
        out = tmp_path / "out"
        result = runner.invoke(app, [*args, "--out", str(out), "--no-progress"])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (message, result.stderr)
        assert not (out / "report.html").exists()
    result = runner.invoke(app, ["report", "--txt_gt_dir", gt, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "RESULT" in result.output


def fake_fontconfig(folder: Path) -> Path:
    """fc-list / fc-match of a machine whose only font is DejaVu Sans (no Hangul)."""
    folder.mkdir()
    (folder / "fc-list").write_text("#!/bin/sh\nexit 0\n")
    (folder / "fc-match").write_text("#!/bin/sh\nprintf '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf\\nen|fr|de'\n")
    for name in ("fc-list", "fc-match"):
        (folder / name).chmod(0o755)
    return folder


def test_missing_korean_font_says_which_package_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    bin_dir = fake_fontconfig(tmp_path / "bin")
    with pytest.raises(fonts.FontMissingError, match="apt-get install fonts-nanum"):
        fonts.find_hangul_font(str(bin_dir / "fc-list"), str(bin_dir / "fc-match"))
    assert fonts.find_hangul_font().endswith((".ttf", ".otf", ".ttc"))  # the real machine has one
    monkeypatch.setenv("PATH", str(bin_dir))
    fonts.hangul_font.cache_clear()
    try:
        result = runner.invoke(app, ["report", str(SAMPLE / "res"), "--txt_gt_dir", str(SAMPLE / "gt"),
                                     "--out", str(tmp_path / "out"), "--no-progress"])
    finally:
        fonts.hangul_font.cache_clear()
    assert result.exit_code == 2, result.output
    assert "apt-get install fonts-nanum" in result.stderr
