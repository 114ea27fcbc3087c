"""The report's figures (PNG): headline metrics with confidence intervals, hmean against the IoU
threshold, per-image CER, latency and the breakdowns.

Figures are built on ``matplotlib.figure.Figure`` and saved with the Agg renderer, never through
pyplot, so no display or global backend is involved. Text is set in DejaVu Sans (matplotlib's own
font, right for Latin letters, digits and ``<``, ``>``, ``≥``), with the Hangul-capable font found
by ``reports.fonts`` as the per-glyph fallback (matplotlib's font fallback list), so Korean labels
render instead of turning into empty boxes. NanumGothic first would be wrong: it draws ``<`` and
``>`` as the angle brackets ``〈`` ``〉`` ("〈16 px").
"""
from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
from matplotlib import font_manager, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from adapters.core.atomic import write_bytes_atomic
from eval.metrics import Metric, metrics

DPI = 100
# Colour-blind-safe qualitative palette (Okabe-Ito), one colour per provider.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def font_families(font_path: str | None) -> list[str]:
    """The font fallback list: DejaVu Sans for every glyph it has, then the Hangul font."""
    families = ["DejaVu Sans"]
    if font_path:
        font_manager.fontManager.addfont(font_path)
        families.append(font_manager.FontProperties(fname=font_path).get_name())
    return families


@contextmanager
def korean_text(font_path: str | None) -> Iterator[None]:
    """Matplotlib settings for the duration of one figure: DejaVu Sans first, the Hangul font as
    the fallback for the glyphs DejaVu lacks."""
    families = font_families(font_path)
    with rc_context({"font.family": families, "axes.unicode_minus": False, "svg.fonttype": "none"}):
        yield


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png")
    write_bytes_atomic(path, buffer.getvalue())
    return path


def _colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def _or_nan(value: object) -> float:
    return float("nan") if value is None or value == "" else float(value)  # type: ignore[arg-type]


def _two_lines(label: str, width: int = 8) -> str:
    return label.replace(" ", "\n", 1) if len(label) > width else label


def _bar_panel(ax, rows: Sequence[Mapping[str, object]], bars: Sequence[Metric]) -> float:
    """Grouped bars with CI error bars on ``ax``: one group per metric, one bar per provider.
    Returns the highest point drawn (bar or interval), for the axis limit."""
    scale = np.array([m.scale for m in bars], dtype=float)
    n = max(1, len(rows))
    width = 0.8 / n
    x = np.arange(len(bars))
    top = 0.0
    for k, row in enumerate(rows):
        values = np.array([_or_nan(row.get(m.name)) for m in bars]) * scale
        low = np.array([_or_nan(row.get(f"{m.name}_ci_low")) for m in bars]) * scale
        high = np.array([_or_nan(row.get(f"{m.name}_ci_high")) for m in bars]) * scale
        yerr = np.nan_to_num(np.vstack([np.clip(values - low, 0, None), np.clip(high - values, 0, None)]))
        ax.bar(x + (k - (n - 1) / 2) * width, values, width, yerr=yerr, capsize=3, label=str(row["provider"]),
               color=_colour(k), error_kw={"elinewidth": 1})
        top = max(top, float(np.nanmax(np.concatenate([values, high, [0.0]]))))
    # long labels ("CLEval e2e H") break after their first word so neighbours do not overlap
    ax.set_xticks(x, [_two_lines(m.plot or m.label) for m in bars])
    ax.grid(axis="y", alpha=0.3)
    return top


def headline_bars(rows: Sequence[Mapping[str, object]], path: Path, font_path: str | None) -> Path:
    """The metrics the table marks for plotting, one bar per provider, CIs as error bars, in two
    labelled panels: higher-is-better metrics (0-100 %) and lower-is-better ones (error rates such
    as CER, on their own axis, which grows past 100 % when the data do)."""
    plotted = [m for m in metrics() if m.plot]
    panels = [(group, title) for group, title in (
        ([m for m in plotted if m.higher_is_better], "Higher is better"),
        ([m for m in plotted if not m.higher_is_better], "Lower is better")) if group]
    n = max(1, len(rows))
    with korean_text(font_path):
        units = [max(2.5, len(group)) for group, _ in panels] or [1]
        width = max(8.0, 0.5 * sum(units) * max(1.6, 0.45 * n + 0.6) + 2)
        fig = Figure(figsize=(width, 4.6), layout="constrained")
        axes = fig.subplots(1, max(1, len(panels)), squeeze=False, gridspec_kw={"width_ratios": units})[0]
        for ax, (group, title) in zip(axes, panels):
            top = _bar_panel(ax, rows, group)
            percent = all(m.percent for m in group)
            if title.startswith("Higher"):
                ax.set_ylim(0, max(105.0, top * 1.05))
                ax.set_title(f"{title} (%)" if percent else title)
            else:
                # error rates: their own scale, so a CER of 14 % is not a sliver under a 100 % axis
                ax.set_ylim(0, max(5.0, top * 1.15))
                ax.set_title(f"{title} (%)" if percent else title)
            ax.set_ylabel("percent" if percent else "value")
        fig.suptitle("Headline metrics with 95% bootstrap intervals")
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 4), fontsize="small",
                       frameon=False)
        return _save(fig, path)


