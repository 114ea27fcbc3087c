"""Your own model as a provider: ``bench collect --provider local --engine MODULE:FACTORY``.

``MODULE`` is imported from ``--engine-path DIR`` (default: the current directory) in every
worker process of :class:`~adapters.providers.engine_pool.EngineProvider`; ``FACTORY`` is called
once per worker with the ``--engine-option KEY=VALUE`` pairs as keyword arguments (values are
strings), and what it returns is called on each image as a ``PIL.Image.Image`` (RGB, EXIF
orientation applied). That call returns a list of dicts, one per piece of text::

    {"polygon": [[x, y], ...] or None, "text": "출입구", "confidence": 0.93 or None}

(optionally ``"granularity"``: ``word`` (the default), ``line`` or ``region``). Numpy arrays and
tuples are fine. A return value that is not like this costs that image only: it becomes an error
entry naming the image and the field. A module that cannot be imported, or a factory that
raises, stops ``bench collect`` with exit code 2 before any image.

The raw answer keeps the engine's identity with its items, so results from different engines or
options never pass for one another::

    {"engine": "local", "factory": "my_engine:make", "path": "/home/me/ocr", "options": {"psm": "6"},
     "width": 640, "height": 240, "items": [{"polygon": [[10.0, 20.0], ...], "text": "출입구",
                                             "confidence": 0.93, "granularity": "word"}]}
"""
from __future__ import annotations

import importlib
import io
import keyword
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from collections.abc import Mapping  # the ABCs: isinstance is 3x faster than with typing's aliases
from typing import Any, Callable

from adapters.core.credentials import ProviderConfig
from adapters.core.errors import EngineUnavailable, InputError, PermanentError, SchemaError
from adapters.core.pricing import Price
from adapters.core.schema import ImageResult, parse_item
from adapters.core.system import usable_cpus
from adapters.providers.engine_pool import EngineProvider
from adapters.providers.registry import LOCAL, ProviderSpec, Settings
from adapters.providers.response_fields import ResponseFormatError

NAME = "local"
ITEM_HELP = 'a list of {"polygon": [[x, y], ...] or None, "text": str, "confidence": float or None} dicts'


@dataclass(frozen=True)
class EngineSpec:
    """Which engine: ``module:factory`` imported from ``path``, made with ``options``."""

    module: str
    factory: str
    path: str
    options: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.module}:{self.factory}"


def _dotted(value: str) -> bool:
    return bool(value) and all(part.isidentifier() and not keyword.iskeyword(part) for part in value.split("."))


def parse_options(values: Any) -> tuple[tuple[str, str], ...]:
    """``KEY=VALUE`` strings (or a mapping) as sorted pairs; a malformed or repeated key is an input error."""
    if values is None:
        return ()
    pairs = list(values.items()) if isinstance(values, Mapping) else [_split(value) for value in values]
    seen: set[str] = set()
    for key, _ in pairs:
        if not key.isidentifier() or keyword.iskeyword(key):
            raise InputError(f"--engine-option {key}=...: the key must be a Python identifier (a keyword argument)")
        if key in seen:
            raise InputError(f"--engine-option {key} is given twice")
        seen.add(key)
    return tuple(sorted((key, str(value)) for key, value in pairs))


def _split(value: str) -> tuple[str, str]:
    key, equals, rest = str(value).partition("=")
    if not equals:
        raise InputError(f"--engine-option {value!r}: expected KEY=VALUE")
    return key.strip(), rest


def engine_spec(settings: Settings) -> EngineSpec:
    """The engine the settings name; input errors say what is wrong with ``--engine`` and friends."""
    given = settings.get("engine")
    if not given:
        raise InputError("--provider local needs --engine MODULE:FACTORY (a Python function that returns the "
                         "engine; see docs/providers.md, 'local')")
    module, colon, factory = str(given).partition(":")
    if not colon or not _dotted(module) or not _dotted(factory):
        raise InputError(f"--engine {given!r}: expected MODULE:FACTORY, e.g. my_engine:make "
                         f"(my_engine.py in the current directory or in --engine-path)")
    path = Path(settings.get("engine_path") or os.getcwd()).expanduser().resolve()
    if not path.is_dir():
        raise InputError(f"--engine-path {path}: no such folder")
    return EngineSpec(module, factory, str(path), parse_options(settings.get("engine_option")))


# --- in the worker processes -----------------------------------------------------------------------

_made: dict[EngineSpec, Callable[[Any], Any]] = {}


def _factory(spec: EngineSpec) -> Callable[..., Any]:
    if spec.path not in sys.path:
        sys.path.insert(0, spec.path)
    try:
        target: Any = importlib.import_module(spec.module)
    except Exception as exc:  # noqa: BLE001 - a syntax error or a missing dependency of the user's module
        raise EngineUnavailable(f"--engine {spec.name}: cannot import {spec.module!r} from {spec.path} "
                                f"({type(exc).__name__}: {exc})") from None
    for part in spec.factory.split("."):
        if not hasattr(target, part):
            raise EngineUnavailable(f"--engine {spec.name}: {spec.module} ({getattr(target, '__file__', '?')}) "
                                    f"has no {spec.factory!r}")
        target = getattr(target, part)
    if not callable(target):
        raise EngineUnavailable(f"--engine {spec.name}: {spec.factory!r} is a {type(target).__name__}, not a function")
    return target


def engine_for(spec: EngineSpec) -> Callable[[Any], Any]:
    """The engine ``spec`` makes, made once per process."""
    if spec not in _made:
        factory = _factory(spec)
        try:
            engine = factory(**dict(spec.options))
        except Exception as exc:  # noqa: BLE001 - whatever the user's factory raises, exit 2 naming it
            options = ", ".join(f"{k}={v!r}" for k, v in spec.options)
            raise EngineUnavailable(f"--engine {spec.name}: {spec.factory}({options}) raised "
                                    f"{type(exc).__name__}: {exc}") from None
        if not callable(engine):
            raise EngineUnavailable(f"--engine {spec.name}: the factory returned a {type(engine).__name__}; "
                                    f"it must return a function taking a PIL image")
        _made[spec] = engine
    return _made[spec]


