"""The few sentences that open the report: computed from the comparison's numbers, never written
by hand, so they cannot drift from the tables below them.

They say which provider leads on end-to-end quality and whether its lead is beyond the
bootstrap intervals, which provider is cheapest (known prices only) and which is fastest
(median latency), and what the set was. A pure function of the comparison rows: no I/O, so
every case (one provider, ties, unknown prices, no latency) is a unit test.

"Tied within the intervals" is the plain reading of two overlapping 95 % intervals. It is the
cautious reading: the intervals are resampled together (paired), so two providers whose
intervals overlap slightly may still differ reliably; one whose interval is clear of the
runner-up's is ahead on any reading.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from eval.metrics import Metric, metrics

Row = Mapping[str, Any]


@dataclass(frozen=True)
class DataSet:
    """What the providers were scored on."""

    images: int
    words: int  # care gt words
    dont_care: int = 0
    categories: tuple[str, ...] = ()


def quality_metrics() -> list[Metric]:
    """The headline metrics where higher is better, in table order: the verdict's quality
    measures (the first one decides who "leads")."""
    return [m for m in metrics() if m.headline and m.higher_is_better]


def _number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if v != v else v  # NaN is "no value"


def _names(labels: Sequence[str]) -> str:
    labels = list(labels)
    if len(labels) <= 2:
        return " and ".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def _fmt(m: Metric, value: float) -> str:
    return f"{m.scale * value:.1f}\u00a0%" if m.percent else f"{value:.3g}"  # no line break inside "28.7 %"


def _interval(m: Metric, row: Row) -> tuple[float, float] | None:
    low, high = _number(row.get(f"{m.name}_ci_low")), _number(row.get(f"{m.name}_ci_high"))
    return None if low is None or high is None else (low, high)


def _with_interval(m: Metric, row: Row) -> str:
    value = _number(row.get(m.name))
    assert value is not None
    ci = _interval(m, row)
    if ci is None:
        return _fmt(m, value)
    return f"{_fmt(m, value)} (interval {m.scale * ci[0]:.1f}–{m.scale * ci[1]:.1f})"


def _overlap(a: tuple[float, float] | None, b: tuple[float, float] | None) -> bool | None:
    if a is None or b is None:
        return None
    return a[0] <= b[1] and b[0] <= a[1]


def quality_sentence(rows: Sequence[Row], m: Metric, label: Callable[[Row], str]) -> str | None:
    """Who leads on ``m``, and whether the lead is beyond the intervals; None when no row has it."""
    scored = [r for r in rows if _number(r.get(m.name)) is not None]
    if not scored:
        return None
    sign = 1 if m.higher_is_better else -1
    ranked = sorted(scored, key=lambda r: -sign * _number(r.get(m.name)))  # stable: ties keep the given order
    leader = ranked[0]
    if len(ranked) == 1:
        only = "the only provider" if len(rows) == 1 else "the only provider with this measure"
        return (f"{label(leader)} scores {m.label} {_with_interval(m, leader)}; it is {only}, so there is nothing "
                f"to rank.")
    best = _number(leader.get(m.name))
    equal = [r for r in ranked[1:] if _number(r.get(m.name)) == best]
    if equal:
        return (f"{_names([label(r) for r in [leader, *equal]])} tie on {m.label} at {_fmt(m, best)}: "
                f"no provider leads on end-to-end quality.")
    runner = ranked[1]
    lead = f"{label(leader)} leads on end-to-end quality with {m.label} {_with_interval(m, leader)}"
    versus = f"{label(runner)} at {_with_interval(m, runner)}"
    overlap = _overlap(_interval(m, leader), _interval(m, runner))
    if overlap is None:
        return (f"{lead}, ahead of {versus}; no intervals were computed (--bootstrap 0), so whether the lead "
                f"is beyond chance is not known.")
    if not overlap:
        return f"{lead}, ahead of the runner-up {versus}: the intervals do not overlap."
    tied = [r for r in ranked[1:] if _overlap(_interval(m, leader), _interval(m, r))]
    who = versus if len(tied) == 1 else _names([label(r) for r in tied])
    return f"{lead}, but is tied within the intervals with {who}."


def _cheapest(rows: Sequence[Row], label: Callable[[Row], str]) -> str:
    priced = [_has(r, "krw") or _has(r, "usd") for r in rows]
    known = [r for r, p in zip(rows, priced) if p]
    unknown = [label(r) for r, p in zip(rows, priced) if not p]
    note = f" (price unknown for {_names(unknown)})" if unknown else ""
    if len(rows) == 1:
        if not known:
            return "Its price is not known (see the price table under Protocol)"
        return f"It costs {_cost(known[0], 'krw' if _has(known[0], 'krw') else 'usd')}"
    if not known:
        return "No provider's price is known (see the price table under Protocol), so there is no cheapest"
    if len(known) == 1:
        only = known[0]
        return f"Only {label(only)}'s price is known: {_cost(only, 'krw' if _has(only, 'krw') else 'usd')}{note}"
    currency = next((c for c in ("krw", "usd") if all(_has(r, c) for r in known)), None)
    if currency is None:  # some prices only in KRW, others only in USD: no exchange rate is assumed
        return f"The known prices are in different currencies, so no cheapest is named{note}"
    key = f"cost_{currency}_per_1000"
    low = min(_number(r[key]) for r in known)
    cheapest = [r for r in known if _number(r[key]) == low]
    names = _names([label(r) for r in cheapest])
    if len(cheapest) == len(known):
        return f"{names} cost the same, {_cost(cheapest[0], currency)}{note}"
    tie = " (tied)" if len(cheapest) > 1 else ""
    return f"Cheapest: {names}{tie} at {_cost(cheapest[0], currency)}{note}"


def _has(row: Row, currency: str) -> bool:
    return _number(row.get(f"cost_{currency}_per_1000")) is not None


def _cost(row: Row, currency: str) -> str:
    value = _number(row.get(f"cost_{currency}_per_1000"))
    assert value is not None
    amount = f"{value:,.0f} KRW" if currency == "krw" else f"{value:,.2f} USD"
    return f"{amount} per 1,000 images"


def _fastest(rows: Sequence[Row], label: Callable[[Row], str]) -> str:
    timed = [r for r in rows if _number(r.get("latency_p50_ms")) is not None]
    missing = [label(r) for r in rows if _number(r.get("latency_p50_ms")) is None]
    note = "" if not missing or not timed else f"; no latency records for {_names(missing)}"
    if not timed:
        return "no latency records were found, so there is no fastest"
    if len(rows) == 1:
        return f"its median latency is {_number(timed[0]['latency_p50_ms']):,.0f} ms"
    low = min(_number(r["latency_p50_ms"]) for r in timed)
    fastest = [label(r) for r in timed if _number(r["latency_p50_ms"]) == low]
    if len(timed) == 1:
        return f"only {fastest[0]} has latency records (median {low:,.0f} ms){note}"
    tie = " (tied)" if len(fastest) > 1 else ""
    return f"fastest: {_names(fastest)}{tie}, median {low:,.0f} ms per image{note}"


def _data_set(data: DataSet) -> str:
    words = _count(data.words, "gt word")
    if data.dont_care:
        words += f" (+{data.dont_care:,} don't care)"
    text = f"The set: {_count(data.images, 'image')}, {words}"
    if data.categories:
        n = len(data.categories)
        shown = ", ".join(data.categories[:6]) + (", …" if n > 6 else "")
        text += f", {n} categor{'y' if n == 1 else 'ies'} ({shown})"
    return text + "."


def _failures(rows: Sequence[Row], label: Callable[[Row], str]) -> str | None:
    parts = []
    for r in rows:
        errors, missing = int(r.get("errors") or 0), int(r.get("missing_predictions") or 0)
        said = ([f"failed on {_count(errors, 'image')}"] if errors else []) + (
            [f"had no result for {_count(missing, 'image')}"] if missing else [])
        if said:
            parts.append(f"{label(r)} {' and '.join(said)}")
    if not parts:
        return None
    return f"{'; '.join(parts)}: such images count as empty pages (every gt word missed)."


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _leader(rows: Sequence[Row], m: Metric, label: Callable[[Row], str]) -> str:
    scored = [r for r in rows if _number(r.get(m.name)) is not None]
    sign = 1 if m.higher_is_better else -1
    return label(max(scored, key=lambda r: sign * _number(r.get(m.name))))


def verdict(rows: Sequence[Row], data: DataSet, label: Callable[[Row], str] | None = None) -> list[str]:
    """The opening sentences, from the comparison rows (``comparison.csv``'s columns).

    ``label`` names a row (default: its ``provider`` column). Returns the quality sentence
    (and one more when another quality measure names a different leader), then cost and
    speed in one sentence, then the set, then failed images if any.
    """
    name = label or (lambda r: str(r["provider"]))
    if not rows:
        return ["No provider was scored.", _data_set(data)]
    sentences: list[str] = []
    first_leader = None
    for m in quality_metrics():
        sentence = quality_sentence(rows, m, name)
        if sentence is None:
            continue
        top = _leader(rows, m, name)
        if first_leader is None:
            sentences.append(sentence)
            first_leader = top
        elif top != first_leader:  # another protocol ranks another provider first: worth a sentence
            sentences.append(f"On {m.label} the order differs: {sentence}")
    if not sentences:
        sentences.append("No quality measure was computed.")
    cost, speed = _cheapest(rows, name), _fastest(rows, name)
    sentences.append(f"{cost}; {speed}.")
    sentences.append(_data_set(data))
    failed = _failures(rows, name)
    if failed:
        sentences.append(failed)
    return sentences
