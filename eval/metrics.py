"""Raw counts that add up over images, and the one table of metrics derived from their sums.

Like jiwer, the core returns counts in a dataclass; every rate is computed once, from
counts summed over the whole set (micro averaging), so a dataset's score never depends
on how its images were batched.

Every metric is one ``Metric`` entry in ``METRICS``: its key, labels, formula, direction,
unit and group. ``summary.json``, the CSV files, the bootstrap, the HTML page, the plots and
the terminal tables all read the table (through ``metrics()`` and friends, at call time), so
adding a metric is one entry. A formula reads a mapping of count name -> summed value, where
a value is a number (one set of counts) or a numpy array (one sum per bootstrap resample):
the same formula serves ``bench eval`` and the vectorised bootstrap.

Metrics come in families, one per counts dataclass (``FAMILIES``): the IoU protocol (``Counts``),
CLEval (``ClevalTableCounts``), page text (``PageTextCounts``) and the page CER by kind of error
(``CerVariantCounts``). A family says where its blocks go in ``summary.json`` and what its
columns are called; the outputs walk the families, so a new one is a ``Family``, its ``Group``
entries and its metrics.

A rate whose denominator is empty has no value: ``EMPTY`` (None; NaN inside numpy arrays),
shown as null in JSON, an empty CSV cell and "–" on screen. ``ratio`` is the one place that
rule lives.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import reduce
from operator import add, attrgetter
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

import numpy as np

from eval.cleval import ClevalCounts
from eval.page_text import CerVariantCounts, PageTextCounts

Value = Union[float, None, np.ndarray]  # one count sum, or one per bootstrap resample
Formula = Callable[[Mapping[str, Value]], Value]  # count name -> summed value, to the metric's value


@dataclass(frozen=True)
class Counts:
    """Everything the metrics need, for one image or summed over many."""

    images: int = 0
    missing_predictions: int = 0
    errors: int = 0
    gt_care: int = 0
    gt_dont_care: int = 0
    pred_total: int = 0
    below_min_score: int = 0
    no_geometry: int = 0
    pred_discarded: int = 0
    pred_care: int = 0
    tp: int = 0
    correct: int = 0
    edit_distance: int = 0
    gt_chars: int = 0
    jamo_distance: int = 0
    gt_jamo: int = 0
    images_with_care: int = 0
    accuracy_sum: float = 0.0  # sum over images with care gt of correct / gt_care (for the macro mean)

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


@dataclass(frozen=True)
class ClevalTableCounts(ClevalCounts):
    """CLEval's counts (``eval.cleval``) plus what the benchmark knows of the predictions:
    ``detections`` given to CLEval (items with geometry not below ``--min-score``) and items
    without geometry, which CLEval cannot place."""

    detections: int = 0
    no_geometry: int = 0


# --- the building blocks of every formula -----------------------------------------------------

EMPTY = None  # the value of a rate whose denominator is 0: nothing to measure (NaN inside numpy arrays)


def _arrays(*values: Any) -> bool:
    return any(isinstance(v, np.ndarray) for v in values)


def ratio(numerator: Value, denominator: Value) -> Value:
    """``numerator / denominator``, or ``EMPTY`` where the denominator is 0 (NaN in arrays);
    numbers or numpy arrays alike. The one place the empty-denominator rule lives."""
    if _arrays(numerator, denominator):
        num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
        out = np.full(np.broadcast(num, den).shape, np.nan)
        np.divide(num, den, out=out, where=den != 0)
        return out
    return numerator / denominator if denominator else EMPTY


def hmean(precision: Value, recall: Value) -> Value:
    """The harmonic mean of a precision and a recall: ``EMPTY`` when either is, 0 when both are 0."""
    if _arrays(precision, recall):
        p, r = np.asarray(precision, dtype=float), np.asarray(recall, dtype=float)
        total = p + r
        out = np.zeros(total.shape)
        np.divide(2 * p * r, total, out=out, where=total > 0)
        return np.where(np.isnan(total), np.nan, out)
    if precision is None or recall is None:
        return EMPTY
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def at_least_zero(value: Value) -> Value:
    """``max(0, value)`` for numbers and arrays."""
    return np.maximum(value, 0.0) if isinstance(value, np.ndarray) else max(0.0, value)


def needs_boxes(formula: Formula, located: tuple[str, ...], unlocated: str = "no_geometry") -> Formula:
    """A box-based formula: ``EMPTY`` where the predictions that count all lack geometry (the
    ``located`` counts are 0 and ``unlocated`` is not), so a text-only provider shows "–" for
    what needs boxes, not a recall of 0. A provider that answered nothing still scores 0."""
    def gated(c: Mapping[str, Value]) -> Value:
        value = formula(c)
        boxless = (sum(c[name] for name in located) == 0) & (c[unlocated] > 0)
        if _arrays(value, boxless):
            return np.where(boxless, np.nan, np.asarray(value, dtype=float))
        return EMPTY if boxless else value
    return gated


def count_values(counts: Any) -> dict[str, Value]:
    """A counts dataclass as the mapping formulas read (count name -> value)."""
    return {f.name: getattr(counts, f.name) for f in fields(counts)}


# --- the table's types -------------------------------------------------------------------------

@dataclass(frozen=True)
class Family:
    """The metrics read from one counts dataclass: one protocol, or one view of the evaluation."""

    counts: type  # its counts dataclass
    title: str  # what the report calls it ("CLEval")
    block: str | None = None  # the summary.json block its groups nest in ("cleval"); None: top level
    tail: tuple[str, ...] = ()  # counts written at the end of that block ("num_merged")
    column_prefix: str = ""  # per_image.csv calls its counts <column_prefix><field> ("cleval_det_num_char_gt")
    columns: tuple[str, ...] | None = None  # the counts per_image.csv shows (None: every field)
    note: str = ""  # one sentence for the report: what the family measures


@dataclass(frozen=True)
class Group:
    """One block of ``summary.json``: metrics computed from one counts dataclass."""

    name: str  # the block's key in summary.json ("detection")
    prefix: str  # flat column names are <prefix>_<metric key> ("det_hmean")
    counts: type = Counts  # the counts dataclass its formulas read
    echo: tuple[str, ...] = ()  # raw counts repeated at the top of the block ("tp")
    after: tuple[tuple[str, str], ...] = ()  # (key, count) pairs written after the metrics


@dataclass(frozen=True)
class Metric:
    """One metric, defined once; every output reads these fields."""

    group: Group
    key: str  # the key inside its summary.json block ("hmean")
    label: str  # column header in the report's comparison table ("det H")
    formula: Formula
    higher_is_better: bool = True
    percent: bool = True  # a rate shown as 100 x value; False: shown as is
    terminal: str | None = None  # header in `bench eval`'s terminal table; None: not in it
    plot: str | None = None  # bar label in the report's headline plot; None: not plotted
    brief: bool = False  # in the one line per provider that `bench report` prints
    headline: bool = False  # a column of the report's compact headline table (and the verdict's quality measure)
    column: str | None = None  # the flat name when it is not <prefix>_<key>

    @property
    def name(self) -> str:
        """The flat column name used by every CSV file and the comparison ("det_hmean")."""
        return self.column or f"{self.group.prefix}_{self.key}"

    @property
    def scale(self) -> float:
        """What a value is multiplied by for display (100 for a percent)."""
        return 100 if self.percent else 1

    def value(self, counts: Any) -> Value:
        """This metric of a counts dataclass, or of a mapping of count name -> summed value."""
        return self.formula(counts if isinstance(counts, Mapping) else count_values(counts))


def _same(formula: Formula) -> Formula:
    return formula


def trio(group: Group, label: str, precision: Formula, recall: Formula, *, brief_hmean: bool = False,
         headline_hmean: bool = False, gate: Callable[[Formula], Formula] = _same,
         plot: tuple[str, ...] = ("P", "R", "H"),
         terminal: str | None = None, keys: tuple[str, str, str] = ("precision", "recall", "hmean"),
         letters: tuple[str, str, str] = ("P", "R", "H")) -> tuple[Metric, Metric, Metric]:
    """Precision, recall and their harmonic mean, labelled "<label> P/R/H". ``gate`` wraps every
    formula (``needs_boxes``); ``plot`` says which letters the headline plot shows; ``terminal``
    is the terminal table's label prefix (default ``label``); ``keys`` and ``letters`` name them."""
    def entry(k: int, formula: Formula, brief: bool = False, headline: bool = False) -> Metric:
        shown = f"{label} {letters[k]}"
        return Metric(group, keys[k], shown, gate(formula), terminal=f"{terminal or label} {letters[k]}",
                      plot=shown if letters[k] in plot else None, brief=brief, headline=headline)

    return (entry(0, precision), entry(1, recall),
            entry(2, lambda c: hmean(precision(c), recall(c)), brief_hmean, headline_hmean))


