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
# One image


def evaluate_image(gt_polygons: Sequence, gt_texts: Sequence[str], gt_dont_care: Sequence[bool],
                   pred_polygons: Sequence, pred_texts: Sequence[str] | None,
                   options: ClevalOptions = ClevalOptions()) -> ClevalCounts:
    """CLEval counts for one image.

    Polygons are sequences of (x, y) points (or arrays, or flat x1, y1, ... lists), usually
    4 points clockwise from the top-left corner. ``gt_dont_care`` marks regions (``###``) that
    neither reward nor penalise. ``pred_texts=None`` means a detector without text (its
    end-to-end counts then only hold misses). Texts are NFC-normalised first.
    """
    if not (len(gt_polygons) == len(gt_texts) == len(gt_dont_care)):
        raise ValueError("gt_polygons, gt_texts and gt_dont_care differ in length")
    if pred_texts is None:
        pred_texts = [""] * len(pred_polygons)
    if len(pred_polygons) != len(pred_texts):
        raise ValueError("pred_polygons and pred_texts differ in length")
    gt = _boxes(gt_polygons, gt_texts, options)
    det = _boxes(pred_polygons, pred_texts, options)
    _hash_texts_as_dont_care(det)
    dont_care = np.asarray(gt_dont_care, dtype=bool).reshape(-1)
    return _evaluate(gt, dont_care, det, options)


@dataclass
class _Boxes:
    """The per-box arrays one side of an image needs."""

    texts: list[str]
    quads: np.ndarray          # (N, 4, 2) reference quads, raw coordinates (shape)
    outlines: np.ndarray       # (N, V, 2) integer-truncated outlines (area, overlap, containment)
    ratios: np.ndarray         # (N,) aspect ratios
    bounds: np.ndarray         # (N, 4) bounding boxes of the outlines
    rects: np.ndarray          # (N,) axis-parallel rectangles
    convex: np.ndarray         # (N,) strictly convex quads


def _boxes(polygons: Sequence, texts: Sequence[str], options: ClevalOptions) -> _Boxes:
    points = geo.as_point_arrays(polygons)
    texts = [_prepare_text(t, options) for t in texts]
    quads = geo.reference_quads(points)
    outlines = np.trunc(geo.pad_polygons(points))
    return _Boxes(texts, quads, outlines, geo.aspect_ratios(quads), geo.bounding_boxes(outlines),
                  geo.axis_aligned(outlines), geo.convex_quads(outlines))


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


