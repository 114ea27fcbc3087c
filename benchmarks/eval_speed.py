"""Speed and agreement benchmark for the evaluator (issue 2, "Speed").

Generates two synthetic sets with a seeded numpy Generator -- a dense one (document pages,
~100 rotated word boxes each) and a sparse one (scene photos, ~6 boxes each) -- with
predictions derived from the ground truth the way real providers get things wrong: jittered
boxes, missed and invented words, duplicates, split and merged boxes, bow-tie point orders,
zero-area and geometry-less items, wrong or decomposed (NFD) texts, missing and error images.

It then runs ``eval.evaluate.evaluate`` and ``baseline_evaluate`` -- a deliberately naive
implementation of the same protocol written here, independently of ``eval/geometry.py`` and
``eval/matching.py``, that loops over every (gt, prediction) pair with one shapely Polygon at a
time -- on the same inputs, checks that they agree exactly (per image counts and the matched
pairs themselves), and prints images/s for both. Inputs are built as Python objects, so file
parsing is not timed (``--files`` times reading the same sets from disk separately).

Usage:
    .venv/bin/python benchmarks/eval_speed.py            # full run, about two minutes
    .venv/bin/python benchmarks/eval_speed.py --quick    # smoke test, a few seconds
    .venv/bin/python benchmarks/eval_speed.py --files    # also time reading gt and results files

Exit codes: 0 the evaluator and the baseline agree; 1 they disagree (details on stderr);
2 usage error.
"""
from __future__ import annotations

import argparse
import cProfile
import logging
import math
import os
import platform
import pstats
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

if __package__ in (None, ""):  # run as a script: make the project's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import Levenshtein  # noqa: E402
import shapely  # noqa: E402
from shapely.geometry import Polygon  # noqa: E402
from tqdm import tqdm  # noqa: E402

from adapters.core.schema import ImageResult, Item, Point, ResultSet  # noqa: E402
from eval.evaluate import EvalOptions, Evaluation, evaluate  # noqa: E402
from gt.reader import DONT_CARE, Word  # noqa: E402

SEED = 20240501
EXIT_OK, EXIT_DISAGREE = 0, 1

# ---------------------------------------------------------------------------------------------
# Synthetic data
# ---------------------------------------------------------------------------------------------

VOCAB = (
    "대한민국", "서울특별시", "영수증", "합계", "1,000원", "12,500원", "주식회사", "전화번호",
    "02-123-4567", "카드결제", "부가세", "품목", "수량", "단가", "금액", "2024.05.01", "㈜한빛상사",
    "ABC마트", "Total", "감사합니다", "고객님", "도로명주소", "강남구", "테헤란로", "123-45",
    "사업자등록번호", "대표자", "홍길동", "포인트", "할인", "현금영수증", "승인번호", "(주)", "VAT",
    "가격:", '"특가"', "[공지]", "안내문", "출입금지", "비상구", "주차장", "약국", "편의점", "은행",
    "3층", "B1", "010-9876-5432", "www.example.co.kr", "제1조", "계약서", "갑", "을", "서명",
)
SYLLABLES = "".join(dict.fromkeys(
    "가나다라마바사아자차카타파하고노도로모보소오조초코토포호구누두루무부수우주추기니디리미비시"
    "이지치키피히한국서울대학생회전화번호영수증금액합계부세카드결제승인일주소점명상품량단할포트적립"
    "감합니님객원역시청길동구읍면리층호실관련문의센터"))


@dataclass(frozen=True)
class SetSpec:
    """One synthetic set: how many images, how many gt boxes each, and what the pages look like."""

    name: str
    images: int
    boxes: int            # gt boxes per image (dense) or their Poisson mean (sparse)
    dense: bool
    baseline_images: int  # the slow baseline runs on this many first images


def set_specs(quick: bool) -> tuple[SetSpec, SetSpec]:
    if quick:
        return SetSpec("dense", 40, 100, True, 8), SetSpec("sparse", 600, 6, False, 300)
    return SetSpec("dense", 2000, 100, True, 100), SetSpec("sparse", 10_000, 6, False, 2000)


