"""How the report page and its plots name each run.

``reports.compare.disambiguate`` makes the labels of ``comparison.csv`` and the ``eval/``
folders: a provider used twice gets the part of its path that tells the runs apart,
``tesseract [psm6]``. When that part already names the provider (``tesseract [tesseract-psm11]``,
from a folder named after the run) the page shows it alone, so a legend reads
``tesseract-psm11`` instead of saying "tesseract" twice. Only the presentation changes: the CSV
files keep the full label, and the page's Inputs table shows both where they differ.
"""
from __future__ import annotations

from typing import Sequence


def shown_label(provider: str, label: str) -> str:
    """The label as the page shows it: ``name [tail]`` becomes ``tail`` when the tail contains
    the provider's name (case-insensitive); any other label is returned unchanged."""
    head = f"{provider} ["
    if label.startswith(head) and label.endswith("]"):
        tail = label[len(head):-1]
        if tail and provider.casefold() in tail.casefold():
            return tail
    return label


def shown_labels(providers: Sequence[str], labels: Sequence[str]) -> list[str]:
    """:func:`shown_label` of each run, falling back to the full label wherever the short one
    would collide with another run's (the page must still tell every run apart)."""
    short = [shown_label(p, lab) for p, lab in zip(providers, labels)]
    out = []
    for k, (label, name) in enumerate(zip(labels, short)):
        clash = any(j != k and (name == short[j] or name == labels[j]) for j in range(len(labels)))
        out.append(label if clash and name != label else name)
    return out
