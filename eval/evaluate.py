"""The evaluation protocol (README, "Protocol"): ground truth against one provider's results.

``evaluate_image`` is pure and works on one image; ``evaluate`` walks the gt image set, so
an image the provider never answered still counts (as an image with no predictions).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from adapters.schema import ImageResult, Item
from eval.geometry import make_polygons
from eval.matching import discarded_by_dont_care, greedy_match, overlaps
from eval.metrics import Counts
from eval.text import TextOptions, decompose_jamo, edit_distance, normalize, texts_match
from gt.reader import Word

log = logging.getLogger("bench")

DEFAULT_IOU = 0.5


@dataclass(frozen=True)
class EvalOptions:
    """Everything that changes the numbers; it is written next to them in every output."""

    thresholds: tuple[float, ...] = (DEFAULT_IOU,)
    text: TextOptions = TextOptions()
    min_score: float | None = None


@dataclass(frozen=True)
class MatchRow:
    """One line of ``matches.csv``: a matched pair, or an item that stayed alone, and why."""

    image: str
    kind: str  # match | missed | false | discarded | dont_care | no_geometry | below_min_score
    gt_line: int | None = None
    pred_index: int | None = None
    iou: float | None = None
    gt_text: str | None = None
    pred_text: str | None = None
    correct: bool | None = None
    edit_distance: int | None = None
    jamo_distance: int | None = None
    confidence: float | None = None


@dataclass
class ImageEvaluation:
    stem: str
    status: str  # ok | missing | error
    counts: tuple[Counts, ...]  # one per threshold, in EvalOptions.thresholds order
    rows: list[MatchRow] = field(default_factory=list)  # at the first threshold
    error: str | None = None


@dataclass
class Evaluation:
    options: EvalOptions
    images: list[ImageEvaluation]
    unknown_predictions: list[str] = field(default_factory=list)

    def totals(self, k: int = 0) -> Counts:
        """Counts summed over all images at threshold number ``k``."""
        total = Counts()
        for image in self.images:
            total = total + image.counts[k]
        return total


def _pred_row(stem: str, kind: str, index: int, item: Item, **extra: object) -> MatchRow:
    return MatchRow(stem, kind, pred_index=index, pred_text=item.text, confidence=item.confidence, **extra)


def evaluate_image(
    stem: str,
    words: Sequence[Word],
    result: ImageResult | None,
    options: EvalOptions = EvalOptions(),
) -> ImageEvaluation:
    """Score one image's predictions against its ground truth at every threshold."""
    status = "missing" if result is None else ("ok" if result.is_ok else "error")
    items = result.items if result is not None and result.is_ok else ()
    rows: list[MatchRow] = []

    care = [w for w in words if w.care]
    dont_care = [w for w in words if not w.care]
    rows.extend(MatchRow(stem, "dont_care", gt_line=w.line, gt_text=w.text) for w in dont_care)

    # rule 7, then rule 2: confidence filter first, then items without geometry leave the counts
    scored: list[int] = []
    below = no_geometry = 0
    for index, item in enumerate(items):
        if options.min_score is not None and item.confidence is not None and item.confidence < options.min_score:
            below += 1
            rows.append(_pred_row(stem, "below_min_score", index, item))
        elif item.polygon is None:
            no_geometry += 1
            rows.append(_pred_row(stem, "no_geometry", index, item))
        else:
            scored.append(index)

    gt_geoms = make_polygons([w.points for w in care])
    pred_geoms = make_polygons([items[i].polygon for i in scored])
    discarded = discarded_by_dont_care(pred_geoms, make_polygons([w.points for w in dont_care]))
    kept = [i for i, d in zip(scored, discarded.tolist()) if not d]
    rows.extend(_pred_row(stem, "discarded", i, items[i]) for i, d in zip(scored, discarded.tolist()) if d)
    ov = overlaps(gt_geoms, pred_geoms[~discarded])

    gt_norm = [normalize(w.text, options.text) for w in care]
    base = Counts(
        images=1,
        missing_predictions=int(status == "missing"),
        errors=int(status == "error"),
        gt_care=len(care),
        gt_dont_care=len(dont_care),
        pred_total=len(items),
        below_min_score=below,
        no_geometry=no_geometry,
        pred_discarded=int(discarded.sum()),
        pred_care=len(kept),
        images_with_care=int(bool(care)),
    )
    per_threshold = []
    for k, threshold in enumerate(options.thresholds):
        g_idx, p_idx, ious = greedy_match(ov, threshold)
        correct = dist = chars = jamo_dist = jamo_chars = 0
        for g, p, iou in zip(g_idx.tolist(), p_idx.tolist(), ious.tolist()):
            item = items[kept[p]]
            pred_norm = normalize(item.text, options.text)
            ok = texts_match(care[g].text, item.text, options.text)
            d = edit_distance(gt_norm[g], pred_norm)
            gj = decompose_jamo(gt_norm[g])
            jd = edit_distance(gj, decompose_jamo(pred_norm))
            correct += ok
            dist += d
            chars += len(gt_norm[g])
            jamo_dist += jd
            jamo_chars += len(gj)
            if k == 0:
                rows.append(MatchRow(stem, "match", care[g].line, kept[p], iou, care[g].text, item.text,
                                     ok, d, jd, item.confidence))
        if k == 0:
            matched_g, matched_p = set(g_idx.tolist()), set(p_idx.tolist())
            rows.extend(MatchRow(stem, "missed", gt_line=w.line, gt_text=w.text)
                        for g, w in enumerate(care) if g not in matched_g)
            rows.extend(_pred_row(stem, "false", kept[p], items[kept[p]])
                        for p in range(len(kept)) if p not in matched_p)
        per_threshold.append(Counts(
            **{**base.__dict__, "tp": len(g_idx), "correct": correct, "edit_distance": dist,
               "gt_chars": chars, "jamo_distance": jamo_dist, "gt_jamo": jamo_chars,
               "accuracy_sum": correct / len(care) if care else 0.0}))
    return ImageEvaluation(stem, status, tuple(per_threshold), rows,
                           error=result.error if status == "error" else None)


def evaluate(
    gt: Mapping[str, Sequence[Word]],
    predictions: Mapping[str, ImageResult],
    options: EvalOptions = EvalOptions(),
    progress: Callable[[list[str]], Iterable[str]] | None = None,
) -> Evaluation:
    """Evaluate every gt image (rule 1); predictions for images without gt are reported, not scored.

    ``progress`` may wrap the list of stems (e.g. ``tqdm``) to show progress on large sets.
    """
    stems = sorted(gt)
    unknown = sorted(set(predictions) - set(gt))
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        log.warning("%d image(s) have predictions but no ground truth and are ignored: %s", len(unknown), shown)
    iterator = progress(stems) if progress is not None else stems
    images = [evaluate_image(stem, gt[stem], predictions.get(stem), options) for stem in iterator]
    return Evaluation(options, images, unknown)


def parse_thresholds(values: Iterable[float]) -> tuple[float, ...]:
    """Thresholds as given (first one is the headline), without repeats; each must be in [0, 1)."""
    out: list[float] = []
    for value in values:
        if not 0.0 <= value < 1.0:
            raise ValueError(f"IoU threshold must be in [0, 1), got {value}")
        if value not in out:
            out.append(float(value))
    return tuple(out) or (DEFAULT_IOU,)

