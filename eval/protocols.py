"""CLEval and page text for one image, from what the IoU protocol has already sorted out.

``eval.evaluate`` decides, once per image, which predictions count: items below ``--min-score``
are dropped first, items without geometry are set aside, predictions mostly inside a don't-care
region are discarded. The other metric families take their inputs from that same sorting, so the
three protocols always score the same predictions (docs/cleval.md, "Which predictions count"):

* CLEval: the gt words (don't-care ones as don't-care regions) against every item with geometry
  not below ``--min-score``; CLEval applies its own don't-care rule, so the IoU protocol's
  discarding does not apply. Items without geometry are not CLEval detections.
* page text: the care gt words against every prediction that counts (with geometry, not below
  ``--min-score`` nor discarded; plus every item without geometry not below ``--min-score``),
  each side in reading order.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from adapters.core.schema import Item, Point
from eval.cleval import ClevalOptions, evaluate_images, unquote
from eval.metrics import ClevalTableCounts
from eval.page_text import CerVariantCounts, PageTextCounts, normalized_page_counts, reading_order, reading_order_of_boxes
from eval.text import TextOptions, normalize
from gt.reader import Word

IOU, CLEVAL, BOTH = "iou", "cleval", "both"
PROTOCOLS = (IOU, CLEVAL, BOTH)


def cleval_options(text: TextOptions) -> ClevalOptions:
    """The package's settings for these text options: its defaults, except that ``--ignore-case``
    (or ``--icdar15``, which upper-cases too) turns its case sensitivity off."""
    return ClevalOptions(case_sensitive=not (text.ignore_case or text.icdar15))


def cleval_text(text: str, options: TextOptions) -> str:
    """A text as CLEval counts it: as the package reads it from a line (``"..."`` unquoted), NFC,
    then without punctuation / white space under ``--ignore-punct`` / ``--ignore-space``. Not
    stripped (the package does not strip); case is CLEval's own option (``cleval_options``)."""
    text = unicodedata.normalize("NFC", unquote(text or ""))
    if options.ignore_punct:
        text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    if options.ignore_space:
        text = "".join(ch for ch in text if not ch.isspace())
    return text


def _cleval_points(polygon: Sequence[Point]) -> list[Point]:
    """A polygon CLEval can take: fewer than 3 points become a zero-area quad (a detection that
    contains no character, as the IoU protocol keeps zero-area predictions)."""
    points = list(polygon)
    if len(points) >= 3:
        return points
    if not points:
        points = [(0.0, 0.0)]
    return [points[0], points[-1], points[-1], points[0]]


#: One image for ``cleval_counts_batch``: its gt words, its items, the indices of the items given
#: to CLEval, and how many items had no geometry.
ClevalImage = tuple[Sequence[Word], Sequence[Item], Sequence[int], int]


def cleval_counts(words: Sequence[Word], items: Sequence[Item], detections: Sequence[int], no_geometry: int,
                  text: TextOptions) -> ClevalTableCounts:
    """CLEval's counts for one image: ``detections`` are the indices of ``items`` given to it."""
    return cleval_counts_batch([(words, items, detections, no_geometry)], text)[0]


def cleval_counts_batch(images: Sequence[ClevalImage], text: TextOptions) -> list[ClevalTableCounts]:
    """``cleval_counts`` of several images, scored together (``eval.cleval.evaluate_images``:
    the same counts, far fewer numpy calls per image)."""
    inputs = [([w.points for w in words], [cleval_text(w.text, text) for w in words], [not w.care for w in words],
               [_cleval_points(items[i].polygon) for i in detections],  # type: ignore[arg-type]
               [cleval_text(items[i].text, text) for i in detections])
              for words, items, detections, _ in images]
    counts = evaluate_images(inputs, cleval_options(text))
    return [ClevalTableCounts(**c.as_dict(), detections=len(detections), no_geometry=no_geometry)
            for c, (_, _, detections, no_geometry) in zip(counts, images)]


def page_counts(care: Sequence[Word], items: Sequence[Item], counted: Sequence[int], text: TextOptions,
                care_boxes: Sequence[Sequence[float]] | None = None,
                counted_boxes: Sequence[Sequence[float] | None] | None = None,
                care_normalized: Sequence[str] | None = None) -> tuple[PageTextCounts, CerVariantCounts]:
    """Page-text counts and the page CER variants of one image: the care gt words against the
    items at the indices ``counted``, each side in reading order, texts normalised by ``text``.

    What a batch has computed already may be given: ``care_boxes`` and ``counted_boxes``, the
    axis-aligned bounds ``(x0, y0, x1, y1)`` of the same polygons (None: no geometry; NaN: none
    that bounds can say: the points are read then), and ``care_normalized``, the care texts in
    ``page_text_form``."""
    gt_order = reading_order_of_boxes(care_boxes) if care_boxes is not None else None
    if gt_order is None:
        gt_order = reading_order([w.points for w in care])
    pred_order = reading_order_of_boxes(counted_boxes) if counted_boxes is not None else None
    if pred_order is None:
        pred_order = reading_order([items[i].polygon for i in counted])
    if care_normalized is None:
        care_normalized = [page_text_form(w.text, text) for w in care]
    gt = [care_normalized[k] for k in gt_order]
    pred = [page_text_form(items[counted[k]].text, text) for k in pred_order]
    return normalized_page_counts(gt, pred)


def page_text_form(value: str, text: TextOptions, normalized: str | None = None) -> str:
    """A text as page text compares it: NFC, ``normalize`` by ``text``, NFC again; ``normalized``
    is ``normalize(value, text)`` when the caller has it (used when ``value`` is NFC already)."""
    if normalized is not None and unicodedata.is_normalized("NFC", value):
        return unicodedata.normalize("NFC", normalized)
    return unicodedata.normalize("NFC", normalize(unicodedata.normalize("NFC", value or ""), text))
