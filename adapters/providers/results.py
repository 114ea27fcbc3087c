"""Load any results the tool accepts, deciding the format from the content, never the file name.

Accepted: the project's schema; a provider's raw results in the old scripts' layout (one JSON
object mapping image stem to that image's raw response, e.g. ``naver.json``: every registered
provider's ``looks_like`` is asked which one wrote it); an ICDAR-style folder or zip of
``res_<stem>.txt`` files.
"""
from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path
from typing import Any, Mapping

from adapters.core.errors import InputError
from adapters.core.images import image_stem
from adapters.core.schema import ImageResult, Item, ResultSet, is_schema_document, parse_result_set
from adapters.providers import registry
from adapters.providers.registry import ProviderSpec
from adapters.providers.response_fields import ResponseFormatError
from gt.reader import read_annotations

log = logging.getLogger("bench")

ICDAR = "icdar"
UNKNOWN_PROVIDER = "unknown"
image_key = image_stem  # old scripts keyed results by stem or by file name; both mean the stem


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
        described = "; ".join(f"{stem!r} looks like {name}" for name, stem in votes.items())
        raise InputError(f"{source}: responses from more than one provider in one file ({described})")
    if votes:
        return next(iter(votes))
    for spec in parsers.values():  # e.g. only Light-OCR answers "no text" with an empty object
        empty = spec.empty_answer
        if raw_by_stem and empty is not None and all(raw == empty for raw in raw_by_stem.values()):
            return spec.name
    raise InputError(
        f"{source}: cannot tell which provider produced these responses; expected the project's "
        f"schema or a JSON object mapping image names to {_titles()} responses")


def parse_raw_layout(raw_by_stem: Mapping[str, Any], source: str) -> ResultSet:
    """Parse every image's raw response; a broken one becomes an error entry naming the image."""
    provider = detect_provider(raw_by_stem, source)
    parser = raw_parsers()[provider]
    images: dict[str, ImageResult] = {}
    seen: dict[str, str] = {}
    for name, raw in raw_by_stem.items():
        stem = image_key(name)
        if stem in seen:
            raise InputError(f"{source}: two entries for image {stem!r}: {seen[stem]!r} and {name!r}")
        seen[stem] = name
        try:
            images[stem] = parser.parse(raw)
        except ResponseFormatError as exc:
            log.warning("%s: image %r: unreadable %s response (%s); counted as an error", source, stem, provider, exc)
            images[stem] = ImageResult.failed(f"image {stem!r}: unreadable {provider} response: {exc}")
    return ResultSet(provider=provider, images=images)


def read_json(path: Path) -> Any:
    """JSON from a file in UTF-8 with or without BOM, with errors that name the file and position."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None


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
