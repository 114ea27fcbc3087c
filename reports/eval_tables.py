"""Write one evaluation to disk (summary.json, per_image.csv, matches.csv, sweep.csv) and
format its headline numbers for the terminal.

CSV files are UTF-8 with a BOM so Excel shows Korean text correctly when double-clicked.
"""
from __future__ import annotations

import json
from dataclasses import asdict, fields
from operator import attrgetter
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from adapters.core.atomic import ensure_folder, staged, write_text_atomic
from adapters.core.errors import InputError
from eval.evaluate import Evaluation, MatchRow
from eval.metrics import (IMAGE_COUNTS, SUMMARY_COUNTS, Counts, Metric, blocks, count_columns_per_row, family,
                          flat_scores, metrics, scores_per_row)
from eval.protocols import cleval_options
from reports.csv_files import FORMULA_FIRST_CHARS, spreadsheet_safe, write_csv, write_csv_rows

SUMMARY_FILE = "summary.json"
PER_IMAGE_FILE = "per_image.csv"
MATCHES_FILE = "matches.csv"
SWEEP_FILE = "sweep.csv"


def summary_document(evaluation: Evaluation, provider: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``summary.json``: headline numbers (the IoU protocol's at the first threshold), plus how they were made.

    The blocks are those of the families the protocol reports (``ImageEvaluation.families``):
    the IoU protocol's ``detection``, ``end_to_end``, ``recognition``, then ``cleval``, then
    ``page_text`` (always)."""
    options = evaluation.options
    total = evaluation.totals(0)
    protocol: dict[str, Any] = {"thresholds": list(options.thresholds)} if options.reports_iou else {}
    protocol.update({"min_score": options.min_score, "text": asdict(options.text), "unicode_normalization": "NFC"})
    if options.reports_cleval:
        protocol["cleval"] = asdict(cleval_options(options.text))
    doc = {
        "provider": provider,
        **({"iou": options.thresholds[0]} if options.reports_iou else {}),
        **{name: getattr(total, name) for name in SUMMARY_COUNTS},
        **blocks(*evaluation.family_totals(0)),
        "unknown_predictions": len(evaluation.unknown_predictions),
        "protocol": protocol,
    }
    doc.update(extra or {})
    return doc


def per_image_columns(evaluation: Evaluation) -> dict[str, list[Any]]:
    """``per_image.csv`` as a column per name, in column order: each image's status, its counts
    of every protocol, then each reported family's counts and scores (computed a column at a time)."""
    images = evaluation.images
    if not images:
        return {"image": []}
    columns: dict[str, list[Any]] = {"image": [image.stem for image in images],
                                     "status": [image.status for image in images],
                                     "error": [image.error or "" for image in images]}
    first = [image.counts[0] for image in images]
    columns.update({name: [getattr(c, name) for c in first] for name in IMAGE_COUNTS})
    iou = evaluation.options.reports_iou
    families = [image.families(0, iou) for image in images]
    for f, kind in enumerate(type(c) for c in families[0]):
        rows = [each[f] for each in families]
        columns.update(count_columns_per_row(rows, kind))
        columns.update(scores_per_row(rows, kind))
    return columns


def per_image_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    """One row per image (``per_image_columns``) as a dict."""
    columns = per_image_columns(evaluation)
    return [dict(zip(columns, row)) for row in zip(*columns.values())]


def _per_image_cells(columns: dict[str, list[Any]]) -> Iterator[tuple[Any, ...]]:
    """``per_image_columns`` as rows for ``write_csv_rows``: its text columns spreadsheet-safe."""
    safe = [[spreadsheet_safe(v) for v in values] if name in ("image", "status", "error") else values
            for name, values in columns.items()]
    return zip(*safe)


def sweep_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    """One row per IoU threshold: the IoU protocol's counts and scores."""
    rows = []
    for k, threshold in enumerate(evaluation.options.thresholds):
        counts = evaluation.totals(k)
        rows.append({"iou": threshold, "gt_care": counts.gt_care, "pred_care": counts.pred_care,
                     "tp": counts.tp, "correct": counts.correct, **flat_scores(counts)})
    return rows


_MATCH_COLUMNS = tuple(f.name for f in fields(MatchRow))
_MATCH_TEXT_CELLS = tuple(k for k, name in enumerate(_MATCH_COLUMNS) if name in ("image", "kind", "gt_text", "pred_text"))


def match_cells(evaluation: Evaluation) -> Iterator[tuple[Any, ...]]:
    """The rows of ``matches.csv`` as tuples in column order, spreadsheet-safe (for
    ``write_csv_rows``): one C call reads a row's fields, and only a row with a text that starts
    like a formula goes through ``spreadsheet_safe`` (asdict + DictWriter was a third of bench eval)."""
    cells_of = attrgetter(*_MATCH_COLUMNS)
    for image in evaluation.images:
        for row in image.rows:
            cells = cells_of(row)
            for k in _MATCH_TEXT_CELLS:
                value = cells[k]
                if value and value[0] in FORMULA_FIRST_CHARS:
                    cells = tuple(spreadsheet_safe(v) for v in cells)
                    break
            yield cells


def check_out_dir(out: Path) -> None:
    """Fail before any work when ``--out`` names an existing file."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: --out must be a folder, and a file of that name exists")


def prepare_out_dir(out: Path) -> None:
    """Create the output folder, or say clearly why it cannot be (exit code 2, not a traceback)."""
    check_out_dir(out)
    ensure_folder(out)


def write_evaluation(out: Path, evaluation: Evaluation, provider: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write every output file into ``out`` and return the summary document.

    The four files replace older ones together once all are written, or none does.
    """
    prepare_out_dir(out)
    doc = summary_document(evaluation, provider, extra)
    with staged():
        write_text_atomic(out / SUMMARY_FILE, json.dumps(doc, ensure_ascii=False, indent=2))
        per_image = per_image_columns(evaluation)
        write_csv_rows(out / PER_IMAGE_FILE, _per_image_cells(per_image), list(per_image))
        if evaluation.options.reports_iou:  # matches and the sweep are the IoU protocol's
            write_csv_rows(out / MATCHES_FILE, match_cells(evaluation), _MATCH_COLUMNS)
            sweep = sweep_rows(evaluation)
            write_csv(out / SWEEP_FILE, sweep, list(sweep[0]))
    return doc


def written_files(evaluation: Evaluation) -> list[str]:
    """The files ``write_evaluation`` writes for this evaluation's protocol."""
    return [SUMMARY_FILE, PER_IMAGE_FILE, *((MATCHES_FILE, SWEEP_FILE) if evaluation.options.reports_iou else ())]


def shown(m: Metric, value: Any) -> str:
    """A metric's value as the terminal shows it: scaled, two decimals; "–" when it has none."""
    if value is None or value != value:  # None, or NaN
        return "–"
    return f"{m.scale * value:.2f}"


def _columns(header: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    return ["  ".join(h.rjust(w) for h, w in zip(header, widths)),
            *("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in body)]


def format_table(evaluation: Evaluation, provider: str) -> str:
    """Plain-text tables of the headline numbers, for the terminal: the IoU protocol's at every
    threshold (when reported), then one line for each other family (CLEval, page text, ...)."""
    total = evaluation.totals(0)
    lines = [
        f"provider {provider}: {total.images} images, {total.gt_care} gt words "
        f"(+{total.gt_dont_care} don't care), {total.pred_care} predictions scored",
        f"missing predictions {total.missing_predictions}, errors {total.errors}, "
        f"discarded (don't care) {total.pred_discarded}, no geometry {total.no_geometry}"
        + (f", below min score {total.below_min_score}" if total.below_min_score else ""),
        "",
    ]
    if evaluation.options.reports_iou:
        iou_metrics = [m for m in metrics(Counts) if m.terminal]
        body = [[f"{row['iou']:.2f}"] + [shown(m, row[m.name]) for m in iou_metrics] for row in sweep_rows(evaluation)]
        lines += _columns(["IoU", *(m.terminal for m in iou_metrics)], body)
        lines.append("(percent; acc = correct / gt words, acc|m = correct / matched, CER over matched pairs)")
    for counts in evaluation.family_totals(0):
        if isinstance(counts, Counts):
            continue
        entries = [m for m in metrics(type(counts)) if m.terminal]
        scores = flat_scores(counts)
        lines += [""] * (lines[-1] != "") + [f"{family(type(counts)).title} (percent):"]
        lines += _columns([m.terminal for m in entries], [[shown(m, scores[m.name]) for m in entries]])
    return "\n".join(lines)


def brief(scores: Mapping[str, Any]) -> str:
    """The metrics marked ``brief`` as one line of text ("det H 30.16, e2e H 19.96, ...")."""
    return ", ".join(f"{m.label} {shown(m, scores.get(m.name))}" for m in metrics() if m.brief)
