"""``bench show``: one overlay PNG per image, and an account of the images not drawn.

The drawing itself is ``reports.overlay``; this module decides which images get one (those
with ground truth when it is given, those with errors under ``--only-errors``) and counts
the rest, so the closing line says why an image has no PNG.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from adapters.core.atomic import ensure_folder, write_bytes_atomic
from adapters.core.errors import InputError
from adapters.core.images import ImageFile
from adapters.core.schema import ImageResult
from eval.inputs import EvalInputs
from reports.overlay import build_overlay, encode, load_image, render

log = logging.getLogger("bench")


@dataclass
class ShowSummary:
    """How many overlays were written to ``out``, and how many images were skipped for each reason."""

    out: Path
    written: int = 0
    skipped_clean: int = 0
    no_gt: int = 0
    no_result: int = 0

    def __str__(self) -> str:
        notes = [f"{n} {what}" for n, what in ((self.skipped_clean, "without errors skipped"),
                                               (self.no_gt, "without gt skipped"),
                                               (self.no_result, "without a result skipped")) if n]
        return f"wrote {self.written} overlay(s) to {self.out}" + (f" ({'; '.join(notes)})" if notes else "")


def draw_overlays(folder: Path, found: Sequence[ImageFile], results: Mapping[str, ImageResult], inputs: EvalInputs,
                  out: Path, font_path: str, *, only_errors: bool = False, labels: bool = True,
                  progress: bool = True) -> ShowSummary:
    """Write ``out/<stem>.png`` for the images ``found`` under ``folder``.

    With ground truth (``inputs.gt_dir``) only gt images are drawn, coloured by what matching
    made of each item; results without an image are only warned about.
    """
    from adapters.core.progress import progress_bar

    gt = inputs.gt if inputs.gt_dir is not None else None
    stray = sorted(set(results) - {f.key for f in found})
    if stray:
        log.warning("%d result(s) have no image under %s and are not drawn, e.g. %s", len(stray), folder, stray[0])
    ensure_folder(out)
    summary = ShowSummary(out)
    for image in progress_bar(found, desc="drawing", unit="img", enabled=progress, min_items=20):
        words = None
        if gt is not None:
            words = gt.get(image.key)
            if words is None:
                summary.no_gt += 1
                continue
        result = results.get(image.key)
        if result is None and words is None:
            summary.no_result += 1
            continue
        overlay = build_overlay(image.key, result, words, inputs.options)
        if only_errors and not overlay.has_errors:
            summary.skipped_clean += 1
            continue
        try:
            picture = load_image(image.path)
        except OSError as exc:
            raise InputError(f"{image.path}: cannot read the image ({exc})") from None
        write_bytes_atomic(out / f"{image.key}.png", encode(render(picture, overlay, font_path, labels=labels)))
        summary.written += 1
    return summary
