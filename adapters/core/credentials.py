"""Provider credentials and endpoints, from the environment or a ``.env`` file in the working directory.

Secrets are wrapped in :class:`Secret`, whose ``str``/``repr`` never show the value, so a
config object can be logged or put in an exception without leaking anything. Every problem
is a :class:`ConfigError` that names the variable (and for ``.env`` the line), never a value.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Protocol
from urllib.parse import quote, quote_plus, urlsplit

from adapters.core.errors import ConfigError

ENV_FILE = ".env"
# No provider issues a key this short, and a short value cannot be kept out of outputs: blanking
# it everywhere would mangle recognized text, so it is refused as a configuration error instead.
MIN_SECRET_LENGTH = 8

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_QUOTED = re.compile(r"""^(["'])(.*?)\1\s*(?:#.*)?$""")  # "value", optionally followed by a # comment


class Secret:
    """A credential that refuses to be printed; call :meth:`reveal` only where it goes on the wire."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple:  # pickling is fine (process pools), printing is not
        return (Secret, (self._value,))


class CredentialSource(Protocol):
    """Where one provider's endpoint and secret come from (a provider spec is one); None where it has none.

    ``secret_optional``: the secret may be left unset (a self-hosted OpenAI-compatible server
    takes no key); when set, it is checked like any other.
    """

    @property
    def name(self) -> str: ...

    @property
    def url_variable(self) -> str | None: ...

    @property
    def default_url(self) -> str | None: ...

    @property
    def secret_variable(self) -> str | None: ...

    @property
    def secret_optional(self) -> bool: ...


@dataclass(frozen=True)
class ProviderConfig:
    """What one provider needs to be called. ``secret_variable`` is kept for error messages."""

    provider: str
    url: str | None = None
    secret: Secret | None = field(default=None, repr=False)
    url_variable: str | None = None
    secret_variable: str | None = None

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never reach an output, for last-line redaction."""
        return (self.secret.reveal(),) if self.secret is not None else ()


def _unquote(value: str) -> str:
    quoted = _QUOTED.match(value)
    if quoted:
        return quoted.group(2)
    if " #" in value:  # an unquoted value may carry a trailing comment
        value = value.split(" #", 1)[0].rstrip()
    return value


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (``export`` prefix, quotes and ``#`` comments allowed).

    A malformed line is named by number only: it may hold a secret.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise ConfigError(f"{path}, line {number}: expected KEY=VALUE")
        values[match.group(1)] = _unquote(match.group(2))
    return values


def _lookup(name: str, environ: Mapping[str, str], env_file: Mapping[str, str]) -> str:
    value = environ.get(name, "").strip()
    return value or env_file.get(name, "").strip()


def _check_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} is not an http(s) URL")
    return value


def load_config(source: CredentialSource, environ: Mapping[str, str] | None = None,
                cwd: Path | None = None) -> ProviderConfig:
    """Credentials for the provider ``source`` describes; the process environment wins over ``.env``.

    Raises :class:`ConfigError` naming the first missing or empty variable, before any work
    (an unset optional secret is no error: ``secret`` is then None).
    """
    provider = source.name
    environ = os.environ if environ is None else environ
    env_path = (Path.cwd() if cwd is None else cwd) / ENV_FILE
    env_file = read_env_file(env_path) if env_path.is_file() else {}
    url_var, default_url, secret_var = source.url_variable, source.default_url, source.secret_variable
    where = f" (set it in the environment or in {ENV_FILE} in the working directory)"
    url = None
    if url_var is not None:
        url = _lookup(url_var, environ, env_file) or default_url
        if not url:
            raise ConfigError(f"{url_var} is missing or empty: {provider} needs its endpoint URL{where}")
        url = _check_url(url_var, url)
    secret = None
    if secret_var is not None:
        value = _lookup(secret_var, environ, env_file)
        if not value and source.secret_optional:
            return ProviderConfig(provider, url, None, url_var, secret_var)
        if not value:
            raise ConfigError(f"{secret_var} is missing or empty: {provider} needs its secret key{where}")
        if not all(" " <= char <= "~" for char in value):
            # HTTP headers carry Latin-1 at best and the services issue ASCII keys: anything else
            # is a copy-paste accident that would fail every request. Never echo the value.
            raise ConfigError(f"{secret_var} contains a character that is not printable ASCII "
                              f"(keys are plain ASCII): copy the key again from the provider's console")
        if len(value) < MIN_SECRET_LENGTH:
            unset = " (or leave it unset: this provider's server may take no key)" if source.secret_optional else ""
            raise ConfigError(f"{secret_var} is shorter than {MIN_SECRET_LENGTH} characters, which no {provider} key "
                              f"is: copy the key again from the provider's console{unset}")
        secret = Secret(value)
    return ProviderConfig(provider, url, secret, url_var, secret_var)


@lru_cache(maxsize=64)
def secret_forms(secret: str) -> tuple[str, ...]:
    """Every spelling of ``secret`` that can reach a body, a message or a file, longest first.

    A server may echo a key raw, URL-encoded (``%22``, ``+`` for a space, in either hex case)
    or inside JSON (``\\"``, ``\\\\``, ``\\/``, ``\\u00e9``); an echoed body stored inside another
    JSON string is escaped twice.
    """
    bases = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), quote_plus(secret, safe="/")}
    bases |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), base) for base in bases}
    forms = set()
    for base in bases:
        for ascii_only in (True, False):
            once = json.dumps(base, ensure_ascii=ascii_only)[1:-1]
            forms |= {base, once, json.dumps(once, ensure_ascii=ascii_only)[1:-1], once.replace("/", "\\/")}
    return tuple(sorted((form for form in forms if form), key=lambda form: (-len(form), form)))


def redact(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """Last line of defence: blank out every form of any secret value that slipped into ``text``.

    The real guarantee is structural (secrets are never formatted into anything); this only
    catches echoes, e.g. a server repeating a header in its error body. Every value is
    redacted, whatever its length: :func:`load_config` refuses secrets shorter than
    :data:`MIN_SECRET_LENGTH`, so none is short enough to mangle ordinary words.
    """
    for secret in secrets:
        if not secret:
            continue
        for form in secret_forms(secret):
            if form in text:
                text = text.replace(form, "***")
        text = _redact_cut_tail(text, secret)
    return text


_CUT_MARKS = ("...", "\u2026")
_SHORTEST_CUT = 3


def _redact_cut_tail(text: str, secret: str) -> str:
    """A message cut short (``...``) right inside an echoed secret ends with the secret's start."""
    for mark in _CUT_MARKS:
        if not text.endswith(mark):
            continue
        head = text[: -len(mark)]
        for form in secret_forms(secret):
            for size in range(len(form) - 1, _SHORTEST_CUT - 1, -1):
                if head.endswith(form[:size]):
                    return head[:-size] + "***" + mark
    return text


def redact_value(value: Any, secrets: tuple[str, ...] | list[str]) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with :func:`redact` applied to every string
    and key, so that serializing it cannot turn an echoed secret into an escaped form."""
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redact(k, secrets) if isinstance(k, str) else k: redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v, secrets) for v in value]
    return value
