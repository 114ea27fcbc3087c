"""``bench eval`` from start to finish: read the gt and the predictions, score, print, write.

Kept apart from ``reports.pipeline`` (``bench report``), whose page and plots need matplotlib:
``bench eval`` imports only what it uses.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from eval.inputs import EvalInputs


def run_eval(read_gt: Callable[[], EvalInputs], gt_dir: Path | None, predictions: Path, out: Path | None,
             progress: bool = True, echo: Callable[[str], object] = print) -> None:
    """``bench eval``: read the gt (``read_gt()``, from ``gt_dir``) and the predictions, score,
    print the table, write ``out``.

    The cyclic garbage collector is paused throughout: the graph of millions of objects holds no
    cycles, and its passes over them were a fifth of the time (a third on the sparse set)."""
    from adapters.core.progress import progress_bar
    from eval.inputs import read_inputs_and_predictions
    from eval.workers import evaluate_split, paused_gc
    from reports.eval_tables import format_table, write_evaluation, written_files

    with paused_gc():
        inputs, results = read_inputs_and_predictions(read_gt, predictions, gt_dir)
        with progress_bar(total=len(inputs.gt), desc="evaluating", unit="img", leave=False,
                          enabled=progress, min_items=500) as bar:
            evaluation = evaluate_split(inputs.gt, results.images, inputs.options, progress=bar.update)
        echo(format_table(evaluation, results.provider))
        if inputs.bad_lines:
            echo(f"skipped {len(inputs.bad_lines)} malformed gt line(s)")
        if out is not None:
            write_evaluation(out, evaluation, results.provider, inputs.provenance(predictions))
            echo(f"wrote {out}/{', '.join(written_files(evaluation))}")
