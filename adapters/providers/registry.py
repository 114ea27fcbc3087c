"""The provider registry: every provider module describes itself once, in a :class:`ProviderSpec`.

A provider module in this package ends with ``PROVIDER = ProviderSpec(...)``; :func:`all_specs`
finds the modules by walking the package, so adding a provider is one new module (plus its
tests and a recorded sample) and no other file names it. Configuration, collection, format
detection, the emulators, ``bench serve``, prices and the CLI's choices all read this registry.

Modules outside the package (a provider kept out of the tree, or a test's fake) are added with
``BENCH_PROVIDER_MODULES=package.module,other.module`` in the environment.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from adapters.core.credentials import ProviderConfig, load_config
from adapters.core.errors import ConfigError
from adapters.core.pricing import Meter, Price
from adapters.core.schema import ImageResult, Item

WEB = "web"
LOCAL = "local"
EXTRA_MODULES_VARIABLE = "BENCH_PROVIDER_MODULES"
_FIELDS = ("lang", "psm")  # the options Settings holds as fields; any other lives in ``extra``


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
        value = getattr(self, name) if name in _FIELDS else self.extra.get(name)
        return default if value is None else value

    def with_defaults(self, defaults: Mapping[str, Any]) -> "Settings":
        """These settings with every unset option taken from ``defaults``. A default may be a
        function of the settings (with the plain defaults already filled in), e.g. a page
        segmentation mode that depends on the language."""
        missing = {name: value for name, value in defaults.items() if self.get(name) is None}
        plain = self._with({name: value for name, value in missing.items() if not callable(value)})
        return plain._with({name: value(plain) for name, value in missing.items() if callable(value)})

    def _with(self, values: Mapping[str, Any]) -> "Settings":
        if not values:
            return self
        fields = {name: value for name, value in values.items() if name in _FIELDS}
        extra = {name: value for name, value in values.items() if name not in _FIELDS}
        return replace(self, **fields, extra={**self.extra, **extra})


class RequestRejected(Exception):
    """A request an emulated service refuses: the error ``kind`` (see :class:`Emulation`) and a detail."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail


@dataclass
class EmulatedRequest:
    """What an emulator learnt from one request: the image, the name it was sent under, and
    whatever the provider's answer must echo (``echo``: CLOVA's version and requestId, ...).

    ``invalid`` is set when the service would refuse the request; ``name`` / ``stem`` still hold
    what was read before the problem, so the emulator can count the request against its image.
    """

    name: str = ""
    stem: str = ""
    data: bytes = b""
    echo: dict[str, Any] = field(default_factory=dict)
    invalid: RequestRejected | None = None


@dataclass(frozen=True)
class Polling:
    """An asynchronous wire (Azure's analyze): the POST is accepted and its answer fetched with GETs.

    - ``accepted(base_url, result_id)``: ``(status, headers)`` accepting a request (202 and a
      header naming where to poll); ``base_url`` is ``http://127.0.0.1:PORT``.
    - ``result_id(path)``: the result a GET path asks for, None for any other path.
    - ``running()``: ``(status, body)`` of a poll before the analysis has finished.
    - ``polls_running``: how many polls of one result get ``running`` before its answer.

    The final answer of a poll is what a synchronous wire would have answered the POST: the
    ``success`` body, or ``bad_image`` for an unreadable image.
    """

    accepted: Callable[[str, str], tuple[int, Mapping[str, str]]]
    result_id: Callable[[str], str | None]
    running: Callable[[], tuple[int, Any]]
    polls_running: int = 1


