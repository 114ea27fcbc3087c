"""``bench emulate``: one emulator in the foreground, with what a client needs printed first.

The client's environment (endpoint and key variables) comes from the provider's spec, and the
key the emulator demands is read from this shell's environment only (never ``.env``, never
printed), so a user can point ``bench collect`` at it with the same variables.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable

from pathlib import Path

from adapters.core.errors import InputError
from adapters.emulators.answers import Answers, check_sources, choose_answers
from adapters.emulators.emulator import Emulator, Faults, emulation_of
from adapters.providers.registry import ProviderSpec, Settings

Say = Callable[..., Any]


def checked_faults(**rates: Any) -> Faults:
    """:class:`Faults` from CLI values; an impossible combination is an input error."""
    try:
        return Faults(**rates)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _client_lines(spec: ProviderSpec, url: str, secret: str | None) -> list[str]:
    variable = spec.secret_variable
    if variable and secret:
        auth = f"auth: requests must carry the key in ${variable} of this shell"
    elif variable:
        auth = f"auth: {variable} is not set here, so any key is accepted"
    else:
        auth = f"auth: none ({spec.title} has no auth)"
    lines = [auth, "client environment:", f"  export {spec.url_variable}={url}"]
    if variable:
        lines.append(f"  export {variable}=<the same value as in this shell>")
    return lines


def emulate(provider: str, port: int, say: Say, gt: Path | None = None, images: Path | None = None,
            recorded: Path | None = None, use_engine: bool = False, engine: ProviderSpec | None = None,
            settings: Settings = Settings(), **fault_values: Any) -> None:
    """``bench emulate``: check the provider, the answer source and the faults (in that order),
    then serve until Ctrl-C (see :func:`choose_answers` for the sources). A wire without file
    names answers from ``gt`` or ``recorded`` only with ``images`` to recognise images by."""
    spec = emulation_of(provider)
    check_sources(gt, images, recorded, use_engine)
    assert spec.emulation is not None
    if not spec.emulation.sends_name and (gt or recorded) and images is None:
        source = "--gt" if gt else "--recorded"
        raise InputError(f"{spec.name} requests carry no file name: with {source}, give --images DIR (the "
                         f"original images) so each image received is recognised by its content")
    faults = checked_faults(**fault_values)
    answers = choose_answers(gt, images, recorded, use_engine, engine, settings)
    emulate_until_interrupted(provider, answers, faults, port, say)


def emulate_until_interrupted(provider: str, answers: Answers, faults: Faults, port: int, say: Say) -> None:
    """Serve ``provider``'s wire on 127.0.0.1:``port`` until Ctrl-C (KeyboardInterrupt propagates)."""
    spec = emulation_of(provider)
    secret = (os.environ.get(spec.secret_variable) or "").strip() or None if spec.secret_variable else None
    server = Emulator(spec, answers, faults, secret=secret, port=port)
    try:
        server.start()
    except OSError as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    try:
        say(f"emulating {spec.name} at {server.url}")
        say(f"answers: {answers.describe()}")
        say(f"faults: {faults.describe()}")
        for line in _client_lines(spec, server.url, secret):
            say(line)
        say("press Ctrl-C to stop")
        sys.stdout.flush()
        while True:
            time.sleep(3600)
    finally:
        server.stop()
        say(f"stopped after {len(server.requests)} request(s)", err=True)