def precision_recall_hmean(group: Group, hits: str, predicted: str, truth: str, label: str,
                           brief_hmean: bool = False, headline_hmean: bool = False,
                           gate: Callable[[Formula], Formula] = _same) -> tuple[Metric, Metric, Metric]:
    """The usual trio for one kind of hit: precision = hits / predicted, recall = hits / truth."""
    return trio(group, label, lambda c: ratio(c[hits], c[predicted]), lambda c: ratio(c[hits], c[truth]),
                brief_hmean=brief_hmean, headline_hmean=headline_hmean, gate=gate)


def cleval_trio(group: Group, side: str, label: str, brief_hmean: bool = False,
                headline_hmean: bool = False) -> tuple[Metric, Metric, Metric]:
    """CLEval's trio for one side (``det`` or ``e2e``), as the package computes it:
    recall = max(0, tp_recall - gran_score_recall) / num_char_gt, precision likewise over num_char_det."""
    def penalised(c: Mapping[str, Value], kind: str, total: str) -> Value:
        hits = c[f"{side}_num_char_tp_{kind}"] - c[f"{side}_gran_score_{kind}"]
        return ratio(at_least_zero(hits), c[f"{side}_num_char_{total}"])

    return trio(group, label, lambda c: penalised(c, "precision", "det"), lambda c: penalised(c, "recall", "gt"),
                brief_hmean=brief_hmean, headline_hmean=headline_hmean,
                gate=lambda f: needs_boxes(f, ("detections",)), plot=("H",),
                terminal=side)


