"""What 1,000 images cost with each provider's API: each provider module's price entry, or the
entry of a user's price table (``--prices FILE``, see docs/commands.md).

Prices change and depend on plans, so every entry carries its source and the date it was
checked; an entry whose price could not be confirmed holds ``None`` and says why, and the
report prints "unknown" rather than a guess. A metered entry (per token, per page) is turned
into a cost per 1,000 images from what the raw answers next to the results record
(:func:`run_cost`).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import AbstractSet, Any

from adapters.core.images import image_stem
from adapters.core.pricing import Cost, Price, cost_per_1000
from adapters.providers.prices import PriceTable, price_for, read_prices, recorded

__all__ = ["Price", "PriceTable", "price_for", "read_prices", "run_cost"]

log = logging.getLogger("bench")


def raw_answers_file(results_path: Path, provider: str) -> Path | None:
    """The raw answers ``bench collect`` keeps for ``provider`` (``<provider>.json``, the raw layout)
    next to the results, or the results file itself when it is in that layout."""
    results_path = Path(results_path)
    folder = results_path if results_path.is_dir() else results_path.parent
    candidates = [folder / f"{provider}.json"]
    if results_path.is_file() and results_path.suffix.lower() == ".json":
        candidates.insert(0, results_path)
    for path in candidates:
        if path.is_file() and not path.name.endswith(".normalized.json"):
            return path
    return None


def _answers(path: Path, stems: AbstractSet[str] | None) -> list[Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        log.warning("%s: cannot read the raw answers for the cost (%s)", path, exc)
        return []
    if not isinstance(doc, dict) or "schema" in doc:  # the project's schema keeps no usage
        return []
    return [raw for name, raw in doc.items() if stems is None or image_stem(name) in stems]


def run_cost(provider: str, results_path: Path, stems: AbstractSet[str] | None = None,
             table: PriceTable | None = None) -> tuple[Price, Cost]:
    """The price entry of ``provider`` and its cost per 1,000 images: a metered price from the
    raw answers of ``stems`` next to ``results_path`` (see :func:`raw_answers_file`)."""
    price = price_for(provider, table)
    if not price.rates:
        return price, cost_per_1000(price)
    found = raw_answers_file(results_path, provider)
    if found is None:
        return price, cost_per_1000(price, (), f"next to {results_path} (no {provider}.json there)")
    return price, cost_per_1000(price, recorded(provider, _answers(found, stems)), f"in {found}")
