"""Typed errors shared by the whole tool.

The CLI maps each class to an exit code, so callers raise the most specific one and never
print-and-exit themselves.
"""
from __future__ import annotations


class InputError(ValueError):
    """Bad user input (a malformed gt line, an unreadable results file). Exit code 2."""


class SchemaError(InputError):
    """A normalized results document does not follow the schema; names the first bad field."""


class ProviderError(Exception):
    """A provider (web service or local engine) failed to answer for one image; may be retried."""


class PermanentError(ProviderError):
    """The provider refused this input for good (bad image, unsupported format): record, never retry."""
