"""``bench synth``: gt polygons sit on the drawn ink, the set is complete and parseable,
the same seed gives the same bytes, and real Tesseract reads some (not all) of the words."""
from __future__ import annotations

import csv
import os
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from shapely.geometry import Polygon
from typer.testing import CliRunner

from bench import app
from gt import lexicon
from gt.reader import DONT_CARE, parse_line, read_annotations
from gt.synth import (CATEGORIES, FontsMissingError, Sample, covers, find_korean_fonts, render_sample,
                      write_set)

pytestmark = pytest.mark.slow  # renders image sets with the Nanum fonts

SEED = 7
SAMPLES = 12


@pytest.fixture(scope="module")
def fonts():
    return find_korean_fonts()


@pytest.fixture(scope="module")
def samples(fonts) -> list[Sample]:
    return [render_sample(SEED, index, fonts, with_masks=True) for index in range(SAMPLES)]


@pytest.fixture(scope="module")
def written(tmp_path_factory, fonts) -> Path:
    out = tmp_path_factory.mktemp("synth") / "set"
    write_set(out, 6, 3, progress=False, fonts=fonts)
    return out


def _written_polygon(word) -> tuple[tuple[tuple[float, float], ...], str]:
    """The polygon and text exactly as the gt file stores them (integer-rounded)."""
    return parse_line(word.gt_line())


def _inside(points, size: tuple[int, int]) -> np.ndarray:
    canvas = Image.new("L", size, 0)
    ImageDraw.Draw(canvas).polygon(points, fill=1)
    return np.asarray(canvas, dtype=bool)


def test_gt_polygons_lie_on_the_ink(samples):
    checked = 0
    for sample in samples:
        width, height = sample.image.size
        for word in sample.words:
            points, text = _written_polygon(word)
            assert all(0 <= x <= width and 0 <= y <= height for x, y in points), (sample.stem, text, points)
            ox, oy = word.mask.origin
            ink = word.mask.pixels > 0
            assert ink.sum() > 0, f"{sample.stem}: {text!r} has no ink"
            region = _inside(points, (width, height))[oy:oy + ink.shape[0], ox:ox + ink.shape[1]]
            inside = (ink & region).sum() / ink.sum()
            assert inside >= 0.97, f"{sample.stem}: only {inside:.0%} of {text!r}'s ink is inside its polygon"
            (width_ink, height_ink), (width_box, height_box) = _extents(points, ink, (ox, oy))
            assert width_box <= 1.1 * width_ink + 10 and height_box <= 1.1 * height_ink + 10, (
                f"{sample.stem}: {text!r}'s polygon ({width_box:.0f} x {height_box:.0f}) is much bigger "
                f"than its ink ({width_ink:.0f} x {height_ink:.0f})")
            checked += 1
    assert checked > 200


