"""Korean OCR Bench command line: collect, evaluate and report OCR providers on Korean text.

Each command parses its options, calls ``adapters/``, ``eval/``, ``gt/`` or ``reports/`` and prints;
``cli/`` turns typed errors into the documented exit codes and holds the help pages.
"""
from __future__ import annotations

import logging
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from adapters.collection.outputs import OUTPUTS_HELP
from adapters.core.errors import InputError
from adapters.providers import registry
from adapters.serving.app import CALLING_HELP, ERRORS_HELP
from cli.errors import (EXIT_AUTH, EXIT_FAILURES, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK,  # noqa: F401
                        EXIT_QUOTA, cli_errors)
from cli.help import epilog

app = typer.Typer(help="Benchmark OCR providers on Korean text: collect, eval, report.", no_args_is_help=True,
                  add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False, epilog=epilog("bench"))
log = logging.getLogger("bench")


def _print_version(value: bool) -> None:
    if value:
        from cli.errors import version_lines

        typer.echo("\n".join(version_lines(registry.engine_versions(registry.names(registry.LOCAL)))))
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                      help="Print the version and the local engines found, then exit.")) -> None:
    """Korean OCR Bench: collect OCR results from providers, evaluate them on Korean ground
    truth, and report. Run `bench COMMAND --help` for a command's options and examples."""


# Options shared by the commands that match predictions to ground truth (eval, report, show).
GtDirOption = Annotated[Path, typer.Option("--txt_gt_dir", "--txt-gt-dir", metavar="DIR",
                                           help="Ground truth: a folder or zip of <stem>.txt / gt_<stem>.txt files.")]
IgnoreTextOption = Annotated[list[str], typer.Option("--ignore-text", metavar="MARKER", help="Extra gt text that "
                                                     "marks a don't-care region (### always does).")]
SkipBadLinesOption = Annotated[bool, typer.Option("--skip-bad-lines",
                                                  help="Report and skip malformed gt lines instead of stopping.")]
IgnoreCaseOption = Annotated[bool, typer.Option("--ignore-case", help="Compare texts case-insensitively.")]
IgnoreSpaceOption = Annotated[bool, typer.Option("--ignore-space", help="Remove all white space before comparing "
                                                                        "(Kakao answers '가 자 미').")]
IgnorePunctOption = Annotated[bool, typer.Option("--ignore-punct", help="Remove Unicode punctuation before comparing.")]
Icdar15Option = Annotated[bool, typer.Option("--icdar15", help="ICDAR 2015 text rule: remove \"...\" quoting, "
                                             "upper-case both texts and forgive one leading and one trailing "
                                             "!?.:,*\"()·[]/' in the gt.")]
MinScoreOption = Annotated[Optional[float], typer.Option("--min-score", min=0.0, max=1.0,
                                                         help="Drop predictions whose confidence is below this first.")]
PricesOption = Annotated[Optional[Path], typer.Option("--prices", metavar="FILE", help="Your price table (CSV or TOML, "
                                                     "docs/commands.md): its entries replace the built-in prices.")]


class Protocol(str, Enum):
    iou = "iou"
    cleval = "cleval"
    both = "both"


def _text_options(ignore_case: bool, ignore_space: bool, ignore_punct: bool, icdar15: bool) -> Any:
    from eval.text import TextOptions

    return TextOptions(ignore_case=ignore_case, ignore_space=ignore_space, ignore_punct=ignore_punct, icdar15=icdar15)


