"""CLEval scored many images at once (``evaluate_images``, ``cleval_counts_batch``) gives, image by
image and bit for bit, what scoring each image alone gives: pairs never cross images, and nothing
an image's floats depend on (padded widths, the package's set orders) comes from another image."""
from __future__ import annotations

import math

import numpy as np
import pytest

from eval import cleval_geometry as geo
from eval.cleval import ClevalCounts, ClevalOptions, evaluate_image, evaluate_images
from eval.protocols import cleval_counts, cleval_counts_batch
from eval.text import TextOptions
from speed_sets import bench


def _exactly(a: ClevalCounts, b: ClevalCounts) -> bool:
    """Equal, with the same types and the same sign of every zero."""
    return a == b and all(type(x) is type(y) and (not isinstance(x, float) or math.copysign(1, x) == math.copysign(1, y))
                          for x, y in zip(a.as_dict().values(), b.as_dict().values()))


# --- random images with every awkward kind of box ---------------------------------------------

SYLLABLES = "가나다라마바사아자차카타파하ABCabcßxyz019"


def _text(rng: np.random.Generator) -> str:
    return "".join(SYLLABLES[k] for k in rng.integers(0, len(SYLLABLES), int(rng.integers(0, 8))))


def _quad(cx: float, cy: float, w: float, h: float, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]) @ np.array([[c, s], [-s, c]]) + (cx, cy)


def _outline(rng: np.random.Generator, q: np.ndarray, decimals: int) -> list[tuple[float, float]]:
    """The quad, or a bow-tie, a line, 3, 5, 6 or 8 points, counter-clockwise."""
    r = rng.random()
    if r < 0.05:
        q = q[[0, 1, 3, 2]]
    elif r < 0.07:
        q = q[[0, 1, 1, 0]]
    elif r < 0.10:
        q = np.array([q[0], (q[0] + q[1]) / 2, q[1], q[2], (q[2] + q[3]) / 2, q[3]])
    elif r < 0.12:
        q = np.array([*q, (q[3] + q[0]) / 2])
    elif r < 0.13:
        q = q[:3]
    elif r < 0.14:
        q = np.array([*q, q[0] + 1, q[1] - 1, q[2], q[3]])
    elif r < 0.16:
        q = q[::-1]
    return [(float(x), float(y)) for x, y in np.round(q, decimals)]


