"""Everything a collection run needs before and around :func:`~adapters.collection.collector.collect`.

``bench collect`` and ``bench show --provider`` only parse options: which options a provider
takes, its credentials (or its local engine) checked before any work, its default concurrency
and the provider object's life time are decided here, from the provider's registry spec.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from adapters.collection.collector import CollectOptions, OutputPaths, Summary, collect
from adapters.collection.fingerprint import request_fingerprint
from adapters.core.credentials import ProviderConfig
from adapters.core.errors import InputError
from adapters.core.images import ImageFile, discover
from adapters.core.schema import ResultSet
from adapters.providers import registry
from adapters.providers.base import make_provider
from adapters.providers.registry import Settings
from adapters.providers.results import load_results

Report = Callable[[str], Any]


def settings_for(name: str, **options: Any) -> Settings:
    """The settings of ``name`` from CLI options (None: not given); an option it does not take is an
    input error naming the providers that do (``--psm applies to tesseract only, not naver``),
    and so is a value outside the option's choices for it."""
    spec = registry.get(name)
    for option, value in options.items():
        if value is not None and option not in spec.options:
            takers = registry.option_takers(option)
            which = f"{takers[0]} only" if len(takers) == 1 else ", ".join(takers[:-1]) + " and " + takers[-1]
            raise InputError(f"--{option.replace('_', '-')} applies to {which}, not {name}")
        allowed = spec.choices.get(option)
        if value is not None and allowed is not None and value not in allowed:
            raise InputError(f"--{option} {value!r}: {name} takes {' or '.join(allowed)}")
    fields = {option: value for option, value in options.items() if option in ("lang", "psm")}
    extra = {option: value for option, value in options.items() if option not in fields and value is not None}
    return Settings(**fields, extra=extra)


def collect_options(name: str, concurrency: int | None = None, progress: bool = True, **knobs: Any) -> CollectOptions:
    """:class:`CollectOptions` from CLI values: the provider's default concurrency when none is given,
    and no infinite ``rps`` / ``timeout`` / ``backoff`` (typer's ``min=`` lets ``inf`` through)."""
    for knob in ("rps", "timeout", "backoff"):
        value = knobs.get(knob)
        if value is not None and not math.isfinite(value):
            raise InputError(f"--{knob} must be a finite number, got {value}")
    if "backoff" in knobs:
        knobs["backoff_base"] = knobs.pop("backoff")
    return CollectOptions(concurrency=concurrency or default_concurrency(name),
                          progress=None if progress else False, **knobs)


def default_concurrency(name: str) -> int:
    """Calls in flight when ``--concurrency`` is not given (a local engine: usable CPUs)."""
    return registry.get(name).concurrency()


def check_options(name: str, settings: Settings = Settings()) -> None:
    """The options ``name`` requires are given: an InputError names the missing ones."""
    spec = registry.get(name)
    missing = spec.missing_options(settings)
    if missing:
        needed = "; ".join(f"--{option}" + (f": {spec.option_help[option]}" if option in spec.option_help else "")
                           for option in missing)
        raise InputError(f"{name} needs {needed}")


def checked_config(name: str, settings: Settings = Settings()) -> ProviderConfig:
    """Credentials (or the local engine) and required options checked before any work: an
    InputError names what is missing."""
    spec = registry.get(name)
    check_options(name, settings)
    config = registry.provider_config(name)
    if spec.engine is not None:
        missing = spec.engine.available(spec.settings(settings))
        if missing:
            raise InputError(missing)
    return config


def run_collector(config: ProviderConfig, found: list[ImageFile], out: Path, options: CollectOptions,
                  settings: Settings = Settings(), report: Report = print) -> Summary:
    """One collection run with a provider made for it (closed afterwards); returns its summary.

    Every record carries the request fingerprint of ``config`` and ``settings``, so a later run
    with other settings on the same ``out`` stops instead of reusing these answers."""
    hint = " and ".join(v for v in (config.secret_variable, config.url_variable) if v)
    request = request_fingerprint(registry.get(config.provider), config, settings)
    provider = make_provider(config, replace(settings, pool_size=options.concurrency))
    try:
        return collect(provider, found, out, options, secrets=config.secrets(),
                       auth_hint=f"check {hint}" if hint else "", report=report, request=request)
    finally:
        provider.close()


def collect_folder(name: str, images: Path, out: Path, options: CollectOptions, settings: Settings = Settings(),
                   report: Report = print) -> Summary:
    """``bench collect``: credentials first, then the images under ``images``, then the run."""
    config = checked_config(name, settings)
    return run_collector(config, discover(images), out, options, settings, report)


def collect_for_show(name: str, found: list[ImageFile], out: Path, progress: bool,
                     report: Report = print) -> tuple[ResultSet, int]:
    """``bench show --provider``: collect into ``out`` (reused on re-runs) and load what was stored;
    returns the results and how many images failed."""
    options = CollectOptions(concurrency=default_concurrency(name), progress=None if progress else False)
    summary = run_collector(checked_config(name), found, out, options, report=report)
    return load_results(OutputPaths.for_provider(out, name).normalized), summary.failed
