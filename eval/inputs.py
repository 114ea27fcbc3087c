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
from typing import Any, Callable, Iterable, Mapping, Sequence

from adapters.core.errors import InputError, excerpt
from adapters.core.schema import ResultSet
from eval.evaluate import EvalOptions, parse_thresholds
from eval.protocols import IOU
from eval.text import TextOptions
from gt.reader import DONT_CARE, Annotations, BadLine, Word, annotation_names, read_annotations

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
    annotations = read_annotations(gt_dir, dont_care=markers, skip_bad_lines=skip_bad_lines, unquote=text.icdar15)
    for bad in annotations.bad_lines:
        log.warning("skipped %s", bad)
    if not annotations.images:
        raise InputError(f"{gt_dir}: no ground-truth .txt files found")
    return EvalInputs(options, gt_dir, annotations, markers)


# --- predictions that cannot be what was meant ---------------------------------------------------

def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _collected_providers(folder: Path) -> list[str]:
    """Providers whose ``bench collect`` outputs (journal or results) are in ``folder``."""
    from adapters.providers.registry import names

    known = set(names())
    found = {p.name[:-len(".journal.jsonl")] for p in folder.glob("*.journal.jsonl")}
    found |= {p.stem for p in folder.glob("*.json") if p.stem in known}
    return sorted(found)


def check_predictions_path(path: Path, gt_dir: Path | None, option: str = "--api_res_json ") -> None:
    """Refuse predictions that are surely not what was meant, before anything is scored or written.

    The ground truth itself (same folder or zip as ``gt_dir``), a folder or zip of ``gt_`` files,
    a ``bench collect`` output folder, or an ICDAR-style folder or zip without a result file. A
    copy of the ground truth under another path and name (an oracle run) is fine: it scores 100 %.
    ``option`` is how the message spells the argument ("--api_res_json " or "" for bench report).
    """
    path = Path(path)
    if not path.exists():
        return  # load_results says so
    if gt_dir is not None and _same_path(path, Path(gt_dir)):
        raise InputError(f"{option}{path} is the ground truth itself (the same as --txt_gt_dir {gt_dir}); "
                         f"give the provider's results, e.g. {option}OUT/<provider>.json from bench collect")
    names = annotation_names(path)
    if names is None:
        return  # a JSON file
    if not names:
        collected = _collected_providers(path) if path.is_dir() else []
        if collected:
            wanted = " or ".join(f"{option}{path / (name + '.json')}" for name in collected)
            raise InputError(f"{option}{path} is a bench collect output folder, not a results file; "
                             f"did you mean {wanted}?")
        kind = "folder" if path.is_dir() else "zip"
        raise InputError(f"{option}{path}: an ICDAR-style predictions {kind} with no result file in it (no .txt "
                         f"file, e.g. res_<stem>.txt); did you mean another {kind}, or a results .json file?")
    if all(name.startswith("gt_") for name in names):
        raise InputError(f"{option}{path}: every file in it is named gt_<stem>.txt ({excerpt(names[0], 60)}, ...), "
                         f"so it is ground truth, not predictions; did you mean --txt_gt_dir {path}? "
                         "(ICDAR-style predictions are res_<stem>.txt or <stem>.txt)")


def check_predictions_match(results: ResultSet, gt: Mapping[str, Any], source: Path | str) -> None:
    """Refuse predictions none of whose image keys is a gt image (they would score as all missing)."""
    if not results.images or not gt or not set(results.images).isdisjoint(gt):
        return

    def some(keys: Iterable[str], n: int) -> str:
        keys = sorted(keys)
        return ", ".join(excerpt(k, 60) for k in keys[:3]) + (", ..." if n > 3 else "")

    raise InputError(f"{source}: none of its {len(results.images):,} image keys is one of the {len(gt):,} "
                     f"ground-truth images (predictions: {some(results.images, len(results.images))}; "
                     f"ground truth: {some(gt, len(gt))}); are these results for another data set?")


def load_predictions(path: Path, inputs: EvalInputs, option: str = "--api_res_json ") -> ResultSet:
    """``load_results`` behind the checks above (the key check only when there is ground truth)."""
    results = _checked_results(path, inputs.gt_dir, option)
    if inputs.gt_dir is not None:
        check_predictions_match(results, inputs.gt, path)
    return results


def _checked_results(path: Path, gt_dir: Path | None, option: str) -> ResultSet:
    """``load_results`` behind ``check_predictions_path``: what needs no gt read yet."""
    from adapters.providers.results import load_results

    check_predictions_path(path, gt_dir, option)
    return load_results(path)


def read_inputs_and_predictions(read_gt: Callable[[], EvalInputs], path: Path, gt_dir: Path | None,
                                option: str = "--api_res_json ") -> tuple[EvalInputs, ResultSet]:
    """``read_gt()`` then ``load_predictions(path, ...)``: the same values, log lines and errors,
    but the two read at once in two processes when ``eval.workers`` may fork, and otherwise the
    predictions first (their JSON document is freed before the gt is read: a lower peak)."""
    from eval.workers import run_both

    inputs, results = run_both(read_gt, lambda: _checked_results(path, gt_dir, option))
    if inputs.gt_dir is not None:
        check_predictions_match(results, inputs.gt, path)
    return inputs, results