@dataclass(frozen=True)
class Emulation:
    """How a loopback emulator speaks this provider's wire format.

    - ``path``: the URL path of the API.
    - ``parse_request(headers, body)``: validate one request the way the service does; it returns
      an :class:`EmulatedRequest` with ``invalid`` set rather than raising.
    - ``success(items, request, width, height)``: the body answering ``items`` (width and height
      of the image as received, EXIF orientation applied).
    - ``error(kind, detail)``: ``(status, body)`` of an error. Kinds every provider renders:
      ``url``, ``body``, ``quota``, ``rate_limit``, ``method``, ``too_large``, ``server``,
      ``unavailable``; ``auth`` when it has ``authorized``; ``bad_image`` unless ``image_error``
      is given; and any kind its own ``parse_request`` rejects with.
    - ``authorized(headers, secret)``: whether the request carries ``secret``; None: no auth. With
      ``auth_query`` it is called as ``authorized(headers, secret, query)`` (the URL's query
      parameters), for services that also take a key in the URL.
    - ``image_error(request, reason)``: ``(status, body)`` for an image that cannot be read, when
      the service answers that differently from its ``bad_image`` error (CLOVA: 200 + ERROR).
    - ``client_path``: the path the client's endpoint variable ends with, when it is not ``path``
      (a base URL the client appends to, e.g. ``/v1``, or ``""`` for a bare origin).
    - ``check_query(query)``: a :class:`RequestRejected` for a POST whose query parameters the
      service refuses (e.g. a wrong ``api-version``), else None.
    - ``sends_name``: False when requests carry no file name, so answers must recognise the
      image by its content (:mod:`adapters.emulators.answers`).
    - ``polling``: the :class:`Polling` of an asynchronous wire, None for one answer per POST.
    """

    path: str
    parse_request: Callable[[Mapping[str, str], bytes], EmulatedRequest]
    success: Callable[[Sequence[Item], EmulatedRequest, int, int], Any]
    error: Callable[[str, str], tuple[int, Any]]
    authorized: Callable[..., bool] | None = None
    image_error: Callable[[EmulatedRequest, str], tuple[int, Any]] | None = None
    auth_query: bool = False
    client_path: str | None = None
    check_query: Callable[[Mapping[str, str]], RequestRejected | None] | None = None
    sends_name: bool = True
    polling: Polling | None = None

    def bad_image(self, request: EmulatedRequest, reason: str) -> tuple[int, Any]:
        """The answer to an unreadable image: the provider's own per-image error, else ``bad_image``."""
        if self.image_error is not None:
            return self.image_error(request, reason)
        return self.error("bad_image", reason)

    def is_authorized(self, headers: Mapping[str, str], secret: str, query: Mapping[str, str]) -> bool:
        """Whether a request with these headers and query parameters carries ``secret``."""
        if self.authorized is None:
            return True
        return self.authorized(headers, secret, query) if self.auth_query else self.authorized(headers, secret)


class LocalEngine(Protocol):
    """A local engine that an emulator or ``bench serve`` can run on received bytes.

    Every method gets the settings with the spec's ``defaults`` filled in.
    """

    def available(self, settings: Settings) -> str | None:
        """None when it can run with these settings; otherwise what to install."""

    def recognize(self, data: bytes, settings: Settings, timeout: float | None = None) -> Any:
        """The engine's raw answer for one image (parsed with the spec's ``parse``); ``timeout``
        None is the engine's own limit. Raises PermanentError for an unreadable image,
        EngineUnavailable when something is not installed, ProviderError when out of time."""

    def describe(self, settings: Settings) -> str:
        """The settings that shape its answers, for humans, e.g. ``lang kor+eng, psm 11``."""

    def facts(self, settings: Settings) -> dict[str, Any]:
        """The same as JSON for ``/health`` of ``bench serve``, e.g. ``{"lang": ..., "psm": 11}``."""

    def version(self) -> str | None:
        """The installed engine's version (for reports), None when it cannot be found."""


