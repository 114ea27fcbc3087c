"""Convert AI-Hub "Text in the Wild" annotations into the project's gt folders (``bench gt aihub``).

Input: ``textinthewild_data_info.json``, COCO-like: ``images`` records ``{id, file_name, width,
height, type}`` (``id`` is a string such as ``"00000001"``; ``type`` is ``book``, ``product``,
``sign``, ...), ``annotations`` records ``{id, image_id, bbox: [x, y, w, h], text,
attributes: {class: word | character | ignored}}`` with ``text`` null for ignored regions; and
the category folders of images (``Goods/``, ``Signboard/``, ``Traffic_Sign/``, ``book/``).

The rules reproduce the Light-OCR conversion (jentiai/Korean-Light-OCR-Data ``make_dataset.py``
and ``utils/``), which Light-OCR used for its evaluation on the 9,886-image test split:

* A word becomes the minimum-area rectangle around the corners of the character boxes that lie
  inside its box with a 5 px margin. "Inside" is strict, as in Light-OCR: ``char.left >
  word.left - 5``, ``char.top > word.top - 5``, ``char.right < word.right + 5`` and
  ``char.bottom < word.bottom + 5``; one character may serve two overlapping words. A word with
  no character inside keeps its own box. Character annotations are never written as words.
* Corners are written TL, TR, BR, BL, clockwise on screen (y pointing down). The start corner:
  for a horizontal word, of the two left-most corners (sorted by x, then y) the upper one; for a
  vertical word, of the two top-most corners (sorted by y, then x) the left one. A word is
  vertical when its rectangle's axis-aligned extent is taller than 1.5 x its width: strictly
  taller, as Light-OCR's ``check_vertical`` (``height > width * 1.5``), not ``>=``. The two rules
  differ only for rotated rectangles, where the vertical rule makes TL-TR the short top edge of
  a column of text; axis-aligned boxes get the same order either way. Light-OCR paired corners
  by those sorts; walking clockwise from the same start gives the same polygon for every
  rectangle (the tests check it on random ones) and can never produce a self-crossing one.
* ``ignored`` regions keep their own box and become ``###`` whatever their text (Light-OCR wrote
  a non-null text of an ignored region as a word, and dropped ignored regions with empty text).
  Words whose text is null also become ``###`` (with the character rectangle).
* Words whose text is empty or white space are skipped, and so are words and regions whose box
  has zero or negative width or height, or a corner beyond 10^9 once rounded (the gt reader, and
  so ``bench eval``, refuses such coordinates); all are counted. Character boxes of zero size are not
  used. Line breaks and tabs inside a text become spaces (they would break the line format).
* Coordinates are rounded to the nearest integer. Light-OCR truncated with ``int()``, which
  turns a rotation's ``119.99999`` into ``119``.
* An image whose gt would be empty is left out (Light-OCR deleted the empty gt file but kept
  the image); so is a split-list entry that is not in the annotations or has no image file.
  These are reported and listed in ``left_out.csv`` rather than being errors, because real
  downloads are often partial (one category at a time) and the released JSON names some images
  that were never shipped; a run where *nothing* can be converted is an error.

Categories are the AI-Hub folder names, with ``Signboard`` spelled right: the split list (like
Light-OCR's README) says ``Singboard``. An image's category is the folder it was found in, else
its ``type`` (``product`` -> Goods, ``sign`` -> Signboard), else the list's category, each
matched case- and punctuation-insensitively through ``CATEGORY_ALIASES``. List entries are
matched to images by file name alone, as Light-OCR did, so the spelling never loses an image.

Memory: the real file covers about 100,000 images. It is never loaded whole: ``JsonStream``
walks the top-level object and decodes one array element at a time with
``json.JSONDecoder.raw_decode`` on a 256 KiB buffer, and only the images in the split keep
compact per-image arrays. Every record is still validated, and errors name the record and its
byte offset.
"""
from __future__ import annotations

import csv
import logging
import math
import os
import re
import sys
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from adapters.core.atomic import atomic_open, copy_file_atomic, ensure_folder, staged, write_error, write_text_atomic
from adapters.core.errors import InputError, excerpt, read_error
from adapters.core.images import IMAGE_SUFFIXES
from adapters.core.jsonstream import CHUNK_SIZE, JsonStream
from adapters.core.schema import MAX_COORDINATE, Point
from gt.outputs import existing_outputs, refuse_to_mix, remove_outputs
from gt.reader import DONT_CARE, VERTICAL_RATIO

log = logging.getLogger("bench")

