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
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from adapters.collection.outputs import OUTPUTS_HELP
from adapters.core.errors import AuthError, InputError, QuotaExhausted
from adapters.providers import registry
from adapters.serving.app import CALLING_HELP, ERRORS_HELP

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
    epilog="""Examples:

\b
  bench demo                                     # the whole pipeline on 30 synthetic images
  bench collect --provider naver --images data/images --out runs/naver
  bench eval --api_res_json runs/naver/naver.json --txt_gt_dir data/gt
  bench report runs/naver/naver.json runs/kakao/kakao.json --txt_gt_dir data/gt --out runs/report
""",
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
        except AuthError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_AUTH) from None
        except QuotaExhausted as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_QUOTA) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


# Options shared by every command that matches predictions to ground truth (eval, report, show).
GtDirOption = Annotated[Path, typer.Option("--txt_gt_dir", "--txt-gt-dir", metavar="DIR",
                                           help="Ground truth: a folder or zip of <stem>.txt / gt_<stem>.txt files.")]
IgnoreTextOption = Annotated[list[str], typer.Option("--ignore-text", metavar="MARKER",
                                                     help="Extra gt text that marks a don't-care region "
                                                          "(### always does).")]
IgnoreCaseOption = Annotated[bool, typer.Option("--ignore-case", help="Compare texts case-insensitively.")]
IgnoreSpaceOption = Annotated[bool, typer.Option("--ignore-space", help="Remove all white space before comparing "
                                                                        "(Kakao answers '가 자 미').")]
IgnorePunctOption = Annotated[bool, typer.Option("--ignore-punct",
                                                 help="Remove Unicode punctuation before comparing.")]
Icdar15Option = Annotated[bool, typer.Option("--icdar15", help="ICDAR 2015 text rule: upper-case both texts and "
                                                               "forgive one leading and one trailing "
                                                               "!?.:,*\"()·[]/' in the gt.")]
MinScoreOption = Annotated[Optional[float], typer.Option("--min-score", min=0.0, max=1.0,
                                                         help="Drop predictions whose confidence is below this first.")]


def _text_options(ignore_case: bool, ignore_space: bool, ignore_punct: bool, icdar15: bool) -> Any:
    from eval.text import TextOptions

    return TextOptions(ignore_case=ignore_case, ignore_space=ignore_space, ignore_punct=ignore_punct, icdar15=icdar15)


EVAL_EPILOG = """Examples:

\b
  bench eval --api_res_json runs/x/naver.json --txt_gt_dir data/gt
  bench eval --api_res_json kakao.json --txt_gt_dir data/gt --ignore-space --out runs/kakao-eval
  bench eval --api_res_json res.zip --txt_gt_dir gt.zip --iou 0.5 --iou 0.7 --icdar15
  bench eval --api_res_json samples/kr_docs_mini/res --txt_gt_dir samples/kr_docs_mini/gt
"""


@app.command("eval", epilog=EVAL_EPILOG)
@cli_errors
def eval_command(
    api_res_json: Path = typer.Option(..., "--api_res_json", "--api-res-json", metavar="FILE",
                                      help="Predictions: a provider's raw results (naver.json, kakao.json, "
                                           "jenti.json, tesseract.json), the project's schema, or an ICDAR "
                                           "folder/zip of res_<stem>.txt files. The format is read from the content."),
    txt_gt_dir: GtDirOption = ...,
    out: Optional[Path] = typer.Option(None, "--out", metavar="DIR",
                                       help="Write summary.json, per_image.csv, matches.csv and sweep.csv here."),
    iou: list[float] = typer.Option([0.5], "--iou", help="IoU threshold (a pair must be strictly above it). "
                                                       "Repeat for a sweep; the first one is the headline."),
    ignore_text: IgnoreTextOption = [],
    skip_bad_lines: bool = typer.Option(False, "--skip-bad-lines",
                                        help="Report and skip malformed gt lines instead of stopping."),
    ignore_case: IgnoreCaseOption = False,
    ignore_space: IgnoreSpaceOption = False,
    ignore_punct: IgnorePunctOption = False,
    icdar15: Icdar15Option = False,
    min_score: MinScoreOption = None,
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on large sets."),
) -> None:
    """Score one provider's predictions against ground truth (detection, recognition, end to end).

    Matching is one-to-one by polygon IoU; the full protocol is in the README. Nothing is
    written unless every input reads cleanly (exit code 2 otherwise).
    """
    from tqdm import tqdm

    from adapters.providers.results import load_results
    from eval.evaluate import EvalOptions, evaluate, parse_thresholds
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
        text=_text_options(ignore_case, ignore_space, ignore_punct, icdar15),
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
                         {"bad_lines": len(gt.bad_lines), "predictions": str(api_res_json.resolve()),
                          "ground_truth": str(txt_gt_dir.resolve())})
        typer.echo(f"wrote {out}/summary.json, per_image.csv, matches.csv, sweep.csv")