def _evaluate(gt: _Boxes, dont_care: np.ndarray, det: _Boxes, options: ClevalOptions) -> ClevalCounts:
    n_gt, n_det = len(gt.texts), len(det.texts)
    constraint = options.area_precision_constraint
    constraint32 = np.float32(constraint)

    # Characters of each ground-truth box: its text, or for a don't-care box a made-up length.
    lengths = np.array([len(t) for t in gt.texts], dtype=np.int64)
    if dont_care.any():
        lengths[dont_care] = geo.pseudo_lengths(gt.ratios[dont_care])
    pcc, pcc_owner, pcc_index = geo.pseudo_character_centres(
        gt.quads, lengths, gt.ratios, options.vertical_aspect_ratio_threshold)

    # Which centres each detection contains, and so the (gt, det) pairs sharing at least one.
    inside_pcc, inside_det = geo.points_inside(pcc, det.outlines)
    inside_gt = pcc_owner[inside_pcc]
    pair_key = inside_gt * n_det + inside_det
    keys = np.unique(pair_key)
    pair_gt, pair_det = keys // max(n_det, 1), keys % max(n_det, 1)

    # Area precision (overlap / detection area) for those pairs and for don't-care boxes.
    det_area = geo.shoelace_areas(det.outlines)
    gt_geoms = geo.LazyGeometries(gt.outlines)
    det_geoms = geo.LazyGeometries(det.outlines)
    dc_idx = np.flatnonzero(dont_care)
    dc_rows, dc_cols = _dont_care_pairs(gt, dont_care, det)
    gt_rect = gt.rects & ~dont_care
    if len(dc_idx):
        gt_geoms.replace(dc_idx, _dont_care_regions(gt_geoms, gt.bounds, dont_care))
    ap_rows = np.concatenate([pair_gt, dc_rows])
    ap_cols = np.concatenate([pair_det, dc_cols])
    overlap = geo.intersection_areas(gt_geoms, gt.bounds, gt_rect, gt.convex & ~dont_care,
                                     det_geoms, det.bounds, det.rects, det.convex, ap_rows, ap_cols)
    with np.errstate(divide="ignore", invalid="ignore"):
        ap = np.where(det_area[ap_cols] > 0, overlap / np.where(det_area[ap_cols] > 0, det_area[ap_cols], 1), 0.0)
    ap32 = ap.astype(np.float32)
    pair_ap32 = ap32[:len(pair_gt)]
    pair_ap_ok = pair_ap32 >= constraint32

    det_dc = _dont_care_detections(n_det, dc_rows, dc_cols, ap32[len(pair_gt):] >= constraint32,
                                   pair_gt, pair_det, pair_ap32, dont_care, constraint32)
    gt_valid, det_valid = ~dont_care, ~det_dc

    matched = _match(n_gt, n_det, pair_gt, pair_det, pair_ap_ok, pair_ap32, gt_valid, det_valid, constraint)
    match_gt, match_det = pair_gt[matched], pair_det[matched]
    dets_per_gt = np.bincount(match_gt, minlength=n_gt)
    gts_per_det = np.bincount(match_det, minlength=n_det)

    # Detection: each centre found once counts; finding it again only counts as overlap.
    matched_keys = keys[matched]
    found = np.isin(pair_key, matched_keys)
    found_pcc = inside_pcc[found]
    tp = int(len(np.unique(found_pcc)))
    overlapped = int(len(found_pcc) - tp)
    unmatched_dets = det_valid & (gts_per_det == 0)
    fp = int(geo.false_positive_lengths(det.ratios[unmatched_dets]).sum())
    num_char_gt = int(lengths[gt_valid].sum())
    gran_recall = _granularity_sum(dets_per_gt, gt_valid, options.recall_penalty)
    gran_precision = _granularity_sum(gts_per_det, det_valid, options.precision_penalty)

    # End to end: longest common subsequence of each gt and its detections' texts in order.
    e2e_tp, e2e_det = _end_to_end(gt.texts, det.texts, gt_valid, det_valid, match_gt, match_det,
                                  inside_gt[found], inside_det[found], pcc_index[found_pcc])

    return ClevalCounts(
        det_num_char_gt=num_char_gt,
        det_num_char_det=int(len(found_pcc)) + fp,
        det_num_char_tp_recall=tp,
        det_num_char_tp_precision=tp,
        det_num_char_fp=fp,
        det_gran_score_recall=gran_recall,
        det_gran_score_precision=gran_precision,
        e2e_num_char_gt=num_char_gt,
        e2e_num_char_det=e2e_det,
        e2e_num_char_tp_recall=e2e_tp,
        e2e_num_char_tp_precision=e2e_tp,
        e2e_num_char_fp=e2e_det - e2e_tp,
        e2e_gran_score_recall=gran_recall,
        e2e_gran_score_precision=gran_precision,
        num_merged=int((det_valid & (gts_per_det > 1)).sum()),
        num_splitted=int((gt_valid & (dets_per_gt > 1)).sum()),
        num_char_overlapped=overlapped,
    )


def _dont_care_pairs(gt: _Boxes, dont_care: np.ndarray, det: _Boxes) -> tuple[np.ndarray, np.ndarray]:
    """(don't-care gt, detection) pairs whose boxes may overlap: the only ones with area precision."""
    dc_idx = np.flatnonzero(dont_care)
    rows, cols = geo.candidate_pairs(gt.bounds[dc_idx], det.bounds)
    return dc_idx[rows], cols


def _dont_care_regions(gt_geoms: geo.LazyGeometries, bounds: np.ndarray, dont_care: np.ndarray) -> np.ndarray:
    """Don't-care regions less the cared-for ground truth they overlap (a word inside a ``###``
    area still counts, and a detection of it must not be excused by the don't-care area)."""
    dc_idx, care_idx = np.flatnonzero(dont_care), np.flatnonzero(~dont_care)
    regions = gt_geoms[dc_idx].copy()
    rows, cols = geo.candidate_pairs(bounds[dc_idx], bounds[care_idx])
    for k in np.unique(rows):
        cut = shapely.union_all(gt_geoms[care_idx[cols[rows == k]]])
        regions[k] = shapely.difference(regions[k], cut)
    return regions