def _extents(points, ink: np.ndarray, origin: tuple[int, int]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Size of the ink and of the polygon along the polygon's own axes (so rotation does not matter)."""
    tl, tr, br, bl = (np.array(p, dtype=float) for p in points)
    along, across = (tr - tl) + (br - bl), (bl - tl) + (br - tr)
    along, across = along / np.linalg.norm(along), across / np.linalg.norm(across)
    ys, xs = np.nonzero(ink)
    pixels = np.stack([xs + origin[0] + 0.5, ys + origin[1] + 0.5], axis=1)
    ink_size = tuple(float(np.ptp(pixels @ axis)) + 1 for axis in (along, across))
    box_size = ((np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2,
                (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2)
    return ink_size, box_size  # type: ignore[return-value]


def test_polygons_are_clockwise_quads_in_reading_order(samples):
    for sample in samples:
        for word in sample.words:
            points, text = _written_polygon(word)
            (x1, y1), (x2, y2), (x3, y3), (x4, y4) = points
            # TL-TR-BR-BL is clockwise in image coordinates (y down): positive shoelace sum.
            shoelace = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(points, points[1:] + points[:1]))
            assert shoelace > 0, (sample.stem, text, points)
            assert x2 > x1 and x3 > x4 and y4 > y1 and y3 > y2, (sample.stem, text, points)


def test_words_do_not_overlap(samples):
    for sample in samples:
        polygons = [(Polygon(_written_polygon(w)[0]), w) for w in sample.words if w.care]
        for k, (a, word_a) in enumerate(polygons):
            for b, word_b in polygons[k + 1:]:
                if a.intersects(b):
                    share = a.intersection(b).area / min(a.area, b.area)
                    assert share < 0.1, f"{sample.stem}: {word_a.text!r} and {word_b.text!r} overlap"


def test_scored_words_stand_out_from_their_background(samples):
    for sample in samples:
        gray = np.asarray(sample.image.convert("L"), dtype=np.float32)
        width, height = sample.image.size
        for word in sample.words:
            if not word.care:
                continue
            points, text = _written_polygon(word)
            ox, oy = word.mask.origin
            ink = word.mask.pixels > 0
            region = _inside(points, (width, height))
            around = region.copy()
            around[oy:oy + ink.shape[0], ox:ox + ink.shape[1]] &= ~_dilate(ink)
            patch = gray[oy:oy + ink.shape[0], ox:ox + ink.shape[1]]
            contrast = abs(patch[ink].mean() - gray[around].mean())
            assert contrast > 25, f"{sample.stem}: {text!r} is barely visible (contrast {contrast:.0f})"


def _dilate(mask: np.ndarray) -> np.ndarray:
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown


def test_set_has_every_category_illegible_and_vertical_words(samples):
    assert {s.category for s in samples} == set(CATEGORIES)
    words = [w for s in samples for w in s.words]
    assert sum(not w.care for w in words) >= 10
    vertical = [w for w in words if w.vertical]
    assert vertical, "no vertical word in the sample set"
    for word in vertical:
        points, text = _written_polygon(word)
        assert len(text) >= 2 and text != DONT_CARE
        (x1, y1), (x2, y2), _, (x4, y4) = points
        assert np.hypot(x4 - x1, y4 - y1) > 1.5 * np.hypot(x2 - x1, y2 - y1), f"{text!r} is not a tall box"
    texts = {w.text for w in words}
    assert any(t.endswith("원") and "," in t for t in texts), "no price like 1,000원"
    assert any(any(c.isascii() and c.isalpha() for c in t) for t in texts), "no Latin text"


def test_written_set_is_complete_and_parses(written):
    annotations = read_annotations(written / "gt")
    with open(written / "categories.csv", encoding="utf-8") as handle:
        assert handle.read(1) == "\ufeff"  # utf-8-sig, as Excel and the reports expect
    with open(written / "categories.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["stem", "category"]
    categories = dict(rows[1:])
    assert len(categories) == len(rows) - 1 == 6
    images = {p.stem: p for p in (written / "images").glob("*/*.jpg")}
    assert set(images) == set(categories) == set(annotations.images)
    for stem, path in images.items():
        assert path.parent.name == categories[stem] and categories[stem] in CATEGORIES
        with Image.open(path) as image:
            assert image.format == "JPEG" and 640 <= max(image.size) <= 1024
            width, height = image.size
        words = annotations.images[stem]
        assert words, f"{stem} has no gt"
        assert all(0 <= x <= width and 0 <= y <= height for w in words for x, y in w.points)
    assert sorted(images) == [f"synth_{k:04d}" for k in range(1, 7)]


def test_same_seed_same_bytes_other_seed_other_images(tmp_path, fonts, written):
    again = tmp_path / "again"
    write_set(again, 6, 3, progress=False, fonts=fonts)
    first = {p.relative_to(written): p.read_bytes() for p in sorted(written.rglob("*")) if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in sorted(again.rglob("*")) if p.is_file()}
    assert first.keys() == second.keys() and first == second
    other = tmp_path / "other"
    write_set(other, 2, 4, progress=False, fonts=fonts)
    assert (other / "gt" / "synth_0001.txt").read_bytes() != (written / "gt" / "synth_0001.txt").read_bytes()


def test_a_bigger_set_starts_with_the_smaller_one(fonts):
    small = render_sample(3, 1, fonts)
    assert small.image.tobytes() == render_sample(3, 1, fonts).image.tobytes()
    assert [w.gt_line() for w in small.words] == [w.gt_line() for w in render_sample(3, 1, fonts).words]


def test_every_lexicon_character_has_a_glyph_in_every_font(fonts):
    rng = random.Random(0)
    patterned = [lexicon.price(rng) + lexicon.phone(rng) + lexicon.distance(rng) for _ in range(50)]
    chars = sorted(set("".join(lexicon.all_static_words() + patterned)) - {" "})
    assert len(chars) > 300
    for face in fonts:
        assert not covers(face, "ก"), "the missing-glyph check cannot detect a missing glyph"
        missing = [c for c in chars if not covers(face, c)]
        assert not missing, f"{face.name} has no glyph for {''.join(missing)}"


def test_lexicon_words_are_single_gt_words():
    words = lexicon.all_static_words()
    assert len(set(words)) > 300
    assert all(w and not any(c.isspace() for c in w) and w != DONT_CARE for w in words)
    rng = random.Random(1)
    for _ in range(200):
        assert lexicon.price(rng).endswith("원")
        number = lexicon.phone(rng)
        assert number.count("-") in (1, 2) and number.replace("-", "").isdigit()


def test_missing_fonts_name_the_debian_package(tmp_path):
    with pytest.raises(FontsMissingError, match="fonts-nanum"):
        find_korean_fonts(fc_list=str(tmp_path / "no-fc-list"), font_dirs=[tmp_path])


def test_cli_writes_refuses_to_mix_and_overwrites(tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(app, ["synth", "--out", str(out), "--images", "2", "--seed", "5", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "wrote 2 images" in result.output
    before = (out / "gt" / "synth_0001.txt").read_bytes()
    refused = runner.invoke(app, ["synth", "--out", str(out), "--images", "1", "--seed", "6"])
    assert refused.exit_code == 2 and "--overwrite" in refused.output
    replaced = runner.invoke(app, ["synth", "--out", str(out), "--images", "1", "--seed", "6", "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert sorted(p.name for p in (out / "gt").iterdir()) == ["synth_0001.txt"]
    assert (out / "gt" / "synth_0001.txt").read_bytes() != before
    assert len(list((out / "images").glob("*/*.jpg"))) == 1
    bad = runner.invoke(app, ["synth", "--out", str(tmp_path / "x"), "--images", "0"])
    assert bad.exit_code == 2 and "--images" in bad.output
    helped = runner.invoke(app, ["synth", "--help"])
    assert helped.exit_code == 0 and "Examples" in helped.output and "bench synth --out" in helped.output


@pytest.mark.slow
def test_real_tesseract_reads_some_but_not_all_words(tmp_path, fonts):
    assert shutil.which("tesseract"), "tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-kor)"
    truth: set[str] = set()
    jobs = []
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    for index in (0, 1, 2):  # a sign, a product label and a road sign: small images, quick to read
        sample = render_sample(11, index, fonts)
        path = tmp_path / f"{sample.stem}_{index}.jpg"
        sample.image.save(path, quality=90)
        truth |= {w.text for w in sample.words if w.care}
        jobs.append(subprocess.Popen(["tesseract", str(path), "stdout", "-l", "kor+eng", "--psm", "11"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    read: set[str] = set()
    for job in jobs:
        stdout, stderr = job.communicate(timeout=120)
        assert job.returncode == 0, stderr
        read |= set(stdout.split())
    found = truth & read
    assert len(found) >= 2, f"tesseract read none of {sorted(truth)}; it saw {sorted(read)}"
    assert found != truth, "every word was read: the set is too easy to rank engines"
