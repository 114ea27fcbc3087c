"""The evaluation protocol (docs/protocol.md): ground truth against one provider's results.

``evaluate_image`` is pure and works on one image; ``evaluate`` walks the gt image set, so
an image the provider never answered still counts (as an image with no predictions).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import shapely
from adapters.core.schema import ImageResult, Item
from eval.geometry import make_polygons
from eval.matching import discarded_by_dont_care, greedy_match_indices, overlaps
from eval.metrics import ClevalTableCounts, Counts, add_up
from eval.page_text import CerVariantCounts, PageTextCounts
from eval.protocols import BOTH, CLEVAL, IOU, PROTOCOLS, cleval_counts_batch, page_counts, page_text_form
from eval.text import TextOptions, decompose_jamo, edit_distance, normalize, normalized_texts_match
from eval.workers import paused_gc
from gt.reader import Word

log = logging.getLogger("bench")

DEFAULT_IOU = 0.5
BATCH_IMAGES = 512
BATCH_PAIR_BUDGET = 200_000  # (gt words x predictions) per batch: bounds memory on dense pages


@dataclass(frozen=True)
class EvalOptions:
    """Everything that changes the numbers; it is written next to them in every output."""

    thresholds: tuple[float, ...] = (DEFAULT_IOU,)
    text: TextOptions = TextOptions()
    min_score: float | None = None
    protocol: str = IOU  # which box protocols are reported: iou, cleval or both (page text always is)

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}")

    @property
    def reports_iou(self) -> bool:
        return self.protocol in (IOU, BOTH)

    @property
    def reports_cleval(self) -> bool:
        return self.protocol in (CLEVAL, BOTH)


@dataclass(frozen=True)
class MatchRow:
    """One line of ``matches.csv``: a matched pair, or an item that stayed alone, and why."""

    image: str
    kind: str  # match | missed | false | discarded | dont_care | no_geometry | below_min_score
    gt_line: int | None = None
    pred_index: int | None = None
    iou: float | None = None
    gt_text: str | None = None
    pred_text: str | None = None
    correct: bool | None = None
    edit_distance: int | None = None
    jamo_distance: int | None = None
    confidence: float | None = None


@dataclass
class ImageEvaluation:
    stem: str
    status: str  # ok | missing | error
    counts: tuple[Counts, ...]  # one per threshold, in EvalOptions.thresholds order
    rows: list[MatchRow] = field(default_factory=list)  # at the first threshold
    error: str | None = None
    page: PageTextCounts = PageTextCounts()  # page text, always
    cer: CerVariantCounts = CerVariantCounts()  # the page CER by kind of error, always
    cleval: ClevalTableCounts | None = None  # when the protocol includes CLEval

    def families(self, k: int = 0, iou: bool = True) -> tuple[Any, ...]:
        """The counts of every metric family computed for this image, in table order: the IoU
        protocol's at threshold ``k`` (unless ``iou`` is False), CLEval's, page text's."""
        return tuple(c for c in (self.counts[k] if iou else None, self.cleval, self.page, self.cer) if c is not None)


@dataclass
class Evaluation:
    options: EvalOptions
    images: list[ImageEvaluation]
    unknown_predictions: list[str] = field(default_factory=list)

    def totals(self, k: int = 0) -> Counts:
        """Counts summed over all images at threshold number ``k``."""
        return add_up((image.counts[k] for image in self.images), Counts())

    def family_totals(self, k: int = 0) -> tuple[Any, ...]:
        """Every reported family's counts summed over all images (``ImageEvaluation.families``;
        the IoU protocol's at threshold ``k`` when the protocol reports it)."""
        iou = self.options.reports_iou
        empty = tuple(c for c in (Counts() if iou else None,
                                  ClevalTableCounts() if self.options.reports_cleval else None,
                                  PageTextCounts(), CerVariantCounts()) if c is not None)
        per_image = [image.families(k, iou) for image in self.images]
        return tuple(add_up((families[f] for families in per_image), start) for f, start in enumerate(empty))


