"""Typed errors shared by the whole tool.

The CLI maps each class to an exit code, so callers raise the most specific one and never
print-and-exit themselves.
"""
from __future__ import annotations

from pathlib import Path


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


MAX_QUOTED = 200  # characters of an offending input value that a message shows


def excerpt(value: object, limit: int = MAX_QUOTED) -> str:
    """An offending input value as a message quotes it: its repr, cut to about ``limit`` characters.

    Every message that quotes input goes through here, so a 50 MB token is named by its first
    characters and its length, never echoed whole.
    """
    if isinstance(value, (str, bytes)):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}... ({len(value):,} {'characters' if isinstance(value, str) else 'bytes'})"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3 * limit:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    import reprlib

    short = reprlib.Repr()
    short.maxstring = short.maxother = limit
    text = short.repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def clip(message: str, limit: int = 4 * MAX_QUOTED) -> str:
    """A message built elsewhere that may quote input (e.g. a parser's), cut to ``limit`` characters."""
    return message if len(message) <= limit else f"{message[:limit]}... ({len(message):,} characters)"


def read_error(path: object, exc: OSError, what: str = "cannot read") -> InputError:
    """An input file or folder that cannot be read: one line naming it and the cause (exit code 2)."""
    return InputError(f"{path}: {what} ({exc.strerror or exc})")


def read_utf8_text(path: "Path | str") -> str:
    """A text input file (UTF-8, with or without BOM) whose read and decode errors are one line
    naming it: every reader of a user's file says the same thing the same way."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise read_error(path, exc) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
