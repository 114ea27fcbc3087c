"""Korean OCR Bench command line: collect, evaluate and report OCR providers on Korean text.

Each command is a thin wrapper: it parses options, calls pure code in ``adapters/``,
``eval/``, ``gt/`` or ``reports/``, and turns typed errors into exit codes.

Exit codes: 0 ok; 1 unexpected internal error; 2 usage or input error; 3 the provider
rejected the credentials; 4 the provider's quota is exhausted; 5 collection finished but
some images failed; 130 interrupted (Ctrl-C).
"""
from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from adapters.errors import InputError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_AUTH = 3
EXIT_QUOTA = 4
EXIT_FAILURES = 5
EXIT_INTERRUPTED = 130

app = typer.Typer(
    help="Benchmark OCR providers on Korean text: collect, eval, report.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

log = logging.getLogger("bench")


@app.callback()
def main() -> None:
    """Korean OCR Bench: collect OCR results from providers, evaluate them on Korean ground
    truth, and report. Run `bench COMMAND --help` for a command's options and examples."""


class _StderrHandler(logging.StreamHandler):
    """Always writes to the current ``sys.stderr`` (which test runners and pipes may swap)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _setup_logging() -> None:
    if not log.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def cli_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the tool's typed errors into a one-line message and a documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _setup_logging()
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_INPUT) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


EVAL_EPILOG = """Examples:

  bench eval --api_res_json runs/x/naver.json --txt_gt_dir data/gt

  bench eval --api_res_json kakao.json --txt_gt_dir data/gt --ignore-space --out runs/kakao-eval

  bench eval --api_res_json res.zip --txt_gt_dir gt.zip --iou 0.5 --iou 0.7 --icdar15
"""


@app.command("eval", epilog=EVAL_EPILOG)
@cli_errors
def eval_command(
    api_res_json: Path = typer.Option(..., "--api_res_json", "--api-res-json", metavar="FILE",
                                      help="Predictions: a provider's raw results (naver.json, kakao.json, "
                                           "jenti.json, tesseract.json), the project's schema, or an ICDAR "
                                           "folder/zip of res_<stem>.txt files. The format is read from the content."),
    txt_gt_dir: Path = typer.Option(..., "--txt_gt_dir", "--txt-gt-dir", metavar="DIR",
                                    help="Ground truth: a folder or zip of <stem>.txt / gt_<stem>.txt files."),
    out: Optional[Path] = typer.Option(None, "--out", metavar="DIR",
                                       help="Write summary.json, per_image.csv, matches.csv and sweep.csv here."),
    iou: list[float] = typer.Option([0.5], "--iou", help="IoU threshold (a pair must be strictly above it). "
                                                       "Repeat for a sweep; the first one is the headline."),
    ignore_text: list[str] = typer.Option([], "--ignore-text", metavar="MARKER",
                                          help="Extra gt text that marks a don't-care region (### always does)."),
    skip_bad_lines: bool = typer.Option(False, "--skip-bad-lines",
                                        help="Report and skip malformed gt lines instead of stopping."),
    ignore_case: bool = typer.Option(False, "--ignore-case", help="Compare texts case-insensitively."),
    ignore_space: bool = typer.Option(False, "--ignore-space", help="Remove all white space before comparing "
                                                                   "(Kakao answers '가 자 미')."),
    ignore_punct: bool = typer.Option(False, "--ignore-punct", help="Remove Unicode punctuation before comparing."),
    icdar15: bool = typer.Option(False, "--icdar15", help="ICDAR 2015 text rule: upper-case both texts and forgive "
                                                         "one leading and one trailing !?.:,*\"()·[]/' in the gt."),
    min_score: Optional[float] = typer.Option(None, "--min-score", min=0.0, max=1.0,
                                              help="Drop predictions whose confidence is below this first."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on large sets."),
) -> None:
    """Score one provider's predictions against ground truth (detection, recognition, end to end).

    Matching is one-to-one by polygon IoU; the full protocol is in the README. Nothing is
    written unless every input reads cleanly (exit code 2 otherwise).
    """
    from tqdm import tqdm

    from adapters.formats import load_results
    from eval.evaluate import EvalOptions, evaluate, parse_thresholds
    from eval.text import TextOptions
    from gt.reader import DONT_CARE, read_annotations
    from reports.eval_tables import format_table, write_evaluation

    try:
        thresholds = parse_thresholds(iou)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    gt = read_annotations(txt_gt_dir, dont_care=(DONT_CARE, *ignore_text), skip_bad_lines=skip_bad_lines)
    for bad in gt.bad_lines:
        log.warning("skipped %s", bad)
    if not gt.images:
        raise InputError(f"{txt_gt_dir}: no ground-truth .txt files found")
    results = load_results(api_res_json)
    options = EvalOptions(
        thresholds=thresholds,
        text=TextOptions(ignore_case=ignore_case, ignore_space=ignore_space, ignore_punct=ignore_punct,
                         icdar15=icdar15),
        min_score=min_score,
    )
    with tqdm(total=len(gt.images), desc="evaluating", unit="img", leave=False,
              disable=not progress or len(gt.images) < 500) as bar:
        evaluation = evaluate(gt.images, results.images, options, progress=bar.update)
    typer.echo(format_table(evaluation, results.provider))
    if gt.bad_lines:
        typer.echo(f"skipped {len(gt.bad_lines)} malformed gt line(s)")
    if out is not None:
        write_evaluation(out, evaluation, results.provider,
                         {"bad_lines": len(gt.bad_lines), "predictions": str(api_res_json), "ground_truth": str(txt_gt_dir)})
        typer.echo(f"wrote {out}/summary.json, per_image.csv, matches.csv, sweep.csv")


if __name__ == "__main__":
    app()
