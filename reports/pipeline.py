"""``bench report`` from start to finish: read every run, evaluate each with the same inputs,
write the page and its files, and say what came out.

The order is the command's contract: every input (results, images, categories, a Korean
font) is checked before the first evaluation, so a bad input costs no evaluation time.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from adapters.core.atomic import staged
from adapters.core.errors import InputError
from eval.inputs import EvalInputs, check_predictions_match
from reports.eval_tables import brief
from reports.html import ReportFiles

log = logging.getLogger("bench")


@dataclass(frozen=True)
class ReportRequest:
    """What ``bench report`` was asked for besides the shared eval inputs (see its --help)."""

    results: Sequence[Path]
    out: Path
    images: Path | None = None
    categories: Path | None = None
    title: str = "Korean OCR comparison"
    resamples: int = 1000
    seed: int = 0
    worst: int = 3
    progress: bool = True
    prices: Path | None = None  # a user's price table (CSV or TOML)


def make_report(request: ReportRequest, inputs: EvalInputs, echo: Callable[[str], object] = print) -> ReportFiles:
    """Load, check, evaluate and write; ``echo`` gets one line per run saying how its input was used."""
    from adapters.core.images import discover
    from reports.breakdowns import report_categories
    from eval.workers import collecting_new_objects
    from reports.compare import evaluate_runs, load_runs
    from reports.fonts import hangul_font
    from reports.html import ReportInputs, write_report
    from reports.prices import read_prices

    if inputs.gt_dir is None:
        raise InputError("a report needs ground truth (--txt_gt_dir)")
    prices = read_prices(request.prices)
    runs = load_runs(request.results, inputs.gt_dir)
    for run in runs:
        check_predictions_match(run.results, inputs.gt, run.source)
    image_paths = {f.key: f.path for f in discover(request.images)} if request.images is not None else None
    if image_paths is not None and not set(image_paths) & set(inputs.gt):
        log.warning("%s: none of its images has ground truth (stems differ); no overlays will be drawn",
                    request.images)
    categories, category_source = report_categories(request.categories, request.images, image_paths, inputs.gt)
    font = hangul_font()  # before any work: a missing Korean font is an input problem, said up front
    for run in runs:
        echo(f"{run.label}: {run.given}: {run.how}")
    evaluate_runs(runs, inputs.gt, inputs.options, progress=request.progress)
    # every file of the report replaces its older version at the end, together; the plots make
    # cycles, collected without passes over the evaluations (frozen)
    with staged(), collecting_new_objects():
        return write_report(ReportInputs(runs, inputs.gt, inputs.options, inputs.gt_dir, title=request.title,
                                         images=image_paths, categories=categories, category_source=category_source,
                                         resamples=request.resamples, seed=request.seed, worst=request.worst,
                                         dont_care_markers=inputs.dont_care_markers, bad_lines=len(inputs.bad_lines),
                                         font_path=font, prices=prices), request.out)


def summary_lines(files: ReportFiles, iou: float) -> list[str]:
    """The closing lines: each provider's headline numbers at ``iou``, then what was written where."""
    assert files.comparison_data is not None
    lines = []
    for row in files.comparison_data.rows:
        latency = "" if row["latency_p50_ms"] is None else f", latency p50 {row['latency_p50_ms']:.0f} ms"
        lines.append(f"{row['provider']}: {brief(row)} (IoU {iou}, {row['images']} images){latency}")
    lines.append(f"wrote {files.html} and {files.comparison.name}, {len(files.breakdowns)} breakdown CSVs, "
                 f"{len(files.plots)} plots in {files.out}")
    return lines
