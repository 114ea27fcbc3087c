"""Page-level text metrics: how well a provider reads the whole page, boxes aside.

CLEval and the IoU protocol score text box by box, so a provider that reads every word right
but draws its boxes differently (one box per line, say) is scored on its boxes as much as on its
reading. These metrics ignore boxes beyond putting texts in reading order: each side of an image
becomes one page of text, and the pages are compared.

* ``cer``: Levenshtein distance between the pages (white space removed, texts concatenated in
  reading order) over the ground-truth page length, both summed over images. Order-sensitive,
  so reading order mistakes cost, and it can exceed 1 when a provider invents text.
* character and word precision / recall / F1: order-free, from the multiset intersection of the
  two pages' characters (white space removed) or white-space-separated words.
* ``cer_variants``: the CER again with spacing kept, punctuation removed, case ignored, or
  Hangul split into jamo, to tell which kind of error dominates.

All counts add up over images (``+``); the metrics come from the sums.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from eval.text import TextOptions, decompose_jamo, edit_distance, normalize

Normalizer = Callable[[str], str]


def default_normalize(text: str) -> str:
    """``eval.text.normalize`` with default options: NFC, surrounding white space stripped."""
    return normalize(text, TextOptions())


class _Addable:
    """``+`` and ``sum()`` for frozen dataclasses of numbers."""

    def __add__(self, other: Any) -> Any:
        if type(other) is not type(self):
            return NotImplemented
        return type(self)(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __radd__(self, other: Any) -> Any:
        if other == 0:
            return self
        return NotImplemented


# --------------------------------------------------------------------------------------------
# Reading order


def reading_order(polygons_or_none: Sequence) -> list[int]:
    """Indices of the items in reading order: lines top to bottom, each line left to right.

    Items with geometry are sorted by the centre y of their axis-aligned bounding box, then
    centre x, then position. Walking that list, an item joins the current line while its centre
    y lies within the vertical extent (inclusive) of the line's first item; otherwise it opens a
    new line. Each line is then ordered by centre x, then position. Items without geometry
    (``None`` or no points) follow in the order given. The same rule serves ground truth and
    predictions, so neither side is favoured.
    """
    placed, unplaced, bounds = _bounds(polygons_or_none)
    return _order(placed, unplaced, bounds.tolist())


def reading_order_of_boxes(boxes: Sequence[Sequence[float] | None]) -> list[int] | None:
    """``reading_order`` from the items' axis-aligned bounds ``(x0, y0, x1, y1)`` (None for an item
    without geometry), e.g. what ``shapely.bounds`` gave for polygons already made; None when a
    box is not finite (an outline that bounds cannot stand for: ``reading_order`` reads it)."""
    placed: list[int] = []
    unplaced: list[int] = []
    placed_boxes: list[Sequence[float]] = []
    for index, box in enumerate(boxes):
        if box is None:
            unplaced.append(index)
        elif math.isfinite(box[0] + box[1] + box[2] + box[3]):
            placed.append(index)
            placed_boxes.append(box)
        else:
            return None
    return _order(placed, unplaced, placed_boxes)


def _order(placed: list[int], unplaced: list[int], boxes: Sequence[Sequence[float]]) -> list[int]:
    """The reading order rule of ``reading_order`` over the bounds of the placed items."""
    if not placed:
        return unplaced
    centre_x = [(x0 + x1) / 2 for x0, _, x1, _ in boxes]
    centre_y = [(y0 + y1) / 2 for _, y0, _, y1 in boxes]
    lines: list[list[tuple[float, int]]] = []  # (centre x, k) of each item of each line
    top = bottom = 0.0
    for y, x, k in sorted(zip(centre_y, centre_x, range(len(placed)))):
        if lines and top <= y <= bottom:
            lines[-1].append((x, k))
        else:
            lines.append([(x, k)])
            top, bottom = boxes[k][1], boxes[k][3]
    ordered = []
    for line in lines:
        ordered += [placed[k] for _, k in (sorted(line) if len(line) > 1 else line)]
    return ordered + unplaced


def _bounds(polygons_or_none: Sequence) -> tuple[list[int], list[int], np.ndarray]:
    """(indices with geometry, indices without, their axis-aligned bounds ``(n, 4)``: x0 y0 x1 y1)."""
    if len(polygons_or_none) and all(p is not None for p in polygons_or_none):
        try:  # the usual case, every item with as many points: one conversion
            points = np.asarray(polygons_or_none, dtype=np.float64)
        except (ValueError, TypeError):
            points = None
        if (points is not None and points.ndim == 3 and points.shape[1] > 0 and points.shape[2] == 2
                and np.isfinite(points).all()):
            bounds = np.concatenate([points.min(axis=1), points.max(axis=1)], axis=1)
            return list(range(len(points))), [], bounds
    placed, unplaced, boxes = [], [], []
    for index, polygon in enumerate(polygons_or_none):
        points = _points_or_none(polygon)
        if points is None:
            unplaced.append(index)
            continue
        placed.append(index)
        boxes.append((points[:, 0].min(), points[:, 1].min(), points[:, 0].max(), points[:, 1].max()))
    return placed, unplaced, np.array(boxes, dtype=np.float64).reshape(-1, 4)


def _points_or_none(polygon: Any) -> np.ndarray | None:
    """The polygon's points as ``(n, 2)``, or None when it has no usable geometry."""
    if polygon is None:
        return None
    points = np.asarray(polygon, dtype=np.float64)
    if points.size == 0 or points.size % 2:
        return None
    points = points.reshape(-1, 2)
    if not np.isfinite(points).all():
        return None
    return points