def _quad(cx: float, cy: float, w: float, h: float, angle: float) -> np.ndarray:
    """Corners TL, TR, BR, BL (clockwise on screen) of a w x h box rotated by ``angle`` radians."""
    c, s = math.cos(angle), math.sin(angle)
    local = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    return local @ np.array([[c, s], [-s, c]]) + (cx, cy)


def _points(quad: np.ndarray, decimals: int) -> tuple[Point, ...]:
    return tuple((float(x), float(y)) for x, y in np.round(quad, decimals))


def _random_text(rng: np.random.Generator) -> str:
    if rng.random() < 0.6:
        return VOCAB[rng.integers(len(VOCAB))]
    n = int(rng.integers(1, 7))
    return "".join(SYLLABLES[k] for k in rng.integers(0, len(SYLLABLES), n))


def _change_tail(ch: str, rng: np.random.Generator) -> str:
    """A Hangul syllable with another final consonant: one or two jamo away (갔 -> 갓)."""
    code = ord(ch) - 0xAC00
    tail = code % 28
    new_tail = (tail + int(rng.integers(1, 28))) % 28
    return chr(0xAC00 + code - tail + new_tail)


def _recognition_error(text: str, rng: np.random.Generator) -> str:
    """The text as a provider might misread it (or, for NFD and padding, only appear to)."""
    kind = rng.random()
    chars = list(text)
    pos = int(rng.integers(len(chars))) if chars else 0
    if kind < 0.25 and chars and "가" <= chars[pos] <= "힣":
        chars[pos] = _change_tail(chars[pos], rng)
    elif kind < 0.40 and len(chars) > 1:
        del chars[pos]
    elif kind < 0.55:
        chars.insert(pos, SYLLABLES[rng.integers(len(SYLLABLES))])
    elif kind < 0.65:
        return " ".join(chars)                          # Kakao-style spaced syllables: wrong by default
    elif kind < 0.80:
        return unicodedata.normalize("NFD", text)      # decomposed jamo: right after NFC
    elif kind < 0.92:
        return f"  {text} "                             # padding: right after stripping
    else:
        return ""
    return "".join(chars)


def _page_layout(spec: SetSpec, rng: np.random.Generator) -> tuple[list[np.ndarray], list[str], list[bool]]:
    """gt quads (float), texts and "same line as the next box" flags for one image."""
    quads: list[np.ndarray] = []
    texts: list[str] = []
    same_line: list[bool] = []
    if spec.dense:
        width = float(rng.uniform(1700, 2500))
        height = width * 1.414
        straight = rng.random() < 0.15                    # a clean scan: axis-aligned boxes
        page_angle = 0.0 if straight else math.radians(rng.uniform(-4, 4))
        pc, ps = math.cos(page_angle), math.sin(page_angle)
        char_w, box_h = float(rng.uniform(26, 40)), float(rng.uniform(30, 46))
        x, y = 120.0, 150.0
        for _ in range(spec.boxes):
            text = _random_text(rng)
            w = max(len(text), 1) * char_w * float(rng.uniform(0.85, 1.15)) + 8
            if x + w > width - 120:
                if same_line:
                    same_line[-1] = False
                x, y = 120.0, y + box_h * float(rng.uniform(1.5, 2.2))
            cx, cy = x + w / 2 - width / 2, y + box_h / 2 - height / 2
            rx, ry = cx * pc - cy * ps + width / 2, cx * ps + cy * pc + height / 2
            quads.append(_quad(rx, ry, w, box_h, page_angle + (0.0 if straight else math.radians(rng.normal(0, 0.5)))))
            texts.append(text)
            same_line.append(True)
            x += w + char_w * float(rng.uniform(0.6, 1.4))
        if same_line:
            same_line[-1] = False
    else:
        width, height = float(rng.uniform(900, 1600)), float(rng.uniform(900, 1600))
        n = 0 if rng.random() < 0.01 else int(min(rng.poisson(spec.boxes), 20))
        for _ in range(n):
            text = _random_text(rng)
            h = float(rng.uniform(30, 110))
            w = max(len(text), 1) * h * float(rng.uniform(0.7, 1.1))
            quads.append(_quad(float(rng.uniform(0, width)), float(rng.uniform(0, height)), w, h,
                               0.0 if rng.random() < 0.15 else math.radians(rng.uniform(-25, 25))))
            texts.append(text)
            same_line.append(False)
    return quads, texts, same_line


