"""CLEval: character-level evaluation of text detection and end-to-end recognition.

CLEval (Baek et al., 2020) scores at the level of characters rather than boxes, so a word split
into two boxes or two words merged into one are not all-or-nothing errors. Each ground-truth
box is cut into pseudo-characters (evenly spaced centres along its mid-line); a detection
"finds" the characters whose centres it contains, a small penalty is charged for each extra
piece of a split or merge, and the end-to-end score counts the characters of the longest common
subsequence between the ground truth and the text read in the boxes matched to it.

This module reproduces the ``cleval`` 0.1.1 package of CLOVA AI count for count with its
defaults, written from the algorithm rather than copied, vectorised with numpy and shapely 2.
``docs/cleval.md`` defines the protocol and lists every deliberate difference from the package.

Usage, one image at a time, summing the counts over a data set::

    total = ClevalCounts()
    for page in pages:
        total += evaluate_image(page.gt_polygons, page.gt_texts, page.gt_dont_care,
                                page.pred_polygons, page.pred_texts)
    scores = metrics(total)

or many images at once, with the same counts per image and far fewer numpy calls::

    total = sum(evaluate_images([(p.gt_polygons, p.gt_texts, p.gt_dont_care, p.pred_polygons, p.pred_texts)
                                 for p in pages]))
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import shapely

from eval import cleval_geometry as geo


@dataclass(frozen=True)
class ClevalOptions:
    """The package's evaluation settings; the defaults are the package's defaults.

    ``recall_granularity_penalty_weight`` and ``precision_granularity_penalty_weight`` default
    to ``granularity_penalty_weight`` (the package has two settings, both 1.0 by default).
    """

    case_sensitive: bool = True
    area_precision_constraint: float = 0.3
    granularity_penalty_weight: float = 1.0
    recall_granularity_penalty_weight: float | None = None
    precision_granularity_penalty_weight: float | None = None
    vertical_aspect_ratio_threshold: float = 0.5

    @property
    def recall_penalty(self) -> float:
        w = self.recall_granularity_penalty_weight
        return self.granularity_penalty_weight if w is None else w

    @property
    def precision_penalty(self) -> float:
        w = self.precision_granularity_penalty_weight
        return self.granularity_penalty_weight if w is None else w


@dataclass(frozen=True)
class ClevalCounts:
    """Sums that add up over images; precision, recall and H-mean come from the totals.

    ``det_*`` is the detection evaluation, ``e2e_*`` the end-to-end one (the package's
    ``det`` and ``e2e`` blocks); ``num_merged``, ``num_splitted`` and ``num_char_overlapped``
    come from the detection evaluation, as in the package.
    """

    det_num_char_gt: int = 0
    det_num_char_det: int = 0
    det_num_char_tp_recall: int = 0
    det_num_char_tp_precision: int = 0
    det_num_char_fp: int = 0
    det_gran_score_recall: float = 0.0
    det_gran_score_precision: float = 0.0
    e2e_num_char_gt: int = 0
    e2e_num_char_det: int = 0
    e2e_num_char_tp_recall: int = 0
    e2e_num_char_tp_precision: int = 0
    e2e_num_char_fp: int = 0
    e2e_gran_score_recall: float = 0.0
    e2e_gran_score_precision: float = 0.0
    num_merged: int = 0
    num_splitted: int = 0
    num_char_overlapped: int = 0

    def __add__(self, other: ClevalCounts) -> ClevalCounts:
        if type(other) is not type(self):  # a subclass (eval.metrics.ClevalTableCounts) adds only its own kind
            return NotImplemented
        return type(self)(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __radd__(self, other: Any) -> ClevalCounts:
        """Lets ``sum(counts)`` start from 0."""
        if other == 0:
            return self
        return NotImplemented

    def as_dict(self) -> dict[str, int | float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_BLOCK_FIELDS = ("num_char_gt", "num_char_det", "num_char_tp_recall", "num_char_tp_precision",
                 "num_char_fp", "gran_score_recall", "gran_score_precision")


def metrics(counts: ClevalCounts) -> dict[str, Any]:
    """Precision, recall and H-mean from summed counts, in the package's layout.

    Recall is ``max(0, tp_recall - gran_score_recall) / num_char_gt`` and precision likewise
    over ``num_char_det``; an empty denominator gives ``None`` (the package reports 0.0 there).
    """
    out: dict[str, Any] = {}
    for block, prefix in (("detection", "det_"), ("end_to_end", "e2e_")):
        values = {name: getattr(counts, prefix + name) for name in _BLOCK_FIELDS}
        recall = _penalised_ratio(values["num_char_tp_recall"], values["gran_score_recall"], values["num_char_gt"])
        precision = _penalised_ratio(values["num_char_tp_precision"], values["gran_score_precision"],
                                     values["num_char_det"])
        out[block] = {"precision": precision, "recall": recall, "hmean": _harmonic_mean(precision, recall),
                      **values}
    out["num_merged"] = counts.num_merged
    out["num_splitted"] = counts.num_splitted
    out["num_char_overlapped"] = counts.num_char_overlapped
    return out


def _penalised_ratio(true_positive: float, penalty: float, total: int) -> float | None:
    if total == 0:
        return None
    return max(0.0, true_positive - penalty) / total


def _harmonic_mean(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    if recall + precision == 0:
        return 0.0
    return (2 * recall * precision) / (recall + precision)


# --------------------------------------------------------------------------------------------
# Images, one at a time or many at once

#: One image for ``evaluate_images``: gt polygons, gt texts, gt don't-care flags, predicted
#: polygons, predicted texts (``None``: a detector without text).
ImageInput = tuple[Sequence, Sequence[str], Sequence[bool], Sequence, "Sequence[str] | None"]


def evaluate_image(gt_polygons: Sequence, gt_texts: Sequence[str], gt_dont_care: Sequence[bool],
                   pred_polygons: Sequence, pred_texts: Sequence[str] | None,
                   options: ClevalOptions = ClevalOptions()) -> ClevalCounts:
    """CLEval counts for one image.

    Polygons are sequences of (x, y) points (or arrays, or flat x1, y1, ... lists), usually
    4 points clockwise from the top-left corner. ``gt_dont_care`` marks regions (``###``) that
    neither reward nor penalise. ``pred_texts=None`` means a detector without text (its
    end-to-end counts then only hold misses). Texts are NFC-normalised first.
    """
    return evaluate_images([(gt_polygons, gt_texts, gt_dont_care, pred_polygons, pred_texts)], options)[0]


def evaluate_images(images: Sequence[ImageInput], options: ClevalOptions = ClevalOptions()) -> list[ClevalCounts]:
    """CLEval counts of each image (``evaluate_image``'s arguments per image), scored together.

    A few numpy and shapely calls serve the whole batch: every array holds the boxes of all the
    images, a group array says whose each box is, and no pair ever crosses images. Whatever could
    make one image's floats depend on another's (padded widths, sums in the package's order) is
    done per image, so each image's counts are, bit for bit, those it gets alone.
    """
    gt_polygons: list[Sequence] = []
    gt_texts: list[Sequence[str]] = []
    flags: list[bool] = []
    pred_polygons: list[Sequence] = []
    pred_texts: list[Sequence[str]] = []
    for gt_poly, gt_text, gt_dont_care, pred_poly, pred_text in images:
        if not (len(gt_poly) == len(gt_text) == len(gt_dont_care)):
            raise ValueError("gt_polygons, gt_texts and gt_dont_care differ in length")
        if pred_text is None:
            pred_text = [""] * len(pred_poly)
        if len(pred_poly) != len(pred_text):
            raise ValueError("pred_polygons and pred_texts differ in length")
        gt_polygons.append(gt_poly)
        gt_texts.append(gt_text)
        plain = isinstance(gt_dont_care, (list, tuple)) and all(type(flag) is bool for flag in gt_dont_care)
        flags.extend(gt_dont_care if plain else np.asarray(gt_dont_care, dtype=bool).reshape(-1).tolist())
        pred_polygons.append(pred_poly)
        pred_texts.append(pred_text)
    if not images:
        return []
    gt = _boxes(gt_polygons, gt_texts, options)
    det = _boxes(pred_polygons, pred_texts, options)
    _hash_texts_as_dont_care(det)
    return _evaluate(gt, np.array(flags, dtype=bool).reshape(-1), det, options)


@dataclass
class _Boxes:
    """The per-box arrays one side (gt or detections) of a batch of images needs."""

    texts: list[str]
    quads: np.ndarray          # (N, 4, 2) reference quads, raw coordinates (shape)
    outlines: np.ndarray       # (N, V, 2) integer-truncated outlines (area, overlap, containment)
    counts: np.ndarray         # (N,) points of each outline (the rest of its row repeats its last point)
    widths: np.ndarray         # (N,) padded width of the box's image side alone (V is the batch's)
    ratios: np.ndarray         # (N,) aspect ratios
    bounds: np.ndarray         # (N, 4) bounding boxes of the outlines
    rects: np.ndarray          # (N,) axis-parallel rectangles
    convex: np.ndarray         # (N,) strictly convex quads
    group: np.ndarray          # (N,) image of each box
    start: np.ndarray          # (images + 1,) first box of each image, then the total

    @property
    def images(self) -> int:
        return len(self.start) - 1


def _boxes(polygons: Sequence[Sequence], texts: Sequence[Sequence[str]], options: ClevalOptions) -> _Boxes:
    """One side of every image, concatenated (image by image, each in its own order)."""
    sizes = np.fromiter(map(len, polygons), dtype=np.int64, count=len(polygons))
    group = np.repeat(np.arange(len(sizes)), sizes)
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    points, counts = geo.padded_points([p for image in polygons for p in image])
    prepared = [_prepare_text(t, options) for image in texts for t in image]
    quads = geo.reference_quads_of(points, counts)
    outlines = np.trunc(points)
    widths = _image_widths(counts, group, len(sizes), outlines.shape[1])
    # the rectangle and convex-quad fast paths need 4-point outlines; alone, an image side with a
    # wider polygon had none (its outlines were padded), so neither has it here
    if outlines.shape[1] >= 4:
        four = counts == 4
        rects = geo.axis_aligned(outlines[:, :4]) & four
        convex = geo.convex_quads(outlines[:, :4]) & four
    else:
        rects = convex = np.zeros(len(counts), dtype=bool)
    return _Boxes(prepared, quads, outlines, counts, widths, geo.aspect_ratios(quads), geo.bounding_boxes(outlines),
                  rects, convex, group, start)


def _image_widths(counts: np.ndarray, group: np.ndarray, images: int, width: int) -> np.ndarray:
    """Each box's padded width had its image side been padded alone (its most points)."""
    if (counts == width).all():
        return counts
    most = np.zeros(images, dtype=np.int64)
    np.maximum.at(most, group, counts)
    return most[group]


def _hash_texts_as_dont_care(boxes: _Boxes) -> None:
    """A detection reading exactly ``###`` stands for as many characters as its shape suggests.

    The package builds detections with the same box type as ground truth, whose ``###`` text
    means "don't care" and is replaced by ``#`` times the box's pseudo length; kept for equality
    (it only changes how many wrong characters such a detection counts end to end).
    """
    hashed = [k for k, text in enumerate(boxes.texts) if text == "###"]
    if hashed:
        for k, n in zip(hashed, geo.pseudo_lengths(boxes.ratios[hashed]).tolist()):
            boxes.texts[k] = "#" * n


def _prepare_text(text: str | None, options: ClevalOptions) -> str:
    """NFC first (the package compares code points as given), then upper case if asked."""
    text = unicodedata.normalize("NFC", text or "")
    return text if options.case_sensitive else text.upper()


def _per_image(group: np.ndarray, values: np.ndarray, images: int) -> list[int]:
    """Integer ``values`` summed per image (exact: far below 2**53)."""
    return np.bincount(group, weights=values, minlength=images).astype(np.int64).tolist()


def _evaluate(gt: _Boxes, dont_care: np.ndarray, det: _Boxes, options: ClevalOptions) -> list[ClevalCounts]:
    n_gt, n_det, images = len(gt.texts), len(det.texts), gt.images
    constraint = options.area_precision_constraint
    constraint32 = np.float32(constraint)

    # Characters of each ground-truth box: its text, or for a don't-care box a made-up length.
    lengths = np.fromiter(map(len, gt.texts), dtype=np.int64, count=n_gt)
    if dont_care.any():
        lengths[dont_care] = geo.pseudo_lengths(gt.ratios[dont_care])
    pcc, pcc_owner, pcc_index = geo.pseudo_character_centres(
        gt.quads, lengths, gt.ratios, options.vertical_aspect_ratio_threshold)
    pcc_group = gt.group[pcc_owner]

    # Which centres each detection (of the same image) contains, and so the (gt, det) pairs
    # sharing at least one; keys sort the pairs by gt then detection, image by image.
    inside_pcc, inside_det = geo.points_inside(pcc, det.outlines, pcc_group, det.group, det.bounds, det.counts)
    inside_gt = pcc_owner[inside_pcc]
    pair_key = inside_gt * n_det + inside_det
    keys = np.unique(pair_key)
    pair_gt, pair_det = keys // max(n_det, 1), keys % max(n_det, 1)

    # Area precision (overlap / detection area) for those pairs and for don't-care boxes.
    det_area = geo.shoelace_areas(det.outlines, det.widths)
    gt_geoms = geo.LazyGeometries(gt.outlines, gt.widths)
    det_geoms = geo.LazyGeometries(det.outlines, det.widths)
    dc_idx = np.flatnonzero(dont_care)
    dc_rows, dc_cols = _dont_care_pairs(gt, dc_idx, det)
    gt_rect = gt.rects & ~dont_care
    if len(dc_idx):
        gt_geoms.replace(dc_idx, _dont_care_regions(gt_geoms, gt, dont_care))
    ap_rows = np.concatenate([pair_gt, dc_rows])
    ap_cols = np.concatenate([pair_det, dc_cols])
    overlap = np.zeros(len(ap_rows))
    needed = np.flatnonzero(det_area[ap_cols] > 0)  # over no area, the precision is 0 whatever the overlap
    overlap[needed] = geo.intersection_areas(gt_geoms, gt.bounds, gt_rect, gt.convex & ~dont_care,
                                             det_geoms, det.bounds, det.rects, det.convex, ap_rows[needed],
                                             ap_cols[needed], gt.group[ap_rows[needed]])
    with np.errstate(divide="ignore", invalid="ignore"):
        ap = np.where(det_area[ap_cols] > 0, overlap / np.where(det_area[ap_cols] > 0, det_area[ap_cols], 1), 0.0)
    ap32 = ap.astype(np.float32)
    pair_ap32 = ap32[:len(pair_gt)]
    pair_ap_ok = pair_ap32 >= constraint32

    det_dc = _dont_care_detections(gt, det, dc_cols, ap32[len(pair_gt):] >= constraint32,
                                   pair_gt, pair_det, pair_ap32, dont_care, constraint32)
    gt_valid, det_valid = ~dont_care, ~det_dc

    matched = _match(gt, n_det, pair_gt, pair_det, pair_ap_ok, pair_ap32, gt_valid, det_valid, constraint)
    match_gt, match_det = pair_gt[matched], pair_det[matched]
    dets_per_gt = np.bincount(match_gt, minlength=n_gt)
    gts_per_det = np.bincount(match_det, minlength=n_det)

    # Detection: each centre found once counts; finding it again only counts as overlap.
    found = np.isin(pair_key, keys[matched])
    found_pcc = inside_pcc[found]
    tp = np.bincount(pcc_group[np.unique(found_pcc)], minlength=images)
    found_count = np.bincount(pcc_group[found_pcc], minlength=images)
    unmatched_dets = det_valid & (gts_per_det == 0)
    fp = np.asarray(_per_image(det.group[unmatched_dets], geo.false_positive_lengths(det.ratios[unmatched_dets]),
                               images), dtype=np.int64)
    num_char_gt = _per_image(gt.group[gt_valid], lengths[gt_valid], images)
    gran_recall = _granularity_sums(dets_per_gt, gt_valid, options.recall_penalty, gt.start)
    gran_precision = _granularity_sums(gts_per_det, det_valid, options.precision_penalty, det.start)

    # End to end: longest common subsequence of each gt and its detections' texts in order.
    e2e_tp, e2e_det = _end_to_end(gt, det, gt_valid, det_valid, match_gt, match_det, gts_per_det,
                                  inside_gt[found], inside_det[found], pcc_index[found_pcc])

    merged = np.bincount(det.group[det_valid & (gts_per_det > 1)], minlength=images).tolist()
    splitted = np.bincount(gt.group[gt_valid & (dets_per_gt > 1)], minlength=images).tolist()
    columns = zip(num_char_gt, (found_count + fp).tolist(), tp.tolist(), fp.tolist(), gran_recall, gran_precision,
                  e2e_det, e2e_tp, merged, splitted, (found_count - tp).tolist())
    return [ClevalCounts(
        det_num_char_gt=char_gt,
        det_num_char_det=char_det,
        det_num_char_tp_recall=char_tp,
        det_num_char_tp_precision=char_tp,
        det_num_char_fp=char_fp,
        det_gran_score_recall=g_recall,
        det_gran_score_precision=g_precision,
        e2e_num_char_gt=char_gt,
        e2e_num_char_det=e2e_read,
        e2e_num_char_tp_recall=e2e_found,
        e2e_num_char_tp_precision=e2e_found,
        e2e_num_char_fp=e2e_read - e2e_found,
        e2e_gran_score_recall=g_recall,
        e2e_gran_score_precision=g_precision,
        num_merged=n_merged,
        num_splitted=n_splitted,
        num_char_overlapped=overlapped,
    ) for (char_gt, char_det, char_tp, char_fp, g_recall, g_precision, e2e_read, e2e_found, n_merged, n_splitted,
           overlapped) in columns]


def _dont_care_pairs(gt: _Boxes, dc_idx: np.ndarray, det: _Boxes) -> tuple[np.ndarray, np.ndarray]:
    """(don't-care gt, detection) pairs whose boxes may overlap: the only ones with area precision."""
    rows, cols = geo.grouped_candidate_pairs(gt.bounds[dc_idx], gt.group[dc_idx], det.bounds, det.group)
    return dc_idx[rows], cols


def _dont_care_regions(gt_geoms: geo.LazyGeometries, gt: _Boxes, dont_care: np.ndarray) -> np.ndarray:
    """Don't-care regions less the cared-for ground truth they overlap (a word inside a ``###``
    area still counts, and a detection of it must not be excused by the don't-care area).
    The words are unioned in the order one image alone lists them."""
    dc_idx, care_idx = np.flatnonzero(dont_care), np.flatnonzero(~dont_care)
    regions = gt_geoms[dc_idx].copy()
    rows, cols = geo.grouped_candidate_pairs(gt.bounds[dc_idx], gt.group[dc_idx], gt.bounds[care_idx],
                                             gt.group[care_idx])
    if len(rows) == 0:
        return regions
    order = np.argsort(rows, kind="stable")
    rows, cols = rows[order], cols[order]
    cut_regions, first = np.unique(rows, return_index=True)
    cuts = [shapely.union_all(gt_geoms[care_idx[part]]) for part in np.split(cols, first[1:])]
    regions[cut_regions] = shapely.difference(regions[cut_regions], np.array(cuts, dtype=object))
    return regions


def _dont_care_detections(gt: _Boxes, det: _Boxes, dc_cols: np.ndarray, dc_ap_ok: np.ndarray,
                          pair_gt: np.ndarray, pair_det: np.ndarray, pair_ap32: np.ndarray,
                          dont_care: np.ndarray, constraint32: np.float32) -> np.ndarray:
    """Detections excused as don't care: enough of one lies in a ``###`` region, or the regions
    whose characters it contains together cover enough of it.

    The second sum runs in float32 in the package's order (the order of a Python set of the
    image's don't-care indices), so that a sum landing exactly on the threshold is decided alike;
    a detection on one region alone needs no sum.
    """
    if constraint32 <= 0:  # every area precision passes, overlapping or not: an image's every detection
        has_dont_care = np.bincount(gt.group[dont_care], minlength=gt.images) > 0
        return has_dont_care[det.group]
    det_dc = np.zeros(len(det.texts), dtype=bool)
    det_dc[dc_cols[dc_ap_ok]] = True
    on_dc = dont_care[pair_gt] & ~det_dc[pair_det]
    if not on_dc.any():
        return det_dc
    g_on, d_on, a_on = pair_gt[on_dc], pair_det[on_dc], pair_ap32[on_dc]
    regions = np.bincount(d_on, minlength=len(det.texts))[d_on]
    det_dc[d_on[(regions == 1) & (a_on >= constraint32)]] = True
    several = regions > 1
    orders: dict[int, dict[int, int]] = {}
    by_det: dict[int, list[tuple[int, np.float32]]] = {}
    for g, d, a in zip(g_on[several].tolist(), d_on[several].tolist(), a_on[several]):
        image = int(gt.group[g])
        if image not in orders:
            first, end = int(gt.start[image]), int(gt.start[image + 1])
            local = np.flatnonzero(dont_care[first:end]).tolist()
            orders[image] = {first + k: rank for rank, k in enumerate(set(local))}
        by_det.setdefault(d, []).append((orders[image][g], a))
    for d, items in by_det.items():
        total = np.float32(0)
        for _, a in sorted(items):
            total = np.float32(total + a)
        if total >= constraint32:
            det_dc[d] = True
    return det_dc


def _match(gt: _Boxes, n_det: int, pair_gt: np.ndarray, pair_det: np.ndarray, ap_ok: np.ndarray,
           ap32: np.ndarray, gt_valid: np.ndarray, det_valid: np.ndarray, constraint: float) -> np.ndarray:
    """Which (gt, det) pairs (all containing at least one centre) are matched.

    * one to one: the pair passes area precision and neither box has another such partner
      (don't-care boxes included, so a detection overlapping ``###`` blocks it);
    * one to many (split): a gt has two or more valid detections that pass with it;
    * many to one (merge): a detection contains centres of two or more valid gts whose area
      precisions sum to the constraint (float64 sum in the package's order).
    """
    n_gt = len(gt.texts)
    passing = ap_ok
    per_gt = np.bincount(pair_gt[passing], minlength=n_gt)
    per_det = np.bincount(pair_det[passing], minlength=n_det)
    both_valid = gt_valid[pair_gt] & det_valid[pair_det]
    one_to_one = passing & both_valid & (per_gt[pair_gt] == 1) & (per_det[pair_det] == 1)

    split = passing & both_valid
    split_per_gt = np.bincount(pair_gt[split], minlength=n_gt)
    one_to_many = split & (split_per_gt[pair_gt] >= 2)

    merge_per_det = np.bincount(pair_det[both_valid], minlength=n_det)
    many_to_one = np.zeros(len(pair_gt), dtype=bool)
    candidates = both_valid & (merge_per_det[pair_det] >= 2)
    if candidates.any():
        idx = np.flatnonzero(candidates)
        rank = _set_orders(gt, gt_valid, np.unique(gt.group[pair_gt[idx]]))
        idx = idx[np.lexsort((rank[pair_gt[idx]], pair_det[idx]))]
        sums = np.bincount(pair_det[idx], weights=ap32[idx].astype(np.float64), minlength=n_det)
        many_to_one[idx] = sums[pair_det[idx]] >= constraint
    return one_to_one | one_to_many | many_to_one


def _set_orders(gt: _Boxes, valid: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Each valid gt's ``_set_order`` rank within its image, for the given images (0 elsewhere)."""
    rank = np.zeros(len(valid), dtype=np.int64)
    for image in images.tolist():
        first, end = int(gt.start[image]), int(gt.start[image + 1])
        rank[first:end] = _set_order(end - first, valid[first:end])
    return rank


def _set_order(n: int, valid: np.ndarray) -> np.ndarray:
    """Position of each valid index when iterating ``set(range(n)) - excluded``, as the package does."""
    rank = np.zeros(n, dtype=np.int64)
    for position, index in enumerate(_package_order(n, valid)):
        rank[index] = position
    return rank


def _package_order(n: int, valid: np.ndarray) -> set[int]:
    """The package's set of one image's valid gt indices; iterating it gives its order."""
    excluded = set(np.flatnonzero(~valid).tolist())
    return set(range(n)) - excluded


def _granularity_sums(pieces: np.ndarray, valid: np.ndarray, weight: float, start: np.ndarray) -> list[float]:
    """Per image, the sum of ``(pieces - 1) * weight`` over matched boxes, in float32 like the package.

    The package's float32 sum (numpy's, over the image's boxes and two zeros) is exact when every
    term is a whole number and the total stays below 2**24, as with the default weight of 1: then
    the order cannot matter and one bincount gives every image's sum; otherwise each image is
    summed alone, as before.
    """
    penalties = np.where(valid & (pieces > 0), np.maximum(pieces - 1, 0) * weight, 0.0)
    terms = penalties.astype(np.float32)
    group = np.repeat(np.arange(len(start) - 1), np.diff(start))
    if weight >= 0 and (terms == np.floor(terms)).all() and float(terms.astype(np.float64).sum()) < 2 ** 24:
        sums = np.bincount(group, weights=terms.astype(np.float64), minlength=len(start) - 1)
        return sums.astype(np.float64).tolist()  # (no boxes at all: bincount gives integers)
    sums = []
    for first, end in zip(start[:-1].tolist(), start[1:].tolist()):
        padded = np.zeros(end - first + 2, dtype=np.float32)
        padded[:end - first] = penalties[first:end]
        sums.append(float(np.sum(padded)))
    return sums


def _end_to_end(gt: _Boxes, det: _Boxes, gt_valid: np.ndarray, det_valid: np.ndarray, match_gt: np.ndarray,
                match_det: np.ndarray, gts_per_det: np.ndarray, found_gt: np.ndarray, found_det: np.ndarray,
                found_char: np.ndarray) -> tuple[list[int], list[int]]:
    """Per image, (characters recognised, characters read by valid detections).

    Walking the ground truth in the package's order, each gt takes the longest common
    subsequence with its matched detections' remaining texts, read in the order their first
    contained centre appears in the gt; the characters it takes are struck from those texts, so
    one read character is never credited twice. The order only matters between gts sharing a
    detection (a merge), so only an image with a merge is walked in the package's order.
    """
    remaining = list(det.texts)
    order = np.lexsort((match_det, match_gt))
    dets_of_gt: dict[int, list[int]] = {}
    for g, d in zip(match_gt[order].tolist(), match_det[order].tolist()):
        dets_of_gt.setdefault(g, []).append(d)
    split = {g for g, dets in dets_of_gt.items() if len(dets) > 1}
    chars_by_pair: dict[tuple[int, int], set[int]] = {}
    if split:
        keep = np.isin(found_gt, list(split))
        for g, d, c in zip(found_gt[keep].tolist(), found_det[keep].tolist(), found_char[keep].tolist()):
            chars_by_pair.setdefault((g, d), set()).add(c)

    ordered = set(det.group[gts_per_det > 1].tolist())
    for g, dets in dets_of_gt.items():
        if int(gt.group[g]) not in ordered:
            _strike(gt.texts[g], g, dets, remaining, chars_by_pair)
    for image in sorted(ordered):
        first, end = int(gt.start[image]), int(gt.start[image + 1])
        for local in _package_order(end - first, gt_valid[first:end]):
            dets = dets_of_gt.get(first + local)
            if dets is not None:
                _strike(gt.texts[first + local], first + local, dets, remaining, chars_by_pair)
    read = np.fromiter(map(len, det.texts), dtype=np.int64, count=len(det.texts))
    left = np.fromiter(map(len, remaining), dtype=np.int64, count=len(remaining))
    group = det.group[det_valid]
    return (_per_image(group, (read - left)[det_valid], det.images), _per_image(group, read[det_valid], det.images))


def _strike(gt_text: str, g: int, dets: list[int], remaining: list[str],
            chars_by_pair: dict[tuple[int, int], set[int]]) -> None:
    """One gt's turn: the characters it recognises are struck from its detections' remaining texts."""
    if len(dets) > 1:
        dets = _reading_order(g, dets, len(gt_text), chars_by_pair)
        target = "".join(remaining[d] for d in dets)
    else:
        target = remaining[dets[0]]
    common = lcs_string(gt_text, target)
    if common == target and len(dets) == 1:  # everything read was right
        remaining[dets[0]] = ""
        return
    for char in common:
        for d in dets:
            if char in remaining[d]:
                remaining[d] = remaining[d].replace(char, "", 1)
                break


def _reading_order(g: int, dets: list[int], n_chars: int,
                   chars_by_pair: dict[tuple[int, int], set[int]]) -> list[int]:
    """The package's order for a split gt's detections: for each character in turn, the first
    remaining detection containing it comes next; the last remaining one closes the list (so with
    three or more pieces one can be left out, as in the package)."""
    unordered = list(dets)
    ordered = []
    for char in range(n_chars):
        if len(unordered) == 1:
            break
        for d in unordered:
            if char in chars_by_pair.get((g, d), ()):
                ordered.append(d)
                unordered.remove(d)
                break
    ordered.append(unordered[0])
    return ordered


def _is_subsequence(short: str, long: str) -> bool:
    if short in long:
        return True
    rest = iter(long)
    return all(char in rest for char in short)


def lcs_string(a: str, b: str) -> str:
    """A longest common subsequence of ``a`` and ``b``, the same one the package picks.

    Standard dynamic programme; on a tie between dropping a character of ``a`` or of ``b`` it
    drops the one of ``b``. Which subsequence is picked matters: its characters are the ones
    struck from the detections' texts.
    """
    if a == b:
        return a
    if not a or not b:
        return ""
    # A common prefix or suffix is always part of the programme's answer (its table over the
    # rest differs by a constant), so only the middle needs the table.
    head = 0
    while head < len(a) and head < len(b) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    if head or tail:
        end_a, end_b = len(a) - tail, len(b) - tail
        return a[:head] + lcs_string(a[head:end_a], b[head:end_b]) + a[end_a:]
    # When one string is a subsequence of the other, it is the only common subsequence that long.
    if len(a) <= len(b) and _is_subsequence(a, b):
        return a
    if len(b) < len(a) and _is_subsequence(b, a):
        return b
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n):
        row, above, ca = table[i + 1], table[i], a[i]
        for j in range(m):
            if ca == b[j]:
                row[j + 1] = above[j] + 1
            else:
                up, left = above[j + 1], row[j]
                row[j + 1] = up if up > left else left
    chars = []
    i, j = n, m
    while i > 0 and j > 0:
        if a[i - 1] == b[j - 1]:
            chars.append(a[i - 1])
            i, j = i - 1, j - 1
        elif table[i - 1][j] > table[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return "".join(reversed(chars))


# --------------------------------------------------------------------------------------------
# The package's text format, for parity checks on its own data

_QUAD_LINE = re.compile(r"^" + r"\s*(-?[0-9]+)\s*," * 8 + r"(.*)$")
_QUOTED = re.compile(r'^\s*"(.*)"\s*$')


def unquote(text: str) -> str:
    """A text as the package reads it from a line: ``"..."`` unquoted, ``\\"`` and ``\\\\`` unescaped."""
    if '"' in text:
        quoted = _QUOTED.match(text)
        if quoted is not None:
            return quoted.group(1).replace("\\\\", "\\").replace('\\"', '"')
    return text


def parse_quad_lines(content: str) -> tuple[np.ndarray, list[str]]:
    """``x1,y1,...,x4,y4,text`` lines (ICDAR 2015 / the package's default format).

    Returns the quads as an ``(N, 4, 2)`` float array and the N texts. Quoted texts are unquoted
    (``\\"`` and ``\\\\`` unescaped), ``\\r`` is dropped and empty lines are skipped, as the
    package reads them. A ``###`` text marks a don't-care region.
    """
    numbers: list[str] = []
    texts: list[str] = []
    for line in content.replace("\r", "").split("\n"):
        if not line:
            continue
        parts = line.split(",", 8)
        head = parts[:8]
        digits = "".join(head)
        if len(parts) == 9 and all(head) and digits.isascii() and digits.isdigit():  # plain 0-9 only
            text = parts[8]
        else:  # signs, spaces or anything odd: the regular expression decides (and words the error)
            match = _QUAD_LINE.match(line)
            if match is None:
                raise ValueError(f"not an x1,y1,...,x4,y4,text line: {line!r}")
            groups = match.groups()
            head, text = list(groups[:8]), groups[8]
        numbers += head
        texts.append(unquote(text))
    return np.array(numbers, dtype=np.float64).reshape(-1, 4, 2), texts