def _pred_row(stem: str, kind: str, index: int, item: Item, **extra: object) -> MatchRow:
    return MatchRow(stem, kind, pred_index=index, pred_text=item.text, confidence=item.confidence, **extra)


@dataclass
class _Image:
    """One image after rules 1, 7 and 2: what is left to match, and the rows already known."""

    stem: str
    status: str
    error: str | None
    items: tuple[Item, ...]
    care: list[Word]
    dont_care: list[Word]
    scored: list[int]  # indices into items of predictions with geometry that passed --min-score
    unplaced: list[int]  # indices into items of predictions without geometry that passed --min-score
    below: int
    rows: list[MatchRow]

    @property
    def no_geometry(self) -> int:
        return len(self.unplaced)


def _prepare(stem: str, words: Sequence[Word], result: ImageResult | None, options: EvalOptions) -> _Image:
    status = "missing" if result is None else ("ok" if result.is_ok else "error")
    items = result.items if result is not None and result.is_ok else ()
    care = [w for w in words if w.care]
    dont_care = [w for w in words if not w.care]
    rows = [MatchRow(stem, "dont_care", gt_line=w.line, gt_text=w.text) for w in dont_care]
    scored: list[int] = []
    unplaced: list[int] = []
    below = 0
    for index, item in enumerate(items):
        if options.min_score is not None and item.confidence is not None and item.confidence < options.min_score:
            below += 1
            rows.append(_pred_row(stem, "below_min_score", index, item))
        elif item.polygon is None:
            unplaced.append(index)
            rows.append(_pred_row(stem, "no_geometry", index, item))
        else:
            scored.append(index)
    return _Image(stem, status, result.error if status == "error" else None, items, care, dont_care,
                  scored, unplaced, below, rows)


def _groups(sizes: Sequence[int]) -> np.ndarray:
    return np.repeat(np.arange(len(sizes), dtype=np.int64), np.asarray(sizes, dtype=np.int64))


