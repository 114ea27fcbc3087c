"""What calling a provider costs: one :class:`Price` entry, defined by each provider module or
given in a user's price table (:func:`read_price_table`), and the cost it gives (:class:`Cost`).

Prices change and depend on plans, so every entry carries its source and the date it was
checked; an entry whose price could not be confirmed holds ``None`` and says why, and the
report prints "unknown" rather than a guess.

A price is per image (``krw_per_1000`` / ``usd_per_1000``), or metered (:class:`Rate`): per
million input and output tokens, or per 1,000 billed pages, for a provider whose raw answers
record those quantities (its :class:`Meter`). A metered price becomes a cost per image only
from answers that record what was billed (:func:`cost_per_1000`); nothing is assumed.
"""
from __future__ import annotations

import csv
import io
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from adapters.core.errors import InputError

INPUT_TOKENS = "input_tokens"
OUTPUT_TOKENS = "output_tokens"
PAGES = "pages"
_PER = {INPUT_TOKENS: 1_000_000, OUTPUT_TOKENS: 1_000_000, PAGES: 1000}
_SAID = {INPUT_TOKENS: "1M input tokens", OUTPUT_TOKENS: "1M output tokens", PAGES: "1,000 pages"}
CURRENCIES = ("krw", "usd")


@dataclass(frozen=True)
class Rate:
    """A metered price: ``krw`` / ``usd`` per ``per`` units of ``quantity`` (None: not given)."""

    quantity: str
    krw: float | None
    usd: float | None

    @property
    def per(self) -> int:
        return _PER[self.quantity]

    def amount(self, currency: str) -> float | None:
        return self.krw if currency == "krw" else self.usd


@dataclass(frozen=True)
class Meter:
    """What a provider's raw answers record of what it bills: the ``quantities`` it can report,
    and ``read``, from one raw answer to its quantities (empty when the answer records none)."""

    quantities: tuple[str, ...]
    read: Callable[[Any], Mapping[str, float]]


@dataclass(frozen=True)
class Price:
    """Cost of one provider's API: per 1,000 images (one call per image), or metered (``rates``)."""

    provider: str
    unit: str
    krw_per_1000: float | None
    usd_per_1000: float | None
    free_quota: str
    source: str
    checked: str  # ISO date the source was read
    note: str = ""
    rates: tuple[Rate, ...] = ()

    @property
    def per_image(self) -> bool:
        return self.krw_per_1000 is not None or self.usd_per_1000 is not None

    @property
    def known(self) -> bool:
        return self.per_image or any(rate.krw is not None or rate.usd is not None for rate in self.rates)

    def describe(self) -> str:
        """One line for tables: the price, or "unknown" and why."""
        if not self.known:
            return f"unknown: {self.note}" if self.note else "unknown"
        parts = []
        if self.per_image:
            amounts = [f"{self.krw_per_1000:,.0f} KRW" if self.krw_per_1000 is not None else "",
                       f"{self.usd_per_1000:,.2f} USD" if self.usd_per_1000 is not None else ""]
            parts.append(" / ".join(a for a in amounts if a) + " per 1,000 images")
        for currency in CURRENCIES:
            metered = [f"{_amount(rate.amount(currency), currency)} per {_SAID[rate.quantity]}"
                       for rate in self.rates if rate.amount(currency) is not None]
            if metered:
                parts.append(" + ".join(metered))
        return "; ".join(parts) + (f" ({self.note})" if self.note else "")


def _amount(value: float | None, currency: str) -> str:
    if value is None:
        return ""
    if currency == "krw":
        return f"{value:,.0f} KRW" if value == int(value) else f"{value:,.2f} KRW"
    return f"{value:,.2f} USD" if round(value, 2) == value else f"{value:,.4g} USD"


# --- from a price to a cost --------------------------------------------------------------------