# --- the table ---------------------------------------------------------------------------------

def _iou_boxes(formula: Formula) -> Formula:
    """IoU metrics need boxes: kept or discarded predictions with geometry."""
    return needs_boxes(formula, ("pred_care", "pred_discarded"))


DETECTION = Group("detection", "det", Counts, echo=("tp",))
END_TO_END = Group("end_to_end", "e2e", Counts, echo=("correct",))
RECOGNITION = Group("recognition", "rec", Counts)

_CLEVAL_BLOCK = ("num_char_gt", "num_char_det", "num_char_tp_recall", "num_char_tp_precision", "num_char_fp",
                 "gran_score_recall", "gran_score_precision")
CLEVAL_DETECTION = Group("detection", "cleval_det", ClevalTableCounts,
                         after=tuple((name, f"det_{name}") for name in _CLEVAL_BLOCK))
CLEVAL_END_TO_END = Group("end_to_end", "cleval_e2e", ClevalTableCounts,
                          after=tuple((name, f"e2e_{name}") for name in _CLEVAL_BLOCK))

_PAGE_COUNTS = ("edit_distance", "gt_chars", "pred_chars", "common_chars", "gt_words", "pred_words", "common_words")
PAGE_TEXT = Group("page_text", "page", PageTextCounts, after=tuple((name, name) for name in _PAGE_COUNTS))
CER_VARIANTS = Group("cer_variants", "page_cer", CerVariantCounts)


def _variant(key: str, label: str, terminal: str) -> Metric:
    return Metric(CER_VARIANTS, key, label, lambda c: ratio(c[f"{key}_distance"], c[f"{key}_length"]),
                  higher_is_better=False, terminal=terminal)


