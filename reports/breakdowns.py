"""Where each provider succeeds or fails: scores split by category, text direction, text length
and box size.

The assignment rules are pure functions of one gt word (or one image path), so they are easy
to test and to quote in the docs. Word-level splits are on the ground-truth side: a bucket
holds gt words, and the scores are recalls (a false prediction has no gt word, so it belongs
to no bucket). The category split is per image, so it has every metric.
"""
from __future__ import annotations

import csv
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import shapely
from shapely import MultiPoint, minimum_rotated_rectangle

from adapters.core.errors import InputError, excerpt, read_utf8_text
from adapters.providers.results import image_key
from adapters.core.schema import Point
from eval.evaluate import Evaluation
from eval.metrics import Counts, add_up, detection, end_to_end, ratio, recognition
from eval.text import TextOptions, normalize
from gt.reader import VERTICAL_RATIO, Word

log = logging.getLogger("bench")

HORIZONTAL, VERTICAL = "horizontal", "vertical"
ORIENTATIONS = (HORIZONTAL, VERTICAL)
# (lowest length, highest length or None, label); lengths in code points after normalization.
LENGTH_BUCKETS: tuple[tuple[int, int | None, str], ...] = (
    (0, 0, "0 (empty)"), (1, 1, "1"), (2, 2, "2"), (3, 4, "3-4"), (5, 8, "5-8"), (9, None, "9+"))
# (lower bound inclusive, upper bound exclusive or None, label); the box's shorter side in pixels.
SIZE_BUCKETS: tuple[tuple[float, float | None, str], ...] = (
    (0, 16, "<16 px"), (16, 32, "16-32 px"), (32, 64, "32-64 px"), (64, None, ">=64 px"))
UNCATEGORISED = "(none)"
_EPS = 1e-9


# --- assignment rules (pure) ---------------------------------------------------------------