def _ground_truth(quads: list[np.ndarray], texts: list[str], same_line: list[bool],
                  rng: np.random.Generator) -> tuple[list[Word], list[bool]]:
    """gt words with integer corners, ~5-8% don't-care (often in runs along a line, like a
    smudged stretch of text), and a few annotation accidents; also each box's care flag."""
    words: list[Word] = []
    cares: list[bool] = []
    care = True
    for k, (quad, text) in enumerate(zip(quads, texts)):
        run = not care and k > 0 and same_line[k - 1]
        care = rng.random() >= (0.6 if run else 0.05)
        cares.append(care)
        pts = np.round(quad)
        r = rng.random()
        if r < 0.01:
            pts = pts[[0, 1, 3, 2]]             # bow-tie (TL, TR, BL, BR)
        elif r < 0.012:
            pts = pts[[0, 1, 1, 0]]             # zero area: a line
        words.append(Word(_points(pts, 0), text if care else DONT_CARE, care, len(words) + 1))
        if rng.random() < 0.005:                # the same box annotated twice (gt-order tie)
            words.append(Word(_points(pts, 0), _random_text(rng), True, len(words) + 1))
    return words, cares


Shape = tuple[tuple[Point, ...] | None, str]


def _prediction_shapes(quads: list[np.ndarray], texts: list[str], k: int, same_line: list[bool], care: bool,
                       h: float, rng: np.random.Generator) -> tuple[list[Shape], bool]:
    """What a provider returns for gt box ``k``: usually one item, sometimes none, two halves or a
    line box merged with the next word (then the flag is True and the next word gets nothing);
    the texts are still the true ones."""
    quad, text = quads[k], texts[k]
    sigma = h * (0.3 if rng.random() < 0.12 else 0.05)
    r = rng.random()
    if r < 0.07:
        return [], False
    exact = np.round(quad)
    if exact[0, 1] == exact[1, 1] and exact[0, 0] == exact[3, 0] and rng.random() < (0.03 if care else 0.3):
        # axis-aligned gt: the left half (IoU exactly 0.5, must not match) or the box moved right
        # by half its width (exactly half inside: a don't-care region must not discard it)
        (x0, y0), (x1, y1) = exact[0], exact[2]
        xm = (x0 + x1) / 2
        box = (xm, x1 + xm - x0) if rng.random() < 0.5 else (x0, xm)
        return [(((box[0], y0), (box[1], y0), (box[1], y1), (box[0], y1)), text)], False
    jitter = quad + rng.normal(0, sigma, (4, 2))
    if r < 0.09:                                          # split in two halves
        mid_top, mid_bot = (quad[0] + quad[1]) / 2, (quad[3] + quad[2]) / 2
        halves = (np.array([quad[0], mid_top, mid_bot, quad[3]]), np.array([mid_top, quad[1], quad[2], mid_bot]))
        cut = len(text) // 2
        return [(_points(half + rng.normal(0, sigma, (4, 2)), 1), part)
                for half, part in zip(halves, (text[:cut], text[cut:]))], False
    if r < 0.12 and same_line[k]:                         # merged with the next word (a line box)
        nxt = quads[k + 1]
        merged = np.array([quad[0], nxt[1], nxt[2], quad[3]]) + rng.normal(0, sigma, (4, 2))
        return [(_points(merged, 1), f"{text} {texts[k + 1]}")], True
    if r < 0.14:
        return [(_points(jitter[[0, 1, 3, 2]], 1), text)], False  # bow-tie
    if r < 0.15:
        z = rng.random()
        if z < 0.4:
            return [(_points(jitter[[0, 1, 1, 0]], 1), text)], False  # zero area: a segment
        if z < 0.7:
            return [(_points(jitter[[0, 0, 0, 0]], 1), text)], False  # zero area: a point
        return [(_points(jitter[[0, 2]], 1), text)], False  # two points only
    if r < 0.16:                                          # six-point outline
        six = np.array([jitter[0], (jitter[0] + jitter[1]) / 2, jitter[1],
                        jitter[2], (jitter[2] + jitter[3]) / 2, jitter[3]])
        return [(_points(six, 1), text)], False
    if r < 0.165:
        return [(None, text)], False                      # no geometry
    return [(_points(jitter, 1), text)], False


