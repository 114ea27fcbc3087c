"""The help pages shown under a command's options (``bench COMMAND --help``), one text file
per command in ``cli/pages/``.

They are long, name providers in their examples, and read best as the plain text they print
as. Click rewraps paragraphs; a line holding only ``\\b`` keeps the next paragraph as written.
"""
from __future__ import annotations

from importlib import resources

_NO_REWRAP = "\b"  # Click's marker


def epilog(name: str, **parts: str) -> str:
    """The page ``cli/pages/<name>.txt``, with its ``\\b`` lines turned into Click's marker and each
    ``@@part@@`` replaced by ``parts[part]`` (text made at run time, e.g. from the provider registry)."""
    text = resources.files("cli").joinpath("pages", f"{name}.txt").read_text(encoding="utf-8")
    for part, value in parts.items():
        text = text.replace(f"@@{part}@@", value)
    return "\n".join(_NO_REWRAP if line == "\\b" else line for line in text.split("\n"))
