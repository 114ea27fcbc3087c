"""One rule for progress bars, for every command: drawn on stderr only when it is a terminal.

A bar in a log file or a CI transcript is noise (thousands of carriage returns), so a bar is
shown when the user did not turn it off (``--no-progress``), stderr is a terminal, and the job
is big enough to be worth watching.
"""
from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress_bar(iterable: Any = None, *, enabled: bool | None = True, min_items: int = 0, **kwargs: Any) -> tqdm:
    """A ``tqdm`` on stderr that follows the rule above (``enabled=None`` means "not turned off")."""
    total = kwargs.get("total")
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    small = total is not None and total < min_items
    disable = True if enabled is False or small else None  # None: tqdm shows it only on a terminal
    return tqdm(iterable, file=sys.stderr, disable=disable, **kwargs)
