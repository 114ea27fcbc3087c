"""``bench report``: write the comparison, breakdowns, plots and one self-contained HTML page.

The page must open anywhere, offline, years later: every plot and overlay is embedded as a
data URI, the CSS is inline, nothing is fetched. Korean renders through the system's fonts
(a Korean fallback list in the CSS); no font is embedded, which keeps the page small.
"""
from __future__ import annotations

import base64
import html
import logging
import platform
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from adapters.core.atomic import ensure_folder, newest, write_text_atomic
from eval.evaluate import EvalOptions, Evaluation
from eval.metrics import Counts, flat_scores, metric, metrics
from gt.reader import Word
from reports import breakdowns as bd
from reports import plots
from reports.compare import Comparison, ProviderRun, compare, slug, write_comparison
from reports.csv_files import write_csv
from reports.eval_tables import sweep_rows, write_evaluation
from reports.overlay import build_overlay, encode, load_image, render
from reports.prices import price_for

log = logging.getLogger("bench")

SWEEP = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
COMPARISON_FILE = "comparison.csv"
REPORT_FILE = "report.html"
MAX_TABLE_ROWS = 200  # per provider in the page; the full per-image tables are in eval/<provider>/
OVERLAY_MAX_SIDE = 1000
WORD_BREAKDOWN_TITLES = {"orientation": "Horizontal vs vertical text (gt box height >= 1.5 x width)",
                         "length": "Text length (characters of the gt word)",
                         "size": "Box size (shorter side of the gt box, pixels)"}
PACKAGES = ("korean-ocr-bench", "numpy", "shapely", "matplotlib", "Pillow", "Levenshtein", "pandas", "typer")


@dataclass
class ReportInputs:
    """Everything ``write_report`` needs; ``runs`` are already evaluated with ``options``."""

    runs: list[ProviderRun]
    gt: Mapping[str, Sequence[Word]]
    options: EvalOptions
    gt_dir: Path
    title: str = "Korean OCR comparison"
    images: dict[str, Path] | None = None
    categories: dict[str, str] | None = None
    category_source: str = ""
    resamples: int = 1000
    seed: int = 0
    worst: int = 3
    dont_care_markers: tuple[str, ...] = ("###",)
    bad_lines: int = 0
    font_path: str | None = None


@dataclass
class ReportFiles:
    out: Path
    comparison: Path
    html: Path
    breakdowns: list[Path] = field(default_factory=list)
    plots: list[Path] = field(default_factory=list)
    evaluations: list[Path] = field(default_factory=list)
    comparison_data: Comparison | None = None


# --- small helpers -----------------------------------------------------------------------------

def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: Any, digits: int = 1, scale: float = 100) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if np.isnan(v) else f"{scale * v:.{digits}f}"


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _img(path: Path, alt: str) -> str:
    return f'<img class="plot" alt="{_e(alt)}" src="{_data_uri(newest(path).read_bytes(), "image/png")}">'


def versions(engines: Sequence[str] = ()) -> dict[str, str]:
    """Versions of the tool and the libraries that shape the numbers or the pictures."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    from adapters.providers.registry import engine_versions  # the local engines' own version probes

    found.update(engine_versions(engines))
    return found


def eval_folders(runs: Sequence[ProviderRun]) -> list[str]:
    """A unique folder name under ``eval/`` for each provider."""
    used: list[str] = []
    for run in runs:
        name, n = slug(run.label), 1
        while name in used:
            n += 1
            name = f"{slug(run.label)}-{n}"
        used.append(name)
    return used


def image_errors(c: Counts) -> int:
    """Missed gt words + false predictions + wrong texts of one image."""
    return (c.gt_care - c.tp) + (c.pred_care - c.tp) + (c.tp - c.correct)


def worst_images(evaluation: Evaluation, n: int) -> list[int]:
    """Indices of the ``n`` worst images: lowest end-to-end hmean, then most errors, then stem.
    Images with neither gt words nor predictions are perfect by definition and never listed."""
    candidates = []
    for i, image in enumerate(evaluation.images):
        c = image.counts[0]
        if c.gt_care == 0 and c.pred_care == 0 and image.status == "ok":
            continue
        candidates.append((flat_scores(c)["e2e_hmean"], -image_errors(c), image.stem, i))
    return [i for *_, i in sorted(candidates)[:max(0, n)]]


# --- building the pieces -----------------------------------------------------------------------

def breakdown_tables(inputs: ReportInputs) -> dict[str, list[dict[str, Any]]]:
    """Every breakdown's rows, all providers together; category only when categories are known."""
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in bd.WORD_RULES}
    if inputs.categories:
        tables = {"category": [], **tables}
    for run in inputs.runs:
        assert run.evaluation is not None
        outcomes = bd.word_outcomes(run.evaluation, inputs.gt)
        for name, (rule, order) in bd.WORD_RULES.items():
            tables[name].extend(bd.word_breakdown(run.label, outcomes, rule, order, inputs.options.text))
        if inputs.categories:
            tables["category"].extend(bd.category_breakdown(run.label, run.evaluation, inputs.categories))
    return tables


