"""`bench show`: overlays drawn in the right colours at the right places, filters, the live path and errors."""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from adapters.core.images import discover
from adapters.core.schema import ImageResult, Item, ResultSet
from adapters.providers.results import load_results
from bench import app
from eval.inputs import read_eval_inputs
from gt.reader import Word
from reports import fonts
from reports.overlay import COLOURS, FALSE, IGNORED, MATCH, MISSED, PREDICTION, WRONG, build_overlay
from reports.show import draw_overlays

runner = CliRunner()


def quad(box: tuple[int, int, int, int]) -> tuple[tuple[float, float], ...]:
    left, top, right, bottom = box
    return ((left, top), (right, top), (right, bottom), (left, bottom))


@pytest.fixture(scope="module")
def predictions(korean_images, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sign_exit: one right, one wrong text; sign_shop: one right, one missed, one false; sign_hall: all right."""
    words = {stem: {w.text: w for w in korean_images.care_words(stem)} for stem in korean_images.words}
    images = {
        "sign_exit": ImageResult.ok([Item(quad(words["sign_exit"]["출입구"].box), "출입구"),
                                     Item(quad(words["sign_exit"]["비상구"].box), "비상귀")]),
        "sign_shop": ImageResult.ok([Item(quad(words["sign_shop"]["편의점"].box), "편의점"),
                                     Item(quad(words["sign_shop"]["할인"].box), "할인"),
                                     Item(quad((460, 20, 600, 80)), "가짜")]),
        "sign_hall": ImageResult.ok([Item(quad(words["sign_hall"]["도서관"].box), "도서관")]),
    }
    path = tmp_path_factory.mktemp("show") / "preds.json"
    ResultSet("naver", images).save(path)
    return path


def colour_pixels(image: Image.Image, colour: tuple[int, int, int], box: tuple[int, int, int, int] | None = None) -> int:
    pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    if box is not None:
        left, top, right, bottom = box
        pixels = pixels[max(0, top):bottom, max(0, left):right]
    return int(np.all(pixels == np.array(colour), axis=-1).sum())


def around(box: tuple[int, int, int, int], margin: int = 6) -> tuple[int, int, int, int]:
    left, top, right, bottom = box
    return left - margin, top - margin, right + margin, bottom + margin


def test_overlays_colour_each_outcome_where_it_is(korean_images, predictions: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["show", "--images", str(korean_images.images_dir), "--api_res_json", str(predictions),
                                 "--txt_gt_dir", str(korean_images.gt_dir), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("*.png")) == ["sign_exit.png", "sign_hall.png", "sign_shop.png"]
    words = {stem: {w.text: w for w in korean_images.words[stem]} for stem in korean_images.words}

    exit_img = Image.open(out / "sign_exit.png")
    original = Image.open(korean_images.files["sign_exit"])
    assert exit_img.width == original.width and exit_img.height > original.height  # legend strip below
    drawn = exit_img.crop((0, 0, original.width, original.height))
    assert colour_pixels(drawn, COLOURS[MATCH], around(words["sign_exit"]["출입구"].box)) > 100
    assert colour_pixels(drawn, COLOURS[WRONG], around(words["sign_exit"]["비상구"].box)) > 100
    assert colour_pixels(drawn, COLOURS[IGNORED], around(words["sign_exit"]["###"].box)) > 50
    assert colour_pixels(drawn, COLOURS[MISSED]) == 0 and colour_pixels(drawn, COLOURS[FALSE]) == 0

    shop = Image.open(out / "sign_shop.png").convert("RGB")
    assert colour_pixels(shop, COLOURS[MISSED], around(words["sign_shop"]["영업중"].box)) > 100
    assert colour_pixels(shop, COLOURS[FALSE], around((460, 20, 600, 80))) > 100
    assert colour_pixels(shop, COLOURS[MATCH], around(words["sign_shop"]["할인"].box)) > 100
    legend = shop.crop((0, Image.open(korean_images.files["sign_shop"]).height, shop.width, shop.height))
    for kind in (MATCH, MISSED, FALSE):
        assert colour_pixels(legend, COLOURS[kind]) > 50, kind  # a swatch per kind present

    hall = Image.open(out / "sign_hall.png")
    assert colour_pixels(hall, COLOURS[MATCH]) > 100
    assert all(colour_pixels(hall, COLOURS[k]) == 0 for k in (WRONG, MISSED, FALSE))


def test_only_errors_skips_clean_images(korean_images, predictions: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["show", "--images", str(korean_images.images_dir), "--api_res_json", str(predictions),
                                 "--txt_gt_dir", str(korean_images.gt_dir), "--out", str(out), "--only-errors",
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("*.png")) == ["sign_exit.png", "sign_shop.png"]
    assert "1 without errors skipped" in result.stdout


def test_without_gt_every_prediction_is_drawn_with_its_text(korean_images, predictions: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["show", "--images", str(korean_images.images_dir), "--api_res_json", str(predictions),
                                 "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    shop = Image.open(out / "sign_shop.png")
    assert colour_pixels(shop, COLOURS[PREDICTION], around((460, 20, 600, 80))) > 100
    assert colour_pixels(shop, COLOURS[MATCH]) == 0
    with_labels = colour_pixels(shop, COLOURS[PREDICTION])
    result = runner.invoke(app, ["show", "--images", str(korean_images.images_dir), "--api_res_json", str(predictions),
                                 "--out", str(tmp_path / "plain"), "--no-labels", "--no-progress"])
    assert result.exit_code == 0
    assert colour_pixels(Image.open(tmp_path / "plain" / "sign_shop.png"), COLOURS[PREDICTION]) < with_labels


def test_an_error_entry_is_an_error_image():
    words = [Word(quad((0, 0, 10, 10)), "가", True, 1)]
    overlay = build_overlay("x", ImageResult.failed("Kakao error -10: API limit"), words)
    assert overlay.has_errors and "Kakao error -10" in overlay.banner and overlay.counts == {MISSED: 1}
    assert not build_overlay("y", ImageResult.ok([Item(quad((0, 0, 10, 10)), "가")]), words).has_errors


def test_usage_errors_exit_2(korean_images, predictions: Path, tmp_path: Path):
    base = ["show", "--images", str(korean_images.images_dir), "--out", str(tmp_path / "o")]
    cases = [
        (base, "exactly one of --api_res_json FILE or --provider NAME"),
        (base + ["--api_res_json", str(predictions), "--provider", "tesseract"], "exactly one of"),
        (base + ["--api_res_json", str(predictions), "--only-errors"], "--only-errors needs --txt_gt_dir"),
        (base + ["--api_res_json", str(tmp_path / "none.json")], "none.json: no such file"),
        (["show", "--images", str(tmp_path / "noimg"), "--out", str(tmp_path / "o"), "--api_res_json", str(predictions)],
         "noimg: no such folder"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (message, result.stderr)


def test_missing_korean_font_names_the_package(korean_images, predictions: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "fc-list").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "fc-match").write_text("#!/bin/sh\nexit 1\n")
    for name in ("fc-list", "fc-match"):
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    fonts.hangul_font.cache_clear()
    try:
        result = runner.invoke(app, ["show", "--images", str(korean_images.images_dir), "--api_res_json",
                                     str(predictions), "--out", str(tmp_path / "o")])
    finally:
        fonts.hangul_font.cache_clear()
    assert result.exit_code == 2
    assert "fonts-nanum" in result.stderr and "Korean" in result.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed (make setup installs it)")
def test_provider_collects_first_and_reuses_on_the_next_run(korean_images, tmp_path: Path):
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(korean_images.files["sign_hall"], images)
    out = tmp_path / "out"
    args = ["show", "--images", str(images), "--provider", "tesseract", "--txt_gt_dir", str(korean_images.gt_dir),
            "--out", str(out), "--no-progress"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "1 collected" in first.stdout
    assert (out / "tesseract.normalized.json").is_file() and (out / "tesseract.runs.csv").is_file()
    assert (out / "sign_hall.png").is_file()
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "0 collected, 1 reused" in second.stdout


def test_skip_bad_lines_reads_the_rest_of_the_gt(korean_images, predictions: Path, tmp_path: Path):
    gt = tmp_path / "gt"
    shutil.copytree(korean_images.gt_dir, gt)
    with open(gt / "gt_sign_hall.txt", "a", encoding="utf-8") as handle:
        handle.write("0,0,10,oops,10,10,0,10,깨진\n")
    base = ["show", "--images", str(korean_images.images_dir), "--api_res_json", str(predictions),
            "--txt_gt_dir", str(gt), "--no-progress"]
    stopped = runner.invoke(app, [*base, "--out", str(tmp_path / "stopped")])
    assert stopped.exit_code == 2 and "gt_sign_hall.txt, line 2" in stopped.stderr
    assert not (tmp_path / "stopped").exists()
    skipped = runner.invoke(app, [*base, "--out", str(tmp_path / "out"), "--skip-bad-lines"])
    assert skipped.exit_code == 0, skipped.output
    assert "skipped" in skipped.stderr and "gt_sign_hall.txt, line 2" in skipped.stderr
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["sign_exit.png", "sign_hall.png",
                                                                         "sign_shop.png"]
    assert colour_pixels(Image.open(tmp_path / "out" / "sign_hall.png"), COLOURS[MISSED]) == 0  # the bad line is gone


def test_draw_overlays_counts_what_it_leaves_out(korean_images, predictions: Path, tmp_path: Path):
    results = load_results(predictions).images
    found = [f for f in discover(korean_images.images_dir) if f.key != "sign_shop"]
    inputs = read_eval_inputs(korean_images.gt_dir, [0.5])
    summary = draw_overlays(korean_images.images_dir, found, results, inputs, tmp_path / "all", fonts.hangul_font(),
                            progress=False)
    assert (summary.written, summary.no_gt, summary.no_result) == (2, 0, 0)
    assert str(summary) == f"wrote 2 overlay(s) to {tmp_path / 'all'}"
    del results["sign_hall"]
    without_gt = replace(inputs, gt_dir=None)
    summary = draw_overlays(korean_images.images_dir, found, results, without_gt, tmp_path / "preds",
                            fonts.hangul_font(), progress=False)
    assert (summary.written, summary.no_result) == (1, 1)
    summary = draw_overlays(korean_images.images_dir, found, results, inputs, tmp_path / "errors", fonts.hangul_font(),
                            only_errors=True, progress=False)
    assert (summary.written, summary.skipped_clean) == (2, 0)  # sign_hall has no result: an error image
    assert str(summary) == f"wrote 2 overlay(s) to {tmp_path / 'errors'}"
