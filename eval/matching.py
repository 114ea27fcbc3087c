"""Don't-care filtering and one-to-one greedy IoU matching for one image.

Protocol rules 3 and 4 of the README. Overlaps are computed once per image and reused for
every IoU threshold of a sweep.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from eval.geometry import candidate_pairs, intersection_areas

DONT_CARE_OVERLAP = 0.5


@dataclass(frozen=True)
class Overlaps:
    """Every (care gt, kept prediction) pair with a positive IoU."""

    gt: np.ndarray    # index into the care gt list
    pred: np.ndarray  # index into the kept prediction list
    iou: np.ndarray


def discarded_by_dont_care(preds: np.ndarray, dont_care: np.ndarray) -> np.ndarray:
    """Boolean mask: predictions that lie more than half inside one don't-care region.

    Zero-area predictions are never discarded (they cannot be "inside" anything).
    """
    discarded = np.zeros(len(preds), dtype=bool)
    p, d = candidate_pairs(preds, dont_care)
    if p.size == 0:
        return discarded
    pred_area = _area(preds)
    inter = intersection_areas(preds, dont_care, p, d)
    positive = pred_area[p] > 0
    share = np.zeros_like(inter)
    share[positive] = inter[positive] / pred_area[p][positive]
    discarded[p[share > DONT_CARE_OVERLAP]] = True
    return discarded


def _area(geoms: np.ndarray) -> np.ndarray:
    return shapely.area(geoms) if len(geoms) else np.empty(0, dtype=float)


def overlaps(gts: np.ndarray, preds: np.ndarray) -> Overlaps:
    """IoU of every candidate pair; pairs with a zero-area member are dropped (they never match)."""
    g, p = candidate_pairs(gts, preds)
    inter = intersection_areas(gts, preds, g, p)
    gt_area, pred_area = _area(gts), _area(preds)
    union = gt_area[g] + pred_area[p] - inter
    keep = (gt_area[g] > 0) & (pred_area[p] > 0) & (inter > 0)
    iou = np.zeros_like(inter)
    iou[keep] = inter[keep] / union[keep]
    return Overlaps(g[keep], p[keep], iou[keep])


def greedy_match(ov: Overlaps, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-to-one pairs with IoU strictly above ``threshold``, highest IoU first.

    Ties are broken by gt order, then prediction order, so results never depend on
    how the candidates happened to be enumerated.
    """
    above = ov.iou > threshold
    g, p, iou = ov.gt[above], ov.pred[above], ov.iou[above]
    order = np.lexsort((p, g, -iou))
    used_g: set[int] = set()
    used_p: set[int] = set()
    keep = []
    for k in order.tolist():
        gi, pi = int(g[k]), int(p[k])
        if gi in used_g or pi in used_p:
            continue
        used_g.add(gi)
        used_p.add(pi)
        keep.append(k)
    sel = np.asarray(keep, dtype=np.int64)
    return g[sel], p[sel], iou[sel]