def texts_in_reading_order(polygons_or_none: Sequence, texts: Sequence[str]) -> list[str]:
    """``texts`` rearranged by ``reading_order`` of their polygons."""
    if len(polygons_or_none) != len(texts):
        raise ValueError("polygons and texts differ in length")
    return [texts[k] for k in reading_order(polygons_or_none)]


# --------------------------------------------------------------------------------------------
# Page counts and metrics


@dataclass(frozen=True)
class PageTextCounts(_Addable):
    """Sums over images. ``edit_distance``/``gt_chars`` is the CER; ``common_*`` are the
    multiset intersections behind precision and recall; ``pages`` and ``ned_sum`` give the mean
    per-page normalised edit distance (OmniDocBench style)."""

    edit_distance: int = 0
    gt_chars: int = 0
    pred_chars: int = 0
    common_chars: int = 0
    gt_words: int = 0
    pred_words: int = 0
    common_words: int = 0
    pages: int = 0
    ned_sum: float = 0.0


def _normalized(texts: Sequence[str], normalize_fn: Normalizer) -> list[str]:
    """NFC, then the caller's normalisation, then NFC again (whatever the function returns)."""
    return [unicodedata.normalize("NFC", normalize_fn(unicodedata.normalize("NFC", t or ""))) for t in texts]


def _no_space(text: str) -> str:
    return "".join(text.split())


def page_text_counts(gt_texts_in_order: Sequence[str], pred_texts_in_order: Sequence[str],
                     normalize_fn: Normalizer = default_normalize) -> PageTextCounts:
    """Counts for one image; an image with no answer is ``pred_texts_in_order=[]``."""
    return _page_text_counts(_normalized(gt_texts_in_order, normalize_fn), _normalized(pred_texts_in_order, normalize_fn))


def _page_text_counts(gt: list[str], pred: list[str], pages: tuple[str, str] | None = None,
                      distance: int | None = None) -> PageTextCounts:
    """``page_text_counts`` of normalised texts; ``pages`` (both pages without spaces) and their
    ``distance`` when the caller has them already."""
    gt_page, pred_page = pages if pages is not None else _pages(gt, pred)
    gt_tokens = [w for t in gt for w in t.split()]
    pred_tokens = [w for t in pred for w in t.split()]
    if distance is None:
        distance = edit_distance(gt_page, pred_page)
    longest = max(len(gt_page), len(pred_page))
    return PageTextCounts(
        edit_distance=distance,
        gt_chars=len(gt_page),
        pred_chars=len(pred_page),
        common_chars=_common(gt_page, pred_page),
        gt_words=len(gt_tokens),
        pred_words=len(pred_tokens),
        common_words=_common(gt_tokens, pred_tokens),
        pages=1,
        ned_sum=distance / longest if longest else 0.0,
    )


def _pages(gt: list[str], pred: list[str]) -> tuple[str, str]:
    """Each side's page: its normalised texts joined, white space removed."""
    return _no_space("".join(gt)), _no_space("".join(pred))


def _common(a: Sequence, b: Sequence) -> int:
    """Size of the multiset intersection."""
    if not a or not b:
        return 0
    counts_b = Counter(b)
    return sum(min(n, counts_b[key]) for key, n in Counter(a).items() if key in counts_b)


def page_text_metrics(counts: PageTextCounts) -> dict[str, float | int | None]:
    """CER, character and word precision / recall / F1 and the counts; empty denominators give None."""
    char_p = _ratio(counts.common_chars, counts.pred_chars)
    char_r = _ratio(counts.common_chars, counts.gt_chars)
    word_p = _ratio(counts.common_words, counts.pred_words)
    word_r = _ratio(counts.common_words, counts.gt_words)
    return {
        "cer": _ratio(counts.edit_distance, counts.gt_chars),
        "char_precision": char_p,
        "char_recall": char_r,
        "char_f1": _f1(char_p, char_r),
        "word_precision": word_p,
        "word_recall": word_r,
        "word_f1": _f1(word_p, word_r),
        "page_ned": _ratio(counts.ned_sum, counts.pages),
        **{f.name: getattr(counts, f.name) for f in fields(counts)},
    }


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


