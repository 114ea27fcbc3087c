"""Don't-care filtering and one-to-one greedy IoU matching (docs/protocol.md, rules 3 and 4).

Functions take optional group arrays (the image each polygon belongs to) so that a whole
batch of images is handled in a few vectorised calls; indices are global to the batch, and
pairs never cross images. Overlaps are computed once and reused for every IoU threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from eval.geometry import candidate_pairs, intersection_areas

DONT_CARE_OVERLAP = 0.5
TIE_DECIMALS = 9


@dataclass(frozen=True)
class Overlaps:
    """Every (care gt, kept prediction) pair, in the same image, with a positive IoU."""

    gt: np.ndarray
    pred: np.ndarray
    iou: np.ndarray


def area(geoms: np.ndarray) -> np.ndarray:
    return shapely.area(geoms) if len(geoms) else np.empty(0, dtype=float)


def discarded_by_dont_care(
    preds: np.ndarray,
    dont_care: np.ndarray,
    pred_group: np.ndarray | None = None,
    dont_care_group: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean mask: predictions more than half inside one don't-care region of their image.

    Zero-area predictions are never discarded (they cannot be "inside" anything).
    """
    discarded = np.zeros(len(preds), dtype=bool)
    p, d = candidate_pairs(preds, dont_care, pred_group, dont_care_group)
    if p.size == 0:
        return discarded
    pred_area = area(preds)[p]
    inter = intersection_areas(preds, dont_care, p, d)
    positive = pred_area > 0
    discarded[p[positive][inter[positive] / pred_area[positive] > DONT_CARE_OVERLAP]] = True
    return discarded


def overlaps(
    gts: np.ndarray,
    preds: np.ndarray,
    gt_group: np.ndarray | None = None,
    pred_group: np.ndarray | None = None,
) -> Overlaps:
    """IoU of every candidate pair; pairs with a zero-area member are dropped (they never match)."""
    g, p = candidate_pairs(gts, preds, gt_group, pred_group)
    inter = intersection_areas(gts, preds, g, p)
    gt_area, pred_area = area(gts)[g], area(preds)[p]
    keep = (gt_area > 0) & (pred_area > 0) & (inter > 0)
    iou = inter[keep] / (gt_area[keep] + pred_area[keep] - inter[keep])
    return Overlaps(g[keep], p[keep], iou)


def greedy_match(ov: Overlaps, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-to-one pairs with IoU strictly above ``threshold``, highest IoU first.

    Ties are broken by gt order, then prediction order, so results never depend on how the
    candidates happened to be enumerated. Pairs of different images never compete, so one
    pass over a batch equals one pass per image.
    """
    sel = greedy_match_indices(ov, threshold)
    return ov.gt[sel], ov.pred[sel], ov.iou[sel]


def greedy_match_indices(ov: Overlaps, threshold: float) -> np.ndarray:
    """``greedy_match`` as indices into ``ov``'s pairs, in the same (matching) order."""
    above = np.flatnonzero(ov.iou > threshold)
    g, p, iou = ov.gt[above], ov.pred[above], ov.iou[above]
    # IoUs equal to TIE_DECIMALS places are ties: the same shape must not win or lose on the last
    # bit of a float that depends on which corner its outline starts from
    order = np.lexsort((p, g, -np.round(iou, TIE_DECIMALS)))
    g, p = g[order], p[order]
    # a pair whose gt word and prediction are in no other pair is taken whenever its turn comes;
    # only the others compete, in the same order, so only they need the loop
    keep = np.ones(len(order), dtype=bool)
    if len(order):
        keep = (np.bincount(g)[g] == 1) & (np.bincount(p)[p] == 1)
    contested = np.flatnonzero(~keep)
    used_g: set[int] = set()
    used_p: set[int] = set()
    for k, gi, pi in zip(contested.tolist(), g[contested].tolist(), p[contested].tolist()):
        if gi in used_g or pi in used_p:
            continue
        used_g.add(gi)
        used_p.add(pi)
        keep[k] = True
    return above[order[keep]]
