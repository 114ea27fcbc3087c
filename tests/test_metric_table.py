"""The one metric table: every output reads it, so adding a metric or a family is one entry."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import eval.metrics as table
from adapters.providers.results import load_results
from eval.evaluate import EvalOptions, evaluate
from eval.metrics import (DETECTION, EMPTY, METRICS, Counts, Group, Metric, flat_scores, metric, metrics, names,
                          ratio, summary)
from gt.reader import read_annotations
from reports import plots
from reports.compare import ProviderRun, compare, comparison_columns, count_matrix, metrics_from_sums
from reports.eval_tables import brief, format_table, per_image_rows, sweep_rows
from reports.html import comparison_html

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "kr_docs_mini"

# The README's worked example: one entry, nothing else edited.
MISS_RATE = Metric(DETECTION, "miss_rate", "det miss", lambda c: ratio(c["gt_care"] - c["tp"], c["gt_care"]),
                   higher_is_better=False, terminal="miss", plot="det miss")


@pytest.fixture(scope="module")
def sample():
    results = load_results(SAMPLE / "res")
    evaluation = evaluate(read_annotations(SAMPLE / "gt").images, results.images, EvalOptions())
    return results, evaluation


def test_names_are_unique_and_every_formula_reads_numbers_and_arrays():
    assert len(set(names())) == len(METRICS)
    assert [m.name for t in table.count_types() for m in metrics(t)] == names()  # families in table order
    assert table.count_types()[0] is Counts
    for m in metrics():
        assert metric(m.name) is m
        assert m.value(m.group.counts()) == EMPTY
        assert np.shape(m.formula({k: np.zeros(3) for k in table.count_values(m.group.counts())})) == (3,)
    assert not metric("rec_cer").higher_is_better and metric("det_hmean").higher_is_better
    with pytest.raises(KeyError):
        metric("det_nothing")


def test_an_empty_denominator_is_one_rule_for_numbers_and_arrays():
    assert ratio(3, 0) is EMPTY is None
    assert np.isnan(ratio(np.array([1.0, 2.0]), np.array([0.0, 4.0]))).tolist() == [True, False]
    assert ratio(np.array([1.0, 2.0]), np.array([0.0, 4.0]))[1] == 0.5
    s = summary(Counts())
    assert all(v is EMPTY for group in ("detection", "end_to_end", "recognition")
               for k, v in s[group].items() if k not in ("tp", "correct"))


def test_summary_layout_follows_the_table():
    s = summary(Counts(images=1, gt_care=4, pred_care=2, tp=2, correct=1))
    assert list(s)[-3:] == ["detection", "end_to_end", "recognition"]
    assert list(s["detection"]) == ["tp", "precision", "recall", "hmean"]
    assert list(s["end_to_end"]) == ["correct", "precision", "recall", "hmean"]
    assert s["detection"]["recall"] == 0.5 and s["end_to_end"]["precision"] == 0.5


def test_adding_a_metric_is_one_entry(monkeypatch, sample, tmp_path):
    monkeypatch.setattr(table, "METRICS", METRICS + (MISS_RATE,))
    results, evaluation = sample
    total = evaluation.totals(0)
    expected = (total.gt_care - total.tp) / total.gt_care

    assert summary(total)["detection"]["miss_rate"] == expected  # summary.json
    assert list(summary(total)["detection"])[-1] == "miss_rate"
    assert flat_scores(total)["det_miss_rate"] == expected
    assert "det_miss_rate" in per_image_rows(evaluation)[0] and "det_miss_rate" in sweep_rows(evaluation)[0]
    assert format_table(evaluation, "icdar").splitlines()[3].split()[-1] == "miss"  # bench eval's table
    assert float(metrics_from_sums(count_matrix(evaluation).sum(axis=0))["det_miss_rate"]) == pytest.approx(expected)

    columns = comparison_columns()  # comparison.csv
    assert columns[columns.index("det_miss_rate"):][:3] == ["det_miss_rate", "det_miss_rate_ci_low",
                                                            "det_miss_rate_ci_high"]
    run = ProviderRun("icdar", results, SAMPLE / "res", SAMPLE / "res", "results file", evaluation=evaluation)
    comparison = compare([run], resamples=50, seed=0)
    row = comparison.rows[0]
    assert row["det_miss_rate"] == expected
    assert row["det_miss_rate_ci_low"] <= expected <= row["det_miss_rate_ci_high"]
    assert ">det miss</th>" in comparison_html(comparison)  # the HTML page
    assert plots.headline_bars(comparison.rows, tmp_path / "bars.png", None).is_file()
    assert "det miss" not in brief(row)  # only entries marked brief=True


def test_a_new_family_is_one_more_section(monkeypatch):
    @dataclass(frozen=True)
    class PageCounts:  # a family's own counts, e.g. page-level text
        edits: int = 0
        chars: int = 0

    page = Group("page", "page", PageCounts)
    monkeypatch.setattr(table, "METRICS", METRICS + (
        Metric(page, "cer", "page CER", lambda c: ratio(c["edits"], c["chars"]), higher_is_better=False),))

    assert "page" not in summary(Counts())  # summary.json unchanged without the family's counts
    s = summary(Counts(), PageCounts(edits=1, chars=4))
    assert list(s)[-1] == "page" and s["page"] == {"cer": 0.25}
    assert flat_scores(Counts(), PageCounts(1, 4))["page_cer"] == 0.25
    assert "page_cer" not in [m.name for m in metrics(Counts)]
