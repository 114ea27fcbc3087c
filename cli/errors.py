"""Exit codes, and one decorator that gives every command the same error handling and logging.

A command raises the tool's typed errors; the decorator turns each into a one-line
``error: ...`` on stderr and the documented exit code, so no command repeats a try block and
no traceback reaches a user for an input problem. Warnings go to stderr as ``LEVEL: message``.

Exit codes: 0 ok; 1 unexpected internal error; 2 usage or input error; 3 the provider rejected
the credentials; 4 the provider's quota is exhausted; 5 collection finished but some images
failed; 130 interrupted (Ctrl-C).
"""
from __future__ import annotations

import functools
import logging
import sys
from typing import Any, Callable

import typer

from adapters.core.errors import AuthError, InputError, QuotaExhausted

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_AUTH, EXIT_QUOTA, EXIT_FAILURES, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 5, 130
EXIT_CODES: tuple[tuple[type[Exception], int], ...] = (  # the first that matches wins
    (InputError, EXIT_INPUT), (AuthError, EXIT_AUTH), (QuotaExhausted, EXIT_QUOTA))

log = logging.getLogger("bench")


class _StderrHandler(logging.StreamHandler):
    """Always writes to the current ``sys.stderr`` (which test runners and pipes may swap)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_logging() -> None:
    """``LEVEL: message`` lines of the ``bench`` logger on stderr, set up once per process."""
    if not log.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def exit_code(error: BaseException) -> int | None:
    """The documented exit code of a typed error, or None for anything else (a bug: exit code 1)."""
    return next((code for kind, code in EXIT_CODES if isinstance(error, kind)), None)


def cli_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the tool's typed errors into a one-line message and a documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        setup_logging()
        try:
            return func(*args, **kwargs)
        except (InputError, AuthError, QuotaExhausted) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exit_code(exc)) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def version_lines(engines: dict[str, str]) -> list[str]:
    """``bench --version``: this tool's version, Python's, and each local engine found (or not)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        mine = version("korean-ocr-bench")
    except PackageNotFoundError:  # run from a checkout that was never installed
        mine = "unknown (not installed)"
    lines = [f"korean-ocr-bench {mine}", f"python {sys.version.split()[0]}"]
    lines += [f"{name} {found}" for name, found in sorted(engines.items())] or ["no local engine found"]
    return lines
