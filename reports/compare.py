"""The comparison table: one row per provider, with bootstrap confidence intervals, latency
from the collector's run records, and the API cost from the price table.

Every point estimate comes from the same metric table as ``bench eval`` (``eval.metrics`` on the
summed counts), so ``comparison.csv`` and ``summary.json`` agree to the last digit. Intervals
resample *images* (the unit that was sampled when the data set was made): each resample
draws per-image weights once, and every metric of every provider is a ratio of weighted
count sums, so 1,000 resamples are a matrix product, never a re-run of the matching.
"""
from __future__ import annotations

import csv
import json
import logging
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from adapters.core.errors import InputError, clip, excerpt
from adapters.providers.results import load_results
from adapters.core.schema import ResultSet
from eval.evaluate import EvalOptions, Evaluation
from eval.inputs import check_predictions_path
from eval.metrics import count_types, flat_scores, names, scores_of
from reports.csv_files import write_csv
from reports.eval_tables import SUMMARY_FILE
from adapters.core.pricing import Cost, cost_per_1000
from reports.prices import Price, PriceTable, run_cost

log = logging.getLogger("bench")

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
CI_LEVEL = 0.95
_BLOCK = 100  # resamples per matrix product: bounds memory at 100 x images weights
_OK_RUN_STATUSES = ("collected", "reused")


# --- inputs ----------------------------------------------------------------------------------

@dataclass
class ProviderRun:
    """One provider's results, where they came from, their evaluation and their run records."""

    label: str
    results: ResultSet
    source: Path  # the results file or folder actually read
    given: Path  # what was passed on the command line
    how: str  # one sentence: how the input was used
    evaluation: Evaluation | None = None
    runs_file: Path | None = None
    latencies_ms: np.ndarray | None = None

    @property
    def provider(self) -> str:
        return self.results.provider


def recorded_inputs(folder: Path) -> tuple[Path, Path | None, dict[str, Any]]:
    """The predictions (and gt) an evaluation folder's ``summary.json`` says it was made from."""
    summary_path = folder / SUMMARY_FILE
    try:
        doc = json.loads(summary_path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{summary_path}: cannot read the evaluation summary ({clip(str(exc))})") from None
    recorded = doc.get("predictions") if isinstance(doc, dict) else None
    if not isinstance(recorded, str) or not recorded:
        raise InputError(f"{summary_path}: does not record which predictions were evaluated "
                         f"(no 'predictions' key); pass the results file itself instead")
    candidates = [Path(recorded)] if Path(recorded).is_absolute() else [Path(recorded), folder / recorded]
    found = next((c for c in candidates if c.exists()), None)
    if found is None:
        raise InputError(f"{summary_path}: its predictions {excerpt(recorded)} no longer exist (looked in the current "
                         f"folder and next to the summary); pass the results file itself instead")
    gt = doc.get("ground_truth")
    return found, (Path(gt) if isinstance(gt, str) and gt else None), doc


def resolve_input(given: Path, gt_dir: Path) -> tuple[Path, str]:
    """The results to read for one RESULT argument, and a sentence saying what was chosen."""
    given = Path(given)
    if not given.exists():
        raise InputError(f"{given}: no such results file or evaluation folder")
    if given.is_dir() and (given / SUMMARY_FILE).is_file():
        source, recorded_gt, _doc = recorded_inputs(given)
        how = (f"evaluation folder: re-evaluated its recorded predictions {source} with this report's protocol, "
               f"so every provider is scored the same way and per-word breakdowns are possible")
        if recorded_gt is not None and _same_path(recorded_gt, gt_dir) is False:
            how += f" (note: it was first evaluated against {recorded_gt}, this report uses {gt_dir})"
        return source, how
    return given, "results file: evaluated"


def _same_path(a: Path, b: Path) -> bool | None:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return None


def slug(text: str) -> str:
    """A file-name-safe form of a provider label (Hangul kept)."""
    return re.sub(r"[^0-9A-Za-z가-힣._-]+", "-", text).strip("-") or "provider"


def _parents(path: Path, depth: int) -> str:
    parts = Path(path).resolve().parent.parts
    return "/".join(parts[-depth:]) if depth <= len(parts) else "/".join(parts)


def disambiguate(providers: Sequence[str], paths: Sequence[Path]) -> list[str]:
    """Provider names as labels; a name used more than once gets the shortest part of its path
    that tells the files apart (``tesseract [psm6]``: the folder, else the file name, else more
    folders), or a number when nothing does (the same file given twice)."""
    labels = list(providers)
    for name in dict.fromkeys(providers):
        idx = [i for i, p in enumerate(providers) if p == name]
        if len(idx) < 2:
            continue
        depth = max(len(Path(paths[i]).resolve().parts) for i in idx)
        options = [lambda p: _parents(p, 1), lambda p: Path(p).name,
                   *[lambda p, d=d: _parents(p, d) for d in range(2, depth + 1)]]
        chosen = None
        for option in options:
            tails = [option(paths[i]) for i in idx]
            if len(set(tails)) == len(tails) and all(tails):
                chosen = tails
                break
        for k, i in enumerate(idx):
            labels[i] = f"{name} [{chosen[k]}]" if chosen else f"{name} #{k + 1}"
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):  # a path tail may still collide with another provider's name
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            labels[i] = f"{label} #{seen[label]}"
    return labels