METRICS: tuple[Metric, ...] = (
    *precision_recall_hmean(DETECTION, "tp", "pred_care", "gt_care", "det", brief_hmean=True, gate=_iou_boxes),
    *precision_recall_hmean(END_TO_END, "correct", "pred_care", "gt_care", "e2e", brief_hmean=True,
                            headline_hmean=True, gate=_iou_boxes),
    Metric(RECOGNITION, "accuracy_micro", "acc", _iou_boxes(lambda c: ratio(c["correct"], c["gt_care"])),
           terminal="acc", plot="accuracy", brief=True),
    Metric(RECOGNITION, "accuracy_macro", "acc macro",
           _iou_boxes(lambda c: ratio(c["accuracy_sum"], c["images_with_care"]))),
    Metric(RECOGNITION, "accuracy_matched", "acc | matched", lambda c: ratio(c["correct"], c["tp"]),
           terminal="acc|m"),
    Metric(RECOGNITION, "cer", "CER", lambda c: ratio(c["edit_distance"], c["gt_chars"]),
           higher_is_better=False, terminal="CER", plot="CER", brief=True, headline=True),
    Metric(RECOGNITION, "jamo_cer", "jamo CER", lambda c: ratio(c["jamo_distance"], c["gt_jamo"]),
           higher_is_better=False, terminal="jamoCER", plot="jamo CER"),
    *cleval_trio(CLEVAL_DETECTION, "det", "CLEval det"),
    *cleval_trio(CLEVAL_END_TO_END, "e2e", "CLEval e2e", brief_hmean=True, headline_hmean=True),
    Metric(PAGE_TEXT, "cer", "page CER", lambda c: ratio(c["edit_distance"], c["gt_chars"]),
           higher_is_better=False, terminal="CER", plot="page CER", brief=True, headline=True),
    *trio(PAGE_TEXT, "page char", lambda c: ratio(c["common_chars"], c["pred_chars"]),
          lambda c: ratio(c["common_chars"], c["gt_chars"]), plot=("F1",), terminal="char",
          keys=("char_precision", "char_recall", "char_f1"), letters=("P", "R", "F1")),
    *trio(PAGE_TEXT, "page word", lambda c: ratio(c["common_words"], c["pred_words"]),
          lambda c: ratio(c["common_words"], c["gt_words"]), plot=(), terminal="word",
          keys=("word_precision", "word_recall", "word_f1"), letters=("P", "R", "F1")),
    Metric(PAGE_TEXT, "page_ned", "page NED", lambda c: ratio(c["ned_sum"], c["pages"]),
           higher_is_better=False, terminal="NED", column="page_ned"),
    _variant("no_space", "page CER no spaces", "nospace"),
    _variant("spaced", "page CER with spaces", "spaced"),
    _variant("no_punct", "page CER no punct", "nopunct"),
    _variant("casefold", "page CER no case", "nocase"),
    _variant("jamo", "page jamo CER", "jamo"),
)

# Where each family's blocks go and what its columns are called (see Family).
FAMILIES: tuple[Family, ...] = (
    Family(Counts, "IoU protocol", columns=("tp", "correct", "edit_distance", "gt_chars", "jamo_distance", "gt_jamo"),
           note="word boxes matched one to one at IoU above the threshold; a word counts when its text is equal"),
    Family(ClevalTableCounts, "CLEval", block="cleval", tail=("num_merged", "num_splitted", "num_char_overlapped"),
           column_prefix="cleval_", columns=tuple(f.name for f in fields(ClevalTableCounts) if f.name != "no_geometry"),
           note="character level: characters found and read, split and merged boxes forgiven at a small price"),
    Family(PageTextCounts, "Page text", column_prefix="page_", columns=_PAGE_COUNTS,
           note="the page's text in reading order, boxes ignored; every provider, with or without geometry"),
    Family(CerVariantCounts, "Page CER by kind of error", block="page_text", column_prefix="page_",
           note="the page CER with spaces ignored (= page CER) and kept, punctuation ignored, case ignored, "
                "and counted in jamo"),
)

# summary.json's leading counts, before the metric blocks
SUMMARY_COUNTS = ("images", "gt_care", "gt_dont_care", "pred_care", "pred_total", "pred_discarded", "no_geometry",
                  "below_min_score", "missing_predictions", "errors")
# per_image.csv's counts of every protocol, before each family's own columns
IMAGE_COUNTS = ("gt_care", "gt_dont_care", "pred_total", "below_min_score", "no_geometry", "pred_discarded",
                "pred_care")


# --- reading the table (always at call time, so an added entry is seen everywhere) ----------------

def metrics(counts_type: type | None = None) -> tuple[Metric, ...]:
    """The table in order; only the metrics that read ``counts_type`` when it is given."""
    return tuple(m for m in METRICS if counts_type is None or m.group.counts is counts_type)


def names() -> list[str]:
    """Every metric's flat column name, in table order."""
    return [m.name for m in metrics()]


def metric(name: str) -> Metric:
    """The entry of one flat column name ("rec_cer")."""
    found = [m for m in metrics() if m.name == name]
    if not found:
        raise KeyError(f"no metric named {name!r}")
    return found[0]


def count_types() -> tuple[type, ...]:
    """The counts dataclass of every family, in table order."""
    return tuple(dict.fromkeys(m.group.counts for m in metrics()))


def family(counts_type: type) -> Family:
    """The family of a counts dataclass (a plain top-level one when ``FAMILIES`` does not list it)."""
    for entry in FAMILIES:
        if entry.counts is counts_type:
            return entry
    return Family(counts_type, counts_type.__name__)