ANNOTATION_FILE = "textinthewild_data_info.json"
DEFAULT_LIST = "aihub_test_image_list.txt"
OUTPUT_FILES = ("categories.csv", "left_out.csv")  # besides gt/*.txt and the images
MARGIN = 5.0
WORD, CHARACTER, IGNORED = "word", "character", "ignored"
CLASSES = (WORD, CHARACTER, IGNORED)
# Keys are lower-case letters and digits only, so "Traffic_Sign", "traffic sign" and
# "TRAFFIC-SIGN" all match. product/sign/book are the image ``type`` values of the released JSON.
CATEGORY_ALIASES = {
    "goods": "Goods", "product": "Goods", "products": "Goods",
    "signboard": "Signboard", "singboard": "Signboard", "sign": "Signboard",
    "trafficsign": "Traffic_Sign", "traffic": "Traffic_Sign",
    "book": "book", "books": "book",
}

Box = tuple[float, float, float, float]
Quad = tuple[Point, Point, Point, Point]

LEFT_OUT_REASONS = {
    "not_in_annotations": "not in the annotation file",
    "no_image_file": "no image file under the AI-Hub folder",
    "no_words": "no word left after conversion (empty gt)",
    "duplicate_stem": "another image already has this stem",
}
LINE_COUNTS = {
    "word": "words",
    "dont_care_ignored": "don't care (ignored regions)",
    "dont_care_null_text": "don't care (words with null text)",
    "dont_care_text": "don't care (words whose text is ###)",
}
SKIP_COUNTS = {
    "empty_text": "words with empty text",
    "bad_box": "words or regions with zero or negative width or height",
    "out_of_range": "words or regions with a coordinate beyond 10^9 (bench eval would refuse the file)",
}
INFO_COUNTS = {
    "own_box": "words without characters inside (own box used)",
    "zero_size_characters": "character boxes of zero size (not used)",
}


# --------------------------------------------------------------------------------------------
# Geometry (pure)
# --------------------------------------------------------------------------------------------

def box_corners(box: Box) -> Quad:
    """``[x, y, w, h]`` -> its four corners TL, TR, BR, BL."""
    x, y, w, h = box
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


def chars_inside_word(word: Box, chars: np.ndarray, margin: float = MARGIN) -> np.ndarray:
    """Light-OCR's test, for an (n, 4) array of character boxes: each lies strictly inside the
    word box grown by ``margin`` on every side (a character exactly ``margin`` out is outside)."""
    x, y, w, h = word
    left, top = chars[:, 0], chars[:, 1]
    return ((left > x - margin) & (top > y - margin)
            & (left + chars[:, 2] < x + w + margin) & (top + chars[:, 3] < y + h + margin))


def char_inside_word(word: Box, char: Box, margin: float = MARGIN) -> bool:
    """``chars_inside_word`` for one character box."""
    return bool(chars_inside_word(word, np.asarray([char], dtype=float), margin)[0])


