"""Load any results the tool accepts, deciding the format from the content, never the file name.

Accepted: the project's schema; a provider's raw results in the old scripts' layout (one JSON
object mapping image stem to that image's raw response, e.g. ``naver.json``: every registered
provider's ``looks_like`` is asked which one wrote it); an ICDAR-style folder or zip of
``res_<stem>.txt`` files.

A JSON file is streamed (``adapters.core.jsonstream``): one image's response is decoded and
turned into an ``ImageResult`` at a time, so memory follows the parsed results, not the file's
JSON tree (a 200 MB file once took 2.25 GB). A file not in the order streaming needs (a schema
document whose ``images`` come before ``version`` and ``provider``, a top level that is not an
object) is read whole, with the same checks. A repeated key, nesting deeper than ~1,000 levels or
an integer of over 4,300 digits is an input error, as is a file that cannot be read.
"""
from __future__ import annotations

import codecs
import gc
import json
import logging
import zipfile
from pathlib import Path
from collections.abc import Mapping  # the ABCs: isinstance is 3x faster than with typing's aliases
from typing import Any

from adapters.core.errors import InputError, clip, excerpt, read_error, read_utf8_text
from adapters.core.images import image_stem
from adapters.core.jsonstream import CHUNK_SIZE, JsonStream, decode_problem, unique_object
from adapters.core.schema import (SCHEMA_NAME, ImageResult, Item, ResultSet, is_schema_document, parse_image_result,
                                  parse_result_set)
from adapters.providers import registry
from adapters.providers.registry import ProviderSpec
from adapters.providers.response_fields import ResponseFormatError
from gt.reader import read_annotations

log = logging.getLogger("bench")

ICDAR = "icdar"
UNKNOWN_PROVIDER = "unknown"
image_key = image_stem  # old scripts keyed results by stem or by file name; both mean the stem
MAX_RESPONSE_CHARS = 256 << 20  # one image's response longer than this is a damaged file


def raw_parsers() -> dict[str, ProviderSpec]:
    """Every registered provider (each recognises and parses its raw responses), by name."""
    return {spec.name: spec for spec in registry.all_specs()}


def _titles() -> str:
    titles = [spec.title for spec in registry.all_specs()]
    return ", ".join(titles[:-1]) + " or " + titles[-1] if len(titles) > 1 else "".join(titles)


def detect_provider(raw_by_stem: Mapping[str, Any], source: str) -> str:
    """The one provider whose responses these are; mixed or unknown content is an input error."""
    parsers = raw_parsers()
    votes: dict[str, str] = {}
    for stem, raw in raw_by_stem.items():
        claims = [name for name, spec in parsers.items() if spec.looks_like(raw)]
        if len(claims) == 1:
            votes.setdefault(claims[0], stem)
    if len(votes) > 1:
        raise _mixed(votes, source)
    if votes:
        return next(iter(votes))
    for spec in parsers.values():  # e.g. only Light-OCR answers "no text" with an empty object
        empty = spec.empty_answer
        if raw_by_stem and empty is not None and all(raw == empty for raw in raw_by_stem.values()):
            return spec.name
    raise InputError(
        f"{source}: cannot tell which provider produced these responses; expected the project's "
        f"schema or a JSON object mapping image names to {_titles()} responses")


def _mixed(votes: Mapping[str, str], source: str) -> InputError:
    described = "; ".join(f"{excerpt(stem)} looks like {name}" for name, stem in votes.items())
    return InputError(f"{source}: responses from more than one provider in one file ({described})")