@app.command("eval", epilog=epilog("eval"))
@cli_errors
def eval_command(
    api_res_json: Path = typer.Option(..., "--api_res_json", "--api-res-json", metavar="FILE",
                                      help="Predictions: a provider's raw results (naver.json, kakao.json, "
                                           "jenti.json, tesseract.json), the project's schema, or an ICDAR "
                                           "folder/zip of res_<stem>.txt files. The format is read from the content."),
    txt_gt_dir: GtDirOption = ...,
    out: Optional[Path] = typer.Option(None, "--out", metavar="DIR",
                                       help="Write summary.json, per_image.csv, matches.csv and sweep.csv here "
                                            "(the last two with the IoU protocol)."),
    protocol: Protocol = typer.Option(Protocol.iou, "--protocol",
                                      help="Box protocol(s) to score: iou (word boxes matched by IoU), cleval "
                                           "(character level, docs/cleval.md) or both. Page-text metrics always."),
    iou: list[float] = typer.Option([0.5], "--iou", help="IoU threshold (a pair must be strictly above it). "
                                                       "Repeat for a sweep; the first one is the headline."),
    ignore_text: IgnoreTextOption = [], skip_bad_lines: SkipBadLinesOption = False,
    ignore_case: IgnoreCaseOption = False, ignore_space: IgnoreSpaceOption = False,
    ignore_punct: IgnorePunctOption = False, icdar15: Icdar15Option = False, min_score: MinScoreOption = None,
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on large sets."),
) -> None:
    """Score one provider's predictions against ground truth (detection, recognition, end to end).

    By default matching is one-to-one by polygon IoU; --protocol cleval scores characters
    (CLEval) instead, --protocol both does both. Page-text metrics (boxes ignored) come with
    every protocol. The full protocol is in docs/protocol.md. Nothing is written unless every input
    reads cleanly (exit code 2 otherwise).
    """
    from eval.inputs import read_eval_inputs
    from reports.eval_run import run_eval

    run_eval(lambda: read_eval_inputs(txt_gt_dir, iou, ignore_text=ignore_text, skip_bad_lines=skip_bad_lines,
                                      text=_text_options(ignore_case, ignore_space, ignore_punct, icdar15),
                                      min_score=min_score, protocol=protocol.value),
             txt_gt_dir, api_res_json, out, progress, typer.echo)


ProviderName = Enum("ProviderName", {name: name for name in registry.names()}, type=str)


@app.command("collect", epilog=epilog("collect", credentials="".join(
    f"  {spec.name:<10} {spec.setup_help}\n" for spec in registry.all_specs()), outputs=OUTPUTS_HELP))
@cli_errors
def collect_command(
    provider: ProviderName = typer.Option(..., "--provider", help="Which OCR service or engine to run."),
    images: Path = typer.Option(..., "--images", metavar="DIR",
                                help="Folder of images (jpg, jpeg, png, bmp, tif, tiff, webp; searched "
                                     "recursively). The file stem is the image's key."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Where outputs and the journal go (created)."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", min=1, metavar="N",
                                              help=f"Requests in flight at once [default: {registry.concurrency_help()}]."),
    rps: Optional[float] = typer.Option(None, "--rps", min=0.001, metavar="R",
                                        help="Hard ceiling on requests per second, retries included."),
    limit: Optional[int] = typer.Option(None, "--limit", min=0, metavar="N",
                                        help="Send at most N images this run (in stem order), e.g. for a trial."),
    refresh: bool = typer.Option(False, "--refresh", help="Re-send every image, even those already collected "
                                                          "(also to re-collect OUT with other settings)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Re-send images that failed in earlier runs."),
    lang: Optional[str] = typer.Option(None, "--lang", metavar="LANG", help=registry.option_help("lang")),
    psm: Optional[int] = typer.Option(None, "--psm", min=0, max=13, help=registry.option_help("psm")),
    feature: Optional[str] = typer.Option(None, "--feature", metavar="F", help=registry.option_help("feature")),
    model: Optional[str] = typer.Option(None, "--model", metavar="M", help=registry.option_help("model")),
    prompt: Optional[str] = typer.Option(None, "--prompt", metavar="TEXT", help=registry.option_help("prompt")),
    granularity: Optional[str] = typer.Option(None, "--granularity", metavar="G", help=registry.option_help("granularity")),
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
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be sent and its estimated cost; no request."),
    prices: PricesOption = None,
) -> None:
    """Run every image of a folder through one provider and keep every raw response.

    Resumable and crash-safe: each finished image is journaled at once, so a re-run (after
    Ctrl-C, kill -9 or a quota stop) sends requests only for images not yet collected.
    Credentials are checked before anything else; secrets never appear in outputs or logs.
    """
    from adapters.collection.dryrun import dry_run_folder
    from adapters.collection.setup import collect_folder, collect_options, settings_for

    options = collect_options(provider.value, concurrency, progress, rps=rps, limit=limit, refresh=refresh,
                              retry_failed=retry_failed, timeout=timeout, max_attempts=max_attempts, backoff=backoff)
    settings = settings_for(provider.value, lang=lang, psm=psm, feature=feature, model=model, prompt=prompt,
                            granularity=granularity, det_model=det_model, rec_model=rec_model, rec_keys=rec_keys,
                            engine=engine, engine_path=engine_path, engine_option=engine_option or None)
    if dry_run or prices is not None:  # --prices is for --dry-run
        return dry_run_folder(provider.value, images, out, options, settings, prices, dry_run, report=typer.echo)
    summary = collect_folder(provider.value, images, out, options, settings, report=typer.echo)
    if summary.failed:
        typer.echo(f"{summary.failed} image(s) failed: see {summary.paths.runs}; "
                   f"run again with --retry-failed to re-send them", err=True)
        raise typer.Exit(EXIT_FAILURES)