# --------------------------------------------------------------------------------------------
# What kind of error: the CER under other comparisons


@dataclass(frozen=True)
class CerCounts(_Addable):
    """Edit distance and ground-truth length of one comparison, summed over images."""

    distance: int = 0
    length: int = 0

    @property
    def cer(self) -> float | None:
        return _ratio(self.distance, self.length)


@dataclass(frozen=True)
class CerVariants(_Addable):
    """The page CER under five comparisons (each adds up over images).

    * ``no_space``: white space removed -- the page CER of ``page_text_counts``;
    * ``spaced``: texts joined by one space, runs of white space collapsed (spacing errors count);
    * ``no_punct``: as ``no_space`` with punctuation (Unicode category P*) removed;
    * ``casefold``: as ``no_space`` with case ignored;
    * ``jamo``: as ``no_space`` with Hangul syllables split into conjoining jamo, so a wrong
      final consonant costs one, not a whole syllable.
    """

    no_space: CerCounts = CerCounts()
    spaced: CerCounts = CerCounts()
    no_punct: CerCounts = CerCounts()
    casefold: CerCounts = CerCounts()
    jamo: CerCounts = CerCounts()

    def flat(self) -> CerVariantCounts:
        """The same numbers as one flat dataclass of counts (what the metric table and the bootstrap read)."""
        values: dict[str, int] = {}
        for f in fields(self):
            counts = getattr(self, f.name)
            values[f"{f.name}_distance"], values[f"{f.name}_length"] = counts.distance, counts.length
        return CerVariantCounts(**values)


@dataclass(frozen=True)
class CerVariantCounts(_Addable):
    """``CerVariants`` flattened: ``<variant>_distance`` and ``<variant>_length`` for each variant."""

    no_space_distance: int = 0
    no_space_length: int = 0
    spaced_distance: int = 0
    spaced_length: int = 0
    no_punct_distance: int = 0
    no_punct_length: int = 0
    casefold_distance: int = 0
    casefold_length: int = 0
    jamo_distance: int = 0
    jamo_length: int = 0


_SPACES = re.compile(r"\s+")


class _DropPunctuation(dict):
    """A ``str.translate`` table that deletes punctuation (Unicode category P*), filled as
    characters are met."""

    def __missing__(self, code: int) -> int | None:
        value = None if unicodedata.category(chr(code)).startswith("P") else code
        self[code] = value
        return value


_DROP_PUNCTUATION = _DropPunctuation()


def _without_punct(text: str) -> str:
    return text.translate(_DROP_PUNCTUATION)


def _cer_counts(gt: str, pred: str) -> CerCounts:
    return CerCounts(edit_distance(gt, pred), len(gt))


def cer_variants(gt_texts_in_order: Sequence[str], pred_texts_in_order: Sequence[str],
                 normalize_fn: Normalizer = default_normalize) -> CerVariants:
    """The five CER counts of one image (see ``CerVariants``)."""
    return _cer_variants(_normalized(gt_texts_in_order, normalize_fn), _normalized(pred_texts_in_order, normalize_fn))


def _variant_texts(gt: list[str], pred: list[str], pages: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """The (gt, prediction) texts each CER variant compares, in ``CerVariants`` field order."""
    gt_page, pred_page = pages
    gt_spaced = _SPACES.sub(" ", " ".join(gt)).strip()
    pred_spaced = _SPACES.sub(" ", " ".join(pred)).strip()
    return ((gt_page, pred_page), (gt_spaced, pred_spaced), (_without_punct(gt_page), _without_punct(pred_page)),
            (gt_page.casefold(), pred_page.casefold()), (decompose_jamo(gt_page), decompose_jamo(pred_page)))


def _cer_variants(gt: list[str], pred: list[str]) -> CerVariants:
    return CerVariants(*(_cer_counts(a, b) for a, b in _variant_texts(gt, pred, _pages(gt, pred))))


def cer_variant_metrics(variants: CerVariants) -> dict[str, float | None]:
    """``{"cer_no_space": ..., "cer_spaced": ..., ...}`` from summed variants."""
    return {f"cer_{f.name}": getattr(variants, f.name).cer for f in fields(variants)}


def normalized_page_counts(gt: list[str], pred: list[str]) -> tuple[PageTextCounts, CerVariantCounts]:
    """``page_text_counts`` and ``cer_variants`` (flat) of texts already normalised (each
    ``NFC(normalize(NFC(t)))``, as ``_normalized`` makes them): what scoring a batch of images
    needs, each page and edit distance computed once for both."""
    pages = _pages(gt, pred)
    values: list[int] = []
    for a, b in _variant_texts(gt, pred, pages):
        values += (edit_distance(a, b), len(a))
    return _page_text_counts(gt, pred, pages, values[0]), CerVariantCounts(*values)