def scores_of(values: Mapping[str, Value], counts_type: type = Counts) -> dict[str, Value]:
    """Every metric reading ``counts_type``, by flat name, from count name -> summed value
    (numbers, or numpy arrays for many sums at once)."""
    return {m.name: m.formula(values) for m in metrics(counts_type)}


def flat_scores(*counts: Any) -> dict[str, Value]:
    """Every metric of the given counts dataclasses, named as in ``per_image.csv`` / ``sweep.csv``."""
    scores: dict[str, Value] = {}
    for c in counts:
        scores.update(scores_of(count_values(c), type(c)))
    return scores


def scores_per_row(rows: Sequence[Any], counts_type: type) -> dict[str, list[Value]]:
    """``flat_scores`` of many counts of one type at once, as a column per metric: the table's
    formulas run once on numpy columns (as for the bootstrap), NaN given back as ``EMPTY``.
    Counts are exact in float64 below 2**53, and the formulas do the same float operations on
    arrays as on numbers, so each value equals ``flat_scores`` of its row."""
    names = [f.name for f in fields(counts_type)]
    values = {name: np.fromiter((getattr(r, name) for r in rows), dtype=float, count=len(rows)) for name in names}
    return {name: [EMPTY if v != v else v for v in column.tolist()]
            for name, column in scores_of(values, counts_type).items()}


def count_columns_per_row(rows: Sequence[Any], counts_type: type) -> dict[str, list[Any]]:
    """``count_columns`` of many counts of one type, as a column per count."""
    entry = family(counts_type)
    shown = entry.columns if entry.columns is not None else tuple(f.name for f in fields(counts_type))
    return {entry.column_prefix + name: [getattr(r, name) for r in rows] for name in shown}


def count_columns(counts: Any) -> dict[str, Any]:
    """A family's counts as ``per_image.csv`` shows them (its ``columns``, with its prefix)."""
    entry = family(type(counts))
    shown = entry.columns if entry.columns is not None else tuple(f.name for f in fields(counts))
    return {entry.column_prefix + name: getattr(counts, name) for name in shown}


def block(group: Group, counts: Any) -> dict[str, Any]:
    """One group's block of ``summary.json``: its echoed counts, its metrics, then its ``after`` counts."""
    values = count_values(counts)
    out = {name: values[name] for name in group.echo}
    out.update({m.key: m.formula(values) for m in metrics() if m.group == group})
    out.update({key: values[name] for key, name in group.after})
    return out


def blocks(*counts: Any) -> dict[str, dict[str, Any]]:
    """Every group's block, in table order, for the groups whose counts are given; a family with
    a ``block`` nests its groups (and its ``tail`` counts) in it."""
    given = {type(c): c for c in counts}
    out: dict[str, Any] = {}
    for group in dict.fromkeys(m.group for m in metrics() if m.group.counts in given):
        entry = family(group.counts)
        (out if entry.block is None else out.setdefault(entry.block, {}))[group.name] = block(group, given[group.counts])
    for counts_type in count_types():
        entry = family(counts_type)
        if counts_type in given and entry.tail:
            target = out if entry.block is None else out.setdefault(entry.block, {})
            target.update({name: getattr(given[counts_type], name) for name in entry.tail})
    return out


# One block by name, for callers that want a single group (reports/breakdowns.py, tests).
def detection(c: Counts) -> dict[str, Any]:
    return block(DETECTION, c)


def end_to_end(c: Counts) -> dict[str, Any]:
    return block(END_TO_END, c)


def recognition(c: Counts) -> dict[str, Any]:
    return block(RECOGNITION, c)


def summary(c: Counts, *more: Any) -> dict[str, Any]:
    """The headline numbers in the layout of ``summary.json``; ``more`` are the counts of other
    metric families (each adds its own blocks)."""
    return {**{name: getattr(c, name) for name in SUMMARY_COUNTS}, **blocks(c, *more)}


def add_up(counts: Iterable[Any], start: Any) -> Any:
    """``start + c1 + c2 + ...`` for counts dataclasses, field by field in C (``functools.reduce``)
    rather than one new dataclass per addition: the same sums, float ones in the same order."""
    names = [f.name for f in fields(start)]
    rows = [attrgetter(*names)(c) for c in counts] if len(names) > 1 else [(getattr(c, names[0]),) for c in counts]
    columns = zip(*rows) if rows else ([] for _ in names)
    return type(start)(**{name: reduce(add, column, getattr(start, name)) for name, column in zip(names, columns)})
