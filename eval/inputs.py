"""The inputs every scoring command shares (``bench eval``, ``report`` and ``show``), read once.

Ground truth, its don't-care markers, the IoU thresholds, the text rules and the confidence
floor decide the numbers together. One function turns the command line's values into one
checked ``EvalInputs``, so the three commands cannot drift apart (``show`` once lost
``--skip-bad-lines`` that way) and a test can build the inputs without a subprocess.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from adapters.core.errors import InputError
from eval.evaluate import EvalOptions, parse_thresholds
from eval.protocols import IOU
from eval.text import TextOptions
from gt.reader import DONT_CARE, Annotations, BadLine, Word, read_annotations

log = logging.getLogger("bench")


@dataclass(frozen=True)
class EvalInputs:
    """Checked ground truth and the options to score against it."""

    options: EvalOptions
    gt_dir: Path | None = None  # None: no ground truth was given (bench show then draws predictions only)
    annotations: Annotations = field(default_factory=Annotations)
    dont_care_markers: tuple[str, ...] = (DONT_CARE,)

    @property
    def gt(self) -> dict[str, list[Word]]:
        """Words per image stem (empty without ground truth)."""
        return self.annotations.images

    @property
    def bad_lines(self) -> list[BadLine]:
        return self.annotations.bad_lines

    def provenance(self, predictions: Path) -> dict[str, Any]:
        """What ``summary.json`` records about where its numbers came from."""
        return {"bad_lines": len(self.bad_lines), "predictions": str(predictions.resolve()),
                "ground_truth": str(self.gt_dir.resolve()) if self.gt_dir is not None else None}


def read_eval_inputs(gt_dir: Path | None, iou: Iterable[float], *, ignore_text: Sequence[str] = (),
                     skip_bad_lines: bool = False, text: TextOptions = TextOptions(),
                     min_score: float | None = None, protocol: str = IOU) -> EvalInputs:
    """Check the thresholds (the first is the headline) and the protocol, then read the gt folder or zip.

    A bad threshold or protocol name, a malformed gt line (unless ``skip_bad_lines``) or a gt
    without any ``.txt`` file is an ``InputError``: nothing is scored on inputs that did not read
    cleanly.
    Each skipped line is logged, since the warning is the only trace of a word left out.
    """
    try:
        options = EvalOptions(thresholds=parse_thresholds(iou), text=text, min_score=min_score, protocol=protocol)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    markers = (DONT_CARE, *ignore_text)
    if gt_dir is None:
        return EvalInputs(options, dont_care_markers=markers)
    annotations = read_annotations(gt_dir, dont_care=markers, skip_bad_lines=skip_bad_lines)
    for bad in annotations.bad_lines:
        log.warning("skipped %s", bad)
    if not annotations.images:
        raise InputError(f"{gt_dir}: no ground-truth .txt files found")
    return EvalInputs(options, gt_dir, annotations, markers)
