"""The files a generated gt set consists of (``bench synth``, ``bench gt aihub``).

Both writers refuse to mix a new set with an old one in the same folder, and ``--overwrite``
deletes exactly the files such a set consists of and nothing else (a user's notes in OUT
survive). One listing rule for both keeps what "a set" means, and its error message, the same.
"""
from __future__ import annotations

from pathlib import Path
from typing import Collection, Sequence

from adapters.core.atomic import write_error
from adapters.core.errors import InputError


def existing_outputs(out: Path, image_pattern: str, image_suffixes: Collection[str],
                     files: Sequence[str]) -> list[Path]:
    """``gt/*.txt``, images under ``images/`` matching the pattern and suffixes (links included), then ``files``."""
    found: list[Path] = []
    if (out / "gt").is_dir():
        found.extend(sorted((out / "gt").glob("*.txt")))
    if (out / "images").is_dir():
        found.extend(sorted(p for p in (out / "images").glob(image_pattern)
                            if (p.is_file() or p.is_symlink()) and p.suffix.lower() in image_suffixes))
    found.extend(out / name for name in files if (out / name).is_file())
    return found


def remove_outputs(paths: Sequence[Path]) -> None:
    """Delete an old set's files (``--overwrite``); one that cannot be deleted is an OutputError naming it."""
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise write_error(path, exc, "cannot remove the old file") from None


def refuse_to_mix(out: Path, existing: Sequence[Path], overwrite: bool) -> None:
    """An InputError when ``out`` already holds a set and ``--overwrite`` was not given."""
    if existing and not overwrite:
        raise InputError(f"{out} already holds a data set ({existing[0]} and {len(existing) - 1} more); "
                         "choose another folder or pass --overwrite to replace it")