def _plain(value: Any) -> Any:
    """Numpy arrays and scalars, tuples and mappings as plain JSON values."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if callable(getattr(value, "tolist", None)):
        return _plain(value.tolist())
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def checked_items(returned: Any) -> list[dict[str, Any]]:
    """What an engine returned for one image, checked, in the schema's item form; a PermanentError
    names the first bad field (``items[2].polygon[0]: ...``)."""
    returned = _plain(returned)
    if not isinstance(returned, list):
        raise PermanentError(f"the engine returned {type(returned).__name__}, expected {ITEM_HELP}")
    items = []
    for k, value in enumerate(returned):
        where = f"items[{k}]"
        if not isinstance(value, dict):
            raise PermanentError(f"{where}: expected a dict, got {type(value).__name__} ({ITEM_HELP})")
        try:
            item = parse_item(value, where)
        except SchemaError as exc:
            raise PermanentError(str(exc)) from None
        if item.polygon is not None and len(item.polygon) < 3:
            raise PermanentError(f"{where}.polygon: expected at least 3 [x, y] points or None, got {value['polygon']!r}")
        items.append(item.to_json())
    return items


def _image(data: bytes) -> Any:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            return ImageOps.exif_transpose(opened).convert("RGB")
    except UnidentifiedImageError:
        raise PermanentError("not an image in a format Pillow can read") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise PermanentError(f"not a readable image ({exc})") from None


def recognize(data: bytes, settings: Settings) -> dict[str, Any]:
    """Run the engine the settings name on one encoded image; its raw answer (see the module doc)."""
    spec = engine_spec(settings)
    engine = engine_for(spec)
    image = _image(data)
    width, height = image.size
    try:
        returned = engine(image)
    except Exception as exc:  # noqa: BLE001 - the engine failing on this image costs this image
        raise PermanentError(f"the engine raised {type(exc).__name__}: {exc}") from None
    return {"engine": NAME, "factory": spec.name, "path": spec.path, "options": dict(spec.options),
            "width": width, "height": height, "items": checked_items(returned)}


# --- reading stored answers --------------------------------------------------------------------------

def looks_like(raw: Any) -> bool:
    """True for a raw answer made by :func:`recognize`."""
    return (isinstance(raw, Mapping) and raw.get("engine") == NAME and isinstance(raw.get("factory"), str)
            and isinstance(raw.get("items"), list))


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def parse(raw: Any) -> ImageResult:
    """The stored items, as they were checked when collected."""
    if not looks_like(raw):
        raise ResponseFormatError("expected a local engine's answer: an object with engine 'local', "
                                  "a 'factory' and an 'items' list")
    try:
        items = [parse_item(item, f"items[{k}]") for k, item in enumerate(raw["items"])]
    except SchemaError as exc:
        raise ResponseFormatError(str(exc)) from None
    return ImageResult.ok(items, width=_size(raw.get("width")), height=_size(raw.get("height")))


# --- the provider -----------------------------------------------------------------------------------

class FactoryEngine:
    """The engine named by the settings, behind the registry's ``LocalEngine`` protocol."""

    def available(self, settings: Settings) -> str | None:
        try:
            engine_spec(settings)
        except InputError as exc:
            return str(exc)
        return None

    def load(self, settings: Settings) -> None:
        engine_for(engine_spec(settings))

    def recognize(self, data: bytes, settings: Settings, timeout: float | None = None) -> dict[str, Any]:
        return recognize(data, settings)  # the worker pool enforces the time limit

    def describe(self, settings: Settings) -> str:
        spec = engine_spec(settings)
        return " ".join([spec.name, *(f"{key}={value}" for key, value in spec.options)])

    def facts(self, settings: Settings) -> dict[str, Any]:
        spec = engine_spec(settings)
        return {"factory": spec.name, "path": spec.path, "options": dict(spec.options)}

    def version(self) -> str | None:
        return None


ENGINE = FactoryEngine()


def make(config: ProviderConfig, settings: Settings) -> EngineProvider:
    """The collecting provider: ``settings.pool_size`` workers, each making the engine once when
    the collector starts it (an import error or a failing factory is then an input error)."""
    spec = engine_spec(settings)  # the cheap checks now, in this process
    settings = replace(settings, extra={**settings.extra, "engine_path": spec.path})
    return EngineProvider(NAME, ENGINE, settings, parse, processes=settings.pool_size)


PROVIDER = ProviderSpec(
    name=NAME,
    title="Local engine",
    kind=LOCAL,
    looks_like=looks_like,
    parse=parse,
    make=make,
    price=Price(
        provider=NAME, unit="local engine", krw_per_1000=0.0, usd_per_1000=0.0, free_quota="n/a",
        source="your own engine, run locally", checked="2026-12-02", note="API cost only; CPU time not included",
    ),
    setup_help="none (your engine: --engine MODULE:FACTORY, see docs/providers.md)",
    options=("engine", "engine_path", "engine_option"),
    option_help={"engine": "your engine's factory, FACTORY in MODULE, called once per worker process; it returns a "
                           "function from a PIL image to a list of {polygon, text, confidence} dicts",
                 "engine_path": "the folder MODULE is imported from [default: the current directory]",
                 "engine_option": "KEY=VALUE passed to FACTORY as a keyword argument (a string); repeatable"},
    default_concurrency=usable_cpus,
    demo=False,
    order=60,
)