@dataclass(frozen=True)
class ProviderSpec:
    """Everything the tool knows about one provider, defined in that provider's module.

    - ``name`` / ``title``: the CLI and file name (``naver``) and the name for people (``NAVER``).
    - ``kind``: :data:`WEB` (called over HTTP, needs credentials) or :data:`LOCAL` (an engine here).
    - ``looks_like`` / ``parse``: recognise one raw answer, and turn it into the common schema.
    - ``make(config, settings)``: the collecting :class:`~adapters.providers.base.Provider`.
    - ``price``: what 1,000 calls cost (:class:`~adapters.core.pricing.Price`).
    - ``meter``: what its raw answers record of what it bills (tokens, pages), so a user's
      metered price (``--prices``) can be turned into a cost; None: nothing recorded.
    - ``url_variable`` / ``default_url`` / ``secret_variable``: where its endpoint and secret come
      from (the environment or ``.env``); None where it has none. ``secret_optional``: the secret
      may be left unset (then no key is sent). ``setup_help``: one line for ``bench collect
      --help`` saying what to set (or install).
    - ``options``: which :class:`Settings` it reads (the CLI refuses the others for it), with
      ``option_help`` (one phrase each) and ``defaults`` (what None means; a value, or a function
      of the other settings); ``choices``: the
      values an option may take, where they are few; ``required``: options without a default
      that must be given (checked before any request).
    - ``geometry``: False when its answers carry no boxes (items have no polygon).
    - ``emulation``: how a loopback emulator speaks its wire (web providers), else None.
    - ``engine``: the :class:`LocalEngine` (local providers), else None.
    - ``empty_answer``: a raw answer that only this provider gives for "no text" although
      ``looks_like`` cannot claim it (Light-OCR's ``{}``).
    - ``default_concurrency``: calls in flight by default (a callable is asked at run time).
    - ``demo_runs``: ``(run name, options)`` pairs ``bench demo`` collects; empty: one run under
      its own name with its defaults. ``demo``: False leaves a local engine out of ``bench demo``
      (one that needs options to run, or that reads no Korean).
    - ``order``: where it is listed (CLI choices, help, messages).
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
    secret_optional: bool = False
    setup_help: str = ""
    options: tuple[str, ...] = ()
    option_help: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    geometry: bool = True
    emulation: Emulation | None = None
    engine: LocalEngine | None = None
    empty_answer: Any = None
    default_concurrency: int | Callable[[], int] = 4
    demo_runs: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    demo: bool = True
    meter: Meter | None = None
    order: int = 100

    def __post_init__(self) -> None:
        if self.kind not in (WEB, LOCAL):
            raise ValueError(f"provider {self.name!r}: kind must be {WEB!r} or {LOCAL!r}, not {self.kind!r}")
        for what, names in (("help", self.option_help), ("choices", self.choices), ("required", self.required)):
            unknown = set(names) - set(self.options)
            if unknown:
                raise ValueError(f"provider {self.name!r}: {what} for options it does not take: {sorted(unknown)}")

    @property
    def is_web(self) -> bool:
        return self.kind == WEB

    def concurrency(self) -> int:
        value = self.default_concurrency
        return value() if callable(value) else value

    def settings(self, given: Settings = Settings()) -> Settings:
        """``given`` with this provider's defaults filled in."""
        return given.with_defaults(self.defaults)

    def missing_options(self, given: Settings = Settings()) -> tuple[str, ...]:
        """The ``required`` options that ``given`` (with the defaults) leaves unset."""
        settings = self.settings(given)
        return tuple(name for name in self.required if settings.get(name) in (None, ""))


def _package_modules() -> list[str]:
    import adapters.providers as package

    return sorted(f"{package.__name__}.{info.name}"
                  for info in pkgutil.iter_modules(package.__path__) if not info.ispkg)


def _extra_modules() -> list[str]:
    value = os.environ.get(EXTRA_MODULES_VARIABLE, "")
    return [name.strip() for name in value.split(",") if name.strip()]


@lru_cache(maxsize=1)
def _specs() -> tuple[ProviderSpec, ...]:
    found: dict[str, ProviderSpec] = {}
    for module_name in [*_package_modules(), *_extra_modules()]:
        module = importlib.import_module(module_name)
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


def engines() -> tuple[ProviderSpec, ...]:
    """Providers with a local engine (what ``bench serve`` and ``bench emulate --engine`` can run)."""
    return tuple(s for s in _specs() if s.engine is not None)


def provider_config(name: str, environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> ProviderConfig:
    """Credentials of the provider ``name`` from the environment or ``.env`` (see ``load_config``)."""
    return load_config(get(name), environ, cwd)


def option_takers(option: str) -> tuple[str, ...]:
    """The providers that take ``option``, in listing order."""
    return tuple(s.name for s in _specs() if option in s.options)


def option_help(option: str) -> str:
    """``--option`` help assembled from every provider that takes it: ``a: ...; b: ....``."""
    return "; ".join(f"{s.name}: {s.option_help[option]}" for s in _specs() if option in s.option_help) + "."


def concurrency_help() -> str:
    """``--concurrency``'s default for ``bench collect --help``: ``4; a: 3; b: CPU count``."""
    common = 4
    others = [f"{s.name}: {'CPU count' if callable(s.default_concurrency) else s.default_concurrency}"
              for s in _specs() if s.default_concurrency != common]
    return "; ".join([str(common), *others])


def engine_versions(provider_names: Iterable[str]) -> dict[str, str]:
    """Versions of the local engines among ``provider_names`` that are installed, by provider name."""
    wanted, found = set(provider_names), {}  # type: ignore[var-annotated]
    for spec in _specs():
        if spec.name in wanted and spec.engine is not None:
            version = spec.engine.version()
            if version:
                found[spec.name] = version
    return found