def per_image_cer(evaluation: Evaluation) -> np.ndarray:
    cer = metric("rec_cer")
    values = [cer.value(im.counts[0]) for im in evaluation.images if im.counts[0].gt_chars]
    return np.asarray(values, dtype=float)


def sweep_points(evaluation: Evaluation) -> list[dict[str, float]]:
    return [{"iou": r["iou"], "det_hmean": r["det_hmean"], "e2e_hmean": r["e2e_hmean"]} for r in sweep_rows(evaluation)]


def make_plots(inputs: ReportInputs, comparison: Comparison, tables: Mapping[str, list[dict[str, Any]]],
               out: Path) -> dict[str, Path]:
    font = inputs.font_path
    made: dict[str, Path] = {}
    made["headline"] = plots.headline_bars(comparison.rows, out / "plot_headline.png", font)
    made["iou"] = plots.iou_sweep({r.label: sweep_points(r.evaluation) for r in inputs.runs},
                                  out / "plot_iou_sweep.png", font)
    cer = {r.label: per_image_cer(r.evaluation) for r in inputs.runs}
    if any(len(v) for v in cer.values()):
        made["cer"] = plots.distribution(cer, out / "plot_cer_distribution.png", font,
                                         title="CER per image (matched pairs)", ylabel="CER")
    latency = {r.label: r.latencies_ms for r in inputs.runs if r.latencies_ms is not None and len(r.latencies_ms)}
    if latency:
        made["latency"] = plots.distribution(latency, out / "plot_latency.png", font,
                                             title="Latency per image (successful calls)", ylabel="ms")
    for name, rows in tables.items():
        if not rows:
            continue
        if name == "category":
            metrics = [("det_hmean", "detection hmean"), ("e2e_hmean", "end-to-end hmean")]
            title = f"By category ({inputs.category_source})"
        else:
            metrics = [("det_recall", "detection recall"), ("e2e_recall", "end-to-end recall")]
            title = WORD_BREAKDOWN_TITLES[name]
        made[f"breakdown_{name}"] = plots.breakdown_bars(title, rows, metrics, out / f"plot_breakdown_{name}.png", font)
    return made


# --- HTML --------------------------------------------------------------------------------------

CSS = """
:root { --fg:#1d232a; --muted:#5b6570; --line:#d7dde3; --head:#eef2f6; --accent:#0b62a4; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 24px 28px 64px; color: var(--fg); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans KR", "Noto Sans CJK KR", "NanumGothic",
  "Nanum Gothic", "Apple SD Gothic Neo", "Malgun Gothic", sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 36px 0 10px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 8px; }
.meta, .note { color: var(--muted); font-size: 13px; }
nav ul { display: flex; flex-wrap: wrap; gap: 6px 16px; list-style: none; padding: 0; margin: 12px 0; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: right; vertical-align: top; }
th { background: var(--head); text-align: center; }
td.l, th.l { text-align: left; }
table.comparison td.l { white-space: nowrap; }
.ci { color: var(--muted); font-size: 11px; display: block; white-space: nowrap; }
.scroll { overflow-x: auto; }
img.plot { max-width: 100%; height: auto; border: 1px solid var(--line); margin: 6px 0; }
figure { margin: 14px 0 22px; } figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: 13px; color: var(--muted); }
tr:target, figure:target { outline: 3px solid #e69f00; }
details > summary { cursor: pointer; font-weight: 600; margin: 8px 0; }
code { background: #f3f5f7; padding: 0 3px; border-radius: 3px; }
"""


_NUMERIC = re.compile(r"^[-+]?[\d.,]+(?:\s*/\s*[\d.,]+)?(?:<span|$)|^–$")