@dataclass(frozen=True)
class Cost:
    """What 1,000 images cost at a price (None: not known in that currency) and how it was found
    (``basis``: "per image", the recorded usage it comes from, or why it is unknown)."""

    krw_per_1000: float | None
    usd_per_1000: float | None
    basis: str

    @property
    def known(self) -> bool:
        return self.krw_per_1000 is not None or self.usd_per_1000 is not None

    def total(self, images: int) -> tuple[float | None, float | None]:
        """KRW and USD for ``images`` images."""
        return tuple(None if value is None else value * images / 1000  # type: ignore[return-value]
                     for value in (self.krw_per_1000, self.usd_per_1000))

    def describe(self, images: int) -> str:
        """``12,000 KRW / 9.00 USD`` for ``images`` images, or ``unknown (why)``."""
        if not self.known:
            return f"unknown ({self.basis})"
        krw, usd = self.total(images)
        return " / ".join(f"{money(value, currency)} {currency.upper()}"
                          for value, currency in ((krw, "krw"), (usd, "usd")) if value is not None)


def money(value: float, currency: str) -> str:
    """An amount as people read it: whole won, cents of a dollar, and three significant digits
    below that (a few images at a per-token price cost a fraction of a cent)."""
    smallest = 1.0 if currency == "krw" else 0.01
    if value == 0 or value >= smallest:
        return f"{value:,.0f}" if currency == "krw" else f"{value:,.2f}"
    return f"{value:.3g}"


def cost_per_1000(price: Price, recorded: Sequence[Mapping[str, float]] = (), where: str = "") -> Cost:
    """The cost of 1,000 images at ``price``.

    A metered price uses the quantities ``recorded`` by answers (one mapping per answer; ``where``
    says where they are, e.g. ``in runs/gpt/openai.json``): their mean per image times the rates.
    Without an answer that records them, a per-image price of the same entry is used, else the
    cost is unknown and ``basis`` says why.
    """
    if price.rates:
        needed = sorted({rate.quantity for rate in price.rates})
        label = "billed pages" if needed == [PAGES] else "input and output tokens"
        usable = [r for r in recorded if set(needed) <= set(r)]
        place = f" {where}" if where else ""
        if usable:
            mean = {q: sum(float(r[q]) for r in usable) / len(usable) for q in needed}
            values = []
            for currency in CURRENCIES:
                amounts = [rate.amount(currency) for rate in price.rates]
                values.append(None if any(a is None for a in amounts) else
                              sum(mean[r.quantity] / r.per * a for r, a in zip(price.rates, amounts)) * 1000)
            per_image = " + ".join(f"{mean[q]:,.1f} {q.replace('_', ' ')}" for q in needed)
            return Cost(values[0], values[1], f"metered: {per_image} per image on average, from "
                                              f"{len(usable)} answer{'s' if len(usable) > 1 else ''}{place}")
        if price.per_image:
            return Cost(price.krw_per_1000, price.usd_per_1000, f"per image: no answer{place} records the {label}")
        return Cost(None, None, f"priced per {label[:-1] if label.endswith('pages') else 'token'}, and no "
                                f"answer{place} records the {label}")
    if not price.per_image:
        return Cost(None, None, price.note or "no price")
    return Cost(price.krw_per_1000, price.usd_per_1000, "per image")


# --- a user's price table ----------------------------------------------------------------------

PER_IMAGE_FIELDS = {"krw_per_1000_images": "krw", "usd_per_1000_images": "usd"}
RATE_FIELDS = {f"{c}_per_{'1m' if q != PAGES else '1000'}_{q}": (q, c) for q in _PER for c in CURRENCIES}
TEXT_FIELDS = ("free_quota", "note", "checked")
TABLE_FIELDS = ("provider", *PER_IMAGE_FIELDS, *RATE_FIELDS, *TEXT_FIELDS)
_NUMBER = re.compile(r"^(\d+|\d{1,3}(,\d{3})+)(\.\d+)?$")


class PriceTableError(InputError):
    """A price table that cannot be used, naming the file and line. Exit code 2."""


def table_source(path: Path | str) -> str:
    """What a table entry gives as its source."""
    return f"your price table ({path})"


