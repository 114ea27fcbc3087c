"""The request fingerprint: every setting that changes what a provider answers, stored with each
journal record, so a run never reuses answers collected under other settings.

It is built from the registry alone, so a new provider gets one for free: the provider's name,
its endpoint (scheme, host, port and path: no user, password, query string or fragment, which
may hold keys), every option its spec lists with the defaults applied (``psm``, ``lang``,
``model``, ``prompt``, ``feature``, ``granularity``, ...) and, for a local engine, the engine's
version when it can be found. Example::

    {"provider": "tesseract", "engine_version": "5.3.0", "options": {"lang": "kor+eng", "psm": 11}}
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

from adapters.core.credentials import ProviderConfig, redact
from adapters.providers.registry import ProviderSpec, Settings

ENGINE_VERSION = "engine_version"


def public_endpoint(url: str, secrets: tuple[str, ...] = ()) -> str:
    """``url`` without user, password, query string and fragment (any of them may carry a key),
    and without any secret value in what is left."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return redact(urlunsplit((parts.scheme, netloc, parts.path, "", "")), secrets)


def request_fingerprint(spec: ProviderSpec, config: ProviderConfig, settings: Settings = Settings()) -> dict[str, Any]:
    """The fingerprint of requests made by ``spec``'s provider with ``config`` and ``settings``."""
    effective = spec.settings(settings)
    fingerprint: dict[str, Any] = {"provider": spec.name}
    if config.url:
        fingerprint["endpoint"] = public_endpoint(config.url, config.secrets())
    if spec.engine is not None:
        version = spec.engine.version()
        if version:
            fingerprint[ENGINE_VERSION] = version
    fingerprint["options"] = {name: _plain(effective.get(name)) for name in spec.options}
    return json.loads(json.dumps(fingerprint))  # as it reads back from the journal


def _plain(value: Any) -> Any:
    """An option as JSON: a path (a model file, an engine folder) as the absolute path it names."""
    if isinstance(value, Path):
        return str(value.absolute())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _flat(fingerprint: Mapping[str, Any]) -> dict[str, Any]:
    flat = {key: value for key, value in fingerprint.items() if key != "options"}
    options = fingerprint.get("options")
    if isinstance(options, Mapping):
        flat.update(options)
    return flat


def differences(held: Mapping[str, Any], asked: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(setting, held value, asked value)`` for each setting that differs; an engine version
    only counts when both sides know it."""
    a, b = _flat(held), _flat(asked)
    found = []
    for name in sorted(set(a) | set(b), key=lambda n: (n not in ("provider", "endpoint", ENGINE_VERSION), n)):
        if name == ENGINE_VERSION and (a.get(name) is None or b.get(name) is None):
            continue
        if a.get(name) != b.get(name):
            found.append((name, a.get(name), b.get(name)))
    return found


def same_request(held: Mapping[str, Any], asked: Mapping[str, Any]) -> bool:
    """Whether answers collected under ``held`` are answers to what ``asked`` would send."""
    return not differences(held, asked)


def _shown(value: Any, limit: int = 60) -> str:
    if value is None:
        return "(provider default)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and (not value or any(char.isspace() for char in value)):
        text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _label(name: str) -> str:
    return "engine version" if name == ENGINE_VERSION else name


def mismatch_message(out_dir: Any, provider: str, held: Mapping[str, Any], asked: Mapping[str, Any]) -> str:
    """One line: what ``OUT`` holds, what this run asks, and the ways out."""
    found = differences(held, asked)
    was = ", ".join(f"{_label(name)}={_shown(old)}" for name, old, _ in found)
    now = ", ".join(f"{_label(name)}={_shown(new)}" for name, _, new in found)
    return (f"{out_dir} holds {provider} results collected with {was}; this run asks {now}. Nothing was sent: "
            f"use another --out, or add --refresh to collect every image again with these settings")
