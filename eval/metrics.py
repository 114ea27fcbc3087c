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
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping, Union

import numpy as np

Value = Union[float, np.ndarray]  # one count sum, or one per bootstrap resample
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


# --- the two building blocks of every formula ---------------------------------------------------

EMPTY = 0.0  # the value of a rate whose denominator is 0: an empty set scores nothing (not NaN)


def ratio(numerator: Value, denominator: Value) -> Value:
    """``numerator / denominator``, or ``EMPTY`` where the denominator is 0; numbers or numpy
    arrays alike. The one place the empty-denominator rule lives."""
    if isinstance(numerator, np.ndarray) or isinstance(denominator, np.ndarray):
        out = np.full(np.broadcast(numerator, denominator).shape, EMPTY)
        np.divide(numerator, denominator, out=out, where=np.asarray(denominator) != 0)
        return out
    return numerator / denominator if denominator else EMPTY


def hmean(precision: Value, recall: Value) -> Value:
    """The harmonic mean of a precision and a recall; both 0 gives the empty-denominator value."""
    return ratio(2 * precision * recall, precision + recall)


def count_values(counts: Any) -> dict[str, Value]:
    """A counts dataclass as the mapping formulas read (count name -> value)."""
    return {f.name: getattr(counts, f.name) for f in fields(counts)}


# --- the table's types -------------------------------------------------------------------------

@dataclass(frozen=True)
class Group:
    """One block of ``summary.json``: metrics computed from one counts dataclass."""

    name: str  # the block's key in summary.json ("detection")
    prefix: str  # flat column names are <prefix>_<metric key> ("det_hmean")
    counts: type = Counts  # the counts dataclass its formulas read
    echo: tuple[str, ...] = ()  # raw counts repeated at the top of the block ("tp")


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

    @property
    def name(self) -> str:
        """The flat column name used by every CSV file and the comparison ("det_hmean")."""
        return f"{self.group.prefix}_{self.key}"

    @property
    def scale(self) -> float:
        """What a value is multiplied by for display (100 for a percent)."""
        return 100 if self.percent else 1

    def value(self, counts: Any) -> Value:
        """This metric of a counts dataclass, or of a mapping of count name -> summed value."""
        return self.formula(counts if isinstance(counts, Mapping) else count_values(counts))


def precision_recall_hmean(group: Group, hits: str, predicted: str, truth: str, label: str,
                           brief_hmean: bool = False, headline_hmean: bool = False) -> tuple[Metric, Metric, Metric]:
    """The usual trio for one kind of hit: precision = hits / predicted, recall = hits / truth."""
    def precision(c: Mapping[str, Value]) -> Value:
        return ratio(c[hits], c[predicted])

    def recall(c: Mapping[str, Value]) -> Value:
        return ratio(c[hits], c[truth])

    def both(key: str, letter: str, formula: Formula, brief: bool = False, headline: bool = False) -> Metric:
        shown = f"{label} {letter}"
        return Metric(group, key, shown, formula, terminal=shown, plot=shown, brief=brief, headline=headline)

    return (both("precision", "P", precision), both("recall", "R", recall),
            both("hmean", "H", lambda c: hmean(precision(c), recall(c)), brief_hmean, headline_hmean))


# --- the table ---------------------------------------------------------------------------------

DETECTION = Group("detection", "det", Counts, echo=("tp",))
END_TO_END = Group("end_to_end", "e2e", Counts, echo=("correct",))
RECOGNITION = Group("recognition", "rec", Counts)

METRICS: tuple[Metric, ...] = (
    *precision_recall_hmean(DETECTION, "tp", "pred_care", "gt_care", "det", brief_hmean=True),
    *precision_recall_hmean(END_TO_END, "correct", "pred_care", "gt_care", "e2e", brief_hmean=True,
                            headline_hmean=True),
    Metric(RECOGNITION, "accuracy_micro", "acc", lambda c: ratio(c["correct"], c["gt_care"]),
           terminal="acc", plot="accuracy", brief=True),
    Metric(RECOGNITION, "accuracy_macro", "acc macro", lambda c: ratio(c["accuracy_sum"], c["images_with_care"])),
    Metric(RECOGNITION, "accuracy_matched", "acc | matched", lambda c: ratio(c["correct"], c["tp"]),
           terminal="acc|m"),
    Metric(RECOGNITION, "cer", "CER", lambda c: ratio(c["edit_distance"], c["gt_chars"]),
           higher_is_better=False, terminal="CER", plot="CER", brief=True, headline=True),
    Metric(RECOGNITION, "jamo_cer", "jamo CER", lambda c: ratio(c["jamo_distance"], c["gt_jamo"]),
           higher_is_better=False, terminal="jamoCER", plot="jamo CER"),
)

# summary.json's leading counts, before the metric blocks
SUMMARY_COUNTS = ("images", "gt_care", "gt_dont_care", "pred_care", "pred_total", "pred_discarded", "no_geometry",
                  "below_min_score", "missing_predictions", "errors")


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


def block(group: Group, counts: Any) -> dict[str, Any]:
    """One group's block of ``summary.json``: its echoed counts, then its metrics."""
    values = count_values(counts)
    out = {name: values[name] for name in group.echo}
    out.update({m.key: m.formula(values) for m in metrics() if m.group == group})
    return out


def blocks(*counts: Any) -> dict[str, dict[str, Any]]:
    """Every group's block, in table order, for the groups whose counts are given."""
    given = {type(c): c for c in counts}
    groups = dict.fromkeys(m.group for m in metrics() if m.group.counts in given)
    return {g.name: block(g, given[g.counts]) for g in groups}


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
