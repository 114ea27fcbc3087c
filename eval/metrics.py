"""Raw counts that add up over images, and the metrics derived from their sums.

Like jiwer, the core returns counts in a dataclass; every rate is computed once, from
counts summed over the whole set (micro averaging), so a dataset's score never depends
on how its images were batched.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Counts:
    """Everything the metrics need, for one image or summed over many."""

    images: int = 0
    missing_predictions: int = 0
    errors: int = 0
    gt_care: int = 0
    gt_dont_care: int = 0
    pred_total: int = 0
    below_min_score: int = 0
    no_geometry: int = 0
    pred_discarded: int = 0
    pred_care: int = 0
    tp: int = 0
    correct: int = 0
    edit_distance: int = 0
    gt_chars: int = 0
    jamo_distance: int = 0
    gt_jamo: int = 0
    images_with_care: int = 0
    accuracy_sum: float = 0.0  # sum over images with care gt of correct / gt_care (for the macro mean)

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


def ratio(numerator: float, denominator: float) -> float:
    """A rate whose denominator is 0 is 0 (an empty set scores nothing, rather than NaN)."""
    return numerator / denominator if denominator else 0.0


def hmean(precision: float, recall: float) -> float:
    return ratio(2 * precision * recall, precision + recall)


def detection(c: Counts) -> dict[str, float]:
    p, r = ratio(c.tp, c.pred_care), ratio(c.tp, c.gt_care)
    return {"tp": c.tp, "precision": p, "recall": r, "hmean": hmean(p, r)}


def end_to_end(c: Counts) -> dict[str, float]:
    p, r = ratio(c.correct, c.pred_care), ratio(c.correct, c.gt_care)
    return {"correct": c.correct, "precision": p, "recall": r, "hmean": hmean(p, r)}


def recognition(c: Counts) -> dict[str, float]:
    return {
        "accuracy_micro": ratio(c.correct, c.gt_care),
        "accuracy_macro": ratio(c.accuracy_sum, c.images_with_care),
        "accuracy_matched": ratio(c.correct, c.tp),
        "cer": ratio(c.edit_distance, c.gt_chars),
        "jamo_cer": ratio(c.jamo_distance, c.gt_jamo),
    }


def summary(c: Counts) -> dict[str, Any]:
    """The headline numbers in the layout of ``summary.json``."""
    return {
        "images": c.images,
        "gt_care": c.gt_care,
        "gt_dont_care": c.gt_dont_care,
        "pred_care": c.pred_care,
        "pred_total": c.pred_total,
        "pred_discarded": c.pred_discarded,
        "no_geometry": c.no_geometry,
        "below_min_score": c.below_min_score,
        "missing_predictions": c.missing_predictions,
        "errors": c.errors,
        "detection": detection(c),
        "end_to_end": end_to_end(c),
        "recognition": recognition(c),
    }
