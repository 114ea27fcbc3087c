"""Find one font that can draw Hangul, through fontconfig, for plots and overlays.

Matplotlib's and Pillow's default fonts have no Hangul glyphs: Korean labels would come out
as empty boxes without an error. So the report asks fontconfig for a Korean-capable font
(``fc-list :lang=ko file``, then ``fc-match``) and fails loudly, naming the Debian package,
when there is none.
"""
from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

from adapters.core.errors import InputError

FONT_PACKAGE = "fonts-nanum"
# Preferred faces, best first: plain sans-serif reads best at small sizes on overlays.
PREFERRED = ("NanumGothic.ttf", "NanumBarunGothic.ttf", "NanumSquareR.ttf", "NotoSansCJK-Regular.ttc")
_FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
_TIMEOUT = 30


class FontMissingError(InputError):
    """No font that renders Hangul; the message says which package to install."""


def _run(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout if done.returncode == 0 else ""


def parse_fc_list(output: str) -> list[str]:
    """File paths from ``fc-list ... file`` output (``/path/font.ttf:`` per line, maybe with styles)."""
    paths = []
    for line in output.splitlines():
        path = line.split(":", 1)[0].strip()
        if path.lower().endswith(_FONT_SUFFIXES):
            paths.append(path)
    return paths


def choose_font(paths: list[str]) -> str | None:
    """The preferred face among ``paths`` if present, else the first regular-looking one, else any."""
    existing = [p for p in dict.fromkeys(paths) if Path(p).is_file()]
    by_name = {Path(p).name: p for p in existing}
    for name in PREFERRED:
        if name in by_name:
            return by_name[name]
    regular = [p for p in sorted(existing) if "bold" not in Path(p).name.lower()]
    return (regular or sorted(existing) or [None])[0]


def find_hangul_font(fc_list: str = "fc-list", fc_match: str = "fc-match") -> str:
    """Path of a font file that covers Korean, or :class:`FontMissingError` saying what to install."""
    path = choose_font(parse_fc_list(_run([fc_list, ":lang=ko", "file"])))
    if path is None:
        # fc-match always answers with *some* font; only trust it when it claims Korean coverage.
        answer = _run([fc_match, "--format=%{file}\n%{lang}", ":lang=ko"]).splitlines()
        if len(answer) == 2 and "ko" in answer[1].split("|") and Path(answer[0]).is_file():
            path = answer[0]
    if path is None:
        raise FontMissingError(
            f"no font that can draw Korean (Hangul) was found through fontconfig (`{fc_list} :lang=ko`); "
            f"install one with `apt-get install {FONT_PACKAGE}` (or run `make setup`), then try again")
    return path


@lru_cache(maxsize=1)
def hangul_font() -> str:
    """The font found once per process (fontconfig is slow to ask)."""
    return find_hangul_font()
