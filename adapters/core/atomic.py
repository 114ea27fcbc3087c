"""Write output files so that nobody ever finds half of one.

Every file is written to a temporary file in its own folder (``.<name>.<random>.tmp``, so no
reader mistakes it for a ``.txt``, ``.csv`` or ``.json``) and renamed over the target once it is
complete. A failed write deletes the temporary file and leaves an older file of that name as it
was. Any ``OSError`` while writing (read-only folder, full disk, a file where a folder should
be) becomes an ``OutputError``: one line naming the path and the cause, exit code 2.

``staged()`` makes several files one unit: inside it, finished temporary files wait, and all of
them are renamed when the block ends without an error; after an error none replaces its target
(``bench eval``'s four files appear together or not at all). Blocks nest: an inner one joins the
outer one.

Renaming is atomic against a crashed or killed process; the files are not fsynced, so a power
cut right after a run may still lose them (the usual trade-off for thousands of gt files).
"""
from __future__ import annotations

import errno
import os
import secrets
import shutil
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any, Iterator

from adapters.core.errors import OutputError

_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO})
_pending: ContextVar[list[tuple[Path, Path]] | None] = ContextVar("atomic_pending", default=None)


def write_error(path: Path | str, exc: OSError, what: str = "cannot write") -> OutputError:
    """One line naming the output path and why it could not be written."""
    return OutputError(f"{path}: {what} ({exc.strerror or exc})")


def ensure_folder(folder: Path | str) -> Path:
    """Create an output folder (and its parents); an ``OutputError`` says why it cannot be."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{folder}: cannot create the output folder (a file of that name exists)") from None
    except OSError as exc:
        raise write_error(folder, exc, "cannot create the output folder") from None
    return folder


def _temp_path(path: Path) -> Path:
    """Create an empty temporary file next to ``path`` (mode 0666 minus the umask, as open() would)."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


def _open(path: Path, mode: str, **kwargs: Any) -> IO[Any]:
    """Where the temporary file is opened (tests put a full disk here)."""
    return open(path, mode, **kwargs)


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink()
    except OSError:
        pass


def _commit(tmp: Path, path: Path) -> None:
    pending = _pending.get()
    if pending is not None:
        pending.append((tmp, path))
        return
    try:
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise write_error(path, exc) from None


@contextmanager
def atomic_open(path: Path | str, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """``open(path, mode)`` for writing, through a temporary file renamed into place on success.

    The block should only write: any ``OSError`` raised in it is reported as a write error of
    ``path``. Other exceptions pass through unchanged; either way the target is left untouched.
    """
    if not mode.startswith("w"):
        raise ValueError(f"atomic_open writes whole files: mode {mode!r}")
    path = Path(path)
    try:
        tmp = _temp_path(path)
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        with _open(tmp, mode, **kwargs) as handle:
            yield handle
    except OSError as exc:
        _discard(tmp)
        raise write_error(path, exc) from None
    except BaseException:
        _discard(tmp)
        raise
    _commit(tmp, path)


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_text_atomic(path: Path | str, text: str, encoding: str = "utf-8") -> None:
    with atomic_open(path, "w", encoding=encoding) as handle:
        handle.write(text)


def copy_file_atomic(source: Path | str, target: Path | str) -> None:
    """``shutil.copy2`` through a temporary file; an unreadable source is an input error naming it."""
    from adapters.core.errors import read_error

    target = Path(target)
    try:
        tmp = _temp_path(target)
    except OSError as exc:
        raise write_error(target, exc) from None
    try:
        shutil.copy2(source, tmp)
    except OSError as exc:
        _discard(tmp)
        if exc.errno in _WRITE_ERRNOS or exc.filename in (str(tmp), tmp):
            raise write_error(target, exc) from None
        raise read_error(source, exc) from None
    except BaseException:
        _discard(tmp)
        raise
    _commit(tmp, target)


def newest(path: Path | str) -> Path:
    """The file holding ``path``'s newest content: its temporary file while ``staged()`` still holds it back."""
    path = Path(path)
    for tmp, target in reversed(_pending.get() or ()):
        if target == path:
            return tmp
    return path


@contextmanager
def staged() -> Iterator[None]:
    """Files written inside the block replace their targets together at its end, or none does."""
    if _pending.get() is not None:  # an outer block renames everything
        yield
        return
    pending: list[tuple[Path, Path]] = []
    token = _pending.set(pending)
    try:
        yield
    except BaseException:
        for tmp, _ in pending:
            _discard(tmp)
        raise
    finally:
        _pending.reset(token)
    for k, (tmp, path) in enumerate(pending):
        try:
            os.replace(tmp, path)
        except OSError as exc:
            for rest, _ in pending[k:]:
                _discard(rest)
            raise write_error(path, exc) from None
