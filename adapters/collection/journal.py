"""Append-only JSONL journal: one line per finished image, written and fsynced as it finishes.

This is what makes a run crash-safe and resumable: ``kill -9`` can only tear the line being
written, which the next run trims and reports. Lines are never rewritten, so nothing that
was paid for is ever lost; the latest success for an image is what gets reused, and a
failure line only says "tried and failed" (re-sent with ``--retry-failed``).
"""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.core.credentials import redact, redact_value
from adapters.core.errors import InputError

try:
    import fcntl
except ImportError:  # not POSIX: runs are not locked against each other
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("bench")

JOURNAL_VERSION = 1
STATUS_OK = "ok"
STATUS_FAILED = "failed"


def fsync_dir(directory: Path | str) -> None:
    """Best effort: make a file created or renamed in ``directory`` survive a power cut.

    fsync on a file saves its data, not the directory entry that names it; some file
    systems need the directory itself fsynced. Where that is not possible, nothing happens.
    """
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class JournalState:
    """What earlier runs left: the latest success and the latest failure of each image."""

    successes: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: int = 0
    torn: bool = False


class Journal:
    """Thread-safe appender; :meth:`load` must run first (it also trims a torn tail).

    A collector run calls :meth:`lock` before :meth:`load`: two runs appending to one journal
    would each pay for every image, and one could trim the other's half-written line.
    """

    def __init__(self, path: Path | str, secrets: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self._secrets = secrets
        self._lock = threading.Lock()
        self._file = None

    def lock(self, what: str = "bench collect") -> None:
        """Open (creating) the journal and take an exclusive lock held until :meth:`close`.

        ``flock`` locks belong to the open file, so the kernel drops them when the process
        dies, ``kill -9`` included: a stale lock cannot block the next run.
        """
        with self._lock:
            if self._file is not None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            handle = open(self.path, "ab")
            if created:
                fsync_dir(self.path.parent)
            if fcntl is not None:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    raise InputError(f"another {what} is writing to {self.path.parent} ({self.path.name} is "
                                     f"locked); wait for it to finish or use another --out") from None
            self._file = handle

    def load(self) -> JournalState:
        """Read every complete line; a torn last line is cut off so appends start on a fresh line."""
        state = JournalState()
        if not self.path.exists():
            return state
        data = self.path.read_bytes()
        end = len(data)
        if data and not data.endswith(b"\n"):
            end = data.rfind(b"\n") + 1  # keep up to the last complete line
            state.torn = True
        for number, line in enumerate(data[:end].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line.decode("utf-8"))
                key, status = entry["image"], entry["status"]
            except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
                raise InputError(f"{self.path}, line {number}: not a journal record; the file was edited "
                                 f"or damaged (move it away to start over, which re-sends every image)") from None
            state.lines += 1
            if status == STATUS_OK:
                state.successes[key] = entry
                state.failures.pop(key, None)
            else:
                state.failures[key] = entry
        if state.torn:
            log.warning("%s: the last line was cut short (the previous run was killed while writing); "
                        "dropped it, that image will be collected again", self.path)
            with open(self.path, "r+b") as handle:
                handle.truncate(end)
                handle.flush()
                os.fsync(handle.fileno())
        return state

    def append(self, entry: dict[str, Any]) -> None:
        """Write one record and fsync it before returning: once this returns, the image is safe."""
        entry = redact_value(entry, self._secrets)  # before serializing: no escaped echo survives
        line = redact(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), self._secrets) + "\n"
        data = line.encode("utf-8")
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                created = not self.path.exists()
                self._file = open(self.path, "ab")
                if created:
                    fsync_dir(self.path.parent)
            self._file.write(data)
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
