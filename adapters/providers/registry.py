"""The provider registry: every provider module describes itself once, in a :class:`ProviderSpec`.

A provider module in this package ends with ``PROVIDER = ProviderSpec(...)``; :func:`all_specs`
finds the modules by walking the package, so adding a provider is one new module (plus its
tests and a recorded sample) and no other file names it. Configuration, collection, format
detection, the emulators, ``bench serve``, prices and the CLI's choices all read this registry.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping, Protocol, Sequence

from adapters.core.credentials import ProviderConfig
from adapters.core.errors import ConfigError
from adapters.core.pricing import Price
from adapters.core.schema import ImageResult, Item

WEB = "web"
LOCAL = "local"


@dataclass(frozen=True)
class Settings:
    """Every option that can change what a provider answers; each provider reads the ones it lists.

    ``None`` means "the provider's default". ``pool_size`` is how many calls may be in flight at
    once (threads' HTTP connections, or worker processes for local engines).
    """

    lang: str | None = None
    psm: int | None = None
    pool_size: int = 16
    extra: Mapping[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        """A named option: a field, else ``extra[name]``, else ``default``."""
        value = getattr(self, name, None) if name in ("lang", "psm") else self.extra.get(name)
        return default if value is None else value


class RequestRejected(Exception):
    """A request an emulated service refuses: the error ``kind`` (see :class:`Emulation`) and a detail."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail


@dataclass
class EmulatedRequest:
    """What an emulator learnt from one request: the image, the name it was sent under, and
    whatever the provider's answer must echo (``echo``: CLOVA's version and requestId, ...)."""

    name: str = ""
    stem: str = ""
    data: bytes = b""
    echo: dict[str, Any] = field(default_factory=dict)
    invalid: RequestRejected | None = None


@dataclass(frozen=True)
class Emulation:
    """How a loopback emulator speaks this provider's wire format.

    Error kinds every provider renders with ``error``: ``url``, ``auth``, ``body``, ``bad_image``,
    ``quota``, ``rate_limit``, ``method``, ``too_large``, ``server``, ``unavailable`` (and any
    provider-specific kind its ``parse_request`` raises).
    """

    path: str
    authorized: Callable[[Mapping[str, str], str], bool]
    parse_request: Callable[[Mapping[str, str], bytes], EmulatedRequest]
    success: Callable[[Sequence[Item], EmulatedRequest, int, int], Any]
    error: Callable[[str, str], tuple[int, Any]]
    image_error: Callable[[EmulatedRequest, str], tuple[int, Any]] | None = None

    def bad_image(self, request: EmulatedRequest, reason: str) -> tuple[int, Any]:
        """The answer to an unreadable image: the provider's own per-image error, else ``bad_image``."""
        if self.image_error is not None:
            return self.image_error(request, reason)
        return self.error("bad_image", reason)


class LocalEngine(Protocol):
    """A local engine that an emulator or ``bench serve`` can run on received bytes."""

    def available(self, settings: Settings) -> str | None:
        """None when it can run with these settings; otherwise what to install."""

    def recognize(self, data: bytes, settings: Settings, timeout: float | None = None) -> Any:
        """The engine's raw answer for one image (parsed with the spec's ``parse``)."""

    def describe(self, settings: Settings) -> str:
        """One line for humans, e.g. ``the local Tesseract engine (lang kor+eng, psm 11)``."""


@dataclass(frozen=True)
class ProviderSpec:
    """Everything the tool knows about one provider, defined in that provider's module.

    - ``url_variable`` / ``default_url`` / ``secret_variable``: where its endpoint and secret come
      from (the environment or ``.env``); None where it has none.
    - ``looks_like`` / ``parse``: recognise one raw answer, and turn it into the common schema.
    - ``make``: the collecting :class:`~adapters.providers.base.Provider` for a config and settings.
    - ``options``: which :class:`Settings` it reads (the CLI refuses the others for it).
    - ``empty_answer``: a raw answer that only this provider gives for "no text" although
      ``looks_like`` cannot claim it (Light-OCR's ``{}``).
    """

    name: str
    title: str
    kind: str
    looks_like: Callable[[Any], bool]
    parse: Callable[[Any], ImageResult]
    make: Callable[[ProviderConfig, Settings], Any]
    price: Price
    url_variable: str | None = None
    default_url: str | None = None
    secret_variable: str | None = None
    options: tuple[str, ...] = ()
    option_help: Mapping[str, str] = field(default_factory=dict)
    emulation: Emulation | None = None
    engine: LocalEngine | None = None
    empty_answer: Any = None
    default_concurrency: int | Callable[[], int] = 4
    order: int = 100

    @property
    def is_web(self) -> bool:
        return self.kind == WEB

    def concurrency(self) -> int:
        value = self.default_concurrency
        return value() if callable(value) else value


def _package_modules() -> list[str]:
    import adapters.providers as package

    return sorted(info.name for info in pkgutil.iter_modules(package.__path__) if not info.ispkg)


@lru_cache(maxsize=1)
def _specs() -> tuple[ProviderSpec, ...]:
    found: dict[str, ProviderSpec] = {}
    for module_name in _package_modules():
        module = importlib.import_module(f"adapters.providers.{module_name}")
        spec = getattr(module, "PROVIDER", None)
        if isinstance(spec, ProviderSpec):
            if spec.name in found:
                raise RuntimeError(f"two provider modules call themselves {spec.name!r}")
            found[spec.name] = spec
    return tuple(sorted(found.values(), key=lambda s: (s.order, s.name)))


def all_specs() -> tuple[ProviderSpec, ...]:
    """Every registered provider, in listing order."""
    return _specs()


def names(kind: str | None = None) -> tuple[str, ...]:
    """Provider names (of one kind, ``web`` or ``local``, when given)."""
    return tuple(s.name for s in _specs() if kind is None or s.kind == kind)


def get(name: str) -> ProviderSpec:
    """The spec of ``name``; an unknown name is a configuration error listing the known ones."""
    for spec in _specs():
        if spec.name == name:
            return spec
    raise ConfigError(f"unknown provider {name!r}; expected one of {', '.join(names())}")


def emulated() -> tuple[ProviderSpec, ...]:
    """Providers a loopback emulator can stand in for."""
    return tuple(s for s in _specs() if s.emulation is not None)
