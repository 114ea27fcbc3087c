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
from eval.metrics import Counts, Metric, count_types, family, flat_scores, metric, metrics
from eval.protocols import cleval_options
from gt.reader import Word
from reports import breakdowns as bd
from reports import plots
from reports.compare import Comparison, ProviderRun, compare, slug, write_comparison
from reports.csv_files import write_csv
from reports.eval_tables import sweep_rows, write_evaluation
from reports.labels import shown_labels
from reports.overlay import COLOURS, IGNORED, LEGEND, Overlay, build_overlay, draw_overlay, encode, load_image
from reports.prices import Price, price_for
from reports.verdict import DataSet, verdict

log = logging.getLogger("bench")

SWEEP = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
COMPARISON_FILE = "comparison.csv"
REPORT_FILE = "report.html"
MAX_TABLE_ROWS = 200  # per provider in the page; the full per-image tables are in eval/<provider>/
OVERLAY_MAX_SIDE = 1600  # the full-size view's longer side; the page shows it scaled to the column
WORD_BREAKDOWN_TITLES = {"orientation": "Horizontal vs vertical text (gt box height ≥ 1.5 × width)",
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
    prices: Mapping[str, Price] | None = None  # a user's price table (--prices), over the built-in prices


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


def _figure(path: Path, alt: str, caption: str, fid: str = "") -> str:
    """A plot with its caption (``caption`` is HTML): one ``<figure>``, kept together in print."""
    ident = f' id="{_e(fid)}"' if fid else ""
    return f"<figure{ident}>{_img(path, alt)}<figcaption>{caption}</figcaption></figure>"


def display_names(runs: Sequence[ProviderRun]) -> dict[str, str]:
    """Each run's label (as in the CSV files) -> the name the page and plots show."""
    labels = [r.label for r in runs]
    return dict(zip(labels, shown_labels([r.provider for r in runs], labels)))


def _named(rows: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Copies of ``rows`` whose ``provider`` is the shown name."""
    return [{**r, "provider": names.get(str(r.get("provider")), r.get("provider"))} for r in rows]


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


def _e2e_hmean(c: Counts) -> float:
    """An image's end-to-end hmean for ordering images; no value (nothing predicted) sorts as 0."""
    value = flat_scores(c)["e2e_hmean"]
    return 0.0 if value is None else value


def worst_images(evaluation: Evaluation, n: int) -> list[int]:
    """Indices of the ``n`` worst images: lowest end-to-end hmean, then most errors, then stem.
    Images with neither gt words nor predictions are perfect by definition and never listed.
    Predictions without geometry have no box to judge: their worst images have the highest page CER."""
    boxes = has_boxes(evaluation)
    candidates = []
    for i, image in enumerate(evaluation.images):
        c = image.counts[0]
        if boxes and c.gt_care == 0 and c.pred_care == 0 and image.status == "ok":
            continue
        if boxes:
            candidates.append((_e2e_hmean(c), -image_errors(c), image.stem, i))
        else:
            cer = flat_scores(image.page)["page_cer"]
            candidates.append((cer is None, -(cer or 0.0), 0, image.stem, i))
    return [i for *_, i in sorted(candidates)[:max(0, n)]]


def has_boxes(evaluation: Evaluation) -> bool:
    """Whether the box-based metrics measure anything: some prediction that counts has geometry,
    or none lacks it (``eval.metrics.needs_boxes``)."""
    total = evaluation.totals(0)
    return total.pred_care + total.pred_discarded > 0 or total.no_geometry == 0


# --- building the pieces -----------------------------------------------------------------------

def breakdown_tables(inputs: ReportInputs) -> dict[str, list[dict[str, Any]]]:
    """Every breakdown's rows, all providers together; category only when categories are known."""
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in bd.WORD_RULES}
    if inputs.categories:
        tables = {"category": [], **tables}
    words = bd.word_breakdowns([(run.label, run.evaluation) for run in inputs.runs], inputs.gt, inputs.options.text)
    for run in inputs.runs:
        assert run.evaluation is not None
        for name in bd.WORD_RULES:
            rows = words[run.label][name]
            if not has_boxes(run.evaluation):  # text without geometry: word-level box metrics have no value
                rows = [{**row, **{key: None for key in bd.WORD_METRICS}} for row in rows]
            tables[name].extend(rows)
        if inputs.categories:
            tables["category"].extend(bd.category_breakdown(run.label, run.evaluation, inputs.categories))
    return tables


def per_image_cer(evaluation: Evaluation) -> np.ndarray:
    cer = metric("rec_cer")
    values = [cer.value(im.counts[0]) for im in evaluation.images if im.counts[0].gt_chars]
    return np.asarray(values, dtype=float)


def sweep_points(evaluation: Evaluation) -> list[dict[str, float]]:
    return [{"iou": r["iou"], "det_hmean": r["det_hmean"], "e2e_hmean": r["e2e_hmean"]} for r in sweep_rows(evaluation)]


CER_MARK = (100.0, "100 %: as many edits as gt characters")


def make_plots(inputs: ReportInputs, comparison: Comparison, tables: Mapping[str, list[dict[str, Any]]],
               out: Path) -> dict[str, Path]:
    font = inputs.font_path
    names = display_names(inputs.runs)
    made: dict[str, Path] = {}
    made["headline"] = plots.headline_bars(_named(comparison.rows, names), out / "plot_headline.png", font)
    made["iou"] = plots.iou_sweep({names[r.label]: sweep_points(r.evaluation) for r in inputs.runs},
                                  out / "plot_iou_sweep.png", font)
    cer = {names[r.label]: 100 * per_image_cer(r.evaluation) for r in inputs.runs}  # percent, as in every table
    if any(len(v) for v in cer.values()):
        made["cer"] = plots.distribution(cer, out / "plot_cer_distribution.png", font,
                                         title="CER per image (matched pairs)", ylabel="CER (%)", mark=CER_MARK)
    latency = {names[r.label]: r.latencies_ms for r in inputs.runs
               if r.latencies_ms is not None and len(r.latencies_ms)}
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
        made[f"breakdown_{name}"] = plots.breakdown_bars(title, _named(rows, names), metrics,
                                                         out / f"plot_breakdown_{name}.png", font)
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
.verdict { border-left: 4px solid var(--accent); background: #f4f8fb; padding: 10px 16px; margin: 14px 0; }
.verdict p { margin: 0; font-size: 16px; max-width: 60em; }
nav ul { display: flex; flex-wrap: wrap; gap: 6px 16px; list-style: none; padding: 0; margin: 12px 0; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: right; vertical-align: top; }
th { background: var(--head); text-align: center; }
th.group { background: #dde5ee; }
td.l, th.l { text-align: left; }
table.comparison td.l { white-space: nowrap; }
.blocks { display: flex; flex-wrap: wrap; gap: 0 22px; align-items: flex-start; }
.blocks > .scroll { max-width: 100%; }
caption { text-align: left; font-weight: 600; font-size: 13px; padding: 2px 0; color: var(--muted); }
table.headline { font-size: 15px; }
table.headline th, table.headline td { padding: 6px 12px; }
table.headline tbody th { background: none; font-weight: 600; max-width: 24em; overflow-wrap: anywhere; }
table.headline td.best { font-weight: 700; }
.dir { color: var(--muted); font-weight: 400; }
.ci { color: var(--muted); font-size: 11px; display: block; white-space: nowrap; font-weight: 400; }
.scroll { overflow-x: auto; }
img.plot { max-width: 100%; height: auto; border: 1px solid var(--line); margin: 6px 0; }
figure { margin: 14px 0 22px; } figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: 13px; color: var(--muted); max-width: 75em; }
tr:target, figure:target { outline: 3px solid #e69f00; }
details > summary { cursor: pointer; font-weight: 600; margin: 8px 0; }
code { background: #f3f5f7; padding: 0 3px; border-radius: 3px; }
/* overlays: the picture in the column, a hover layer with every text, a click for full size */
.ov { position: relative; display: inline-block; max-width: 100%; vertical-align: top; line-height: 0; }
.ov img { display: block; max-width: 100%; max-height: 85vh; width: auto; height: auto; margin: 0; }
.ov svg.hover { position: absolute; inset: 0; width: 100%; height: 100%; }
.ov polygon { fill: #fff; fill-opacity: 0; stroke: none; }
.ov polygon:hover { fill: var(--c); fill-opacity: .3; stroke: var(--c); stroke-width: 3px; }
.zoom-open { cursor: zoom-in; display: inline-block; max-width: 100%; }
.zoom-close { display: none; }
.zoom:target { position: fixed; inset: 0; z-index: 10; overflow: auto; margin: 0; padding: 44px 16px 16px;
  background: rgba(20, 24, 28, .94); text-align: center; }
.zoom:target .ov { max-width: none; }
.zoom:target .ov img { max-width: none; max-height: none; border: 0; }
.zoom:target .zoom-open { cursor: default; max-width: none; }
.zoom:target .zoom-close { display: block; position: fixed; top: 8px; right: 20px; color: #fff; font-size: 16px;
  font-weight: 600; background: rgba(0, 0, 0, .5); padding: 4px 12px; border-radius: 4px; }
@media print {
  @page { margin: 14mm 12mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav, .zoom-close { display: none; }
  * { position: static !important; box-shadow: none !important; }
  .ov svg.hover { display: none; }
  .zoom, .zoom:target { position: static; overflow: visible; background: none; padding: 0; text-align: left; }
  .ov img, .zoom:target .ov img { max-width: 100%; max-height: 22cm; }
  a { color: inherit; }
  section { break-before: page; }
  main > section:first-child { break-before: auto; }
  h2, h3 { break-after: avoid; }
  figure, .verdict, tr, img { break-inside: avoid; }
  figure img, img.plot { max-height: 23cm; width: auto; }
  .scroll { overflow: visible; }
  table { font-size: 7pt; width: 100%; }
  table.headline { font-size: 10pt; width: auto; }
  th, td { padding: 2px 3px; }
  .ci { white-space: normal; font-size: 6pt; }
  table.comparison td.l { white-space: normal; }
  thead { display: table-header-group; }
  td { overflow-wrap: anywhere; }
  details > *:not(summary) { display: block; }
  details::details-content { content-visibility: visible; display: block; }
}
"""


_NUMERIC = re.compile(r"^[-+]?[\d.,]+(?:\s*/\s*[\d.,]+)?(?:<span|$)|^–$")


def _table(columns: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]], cls: str = "",
           caption: str = "") -> str:
    head = "".join(f'<th class="{"l" if i == 0 else ""}">{_e(label)}</th>' for i, (_, label) in enumerate(columns))
    body = []
    for row in rows:
        cells = []
        for i, (key, _) in enumerate(columns):
            value = row.get(key, "")
            left = i == 0 or not _NUMERIC.match(str(value))
            cells.append(f'<td class="{"l" if left else ""}">{value if key.startswith("html:") else _e(value)}</td>')
        body.append(f"<tr{row.get('_attrs', '')}>{''.join(cells)}</tr>")
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return (f'<div class="scroll"><table class="{cls}">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _latency_text(row: Mapping[str, Any]) -> str:
    p50, p95 = row.get("latency_p50_ms"), row.get("latency_p95_ms")
    return "–" if p50 is None else f"{p50:,.0f} / {p95:,.0f}"


def families_html() -> str:
    """One line per column group of the comparison: what its family measures."""
    items = "".join(f"<li><b>{_e(family(t).title)}</b>: {_e(family(t).note)}</li>"
                    for t in count_types() if family(t).note)
    return f'<ul class="note">{items}</ul>'


def ranking_html(comparison: Comparison, runs: Sequence[ProviderRun], names: Mapping[str, str] | None = None) -> str:
    """Every provider ranked by page CER (boxes or not), with the other page-text headline numbers."""
    cer = metric("page_cer")
    boxes = {r.label: has_boxes(r.evaluation) for r in runs if r.evaluation is not None}

    def key(row: Mapping[str, Any]) -> tuple[bool, float]:
        value = row.get(cer.name)
        return value is None, (0.0 if value is None else (value if not cer.higher_is_better else -value))

    rows = []
    for rank, row in enumerate(sorted(comparison.rows, key=key), start=1):
        shown = {"rank": rank, "provider": (names or {}).get(row["provider"], row["provider"]),
                 "boxes": "yes" if boxes.get(row["provider"], True) else "no"}
        for name in ("page_cer", "page_char_f1", "page_word_f1", "page_ned"):
            shown[name] = _pct(row.get(name), scale=metric(name).scale)
        rows.append(shown)
    columns = [("rank", "rank"), ("provider", "provider"), ("boxes", "geometry")]
    columns += [(name, metric(name).label) for name in ("page_cer", "page_char_f1", "page_word_f1", "page_ned")]
    return _table(columns, rows)


def _cost_text(row: Mapping[str, Any]) -> str:
    krw, usd = row.get("cost_krw_per_1000"), row.get("cost_usd_per_1000")
    return "unknown" if krw is None and usd is None else " / ".join(
        s for s in (None if krw is None else f"{krw:,.0f} KRW", None if usd is None else f"{usd:,.2f} USD") if s)


def _value_html(row: Mapping[str, Any], m: Metric) -> str:
    """A metric's value and, below it, its interval."""
    value, low, high = (row.get(m.name + tail) for tail in ("", "_ci_low", "_ci_high"))
    ci = "" if low is None else f'<span class="ci">[{_pct(low, scale=m.scale)}, {_pct(high, scale=m.scale)}]</span>'
    return f"{_pct(value, scale=m.scale)}{ci}"


def _block_caption(group: Any) -> str:
    """Which protocol a block of the full table comes from: the family's title, and the group's
    name where the family has several ("IoU protocol: detection", "Page text")."""
    title = family(group.counts).title
    siblings = {m.group for m in metrics(group.counts)}
    return title if len(siblings) == 1 else f"{title}: {group.name.replace('_', ' ')}"


def comparison_html(comparison: Comparison, names: Mapping[str, str] | None = None) -> str:
    """The full table: every metric of the table with its interval, the counts, latency and cost.

    One block per metric group (detection, end to end, recognition, and each family the table
    gains), side by side where the width allows: a provider's row reads across one family, and
    the page never needs a sideways scroll bar however many families there are (nor is a
    printed page cut)."""
    def provider(row: Mapping[str, Any]) -> str:
        return (names or {}).get(row["provider"], row["provider"])

    runs = [{"provider": provider(row), "images": row["images"], "missing": row["missing_predictions"],
             "errors": row["errors"], "latency": _latency_text(row), "cost": _cost_text(row)}
            for row in comparison.rows]
    blocks = [_table([("provider", "provider"), ("images", "images"), ("missing", "missing"), ("errors", "errors"),
                      ("latency", "latency p50 / p95 (ms)"), ("cost", "cost / 1,000 images")], runs, "comparison",
                     caption="runs")]
    for group in dict.fromkeys(m.group for m in metrics()):
        shown = [m for m in metrics() if m.group == group]
        rows = [{"provider": provider(row), **{f"html:{m.name}": _value_html(row, m) for m in shown}}
                for row in comparison.rows]
        blocks.append(_table([("provider", "provider"), *((f"html:{m.name}", m.label) for m in shown)], rows,
                             "comparison", caption=_block_caption(group)))
    return f'<div class="blocks">{"".join(blocks)}</div>'


def _number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(v) else v


def headline_metrics(rows: Sequence[Mapping[str, Any]]) -> list[Metric]:
    """The metrics the table flags ``headline``, in table order, that some provider has a value for
    (a family that was not computed, such as page CER without page text, gets no column)."""
    return [m for m in metrics() if m.headline and any(_number(r.get(m.name)) is not None for r in rows)]


def headline_html(comparison: Comparison, names: Mapping[str, str] | None = None) -> str:
    """The compact table a decision is made from: one row per provider, the headline metrics with
    their intervals, latency and cost. The best value of each metric is bold (when several run)."""
    rows = comparison.rows
    chosen = headline_metrics(rows)
    best: dict[str, float] = {}
    for m in chosen:
        values = [v for v in (_number(r.get(m.name)) for r in rows) if v is not None]
        if len(rows) > 1 and values:
            best[m.name] = max(values) if m.higher_is_better else min(values)
    p50s = [v for v in (_number(r.get("latency_p50_ms")) for r in rows) if v is not None]
    fastest = min(p50s) if len(rows) > 1 and p50s else None
    head = ['<th class="l">provider</th>']
    for m in chosen:
        arrow, way = ("↑", "higher is better") if m.higher_is_better else ("↓", "lower is better")
        head.append(f'<th title="{_e(way)}">{_e(m.label)} <span class="dir">{arrow}</span></th>')
    head += ['<th title="median / 95th percentile of the successful calls">latency p50 / p95 (ms)</th>',
             '<th title="API price, from the price table under Protocol">cost / 1,000 images</th>']
    body = []
    for row in rows:
        provider = (names or {}).get(row["provider"], row["provider"])
        cells = [f'<th class="l" scope="row">{_e(provider)}</th>']
        for m in chosen:
            top = m.name in best and _number(row.get(m.name)) == best[m.name]
            cells.append(f'<td class="{"best" if top else ""}">{_value_html(row, m)}</td>')
        top = fastest is not None and _number(row.get("latency_p50_ms")) == fastest
        cells.append(f'<td class="{"best" if top else ""}">{_e(_latency_text(row))}</td>')
        cells.append(f'<td>{_e(_cost_text(row))}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<div class="scroll fit"><table class="headline"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def data_set(inputs: ReportInputs) -> DataSet:
    """What was scored: images, care and don't-care gt words, categories of the gt images."""
    gt_care = dont_care = 0
    if inputs.runs and inputs.runs[0].evaluation is not None:
        total = inputs.runs[0].evaluation.totals(0)  # the gt side is the same for every provider
        gt_care, dont_care = total.gt_care, total.gt_dont_care
    categories: tuple[str, ...] = ()
    if inputs.categories:
        found = {inputs.categories.get(stem, bd.UNCATEGORISED) for stem in inputs.gt}
        categories = tuple(sorted(found, key=lambda k: (k == bd.UNCATEGORISED, k.casefold())))
    return DataSet(len(inputs.gt), gt_care, dont_care, categories)


def verdict_html(inputs: ReportInputs, comparison: Comparison) -> str:
    names = display_names(inputs.runs)
    sentences = verdict(comparison.rows, data_set(inputs), lambda r: names.get(r["provider"], r["provider"]))
    return f'<div class="verdict" id="verdict"><p>{_e(" ".join(sentences))}</p></div>'


def breakdown_html(name: str, rows: Sequence[Mapping[str, Any]], names: Mapping[str, str] | None = None) -> str:
    if name == "category":
        columns = [("provider", "provider"), ("bucket", "category"), ("images", "images"), ("gt_words", "gt words"),
                   *((key, metric(key).label) for key in ("det_precision", "det_recall", "det_hmean",
                                                           "e2e_precision", "e2e_recall", "e2e_hmean", "rec_cer"))]
    else:
        columns = [("provider", "provider"), ("bucket", "bucket"), ("gt_words", "gt words"),
                   ("det_recall", "det recall"), ("e2e_recall", "e2e recall"),
                   ("rec_accuracy_matched", "acc | matched"), ("rec_cer", "CER")]
    metric_keys = {key for key, _ in columns[2:]} - {"images", "gt_words"}
    shown = []
    for row in _named(rows, names or {}):
        cells = {k: (_pct(v) if isinstance(v, float) or (v is None and k in metric_keys) else v)
                 for k, v in row.items()}
        if not row.get("matched"):  # no matched pair: these ratios have nothing to measure
            cells["rec_accuracy_matched"] = cells["rec_cer"] = "–"
        shown.append(cells)
    return _table(columns, shown)


def per_image_html(k: int, run: ProviderRun, worst: Sequence[int], folder: str) -> str:
    assert run.evaluation is not None
    images = run.evaluation.images
    chosen = set(worst)
    order = list(worst) + [i for i in sorted(range(len(images)), key=lambda i: (
        _e2e_hmean(images[i].counts[0]), images[i].stem)) if i not in chosen]
    rows = []
    for i in order[:MAX_TABLE_ROWS]:
        image = images[i]
        c = image.counts[0]
        s = flat_scores(*image.families(0))
        name = _e(image.stem)
        if i in worst:
            name = f'<a href="#worst-p{k}-i{i}">{name}</a>'
        rows.append({"_attrs": f' id="row-p{k}-i{i}"', "html:image": name, "status": image.status,
                     "gt": c.gt_care, "pred": c.pred_care, "tp": c.tp, "correct": c.correct,
                     "missed": c.gt_care - c.tp, "false": c.pred_care - c.tp, "det_h": _pct(s["det_hmean"]),
                     "e2e_h": _pct(s["e2e_hmean"]), "cer": _pct(s["rec_cer"]) if c.tp else "–",
                     "cleval_h": _pct(s.get("cleval_e2e_hmean")), "page_cer": _pct(s.get("page_cer")),
                     "error": image.error or ""})
    columns = [("html:image", "image"), ("status", "status"), ("gt", "gt words"), ("pred", "predictions"),
               ("tp", "matched"), ("correct", "correct"), ("missed", "missed"), ("false", "false"),
               ("det_h", "det H"), ("e2e_h", "e2e H"), ("cer", "CER"),
               ("cleval_h", metric("cleval_e2e_hmean").label), ("page_cer", metric("page_cer").label),
               ("error", "error")]
    more = (f'<p class="note">Showing {MAX_TABLE_ROWS} of {len(images)} images (worst first); every image is in '
            f'<code>eval/{_e(folder)}/per_image.csv</code>.</p>' if len(images) > MAX_TABLE_ROWS else "")
    return _table(columns, rows) + more


def hover_layer(overlay: Overlay, size: tuple[int, int]) -> str:
    """An inline SVG over the overlay picture: one invisible polygon per drawn item, whose
    ``<title>`` (the browser's tooltip) names its fate and its text, so every label can be read
    on hover even where none is drawn. ``size`` is the rendered picture's (with the legend strip),
    in the image pixels the polygons are given in."""
    shapes = []
    for mark in overlay.marks:
        if len(mark.points) < 3:
            continue
        points = " ".join(f"{float(x):.1f},{float(y):.1f}" for x, y in mark.points)
        tip = LEGEND[mark.kind] + (f": {mark.label}" if mark.label else "")
        r, g, b = COLOURS[mark.kind]
        shapes.append(f'<polygon class="{_e(mark.kind)}" points="{points}" style="--c:rgb({r},{g},{b})">'
                      f'<title>{_e(tip)}</title></polygon>')
    return (f'<svg class="hover" viewBox="0 0 {size[0]} {size[1]}" preserveAspectRatio="none" role="img" '
            f'aria-label="{_e(overlay.stem)}: boxes with their texts">{"".join(shapes)}</svg>')


def overlay_html(k: int, i: int, image: Any, run: ProviderRun, path: Path, inputs: ReportInputs) -> tuple[str, str]:
    """The zoomable overlay of one image and a note for its caption.

    Self-contained, no script: the picture is a link to its own ``zoom-…`` box, which CSS
    (``:target``) turns into a full-window view at the picture's full size; the close link goes
    back to the figure. Labels are drawn where they fit; the hover layer has them all."""
    assert inputs.font_path is not None
    overlay = build_overlay(image.stem, run.results.images.get(image.stem), inputs.gt[image.stem], inputs.options)
    drawn, n_labels = draw_overlay(load_image(path), overlay, inputs.font_path, fit=True)
    data = encode(drawn, "JPEG", max_side=OVERLAY_MAX_SIDE)
    zoom, back = f"zoom-p{k}-i{i}", f"worst-p{k}-i{i}"
    picture = (f'<div class="zoom" id="{zoom}"><a class="zoom-close" href="#{back}">close ✕</a>'
               f'<a class="zoom-open" href="#{zoom}" title="open at full size">'
               f'<span class="ov"><img alt="{_e(image.stem)} overlay" src="{_data_uri(data, "image/jpeg")}">'
               f'{hover_layer(overlay, drawn.size)}</span></a></div>')
    labelled = sum(1 for m in overlay.marks if m.label and m.kind != IGNORED)
    note = (f"; labels drawn where they fit: {n_labels} of {labelled}" if n_labels < labelled else "")
    return picture, note


def worst_html(k: int, run: ProviderRun, worst: Sequence[int], inputs: ReportInputs) -> str:
    assert run.evaluation is not None
    parts = []
    for i in worst:
        image = run.evaluation.images[i]
        c = image.counts[0]
        s = flat_scores(c)
        page_cer = flat_scores(image.page)["page_cer"]
        page = "" if page_cer is None else f", page CER {_pct(page_cer)}%"
        if s["e2e_hmean"] is None and c.no_geometry and not c.pred_care + c.pred_discarded:
            what = f"no geometry ({c.no_geometry} items){page}"
        else:
            hmean = "–" if s["e2e_hmean"] is None else f'{_pct(s["e2e_hmean"])}%'
            what = (f'e2e hmean {hmean}{page}, {c.gt_care - c.tp} missed, {c.pred_care - c.tp} false, '
                    f'{c.tp - c.correct} wrong text')
        caption = (f'<a href="#row-p{k}-i{i}">{_e(image.stem)}</a>: {what}'
                   + (f" ({_e(image.status)}: {_e(image.error or '')})" if image.status != "ok" else ""))
        picture = ""
        path = (inputs.images or {}).get(image.stem)
        if path is not None and inputs.font_path:
            try:
                picture, note = overlay_html(k, i, image, run, path, inputs)
                caption += _e(note)
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
        ("CLEval", "character-level (docs/cleval.md), the cleval 0.1.1 package's rules; options "
                   + ", ".join(f"{k}={v}" for k, v in asdict(cleval_options(o.text)).items())
                   + "; detections: predictions with geometry not below --min-score"),
        ("Page text", "care gt words against every prediction that counts (with or without geometry), each side "
                      "in reading order (lines top to bottom, left to right), white space removed for characters "
                      "and CER; page NED is the mean per-page normalised edit distance (docs/cleval.md, section 2)"),
        ("No value (–)", "a metric whose denominator is empty (e.g. precision without predictions), and every "
                         "box-based metric of predictions without geometry, has no value: – here, empty in CSV "
                         "files, null in summary.json; its interval uses the resamples that have one"),
        ("--min-score", "none" if o.min_score is None else str(o.min_score)),
        ("Confidence intervals", f"{int(comparison.level * 100)}% percentile bootstrap over images, "
                                 f"{comparison.resamples} resamples, seed {comparison.seed}; the same resamples "
                                 f"for every provider (paired)"),
        ("Categories", inputs.category_source or "none given (no --categories file or category sub-folders)"),
        ("Generated", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
    ]
    rows = "".join(f'<tr><th class="l">{_e(k)}</th><td class="l">{_e(v)}</td></tr>' for k, v in items)
    names = display_names(inputs.runs)
    inputs_rows = [{"provider": names[r.label], "label": r.label, "engine": r.provider, "given": str(r.given),
                    "how": r.how, "runs": str(r.runs_file) if r.runs_file else "none found"} for r in inputs.runs]
    input_columns = [("provider", "provider"), ("engine", "engine"), ("given", "given"), ("how", "how it was used"),
                     ("runs", "run records (latency)")]
    if any(names[r.label] != r.label for r in inputs.runs):  # the CSV files use the full label
        input_columns.insert(1, ("label", "label in the CSV files"))
    price_rows = []
    for engine in dict.fromkeys(r.provider for r in inputs.runs):
        p = price_for(engine, inputs.prices)
        price_rows.append({"engine": engine, "unit": p.unit, "price": p.describe(), "free": p.free_quota,
                           "source": p.source, "checked": p.checked})
    vers = ", ".join(f"{k} {v}" for k, v in versions([r.provider for r in inputs.runs]).items())
    return (f'<div class="scroll"><table>{rows}</table></div>'
            "<h3>Inputs</h3>" + _table(input_columns, inputs_rows)
            + "<h3>Prices</h3>" + _table([("engine", "engine"), ("unit", "unit"), ("price", "price"),
                                          ("free", "free quota"), ("source", "source"), ("checked", "checked")],
                                         price_rows)
            + '<p class="note">Put your own contract prices in a price table and pass it with '
              '<code>--prices FILE</code> (docs/commands.md); its entries show it as their source.</p>'
            + f"<h3>Versions</h3><p>{_e(vers)}</p>")


def page(inputs: ReportInputs, comparison: Comparison, tables: Mapping[str, list[dict[str, Any]]],
         made: Mapping[str, Path]) -> str:
    runs = inputs.runs
    names = display_names(runs)
    worst = {k: worst_images(r.evaluation, inputs.worst) for k, r in enumerate(runs)}
    level = int(round(comparison.level * 100))
    sections: list[tuple[str, str, str]] = []
    body = headline_html(comparison, names)
    body += (f'<p class="note">Percent; ↑ higher is better, ↓ lower is better; the best value of each column is in '
             f'bold. Small numbers under a value are its {level}% bootstrap interval. Latency: median / 95th '
             f'percentile per image of the successful calls. Cost: API price per 1,000 images from the price table '
             f'(see <a href="#protocol">Protocol</a>). Every metric is in the full table below.</p>')
    body += ('<h3 id="full-table">Full table</h3>' + comparison_html(comparison, names)
             + f'<p class="note">Percent. det = detection (IoU match), e2e = end to end (match and same text), '
               f'acc = correct / gt words, acc | matched = correct / matched, CER over matched pairs. The same numbers '
               f'are in <code>{COMPARISON_FILE}</code>. – : no value (an empty denominator, or a box-based metric of '
               f'predictions without geometry).</p>' + families_html())
    body += _figure(made["headline"], "headline metrics with intervals",
                    f"Every plotted metric with its {level}% bootstrap interval, one bar per provider. Left: rates "
                    "where higher is better; right, on its own axis: error rates (CER) where lower is better.",
                    "fig-headline")
    body += ('<h3 id="ranking">Ranked by page text (every provider, with or without geometry)</h3>'
             + ranking_html(comparison, runs, names))
    sections.append(("comparison", "Comparison", body))
    iou = inputs.options.thresholds[0]
    sections.append(("iou", "Hmean against the IoU threshold", _figure(
        made["iou"], "hmean against IoU threshold",
        f"Detection and end-to-end hmean (percent) at each IoU threshold; a pair matches when its IoU is strictly "
        f"above the threshold. The tables use {iou}.", "fig-iou")))
    if "cer" in made:
        sections.append(("cer", "CER per image", _figure(
            made["cer"], "CER per image",
            "CER of each image in percent: edit distance over gt characters, counted on its matched pairs (images "
            "without a matched pair are left out); box = quartiles, whiskers = 1.5 × IQR, dots = images. "
            "Insertions count as edits, so a prediction longer than its gt word can push an image's CER past "
            "100\u00a0%.",
            "fig-cer")))
    latency = (_figure(made["latency"], "latency per image",
                       "Latency of each successful call in ms, from the run records next to the results; box = "
                       "quartiles, dots = images.", "fig-latency") if "latency" in made else
               '<p class="note">No run records with latencies were found next to the results '
               '(<code>&lt;provider&gt;.runs.csv</code>, written by <code>bench collect</code>).</p>')
    sections.append(("latency", "Latency", latency))
    parts = []
    for name, rows in tables.items():
        title = f"By category ({inputs.category_source})" if name == "category" else WORD_BREAKDOWN_TITLES[name]
        what = ("detection and end-to-end hmean (percent) of the images of each category" if name == "category"
                else "detection and end-to-end recall (percent) of the gt words in each bucket")
        plot = (_figure(made[f"breakdown_{name}"], title, f"{_e(title)}: {what}; n under each bucket.",
                        f"fig-breakdown-{name}") if f"breakdown_{name}" in made else "")
        parts.append(f'<h3 id="breakdown-{name}">{_e(title)}</h3>{plot}{breakdown_html(name, rows, names)}')
    parts.append('<p class="note">Word-level breakdowns are on the ground-truth side: each bucket holds gt words, '
                 'so they show recalls (a false prediction has no gt word). The category breakdown sums whole images '
                 'and shows every metric. Definitions are in docs/protocol.md.</p>')
    sections.append(("breakdowns", "Breakdowns", "".join(parts)))
    worst_parts = "".join(f'<h3>{_e(names[r.label])}</h3>{worst_html(k, r, worst[k], inputs)}'
                          for k, r in enumerate(runs))
    hint = (" Click a picture to open it at full size; hover a box to read its text (labels are drawn only where "
            "they fit)." if inputs.images is not None else "")
    sections.append(("worst", f"Worst images per provider (up to {inputs.worst})",
                     '<p class="note">Green: matched and read right; orange: matched, text wrong (read ≠ gt); red: '
                     f'gt word missed; blue: false prediction; grey: ignored (don\'t care).{hint}</p>' + worst_parts))
    folders = eval_folders(runs)
    per_image = "".join(f'<details{" open" if k == 0 else ""}><summary>{_e(names[r.label])}</summary>'
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
            f"{verdict_html(inputs, comparison)}"
            f"<nav><ul>{nav}</ul></nav></header><main>{content}</main></body></html>\n")


def write_report(inputs: ReportInputs, out: Path) -> ReportFiles:
    """Write every report file into ``out`` and return their paths."""
    ensure_folder(out)
    comparison = compare(inputs.runs, inputs.resamples, inputs.seed, inputs.prices)
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