def _table(columns: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]], cls: str = "") -> str:
    head = "".join(f'<th class="{"l" if i == 0 else ""}">{_e(label)}</th>' for i, (_, label) in enumerate(columns))
    body = []
    for row in rows:
        cells = []
        for i, (key, _) in enumerate(columns):
            value = row.get(key, "")
            left = i == 0 or not _NUMERIC.match(str(value))
            cells.append(f'<td class="{"l" if left else ""}">{value if key.startswith("html:") else _e(value)}</td>')
        body.append(f"<tr{row.get('_attrs', '')}>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def comparison_html(comparison: Comparison) -> str:
    rows = []
    for row in comparison.rows:
        shown: dict[str, Any] = {"provider": row["provider"], "images": row["images"],
                                 "missing": row["missing_predictions"], "errors": row["errors"]}
        for m in metrics():
            value, low, high = (row[m.name + tail] for tail in ("", "_ci_low", "_ci_high"))
            ci = "" if low is None else f'<span class="ci">[{_pct(low, scale=m.scale)}, {_pct(high, scale=m.scale)}]</span>'
            shown[f"html:{m.name}"] = f"{_pct(value, scale=m.scale)}{ci}"
        p50, p95 = row.get("latency_p50_ms"), row.get("latency_p95_ms")
        shown["latency"] = "–" if p50 is None else f"{p50:,.0f} / {p95:,.0f}"
        krw, usd = row.get("cost_krw_per_1000"), row.get("cost_usd_per_1000")
        shown["cost"] = "unknown" if krw is None and usd is None else " / ".join(
            s for s in (None if krw is None else f"{krw:,.0f} KRW", None if usd is None else f"{usd:,.2f} USD") if s)
        rows.append(shown)
    columns = [("provider", "provider"), ("images", "images"), ("missing", "missing"), ("errors", "errors")]
    columns += [(f"html:{m.name}", m.label) for m in metrics()]
    columns += [("latency", "latency p50 / p95 (ms)"), ("cost", "cost / 1,000 images")]
    return _table(columns, rows, "comparison")


def breakdown_html(name: str, rows: Sequence[Mapping[str, Any]]) -> str:
    if name == "category":
        columns = [("provider", "provider"), ("bucket", "category"), ("images", "images"), ("gt_words", "gt words"),
                   *((key, metric(key).label) for key in ("det_precision", "det_recall", "det_hmean",
                                                           "e2e_precision", "e2e_recall", "e2e_hmean", "rec_cer"))]
    else:
        columns = [("provider", "provider"), ("bucket", "bucket"), ("gt_words", "gt words"),
                   ("det_recall", "det recall"), ("e2e_recall", "e2e recall"),
                   ("rec_accuracy_matched", "acc | matched"), ("rec_cer", "CER")]
    shown = []
    for row in rows:
        cells = {k: (_pct(v) if isinstance(v, float) else v) for k, v in row.items()}
        if not row.get("matched"):  # no matched pair: these ratios have nothing to measure
            cells["rec_accuracy_matched"] = cells["rec_cer"] = "–"
        shown.append(cells)
    return _table(columns, shown)


def per_image_html(k: int, run: ProviderRun, worst: Sequence[int], folder: str) -> str:
    assert run.evaluation is not None
    images = run.evaluation.images
    chosen = set(worst)
    order = list(worst) + [i for i in sorted(range(len(images)), key=lambda i: (
        flat_scores(images[i].counts[0])["e2e_hmean"], images[i].stem)) if i not in chosen]
    rows = []
    for i in order[:MAX_TABLE_ROWS]:
        image = images[i]
        c = image.counts[0]
        s = flat_scores(c)
        name = _e(image.stem)
        if i in worst:
            name = f'<a href="#worst-p{k}-i{i}">{name}</a>'
        rows.append({"_attrs": f' id="row-p{k}-i{i}"', "html:image": name, "status": image.status,
                     "gt": c.gt_care, "pred": c.pred_care, "tp": c.tp, "correct": c.correct,
                     "missed": c.gt_care - c.tp, "false": c.pred_care - c.tp, "det_h": _pct(s["det_hmean"]),
                     "e2e_h": _pct(s["e2e_hmean"]), "cer": _pct(s["rec_cer"]) if c.tp else "–",
                     "error": image.error or ""})
    columns = [("html:image", "image"), ("status", "status"), ("gt", "gt words"), ("pred", "predictions"),
               ("tp", "matched"), ("correct", "correct"), ("missed", "missed"), ("false", "false"),
               ("det_h", "det H"), ("e2e_h", "e2e H"), ("cer", "CER"), ("error", "error")]
    more = (f'<p class="note">Showing {MAX_TABLE_ROWS} of {len(images)} images (worst first); every image is in '
            f'<code>eval/{_e(folder)}/per_image.csv</code>.</p>' if len(images) > MAX_TABLE_ROWS else "")
    return _table(columns, rows) + more


def worst_html(k: int, run: ProviderRun, worst: Sequence[int], inputs: ReportInputs) -> str:
    assert run.evaluation is not None
    parts = []
    for i in worst:
        image = run.evaluation.images[i]
        c = image.counts[0]
        s = flat_scores(c)
        caption = (f'<a href="#row-p{k}-i{i}">{_e(image.stem)}</a>: e2e hmean {_pct(s["e2e_hmean"])}%, '
                   f'{c.gt_care - c.tp} missed, {c.pred_care - c.tp} false, {c.tp - c.correct} wrong text'
                   + (f" ({_e(image.status)}: {_e(image.error or '')})" if image.status != "ok" else ""))
        picture = ""
        path = (inputs.images or {}).get(image.stem)
        if path is not None and inputs.font_path:
            try:
                overlay = build_overlay(image.stem, run.results.images.get(image.stem), inputs.gt[image.stem],
                                        inputs.options)
                drawn = render(load_image(path), overlay, inputs.font_path)
                data = encode(drawn, "JPEG", max_side=OVERLAY_MAX_SIDE)
                picture = f'<img alt="{_e(image.stem)} overlay" loading="lazy" src="{_data_uri(data, "image/jpeg")}">'
            except OSError as exc:
                picture = f'<p class="note">could not draw {_e(path)}: {_e(exc)}</p>'
        elif inputs.images is not None:
            picture = '<p class="note">image file not found under --images</p>'
        parts.append(f'<figure id="worst-p{k}-i{i}">{picture}<figcaption>{caption}</figcaption></figure>')
    if not parts:
        return '<p class="note">No images to show.</p>'
    hint = "" if inputs.images is not None else '<p class="note">Pass <code>--images DIR</code> to see these images with overlays.</p>'
    return hint + "".join(parts)


def protocol_html(inputs: ReportInputs, comparison: Comparison) -> str:
    o = inputs.options
    text = ", ".join(f"{k}={v}" for k, v in asdict(o.text).items())
    items = [
        ("Ground truth", f"{inputs.gt_dir} ({len(inputs.gt)} images, don't-care markers: "
                         f"{' '.join(inputs.dont_care_markers)}; {inputs.bad_lines} malformed line(s) skipped)"),
        ("Headline IoU threshold", f"{o.thresholds[0]} (a pair matches when its IoU is strictly above it)"),
        ("All thresholds evaluated", ", ".join(str(t) for t in o.thresholds)),
        ("Text comparison", f"Unicode NFC, stripped; {text}"),
        ("--min-score", "none" if o.min_score is None else str(o.min_score)),
        ("Confidence intervals", f"{int(comparison.level * 100)}% percentile bootstrap over images, "
                                 f"{comparison.resamples} resamples, seed {comparison.seed}; the same resamples "
                                 f"for every provider (paired)"),
        ("Categories", inputs.category_source or "none given (no --categories file or category sub-folders)"),
        ("Generated", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
    ]
    rows = "".join(f'<tr><th class="l">{_e(k)}</th><td class="l">{_e(v)}</td></tr>' for k, v in items)
    inputs_rows = [{"provider": r.label, "engine": r.provider, "given": str(r.given), "how": r.how,
                    "runs": str(r.runs_file) if r.runs_file else "none found"} for r in inputs.runs]
    price_rows = []
    for engine in dict.fromkeys(r.provider for r in inputs.runs):
        p = price_for(engine)
        price_rows.append({"engine": engine, "unit": p.unit, "price": p.describe(), "free": p.free_quota,
                           "source": p.source, "checked": p.checked})
    vers = ", ".join(f"{k} {v}" for k, v in versions([r.provider for r in inputs.runs]).items())
    return (f'<div class="scroll"><table>{rows}</table></div>'
            "<h3>Inputs</h3>" + _table([("provider", "provider"), ("engine", "engine"), ("given", "given"),
                                        ("how", "how it was used"), ("runs", "run records (latency)")], inputs_rows)
            + "<h3>Prices</h3>" + _table([("engine", "engine"), ("unit", "unit"), ("price", "price"),
                                          ("free", "free quota"), ("source", "source"), ("checked", "checked")],
                                         price_rows)
            + '<p class="note">Edit <code>reports/prices.py</code> to put in your own contract prices.</p>'
            + f"<h3>Versions</h3><p>{_e(vers)}</p>")


def page(inputs: ReportInputs, comparison: Comparison, tables: Mapping[str, list[dict[str, Any]]],
         made: Mapping[str, Path]) -> str:
    runs = inputs.runs
    worst = {k: worst_images(r.evaluation, inputs.worst) for k, r in enumerate(runs)}
    sections: list[tuple[str, str, str]] = []
    body = comparison_html(comparison) + _img(made["headline"], "headline metrics")
    body += ('<p class="note">Percent. Small numbers under each value are the 95% bootstrap interval. det = detection '
             '(IoU match), e2e = end to end (match and same text), acc = correct / gt words, acc | matched = correct '
             '/ matched, CER over matched pairs. Cost: API price per 1,000 images from the price table (see Protocol).'
             '</p>')
    sections.append(("comparison", "Comparison", body))
    sections.append(("iou", "Hmean against the IoU threshold", _img(made["iou"], "hmean against IoU threshold")))
    if "cer" in made:
        sections.append(("cer", "CER per image", _img(made["cer"], "CER distribution")))
    latency = (_img(made["latency"], "latency distribution") if "latency" in made else
               '<p class="note">No run records with latencies were found next to the results '
               '(<code>&lt;provider&gt;.runs.csv</code>, written by <code>bench collect</code>).</p>')
    sections.append(("latency", "Latency", latency))
    parts = []
    for name, rows in tables.items():
        title = f"By category ({inputs.category_source})" if name == "category" else WORD_BREAKDOWN_TITLES[name]
        plot = _img(made[f"breakdown_{name}"], title) if f"breakdown_{name}" in made else ""
        parts.append(f'<h3 id="breakdown-{name}">{_e(title)}</h3>{plot}{breakdown_html(name, rows)}')
    parts.append('<p class="note">Word-level breakdowns are on the ground-truth side: each bucket holds gt words, '
                 'so they show recalls (a false prediction has no gt word). The category breakdown sums whole images '
                 'and shows every metric. Definitions are in the README.</p>')
    sections.append(("breakdowns", "Breakdowns", "".join(parts)))
    worst_parts = "".join(f'<h3>{_e(r.label)}</h3>{worst_html(k, r, worst[k], inputs)}' for k, r in enumerate(runs))
    sections.append(("worst", f"Worst images per provider (up to {inputs.worst})",
                     '<p class="note">Green: matched and read right; orange: matched, text wrong (read ≠ gt); red: '
                     'gt word missed; blue: false prediction; grey: ignored (don\'t care).</p>' + worst_parts))
    folders = eval_folders(runs)
    per_image = "".join(f'<details{" open" if k == 0 else ""}><summary>{_e(r.label)}</summary>'
                        f'{per_image_html(k, r, worst[k], folders[k])}</details>' for k, r in enumerate(runs))
    sections.append(("images", "Per-image results", per_image))
    sections.append(("protocol", "Protocol", protocol_html(inputs, comparison)))
    nav = "".join(f'<li><a href="#{sid}">{_e(title)}</a></li>' for sid, title, _ in sections)
    content = "".join(f'<section id="{sid}"><h2>{_e(title)}</h2>{body}</section>' for sid, title, body in sections)
    n_images = len(inputs.gt)
    return (f'<!DOCTYPE html>\n<html lang="ko"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(inputs.title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{_e(inputs.title)}</h1><p class=\"meta\">{len(runs)} provider(s) on {n_images} images "
            f"({_e(inputs.gt_dir)}); headline IoU {inputs.options.thresholds[0]}</p>"
            f"<nav><ul>{nav}</ul></nav></header><main>{content}</main></body></html>\n")


def write_report(inputs: ReportInputs, out: Path) -> ReportFiles:
    """Write every report file into ``out`` and return their paths."""
    ensure_folder(out)
    comparison = compare(inputs.runs, inputs.resamples, inputs.seed)
    files = ReportFiles(out, out / COMPARISON_FILE, out / REPORT_FILE, comparison_data=comparison)
    write_comparison(files.comparison, comparison)
    for run, name in zip(inputs.runs, eval_folders(inputs.runs)):
        folder = out / "eval" / name
        write_evaluation(folder, run.evaluation, run.provider,
                         {"label": run.label, "bad_lines": inputs.bad_lines, "predictions": str(Path(run.source).resolve()),
                          "ground_truth": str(Path(inputs.gt_dir).resolve())})
        files.evaluations.append(folder)
    tables = breakdown_tables(inputs)
    for name, rows in tables.items():
        path = out / f"breakdown_{name}.csv"
        write_csv(path, rows, bd.CATEGORY_COLUMNS if name == "category" else bd.WORD_COLUMNS)
        files.breakdowns.append(path)
    made = make_plots(inputs, comparison, tables, out)
    files.plots = list(made.values())
    write_text_atomic(files.html, page(inputs, comparison, tables, made))
    return files