def evaluate_batch(
    entries: Sequence[tuple[str, Sequence[Word], ImageResult | None]],
    options: EvalOptions = EvalOptions(),
) -> list[ImageEvaluation]:
    """Score several images at once: their polygons go through shapely in a few vectorised calls.

    Every index below is global to the batch; group arrays say which image a polygon belongs to,
    and no pair ever crosses images, so the result equals scoring each image alone.
    """
    images = [_prepare(stem, words, result, options) for stem, words, result in entries]
    all_words = [words for _, words, _ in entries]
    n = len(images)
    care = [w for im in images for w in im.care]
    care_group = _groups([len(im.care) for im in images])
    dont_care_group = _groups([len(im.dont_care) for im in images])
    pred_group = _groups([len(im.scored) for im in images])
    pred_ref = [(k, index) for k, im in enumerate(images) for index in im.scored]  # (image, item index)

    pred_geoms = make_polygons([images[k].items[i].polygon for k, i in pred_ref])
    discarded = discarded_by_dont_care(
        pred_geoms, make_polygons([w.points for im in images for w in im.dont_care]), pred_group, dont_care_group)
    kept = np.flatnonzero(~discarded)
    kept_ref = [pred_ref[j] for j in kept.tolist()]  # (image, item index) of each kept prediction
    dropped: list[set[int]] = [set() for _ in range(n)]  # item indices discarded by a don't-care region
    for d in np.flatnonzero(discarded).tolist():
        k, i = pred_ref[d]
        images[k].rows.append(_pred_row(images[k].stem, "discarded", i, images[k].items[i]))
        dropped[k].add(i)
    care_geoms = make_polygons([w.points for w in care])
    ov = overlaps(care_geoms, pred_geoms[kept], care_group, pred_group[kept])

    gt_norm = [normalize(w.text, options.text) for w in care]
    gt_jamo = [decompose_jamo(t) for t in gt_norm]
    gt_chars = np.fromiter(map(len, gt_norm), dtype=np.int64, count=len(gt_norm))
    gt_jamo_chars = np.fromiter(map(len, gt_jamo), dtype=np.int64, count=len(gt_jamo))
    pred_kept_count = np.bincount(pred_group[kept], minlength=n)
    discarded_count = np.bincount(pred_group[discarded], minlength=n)
    care_count = np.bincount(care_group, minlength=n)
    per_image: list[list[Counts]] = [[] for _ in range(n)]
    # per candidate pair: compared yet, same text, edit distance, jamo distance (a pair matched at
    # several thresholds is compared once); the sums per image are bincounts over the matched pairs
    compared = np.zeros(len(ov.gt), dtype=bool)
    same = np.zeros(len(ov.gt), dtype=bool)
    dist_of = np.zeros(len(ov.gt), dtype=np.int64)
    jamo_of = np.zeros(len(ov.gt), dtype=np.int64)
    for t, threshold in enumerate(options.thresholds):
        sel = greedy_match_indices(ov, threshold)
        g_idx, p_idx = ov.gt[sel], ov.pred[sel]
        new = sel[~compared[sel]]
        for c, g, p in zip(new.tolist(), ov.gt[new].tolist(), ov.pred[new].tolist()):
            k, i = kept_ref[p]
            pred_norm = normalize(images[k].items[i].text, options.text)
            same[c] = normalized_texts_match(gt_norm[g], pred_norm, options.text)
            dist_of[c] = edit_distance(gt_norm[g], pred_norm)
            jamo_of[c] = edit_distance(gt_jamo[g], decompose_jamo(pred_norm))
        compared[new] = True
        owner = care_group[g_idx]
        tp_of = np.bincount(owner, minlength=n).tolist()
        correct_of, dist_sum, chars_of, jamo_sum, jamo_chars_of = (
            np.bincount(owner, weights=w, minlength=n).astype(np.int64).tolist()
            for w in (same[sel], dist_of[sel], gt_chars[g_idx], jamo_of[sel], gt_jamo_chars[g_idx]))
        if t == 0:
            for g, p, iou, ok, d, jd in zip(g_idx.tolist(), p_idx.tolist(), ov.iou[sel].tolist(), same[sel].tolist(),
                                            dist_of[sel].tolist(), jamo_of[sel].tolist()):
                k, i = kept_ref[p]
                item = images[k].items[i]
                images[k].rows.append(MatchRow(images[k].stem, "match", care[g].line, i, iou, care[g].text,
                                               item.text, ok, d, jd, item.confidence))
            matched_gt = np.zeros(len(care), dtype=bool)
            matched_gt[g_idx] = True
            for g, k in zip(np.flatnonzero(~matched_gt).tolist(), care_group[~matched_gt].tolist()):
                images[k].rows.append(MatchRow(images[k].stem, "missed", gt_line=care[g].line, gt_text=care[g].text))
            matched_pred = np.zeros(len(kept), dtype=bool)
            matched_pred[p_idx] = True
            for p in np.flatnonzero(~matched_pred).tolist():
                k, i = kept_ref[p]
                images[k].rows.append(_pred_row(images[k].stem, "false", i, images[k].items[i]))
        for k, im in enumerate(images):
            correct, care_k = correct_of[k], int(care_count[k])
            per_image[k].append(Counts(
                images=1,
                missing_predictions=int(im.status == "missing"),
                errors=int(im.status == "error"),
                gt_care=care_k,
                gt_dont_care=len(im.dont_care),
                pred_total=len(im.items),
                below_min_score=im.below,
                no_geometry=im.no_geometry,
                pred_discarded=int(discarded_count[k]),
                pred_care=int(pred_kept_count[k]),
                tp=tp_of[k], correct=correct, edit_distance=dist_sum[k], gt_chars=chars_of[k],
                jamo_distance=jamo_sum[k], gt_jamo=jamo_chars_of[k],
                images_with_care=int(care_k > 0),
                accuracy_sum=correct / care_k if care_k else 0.0,
            ))
    # the other families score the predictions sorted out above; page text reads both sides in
    # reading order, from the bounds of the polygons already made (an outline of fewer than three
    # points has none: such an image's order is found from its points)
    care_bounds = shapely.bounds(care_geoms).tolist()
    pred_bounds = shapely.bounds(pred_geoms).tolist()
    care_page = [page_text_form(w.text, options.text, normalized) for w, normalized in zip(care, gt_norm)]
    care_start = np.cumsum([0] + [len(im.care) for im in images]).tolist()
    pred_start = np.cumsum([0] + [len(im.scored) for im in images]).tolist()
    cleval: list[ClevalTableCounts | None] = [None] * n
    if options.reports_cleval:
        cleval = list(cleval_counts_batch([(all_words[k], im.items, im.scored, im.no_geometry)
                                           for k, im in enumerate(images)], options.text))
    out = []
    for k, im in enumerate(images):
        counted = sorted([i for i in im.scored if i not in dropped[k]] + im.unplaced)
        box_of = dict(zip(im.scored, pred_bounds[pred_start[k]:pred_start[k + 1]]))
        care_k = slice(care_start[k], care_start[k + 1])
        page, cer = page_counts(im.care, im.items, counted, options.text, care_bounds[care_k],
                                [box_of.get(i) for i in counted], care_page[care_k])
        out.append(ImageEvaluation(im.stem, im.status, tuple(per_image[k]), im.rows, im.error, page, cer, cleval[k]))
    return out


