"""Prices by provider: each provider module's built-in entry, overridden by a user's price table
(``--prices FILE``, read with :func:`read_prices`), and what raw answers record of what was billed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from adapters.core.errors import ConfigError
from adapters.core.pricing import Price, read_price_table
from adapters.providers import registry

PriceTable = Mapping[str, Price]


def read_prices(path: Path | str | None) -> dict[str, Price]:
    """The entries of the price table at ``path`` (none without one), checked against the
    registered providers and what their raw answers record; errors name the file and line."""
    if path is None:
        return {}
    return read_price_table(path, {spec.name: spec.meter.quantities if spec.meter else ()
                                   for spec in registry.all_specs()})


def price_for(provider: str, table: PriceTable | None = None) -> Price:
    """The entry for ``provider``: from ``table`` when it has one, else its spec's built-in one,
    else an "unknown" entry naming the missing provider."""
    name = provider.lower()
    found: Price | None = (table or {}).get(name)
    if found is None:
        try:
            found = registry.get(name).price
        except ConfigError:
            found = None
    if found is not None:
        return found
    return Price(provider=provider, unit="", krw_per_1000=None, usd_per_1000=None, free_quota="",
                 source="", checked="", note=f"no entry for {provider!r} in the price table")


def recorded(provider: str, answers: Iterable[Any]) -> list[dict[str, float]]:
    """What each of ``answers`` (raw answers of ``provider``) records of what was billed, for the
    answers that record anything; empty for a provider whose answers record nothing."""
    try:
        meter = registry.get(provider.lower()).meter
    except ConfigError:
        return []
    if meter is None:
        return []
    found = []
    for answer in answers:
        try:
            quantities = dict(meter.read(answer))
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
        if quantities:
            found.append(quantities)
    return found