def extent(points: Sequence[Point]) -> tuple[float, float]:
    """Width and height of the axis-aligned box around the points (image x and y extents)."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    return (max(xs) - min(xs), max(ys) - min(ys)) if points else (0.0, 0.0)


def orientation(points: Sequence[Point], ratio_: float = VERTICAL_RATIO) -> str:
    """``vertical`` when the gt box's height >= 1.5 x its width, else ``horizontal``.

    Height and width are the polygon's y and x extents, as in AI-Hub's axis-aligned boxes
    (the original model card's H/V split), and independent of point order. A rotated box is
    judged by its extents: a horizontal word turned past about 56 degrees counts as vertical.
    A box with no extent at all is horizontal.
    """
    width, height = extent(points)
    if height <= 0:
        return HORIZONTAL
    return VERTICAL if height + _EPS * max(height, width, 1.0) >= ratio_ * width else HORIZONTAL


def text_length(text: str, options: TextOptions = TextOptions()) -> int:
    """Length of the gt text as the CER counts it: code points after NFC and the text options."""
    return len(normalize(text, options))


def length_bucket(length: int) -> str:
    for low, high, label in LENGTH_BUCKETS:
        if length >= low and (high is None or length <= high):
            return label
    raise ValueError(f"negative text length {length}")


def box_size(points: Sequence[Point]) -> float:
    """The shorter side of the smallest rotated rectangle around the box: about the glyph height
    of a horizontal word and the glyph width of a vertical one, whatever the rotation."""
    if len(points) < 3:
        return 0.0
    rect = minimum_rotated_rectangle(MultiPoint([tuple(p) for p in points]))
    if rect.geom_type != "Polygon":
        return 0.0  # collinear or coincident points: no area, no size
    corners = list(rect.exterior.coords)[:4]
    sides = [math.dist(corners[i], corners[(i + 1) % 4]) for i in range(4)]
    return min(sides)


def size_bucket(size: float) -> str:
    for low, high, label in SIZE_BUCKETS:
        if size >= low and (high is None or size < high):
            return label
    raise ValueError(f"negative box size {size}")


def category_from_path(relative: PurePath | str) -> str | None:
    """The first folder of an image's path below ``--images`` (``Goods/a.jpg`` -> ``Goods``),
    or None for an image directly in ``--images``."""
    parts = PurePath(relative).parts
    return parts[0] if len(parts) > 1 else None


# --- reading category sources (I/O) ----------------------------------------------------------

def _csv_rows(path: Path, text: str) -> Iterator[list[str]]:
    reader = csv.reader(text.splitlines())
    try:
        yield from reader
    except csv.Error as exc:  # e.g. a field over the csv module's 131,072-character limit
        raise InputError(f"{path}, line {reader.line_num}: not a CSV line ({exc})") from None


def read_categories(path: Path) -> dict[str, str]:
    """A ``stem,category`` CSV (AI-Hub's / ``bench synth``'s ``categories.csv``); header optional.

    The first column may be a stem or a file name (``a.jpg`` means ``a``). A stem listed twice
    with different categories, or a line without two fields, is an input error naming the line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such categories file")
    text = read_utf8_text(path)
    found: dict[str, str] = {}
    for number, row in enumerate(_csv_rows(path, text), start=1):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise InputError(f"{path}, line {number}: expected 'stem,category', got {excerpt(','.join(row))}")
        stem, category = image_key(row[0].strip()), row[1].strip()
        if number == 1 and stem.lower() in ("stem", "image", "file", "name") and category.lower() == "category":
            continue
        if found.get(stem, category) != category:
            raise InputError(f"{path}, line {number}: image {excerpt(stem)} is listed as {excerpt(found[stem])} and {excerpt(category)}")
        found[stem] = category
    if not found:
        raise InputError(f"{path}: no 'stem,category' lines found")
    return found


def categories_from_folders(root: Path, files: Iterable[tuple[str, Path]]) -> dict[str, str]:
    """Categories from sub-folders: ``files`` are ``(stem, path)`` pairs found under ``root``."""
    found = {}
    for stem, path in files:
        category = category_from_path(Path(path).relative_to(root))
        if category is not None:
            found[stem] = category
    return found


def report_categories(categories: Path | None, images: Path | None, image_paths: Mapping[str, Path] | None,
                      gt_stems: Iterable[str]) -> tuple[dict[str, str] | None, str]:
    """The report's image categories and where they came from: a CSV wins over sub-folders of
    ``--images``; (None, "") when neither gives any. Warns once when some gt images have none."""
    found, source = None, ""
    if categories is not None:
        found, source = read_categories(categories), f"from {categories}"
    elif images is not None and image_paths is not None:
        found = categories_from_folders(images, image_paths.items()) or None
        source = f"sub-folders of {images}" if found else ""
    if found:
        unknown = [stem for stem in gt_stems if stem not in found]
        if unknown:
            log.warning("%d gt image(s) have no category (counted as %s), e.g. %s", len(unknown), UNCATEGORISED,
                        unknown[0])
    return found, source


# --- tables ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WordOutcome:
    """What happened to one care gt word at the headline threshold."""

    stem: str
    word: Word
    matched: bool
    correct: bool
    edit_distance: int
    chars: int


def word_outcomes(evaluation: Evaluation, gt: Mapping[str, Sequence[Word]]) -> list[WordOutcome]:
    """One outcome per care gt word, from the evaluation's match rows (first threshold)."""
    options = evaluation.options.text
    out = []
    for image in evaluation.images:
        by_line = {w.line: w for w in gt.get(image.stem, ())}
        for row in image.rows:
            if row.kind not in ("match", "missed") or row.gt_line is None:
                continue
            word = by_line[row.gt_line]
            matched = row.kind == "match"
            out.append(WordOutcome(image.stem, word, matched, bool(row.correct) if matched else False,
                                   int(row.edit_distance or 0) if matched else 0,
                                   text_length(word.text, options)))
    return out


WordRule = Callable[[WordOutcome, TextOptions], str]

WORD_RULES: dict[str, tuple[WordRule, tuple[str, ...]]] = {
    "orientation": (lambda o, _opt: orientation(o.word.points), ORIENTATIONS),
    "length": (lambda o, opt: length_bucket(o.chars), tuple(label for _, _, label in LENGTH_BUCKETS)),
    "size": (lambda o, _opt: size_bucket(box_size(o.word.points)), tuple(label for _, _, label in SIZE_BUCKETS)),
}

WORD_METRICS = ("det_recall", "e2e_recall", "rec_accuracy_matched", "rec_cer")  # the word breakdowns' metrics
WORD_COLUMNS = ("provider", "bucket", "gt_words", "matched", "correct", "det_recall", "e2e_recall",
                "rec_accuracy_matched", "rec_cer")
CATEGORY_COLUMNS = ("provider", "bucket", "images", "gt_words", "pred_care", "matched", "correct",
                    "det_precision", "det_recall", "det_hmean", "e2e_precision", "e2e_recall", "e2e_hmean",
                    "rec_accuracy_micro", "rec_cer")


def word_breakdown(provider: str, outcomes: Sequence[WordOutcome], rule: WordRule, order: Sequence[str],
                   options: TextOptions) -> list[dict[str, object]]:
    """Recalls per bucket; empty buckets are left out."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])  # words, matched, correct, dist, chars
    for outcome in outcomes:
        s = sums[rule(outcome, options)]
        s[0] += 1
        s[1] += outcome.matched
        s[2] += outcome.correct
        if outcome.matched:
            s[3] += outcome.edit_distance
            s[4] += outcome.chars
    rows = []
    for bucket in order:
        if bucket not in sums:
            continue
        words, matched, correct, dist, chars = sums[bucket]
        rows.append({"provider": provider, "bucket": bucket, "gt_words": words, "matched": matched,
                     "correct": correct, "det_recall": ratio(matched, words), "e2e_recall": ratio(correct, words),
                     "rec_accuracy_matched": ratio(correct, matched), "rec_cer": ratio(dist, chars)})
    return rows


def category_breakdown(provider: str, evaluation: Evaluation, categories: Mapping[str, str]) -> list[dict[str, object]]:
    """Every metric per category: counts of the images in it, summed, then the usual formulas."""
    members: dict[str, list[Counts]] = {}
    for image in evaluation.images:
        members.setdefault(categories.get(image.stem, UNCATEGORISED), []).append(image.counts[0])
    totals = {key: add_up(counts, Counts()) for key, counts in members.items()}  # the same sums, in the same order
    rows = []
    for key in sorted(totals, key=lambda k: (k == UNCATEGORISED, k.casefold())):
        c = totals[key]
        det, e2e, rec = detection(c), end_to_end(c), recognition(c)
        rows.append({"provider": provider, "bucket": key, "images": c.images, "gt_words": c.gt_care,
                     "pred_care": c.pred_care, "matched": c.tp, "correct": c.correct,
                     "det_precision": det["precision"], "det_recall": det["recall"], "det_hmean": det["hmean"],
                     "e2e_precision": e2e["precision"], "e2e_recall": e2e["recall"], "e2e_hmean": e2e["hmean"],
                     "rec_accuracy_micro": rec["accuracy_micro"], "rec_cer": rec["cer"]})
    return rows


# --- every provider at once, each gt word's buckets computed once (bench report) ---------------

def _quads(outlines: Sequence[Sequence[Point]]) -> np.ndarray | None:
    """The outlines as an (n, 4, 2) array when every one has four points (gt words always do)."""
    if not outlines or any(len(points) != 4 for points in outlines):
        return None
    return np.array(outlines, dtype=float).reshape(len(outlines), 4, 2)


_SIZE_CHUNK = 16_384


def size_buckets(outlines: Sequence[Sequence[Point]], quads: np.ndarray | None = None) -> list[str]:
    """``size_bucket(box_size(points))`` of every outline, with the rectangles from one vectorised
    call of the same shapely function and the sides measured in numpy; a size within a hair of a
    bucket edge is measured again by ``box_size`` itself, so every bucket is the one it gives."""
    quads = _quads(outlines) if quads is None else quads
    if quads is None:
        return [size_bucket(box_size(points)) for points in outlines]
    if len(quads) > _SIZE_CHUNK:  # shapely objects are big: a chunk at a time keeps the memory small
        return [label for start in range(0, len(quads), _SIZE_CHUNK)
                for label in size_buckets(outlines[start:start + _SIZE_CHUNK], quads[start:start + _SIZE_CHUNK])]
    # GEOS starts from the convex hull of the unique points, in their order: a line through the
    # points gives the rectangle of their MultiPoint exactly (checked on 280,000 gt boxes and
    # degenerate ones), and is cheaper to build
    rects = minimum_rotated_rectangle(shapely.linestrings(quads))
    sizes = np.zeros(len(quads))
    polygons = np.flatnonzero(shapely.get_type_id(rects) == 3)  # collinear or coincident points: no size
    rings = shapely.get_exterior_ring(rects[polygons])
    closed = shapely.get_num_coordinates(rings) == 5
    corners = shapely.get_coordinates(rings[closed]).reshape(-1, 5, 2)
    sides = np.diff(corners, axis=1)
    sizes[polygons[closed]] = np.sqrt(sides[..., 0] ** 2 + sides[..., 1] ** 2).min(axis=1)
    edges = sorted({edge for low, high, _ in SIZE_BUCKETS for edge in (low, high) if edge})
    unsure = ~np.isin(np.arange(len(quads)), polygons[closed])
    for edge in edges:
        unsure |= np.abs(sizes - edge) <= 1e-9 * edge
    labels = [size_bucket(size) for size in sizes.tolist()]
    for k in np.flatnonzero(unsure & (shapely.get_type_id(rects) == 3)).tolist():
        labels[k] = size_bucket(box_size(outlines[k]))
    return labels


def orientations(outlines: Sequence[Sequence[Point]], ratio_: float = VERTICAL_RATIO,
                 quads: np.ndarray | None = None) -> list[str]:
    """``orientation`` of every outline, in numpy when all have four points (the same arithmetic)."""
    quads = _quads(outlines) if quads is None else quads
    if quads is None:
        return [orientation(points, ratio_) for points in outlines]
    width = quads[:, :, 0].max(axis=1) - quads[:, :, 0].min(axis=1)
    height = quads[:, :, 1].max(axis=1) - quads[:, :, 1].min(axis=1)
    vertical = (height > 0) & (height + _EPS * np.maximum(np.maximum(height, width), 1.0) >= ratio_ * width)
    return [VERTICAL if v else HORIZONTAL for v in vertical.tolist()]


def word_buckets(words: Sequence[Word], options: TextOptions = TextOptions()) -> tuple[list[int], dict[str, list[str]]]:
    """Each word's length (as the CER counts it) and its bucket under each built-in word rule,
    computed once per word: the buckets ``WORD_RULES`` gives the word's outcome."""
    outlines = [w.points for w in words]
    quads = _quads(outlines)
    lengths = [text_length(w.text, options) for w in words]
    return lengths, {"orientation": orientations(outlines, quads=quads), "length": [length_bucket(n) for n in lengths],
                     "size": size_buckets(outlines, quads)}


_BUILT_IN_RULES = {name: rule for name, (rule, _order) in WORD_RULES.items()}


def word_breakdowns(runs: Sequence[tuple[str, Evaluation]], gt: Mapping[str, Sequence[Word]],
                    options: TextOptions = TextOptions()) -> dict[str, dict[str, list[dict[str, object]]]]:
    """``word_breakdown`` of every rule in ``WORD_RULES`` for every ``(provider, evaluation)``:
    provider -> rule name -> the same rows, in the same order. Each care gt word's buckets are
    computed once (``word_buckets``) and every provider's sums are counted with ``np.bincount``;
    a rule added to ``WORD_RULES`` later is counted outcome by outcome, as ``word_breakdown`` does."""
    words: list[Word] = []
    index: dict[str, dict[int, int]] = {}
    for stem, image_words in gt.items():
        lines = index.setdefault(stem, {})
        for w in image_words:
            if w.care:
                lines[w.line] = len(words)
                words.append(w)
    lengths, buckets = word_buckets(words, options)
    chars = np.asarray(lengths, dtype=np.int64)
    out: dict[str, dict[str, list[dict[str, object]]]] = {}
    for provider, evaluation in runs:
        ids, matched, correct, dist = [], [], [], []
        for image in evaluation.images:
            lines = index.get(image.stem, {})
            for row in image.rows:
                kind = row.kind
                if (kind == "match" or kind == "missed") and row.gt_line is not None:
                    ids.append(lines[row.gt_line])
                    hit = kind == "match"
                    matched.append(hit)
                    correct.append(hit and bool(row.correct))
                    dist.append(int(row.edit_distance or 0) if hit else 0)
        ids_ = np.asarray(ids, dtype=np.int64)
        hit_ = np.asarray(matched, dtype=bool)
        columns = (np.ones(len(ids_), dtype=np.int64), hit_.astype(np.int64), np.asarray(correct, dtype=np.int64),
                   np.asarray(dist, dtype=np.int64), np.where(hit_, chars[ids_], 0))
        tables: dict[str, list[dict[str, object]]] = {}
        outcomes: list[WordOutcome] | None = None
        for name, (rule, order) in WORD_RULES.items():
            if name not in buckets or rule is not _BUILT_IN_RULES.get(name):
                outcomes = word_outcomes(evaluation, gt) if outcomes is None else outcomes
                tables[name] = word_breakdown(provider, outcomes, rule, order, options)
                continue
            position = {label: k for k, label in enumerate(order)}
            code = np.asarray([position.get(label, len(order)) for label in buckets[name]], dtype=np.int64)[ids_]
            sums = [np.bincount(code, weights=column, minlength=len(order) + 1)[:len(order)].astype(np.int64).tolist()
                    for column in columns]
            rows = []
            for k, bucket in enumerate(order):
                n, hits, right, distance, length = (s[k] for s in sums)
                if not n:
                    continue
                rows.append({"provider": provider, "bucket": bucket, "gt_words": n, "matched": hits,
                             "correct": right, "det_recall": ratio(hits, n), "e2e_recall": ratio(right, n),
                             "rec_accuracy_matched": ratio(right, hits), "rec_cer": ratio(distance, length)})
            tables[name] = rows
        out[provider] = tables
    return out