class _RawImages:
    """Raw responses parsed one by one into ``images``; a broken one becomes an error entry naming the image."""

    def __init__(self, provider: str, source: str) -> None:
        self.provider, self.source = provider, source
        self.parser = raw_parsers()[provider]
        self.images: dict[str, ImageResult] = {}
        self.seen: dict[str, str] = {}

    def add(self, name: str, raw: Any) -> None:
        stem = image_key(name)
        if stem in self.seen:
            raise InputError(f"{self.source}: two entries for image {excerpt(stem)}: {excerpt(self.seen[stem])} "
                             f"and {excerpt(name)}")
        self.seen[stem] = name
        try:
            self.images[stem] = self.parser.parse(raw)
        except ResponseFormatError as exc:
            why = clip(str(exc))  # parsers quote the response; a huge bogus field is not echoed whole
            log.warning("%s: image %s: unreadable %s response (%s); counted as an error",
                        self.source, excerpt(stem), self.provider, why)
            self.images[stem] = ImageResult.failed(f"image {excerpt(stem)}: unreadable {self.provider} response: {why}")


def parse_raw_layout(raw_by_stem: Mapping[str, Any], source: str) -> ResultSet:
    """Parse every image's raw response; a broken one becomes an error entry naming the image."""
    provider = detect_provider(raw_by_stem, source)
    parsed = _RawImages(provider, source)
    for name, raw in raw_by_stem.items():
        parsed.add(name, raw)
    return ResultSet(provider=provider, images=parsed.images)


def read_json(path: Path) -> Any:
    """JSON from a file in UTF-8 with or without BOM, with errors that name the file and position.

    Reads the whole file; ``load_results`` streams it instead whenever it can.
    """
    text = read_utf8_text(path)
    try:
        return json.loads(text, object_pairs_hook=unique_object)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except (RecursionError, ValueError) as exc:
        problem = decode_problem(exc)
        if problem is None:
            raise
        raise InputError(f"{path}: not valid JSON: {problem}") from None


def line_column(path: Path, offset: int) -> tuple[int, int]:
    """The line and column (both from 1, columns in characters, as ``json`` counts) of a byte offset."""
    continuation = [bytes([b]) for b in range(0x80, 0xC0)]
    line, column = 1, 1
    with open(path, "rb") as handle:
        pos = 3 if handle.read(3) == codecs.BOM_UTF8 else 0
        handle.seek(pos)
        while pos < offset:
            chunk = handle.read(min(CHUNK_SIZE, offset - pos))
            if not chunk:
                break
            pos += len(chunk)
            newlines = chunk.count(b"\n")
            if newlines:
                line += newlines
                chunk = chunk[chunk.rindex(b"\n") + 1:]
                column = 1
            column += len(chunk) - sum(chunk.count(c) for c in continuation)
    return line, column


class _ResultsStream(JsonStream):
    """A results file's stream: every error names the line and column, as ``json.loads`` does."""

    def __init__(self, handle: Any, path: Path) -> None:
        super().__init__(handle, str(path), unique_keys=True, max_value_chars=MAX_RESPONSE_CHARS)
        self.path = path

    def error(self, message: str, pos: int | None = None) -> InputError:
        line, column = line_column(self.path, self.offset(pos))
        return InputError(f"{self.source}: not valid JSON: {message} at line {line}, column {column}")


class _ReadWhole(Exception):
    """The file is not laid out the way streaming needs: read it whole instead."""


class _SchemaMembers:
    """The members of a schema document; ``images`` is parsed entry by entry as it streams past."""

    def __init__(self, stream: _ResultsStream) -> None:
        self.stream = stream
        self.head: dict[str, Any] = {}
        self.images: dict[str, ImageResult] | None = None

    def member(self, key: str) -> None:
        stream = self.stream
        if key == "images" and stream.peek() == "{":
            if not {"schema", "version", "provider"} <= self.head.keys():
                raise _ReadWhole
            parse_result_set({**self.head, "images": {}}, stream.source)  # version and provider first, as always
            self.images = {}
            for stem in stream.members():
                entry, _ = stream.value()
                self.images[stem] = parse_image_result(entry, f"{stream.source}: images[{excerpt(stem)}]")
            return
        self.head[key], _ = stream.value()
        if key == "schema" and self.head[key] != SCHEMA_NAME:
            raise _ReadWhole  # an image called "schema" in a raw layout

    def finish(self) -> ResultSet:
        if self.images is None:
            return parse_result_set(self.head, self.stream.source)
        result = parse_result_set({**self.head, "images": {}}, self.stream.source)
        result.images = self.images
        return result


