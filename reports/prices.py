"""A small, editable price table: what 1,000 images cost with each provider's API.

Prices change and depend on plans, so every entry carries its source and the date it was
checked; an entry whose price could not be confirmed holds ``None`` and says why, and the
report prints "unknown" rather than a guess. Edit ``PRICES`` (or pass your own table to
:func:`price_for`) when you know your contract's numbers.
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


CHECKED = "2026-11-25"

PRICES: dict[str, Price] = {
    "naver": Price(
        provider="naver", unit="API call (one image)", krw_per_1000=None, usd_per_1000=None,
        free_quota="unknown",
        source="https://www.ncloud.com/product/aiService/ocr (pricing tab); "
               "https://api.ncloud-docs.com/docs/ai-application-service-ocr",
        checked=CHECKED,
        note="the General (text) OCR price could not be confirmed: the API documentation found does not "
             "state it and the pricing page was not available to check; fill it in from your NAVER Cloud "
             "contract or the pricing page",
    ),
    "kakao": Price(
        provider="kakao", unit="API call (one image)", krw_per_1000=None, usd_per_1000=None,
        free_quota="unknown (Kakao Developers lists free daily/monthly quotas per API)",
        source="https://developers.kakao.com/docs/latest/en/getting-started/quota; "
               "https://developers.kakao.com/docs/latest/en/app-setting/paid-api",
        checked=CHECKED,
        note="no price for the Vision OCR API was found: the quota and paid-API pages found do not list it; "
             "check the app console's quota page",
    ),
    "jenti": Price(
        provider="jenti", unit="self-hosted", krw_per_1000=0.0, usd_per_1000=0.0, free_quota="n/a",
        source="self-hosted Light-OCR API: no per-call fee", checked=CHECKED,
        note="API cost only; server cost not included",
    ),
    "tesseract": Price(
        provider="tesseract", unit="local engine", krw_per_1000=0.0, usd_per_1000=0.0, free_quota="n/a",
        source="Tesseract OCR, Apache-2.0, runs locally", checked=CHECKED,
        note="API cost only; CPU time not included",
    ),
}


def price_for(provider: str, table: dict[str, Price] | None = None) -> Price:
    """The table's entry for ``provider``, or an "unknown" entry naming the missing provider."""
    table = PRICES if table is None else table
    found = table.get(provider.lower())
    if found is not None:
        return found
    return Price(provider=provider, unit="", krw_per_1000=None, usd_per_1000=None, free_quota="",
                 source="", checked="", note=f"no entry for {provider!r} in reports/prices.py")
