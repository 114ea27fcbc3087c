"""Text normalization and comparison for Korean OCR output.

Every comparison starts from Unicode NFC, so a decomposed ``한`` (U+1112 U+1161 U+11AB)
equals the precomposed one. The options mirror what people do by hand when comparing
providers: Kakao spaces out syllables (``가 자 미``), ICDAR 2015 forgives edge punctuation.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import Levenshtein

from gt.reader import icdar15_unquote  # noqa: F401 (the gt format's rule; normalize applies it in --icdar15 mode)

ICDAR15_EDGE_CHARS = "!?.:,*\"()·[]/'"

_HANGUL_BASE, _HANGUL_LAST = 0xAC00, 0xD7A3
_JUNG_COUNT, _JONG_COUNT = 21, 28


@dataclass(frozen=True)
class TextOptions:
    """How texts are compared; the defaults compare NFC-normalized, stripped texts exactly."""

    ignore_case: bool = False
    ignore_space: bool = False
    ignore_punct: bool = False
    icdar15: bool = False


def normalize(text: str, options: TextOptions = TextOptions()) -> str:
    """The form both texts take before they are compared or their edit distance is taken."""
    if options.icdar15:
        text = icdar15_unquote(text)
    text = unicodedata.normalize("NFC", text).strip()
    if options.ignore_punct:
        text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    if options.ignore_space:
        text = "".join(ch for ch in text if not ch.isspace())
    if options.icdar15:
        text = text.upper()
    elif options.ignore_case:
        text = text.casefold()
    return text.strip()


def texts_match(gt: str, pred: str, options: TextOptions = TextOptions()) -> bool:
    """Exact match after normalization; ICDAR 2015 mode also forgives one edge character of the gt."""
    return normalized_texts_match(normalize(gt, options), normalize(pred, options), options)


def normalized_texts_match(gt_n: str, pred_n: str, options: TextOptions = TextOptions()) -> bool:
    """``texts_match`` for texts already passed through ``normalize`` (saves doing it twice)."""
    if gt_n == pred_n:
        return True
    if not options.icdar15 or not gt_n:
        return False
    head = gt_n[0] in ICDAR15_EDGE_CHARS
    tail = gt_n[-1] in ICDAR15_EDGE_CHARS
    return ((head and gt_n[1:] == pred_n)
            or (tail and gt_n[:-1] == pred_n)
            or (head and tail and gt_n[1:-1] == pred_n))


def _jamo_table() -> dict[int, str]:
    table = {}
    for index in range(_HANGUL_LAST - _HANGUL_BASE + 1):
        lead, rest = divmod(index, _JUNG_COUNT * _JONG_COUNT)
        vowel, tail = divmod(rest, _JONG_COUNT)
        table[_HANGUL_BASE + index] = (chr(0x1100 + lead) + chr(0x1161 + vowel)
                                       + (chr(0x11A7 + tail) if tail else ""))
    return table


_JAMO = _jamo_table()


def decompose_jamo(text: str) -> str:
    """Split each precomposed Hangul syllable into its conjoining jamo (lead, vowel, optional tail).

    Only Hangul syllables change, so the jamo-level CER measures Korean spelling errors at the
    letter level (``갔`` vs ``갓`` is one jamo apart) without touching other scripts.
    """
    return text.translate(_JAMO)


def edit_distance(reference: str, hypothesis: str) -> int:
    """Levenshtein distance in code points (insertions, deletions, substitutions all cost 1)."""
    return Levenshtein.distance(reference, hypothesis)
