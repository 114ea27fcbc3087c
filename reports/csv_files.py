"""CSV files people open in Excel: UTF-8 with a BOM (so Korean shows correctly) and no cell that
a spreadsheet would run as a formula.

Texts come from OCR providers and annotation files, so a text such as ``=HYPERLINK(...)`` or
``=cmd|...`` is data, not a formula: such cells get a leading apostrophe, which spreadsheets hide
and treat as "this is text". Numbers (``-3``, ``+1.5``) are left alone.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable, Sequence

from adapters.core.atomic import atomic_open

CSV_ENCODING = "utf-8-sig"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA_FIRST_CHARS = frozenset(_FORMULA_START)  # a text starting with one of these may need the apostrophe


def spreadsheet_safe(value: Any) -> Any:
    """The value as it should be written: None as empty, formula-like text behind an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def write_csv(path: Path, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    with atomic_open(path, "w", encoding=CSV_ENCODING, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})


def write_csv_rows(path: Path, rows: Iterable[Sequence[Any]], columns: Sequence[str]) -> None:
    """``write_csv`` for rows that already are sequences in column order with every cell passed
    through ``spreadsheet_safe`` (or None, which csv writes as an empty cell, as ``spreadsheet_safe``
    does): the same bytes without a dict per row, for tables of 100,000s of rows (``matches.csv``)."""
    # utf-8-sig is utf-8 after a BOM, but Python's codec encodes it a write (a row) at a time in
    # Python code; utf-8 goes through the file's C fast path
    bom = CSV_ENCODING == "utf-8-sig"
    with atomic_open(path, "w", encoding="utf-8" if bom else CSV_ENCODING, newline="") as handle:
        handle.write("\ufeff" if bom else "")
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)
