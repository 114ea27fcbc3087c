"""Write one evaluation to disk (summary.json, per_image.csv, matches.csv, sweep.csv) and
format its headline numbers for the terminal.

CSV files are UTF-8 with a BOM so Excel shows Korean text correctly when double-clicked.
"""
from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

from adapters.core.atomic import ensure_folder, staged, write_text_atomic
from adapters.core.errors import InputError
from eval.evaluate import Evaluation, MatchRow
from eval.metrics import flat_scores, metrics, summary
from reports.csv_files import write_csv

SUMMARY_FILE = "summary.json"
PER_IMAGE_FILE = "per_image.csv"
MATCHES_FILE = "matches.csv"
SWEEP_FILE = "sweep.csv"


def summary_document(evaluation: Evaluation, provider: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``summary.json``: headline numbers at the first threshold, plus how they were made."""
    options = evaluation.options
    doc = {
        "provider": provider,
        "iou": options.thresholds[0],
        **summary(evaluation.totals(0)),
        "unknown_predictions": len(evaluation.unknown_predictions),
        "protocol": {
            "thresholds": list(options.thresholds),
            "min_score": options.min_score,
            "text": asdict(options.text),
            "unicode_normalization": "NFC",
        },
    }
    doc.update(extra or {})
    return doc


def per_image_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    rows = []
    for image in evaluation.images:
        counts = image.counts[0]
        row: dict[str, Any] = {"image": image.stem, "status": image.status, "error": image.error or ""}
        row.update({f.name: getattr(counts, f.name) for f in fields(counts)
                    if f.name not in ("images", "accuracy_sum", "images_with_care",
                                      "missing_predictions", "errors")})
        row.update(flat_scores(counts))
        rows.append(row)
    return rows


def sweep_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    rows = []
    for k, threshold in enumerate(evaluation.options.thresholds):
        counts = evaluation.totals(k)
        rows.append({"iou": threshold, "gt_care": counts.gt_care, "pred_care": counts.pred_care,
                     "tp": counts.tp, "correct": counts.correct, **flat_scores(counts)})
    return rows


def match_rows(evaluation: Evaluation) -> Iterable[dict[str, Any]]:
    for image in evaluation.images:
        for row in image.rows:
            yield asdict(row)


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
        per_image = per_image_rows(evaluation)
        write_csv(out / PER_IMAGE_FILE, per_image, list(per_image[0]) if per_image else ["image"])
        write_csv(out / MATCHES_FILE, match_rows(evaluation), [f.name for f in fields(MatchRow)])
        sweep = sweep_rows(evaluation)
        write_csv(out / SWEEP_FILE, sweep, list(sweep[0]))
    return doc


def format_table(evaluation: Evaluation, provider: str) -> str:
    """A plain-text table of the headline numbers at every threshold, for the terminal."""
    total = evaluation.totals(0)
    lines = [
        f"provider {provider}: {total.images} images, {total.gt_care} gt words "
        f"(+{total.gt_dont_care} don't care), {total.pred_care} predictions scored",
        f"missing predictions {total.missing_predictions}, errors {total.errors}, "
        f"discarded (don't care) {total.pred_discarded}, no geometry {total.no_geometry}"
        + (f", below min score {total.below_min_score}" if total.below_min_score else ""),
        "",
    ]
    shown = [m for m in metrics() if m.terminal]
    header = ["IoU", *(m.terminal for m in shown)]
    body = []
    for row in sweep_rows(evaluation):
        body.append([f"{row['iou']:.2f}"] + [f"{m.scale * row[m.name]:.2f}" for m in shown])
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    lines.append("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    lines.extend("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in body)
    lines.append("(percent; acc = correct / gt words, acc|m = correct / matched, CER over matched pairs)")
    return "\n".join(lines)


def brief(scores: Mapping[str, Any]) -> str:
    """The metrics marked ``brief`` as one line of text ("det H 30.16, e2e H 19.96, ...")."""
    return ", ".join(f"{m.label} {m.scale * scores[m.name]:.2f}" for m in metrics() if m.brief)