def load_runs(given: Sequence[Path], gt_dir: Path) -> list[ProviderRun]:
    """Read every RESULT argument (not yet evaluated); labels are unique."""
    if not given:
        raise InputError("give at least one RESULT (a results file or an evaluation folder)")
    loaded = []
    for path in given:
        source, how = resolve_input(Path(path), gt_dir)
        check_predictions_path(source, gt_dir, option="")
        results = load_results(source)
        loaded.append((results, source, Path(path), how))
    labels = disambiguate([r.provider for r, *_ in loaded], [s for _, s, *_ in loaded])
    runs = []
    for label, (results, source, path, how) in zip(labels, loaded):
        run = ProviderRun(label, results, source, path, how)
        run.runs_file = find_runs_file(source, results.provider)
        runs.append(run)
    return runs


def evaluate_runs(runs: Sequence[ProviderRun], gt: Mapping[str, Sequence[Any]], options: EvalOptions,
                  progress: bool = True) -> None:
    """Evaluate every run with the same options, and read its latencies for the gt images."""
    from adapters.core.progress import progress_bar

    from eval.workers import evaluate_split  # eval.evaluate.evaluate, in two processes when eval.workers may fork

    for run in runs:
        with progress_bar(total=len(gt), desc=f"evaluating {run.label}", unit="img", leave=False,
                          enabled=progress, min_items=200) as bar:
            run.evaluation = evaluate_split(gt, run.results.images, options, progress=bar.update)
        if run.runs_file is not None:
            run.latencies_ms = read_latencies(run.runs_file, set(gt))


# --- run records (latency) ---------------------------------------------------------------------

def find_runs_file(results_path: Path, provider: str) -> Path | None:
    """``<provider>.runs.csv`` next to the results (as ``bench collect`` writes it), if present."""
    folder = results_path if results_path.is_dir() else results_path.parent
    names = [f"{provider}.runs.csv"]
    if results_path.is_file():
        stem = results_path.name.split(".")[0]
        names.append(f"{stem}.runs.csv")
    for name in dict.fromkeys(names):
        if (folder / name).is_file():
            return folder / name
    return None


def read_latencies(path: Path, stems: set[str] | None = None) -> np.ndarray | None:
    """Latencies (ms) of the successful calls in a run-records CSV, limited to ``stems``.

    Read defensively: the file is another tool's output, so a missing column or an odd value
    means "no latency" (with a warning), never a failed report.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            if not {"image", "status", "latency_ms"} <= columns:
                log.warning("%s: no 'image'/'status'/'latency_ms' columns; latency left out", path)
                return None
            values = []
            for row in reader:
                if (row.get("status") or "").strip().lower() not in _OK_RUN_STATUSES:
                    continue
                if stems is not None and row.get("image") not in stems:
                    continue
                try:
                    value = float(row.get("latency_ms") or "")
                except ValueError:
                    continue
                if np.isfinite(value) and value >= 0:
                    values.append(value)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        log.warning("%s: cannot read run records (%s); latency left out", path, exc)
        return None
    return np.asarray(values, dtype=float) if values else None


def latency_summary(latencies: np.ndarray | None) -> dict[str, float | int | None]:
    if latencies is None or not len(latencies):
        return {"latency_n": 0, "latency_p50_ms": None, "latency_p95_ms": None}
    p50, p95 = np.percentile(latencies, [50, 95])
    return {"latency_n": int(len(latencies)), "latency_p50_ms": round(float(p50), 1),
            "latency_p95_ms": round(float(p95), 1)}


# --- scores and bootstrap ----------------------------------------------------------------------

def count_columns() -> list[tuple[type, str]]:
    """The columns of ``count_matrix``: every field of every family's counts, in table order."""
    return [(t, f.name) for t in count_types() for f in fields(t)]


def count_matrix(evaluation: Evaluation, k: int = 0) -> np.ndarray:
    """Per-image counts at threshold ``k``: one row per image, one column per ``count_columns()``
    entry; the columns of a family the evaluation did not compute (CLEval under the IoU protocol
    alone) are NaN, so its metrics have no value."""
    columns = count_columns()
    rows = []
    for image in evaluation.images:
        given = {type(c): c for c in image.families(k)}
        rows.append([getattr(given[t], name) if t in given else np.nan for t, name in columns])
    return np.array(rows, dtype=float).reshape(len(evaluation.images), len(columns))


def metrics_from_sums(sums: np.ndarray) -> dict[str, np.ndarray]:
    """``flat_scores`` for many count sums at once (rows of ``sums`` are ``count_matrix`` rows):
    the table's own formulas, on columns of numbers."""
    by_type: dict[type, dict[str, np.ndarray]] = {}
    for i, (counts_type, name) in enumerate(count_columns()):
        by_type.setdefault(counts_type, {})[name] = sums[..., i]
    scores: dict[str, np.ndarray] = {}
    for counts_type, values in by_type.items():
        scores.update(scores_of(values, counts_type))
    return scores


