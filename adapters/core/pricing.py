"""What calling a provider costs: one :class:`Price` entry, defined by each provider module.

Prices change and depend on plans, so every entry carries its source and the date it was
checked; an entry whose price could not be confirmed holds ``None`` and says why, and the
report prints "unknown" rather than a guess.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """Cost of one provider's API, per 1,000 images (one call per image)."""

    provider: str
    unit: str
    krw_per_1000: float | None
    usd_per_1000: float | None
    free_quota: str
    source: str
    checked: str  # ISO date the source was read
    note: str = ""

    @property
    def known(self) -> bool:
        return self.krw_per_1000 is not None or self.usd_per_1000 is not None

    def describe(self) -> str:
        """One line for tables: the price, or "unknown" and why."""
        if not self.known:
            return f"unknown: {self.note}" if self.note else "unknown"
        parts = []
        if self.krw_per_1000 is not None:
            parts.append(f"{self.krw_per_1000:,.0f} KRW")
        if self.usd_per_1000 is not None:
            parts.append(f"{self.usd_per_1000:,.2f} USD")
        return " / ".join(parts) + " per 1,000 images" + (f" ({self.note})" if self.note else "")
