"""Writing into ``OUT`` safely: a check before the first paid request, and atomic output files.

Every failure is a :class:`WriteError` (an input error, exit code 2) with one line naming the
path and the cause, never a traceback.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterable

from adapters.collection.journal import fsync_dir
from adapters.core.errors import InputError


class WriteError(InputError):
    """``OUT`` or a file in it cannot be written (read-only, not a folder, disk full). Exit code 2."""


def _cause(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def check_writable(out_dir: Path, files: Iterable[Path] = ()) -> bool:
    """Create ``out_dir`` if needed and prove it takes a file (write, fsync and remove a probe);
    ``files`` that exist must be regular files. Returns whether ``out_dir`` was created."""
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        where = Path(exc.filename) if exc.filename else out_dir
        inner = f"cannot create {where}: " if where != out_dir else ""
        raise WriteError(f"cannot write to {out_dir}: {inner}{_cause(exc)}") from None
    if created:
        fsync_dir(out_dir.parent)
    try:
        fd, probe = tempfile.mkstemp(prefix=".bench-write-probe-", dir=out_dir)
    except OSError as exc:
        raise WriteError(f"cannot write to {out_dir}: {_cause(exc)}") from None
    try:
        try:
            os.write(fd, b"probe\n")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise WriteError(f"cannot write to {out_dir}: {_cause(exc)}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
    for path in files:
        if path.exists() and not path.is_file():
            raise WriteError(f"cannot write {path}: it exists and is not a regular file")
    return created


def atomic_write(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path.tmp``, fsync it and rename it over ``path``: a reader sees the old
    file or the new one, never half of one. A failure removes the temporary file and raises
    :class:`WriteError` naming ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise WriteError(f"cannot write {path}: {_cause(exc)}") from None
    fsync_dir(path.parent)  # the rename itself must survive a power cut, not just the bytes