def iou_sweep(sweeps: Mapping[str, Sequence[Mapping[str, float]]], path: Path, font_path: str | None) -> Path:
    """Detection and end-to-end hmean against the IoU threshold, one line per provider."""
    with korean_text(font_path):
        fig = Figure(figsize=(10, 4))
        axes = fig.subplots(1, 2, sharey=True)
        for ax, metric, title in ((axes[0], "det_hmean", "Detection hmean"), (axes[1], "e2e_hmean", "End-to-end hmean")):
            for k, (label, points) in enumerate(sweeps.items()):
                pts = sorted(points, key=lambda p: p["iou"])
                ax.plot([p["iou"] for p in pts], [100 * _or_nan(p[metric]) for p in pts], marker="o", label=label,
                        color=_colour(k))
            ax.set_title(title)
            ax.set_xlabel("IoU threshold (pair must be above it)")
            ax.set_xlim(0.05, 0.95)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("percent")
        axes[0].set_ylim(0, 105)
        axes[1].legend(fontsize="small")
        fig.tight_layout()
        return _save(fig, path)


def distribution(values: Mapping[str, np.ndarray], path: Path, font_path: str | None, *, title: str,
                 ylabel: str, log: bool = False, mark: tuple[float, str] | None = None) -> Path:
    """Box plots with the individual values jittered on top, one box per provider. ``mark`` is a
    reference value and its note, drawn as a dashed line when some value reaches it (CER 100 %)."""
    with korean_text(font_path):
        labels = list(values)
        fig = Figure(figsize=(max(6.0, 1.6 * len(labels) + 2), 4))
        ax = fig.add_subplot()
        data = [np.asarray(values[label], dtype=float) for label in labels]
        ax.boxplot(data, showfliers=False, widths=0.5)
        rng = np.random.default_rng(0)  # fixed jitter: the same inputs draw the same picture
        for k, series in enumerate(data):
            ax.scatter(k + 1 + rng.uniform(-0.15, 0.15, len(series)), series, s=10, alpha=0.6, color=_colour(k))
        ax.set_xticks(np.arange(1, len(labels) + 1), labels, rotation=15 if len(labels) > 3 else 0)
        if log:
            ax.set_yscale("log")
        if mark is not None and any(len(d) and np.nanmax(d) >= mark[0] for d in data):
            ax.axhline(mark[0], color="#5b6570", linestyle="--", linewidth=1)
            ax.annotate(mark[1], (0.99, mark[0]), xycoords=("axes fraction", "data"), xytext=(0, -3),
                        textcoords="offset points", fontsize="small", color="#5b6570", ha="right", va="top")
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        return _save(fig, path)


def breakdown_bars(title: str, rows: Sequence[Mapping[str, object]], metrics: Sequence[tuple[str, str]],
                   path: Path, font_path: str | None) -> Path:
    """One panel per metric: buckets on the x axis, one bar per provider; n under each bucket."""
    with korean_text(font_path):
        providers = list(dict.fromkeys(str(r["provider"]) for r in rows))
        buckets = list(dict.fromkeys(str(r["bucket"]) for r in rows))
        counts: dict[str, int] = {}
        for r in rows:
            counts.setdefault(str(r["bucket"]), int(r["gt_words"]))  # n is gt-side: the same for every provider
        fig = Figure(figsize=(max(8.0, 0.9 * len(buckets) * max(1, len(providers)) * 0.6 + 4), 4 * len(metrics)))
        axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
        width = 0.8 / max(1, len(providers))
        x = np.arange(len(buckets))
        by_key = {(str(r["provider"]), str(r["bucket"])): r for r in rows}
        for ax, (metric, label) in zip(axes, metrics):
            for k, provider in enumerate(providers):
                values = [100 * _or_nan(by_key[(provider, b)][metric]) if (provider, b) in by_key else 0.0
                          for b in buckets]
                ax.bar(x + (k - (len(providers) - 1) / 2) * width, values, width, label=provider, color=_colour(k))
            ax.set_xticks(x, [f"{b}\n({counts[b]} gt word{'' if counts[b] == 1 else 's'})" for b in buckets])
            ax.set_ylabel(f"{label} (%)")
            ax.set_ylim(0, 105)
            ax.grid(axis="y", alpha=0.3)
        axes[0].set_title(title)
        axes[0].legend(fontsize="small")
        fig.tight_layout()
        return _save(fig, path)
