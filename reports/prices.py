"""What 1,000 images cost with each provider's API: each provider module's price entry.

Prices change and depend on plans, so every entry carries its source and the date it was
checked; an entry whose price could not be confirmed holds ``None`` and says why, and the
report prints "unknown" rather than a guess. Edit the ``price`` of a provider's spec (or pass
your own table to :func:`price_for`) when you know your contract's numbers.
"""
from __future__ import annotations

from adapters.core.errors import ConfigError
from adapters.core.pricing import Price
from adapters.providers import registry

__all__ = ["Price", "price_for"]


def price_for(provider: str, table: dict[str, Price] | None = None) -> Price:
    """The entry for ``provider`` (from ``table`` when given, else its spec), or an "unknown"
    entry naming the missing provider."""
    name = provider.lower()
    found: Price | None
    if table is not None:
        found = table.get(name)
    else:
        try:
            found = registry.get(name).price
        except ConfigError:
            found = None
    if found is not None:
        return found
    return Price(provider=provider, unit="", krw_per_1000=None, usd_per_1000=None, free_quota="",
                 source="", checked="", note=f"no entry for {provider!r} in reports/prices.py")
