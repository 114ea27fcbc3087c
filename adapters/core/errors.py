"""Typed errors shared by the whole tool.

The CLI maps each class to an exit code, so callers raise the most specific one and never
print-and-exit themselves.
"""
from __future__ import annotations


class InputError(ValueError):
    """Bad user input (a malformed gt line, an unreadable results file). Exit code 2."""


class SchemaError(InputError):
    """A normalized results document does not follow the schema; names the first bad field."""


class ConfigError(InputError):
    """Missing, empty or malformed credentials or endpoint. Names the variable, never its value. Exit code 2."""


class EngineUnavailable(InputError):
    """A local engine (or a model it needs) is not installed; the message says what to install. Exit code 2."""


class ProviderError(RuntimeError):
    """A provider call that did not yield a usable answer; ``code`` is the provider's own code or the HTTP status."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class TransientError(ProviderError):
    """Worth retrying: connection trouble, timeouts, 5xx, unparseable 200 bodies."""


class RateLimited(TransientError):
    """The provider asked us to slow down (HTTP 429, CLOVA 0025); ``retry_after`` in seconds when it said."""

    def __init__(self, message: str, code: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after


class PermanentError(ProviderError):
    """This image will never succeed as sent (bad image, unsupported format): record it and move on."""


class AuthError(ProviderError):
    """The provider rejected the credentials or endpoint; the whole run stops. Exit code 3."""


class QuotaExhausted(ProviderError):
    """The provider's call quota is used up; the whole run stops. Exit code 4."""


class OutputError(InputError):
    """An output file or folder cannot be written (read-only, full disk, a file where a folder
    should be); the message names the path and the cause. Exit code 2."""