COLLECT_EPILOG = """Examples:

\b
  bench collect --provider tesseract --images runs/demo/data/images --out runs/x
  bench collect --provider naver --images data/images --out runs/naver --concurrency 8 --rps 5
  bench collect --provider kakao --images data/images --out runs/kakao --limit 20
  bench collect --provider naver --images data/images --out runs/naver --retry-failed
  bench collect --provider tesseract --images data/images --out runs/x --lang kor --psm 6

\b
Credentials come from the environment or from a .env file in the working directory:
""" + "".join(f"  {spec.name:<10} {spec.setup_help}\n" for spec in registry.all_specs()) + "\n" + OUTPUTS_HELP + """
\b
Exit codes: 0 all collected; 2 bad input, missing credentials, or another run writing to OUT;
3 credentials rejected; 4 quota exhausted (re-run when it resets); 5 finished but some images
failed; 130 Ctrl-C.
"""

ProviderName = Enum("ProviderName", {name: name for name in registry.names()}, type=str)


@app.command("collect", epilog=COLLECT_EPILOG)
@cli_errors
def collect_command(
    provider: ProviderName = typer.Option(..., "--provider", help="Which OCR service or engine to run."),
    images: Path = typer.Option(..., "--images", metavar="DIR",
                                help="Folder of images (jpg, jpeg, png, bmp, tif, tiff, webp; searched "
                                     "recursively). The file stem is the image's key."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Where outputs and the journal go (created)."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", min=1, metavar="N",
                                              help="Requests in flight at once [default: 4; local engines: usable CPUs]."),
    rps: Optional[float] = typer.Option(None, "--rps", min=0.001, metavar="R",
                                        help="Hard ceiling on requests per second, retries included."),
    limit: Optional[int] = typer.Option(None, "--limit", min=0, metavar="N",
                                        help="Send at most N images this run (in stem order), e.g. for a trial."),
    refresh: bool = typer.Option(False, "--refresh", help="Re-send every image, even those already collected."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Re-send images that failed in earlier runs."),
    lang: Optional[str] = typer.Option(None, "--lang", metavar="LANG", help=registry.option_help("lang")),
    psm: Optional[int] = typer.Option(None, "--psm", min=0, max=13, help=registry.option_help("psm")),
    det_model: Optional[Path] = typer.Option(None, "--det-model", metavar="FILE", help=registry.option_help("det_model")),
    rec_model: Optional[Path] = typer.Option(None, "--rec-model", metavar="FILE", help=registry.option_help("rec_model")),
    rec_keys: Optional[Path] = typer.Option(None, "--rec-keys", metavar="FILE", help=registry.option_help("rec_keys")),
    engine: Optional[str] = typer.Option(None, "--engine", metavar="MODULE:FACTORY", help=registry.option_help("engine")),
    engine_path: Optional[Path] = typer.Option(None, "--engine-path", metavar="DIR", help=registry.option_help("engine_path")),
    engine_option: Optional[list[str]] = typer.Option(None, "--engine-option", metavar="KEY=VALUE",
                                                      help=registry.option_help("engine_option")),
    timeout: float = typer.Option(60.0, "--timeout", min=0.1, metavar="S", help="Seconds to wait for one answer."),
    max_attempts: int = typer.Option(5, "--max-attempts", min=1, metavar="N",
                                     help="Attempts per image for transient errors (5xx, 429, timeouts, "
                                          "cut-off answers) before it is recorded as failed."),
    backoff: float = typer.Option(0.5, "--backoff", min=0.0, metavar="S",
                                  help="First retry delay; doubles per retry, capped at 30 s, with jitter. "
                                       "A Retry-After from the provider is always honoured."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on a terminal."),
) -> None:
    """Run every image of a folder through one provider and keep every raw response.

    Resumable and crash-safe: each finished image is journaled at once, so a re-run (after
    Ctrl-C, kill -9 or a quota stop) sends requests only for images not yet collected.
    Credentials are checked before anything else; secrets never appear in outputs or logs.
    """
    from adapters.collection.setup import collect_folder, collect_options, settings_for

    options = collect_options(provider.value, concurrency, progress, rps=rps, limit=limit, refresh=refresh,
                              retry_failed=retry_failed, timeout=timeout, max_attempts=max_attempts, backoff=backoff)
    settings = settings_for(provider.value, lang=lang, psm=psm, det_model=det_model, rec_model=rec_model,
                            rec_keys=rec_keys, engine=engine, engine_path=engine_path, engine_option=engine_option or None)
    summary = collect_folder(provider.value, images, out, options, settings, report=typer.echo)
    if summary.failed:
        typer.echo(f"{summary.failed} image(s) failed: see {summary.paths.runs}; "
                   f"run again with --retry-failed to re-send them", err=True)
        raise typer.Exit(EXIT_FAILURES)


SYNTH_EPILOG = """Examples:

  bench synth --out data/synth --images 30 --seed 0

  bench synth --out data/synth-big --images 2000 --seed 7 --no-progress

  bench synth --out data/synth --images 30 --seed 1 --overwrite

\b
Outputs in OUT:
  images/<category>/<stem>.jpg  Signboard, Goods, Traffic_Sign and book scenes
  gt/<stem>.txt                 x1,y1,...,x4,y4,text per word (TL, TR, BR, BL); ### = illegible
  categories.csv                stem,category (UTF-8 with BOM) for per-category reports

\b
Needs the Debian package fonts-nanum. The same --seed gives byte-identical files on the
same fonts and Pillow build; image i does not depend on --images.
"""


@app.command("synth", epilog=SYNTH_EPILOG)
@cli_errors
def synth_command(
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Folder to write the set into (created)."),
    images: int = typer.Option(30, "--images", metavar="N", help="How many images to generate."),
    seed: int = typer.Option(0, "--seed", metavar="S", help="Random seed (0 or more); same seed, same files."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace a set already in OUT (deletes only its gt/*.txt, "
                                        "images/*/*.jpg and categories.csv)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Generate synthetic Korean scene text with exact word-level ground truth.

    Signs, product labels, road signs and book pages drawn with several Nanum fonts, turned
    and put in perspective, with vertical text, noise, blur and JPEG artefacts. Every gt box
    is the word's measured ink box moved by the same transform as the pixels.
    """
    from gt.synth import write_set

    summary = write_set(out, images, seed, overwrite=overwrite, progress=progress)
    per_category = ", ".join(f"{name} {count}" for name, count in sorted(summary.per_category.items()))
    typer.echo(f"wrote {summary.images} images ({per_category}) with {summary.words} words "
               f"({summary.dont_care} ###, {summary.vertical} vertical) to {out} "
               f"in {summary.seconds:.1f} s")


EMULATE_EPILOG = """Examples:

\b
  bench emulate naver --port 8801 --gt data/gt --images data/images
  bench emulate kakao --port 8802 --engine --latency-ms 100
  bench emulate jenti --port 8803 --gt data/gt --fail-first 2
  bench emulate kakao --port 8802 --recorded ../shared/provider_samples
  bench emulate naver --port 8801 --gt data/gt --error-rate 0.1 --drop-rate 0.05 --quota 50 --seed 1

\b
Then, in another shell (the emulator prints the exact URL):
  export NAVER_OCR_URL=http://127.0.0.1:8801/custom/v1/1/emulator/general
  bench collect --provider naver --images data/images --out runs/emu

\b
Answers come from exactly one source: --gt (boxes scaled to the received image when --images
is given), --recorded (<stem>.json served byte for byte) or --engine (local Tesseract; the
default). Auth is checked against NAVER_OCR_SECRET / KAKAO_REST_API_KEY in this shell's
environment; when unset, any key is accepted. Binds 127.0.0.1 only. Ctrl-C stops it.
"""


EmulatedProvider = Enum("EmulatedProvider", {name: name for name in registry.names(registry.WEB)}, type=str)


@app.command("emulate", epilog=EMULATE_EPILOG)
@cli_errors
def emulate_command(
    provider: EmulatedProvider = typer.Argument(..., help="Which service's wire format to speak."),
    port: int = typer.Option(0, "--port", min=0, max=65535, metavar="P", help="Port on 127.0.0.1 (0 picks a free one)."),
    gt: Optional[Path] = typer.Option(None, "--gt", metavar="DIR", help="Answer from ground truth <stem>.txt files."),
    images: Optional[Path] = typer.Option(None, "--images", metavar="DIR",
                                          help="With --gt: the original images, to scale boxes to the size received."),
    recorded: Optional[Path] = typer.Option(None, "--recorded", metavar="DIR",
                                            help="Answer with recorded provider bodies <stem>.json, verbatim."),
    engine: bool = typer.Option(False, "--engine", help="Answer by running local Tesseract on the received image."),
    lang: str = typer.Option("kor+eng", "--lang", metavar="LANG", help="With --engine: Tesseract languages."),
    psm: int = typer.Option(11, "--psm", min=0, max=13, metavar="N", help="With --engine: page segmentation mode."),
    error_rate: float = typer.Option(0.0, "--error-rate", min=0.0, max=1.0, metavar="R", help="Share answered 500/503."),
    rate_limit_rate: float = typer.Option(0.0, "--rate-limit-rate", min=0.0, max=1.0, metavar="R",
                                          help="Share answered 429 with Retry-After."),
    retry_after: float = typer.Option(1.0, "--retry-after", min=0.0, metavar="S", help="Seconds sent in Retry-After."),
    drop_rate: float = typer.Option(0.0, "--drop-rate", min=0.0, max=1.0, metavar="R",
                                    help="Share whose connection is closed without an answer."),
    truncate_rate: float = typer.Option(0.0, "--truncate-rate", min=0.0, max=1.0, metavar="R",
                                        help="Share answered 200 with the JSON cut in half."),
    quota: Optional[int] = typer.Option(None, "--quota", min=0, metavar="N",
                                        help="After N successful answers, every request gets the quota error."),
    latency_ms: float = typer.Option(0.0, "--latency-ms", min=0.0, metavar="MS", help="Added before every answer."),
    fail_first: int = typer.Option(0, "--fail-first", min=0, metavar="N",
                                   help="The first N requests for each image get a 503."),
    seed: int = typer.Option(0, "--seed", metavar="S", help="Seed of the fault draws (same seed, same faults in order)."),
) -> None:
    """Run a loopback emulator of an OCR web service (for demos and tests), until Ctrl-C.

    It checks the auth header, validates requests and answers in the service's own format,
    including its error bodies, with optional fault injection.
    """
    from adapters.emulators.session import emulate
    from adapters.providers.registry import Settings

    emulate(provider.value, port, typer.echo, gt=gt, images=images, recorded=recorded, use_engine=engine,
            engine=registry.get("tesseract"), settings=Settings(lang=lang, psm=psm),
            error_rate=error_rate, rate_limit_rate=rate_limit_rate, retry_after=retry_after, drop_rate=drop_rate,
            truncate_rate=truncate_rate, quota=quota, latency_ms=latency_ms, fail_first=fail_first, seed=seed)


REPORT_EPILOG = """Examples:

\b
  bench report runs/naver/naver.json runs/kakao/kakao.json --txt_gt_dir data/gt --out runs/report
  bench report runs/psm11/tesseract.normalized.json runs/psm6/tesseract.normalized.json \\
      --txt_gt_dir synth/gt --images synth/images --out runs/report --title "Tesseract PSM 11 vs 6"
  bench report runs/naver-eval runs/kakao/kakao.json --txt_gt_dir data/gt \\
      --categories data/categories.csv --ignore-space --out runs/report

\b
RESULT is a results file or folder as `bench eval --api_res_json` reads it, or an output folder
of `bench eval --out` (it holds summary.json): its recorded predictions are re-evaluated with
this report's options, so every provider is scored the same way.

\b
Outputs in OUT:
  report.html                   one self-contained page (plots and overlays embedded; opens offline)
  comparison.csv                one row per provider: metrics with 95% bootstrap intervals,
                                latency p50/p95 (from <provider>.runs.csv next to the results),
                                API cost per 1,000 images (reports/prices.py)
  breakdown_<name>.csv          category (with --categories or category sub-folders of --images),
                                orientation, length, size
  plot_*.png                    the figures of the page
  eval/<provider>/              what `bench eval --out` writes, for each provider
"""


@app.command("report", epilog=REPORT_EPILOG)
@cli_errors
def report_command(
    results: list[Path] = typer.Argument(..., metavar="RESULT...",
                                         help="Results files/folders, or `bench eval --out` folders; one per provider."),
    txt_gt_dir: GtDirOption = ...,
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Where the report goes (created)."),
    images: Optional[Path] = typer.Option(None, "--images", metavar="DIR",
                                          help="The images: overlays of the worst images, and categories from "
                                               "their sub-folders (images/<category>/<stem>.jpg)."),
    categories: Optional[Path] = typer.Option(None, "--categories", metavar="FILE",
                                              help="A stem,category CSV (e.g. categories.csv); wins over sub-folders."),
    iou: list[float] = typer.Option([0.5], "--iou", help="Headline IoU threshold (the first one); 0.1 to 0.9 are "
                                                       "always evaluated for the sweep plot."),
    title: str = typer.Option("Korean OCR comparison", "--title", metavar="T", help="Title of the HTML page."),
    ignore_text: IgnoreTextOption = [],
    skip_bad_lines: bool = typer.Option(False, "--skip-bad-lines", help="Skip malformed gt lines instead of stopping."),
    ignore_case: IgnoreCaseOption = False,
    ignore_space: IgnoreSpaceOption = False,
    ignore_punct: IgnorePunctOption = False,
    icdar15: Icdar15Option = False,
    min_score: MinScoreOption = None,
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, metavar="N",
                                  help="Bootstrap resamples over images for the intervals (0: none)."),
    seed: int = typer.Option(0, "--seed", min=0, metavar="S", help="Seed of the bootstrap (same seed, same intervals)."),
    worst: int = typer.Option(3, "--worst", min=0, metavar="N", help="Worst images shown per provider."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars on large sets."),
) -> None:
    """Compare providers: comparison.csv, breakdowns, plots and one self-contained report.html.

    Every provider is evaluated with the same protocol (the one of `bench eval`, README
    "Protocol"); the numbers in comparison.csv equal `bench eval` on the same inputs.
    """
    from adapters.core.images import discover
    from eval.evaluate import EvalOptions, parse_thresholds
    from gt.reader import DONT_CARE, read_annotations
    from reports import breakdowns
    from reports.compare import evaluate_runs, load_runs
    from reports.fonts import hangul_font
    from reports.html import SWEEP, ReportInputs, write_report

    from reports.eval_tables import brief, check_out_dir

    check_out_dir(out)
    try:
        thresholds = parse_thresholds([*iou, *SWEEP])
    except ValueError as exc:
        raise InputError(str(exc)) from None
    markers = (DONT_CARE, *ignore_text)
    gt = read_annotations(txt_gt_dir, dont_care=markers, skip_bad_lines=skip_bad_lines)
    for bad in gt.bad_lines:
        log.warning("skipped %s", bad)
    if not gt.images:
        raise InputError(f"{txt_gt_dir}: no ground-truth .txt files found")
    runs = load_runs(results, txt_gt_dir)
    image_paths = {f.key: f.path for f in discover(images)} if images is not None else None
    if image_paths is not None and not set(image_paths) & set(gt.images):
        log.warning("%s: none of its images has ground truth (stems differ); no overlays will be drawn", images)
    category_map, category_source = None, ""
    if categories is not None:
        category_map, category_source = breakdowns.read_categories(categories), f"from {categories}"
    elif images is not None:
        category_map = breakdowns.categories_from_folders(images, image_paths.items()) or None
        category_source = f"sub-folders of {images}" if category_map else ""
    if category_map:
        unknown = [stem for stem in gt.images if stem not in category_map]
        if unknown:
            log.warning("%d gt image(s) have no category (counted as %s), e.g. %s", len(unknown),
                        breakdowns.UNCATEGORISED, unknown[0])
    font = hangul_font()  # before any work: a missing Korean font is an input problem, said up front
    options = EvalOptions(thresholds=thresholds,
                          text=_text_options(ignore_case, ignore_space, ignore_punct, icdar15),
                          min_score=min_score)
    for run in runs:
        typer.echo(f"{run.label}: {run.given}: {run.how}")
    evaluate_runs(runs, gt.images, options, progress=progress)
    inputs = ReportInputs(runs, gt.images, options, txt_gt_dir, title=title, images=image_paths,
                          categories=category_map, category_source=category_source, resamples=bootstrap,
                          seed=seed, worst=worst, dont_care_markers=markers, bad_lines=len(gt.bad_lines),
                          font_path=font)
    files = write_report(inputs, out)
    assert files.comparison_data is not None
    for row in files.comparison_data.rows:
        latency = "" if row["latency_p50_ms"] is None else f", latency p50 {row['latency_p50_ms']:.0f} ms"
        typer.echo(f"{row['provider']}: {brief(row)} (IoU {thresholds[0]}, {row['images']} images){latency}")
    typer.echo(f"wrote {files.html} and {files.comparison.name}, {len(files.breakdowns)} breakdown CSVs, "
               f"{len(files.plots)} plots in {out}")


SHOW_EPILOG = """Examples:

\b
  bench show --images data/images --api_res_json runs/naver/naver.json --out runs/show
  bench show --images data/images --api_res_json kakao.json --txt_gt_dir data/gt --out runs/show --only-errors
  bench show --images runs/demo/data/images --provider tesseract --txt_gt_dir runs/demo/data/gt --out runs/show

\b
One PNG per image, OUT/<stem>.png. Without ground truth every prediction is purple with its text.
With --txt_gt_dir (matching at --iou, as in bench eval): green = matched and read right,
orange = matched but the text is wrong ("read ≠ gt"), red = gt word missed, blue = false
prediction, grey = ignored (don't-care regions and predictions they discard). A legend
strip under the image counts each colour.

\b
--provider runs the collector first (credentials as for bench collect), storing
OUT/<provider>.json, .normalized.json, .runs.csv and the journal: a second run reuses them.
Needs a Korean font through fontconfig (Debian: apt-get install fonts-nanum).
"""


@app.command("show", epilog=SHOW_EPILOG)
@cli_errors
def show_command(
    images: Path = typer.Option(..., "--images", metavar="DIR", help="Folder of images (searched recursively)."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Where the overlay PNGs go (created)."),
    api_res_json: Optional[Path] = typer.Option(None, "--api_res_json", "--api-res-json", metavar="FILE",
                                                help="Predictions in any form bench eval reads."),
    provider: Optional[ProviderName] = typer.Option(None, "--provider",
                                                    help="Instead of --api_res_json: collect with this provider "
                                                         "first (stored in OUT, reused on the next run)."),
    txt_gt_dir: Optional[Path] = typer.Option(None, "--txt_gt_dir", "--txt-gt-dir", metavar="DIR",
                                              help="Ground truth, to colour items by what matching made of them."),
    only_errors: bool = typer.Option(False, "--only-errors",
                                     help="Only images with a missed, false or wrong-text item, or a provider error "
                                          "(needs --txt_gt_dir)."),
    iou: float = typer.Option(0.5, "--iou", help="IoU threshold for matching (strictly above)."),
    ignore_text: IgnoreTextOption = [],
    ignore_case: IgnoreCaseOption = False,
    ignore_space: IgnoreSpaceOption = False,
    ignore_punct: IgnorePunctOption = False,
    icdar15: Icdar15Option = False,
    min_score: MinScoreOption = None,
    labels: bool = typer.Option(True, "--labels/--no-labels", help="Draw the texts next to the boxes."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Draw a provider's boxes and texts on each image (and, with ground truth, what was right or wrong)."""
    from tqdm import tqdm

    from adapters.providers.results import load_results
    from adapters.core.images import discover
    from eval.evaluate import EvalOptions, parse_thresholds
    from gt.reader import DONT_CARE, read_annotations
    from reports.fonts import hangul_font
    from reports.overlay import build_overlay, load_image, render

    if (api_res_json is None) == (provider is None):
        raise InputError("give exactly one of --api_res_json FILE or --provider NAME")
    if only_errors and txt_gt_dir is None:
        raise InputError("--only-errors needs --txt_gt_dir (errors are defined against ground truth)")
    try:
        thresholds = parse_thresholds([iou])
    except ValueError as exc:
        raise InputError(str(exc)) from None
    font = hangul_font()
    found = discover(images)
    gt = None
    if txt_gt_dir is not None:
        gt = read_annotations(txt_gt_dir, dont_care=(DONT_CARE, *ignore_text)).images
        if not gt:
            raise InputError(f"{txt_gt_dir}: no ground-truth .txt files found")
    failed = 0
    if provider is not None:
        results, failed = _collect_for_show(provider.value, found, out, progress)
    else:
        results = load_results(api_res_json)
    options = EvalOptions(thresholds=thresholds, min_score=min_score,
                          text=_text_options(ignore_case, ignore_space, ignore_punct, icdar15))
    keys = {f.key for f in found}
    stray = sorted(set(results.images) - keys)
    if stray:
        log.warning("%d result(s) have no image under %s and are not drawn, e.g. %s", len(stray), images, stray[0])
    out.mkdir(parents=True, exist_ok=True)
    written = skipped_clean = no_gt = no_result = 0
    for image in tqdm(found, desc="drawing", unit="img", disable=not progress or len(found) < 20):
        words = None
        if gt is not None:
            words = gt.get(image.key)
            if words is None:
                no_gt += 1
                continue
        result = results.images.get(image.key)
        if result is None and words is None:
            no_result += 1
            continue
        overlay = build_overlay(image.key, result, words, options)
        if only_errors and not overlay.has_errors:
            skipped_clean += 1
            continue
        try:
            picture = load_image(image.path)
        except OSError as exc:
            raise InputError(f"{image.path}: cannot read the image ({exc})") from None
        render(picture, overlay, font, labels=labels).save(out / f"{image.key}.png")
        written += 1
    notes = [f"{n} {what}" for n, what in ((skipped_clean, "without errors skipped"), (no_gt, "without gt skipped"),
                                           (no_result, "without a result skipped")) if n]
    typer.echo(f"wrote {written} overlay(s) to {out}" + (f" ({'; '.join(notes)})" if notes else ""))
    if failed:
        typer.echo(f"{failed} image(s) failed to collect; they are drawn with the error", err=True)
        raise typer.Exit(EXIT_FAILURES)


def _collect_for_show(name: str, found: list[Any], out: Path, progress: bool) -> tuple[Any, int]:
    """Run the collector for ``bench show --provider`` (stored in OUT, reused on re-runs)."""
    from adapters.collection.setup import collect_for_show

    return collect_for_show(name, found, out, progress, report=typer.echo)


gt_app = typer.Typer(
    help="Ground truth: convert public data sets into gt folders (bench gt COMMAND --help).",
    no_args_is_help=True,
    rich_markup_mode=None,
    epilog="""Examples:

\b
  bench gt aihub --aihub ~/data/textinthewild --out data/aihub_test
""",
)
app.add_typer(gt_app, name="gt")

GT_AIHUB_EPILOG = """Examples:

\b
  bench gt aihub --aihub ~/data/textinthewild --out data/aihub_test
  bench gt aihub --aihub ~/data/textinthewild --out data/aihub_test --link
  bench gt aihub --aihub ~/data/textinthewild --list my_split.txt --out data/my_split
  bench gt aihub --aihub ~/data/textinthewild --all --out data/aihub_all --no-progress
  bench gt aihub --aihub ~/data/images --annotations ~/data/textinthewild_data_info.json --out data/aihub_test

\b
Inputs:
  DIR/textinthewild_data_info.json   AI-Hub's annotations (or --annotations FILE); streamed, never
                                     loaded whole; every record is checked
  DIR/**/<file_name>                 the images, found by file name in any folder under DIR
                                     (Goods/, Signboard/, Traffic_Sign/, book/ as unpacked)
  --list FILE                        one Category/FILE.jpg per line; default: the shipped
                                     9,886-image Light-OCR test split (its "Singboard" is the
                                     Signboard folder: entries match by file name)

\b
Outputs in OUT:
  images/<category>/<file>  copies (or links with --link) of the converted images
  gt/<stem>.txt             x1,y1,...,x4,y4,text per word, TL, TR, BR, BL; ### = don't care
  categories.csv            stem,category (UTF-8 with BOM) for per-category reports
  left_out.csv              file_name,category,reason for split images not converted

\b
Words become the minimum-area rectangle around their characters (5 px margin), or their own
box without characters; ignored regions and null texts become ###; empty texts and empty
boxes are skipped and counted. The rules and their sources are in gt/aihub.py.

\b
Exit codes: 0 converted (split images that are missing or empty are reported, not fatal);
2 bad input: invalid JSON or record (the message names it and its byte offset), missing
folder or file, OUT not empty without --overwrite, or nothing to convert.
"""


@gt_app.command("aihub", epilog=GT_AIHUB_EPILOG)
@cli_errors
def gt_aihub_command(
    aihub: Path = typer.Option(..., "--aihub", metavar="DIR",
                               help="The unpacked AI-Hub Text in the Wild folder (annotation file and image folders)."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Folder to write the converted set into (created)."),
    annotations: Optional[Path] = typer.Option(None, "--annotations", metavar="FILE",
                                               help="The annotation file, when it is not DIR/textinthewild_data_info.json."),
    split_list: Optional[Path] = typer.Option(None, "--list", metavar="FILE",
                                              help="Images to convert, one Category/FILE.jpg per line "
                                                   "[default: the shipped 9,886-image test split]."),
    all_images: bool = typer.Option(False, "--all", help="Convert every image of the annotation file instead of a list."),
    link: bool = typer.Option(False, "--link/--copy",
                              help="Hard-link the images (symlink across file systems) instead of copying them."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace a set already in OUT (deletes only its gt/*.txt, image files "
                                        "under images/, categories.csv and left_out.csv)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Convert AI-Hub "Text in the Wild" annotations into images/, gt/ and categories.csv.

    Reproduces the conversion of Light-OCR's evaluation (its make_dataset.py), with
    clearer errors and a report of every image left out.
    """
    from gt.aihub import AihubOptions, convert_aihub, format_summary

    summary = convert_aihub(AihubOptions(aihub=aihub, out=out, annotations=annotations, split_list=split_list,
                                         all_images=all_images, link=link, overwrite=overwrite, progress=progress))
    typer.echo(format_summary(summary))


DEMO_EPILOG = """Examples:

\b
  bench demo                                 # 30 images, report in runs/demo/report
  bench demo --images 5 --out /tmp/demo

\b
Steps (each is an ordinary bench command, printed before it runs):
  1. bench synth     -> OUT/data (images, gt, categories.csv)
  2. bench collect   tesseract with --psm 11 (sparse text) and --psm 6 (one block),
                     then naver, kakao and jenti for each whose credentials are set
                     (environment or .env); a provider that stops early is reported
                     with what it collected
  3. bench report    -> OUT/report/report.html comparing every provider collected
Re-running resumes: images already collected are not sent again.
"""



@app.command("demo", epilog=DEMO_EPILOG)
@cli_errors
def demo_command(
    out: Path = typer.Option(Path("runs/demo"), "--out", metavar="DIR", help="Where everything goes."),
    images: int = typer.Option(30, "--images", min=1, metavar="N", help="How many synthetic images."),
    seed: int = typer.Option(7, "--seed", metavar="S", help="Seed of the synthetic set."),
) -> None:
    """The whole pipeline on a built-in default: synth -> collect -> report, then print the report's path."""
    from adapters.collection.demo import StepFailed, run_demo

    try:
        report = run_demo(out, images, seed, lambda line: typer.echo(line, err=True),
                          tolerated=(EXIT_AUTH, EXIT_QUOTA, EXIT_FAILURES))
    except StepFailed as exc:
        raise typer.Exit(exc.code) from None
    typer.echo(f"report: {report}")


SERVE_EPILOG = """Examples:

\b
  bench serve                                   # http://127.0.0.1:5000, one engine process per usable CPU
  bench serve --port 8080 --workers 2 --max-upload-mb 10
  bench serve --host 0.0.0.0 --port 5000        # reachable from other machines (no authentication!)
  bench serve --lang kor --psm 6 --max-pixels 20000000

""" + CALLING_HELP + """
\b
Benchmark it like any web provider:
  export JENTI_OCR_URL=http://127.0.0.1:5000/evaluation
  bench collect --provider jenti --images data/images --out runs/self-hosted

""" + ERRORS_HELP


ServeEngine = Enum("ServeEngine", {spec.name: spec.name for spec in registry.engines()}, type=str)


@app.command("serve", epilog=SERVE_EPILOG)
@cli_errors
def serve_command(
    engine: ServeEngine = typer.Option(ServeEngine("tesseract"), "--engine", help="The local OCR engine to serve."),
    host: str = typer.Option("127.0.0.1", "--host", metavar="ADDR",
                             help="Address to listen on; 0.0.0.0 (or ::) makes it reachable from other machines."),
    port: int = typer.Option(5000, "--port", min=0, max=65535, metavar="P", help="Port (0 picks a free one)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, metavar="N",
                                          help="Engine processes at once; further requests queue [default: CPUs usable here]."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, metavar="N",
                                          help="Requests handled at once [default: 8 x workers, at most 16, at least workers + 2]."),
    connection_limit: int = typer.Option(100, "--connection-limit", min=1, metavar="N",
                                         help="Open connections at once; more wait in the listen backlog."),
    max_upload_mb: float = typer.Option(20.0, "--max-upload-mb", min=0.001, metavar="MB",
                                        help="Largest request body accepted (413 above it)."),
    max_pixels: int = typer.Option(50_000_000, "--max-pixels", min=1, metavar="N",
                                   help="Largest image accepted, in pixels (413 above it; decompression bombs)."),
    lang: str = typer.Option("kor+eng", "--lang", metavar="LANG", help="Tesseract language models."),
    psm: int = typer.Option(11, "--psm", min=0, max=13, metavar="N",
                            help="Tesseract page segmentation mode [default: 11, sparse text]."),
    timeout: float = typer.Option(60.0, "--timeout", min=0.1, metavar="S",
                                  help="Seconds the engine may spend on one image (504 after)."),
) -> None:
    """Serve the Light-OCR API (POST /evaluation) and a lossless /v1/ocr over the local engine.

    A production WSGI server (waitress) with bounded request threads, connections, upload size
    and engine processes, so a burst of uploads queues instead of exhausting memory. Point
    `bench collect --provider jenti` at it to benchmark the self-hosted engine like a web API.
    """
    from adapters.providers.registry import Settings
    from adapters.serving.app import Limits
    from adapters.serving.run import ServeOptions, open_server, serve_forever

    server = open_server(registry.get(engine.value), registry.get("jenti"), Settings(lang=lang, psm=psm),
                         ServeOptions(host=host, port=port, connection_limit=connection_limit),
                         Limits(max_upload_bytes=int(max_upload_mb * 1024 * 1024), max_pixels=max_pixels),
                         workers=workers, threads=threads, timeout=timeout)
    serve_forever(server, typer.echo)


if __name__ == "__main__":
    app()