def _predictions(quads: list[np.ndarray], texts: list[str], same_line: list[bool], cares: list[bool],
                 size: tuple[float, float], rng: np.random.Generator) -> ImageResult:
    """One image's provider answer derived from its gt, in a shuffled order."""
    with_conf = rng.random() < 0.7
    items: list[Item] = []

    def add(polygon: tuple[Point, ...] | None, text: str, conf_low: float) -> None:
        conf = round(float(rng.uniform(conf_low, 1.0)), 3) if with_conf else None
        items.append(Item(polygon, text, conf))

    merged_into_previous = False
    for k, quad in enumerate(quads):
        if merged_into_previous:
            merged_into_previous = False
            continue
        h = float(np.linalg.norm(quad[3] - quad[0]))
        shapes, merged_into_previous = _prediction_shapes(quads, texts, k, same_line, cares[k], h, rng)
        for polygon, text in shapes:
            if rng.random() < 0.10:
                text = _recognition_error(text, rng)
            add(polygon, text, 0.3)
            if polygon is not None and rng.random() < 0.03:  # duplicate: exact copy (IoU tie) or re-jittered
                if rng.random() < 0.5:
                    add(polygon, text, 0.3)
                else:
                    add(_points(np.asarray(polygon) + rng.normal(0, 1.5, (len(polygon), 2)), 1), text, 0.3)
    for _ in range(int(rng.binomial(max(len(quads), 1), 0.05))):  # false positives
        if quads and rng.random() < 0.3:
            q = quads[int(rng.integers(len(quads)))]
            shift = (q[1] - q[0]) * float(rng.uniform(0.5, 0.9))
            add(_points(q + shift, 1), _random_text(rng), 0.1)
        else:
            h = float(rng.uniform(20, 80))
            add(_points(_quad(float(rng.uniform(0, size[0])), float(rng.uniform(0, size[1])),
                              h * float(rng.uniform(1, 6)), h, math.radians(rng.uniform(-10, 10))), 1),
                _random_text(rng), 0.1)
    order = rng.permutation(len(items))
    return ImageResult.ok([items[i] for i in order.tolist()])


def generate(spec: SetSpec, seed: int = SEED,
             progress: bool = False) -> tuple[dict[str, list[Word]], dict[str, ImageResult]]:
    """gt words and provider results for ``spec.images`` images, reproducible from ``seed``.

    About 1.5% of the images have no prediction entry and 1% an error entry; the sparse set also
    has results for three images that have no gt (they must be ignored).
    """
    rng = np.random.default_rng([seed, spec.images, spec.boxes, int(spec.dense)])
    gt: dict[str, list[Word]] = {}
    preds: dict[str, ImageResult] = {}
    stems = [f"{spec.name}_{k:05d}" for k in range(spec.images)]
    for stem in tqdm(stems, desc=f"generating {spec.name}", unit="img", leave=False, disable=not progress):
        quads, texts, same_line = _page_layout(spec, rng)
        words, cares = _ground_truth(quads, texts, same_line, rng)
        gt[stem] = words
        r = rng.random()
        if r < 0.015:
            continue
        if r < 0.025:
            preds[stem] = ImageResult.failed("HTTP 500 from provider")
            continue
        size = (max((float(q[:, 0].max()) for q in quads), default=1000.0),
                max((float(q[:, 1].max()) for q in quads), default=1000.0))
        preds[stem] = _predictions(quads, texts, same_line, cares, size, rng)
    if not spec.dense:
        for k in range(3):
            preds[f"{spec.name}_orphan_{k}"] = ImageResult.ok([Item(((0, 0), (10, 0), (10, 10), (0, 10)), "x")])
    return gt, preds


