"""Decode a big UTF-8 JSON file one value at a time, so memory follows the largest value, not the file.

Used for AI-Hub annotation files (``gt/aihub.py``) and for results files (``adapters/providers/
results.py``). A value that cannot be decoded is an ``InputError`` naming the file and where, and
that includes what ``json`` itself reports as other errors: nesting deeper than the interpreter
allows (``RecursionError``), an integer of more than 4,300 digits (``ValueError``) and, with
``unique_keys``, an object that repeats a key (which ``json`` would silently resolve to the last).
"""
from __future__ import annotations

import codecs
import json
import re
from typing import Any, BinaryIO, Callable, Iterator

from adapters.core.errors import InputError, excerpt

CHUNK_SIZE = 1 << 18  # 256 KiB: the buffer's transient copies stay a few MB
MAX_VALUE_CHARS = 64 << 20  # one JSON value bigger than this is corruption, not an annotation


class DuplicateKey(ValueError):
    """An object repeats a key (raised from inside the decoder; ``JsonStream`` says where)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {excerpt(key)} (only one value per key can be kept)")
        self.key = key


def unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` that refuses a repeated key instead of keeping its last value."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return obj


def decode_problem(exc: BaseException) -> str | None:
    """What a non-syntax decoding failure means, or None when ``exc`` is not one of them."""
    if isinstance(exc, DuplicateKey):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "nested too deeply (arrays or objects inside each other more than about 1,000 levels)"
    if isinstance(exc, ValueError) and not isinstance(exc, json.JSONDecodeError) and "digits" in str(exc):
        return "a number with more than 4,300 digits"
    return None


_SPACE = re.compile(r"[ \t\n\r]*")
_LOOKAHEAD = 32  # a value decoded closer than this to the buffer's end is decoded again with more text


class JsonStream:
    """Decode a big UTF-8 JSON file one value at a time; memory stays near ``chunk_size``.

    The buffer is a ``str``; ``offset`` turns a buffer position into a file byte offset for
    error messages. A value that ends near the end of the buffer is decoded again once more
    text has arrived, since a number such as ``123.`` + ``45`` may continue in the next chunk.
    """

    def __init__(self, handle: BinaryIO, source: str, on_bytes: Callable[[int], None] | None = None,
                 chunk_size: int = CHUNK_SIZE, unique_keys: bool = False,
                 max_value_chars: int = MAX_VALUE_CHARS) -> None:
        self._handle = handle
        self.source = source
        self._on_bytes = on_bytes
        self._chunk = chunk_size
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder(object_pairs_hook=unique_object if unique_keys else None)
        self._unique = unique_keys
        self._max_value = max_value_chars
        self._buf = ""
        self._pos = 0
        self._base = 0  # file byte offset of self._buf[0]
        self._end = 0  # file byte offset of the end of self._buf (bytes of a split character not counted)
        self._read = 0
        self._eof = False
        self._started = False

    # -- buffer ---------------------------------------------------------------------------
    def _fill(self) -> bool:
        """Append the next chunk (dropping what is consumed); False at end of file."""
        while not self._eof:
            data = self._handle.read(self._chunk)
            if self._on_bytes is not None and data:
                self._on_bytes(len(data))
            try:
                text = self._utf8.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise InputError(f"{self.source}: not UTF-8 text at byte {self._read + exc.start}") from None
            self._read += len(data)
            self._eof = not data
            if not self._started and text:
                self._started = True
                if text.startswith("\ufeff"):  # a BOM, as Windows tools write
                    self._base += 3
                    text = text[1:]
            if text:
                # Drop the consumed part only now, so positions held by a caller stay valid
                # when the file turns out to be at its end.
                if self._pos:
                    self._drop_consumed()
                self._buf += text
                self._end = self._read - len(self._utf8.getstate()[0])
                return True
        return False

    def _drop_consumed(self) -> None:
        """Drop the text before the cursor, moving ``_base`` by its UTF-8 length: measured from the
        buffer's end when what is kept is the shorter (usually: the consumed part is most of a chunk)."""
        kept = self._buf[self._pos:]
        if len(kept) < self._pos:
            self._base = self._end - len(kept.encode("utf-8"))
        else:
            self._base += len(self._buf[:self._pos].encode("utf-8"))
        self._buf = kept
        self._pos = 0

    def offset(self, pos: int | None = None) -> int:
        """File byte offset of a buffer position (default: the cursor)."""
        pos = self._pos if pos is None else pos
        return self._base + len(self._buf[:pos].encode("utf-8"))

    def error(self, message: str, pos: int | None = None) -> InputError:
        return InputError(f"{self.source}: invalid JSON at byte {self.offset(pos)}: {message}")

    # -- tokens ---------------------------------------------------------------------------
    def peek(self) -> str:
        """Skip white space; the next character, or '' at end of file."""
        while True:
            self._pos = _SPACE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise self.error(f"expected {char!r}, found {found!r}" if found else f"expected {char!r}, found the end")
        self._pos += 1

    def value(self) -> tuple[Any, int]:
        """Decode the value at the cursor; returns it and its buffer position."""
        pos = self._pos
        if pos >= len(self._buf) or self._buf[pos] in " \t\n\r":
            if not self.peek():
                raise self.error("unexpected end of file")
        while True:
            start = self._pos
            try:
                value, end = self._json.raw_decode(self._buf, start)
            except json.JSONDecodeError as exc:
                truncated = exc.pos >= len(self._buf) - 16 or exc.msg.startswith("Unterminated string")
                if truncated and len(self._buf) - start < self._max_value and self._fill():
                    continue
                if truncated and len(self._buf) - start >= self._max_value:
                    raise self.error(f"one value is longer than {self._max_value:,} characters "
                                     "(a damaged file?)", start) from None
                raise self.error(exc.msg, exc.pos) from None
            except (RecursionError, ValueError) as exc:
                problem = decode_problem(exc)
                if problem is None:
                    raise
                raise self.error(problem, start) from None
            if len(self._buf) - end < _LOOKAHEAD and self._fill():
                continue  # "12" + "3.5", "1e" + "-7" or "tr" + "ue": a number or literal may go on
            self._pos = end
            return value, start

    def array(self) -> Iterator[tuple[int, Any, int]]:
        """Elements of the array at the cursor as ``(index, value, buffer position)``.

        The position stays valid for ``offset`` until the next element is requested.
        """
        self.expect("[")
        if self.peek() == "]":
            self._pos += 1
            return
        index = 0
        while True:
            value, start = self.value()
            yield index, value, start
            index += 1
            pos = self._pos
            found = self._buf[pos] if pos < len(self._buf) else self.peek()
            if found in " \t\n\r":
                found = self.peek()
            if found == ",":
                self._pos += 1
            elif found == "]":
                self._pos += 1
                return
            else:
                raise self.error(f"expected ',' or ']' after element {index} of an array, found {found[:1]!r}")

    def members(self) -> Iterator[str]:
        """Keys of the object at the cursor; after each, the caller reads its value (``value()``,
        ``members()`` or ``array()``) before asking for the next key. With ``unique_keys`` a
        repeated key is an error."""
        self.expect("{")
        if self.peek() == "}":
            self._pos += 1
            return
        seen: set[str] = set()
        while True:
            if self.peek() != '"':
                raise self.error("Expecting property name enclosed in double quotes")
            key, start = self.value()
            if self._unique:
                if key in seen:
                    raise self.error(str(DuplicateKey(key)), start)
                seen.add(key)
            self.expect(":")
            yield key
            found = self.peek()
            if found == ",":
                self._pos += 1
            elif found == "}":
                self._pos += 1
                return
            else:
                raise self.error("Expecting ',' delimiter" if found else "Expecting ',' delimiter, found the end")

    def at_end(self) -> bool:
        """True when nothing but white space is left."""
        return not self.peek()

    def walk(self, handlers: dict[str, Callable[[int, Any, Callable[[], int]], None]],
             on_done: Callable[[str], None] | None = None) -> set[str]:
        """Walk the top-level object: each element of an array under a key in ``handlers`` goes to
        ``handler(index, element, offset)``; other values are decoded and dropped (arrays element
        by element). Returns the keys seen.
        """
        seen: set[str] = set()
        if self.peek() != "{":
            raise self.error("expected a JSON object {...} at the top level")
        self._pos += 1
        if self.peek() == "}":
            self._pos += 1
        else:
            while True:
                if self.peek() != '"':
                    raise self.error("expected a key in double quotes")
                key, _ = self.value()
                self.expect(":")
                handler = handlers.get(key)  # looked up now: a caller may change handlers in on_done
                if self.peek() == "[":
                    for index, item, start in self.array():
                        if handler is not None:
                            handler(index, item, lambda s=start: self.offset(s))
                else:
                    value, start = self.value()
                    if handler is not None:
                        raise InputError(f"{self.source}: \"{key}\" must be an array, found "
                                         f"{type(value).__name__} at byte {self.offset(start)}")
                seen.add(key)
                if on_done is not None:
                    on_done(key)
                found = self.peek()
                if found == ",":
                    self._pos += 1
                elif found == "}":
                    self._pos += 1
                    break
                else:
                    raise self.error(f"expected ',' or '}}' after the value of \"{key}\"")
        if self.peek():
            raise self.error("unexpected data after the top-level object")
        return seen