def evaluate_image(
    stem: str,
    words: Sequence[Word],
    result: ImageResult | None,
    options: EvalOptions = EvalOptions(),
) -> ImageEvaluation:
    """Score one image's predictions against its ground truth at every threshold."""
    return evaluate_batch([(stem, words, result)], options)[0]


def _batches(stems: list[str], gt: Mapping[str, Sequence[Word]], predictions: Mapping[str, ImageResult]):
    """Consecutive images whose possible pairs stay under a budget: memory is bounded per batch."""
    batch: list[tuple[str, Sequence[Word], ImageResult | None]] = []
    pairs = 0
    for stem in stems:
        words, result = gt[stem], predictions.get(stem)
        cost = max(1, len(words)) * max(1, len(result.items) if result is not None else 0)
        if batch and (pairs + cost > BATCH_PAIR_BUDGET or len(batch) >= BATCH_IMAGES):
            yield batch
            batch, pairs = [], 0
        batch.append((stem, words, result))
        pairs += cost
    if batch:
        yield batch


def evaluate(
    gt: Mapping[str, Sequence[Word]],
    predictions: Mapping[str, ImageResult],
    options: EvalOptions = EvalOptions(),
    progress: Callable[[int], object] | None = None,
) -> Evaluation:
    """Evaluate every gt image (rule 1); predictions for images without gt are reported, not scored.

    ``progress`` is called with the number of images finished after each batch (e.g. a tqdm
    bar's ``update``).
    """
    stems = sorted(gt)
    unknown = sorted(set(predictions) - set(gt))
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        log.warning("%d image(s) have predictions but no ground truth and are ignored: %s", len(unknown), shown)
    images: list[ImageEvaluation] = []
    with paused_gc():  # no cycles are made here; on a large set, full collections cost a third of the time
        for batch in _batches(stems, gt, predictions):
            images.extend(evaluate_batch(batch, options))
            if progress is not None:
                progress(len(batch))
    return Evaluation(options, images, unknown)


def parse_thresholds(values: Iterable[float]) -> tuple[float, ...]:
    """Thresholds as given (first one is the headline), without repeats; each must be in [0, 1)."""
    out: list[float] = []
    for value in values:
        if not 0.0 <= value < 1.0:
            raise ValueError(f"IoU threshold must be in [0, 1), got {value}")
        if value not in out:
            out.append(float(value))
    return tuple(out) or (DEFAULT_IOU,)