def _image(rng: np.random.Generator) -> tuple:
    """One image: words (some don't care), their detections (exact, jittered, split, merged,
    duplicated, reading ``###``), false alarms; sometimes no words or no detections."""
    gts, texts, dont_care, dets, det_texts = [], [], [], [], []
    straight = rng.random() < 0.4
    for _ in range(0 if rng.random() < 0.08 else int(rng.integers(1, 25))):
        t = _text(rng)
        h = float(rng.uniform(8, 40))
        w = max(len(t), 1) * h * float(rng.uniform(0.5, 1.2))
        if rng.random() < 0.1:
            w, h = h, 2 * w  # a vertical word
        cx, cy = float(rng.uniform(0, 400)), float(rng.uniform(0, 400))
        angle = 0.0 if straight or rng.random() < 0.3 else float(rng.uniform(-0.5, 0.5))
        q = _quad(cx, cy, w, h, angle)
        dc = bool(rng.random() < 0.15)
        gts.append(_outline(rng, q, 0))
        texts.append("###" if dc else t)
        dont_care.append(dc)
        kind = rng.random()
        if kind < 0.1:
            continue
        if kind < 0.2:
            top, bottom = (q[0] + q[1]) / 2, (q[3] + q[2]) / 2
            for half, part in ((np.array([q[0], top, bottom, q[3]]), t[:len(t) // 2]),
                               (np.array([top, q[1], q[2], bottom]), t[len(t) // 2:])):
                dets.append(_outline(rng, half + rng.normal(0, 1, (4, 2)), 1))
                det_texts.append(part)
            continue
        if kind < 0.3:
            nxt = _quad(cx + w * 0.6, cy, w, h, angle)
            dets.append(_outline(rng, np.array([q[0], nxt[1], nxt[2], q[3]]), 1))
            det_texts.append(t + t[::-1])
            continue
        jitter = 0.0 if straight and rng.random() < 0.5 else 1.5
        dets.append(_outline(rng, q + rng.normal(0, jitter, (4, 2)), 0 if jitter == 0 else 1))
        det_texts.append("###" if rng.random() < 0.02 else (t if rng.random() < 0.8 else _text(rng)))
        if rng.random() < 0.05:
            dets.append(dets[-1])
            det_texts.append(det_texts[-1])
    for _ in range(int(rng.integers(0, 4))):
        q = _quad(float(rng.uniform(0, 400)), float(rng.uniform(0, 400)), float(rng.uniform(5, 100)),
                  float(rng.uniform(5, 40)), float(rng.uniform(-1, 1)))
        dets.append(_outline(rng, q, 1))
        det_texts.append(_text(rng))
    if rng.random() < 0.05:
        dets, det_texts = [], []
    order = rng.permutation(len(dets)).tolist()
    return gts, texts, dont_care, [dets[i] for i in order], [det_texts[i] for i in order]


OPTIONS = [ClevalOptions(), ClevalOptions(case_sensitive=False), ClevalOptions(area_precision_constraint=0.0),
           ClevalOptions(granularity_penalty_weight=0.5), ClevalOptions(recall_granularity_penalty_weight=-1.0),
           ClevalOptions(area_precision_constraint=0.6, vertical_aspect_ratio_threshold=1.5)]


def _scorable(images: list[tuple], options: ClevalOptions) -> list[tuple]:
    """The images GEOS can score alone (a few random bow-ties make it fail, batch or not)."""
    kept = []
    for image in images:
        try:
            evaluate_image(*image, options)
        except Exception:  # noqa: BLE001 - shapely.errors.GEOSException, not ours to judge
            continue
        kept.append(image)
    return kept


@pytest.mark.parametrize("count", [40, pytest.param(300, marks=pytest.mark.slow)])  # the quick loop: a few seconds
@pytest.mark.parametrize("options", OPTIONS, ids=range(len(OPTIONS)))
def test_a_batch_equals_each_image_alone(options, count):
    rng = np.random.default_rng(20240517)
    images = _scorable([_image(rng) for _ in range(count)], options)
    images += [([], [], [], [], []), ([], [], [], [[(0, 0), (9, 0), (9, 9), (0, 9)]], ["x"]),
               ([[(0, 0), (9, 0), (9, 9), (0, 9)]], ["x"], [False], [], None),
               ([[(0, 0), (9, 0), (9, 9)]], ["ab"], [False], [[(0, 0), (9, 0), (0, 9)]], ["a"]),  # triangles only
               ([[(0, 0), (9, 0), (9, 9), (0, 9)]], ["###"], [True], [[(1, 1), (8, 1), (8, 8), (1, 8)]], ["###"])]
    alone = [evaluate_image(*image, options) for image in images]
    for cuts in ([len(images)], [c for c in (1, 7, 20, 21, 100, 101, 250) if c < len(images)]):
        batched = [c for a, b in zip([0, *cuts], [*cuts, len(images)]) for c in evaluate_images(images[a:b], options)]
        assert len(batched) == len(alone)
        bad = [k for k, (x, y) in enumerate(zip(batched, alone)) if not _exactly(x, y)]
        assert bad == []


def test_nothing_to_score():
    assert evaluate_images([]) == []
    with pytest.raises(ValueError, match="differ in length"):
        evaluate_images([([], [], [], [], []), ([[(0, 0), (1, 0), (1, 1)]], [], [], [], [])])


@pytest.mark.parametrize("seed", [3, pytest.param(4, marks=pytest.mark.slow)])
def test_cleval_counts_batch_equals_cleval_counts_on_the_speed_sets(seed):
    """The benchmark's sparse and dense sets (don't-care runs, bow-ties, lines, six-point outlines,
    two-point ones, images without words, without answer, with an error) through the protocol."""
    from eval.evaluate import EvalOptions, _prepare

    gt, preds = bench.generate(bench.SetSpec("sparse", 300, 6, False, 300), seed)
    dense_gt, dense_preds = bench.generate(bench.SetSpec("dense", 4, 60, True, 4), seed)
    gt.update(dense_gt)
    preds.update(dense_preds)
    text = TextOptions(ignore_space=seed == 4)
    entries = []
    for stem in sorted(gt):
        image = _prepare(stem, gt[stem], preds.get(stem), EvalOptions(text=text))
        entries.append((gt[stem], image.items, image.scored, image.no_geometry))
    assert any(not words for words, *_ in entries) and any(not scored for _, _, scored, _ in entries)
    alone = [cleval_counts(*entry, text) for entry in entries]
    assert cleval_counts_batch(entries, text) == alone
    assert [c for k in range(0, len(entries), 37) for c in cleval_counts_batch(entries[k:k + 37], text)] == alone


def test_convex_overlap_areas_of_a_group_do_not_depend_on_the_others():
    """The clipped polygons' shoelace sum runs at the group's width: a pair's area is the one a call
    on its group alone gives, though numpy sums 8 terms or more pairwise."""
    rng = np.random.default_rng(5)
    centres = rng.uniform(0, 50, (600, 2))
    a = np.array([_quad(x, y, *rng.uniform(10, 30, 2), rng.uniform(0, 3)) for x, y in centres])
    b = np.array([_quad(x + rng.normal(0, 3), y + rng.normal(0, 3), *rng.uniform(10, 30, 2), rng.uniform(0, 3))
                  for x, y in centres])
    group = np.sort(rng.integers(0, 120, len(a)))
    together = geo.convex_overlap_areas(a, b, group)
    alone = np.concatenate([geo.convex_overlap_areas(a[group == g], b[group == g]) for g in np.unique(group)])
    assert together.tobytes() == alone.tobytes()


def test_four_point_boxes_beside_a_wider_outline_count_as_through_geos(monkeypatch):
    """The rectangle and convex-quad paths apply to each 4-point box, also beside a six-point
    outline in the same image: the counts equal those of sending every pair through GEOS."""
    rng = np.random.default_rng(5)
    images = []
    for _ in range(60):
        gt = []
        for x, y, w, h in rng.integers(0, 300, (int(rng.integers(1, 8)), 4)).tolist():
            angle = float(rng.choice([0.0, 0.3, -0.2]))
            c, s = math.cos(angle), math.sin(angle)
            gt.append([(x + u * c - v * s, y + u * s + v * c) for u, v in ((0, 0), (w + 5, 0), (w + 5, h + 5), (0, h + 5))])
        det = [[(px + dx, py + dy) for px, py in box] for box in gt for dx, dy in [rng.normal(0, 3, 2).tolist()]]
        det.append([(0, 0), (40, 0), (60, 20), (40, 40), (0, 40), (-20, 20)])  # the wider outline
        images.append((gt, ["가나다"] * len(gt), [False] * len(gt), det, ["가나다"] * len(det)))
    fast = evaluate_images(images)
    none = lambda padded: np.zeros(len(padded), dtype=bool)  # noqa: E731 - every pair through GEOS
    monkeypatch.setattr(geo, "axis_aligned", none)
    monkeypatch.setattr(geo, "convex_quads", none)
    assert [_exactly(a, b) for a, b in zip(fast, evaluate_images(images))] == [True] * len(images)
