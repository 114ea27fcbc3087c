"""A naive, single-file evaluator: the yardstick ``benchmarks/eval_whole.py`` times ``bench eval`` against.

It reads the same inputs as ``bench eval`` (a gt folder of ``gt_<stem>.txt`` / ``<stem>.txt``
files, and a results file that is either the project's schema or CLOVA raw responses keyed by
image), matches every (gt, prediction) pair of an image with one shapely ``Polygon`` at a
time, and writes the same numbers: ``summary.json`` (the counts and every metric at the first
IoU threshold), ``per_image.csv`` (each image's counts) and ``matches.csv`` (one row per
matched pair or lone item). It follows the README protocol with the default text options and
no ``--min-score``; it is written independently of ``eval/`` and imports nothing from the
project, as somebody would write it by hand.

Usage:
    python benchmarks/naive_eval.py --gt DIR --results FILE --out DIR [--iou 0.5]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import unicodedata

import Levenshtein
from shapely.geometry import Polygon

DONT_CARE = "###"
COUNTS = ("images", "missing_predictions", "errors", "gt_care", "gt_dont_care", "pred_total", "below_min_score",
          "no_geometry", "pred_discarded", "pred_care", "tp", "correct", "edit_distance", "gt_chars",
          "jamo_distance", "gt_jamo", "images_with_care", "accuracy_sum")


def read_gt(folder: str) -> dict[str, list[tuple[list[tuple[float, float]], str, bool, int]]]:
    """stem -> [(points, text, care, line number)]."""
    gt = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if not name.lower().endswith(".txt"):
                continue
            stem = name[:-4]
            for prefix in ("gt_", "res_"):
                if stem.startswith(prefix) and len(stem) > len(prefix):
                    stem = stem[len(prefix):]
                    break
            with open(os.path.join(root, name), "rb") as handle:
                text = handle.read().decode("utf-8-sig")
            words = []
            for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
                if not line.strip():
                    continue
                parts = line.split(",", 8)
                values = [float(v) for v in parts[:8]]
                word = parts[8].strip() if len(parts) == 9 else ""
                points = [(values[k], values[k + 1]) for k in range(0, 8, 2)]
                words.append((points, word, unicodedata.normalize("NFC", word) != DONT_CARE, number))
            gt[stem] = words
    return gt


def read_results(path: str) -> dict[str, tuple[str, list[tuple[list[tuple[float, float]] | None, str, float | None]]]]:
    """stem -> (status, [(points or None, text, confidence)]) from a schema file or CLOVA raw responses."""
    with open(path, "rb") as handle:
        doc = json.loads(handle.read().decode("utf-8-sig"))
    out = {}
    if doc.get("schema") == "korean-ocr-bench/results":
        for stem, entry in doc["images"].items():
            if entry["status"] != "ok":
                out[stem] = ("error", [])
                continue
            out[stem] = ("ok", [(None if it.get("polygon") is None else [tuple(p) for p in it["polygon"]],
                                 it["text"], it.get("confidence")) for it in entry["items"]])
        return out
    for key, raw in doc.items():
        stem = os.path.splitext(key)[0] if key.lower().endswith((".jpg", ".jpeg", ".png")) else key
        if "images" not in raw or raw["images"][0].get("inferResult", "SUCCESS") != "SUCCESS":
            out[stem] = ("error", [])
            continue
        items = []
        for field in raw["images"][0].get("fields", []):
            poly = field.get("boundingPoly")
            points = None if poly is None else [(float(v.get("x", 0)), float(v.get("y", 0))) for v in poly["vertices"]]
            conf = field.get("inferConfidence")
            items.append((points, field.get("inferText", ""), None if conf is None else min(1.0, max(0.0, conf))))
        out[stem] = ("ok", items)
    return out


def polygon(points) -> Polygon:
    """Protocol rule 2: a self-intersecting outline is read as its convex hull; < 3 points have no area."""
    if len(points) < 3:
        return Polygon()
    shape = Polygon(points)
    return shape if shape.is_valid else shape.convex_hull


def norm(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def jamo(text: str) -> str:
    return "".join(unicodedata.normalize("NFD", ch) if "\uac00" <= ch <= "\ud7a3" else ch for ch in text)


def evaluate_image(stem, words, result, threshold, matches):
    status, items = result if result is not None else ("missing", [])
    care = [w for w in words if w[2]]
    dont_care = [w for w in words if not w[2]]
    dont_care_polygons = [polygon(w[0]) for w in dont_care]
    for w in dont_care:
        matches.append([stem, "dont_care", w[3], None, None, w[1], None, None, None, None, None])
    scored, no_geometry = [], 0
    for index, (points, text, conf) in enumerate(items):
        if points is None:
            no_geometry += 1
            matches.append([stem, "no_geometry", None, index, None, None, text, None, None, None, conf])
        else:
            scored.append((index, polygon(points)))
    kept, discarded = [], 0
    for index, shape in scored:
        area = shape.area
        if area > 0 and any(shape.intersection(d).area / area > 0.5 for d in dont_care_polygons):
            discarded += 1
            _, text, conf = items[index]
            matches.append([stem, "discarded", None, index, None, None, text, None, None, None, conf])
        else:
            kept.append((index, shape))
    gt_shapes = [polygon(w[0]) for w in care]
    candidates = []
    for g, gt_shape in enumerate(gt_shapes):
        for p, (_, pred_shape) in enumerate(kept):
            inter = gt_shape.intersection(pred_shape).area
            if gt_shape.area > 0 and pred_shape.area > 0 and inter > 0:
                candidates.append((inter / (gt_shape.area + pred_shape.area - inter), g, p))
    candidates.sort(key=lambda c: (-round(c[0], 9), c[1], c[2]))
    used_g, used_p = set(), set()
    tp = correct = dist = chars = jamo_dist = jamo_chars = 0
    for iou, g, p in candidates:
        if iou <= threshold or g in used_g or p in used_p:
            continue
        used_g.add(g)
        used_p.add(p)
        index = kept[p][0]
        _, pred_raw, conf = items[index]
        gt_text, pred_text = norm(care[g][1]), norm(pred_raw)
        ok = gt_text == pred_text
        d = Levenshtein.distance(gt_text, pred_text)
        jd = Levenshtein.distance(jamo(gt_text), jamo(pred_text))
        tp, correct, dist, chars = tp + 1, correct + ok, dist + d, chars + len(gt_text)
        jamo_dist, jamo_chars = jamo_dist + jd, jamo_chars + len(jamo(gt_text))
        matches.append([stem, "match", care[g][3], index, iou, care[g][1], pred_raw, ok, d, jd, conf])
    for g, w in enumerate(care):
        if g not in used_g:
            matches.append([stem, "missed", w[3], None, None, w[1], None, None, None, None, None])
    for p, (index, _) in enumerate(kept):
        if p not in used_p:
            _, text, conf = items[index]
            matches.append([stem, "false", None, index, None, None, text, None, None, None, conf])
    return {"images": 1, "missing_predictions": int(status == "missing"), "errors": int(status == "error"),
            "gt_care": len(care), "gt_dont_care": len(dont_care), "pred_total": len(items), "below_min_score": 0,
            "no_geometry": no_geometry, "pred_discarded": discarded, "pred_care": len(kept), "tp": tp,
            "correct": correct, "edit_distance": dist, "gt_chars": chars, "jamo_distance": jamo_dist,
            "gt_jamo": jamo_chars, "images_with_care": int(bool(care)),
            "accuracy_sum": correct / len(care) if care else 0.0}


def ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def scores(c: dict) -> dict:
    det_p, det_r = ratio(c["tp"], c["pred_care"]), ratio(c["tp"], c["gt_care"])
    e2e_p, e2e_r = ratio(c["correct"], c["pred_care"]), ratio(c["correct"], c["gt_care"])
    return {"det_precision": det_p, "det_recall": det_r, "det_hmean": ratio(2 * det_p * det_r, det_p + det_r),
            "e2e_precision": e2e_p, "e2e_recall": e2e_r, "e2e_hmean": ratio(2 * e2e_p * e2e_r, e2e_p + e2e_r),
            "rec_accuracy_micro": ratio(c["correct"], c["gt_care"]),
            "rec_accuracy_macro": ratio(c["accuracy_sum"], c["images_with_care"]),
            "rec_accuracy_matched": ratio(c["correct"], c["tp"]),
            "rec_cer": ratio(c["edit_distance"], c["gt_chars"]), "rec_jamo_cer": ratio(c["jamo_distance"], c["gt_jamo"])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gt", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--iou", type=float, default=0.5)
    args = parser.parse_args(argv)
    gt, results = read_gt(args.gt), read_results(args.results)
    total = dict.fromkeys(COUNTS, 0)
    per_image, matches = [], []
    for stem in sorted(gt):
        counts = evaluate_image(stem, gt[stem], results.get(stem), args.iou, matches)
        per_image.append({"image": stem, **counts})
        for name in COUNTS:
            total[name] += counts[name]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump({"iou": args.iou, **total, **scores(total),
                   "unknown_predictions": len(set(results) - set(gt))}, handle, indent=2)
    with open(os.path.join(args.out, "per_image.csv"), "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", *COUNTS])
        writer.writerows([row["image"], *(row[name] for name in COUNTS)] for row in per_image)
    with open(os.path.join(args.out, "matches.csv"), "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "kind", "gt_line", "pred_index", "iou", "gt_text", "pred_text", "correct",
                         "edit_distance", "jamo_distance", "confidence"])
        writer.writerows(["" if v is None else v for v in row] for row in matches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
