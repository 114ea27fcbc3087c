"""Provider credentials and endpoints, from the environment or a ``.env`` file in the working directory.

Secrets are wrapped in :class:`Secret`, whose ``str``/``repr`` never show the value, so a
config object can be logged or put in an exception without leaking anything. Every problem
is a :class:`ConfigError` that names the variable (and for ``.env`` the line), never a value.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Protocol
from urllib.parse import urlsplit

from adapters.core.errors import ConfigError

ENV_FILE = ".env"

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
        secret = Secret(value)
    return ProviderConfig(provider, url, secret, url_var, secret_var)


MIN_REDACTED_LENGTH = 8


def redact(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """Last line of defence: blank out any secret value that slipped into ``text``.

    The real guarantee is structural (secrets are never formatted into anything); this only
    catches echoes, e.g. a server repeating a header. Values shorter than 8 characters are
    skipped: replacing them would mangle ordinary words in recognized text, and no real
    CLOVA secret or Kakao key is that short.
    """
    for secret in secrets:
        if len(secret) >= MIN_REDACTED_LENGTH:
            text = text.replace(secret, "***")
    return text