@app.command("synth", epilog=epilog("synth"))
@cli_errors
def synth_command(
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Folder to write the set into (created)."),
    images: int = typer.Option(30, "--images", metavar="N", help="How many images to generate."),
    seed: int = typer.Option(0, "--seed", metavar="S", help="Random seed (0 or more); same seed, same files."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a set already in OUT (deletes only its "
                                                              "gt/*.txt, images/*/*.jpg and categories.csv)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Generate synthetic Korean scene text with exact word-level ground truth.

    Signs, product labels, road signs and book pages drawn with several Nanum fonts, turned
    and put in perspective, with vertical text, noise, blur and JPEG artefacts. Every gt box
    is the word's measured ink box moved by the same transform as the pixels.
    """
    from gt.synth import format_summary, write_set

    typer.echo(format_summary(write_set(out, images, seed, overwrite=overwrite, progress=progress)))


EmulatedProvider = Enum("EmulatedProvider", {name: name for name in registry.names(registry.WEB)}, type=str)


@app.command("emulate", epilog=epilog("emulate", nameless=", ".join(
    spec.name for spec in registry.emulated() if not spec.emulation.sends_name)))
@cli_errors
def emulate_command(
    provider: EmulatedProvider = typer.Argument(..., help="Which service's wire format to speak."),
    port: int = typer.Option(0, "--port", min=0, max=65535, metavar="P", help="Port on 127.0.0.1 (0 picks a free one)."),
    gt: Optional[Path] = typer.Option(None, "--gt", metavar="DIR", help="Answer from ground truth <stem>.txt files."),
    images: Optional[Path] = typer.Option(None, "--images", metavar="DIR",
                                          help="The original images: with --gt, boxes are scaled to the size "
                                               "received; requests without a file name are matched by content."),
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


@app.command("report", epilog=epilog("report"))
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
    ignore_text: IgnoreTextOption = [], skip_bad_lines: SkipBadLinesOption = False,
    ignore_case: IgnoreCaseOption = False, ignore_space: IgnoreSpaceOption = False,
    ignore_punct: IgnorePunctOption = False, icdar15: Icdar15Option = False, min_score: MinScoreOption = None,
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, metavar="N",
                                  help="Bootstrap resamples over images for the intervals (0: none)."),
    seed: int = typer.Option(0, "--seed", min=0, metavar="S", help="Seed of the bootstrap (same seed, same intervals)."),
    worst: int = typer.Option(3, "--worst", min=0, metavar="N", help="Worst images shown per provider."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars on large sets."),
    prices: PricesOption = None,
) -> None:
    """Compare providers: comparison.csv, breakdowns, plots and one self-contained report.html.

    Every provider is evaluated with the same protocols (those of `bench eval --protocol both`:
    IoU, CLEval and page text; docs/protocol.md); the numbers in comparison.csv equal
    `bench eval --protocol both` on the same inputs.
    """
    from eval.inputs import read_eval_inputs
    from reports.eval_tables import check_out_dir
    from reports.html import SWEEP
    from eval.workers import paused_gc
    from reports.pipeline import ReportRequest, make_report, summary_lines

    check_out_dir(out)
    with paused_gc():  # millions of objects and no cycles; the plots' cycles are collected where they are made
        inputs = read_eval_inputs(txt_gt_dir, [*iou, *SWEEP], ignore_text=ignore_text, skip_bad_lines=skip_bad_lines,
                                  text=_text_options(ignore_case, ignore_space, ignore_punct, icdar15),
                                  min_score=min_score, protocol="both")
        request = ReportRequest(results=results, out=out, images=images, categories=categories, title=title,
                                resamples=bootstrap, seed=seed, worst=worst, progress=progress, prices=prices)
        for line in summary_lines(make_report(request, inputs, echo=typer.echo), inputs.options.thresholds[0]):
            typer.echo(line)


@app.command("show", epilog=epilog("show"))
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
    only_errors: bool = typer.Option(False, "--only-errors", help="Only images with a missed, false or wrong-text "
                                     "item, or a provider error (needs --txt_gt_dir)."),
    iou: float = typer.Option(0.5, "--iou", help="IoU threshold for matching (strictly above)."),
    ignore_text: IgnoreTextOption = [], skip_bad_lines: SkipBadLinesOption = False,
    ignore_case: IgnoreCaseOption = False, ignore_space: IgnoreSpaceOption = False,
    ignore_punct: IgnorePunctOption = False, icdar15: Icdar15Option = False, min_score: MinScoreOption = None,
    labels: bool = typer.Option(True, "--labels/--no-labels", help="Draw the texts next to the boxes."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Draw a provider's boxes and texts on each image (and, with ground truth, what was right or wrong)."""
    from adapters.collection.setup import collect_for_show
    from adapters.core.images import discover
    from eval.inputs import load_predictions, read_eval_inputs
    from reports.fonts import hangul_font
    from reports.show import draw_overlays

    if (api_res_json is None) == (provider is None):
        raise InputError("give exactly one of --api_res_json FILE or --provider NAME")
    if only_errors and txt_gt_dir is None:
        raise InputError("--only-errors needs --txt_gt_dir (errors are defined against ground truth)")
    inputs = read_eval_inputs(txt_gt_dir, [iou], ignore_text=ignore_text, skip_bad_lines=skip_bad_lines,
                              text=_text_options(ignore_case, ignore_space, ignore_punct, icdar15), min_score=min_score)
    font, found = hangul_font(), discover(images)
    results, failed = (collect_for_show(provider.value, found, out, progress, report=typer.echo)
                       if provider is not None else (load_predictions(api_res_json, inputs), 0))
    typer.echo(draw_overlays(images, found, results.images, inputs, out, font, only_errors=only_errors, labels=labels,
                             progress=progress))
    if failed:
        typer.echo(f"{failed} image(s) failed to collect; they are drawn with the error", err=True)
        raise typer.Exit(EXIT_FAILURES)


gt_app = typer.Typer(help="Ground truth: convert public data sets into gt folders (bench gt COMMAND --help).",
                     no_args_is_help=True, rich_markup_mode=None, epilog=epilog("gt"))
app.add_typer(gt_app, name="gt")


@gt_app.command("aihub", epilog=epilog("gt_aihub"))
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
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a set already in OUT (deletes only its "
                                   "gt/*.txt, image files under images/, categories.csv and left_out.csv)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Convert AI-Hub "Text in the Wild" annotations into images/, gt/ and categories.csv.

    Reproduces the conversion of Light-OCR's evaluation (its make_dataset.py), with
    clearer errors and a report of every image left out.
    """
    from gt.aihub import AihubOptions, convert_aihub, format_summary

    options = AihubOptions(aihub=aihub, out=out, annotations=annotations, split_list=split_list, all_images=all_images,
                           link=link, overwrite=overwrite, progress=progress)
    typer.echo(format_summary(convert_aihub(options)))


@app.command("demo", epilog=epilog("demo"))
@cli_errors
def demo_command(
    out: Path = typer.Option(Path("runs/demo"), "--out", metavar="DIR", help="Where everything goes."),
    images: int = typer.Option(30, "--images", min=1, metavar="N", help="How many synthetic images."),
    seed: int = typer.Option(7, "--seed", metavar="S", help="Seed of the synthetic set."),
    prices: PricesOption = None,
) -> None:
    """The whole pipeline on a built-in default: synth -> collect -> report, then print the report's path."""
    from adapters.collection.demo import StepFailed, run_demo

    try:
        report = run_demo(out, images, seed, lambda line: typer.echo(line, err=True),
                          tolerated=(EXIT_AUTH, EXIT_QUOTA, EXIT_FAILURES), prices=prices)
    except StepFailed as exc:
        raise typer.Exit(exc.code) from None
    typer.echo(f"report: {report}")


ServeEngine = Enum("ServeEngine", {spec.name: spec.name for spec in registry.engines()}, type=str)


@app.command("serve", epilog=epilog("serve", calling=CALLING_HELP, errors=ERRORS_HELP))
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
