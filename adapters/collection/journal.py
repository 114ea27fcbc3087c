"""Append-only JSONL journal: one line per finished image, written and fsynced as it finishes.

This is what makes a run crash-safe and resumable: ``kill -9`` can only tear the line being
written, which the next run trims and reports. Lines are never rewritten, so nothing that
was paid for is ever lost; the latest success for an image is what gets reused, and a
failure line only says "tried and failed" (re-sent with ``--retry-failed``).

A damaged line in the middle (edited by hand, a disk error) or a valid JSON line that is not a
journal record is skipped with a warning naming its line: only the image it held is sent again.

Each record carries the request settings it was collected with (``request``, see
:mod:`adapters.collection.fingerprint`); :meth:`Journal.load` keeps the records made with the
settings asked for. Records written before settings were recorded count as made with the
settings of the first record that has them (or, while there is none, with the settings asked for).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from adapters.core.credentials import redact, redact_value
from adapters.core.errors import InputError

try:
    import fcntl
except ImportError:  # not POSIX: runs are not locked against each other
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("bench")

JOURNAL_VERSION = 2  # 2: records carry ``request``, the settings they were collected with
STATUS_OK = "ok"
STATUS_FAILED = "failed"
PROC_LOCKS = Path("/proc/locks")


class JournalWriteError(InputError):
    """A record could not be appended (disk full, I/O error): the run must stop. Exit code 2."""


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


# --- locks that never outlive their run --------------------------------------------------------

_LOCKED_FDS: set[int] = set()  # journal descriptors holding a run's lock in this process


def _drop_locks_in_child() -> None:
    """After ``fork``: let go of the journal locks the child inherited.

    A ``flock`` belongs to the open file, which a forked child shares: an engine worker that
    outlives a killed collector would otherwise keep the journal locked. Pointing the child's
    descriptor at /dev/null drops its share of the file without touching the parent's.
    """
    if not _LOCKED_FDS:
        return
    try:
        null = os.open(os.devnull, os.O_RDWR)
    except OSError:
        return
    for fd in list(_LOCKED_FDS):
        try:
            os.dup2(null, fd, inheritable=False)
        except OSError:
            pass
    os.close(null)
    _LOCKED_FDS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_locks_in_child)


def _flock_holders(fd: int) -> list[int]:
    """Process ids Linux reports (``/proc/locks``) as holding a ``flock`` on the file of ``fd``;
    empty when it cannot tell. For a lock inherited by a child, the id is that of the process
    that took it, even after it died."""
    info = os.fstat(fd)
    wanted_dev = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    exact, same_inode = [], []
    try:
        lines = PROC_LOCKS.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or "->" in fields or fields[1] != "FLOCK":
            continue
        try:
            pid = int(fields[4])
            dev_major, dev_minor, inode = fields[5].split(":")
        except ValueError:
            continue
        if int(inode) != info.st_ino:
            continue
        same_inode.append(pid)
        if f"{int(dev_major, 16):02x}:{int(dev_minor, 16):02x}:{inode}" == wanted_dev:
            exact.append(pid)
    return exact or same_inode


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie is not); unknown ids (0, negative) count as alive."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _posix_lock(fd: int) -> bool:
    """A POSIX record lock on the whole file: it belongs to this process alone (a forked child
    does not inherit it) and dies with it. It settles who takes over a stale ``flock``."""
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


# --- records -----------------------------------------------------------------------------------

def _shape_error(entry: Any) -> str | None:
    """Why ``entry`` is not a journal record, or None when it is one."""
    if not isinstance(entry, dict):
        return "not a JSON object"
    if not isinstance(entry.get("image"), str) or not entry["image"]:
        return "no image name"
    if entry.get("status") not in (STATUS_OK, STATUS_FAILED):
        return "no status ok or failed"
    if not isinstance(entry.get("record", {}), dict):
        return "its record is not an object"
    identity = entry.get("record", {}).get("identity")
    if identity is not None and not isinstance(identity, dict):
        return "its file identity is not an object"
    if entry["status"] == STATUS_OK and "raw" not in entry:
        return "a success without its response"
    if "request" in entry and not isinstance(entry["request"], dict):
        return "its request settings are not an object"
    return None


def _line_list(numbers: list[int], shown: int = 10) -> str:
    head = ", ".join(str(n) for n in numbers[:shown])
    more = len(numbers) - shown
    return f"lines {head} and {more} more" if more > 0 else (f"line {head}" if len(numbers) == 1 else f"lines {head}")


@dataclass
class JournalState:
    """What earlier runs left: the latest success and the latest failure of each image.

    Only records made with the settings :meth:`Journal.load` was asked for are counted; ``held``
    is the settings of the latest record that has any (what ``OUT`` holds now), ``legacy`` how
    many records carry no settings, ``other`` how many were left out for other settings, and
    ``skipped`` the numbers of damaged lines.
    """

    successes: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: int = 0
    torn: bool = False
    skipped: list[int] = field(default_factory=list)
    held: dict[str, Any] | None = None
    legacy: int = 0
    other: int = 0


Matches = Callable[[Mapping[str, Any], Mapping[str, Any]], bool]


@dataclass
class JournalRecords:
    """The records of a journal's complete lines, read without changing the file.

    ``end`` is where the complete lines end (a torn last line starts there), ``skipped`` the
    numbers of lines that are not records. :meth:`Journal.load` and a dry run
    (:func:`read_records`) both go through here, so they count the same records.
    """

    entries: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    torn: bool = False
    end: int = 0

    @classmethod
    def parse(cls, data: bytes | None, path: Path) -> "JournalRecords":
        """The records in ``data`` (a journal's bytes); damaged lines are named in a warning."""
        records = cls()
        if not data:
            return records
        records.end = len(data)
        if not data.endswith(b"\n"):
            records.end = data.rfind(b"\n") + 1  # keep up to the last complete line
            records.torn = True
        for number, line in enumerate(data[:records.end].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                entry = None
            if entry is None or _shape_error(entry):
                records.skipped.append(number)
                continue
            records.entries.append(entry)
        if records.skipped:
            log.warning("%s, %s: not a journal record (the file was edited or damaged); skipped, so the image "
                        "each held is sent again unless another line has it", path, _line_list(records.skipped))
        return records

    @property
    def held(self) -> dict[str, Any] | None:
        """The settings of the latest record that has any: what ``OUT`` holds now."""
        with_settings = [entry["request"] for entry in self.entries if "request" in entry]
        return with_settings[-1] if with_settings else None

    def state(self, request: Mapping[str, Any] | None = None, matches: Matches | None = None) -> JournalState:
        """The latest success and failure of each image among the records made with ``request``
        (``matches(record's, request)`` decides; equality when not given; None: every record)."""
        state = JournalState(torn=self.torn, skipped=list(self.skipped))
        same = matches or (lambda a, b: a == b)
        with_settings = [entry["request"] for entry in self.entries if "request" in entry]
        state.held = self.held
        legacy_as = with_settings[0] if with_settings else request  # what records without settings count as
        for entry in self.entries:
            settings = entry.get("request", legacy_as)
            if "request" not in entry:
                state.legacy += 1
            if request is not None and settings is not None and not same(settings, request):
                state.other += 1
                continue
            state.lines += 1
            key = entry["image"]
            if entry["status"] == STATUS_OK:
                state.successes[key] = entry
                state.failures.pop(key, None)
            else:
                state.failures[key] = entry
        return state


def read_records(path: Path | str) -> JournalRecords:
    """The records of the journal at ``path`` without opening it for writing, locking or repairing
    it (a dry run): a missing journal has none. A torn last line is left as it is."""
    path = Path(path)
    try:
        data = path.read_bytes() if path.exists() else None
    except OSError as exc:
        raise InputError(f"cannot read the journal {path}: {exc.strerror or exc}") from None
    return JournalRecords.parse(data, path)


class Journal:
    """Thread-safe appender; :meth:`load` must run first (it also trims a torn tail).

    A collector run calls :meth:`lock` before :meth:`load`: two runs appending to one journal
    would each pay for every image, and one could trim the other's half-written line.
    """

    _registry: "weakref.WeakSet[Journal]" = weakref.WeakSet()

    def __init__(self, path: Path | str, secrets: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self._secrets = secrets
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._locked = False

    # -- the lock ------------------------------------------------------------------------------

    def _open(self) -> int:
        created = not self.path.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            raise JournalWriteError(f"cannot open the journal {self.path}: {exc.strerror or exc}") from None
        if created:
            fsync_dir(self.path.parent)
        return fd

    def _busy(self, what: str, pid: int | None = None) -> InputError:
        owner = f" by process {pid}" if pid and pid > 0 else ""
        return InputError(f"another {what} is writing to {self.path.parent} ({self.path.name} is locked{owner}); "
                          f"wait for it to finish or use another --out")

    def lock(self, what: str = "bench collect") -> None:
        """Open (creating) the journal and take an exclusive lock held until :meth:`close`.

        The lock is a ``flock`` (what every version of this tool takes) plus a POSIX lock.
        Both belong to this process: the kernel drops them when it dies, ``kill -9`` included,
        and forked children let go of theirs at once (see :func:`_drop_locks_in_child`). If a
        process the dead run started still holds the ``flock`` anyway (an older version's
        engine worker), the run whose process is gone is taken over, with a warning; a lock
        whose holder is alive, or cannot be identified, still refuses.
        """
        with self._lock:
            if self._fd is not None and self._locked:
                return
            if fcntl is None:
                if self._fd is None:
                    self._fd = self._open()
                self._locked = True
                return
            for other in list(Journal._registry):  # two locks from one process: the POSIX lock
                if other is not self and other._locked and other._same_file(self.path):  # cannot tell
                    raise self._busy(what, os.getpid())
            fd = self._fd if self._fd is not None else self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holders = _flock_holders(fd)
                if not holders or any(process_alive(pid) for pid in holders) or not _posix_lock(fd):
                    os.close(fd)
                    self._fd = None
                    raise self._busy(what, holders[0] if holders else None) from None
                log.warning("%s: took over the lock of a bench collect that is no longer running (process %s); "
                            "a process it started still has the journal open", self.path,
                            ", ".join(str(pid) for pid in holders))
            else:
                if not _posix_lock(fd):  # a run that took over a stale lock is still going
                    os.close(fd)
                    self._fd = None
                    raise self._busy(what)
            self._fd = fd
            self._locked = True
            _LOCKED_FDS.add(fd)
            Journal._registry.add(self)

    def _same_file(self, path: Path) -> bool:
        try:
            return self._fd is not None and os.path.samestat(os.fstat(self._fd), os.stat(path))
        except OSError:
            return False

    # -- reading ---------------------------------------------------------------------------------

    def _read(self) -> bytes | None:
        if self._fd is None or not hasattr(os, "pread"):
            return self.path.read_bytes() if self.path.exists() else None
        size, chunks, offset = os.fstat(self._fd).st_size, [], 0
        while offset < size:  # read through the locked descriptor: closing another one would
            chunk = os.pread(self._fd, min(1 << 24, size - offset), offset)  # drop the POSIX lock
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        return b"".join(chunks)

    def _truncate(self, end: int) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, end)
            os.fsync(self._fd)
            return
        with open(self.path, "r+b") as handle:
            handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())

    def load(self, request: Mapping[str, Any] | None = None, matches: Matches | None = None) -> JournalState:
        """Read every complete line; a torn last line is cut off so appends start on a fresh line.

        With ``request``, only the records made with those settings count (``matches(record's,
        request)`` decides; equality when not given); without it, every record does.
        """
        records = JournalRecords.parse(self._read(), self.path)
        state = records.state(request, matches)
        if records.torn:
            log.warning("%s: the last line was cut short (the previous run was killed while writing); "
                        "dropped it, that image will be collected again", self.path)
            try:
                self._truncate(records.end)
            except OSError as exc:
                raise JournalWriteError(f"cannot repair the journal {self.path} (cutting off its torn last "
                                        f"line): {exc.strerror or exc}") from None
        return state

    # -- writing ---------------------------------------------------------------------------------

    def append(self, entry: dict[str, Any]) -> None:
        """Write one record and fsync it before returning: once this returns, the image is safe.

        A write that fails (disk full, I/O error) is undone, so no half line stays behind, and
        raises :class:`JournalWriteError` naming the journal.
        """
        entry = redact_value(entry, self._secrets)  # before serializing: no escaped echo survives
        line = redact(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), self._secrets) + "\n"
        data = line.encode("utf-8")
        with self._lock:
            if self._fd is None:
                self._fd = self._open()
            fd = self._fd
            start = None
            try:
                start = os.fstat(fd).st_size
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            except OSError as exc:
                if start is not None:
                    try:
                        os.ftruncate(fd, start)  # no half-written line for the next run to trip on
                    except OSError:
                        pass
                raise JournalWriteError(f"cannot write the journal {self.path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                _LOCKED_FDS.discard(self._fd)
                os.close(self._fd)
                self._fd = None
            self._locked = False
            Journal._registry.discard(self)

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