def read_price_table(path: Path | str, meters: Mapping[str, tuple[str, ...]]) -> dict[str, Price]:
    """The entries of a user's price table (CSV or TOML, see docs/commands.md), by provider.

    ``meters`` maps every known provider to the quantities its raw answers record. A provider not
    in it, a field not in :data:`TABLE_FIELDS`, a value that is not a non-negative number, a
    metered price for a quantity the provider's answers do not record, a token price without its
    other half, an entry without a price and a provider given twice are errors naming the file
    and the line (:class:`PriceTableError`).
    """
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in (".csv", ".toml"):
        raise PriceTableError(f"{path}: a price table is a .csv or a .toml file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PriceTableError(f"{path}: no such price table") from None
    except UnicodeDecodeError:
        raise PriceTableError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise PriceTableError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    rows = _csv_rows(path, text) if kind == ".csv" else _toml_rows(path, text)
    table: dict[str, Price] = {}
    first: dict[str, int] = {}
    for line, fields in rows:
        price = _entry(path, line, fields, meters)
        if price.provider in table:
            raise PriceTableError(f"{path}, line {line}: {price.provider} is priced twice (first on line "
                                  f"{first[price.provider]})")
        table[price.provider], first[price.provider] = price, line
    return table


def _error(path: Path, line: int, message: str) -> PriceTableError:
    return PriceTableError(f"{path}, line {line}: {message}")


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    """(line number, fields) of each priced row; ``#`` lines and blank lines are skipped."""
    lines = ["" if line.lstrip().startswith("#") else line for line in text.splitlines()]
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header: list[str] | None = None
    rows = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                unknown = [name for name in header if name not in TABLE_FIELDS]
                if unknown or "provider" not in header:
                    what = "no 'provider' column" if "provider" not in header else f"unknown column {unknown[0]!r}"
                    raise _error(path, line, f"{what}; the header names columns of {', '.join(TABLE_FIELDS)}")
                repeated = sorted({name for name in header if header.count(name) > 1})
                if repeated:
                    raise _error(path, line, f"the column {repeated[0]!r} is named twice")
                continue
            if len(cells) > len(header):
                raise _error(path, line, f"{len(cells)} cells, but the header names {len(header)} columns")
            rows.append((line, {name: cell.strip() for name, cell in zip(header, cells) if cell.strip()}))
    except csv.Error as exc:
        raise _error(path, reader.line_num, f"not CSV ({exc})") from None
    if header is None:
        raise PriceTableError(f"{path}: empty (a header line, then one line per provider)")
    return rows


_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_TOML_TABLE = re.compile(r'^\s*\[\s*"?([^\]"]*)"?\s*\]')
_TOML_KEY = re.compile(r'^\s*"?([A-Za-z0-9_-]+)"?\s*=')


def _toml_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    """(line of its ``[provider]`` header, fields) per table; a bad key is named by its own line."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        message = _TOML_LINE.sub("", str(exc)).strip()
        raise (_error(path, int(found.group(1)), f"not TOML ({message})") if found else
               PriceTableError(f"{path}: not TOML ({message})")) from None
    headers: dict[str, int] = {}
    keys: dict[tuple[str, str], int] = {}
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        table, key = _TOML_TABLE.match(line), _TOML_KEY.match(line)
        if table:
            current = table.group(1).strip()
            headers.setdefault(current, number)
        elif key:
            keys.setdefault((current, key.group(1)), number)
    rows = []
    for name, fields in doc.items():
        line = headers.get(name, keys.get(("", name), 1))
        if not isinstance(fields, dict):
            raise _error(path, line, f"{name!r} is not a table: give one [provider] table per provider")
        row: dict[str, Any] = {"provider": name}
        for key, value in fields.items():
            where = keys.get((name, key), line)
            if key.lower() == "provider" or key.lower() not in TABLE_FIELDS:
                raise _error(path, where, f"unknown key {key!r} in [{name}]; a table takes "
                                          f"{', '.join(TABLE_FIELDS[1:])}")
            if isinstance(value, (dict, list)):
                raise _error(path, where, f"{key} in [{name}] must be a number or a text, not a {type(value).__name__}")
            if key.lower() in row:
                raise _error(path, where, f"{key} is given twice in [{name}]")
            row[key.lower()] = _At(value, where)
        rows.append((line, row))
    return rows


@dataclass(frozen=True)
class _At:
    """A TOML value and the line it is on (a CSV cell is on its row's line)."""

    value: Any
    line: int


def _split(value: Any, line: int) -> tuple[Any, int]:
    return (value.value, value.line) if isinstance(value, _At) else (value, line)


def _number(path: Path, line: int, name: str, value: Any) -> float:
    value, line = _split(value, line)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _error(path, line, f"{name} must be a number, not {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER.match(text):
            raise _error(path, line, f"{name} must be a number such as 1500 or 0.25, not {value!r}")
        value = float(text.replace(",", ""))
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise _error(path, line, f"{name} must be a number of 0 or more, not {value!r}")
    return number


def _entry(path: Path, line: int, fields: Mapping[str, Any], meters: Mapping[str, tuple[str, ...]]) -> Price:
    provider, _ = _split(fields.get("provider", ""), line)
    provider = str(provider).strip().lower()
    if not provider:
        raise _error(path, line, "no provider named")
    if provider not in meters:
        raise _error(path, line, f"unknown provider {provider!r}; known: {', '.join(meters)}")
    numbers = {name: _number(path, line, name, value) for name, value in fields.items()
               if name in PER_IMAGE_FIELDS or name in RATE_FIELDS}
    texts = {name: str(_split(fields[name], line)[0]).strip() for name in TEXT_FIELDS if name in fields}
    if not numbers:
        raise _error(path, line, f"{provider} has no price: give krw_per_1000_images or usd_per_1000_images, "
                                 f"or a metered price ({', '.join(RATE_FIELDS)})")
    rates = []
    for quantity in _PER:
        given = {c: numbers.get(name) for name, (q, c) in RATE_FIELDS.items() if q == quantity}
        if all(v is None for v in given.values()):
            continue
        if quantity not in meters[provider]:
            recorded = ", ".join(q.replace("_", " ") for q in meters[provider]) or "nothing billed"
            given_at = min(_split(fields[name], line)[1] for name, (q, _) in RATE_FIELDS.items()
                           if q == quantity and name in fields)
            raise _error(path, given_at, f"a price per {quantity.replace('_', ' ')[:-1]} for {provider}, whose raw answers "
                                     f"record {recorded}: give a price per 1,000 images instead")
        rates.append(Rate(quantity, given["krw"], given["usd"]))
    tokens = {rate.quantity: rate for rate in rates if rate.quantity in (INPUT_TOKENS, OUTPUT_TOKENS)}
    for currency in CURRENCIES:
        halves = [q for q in (INPUT_TOKENS, OUTPUT_TOKENS) if q in tokens and tokens[q].amount(currency) is not None]
        if len(halves) == 1:
            other = OUTPUT_TOKENS if halves[0] == INPUT_TOKENS else INPUT_TOKENS
            given_at = _split(fields[f"{currency}_per_1m_{halves[0]}"], line)[1]
            raise _error(path, given_at, f"{provider}: a {currency.upper()} price per {halves[0].replace('_', ' ')[:-1]} "
                                     f"needs {currency}_per_1m_{other} too (0 if they are free)")
    units = (["image"] if any(name in numbers for name in PER_IMAGE_FIELDS) else []) + list(dict.fromkeys(
        "billed page" if rate.quantity == PAGES else "token" for rate in rates))
    return Price(provider=provider, unit=" or ".join(units), krw_per_1000=numbers.get("krw_per_1000_images"),
                 usd_per_1000=numbers.get("usd_per_1000_images"), free_quota=texts.get("free_quota", ""),
                 source=table_source(path), checked=texts.get("checked", ""), note=texts.get("note", ""),
                 rates=tuple(rates))