def bootstrap_weights(n_images: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Blocks of resample weights: row r says how often each image was drawn in resample r.

    A multinomial draw of n out of n equally likely images is exactly one bootstrap resample;
    the same seed gives the same resamples, so providers evaluated on the same images are
    resampled together (paired).
    """
    rng = np.random.default_rng(seed)
    done = 0
    while done < resamples:
        size = min(_BLOCK, resamples - done)
        yield rng.multinomial(n_images, np.full(n_images, 1.0 / n_images), size=size).astype(float)
        done += size


def bootstrap(matrix: np.ndarray, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
              level: float = CI_LEVEL) -> dict[str, tuple[float, float]]:
    """Percentile intervals of every headline metric over image resamples.

    A resample whose denominator is empty gives the metric no value (NaN): the percentiles are
    taken over the resamples that have one, and an interval with none at all is NaN ("–")."""
    n = matrix.shape[0]
    if n == 0 or resamples <= 0:
        return {name: (float("nan"), float("nan")) for name in names()}
    draws: dict[str, list[np.ndarray]] = {name: [] for name in names()}
    for weights in bootstrap_weights(n, resamples, seed):
        for name, values in metrics_from_sums(weights @ matrix).items():
            draws[name].append(np.asarray(values, dtype=float))
    tail = (1.0 - level) / 2 * 100
    out = {}
    for name, blocks in draws.items():
        values = np.concatenate(blocks)
        values = values[~np.isnan(values)]
        if not len(values):
            out[name] = (float("nan"), float("nan"))
            continue
        low, high = np.percentile(values, [tail, 100 - tail])
        out[name] = (float(low), float(high))
    return out


# --- the table ---------------------------------------------------------------------------------

def comparison_columns() -> list[str]:
    columns = ["provider", "engine", "source", "images", "gt_care", "pred_care", "missing_predictions", "errors"]
    for name in names():
        columns += [name, f"{name}_ci_low", f"{name}_ci_high"]
    columns += ["latency_n", "latency_p50_ms", "latency_p95_ms", "cost_krw_per_1000", "cost_usd_per_1000",
                "free_quota", "price_source", "price_checked", "price_note"]
    return columns


@dataclass
class Comparison:
    rows: list[dict[str, Any]]
    intervals: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)  # label -> metric -> CI
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    level: float = CI_LEVEL


def comparison_row(run: ProviderRun, interval: Mapping[str, tuple[float, float]], price: Price,
                   cost: Cost | None = None) -> dict[str, Any]:
    """One provider's row; ``cost`` is what 1,000 images cost at ``price`` (per image when not given)."""
    assert run.evaluation is not None
    cost = cost if cost is not None else cost_per_1000(price)
    total = run.evaluation.totals(0)
    scores = flat_scores(*run.evaluation.family_totals(0))
    row: dict[str, Any] = {"provider": run.label, "engine": run.provider, "source": str(run.source),
                           "images": total.images, "gt_care": total.gt_care, "pred_care": total.pred_care,
                           "missing_predictions": total.missing_predictions, "errors": total.errors}
    for name in names():
        low, high = interval.get(name, (float("nan"), float("nan")))
        value = scores.get(name)  # None: no value (empty denominator, or a family not computed)
        row[name] = None if value is None else float(value)
        # No interval (--bootstrap 0, or no images) is an empty cell, not "nan".
        row[f"{name}_ci_low"] = None if np.isnan(low) else low
        row[f"{name}_ci_high"] = None if np.isnan(high) else high
    row.update(latency_summary(run.latencies_ms))
    note = (f"unknown: {cost.basis}" if not cost.known else price.note if cost.basis == "per image"
            else f"{cost.basis}, at {price.describe()}")
    row.update({"cost_krw_per_1000": cost.krw_per_1000, "cost_usd_per_1000": cost.usd_per_1000,
                "free_quota": price.free_quota, "price_source": price.source, "price_checked": price.checked,
                "price_note": note})
    return row


def compare(runs: Sequence[ProviderRun], resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
            prices: PriceTable | None = None) -> Comparison:
    """One row per evaluated provider, in the order given; ``prices``: a user's price table, whose
    entries replace the built-in ones (a metered entry is costed from the raw answers next to
    each run's results, for the evaluated images)."""
    comparison = Comparison([], {}, resamples, seed)
    for run in runs:
        if run.evaluation is None:
            raise ValueError(f"{run.label} has not been evaluated")
        interval = bootstrap(count_matrix(run.evaluation), resamples, seed)
        comparison.intervals[run.label] = interval
        price, cost = run_cost(run.provider, run.source, {image.stem for image in run.evaluation.images}, prices)
        comparison.rows.append(comparison_row(run, interval, price, cost))
    return comparison


def write_comparison(path: Path, comparison: Comparison) -> None:
    """``comparison.csv`` in UTF-8 with BOM; floats at full precision so they equal ``summary.json``."""
    columns = comparison_columns()
    write_csv(path, ({k: row.get(k) for k in columns} for row in comparison.rows), columns)