class _RawMembers:
    """The members of a raw layout: kept raw only until one of them tells which provider wrote them."""

    def __init__(self, stream: _ResultsStream) -> None:
        self.stream = stream
        self.parsers = raw_parsers()
        self.votes: dict[str, str] = {}
        self.pending: list[tuple[str, Any]] = []
        self.parsed: _RawImages | None = None

    def member(self, key: str) -> None:
        raw, _ = self.stream.value()
        if key == "schema" and raw == SCHEMA_NAME:
            raise _ReadWhole  # a schema document whose "schema" is not its first member
        claims = [name for name, spec in self.parsers.items() if spec.looks_like(raw)]
        if len(claims) == 1:
            self.votes.setdefault(claims[0], key)
            if len(self.votes) > 1:
                raise _mixed(self.votes, self.stream.source)
        if self.parsed is None and self.votes:
            self.parsed = _RawImages(next(iter(self.votes)), self.stream.source)
            for name, value in self.pending:
                self.parsed.add(name, value)
            self.pending = []
        if self.parsed is None:
            self.pending.append((key, raw))
        else:
            self.parsed.add(key, raw)

    def finish(self) -> ResultSet:
        if self.parsed is None:  # no response claimed by one provider: decide as detect_provider does
            return parse_raw_layout(dict(self.pending), self.stream.source)
        return ResultSet(provider=self.parsed.provider, images=self.parsed.images)


def _stream_results(path: Path) -> ResultSet:
    """Read a results JSON file member by member (see the module's docstring)."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise read_error(path, exc) from None
    with handle:
        stream = _ResultsStream(handle, path)
        if stream.peek() != "{":
            raise _ReadWhole
        members: _SchemaMembers | _RawMembers | None = None
        for key in stream.members():
            if members is None:
                members = _SchemaMembers(stream) if key == "schema" else _RawMembers(stream)
            members.member(key)
        if not stream.at_end():
            raise stream.error("Extra data")
    if members is None:
        # what the collector writes when every image failed: no answers, so every image is missing
        log.warning("%s: no responses at all; every image counts as missing", path)
        return ResultSet(provider=UNKNOWN_PROVIDER)
    return members.finish()


def load_icdar_predictions(source: Path) -> ResultSet:
    """ICDAR-style ``res_<stem>.txt`` / ``<stem>.txt`` files: one scored word per line, text optional."""
    annotations = read_annotations(source, dont_care=None)
    return ResultSet(
        provider=ICDAR,
        images={
            stem: ImageResult.ok(Item(polygon=w.points, text=w.text) for w in words)
            for stem, words in annotations.images.items()
        },
    )


def load_results(path: Path | str) -> ResultSet:
    """Read predictions from a schema file, a raw-layout file, or an ICDAR folder / zip."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir() or zipfile.is_zipfile(path):
        return load_icdar_predictions(path)
    collecting = gc.isenabled()
    gc.disable()  # millions of small objects and no cycles: collections would cost more than the parsing
    try:
        return _stream_results(path)
    except _ReadWhole:
        pass
    finally:
        if collecting:
            gc.enable()
    doc = read_json(path)
    if is_schema_document(doc):
        return parse_result_set(doc, str(path))
    if not isinstance(doc, Mapping):
        raise InputError(f"{path}: expected a JSON object mapping image names to responses, got {type(doc).__name__}")
    if not doc:
        # what the collector writes when every image failed: no answers, so every image is missing
        log.warning("%s: no responses at all; every image counts as missing", path)
        return ResultSet(provider=UNKNOWN_PROVIDER)
    return parse_raw_layout(doc, str(path))