# ---------------------------------------------------------------------------------------------
# The naive baseline: the README protocol, one pair at a time
# ---------------------------------------------------------------------------------------------

HANGUL_FIRST, HANGUL_LAST = "\uac00", "\ud7a3"


def _baseline_polygon(points: Sequence[Point]) -> Polygon:
    """Rule 2: a self-intersecting outline becomes its convex hull; < 3 points have no area."""
    if len(points) < 3:
        return Polygon()
    polygon = Polygon(points)
    return polygon if polygon.is_valid else polygon.convex_hull


def _baseline_norm(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _baseline_jamo(text: str) -> str:
    """Hangul syllables in canonical decomposition (conjoining jamo); other characters untouched."""
    return "".join(unicodedata.normalize("NFD", ch) if HANGUL_FIRST <= ch <= HANGUL_LAST else ch for ch in text)


BASELINE_FIELDS = ("images", "missing_predictions", "errors", "gt_care", "gt_dont_care", "pred_total",
                   "below_min_score", "no_geometry", "pred_discarded", "pred_care", "tp", "correct",
                   "edit_distance", "gt_chars", "jamo_distance", "gt_jamo", "images_with_care", "accuracy_sum")


@dataclass
class BaselineImage:
    counts: tuple[dict[str, float], ...]  # one per threshold, keyed like eval.metrics.Counts
    matches: set[tuple[int, int]]         # (gt line, prediction index) at the first threshold


def baseline_image(words: Sequence[Word], result: ImageResult | None,
                   thresholds: Sequence[float] = (0.5,), min_score: float | None = None) -> BaselineImage:
    """Score one image with plain loops over every (gt, prediction) pair, default text options."""
    status = "missing" if result is None else result.status
    items = list(result.items) if result is not None and result.status == "ok" else []
    care = [w for w in words if w.care]
    dont_care = [_baseline_polygon(w.points) for w in words if not w.care]

    below = no_geometry = 0
    scored: list[tuple[int, Polygon]] = []
    for index, item in enumerate(items):                        # rule 7, then rule 2
        if min_score is not None and item.confidence is not None and item.confidence < min_score:
            below += 1
        elif item.polygon is None:
            no_geometry += 1
        else:
            scored.append((index, _baseline_polygon(item.polygon)))

    kept: list[tuple[int, Polygon]] = []
    discarded = 0
    for index, polygon in scored:                               # rule 3
        area = polygon.area
        inside = area > 0 and any(polygon.intersection(d).area / area > 0.5 for d in dont_care)
        if inside:
            discarded += 1
        else:
            kept.append((index, polygon))

    gt_polygons = [_baseline_polygon(w.points) for w in care]
    candidates: list[tuple[float, int, int]] = []
    for g, gt_polygon in enumerate(gt_polygons):                # every pair, one at a time
        for p, (_, pred_polygon) in enumerate(kept):
            inter = gt_polygon.intersection(pred_polygon).area
            gt_area, pred_area = gt_polygon.area, pred_polygon.area
            if gt_area > 0 and pred_area > 0 and inter > 0:
                candidates.append((inter / (gt_area + pred_area - inter), g, p))
    candidates.sort(key=lambda c: (-float(np.round(c[0], 9)), c[1], c[2]))  # rule 4 order (ties to 9 places)

    per_threshold = []
    matches: set[tuple[int, int]] = set()
    for k, threshold in enumerate(thresholds):
        used_g: set[int] = set()
        used_p: set[int] = set()
        tp = correct = dist = chars = jamo_dist = jamo_chars = 0
        for iou, g, p in candidates:
            if iou <= threshold or g in used_g or p in used_p:
                continue
            used_g.add(g)
            used_p.add(p)
            gt_text, pred_text = _baseline_norm(care[g].text), _baseline_norm(items[kept[p][0]].text)
            tp += 1
            correct += gt_text == pred_text                     # rule 5
            dist += Levenshtein.distance(gt_text, pred_text)
            chars += len(gt_text)
            gt_jamo = _baseline_jamo(gt_text)
            jamo_dist += Levenshtein.distance(gt_jamo, _baseline_jamo(pred_text))
            jamo_chars += len(gt_jamo)
            if k == 0:
                matches.add((care[g].line, kept[p][0]))
        per_threshold.append({
            "images": 1, "missing_predictions": int(status == "missing"), "errors": int(status == "error"),
            "gt_care": len(care), "gt_dont_care": len(dont_care), "pred_total": len(items),
            "below_min_score": below, "no_geometry": no_geometry, "pred_discarded": discarded,
            "pred_care": len(kept), "tp": tp, "correct": correct, "edit_distance": dist, "gt_chars": chars,
            "jamo_distance": jamo_dist, "gt_jamo": jamo_chars, "images_with_care": int(bool(care)),
            "accuracy_sum": correct / len(care) if care else 0.0,
        })
    return BaselineImage(tuple(per_threshold), matches)


def baseline_evaluate(gt: Mapping[str, Sequence[Word]], predictions: Mapping[str, ImageResult],
                      thresholds: Sequence[float] = (0.5,), min_score: float | None = None,
                      progress: bool = False) -> dict[str, BaselineImage]:
    """Every gt image, in stem order (rule 1: results without gt are ignored)."""
    stems = sorted(gt)
    return {stem: baseline_image(gt[stem], predictions.get(stem), thresholds, min_score)
            for stem in tqdm(stems, desc="baseline", unit="img", leave=False, disable=not progress)}


# ---------------------------------------------------------------------------------------------
# Agreement
# ---------------------------------------------------------------------------------------------

def disagreements(evaluation: Evaluation, baseline: Mapping[str, BaselineImage], limit: int = 10) -> list[str]:
    """Every difference between the two, per image and in the totals; empty when they agree exactly."""
    problems: list[str] = []
    if [image.stem for image in evaluation.images] != list(baseline):
        return ["the two evaluated different image sets"]
    names = list(BASELINE_FIELDS)  # the evaluator may count more; these are the protocol's counts
    missing = set(names) - {f.name for f in fields(evaluation.totals())}
    if missing:
        return [f"the evaluator's counts lack {sorted(missing)}"]
    for k, threshold in enumerate(evaluation.options.thresholds):
        totals = {name: 0 for name in names}
        for image in evaluation.images:
            ours, theirs = baseline[image.stem].counts[k], image.counts[k]
            for name in names:
                totals[name] += ours[name]
                if ours[name] != getattr(theirs, name):
                    problems.append(f"{image.stem} @ IoU>{threshold}: {name} evaluator={getattr(theirs, name)} "
                                    f"baseline={ours[name]}")
        overall = evaluation.totals(k)
        for name in names:
            if totals[name] != getattr(overall, name):
                problems.append(f"TOTAL @ IoU>{threshold}: {name} evaluator={getattr(overall, name)} "
                                f"baseline={totals[name]}")
    for image in evaluation.images:
        pairs = {(row.gt_line, row.pred_index) for row in image.rows if row.kind == "match"}
        if pairs != baseline[image.stem].matches:
            only_eval = sorted(pairs - baseline[image.stem].matches)[:3]
            only_base = sorted(baseline[image.stem].matches - pairs)[:3]
            problems.append(f"{image.stem}: matched pairs (gt line, pred index) differ: evaluator only "
                            f"{only_eval}, baseline only {only_base}")
    return problems[:limit] + ([f"... and {len(problems) - limit} more"] if len(problems) > limit else [])


# ---------------------------------------------------------------------------------------------
# Timing and report
# ---------------------------------------------------------------------------------------------

@dataclass
class Row:
    spec: SetSpec
    gt_per_image: float
    pred_per_image: float
    subset: int
    eval_rate: float
    base_rate: float
    cpu_ratio: float  # the same ratio from process CPU time: steadier when the machine is busy
    full_seconds: float
    read_seconds: float | None = None

    @property
    def ratio(self) -> float:
        return self.eval_rate / self.base_rate if self.base_rate else float("inf")


def _timed(func: Callable[[], object], repeat: int = 1) -> tuple[float, float, object]:
    """Best wall time and best process CPU time of ``repeat`` runs, and the last result."""
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = func()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best, best_cpu, result


def _subset(gt: Mapping[str, list[Word]], preds: Mapping[str, ImageResult],
            n: int) -> tuple[dict[str, list[Word]], dict[str, ImageResult]]:
    stems = sorted(gt)[:n]
    return {s: gt[s] for s in stems}, {s: preds[s] for s in stems if s in preds}


def _fail(what: str, problems: list[str]) -> None:
    print(f"\nDISAGREEMENT between the evaluator and the per-pair baseline ({what}):", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    sys.exit(EXIT_DISAGREE)


def _read_from_files(gt: Mapping[str, list[Word]], preds: Mapping[str, ImageResult]) -> float:
    """Seconds to read the set back with the tool's own readers (gt .txt folder + schema JSON)."""
    from adapters.providers.results import load_results
    from gt.reader import read_annotations

    with tempfile.TemporaryDirectory(prefix="eval_speed_") as tmp:
        gt_dir = Path(tmp, "gt")
        gt_dir.mkdir()
        for stem, words in gt.items():
            lines = (",".join(f"{v:g}" for p in w.points for v in p) + "," + w.text for w in words)
            (gt_dir / f"gt_{stem}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        results = Path(tmp, "results.json")
        ResultSet("synthetic", dict(preds)).save(results)
        start = time.perf_counter()
        read_gt = read_annotations(gt_dir)
        loaded = load_results(results)
        seconds = time.perf_counter() - start
    if read_gt.images.keys() != gt.keys() or loaded.images.keys() != preds.keys():
        raise RuntimeError("files did not read back to the generated set")
    return seconds


def run_set(spec: SetSpec, seed: int, with_files: bool, profile: bool) -> Row:
    gt, preds = generate(spec, seed, progress=True)
    n_gt = sum(len(w) for w in gt.values())
    n_pred = sum(len(r.items) for r in preds.values())

    sub_gt, sub_preds = _subset(gt, preds, spec.baseline_images)
    eval_seconds, eval_cpu, sub_eval = _timed(lambda: evaluate(sub_gt, sub_preds), repeat=3)
    base_seconds, base_cpu, base = _timed(lambda: baseline_evaluate(sub_gt, sub_preds, progress=True))
    problems = disagreements(sub_eval, base)  # type: ignore[arg-type]
    if problems:
        _fail(f"{spec.name} set, first {spec.baseline_images} images", problems)

    # a sweep with a confidence filter on a smaller slice: rules 4 and 7 at other settings
    sweep = EvalOptions(thresholds=(0.5, 0.3, 0.7), min_score=0.5)
    small_gt, small_preds = _subset(gt, preds, max(spec.baseline_images // 4, 1))
    problems = disagreements(evaluate(small_gt, small_preds, sweep),
                             baseline_evaluate(small_gt, small_preds, sweep.thresholds, sweep.min_score))
    if problems:
        _fail(f"{spec.name} set, IoU sweep 0.5/0.3/0.7 with --min-score 0.5", problems)

    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
    full_seconds, _, _ = _timed(lambda: evaluate(gt, preds))
    if profile:
        profiler.disable()
        print(f"\n--- cProfile of the evaluator on the full {spec.name} set (top 25 by internal time) ---")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return Row(spec, n_gt / spec.images, n_pred / max(len(preds), 1), spec.baseline_images,
               spec.baseline_images / eval_seconds, spec.baseline_images / base_seconds, base_cpu / eval_cpu,
               full_seconds,
               _read_from_files(gt, preds) if with_files else None)


def environment() -> str:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return (f"CPUs: {os.cpu_count()} ({usable} usable) | {platform.machine()} {platform.system()} | "
            f"Python {platform.python_version()} | numpy {np.__version__} | shapely {shapely.__version__} "
            f"(GEOS {shapely.geos_version_string}) | Levenshtein {Levenshtein.__version__}{_load()}")


def _load() -> str:
    """The 1-minute load average: other work on a small machine slows both sides of the ratio."""
    try:
        return f" | load average {os.getloadavg()[0]:.2f}"
    except OSError:
        return ""


def format_table(rows: Iterable[Row]) -> str:
    header = ("set", "images", "gt/img", "pred/img", "subset", "eval img/s", "baseline img/s", "ratio",
              "ratio cpu", "full-set s", "full img/s")
    lines = []
    extra = False
    for r in rows:
        cells = (r.spec.name, f"{r.spec.images:,}", f"{r.gt_per_image:.1f}", f"{r.pred_per_image:.1f}",
                 f"{r.subset:,}", f"{r.eval_rate:,.0f}", f"{r.base_rate:,.1f}", f"{r.ratio:,.1f}x", f"{r.cpu_ratio:,.1f}x",
                 f"{r.full_seconds:.2f}", f"{r.spec.images / r.full_seconds:,.0f}")
        if r.read_seconds is not None:
            cells += (f"{r.read_seconds:.2f}",)
            extra = True
        lines.append(cells)
    if extra:
        header += ("read files s",)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines)]
    fmt = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)  # noqa: E731
                                  for i, (c, w) in enumerate(zip(cells, widths)))
    out = [fmt(header), fmt(["-" * w for w in widths])]
    out.extend(fmt(cells) for cells in lines)
    return "\n".join(out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time the evaluator against a naive per-pair implementation of the same protocol "
                    "and check that they agree exactly.",
        epilog="Examples:\n"
               "  .venv/bin/python benchmarks/eval_speed.py\n"
               "  .venv/bin/python benchmarks/eval_speed.py --quick\n"
               "  .venv/bin/python benchmarks/eval_speed.py --files --seed 7\n"
               "  .venv/bin/python benchmarks/eval_speed.py --quick --profile\n\n"
               "Exit codes: 0 agreement, 1 disagreement (details on stderr), 2 usage error.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sets (smoke test, a few seconds)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"generator seed (default {SEED})")
    parser.add_argument("--files", action="store_true",
                        help="also time reading the sets from a gt folder and a schema JSON (not in the ratio)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the full-set evaluator runs")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("bench").setLevel(logging.ERROR)  # the sparse set's orphan results warn by design
    rows = [run_set(spec, args.seed, args.files, args.profile) for spec in set_specs(args.quick)]
    print(f"\nEvaluator speed ({'quick' if args.quick else 'full'} run, seed {args.seed}; IoU 0.5, default text "
          f"options; inputs built in memory, no file parsing timed)")
    print(format_table(rows))
    print("eval/baseline img/s: wall clock on the same first `subset` images (evaluator best of 3, baseline once);"
          " `ratio cpu` uses process CPU time instead. The baseline loops over every (gt, prediction) pair.")
    print("Agreement: per-image counts, totals and matched pairs identical (also at IoU 0.3/0.7 with --min-score 0.5).")
    print(environment())
    dense, sparse = rows
    print(f"Targets: dense ratio {dense.ratio:.1f}x (goal >= 10x); sparse {sparse.spec.images:,} images in "
          f"{sparse.full_seconds:.2f} s (goal: a couple of seconds on 2 cores)")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