def convex_hull(points: Iterable[Point]) -> list[Point]:
    """Hull vertices, counter-clockwise with y up (Andrew's monotone chain); collinear points dropped.

    Plain Python: a word has a few dozen corner points, where numpy's per-call overhead dominates.
    """
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def turn(o: Point, a: Point, b: Point) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[Point] = []
    for p in pts:
        while len(lower) >= 2 and turn(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[Point] = []
    for p in reversed(pts):
        while len(upper) >= 2 and turn(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def min_area_rect(points: Iterable[Point]) -> Quad:
    """Minimum-area enclosing rectangle, corners clockwise on screen; ``ValueError`` without area.

    Rotating calipers: the optimum has a side on a hull edge, so only the hull's edge directions
    (modulo 90 degrees) are tried. Ties, as for any upright set of boxes, go to the direction
    nearest the axes, so upright text stays upright. Written here rather than taken from shapely,
    whose ``oriented_envelope`` is the minimum-*width* rectangle on GEOS < 3.12.
    """
    hull = convex_hull((float(x), float(y)) for x, y in points)
    if len(hull) < 3:
        raise ValueError("the points have no area")
    quarter = math.pi / 2
    best: tuple[float, float, float] | None = None  # (area, tilt, angle)
    for k, (x0, y0) in enumerate(hull):
        x1, y1 = hull[(k + 1) % len(hull)]
        angle = math.atan2(y1 - y0, x1 - x0) % quarter
        c, s = math.cos(angle), math.sin(angle)
        us = [x * c + y * s for x, y in hull]
        vs = [y * c - x * s for x, y in hull]
        area = (max(us) - min(us)) * (max(vs) - min(vs))
        tilt = min(angle, quarter - angle)
        smaller = best is None or area < best[0] * (1 - 1e-9) - 1e-9
        if smaller or (area <= best[0] * (1 + 1e-9) + 1e-9 and tilt < best[1]):  # type: ignore[index]
            best = (area, tilt, angle)
    assert best is not None
    angle = best[2]
    c, s = math.cos(angle), math.sin(angle)
    us = [x * c + y * s for x, y in hull]
    vs = [y * c - x * s for x, y in hull]
    u0, u1, v0, v1 = min(us), max(us), min(vs), max(vs)
    frame = ((u0, v0), (u1, v0), (u1, v1), (u0, v1))  # clockwise on screen; a rotation keeps that
    return tuple((a * c - b * s, a * s + b * c) for a, b in frame)  # type: ignore[return-value]


def is_vertical(corners: Sequence[Point], ratio: float = VERTICAL_RATIO) -> bool:
    """Light-OCR's ``check_vertical``: the axis-aligned extent is strictly taller than ``ratio`` x its width."""
    xs = [p[0] for p in corners]
    ys = [p[1] for p in corners]
    return max(ys) - min(ys) > ratio * (max(xs) - min(xs))


def order_corners(corners: Sequence[Point], ratio: float = VERTICAL_RATIO) -> Quad:
    """A rectangle's corners (cyclic, either direction) as TL, TR, BR, BL, clockwise on screen.

    Start corner: horizontal words, the upper of the two left-most corners (by x, then y);
    vertical words, the left of the two top-most (by y, then x). Coordinates are rounded to
    1e-6 first so that a rotation's 99.9999999 and 100 compare as the same x.
    """
    if len(corners) != 4:
        raise ValueError(f"expected 4 corners, got {len(corners)}")
    pts = [(round(float(x), 6) + 0.0, round(float(y), 6) + 0.0) for x, y in corners]
    doubled_area = sum(pts[i][0] * pts[(i + 1) % 4][1] - pts[(i + 1) % 4][0] * pts[i][1] for i in range(4))
    if doubled_area < 0:  # counter-clockwise on screen
        pts.reverse()
    if is_vertical(pts, ratio):
        top = sorted(pts, key=lambda p: (p[1], p[0]))[:2]
        start = min(top, key=lambda p: (p[0], p[1]))
    else:
        left = sorted(pts)[:2]
        start = min(left, key=lambda p: (p[1], p[0]))
    k = pts.index(start)
    return tuple(pts[(k + i) % 4] for i in range(4))  # type: ignore[return-value]


@dataclass(frozen=True)
class GtLine:
    """One line of a gt file."""

    points: Quad
    text: str

    def format(self) -> str:
        coords = ",".join(f"{_integer(x)},{_integer(y)}" for x, y in self.points)
        return f"{coords},{self.text}"


def _integer(value: float) -> int:
    return int(math.floor(value + 0.5))


def _writable(quad: Quad) -> bool:
    """Every corner, rounded as written, within the coordinate range the gt reader accepts."""
    return all(math.isfinite(v) and abs(_integer(v)) <= MAX_COORDINATE for point in quad for v in point)


def clean_text(text: str) -> str:
    """Line breaks and tabs -> spaces (a gt line is one line), outer white space removed."""
    return re.sub(r"[\r\n\t\v\f\x85\u2028\u2029]", " ", text).strip()


def convert_words(words: Iterable[tuple[str, Box, str | None]], chars: np.ndarray | Sequence[Box],
                  margin: float = MARGIN) -> tuple[list[GtLine], Counter[str]]:
    """One image's ``(class, bbox, text)`` words and ignored regions + its character boxes -> gt lines.

    Returns the lines (in annotation order) and counts: written kinds (``LINE_COUNTS``), skips
    (``SKIP_COUNTS``) and ``INFO_COUNTS``.
    """
    counts: Counter[str] = Counter()
    boxes = np.asarray(chars, dtype=float).reshape(-1, 4)
    usable = (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
    counts["zero_size_characters"] += int((~usable).sum())
    boxes = boxes[usable]
    lines: list[GtLine] = []
    for kind, box, text in words:
        x, y, w, h = box
        if kind == IGNORED:
            if w <= 0 or h <= 0:
                counts["bad_box"] += 1
                continue
            quad = order_corners(box_corners(box))
            if not _writable(quad):
                counts["out_of_range"] += 1
                continue
            lines.append(GtLine(quad, DONT_CARE))
            counts["dont_care_ignored"] += 1
            continue
        if text is not None:
            text = clean_text(text)
            if not text:
                counts["empty_text"] += 1
                continue
        if w <= 0 or h <= 0:
            counts["bad_box"] += 1
            continue
        inside = chars_inside_word(box, boxes, margin)
        if inside.any():
            points = [p for b in boxes[inside].tolist() for p in box_corners(b)]
            quad = order_corners(min_area_rect(points))
        else:
            quad = order_corners(box_corners(box))
            counts["own_box"] += 1
        if not _writable(quad):
            counts["out_of_range"] += 1
            continue
        if text is None:
            lines.append(GtLine(quad, DONT_CARE))
            counts["dont_care_null_text"] += 1
        else:
            lines.append(GtLine(quad, text))
            counts["dont_care_text" if text == DONT_CARE else "word"] += 1
    return lines, counts


# --------------------------------------------------------------------------------------------
# Categories and the split list (pure)
# --------------------------------------------------------------------------------------------

def canonical_category(name: str | None) -> str | None:
    """``Singboard``, ``signboard``, ``sign`` -> ``Signboard``; ``product`` -> ``Goods``; unknown -> None."""
    if not name:
        return None
    return CATEGORY_ALIASES.get(re.sub(r"[^0-9a-z]", "", name.lower()))


def safe_folder_name(name: str) -> str:
    """A category that is not one of ours, made safe to use as a folder name."""
    cleaned = re.sub(r"[^\w.-]+", "_", name).strip("._")
    return cleaned or "unknown"


def base_name(file_name: str) -> str:
    """``Goods/A.jpg`` or ``Goods\\A.jpg`` -> ``A.jpg``."""
    return re.split(r"[\\/]", file_name.strip())[-1]


@dataclass(frozen=True)
class ListEntry:
    """One split-list line: ``Category/FILE.jpg`` (the category is optional)."""

    line: int
    name: str
    category: str | None = None

    @property
    def key(self) -> str:
        return self.name.lower()


def parse_split_list(text: str, source: str) -> tuple[list[ListEntry], int]:
    """Split-list text -> entries (first occurrence of each file name) and the number of repeats.

    Blank lines and ``#`` comments are ignored; ``\\`` works as a separator; CRLF and a BOM are fine.
    """
    entries: list[ListEntry] = []
    seen: set[str] = set()
    repeats = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff").strip()
        if not line or line.startswith("#"):
            continue
        parts = [p for p in re.split(r"[\\/]", line) if p.strip()]
        name = parts[-1].strip() if parts else ""
        if not name or Path(name).suffix.lower() not in IMAGE_SUFFIXES:
            raise InputError(f"{source}, line {number}: expected Category/FILE.jpg, found {excerpt(line, 80)}")
        if name.lower() in seen:
            repeats += 1
            continue
        seen.add(name.lower())
        entries.append(ListEntry(number, name, parts[-2].strip() if len(parts) >= 2 else None))
    return entries, repeats


def read_split_list(path: Path | None) -> tuple[list[ListEntry], int, str]:
    """The given list file, or the shipped 9,886-image test list; returns entries, repeats, its name."""
    if path is None:
        resource = resources.files("gt").joinpath("data").joinpath(DEFAULT_LIST)
        data, source = resource.read_bytes(), f"the shipped {DEFAULT_LIST}"
    else:
        if not path.is_file():
            raise InputError(f"{path}: no such split list file")
        try:
            data, source = path.read_bytes(), str(path)
        except OSError as exc:
            raise read_error(path, exc) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    entries, repeats = parse_split_list(text, source)
    if not entries:
        raise InputError(f"{source}: the split list names no image")
    return entries, repeats, source


# --------------------------------------------------------------------------------------------
# Reading the annotation file
# --------------------------------------------------------------------------------------------

@dataclass(slots=True)
class ImageRecord:
    """What the conversion needs of one image, in compact arrays (4 floats per box)."""

    id: str
    file_name: str
    type: str
    order: int
    ignored: bytearray = field(default_factory=bytearray)  # per word: 1 for an ignored region
    boxes: array = field(default_factory=lambda: array("d"))
    texts: list[str | None] = field(default_factory=list)
    chars: array = field(default_factory=lambda: array("d"))

    def words(self) -> Iterator[tuple[str, Box, str | None]]:
        for k, flag in enumerate(self.ignored):
            yield IGNORED if flag else WORD, tuple(self.boxes[4 * k:4 * k + 4]), self.texts[k]  # type: ignore[misc]

    def char_boxes(self) -> np.ndarray:
        return np.frombuffer(self.chars, dtype=np.float64).reshape(-1, 4) if self.chars else np.empty((0, 4))


@dataclass
class AnnotationIndex:
    """The images of the split found in the annotation file, plus file-wide counts."""

    images: dict[str, ImageRecord] = field(default_factory=dict)
    by_name: dict[str, list[str]] = field(default_factory=dict)  # lower-case file name -> image ids
    image_records: int = 0
    annotation_records: int = 0
    passes: int = 1
    size: int = 0


def _id_key(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


_NUMBER_TYPES = frozenset({int, float})  # exact types: a JSON true/false (bool) is not a coordinate


def _bbox(value: Any) -> list[float] | None:
    """The bbox list itself when it is 4 finite numbers, else None (hot path: no copies)."""
    if type(value) is list and len(value) == 4:
        x, y, w, h = value
        try:
            if (type(x) in _NUMBER_TYPES and type(y) in _NUMBER_TYPES and type(w) in _NUMBER_TYPES
                    and type(h) in _NUMBER_TYPES and math.isfinite(x + y + w + h)):
                return value
        except OverflowError:  # an integer beyond any float
            return None
    return None


class _Collector:
    """Validates every record and keeps the wanted images' annotations."""

    def __init__(self, source: str, wanted: set[str] | None) -> None:
        self.source = source
        self.wanted = wanted
        self.index = AnnotationIndex()
        self.all_ids: dict[str, int] = {}

    def _where(self, what: str, index: int, record: Any, offset: Callable[[], int]) -> str:
        ident = record.get("id") if isinstance(record, dict) else None
        named = f" (id {excerpt(ident)})" if ident is not None else ""
        return f"{self.source}: {what} #{index + 1}{named} at byte {offset()}"

    def image(self, index: int, record: Any, offset: Callable[[], int]) -> None:
        if not isinstance(record, dict):
            raise InputError(f"{self._where('image', index, record, offset)}: expected an object, "
                             f"found {type(record).__name__}")
        for key in ("id", "file_name"):
            if key not in record:
                raise InputError(f"{self._where('image', index, record, offset)}: missing key {key!r}")
        key = _id_key(record["id"])
        if key is None:
            raise InputError(f"{self._where('image', index, record, offset)}: id must be a non-empty string "
                             "or an integer")
        file_name = record["file_name"]
        if not isinstance(file_name, str) or not base_name(file_name):
            raise InputError(f"{self._where('image', index, record, offset)}: file_name must be a non-empty string")
        kind = record.get("type")
        if kind is not None and not isinstance(kind, str):
            raise InputError(f"{self._where('image', index, record, offset)}: type must be a string")
        if key in self.all_ids:
            raise InputError(f"{self._where('image', index, record, offset)}: image id {excerpt(record['id'])} is already "
                             f"used by image #{self.all_ids[key] + 1}")
        self.all_ids[key] = index
        self.index.image_records += 1
        name = base_name(file_name)
        if self.wanted is None or name.lower() in self.wanted:
            self.index.images[key] = ImageRecord(key, name, sys.intern(kind or ""), index)
            self.index.by_name.setdefault(name.lower(), []).append(key)

    def annotation(self, index: int, record: Any, offset: Callable[[], int]) -> None:
        """Validate one annotation and keep it if its image is wanted (the hot path of the reader)."""
        try:
            image_id = record["image_id"]
            kind = record["attributes"]["class"]
            box = _bbox(record["bbox"])
            text = record.get("text")
        except (KeyError, TypeError, AttributeError):
            kind = box = text = image_id = None
        if (box is None or kind not in CLASSES or not (text is None or type(text) is str)
                or (kind == WORD and "text" not in record)):
            raise InputError(f"{self._where('annotation', index, record, offset)}: {_annotation_problem(record)}")
        key = image_id if type(image_id) is str else _id_key(image_id)
        if key is None or key not in self.all_ids:
            raise InputError(f"{self._where('annotation', index, record, offset)}: refers to image id "
                             f"{excerpt(image_id)}, which is not in \"images\"")
        self.index.annotation_records += 1
        image = self.index.images.get(key)
        if image is None:
            return
        if kind == CHARACTER:
            image.chars.extend(box)
        else:
            image.ignored.append(kind == IGNORED)
            image.boxes.extend(box)
            image.texts.append(text)


def _annotation_problem(record: Any) -> str:
    """What is wrong with an annotation record that failed the fast checks."""
    if not isinstance(record, dict):
        return f"expected an object, found {type(record).__name__}"
    for key in ("image_id", "bbox", "attributes"):
        if key not in record:
            return f"missing key {key!r}"
    attributes = record["attributes"]
    if not isinstance(attributes, dict) or "class" not in attributes:
        return "missing key 'attributes.class'"
    kind = attributes["class"]
    if not isinstance(kind, str) or kind not in CLASSES:
        return f"unknown attributes.class {excerpt(kind)} (expected word, character or ignored)"
    if _bbox(record["bbox"]) is None:
        return f"bbox must be 4 numbers [x, y, width, height], found {excerpt(record['bbox'], 80)}"
    if kind == WORD and "text" not in record:
        return "missing key 'text'"
    return f"text must be a string or null, found {type(record.get('text')).__name__}"


def read_annotation_file(path: Path, wanted: set[str] | None, progress: bool = True,
                         chunk_size: int = CHUNK_SIZE) -> AnnotationIndex:
    """Stream the annotation file; keep the images whose lower-case file name is in ``wanted`` (all if None).

    One pass when ``images`` comes before ``annotations`` (as released); otherwise a second pass
    reads the annotations, since an image id cannot be checked before the images are known.
    """
    from adapters.core.progress import progress_bar

    source = str(path)
    try:
        size = path.stat().st_size
        open(path, "rb").close()
    except OSError as exc:
        raise read_error(path, exc) from None
    collector = _Collector(source, wanted)
    skipped: list[bool] = []
    handlers: dict[str, Callable[[int, Any, Callable[[], int]], None]] = {
        "images": collector.image,
        "annotations": lambda index, record, offset: skipped.append(True) if not skipped else None,
    }

    def done(key: str) -> None:
        if key == "images":  # from now on annotations can be checked against the image ids
            handlers["annotations"] = collector.annotation

    with progress_bar(total=size, desc="reading annotations", unit="B", unit_scale=True, unit_divisor=1024,
                      leave=False, enabled=progress) as bar:
        with open(path, "rb") as handle:
            seen = JsonStream(handle, source, bar.update, chunk_size).walk(handlers, done)
        for key in ("images", "annotations"):
            if key not in seen:
                raise InputError(f"{source}: no \"{key}\" array; is this textinthewild_data_info.json?")
        if skipped:
            collector.index.passes = 2
            bar.total = 2 * size
            bar.refresh()
            with open(path, "rb") as handle:
                JsonStream(handle, source, bar.update, chunk_size).walk({"annotations": collector.annotation})
    collector.index.size = size
    return collector.index


# --------------------------------------------------------------------------------------------
# Images on disk
# --------------------------------------------------------------------------------------------

def index_image_files(root: Path, wanted: set[str] | None) -> dict[str, list[Path]]:
    """Lower-case file name -> every image file of that name under ``root`` (one walk)."""
    found: dict[str, list[Path]] = {}

    def unreadable(exc: OSError) -> None:  # a folder of images that cannot be listed is not "no image file"
        raise read_error(exc.filename or root, exc)

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs.sort()
        for name in sorted(files):
            key = name.lower()
            if Path(key).suffix not in IMAGE_SUFFIXES or (wanted is not None and key not in wanted):
                continue
            found.setdefault(key, []).append(Path(folder) / name)
    return found


def pick_file(candidates: Sequence[Path], category: str | None) -> Path:
    """Of several files with one name, the one in the expected category's folder, else the first."""
    if len(candidates) > 1 and category is not None:
        matching = [p for p in candidates if canonical_category(p.parent.name) == category]
        if matching:
            return matching[0]
    return candidates[0]


def resolve_category(path: Path, image_type: str, list_category: str | None) -> str:
    """Folder, else ``type``, else the list's category (all canonical); else the type as a safe name."""
    return (canonical_category(path.parent.name) or canonical_category(image_type)
            or canonical_category(list_category) or safe_folder_name(image_type or list_category or ""))


# --------------------------------------------------------------------------------------------
# The whole conversion
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AihubOptions:
    """What ``bench gt aihub`` was asked to do (see its --help)."""

    aihub: Path
    out: Path
    annotations: Path | None = None
    split_list: Path | None = None
    all_images: bool = False
    link: bool = False
    overwrite: bool = False
    progress: bool = True
    margin: float = MARGIN


@dataclass
class LeftOut:
    """A split image that was not converted; ``reason`` is a key of ``LEFT_OUT_REASONS``."""

    file_name: str
    category: str
    reason: str


@dataclass
class AihubSummary:
    """Everything the end-of-run report needs; ``counts`` uses the keys of the *_COUNTS tables."""

    out: Path
    list_source: str = ""
    list_entries: int = 0
    list_repeats: int = 0
    images_written: int = 0
    per_category: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    left_out: list[LeftOut] = field(default_factory=list)
    transfers: Counter[str] = field(default_factory=Counter)  # copied / hard-linked / symlinked
    duplicate_records: int = 0
    ambiguous_files: int = 0
    image_records: int = 0
    annotation_records: int = 0
    bytes_read: int = 0
    passes: int = 1
    seconds: float = 0.0

    @property
    def left_out_by_reason(self) -> Counter[str]:
        return Counter(item.reason for item in self.left_out)


def _check_paths(options: AihubOptions) -> Path:
    if not options.aihub.is_dir():
        raise InputError(f"{options.aihub}: no such folder (expected the unpacked AI-Hub Text in the Wild folder)")
    annotations = options.annotations or options.aihub / ANNOTATION_FILE
    if not annotations.is_file():
        hint = "" if options.annotations else " (pass --annotations FILE if it lives elsewhere)"
        raise InputError(f"{annotations}: annotation file not found{hint}")
    out = options.out.resolve()
    source = options.aihub.resolve()
    if out == source or source in out.parents:
        raise InputError(f"--out {options.out} is inside the AI-Hub folder {options.aihub}; choose a folder outside "
                         "it (its copies would be found as input images next time)")
    if options.out.exists() and not options.out.is_dir():
        raise InputError(f"{options.out}: exists and is not a folder")
    return annotations


def _transfer(source: Path, target: Path, link: bool) -> str:
    """Copy, or hard-link (symlink when a hard link is impossible, e.g. across file systems)."""
    if not link:
        copy_file_atomic(source, target)
        return "copied"
    remove_outputs([target] if target.exists() or target.is_symlink() else [])
    try:
        os.link(source, target)
        return "hard-linked"
    except OSError:
        try:
            os.symlink(source.resolve(), target)
        except OSError as exc:
            raise write_error(target, exc, "cannot link the image") from None
        return "symlinked"


def convert_aihub(options: AihubOptions, warn: Callable[[str], None] = log.warning) -> AihubSummary:
    """Read, validate and convert; write ``OUT/images/<category>/``, ``OUT/gt/``, ``categories.csv`` and
    ``left_out.csv``. Nothing in OUT changes unless the inputs read cleanly."""
    from adapters.core.progress import progress_bar

    started = time.perf_counter()
    if options.all_images and options.split_list is not None:
        raise InputError("--list and --all exclude each other: give a split list or convert everything")
    annotation_path = _check_paths(options)
    out = options.out
    existing = existing_outputs(out, "**/*", IMAGE_SUFFIXES, OUTPUT_FILES)
    refuse_to_mix(out, existing, options.overwrite)
    summary = AihubSummary(out)
    if options.all_images:
        entries: list[ListEntry] | None = None
        wanted: set[str] | None = None
        summary.list_source = "all images of the annotation file"
    else:
        entries, summary.list_repeats, summary.list_source = read_split_list(options.split_list)
        wanted = {entry.key for entry in entries}
        summary.list_entries = len(entries)
        if summary.list_repeats:
            warn(f"{summary.list_source} names {summary.list_repeats} file(s) more than once; "
                 "each is converted once")

    index = read_annotation_file(annotation_path, wanted, options.progress)
    summary.image_records, summary.annotation_records = index.image_records, index.annotation_records
    summary.bytes_read, summary.passes = index.size * index.passes, index.passes
    if entries is None:
        first: dict[str, ImageRecord] = {}
        for record in sorted(index.images.values(), key=lambda r: r.order):
            first.setdefault(record.file_name.lower(), record)
        entries = [ListEntry(0, r.file_name, None) for r in first.values()]
        summary.list_entries = len(entries)
        if not entries:
            raise InputError(f"{annotation_path}: the \"images\" array is empty; nothing to convert")

    # list entry -> annotation record -> image file
    chosen: list[tuple[ListEntry, ImageRecord]] = []
    for entry in entries:
        ids = index.by_name.get(entry.key)
        if not ids:
            summary.left_out.append(LeftOut(entry.name, canonical_category(entry.category) or entry.category or "",
                                            "not_in_annotations"))
            continue
        records = [index.images[i] for i in ids]
        if len(records) > 1:
            summary.duplicate_records += len(records) - 1
            hint = canonical_category(entry.category)
            records.sort(key=lambda r: (hint is not None and canonical_category(r.type) != hint, r.order))
        chosen.append((entry, records[0]))
    if not chosen:
        raise InputError(f"none of the {len(entries)} entries of {summary.list_source} is in {annotation_path} "
                         f"(first: {entries[0].name}); is this the right annotation file?")
    files = index_image_files(options.aihub, {entry.key for entry, _ in chosen})
    resolved: list[tuple[ListEntry, ImageRecord, Path]] = []
    for entry, record in chosen:
        candidates = files.get(entry.key)
        if not candidates:
            category = canonical_category(record.type) or canonical_category(entry.category) or record.type
            summary.left_out.append(LeftOut(record.file_name, category, "no_image_file"))
            continue
        if len(candidates) > 1:
            summary.ambiguous_files += 1
        expected = canonical_category(entry.category) or canonical_category(record.type)
        resolved.append((entry, record, pick_file(candidates, expected)))
    if not resolved:
        raise InputError(f"none of the {len(chosen)} annotated images of {summary.list_source} has an image file "
                         f"under {options.aihub} (first: {chosen[0][1].file_name})")

    remove_outputs(existing)
    ensure_folder(out / "gt")
    with staged():  # the gt files, images and CSVs replace older ones together, or none does
        rows: list[tuple[str, str]] = []
        stems: set[str] = set()
        for entry, record, path in progress_bar(sorted(resolved, key=lambda item: item[1].file_name), desc="writing",
                                        unit="img", leave=False, enabled=options.progress, min_items=50):
            category = resolve_category(path, record.type, entry.category)
            stem = Path(record.file_name).stem
            if stem.lower() in stems:
                summary.left_out.append(LeftOut(record.file_name, category, "duplicate_stem"))
                continue
            lines, counts = convert_words(record.words(), record.char_boxes(), options.margin)
            summary.counts.update(counts)
            if not lines:
                summary.left_out.append(LeftOut(record.file_name, category, "no_words"))
                continue
            stems.add(stem.lower())
            folder = ensure_folder(out / "images" / category)
            summary.transfers[_transfer(path, folder / record.file_name, options.link)] += 1
            write_text_atomic(out / "gt" / f"{stem}.txt", "".join(line.format() + "\n" for line in lines))
            rows.append((stem, category))
            summary.images_written += 1
            summary.per_category[category] += 1
        with atomic_open(out / "categories.csv", "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(("stem", "category"))
            writer.writerows(sorted(rows))
        with atomic_open(out / "left_out.csv", "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(("file_name", "category", "reason"))
            writer.writerows((item.file_name, item.category, LEFT_OUT_REASONS[item.reason]) for item in summary.left_out)
    summary.seconds = time.perf_counter() - started
    if not summary.images_written:
        raise InputError(f"no image of {summary.list_source} had a word left after conversion; nothing written "
                         f"(see {out / 'left_out.csv'})")
    return summary


def format_summary(summary: AihubSummary) -> str:
    """The end-of-run report: what was written, what was skipped and what was left out, by reason."""
    lines = [
        f"read {summary.image_records:,} images and {summary.annotation_records:,} annotations "
        f"({summary.bytes_read / 1e6:,.1f} MB in {summary.passes} pass(es), {summary.seconds:.1f} s)",
        f"split: {summary.list_source} ({summary.list_entries:,} images)",
        f"images written: {summary.images_written:,} to {summary.out}/images "
        + "(" + ", ".join(f"{k} {v:,}" for k, v in sorted(summary.per_category.items())) + ")",
        "gt lines: " + ", ".join(f"{summary.counts[k]:,} {label}" for k, label in LINE_COUNTS.items()),
        "skipped: " + ", ".join(f"{summary.counts[k]:,} {label}" for k, label in SKIP_COUNTS.items()),
        "notes: " + ", ".join(f"{summary.counts[k]:,} {label}" for k, label in INFO_COUNTS.items()),
    ]
    by_reason = summary.left_out_by_reason
    if by_reason:
        lines.append(f"images left out: {sum(by_reason.values()):,} ("
                     + ", ".join(f"{by_reason[k]:,} {LEFT_OUT_REASONS[k]}" for k in LEFT_OUT_REASONS if by_reason[k])
                     + f"); listed in {summary.out}/left_out.csv")
        examples = ", ".join(item.file_name for item in summary.left_out[:5])
        lines.append(f"  e.g. {examples}{', ...' if len(summary.left_out) > 5 else ''}")
    else:
        lines.append("images left out: 0")
    if summary.duplicate_records:
        lines.append(f"warning: {summary.duplicate_records} image record(s) repeat the file name of another; "
                     "used the one whose type matches the list's category, else the first")
    if summary.ambiguous_files:
        lines.append(f"warning: {summary.ambiguous_files} file name(s) exist in several folders; used the one "
                     "in the image's category folder, else the first in path order")
    if summary.transfers:
        lines.append("image files: " + ", ".join(f"{v:,} {k}" for k, v in sorted(summary.transfers.items())))
    return "\n".join(lines)