def _dont_care_detections(n_det: int, dc_rows: np.ndarray, dc_cols: np.ndarray, dc_ap_ok: np.ndarray,
                          pair_gt: np.ndarray, pair_det: np.ndarray, pair_ap32: np.ndarray,
                          dont_care: np.ndarray, constraint32: np.float32) -> np.ndarray:
    """Detections excused as don't care: enough of one lies in a ``###`` region, or the regions
    whose characters it contains together cover enough of it.

    The second sum runs in float32 in the package's order (the order of a Python set of the
    don't-care indices), so that a sum landing exactly on the threshold is decided alike.
    """
    det_dc = np.zeros(n_det, dtype=bool)
    if dont_care.any() and constraint32 <= 0:  # every area precision passes, overlapping or not
        det_dc[:] = True
        return det_dc
    det_dc[dc_cols[dc_ap_ok]] = True
    on_dc = dont_care[pair_gt] & ~det_dc[pair_det]
    if on_dc.any():
        order = {g: rank for rank, g in enumerate(set(np.flatnonzero(dont_care).tolist()))}
        by_det: dict[int, list[tuple[int, np.float32]]] = {}
        for g, d, a in zip(pair_gt[on_dc].tolist(), pair_det[on_dc].tolist(), pair_ap32[on_dc]):
            by_det.setdefault(d, []).append((order[g], a))
        for d, items in by_det.items():
            total = np.float32(0)
            for _, a in sorted(items):
                total = np.float32(total + a)
            if total >= constraint32:
                det_dc[d] = True
    return det_dc


def _match(n_gt: int, n_det: int, pair_gt: np.ndarray, pair_det: np.ndarray, ap_ok: np.ndarray,
           ap32: np.ndarray, gt_valid: np.ndarray, det_valid: np.ndarray, constraint: float) -> np.ndarray:
    """Which (gt, det) pairs (all containing at least one centre) are matched.

    * one to one: the pair passes area precision and neither box has another such partner
      (don't-care boxes included, so a detection overlapping ``###`` blocks it);
    * one to many (split): a gt has two or more valid detections that pass with it;
    * many to one (merge): a detection contains centres of two or more valid gts whose area
      precisions sum to the constraint (float64 sum in the package's order).
    """
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
        rank = _set_order(n_gt, gt_valid)
        idx = np.flatnonzero(candidates)
        idx = idx[np.lexsort((rank[pair_gt[idx]], pair_det[idx]))]
        sums = np.bincount(pair_det[idx], weights=ap32[idx].astype(np.float64), minlength=n_det)
        many_to_one[idx] = sums[pair_det[idx]] >= constraint
    return one_to_one | one_to_many | many_to_one


def _set_order(n: int, valid: np.ndarray) -> np.ndarray:
    """Position of each valid index when iterating ``set(range(n)) - excluded``, as the package does."""
    rank = np.zeros(n, dtype=np.int64)
    excluded = set(np.flatnonzero(~valid).tolist())
    for position, index in enumerate(set(range(n)) - excluded):
        rank[index] = position
    return rank


def _granularity_sum(pieces: np.ndarray, valid: np.ndarray, weight: float) -> float:
    """Sum of ``(pieces - 1) * weight`` over matched boxes, in float32 like the package."""
    penalties = np.zeros(len(pieces) + 2, dtype=np.float32)
    penalties[:len(pieces)] = np.where(valid & (pieces > 0), np.maximum(pieces - 1, 0) * weight, 0.0)
    return float(np.sum(penalties))


def _end_to_end(gt_texts: list[str], det_texts: list[str], gt_valid: np.ndarray, det_valid: np.ndarray,
                match_gt: np.ndarray, match_det: np.ndarray, found_gt: np.ndarray, found_det: np.ndarray,
                found_char: np.ndarray) -> tuple[int, int]:
    """(characters recognised, characters read by valid detections).

    Walking the ground truth in the package's order, each gt takes the longest common
    subsequence with its matched detections' remaining texts, read in the order their first
    contained centre appears in the gt; the characters it takes are struck from those texts, so
    one read character is never credited twice.
    """
    remaining = list(det_texts)
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

    excluded = set(np.flatnonzero(~gt_valid).tolist())
    for g in set(range(len(gt_texts))) - excluded:
        dets = dets_of_gt.get(g)
        if dets is None:
            continue
        if len(dets) > 1:
            dets = _reading_order(g, dets, len(gt_texts[g]), chars_by_pair)
            target = "".join(remaining[d] for d in dets)
        else:
            target = remaining[dets[0]]
        common = lcs_string(gt_texts[g], target)
        if common == target and len(dets) == 1:  # everything read was right
            remaining[dets[0]] = ""
            continue
        for char in common:
            for d in dets:
                if char in remaining[d]:
                    remaining[d] = remaining[d].replace(char, "", 1)
                    break
    valid = np.flatnonzero(det_valid).tolist()
    read = sum(len(det_texts[d]) for d in valid)
    recognised = sum(len(det_texts[d]) - len(remaining[d]) for d in valid)
    return recognised, read


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
