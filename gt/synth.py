"""Synthetic Korean scene text with exact word-level ground truth (``bench synth``).

Each image is built from flat *objects* (a shop sign, a product label, a road sign, a book
page) whose words are drawn one by one with Pillow; the tight ink box of every word is
measured from its own coverage mask, never estimated from font metrics. The object is then
warped into a background scene with one homography, and the word boxes go through the same
homography, so a gt polygon sits on its ink whatever the rotation or perspective. Effects
applied afterwards (lighting, blur, noise, JPEG) do not move pixels.

Determinism: everything random comes from ``random.Random`` / a numpy ``Generator`` seeded
from ``(seed, index)``, the geometry is solved in plain Python floats, the JPEG is written at
a fixed quality without metadata. Sample ``i`` depends only on the seed and ``i``, so a
bigger set starts with the images of a smaller one. Byte equality holds for the same font
files and Pillow/libjpeg build.
"""
from __future__ import annotations

import csv
import io
import math
import random
import re
import subprocess
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from adapters.core.atomic import atomic_open, ensure_folder, staged, write_bytes_atomic, write_text_atomic
from adapters.core.errors import InputError
from adapters.core.schema import Point
from gt import lexicon
from gt.outputs import existing_outputs, refuse_to_mix, remove_outputs
from gt.reader import DONT_CARE

CATEGORIES: tuple[str, ...] = ("Signboard", "Goods", "Traffic_Sign", "book")
# Roughly AI-Hub's test-split mix (Goods and signs dominate) while any 4 consecutive images
# still cover every category.
_CATEGORY_CYCLE: tuple[str, ...] = ("Signboard", "Goods", "Traffic_Sign", "book", "Goods", "Signboard")
FONT_PACKAGE = "fonts-nanum"
NANUM_FILES = frozenset({  # the files Debian's fonts-nanum ships
    "NanumBarunGothic.ttf", "NanumBarunGothicBold.ttf", "NanumGothic.ttf", "NanumGothicBold.ttf",
    "NanumGothicCoding.ttf", "NanumGothicCodingBold.ttf", "NanumMyeongjo.ttf", "NanumMyeongjoBold.ttf",
    "NanumSquareB.ttf", "NanumSquareR.ttf", "NanumSquareRoundB.ttf", "NanumSquareRoundR.ttf",
})
FONT_DIRS: tuple[Path, ...] = (Path("/usr/share/fonts/truetype/nanum"), Path("/usr/share/fonts/opentype/nanum"))
JPEG_QUALITY = 90
LONG_SIDE = (640, 1024)
MIN_CARE_SIZE = 13  # px; smaller text is drawn only as don't-care fine print
TINY_SIZE = (6, 9)  # px range of illegible fine print
STEM_PREFIX = "synth_"

Colour = tuple[int, int, int]
Box = tuple[int, int, int, int]
Matrix = list[list[float]]


# --- fonts -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FontFace:
    """One Korean font file and the traits the layouts choose by."""

    path: str

    @property
    def name(self) -> str:
        return Path(self.path).stem

    @property
    def bold(self) -> bool:
        return re.search(r"(Bold|ExtraBold|Heavy|EB|B)$", self.name) is not None

    @property
    def serif(self) -> bool:
        return "Myeongjo" in self.name

    @property
    def mono(self) -> bool:
        return "Coding" in self.name


class FontsMissingError(InputError):
    """No usable Korean font; the message names the Debian package to install."""


def find_korean_fonts(fc_list: str = "fc-list", font_dirs: Sequence[Path] = FONT_DIRS) -> tuple[FontFace, ...]:
    """Nanum fonts known to fontconfig (``fc-list :lang=ko file``) or lying in the Debian folders.

    Only the files of the ``fonts-nanum`` package are used, so two machines with the same package
    draw the same pixels even when one also has other Nanum fonts (e.g. the handwriting ones of
    ``fonts-nanum-extra``); they are sorted by file name, not path, for the same reason.
    """
    paths: dict[str, str] = {}
    candidates: list[str] = []
    try:
        listing = subprocess.run([fc_list, ":lang=ko", "file"], capture_output=True, text=True, timeout=60, check=False)
        candidates.extend(line.strip().rstrip(":").strip() for line in listing.stdout.splitlines())
    except (OSError, subprocess.SubprocessError):
        pass
    for folder in font_dirs:
        if Path(folder).is_dir():
            candidates.extend(str(p) for p in sorted(Path(folder).iterdir()))
    for candidate in candidates:
        path = Path(candidate)
        if path.name in NANUM_FILES and path.is_file():
            paths.setdefault(path.name, str(path))
    if not paths:
        raise FontsMissingError(
            f"no Korean fonts found: `bench synth` draws with the Nanum fonts of the Debian package "
            f"{FONT_PACKAGE} (searched `{fc_list} :lang=ko` and {', '.join(str(d) for d in font_dirs)}); "
            f"install it with `apt-get install {FONT_PACKAGE}` (or run `make setup`)"
        )
    return tuple(FontFace(paths[name]) for name in sorted(paths))


@lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: Hangul syllables are precomposed, and it does not depend on libraqm.
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=None)
def _glyph_pixels(path: str, char: str) -> bytes:
    image = Image.new("L", (48, 48), 0)
    ImageDraw.Draw(image).text((8, 8), char, font=_font(path, 24), fill=255)
    return image.tobytes()


def covers(face: FontFace, text: str) -> bool:
    """True when every character of ``text`` has a real glyph (not the missing-glyph box)."""
    missing = _glyph_pixels(face.path, "\ue000")
    return all(ch.isspace() or _glyph_pixels(face.path, ch) != missing for ch in text)


# --- public results ------------------------------------------------------------------------

@dataclass(frozen=True)
class WordMask:
    """A word's ink pixels in the image (255 = ink), cropped at ``origin`` (for checking gt)."""

    origin: tuple[int, int]
    pixels: np.ndarray


@dataclass(frozen=True)
class SynthWord:
    """One gt word: quadrilateral TL, TR, BR, BL in image pixels, text (``###`` = illegible)."""

    points: tuple[Point, Point, Point, Point]
    text: str
    vertical: bool = False
    mask: WordMask | None = None

    @property
    def care(self) -> bool:
        return self.text != DONT_CARE

    def gt_line(self) -> str:
        coords = ",".join(f"{round(x)},{round(y)}" for x, y in self.points)
        return f"{coords},{self.text}"


@dataclass(frozen=True)
class Sample:
    """One generated image with its category and words (in drawing order)."""

    stem: str
    category: str
    image: Image.Image
    words: tuple[SynthWord, ...]


# --- flat objects with measured words ---------------------------------------------------------

@dataclass
class _Ink:
    text: str
    care: bool
    vertical: bool
    patch: Image.Image  # L coverage of the whole word (stroke included)
    origin: tuple[int, int]  # patch top-left in object pixels
    box: Box  # tight ink box in object pixels, exclusive right/bottom


@dataclass
class _Layer:
    """A flat object (sign, label, page): its pixels, its outline and the words on it."""

    rgb: Image.Image
    alpha: Image.Image
    words: list[_Ink] = field(default_factory=list)

    @classmethod
    def new(cls, width: int, height: int, colour: Colour, radius: int = 0) -> "_Layer":
        alpha = Image.new("L", (width, height), 0)
        ImageDraw.Draw(alpha).rounded_rectangle((0, 0, width - 1, height - 1), radius=radius, fill=255)
        return cls(Image.new("RGB", (width, height), colour), alpha)

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.size


@dataclass
class _Style:
    face: FontFace
    size: int
    colour: Colour
    stroke: tuple[int, Colour] | None = None


def _luma(c: Colour) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _contrasting(rng: random.Random, background: Colour, min_diff: float = 110) -> Colour:
    """A random text colour that stands out from ``background`` (falls back to black/white)."""
    for _ in range(30):
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if abs(_luma(colour) - _luma(background)) >= min_diff:
            return colour
    return (0, 0, 0) if _luma(background) > 127 else (255, 255, 255)


def _draw_ink(layer: _Layer, full: Image.Image, fill_only: Image.Image | None, origin: tuple[int, int],
              style: _Style) -> Box | None:
    """Paint a word's coverage patches in its colours; returns the tight ink box or None if blank."""
    ox, oy = origin
    pw, ph = full.size
    if style.stroke:
        layer.rgb.paste(style.stroke[1], (ox, oy, ox + pw, oy + ph), full)
        layer.rgb.paste(style.colour, (ox, oy, ox + pw, oy + ph), fill_only)
    else:
        layer.rgb.paste(style.colour, (ox, oy, ox + pw, oy + ph), full)
    inside = full.getbbox()
    if inside is None:
        return None
    return ox + inside[0], oy + inside[1], ox + inside[2], oy + inside[3]


def _word(layer: _Layer, text: str, style: _Style, x: int, baseline: int, care: bool = True) -> _Ink | None:
    """Draw one horizontal word with its baseline-left at ``(x, baseline)`` and record its ink."""
    font = _font(style.face.path, style.size)
    stroke = style.stroke[0] if style.stroke else 0
    left, top, right, bottom = font.getbbox(text, anchor="ls", stroke_width=stroke)
    margin = 2
    size = (right - left + 2 * margin, bottom - top + 2 * margin)
    at = (margin - left, margin - top)
    full = Image.new("L", size, 0)
    ImageDraw.Draw(full).text(at, text, font=font, fill=255, anchor="ls", stroke_width=stroke, stroke_fill=255)
    fill_only = None
    if stroke:
        fill_only = Image.new("L", size, 0)
        ImageDraw.Draw(fill_only).text(at, text, font=font, fill=255, anchor="ls")
    origin = (x + left - margin, baseline + top - margin)
    box = _draw_ink(layer, full, fill_only, origin, style)
    if box is None:
        return None
    ink = _Ink(text, care, False, full, origin, box)
    layer.words.append(ink)
    return ink


def _vertical_word(layer: _Layer, text: str, style: _Style, centre_x: int, top: int, row: int) -> _Ink | None:
    """Draw a word one syllable per row (Korean vertical signs); its gt box is the tall column."""
    font = _font(style.face.path, style.size)
    stroke = style.stroke[0] if style.stroke else 0
    margin = 2 + stroke
    width = int(style.size * 1.4) + 2 * margin
    size = (width, row * len(text) + 2 * margin)
    full = Image.new("L", size, 0)
    fill_only = Image.new("L", size, 0) if stroke else None
    for k, char in enumerate(text):
        at = (width // 2, margin + row * k + row // 2)
        ImageDraw.Draw(full).text(at, char, font=font, fill=255, anchor="mm", stroke_width=stroke, stroke_fill=255)
        if fill_only is not None:
            ImageDraw.Draw(fill_only).text(at, char, font=font, fill=255, anchor="mm")
    origin = (centre_x - width // 2, top - margin)
    box = _draw_ink(layer, full, fill_only, origin, style)
    if box is None:
        return None
    ink = _Ink(text, True, True, full, origin, box)
    layer.words.append(ink)
    return ink


@dataclass
class _Row:
    tokens: list[str]
    style: _Style
    care: bool = True
    align: str = "center"
    space: float = 0.3  # word gap as a fraction of the font size


def _row_width(row: _Row) -> float:
    font = _font(row.style.face.path, row.style.size)
    stroke = 2 * row.style.stroke[0] if row.style.stroke else 0
    words = sum(font.getlength(t) + stroke for t in row.tokens)
    return words + row.space * row.style.size * (len(row.tokens) - 1)


def _row_height(row: _Row) -> int:
    ascent, descent = _font(row.style.face.path, row.style.size).getmetrics()
    return ascent + descent + (2 * row.style.stroke[0] if row.style.stroke else 0)


def _fit_row(row: _Row, max_width: float) -> bool:
    """Shrink the font, then drop trailing words, until the row fits; False if nothing fits."""
    floor = TINY_SIZE[0] if not row.care else MIN_CARE_SIZE
    while _row_width(row) > max_width and row.style.size > floor:
        row.style.size = max(floor, int(row.style.size * 0.9))
    while _row_width(row) > max_width and len(row.tokens) > 1:
        row.tokens.pop()
    return bool(row.tokens) and _row_width(row) <= max_width


def _draw_row(layer: _Layer, row: _Row, x0: int, x1: int, top: int) -> None:
    font = _font(row.style.face.path, row.style.size)
    stroke = row.style.stroke[0] if row.style.stroke else 0
    width = _row_width(row)
    if row.align == "left":
        x = float(x0)
    elif row.align == "right":
        x = x1 - width
    else:
        x = x0 + (x1 - x0 - width) / 2
    baseline = top + stroke + font.getmetrics()[0]
    for token in row.tokens:
        _word(layer, token, row.style, int(round(x + stroke)), baseline, row.care)
        x += font.getlength(token) + 2 * stroke + row.space * row.style.size


def _stack(layer: _Layer, rows: list[_Row], box: Box, rng: random.Random) -> None:
    """Lay rows top to bottom inside ``box``, shrinking them until they fit, gaps spread evenly."""
    x0, y0, x1, y1 = box
    for _ in range(12):
        rows = [r for r in rows if _fit_row(r, x1 - x0)]
        total = sum(_row_height(r) for r in rows)
        if total <= y1 - y0 or not rows:
            break
        for r in rows:
            floor = MIN_CARE_SIZE if r.care else TINY_SIZE[0]
            r.style.size = max(floor, int(r.style.size * 0.88))
        if all(r.style.size <= (MIN_CARE_SIZE if r.care else TINY_SIZE[0]) for r in rows):
            while rows and sum(_row_height(r) for r in rows) > y1 - y0:
                rows.pop()
            break
    if not rows:
        return
    free = (y1 - y0) - sum(_row_height(r) for r in rows)
    gap = free / (len(rows) + 1)
    y = y0 + gap * rng.uniform(0.6, 1.0)
    for row in rows:
        _draw_row(layer, row, x0, x1, int(y))
        y += _row_height(row) + gap


def _paragraph(layer: _Layer, words: Iterator[str], style: _Style, box: Box, leading: float) -> int:
    """Fill ``box`` with left-aligned lines of running text; returns the y below the last line."""
    x0, y0, x1, y1 = box
    font = _font(style.face.path, style.size)
    line_height = int(_row_height(_Row([], style)) * leading)
    space = font.getlength(" ")
    y = y0
    pending: str | None = next(words, None)
    while pending is not None and y + line_height <= y1:
        line: list[str] = []
        width = 0.0
        while pending is not None:
            extra = font.getlength(pending) + (space if line else 0)
            if line and width + extra > x1 - x0:
                break
            line.append(pending)
            width += extra
            pending = next(words, None)
        _draw_row(layer, _Row(line, _Style(style.face, style.size, style.colour), space=space / style.size,
                              align="left"), x0, x1, y)
        y += line_height
    return y


# --- fonts per role ---------------------------------------------------------------------

def _pick_face(rng: random.Random, fonts: Sequence[FontFace], text: str, *, bold: bool | None = None,
               serif: bool | None = None) -> FontFace:
    """A random face with the wanted traits that has glyphs for ``text`` (traits relaxed if needed)."""
    def fits(face: FontFace, strict: bool) -> bool:
        if strict and bold is not None and face.bold != bold:
            return False
        if strict and serif is not None and face.serif != serif:
            return False
        return covers(face, text)

    for strict in (True, False):
        pool = [f for f in fonts if fits(f, strict)]
        if pool:
            return rng.choice(pool)
    raise InputError(f"none of the Korean fonts ({', '.join(f.name for f in fonts)}) can draw {text!r}")


def _style(rng: random.Random, fonts: Sequence[FontFace], text: str, size: float, colour: Colour, *,
           bold: bool | None = None, serif: bool | None = None, stroke: tuple[int, Colour] | None = None) -> _Style:
    return _Style(_pick_face(rng, fonts, text, bold=bold, serif=serif), max(TINY_SIZE[0], int(size)), colour, stroke)


def _tiny_row(rng: random.Random, fonts: Sequence[FontFace], colour: Colour, count: int, align: str = "left") -> _Row:
    """A row of fine print too small to read; its words are scored as don't-care."""
    tokens = [lexicon.any_word(rng) for _ in range(count)]
    size = rng.randint(*TINY_SIZE)
    return _Row(tokens, _style(rng, fonts, "".join(tokens), size, colour, bold=False), care=False, align=align)


# --- object layouts -------------------------------------------------------------------------

_SIGN_PALETTES: tuple[tuple[Colour, Colour], ...] = (
    ((250, 250, 245), (200, 30, 40)), ((200, 30, 40), (255, 255, 255)), ((20, 40, 110), (255, 255, 255)),
    ((250, 210, 40), (20, 20, 20)), ((25, 25, 25), (250, 220, 60)), ((20, 110, 60), (255, 255, 255)),
    ((255, 255, 255), (20, 60, 140)), ((240, 120, 30), (255, 255, 255)), ((60, 30, 20), (240, 220, 180)),
)


def _palette(rng: random.Random) -> tuple[Colour, Colour]:
    if rng.random() < 0.6:
        return rng.choice(_SIGN_PALETTES)
    background = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    return background, _contrasting(rng, background, 120)


def _horizontal_sign(rng: random.Random, fonts: Sequence[FontFace], width: int, height: int) -> _Layer:
    background, ink = _palette(rng)
    layer = _Layer.new(width, height, background, radius=rng.choice((0, 0, height // 10)))
    if rng.random() < 0.5:
        ImageDraw.Draw(layer.rgb).rectangle((3, 3, width - 4, height - 4), outline=ink, width=max(2, height // 40))
    margin = max(6, height // 10)
    name = lexicon.shop_name(rng)
    stroke = None
    if rng.random() < 0.25:
        stroke = (max(1, height // 45), _contrasting(rng, ink, 80))
    rows = [_Row(name, _style(rng, fonts, "".join(name), height * 0.42, ink, bold=True, stroke=stroke))]
    if rng.random() < 0.65:
        kind = rng.random()
        if kind < 0.35:
            extra = [lexicon.phone(rng)]
        elif kind < 0.6:
            extra = rng.sample(lexicon.SIGN_EXTRAS, 2)
        elif kind < 0.8:
            extra = rng.sample(lexicon.MENU_ITEMS, 3)
        else:
            extra = [rng.choice(lexicon.LATIN_WORDS), rng.choice(lexicon.MIXED_WORDS)]
        rows.append(_Row(extra, _style(rng, fonts, "".join(extra), height * 0.16, ink), space=0.6))
    if rng.random() < 0.45:
        rows.append(_tiny_row(rng, fonts, ink, rng.randint(2, 5), rng.choice(("left", "right", "center"))))
    _stack(layer, rows, (margin, margin // 2, width - margin, height - margin // 2), rng)
    return layer


def _vertical_sign(rng: random.Random, fonts: Sequence[FontFace], width: int, height: int,
                   words: Sequence[str] = lexicon.VERTICAL_SIGNS) -> _Layer:
    background, ink = _palette(rng)
    text = rng.choice(words)
    size = min(width * 0.62, height * 0.86 / (len(text) * 1.12))
    height = min(height, int(len(text) * size * 1.12 / 0.86 * rng.uniform(1.0, 1.25)))  # no empty pole
    layer = _Layer.new(width, height, background, radius=rng.choice((0, width // 8)))
    style = _style(rng, fonts, text, size, ink, bold=rng.random() < 0.8)
    row = int(style.size * 1.12)
    top = (height - row * len(text)) // 2
    _vertical_word(layer, text, style, width // 2, top, row)
    return layer


def _goods_label(rng: random.Random, fonts: Sequence[FontFace], width: int, height: int) -> _Layer:
    background = rng.choice(((250, 248, 240), (230, 240, 250), (255, 230, 200), (40, 70, 150), (170, 20, 30),
                             (20, 90, 50), (rng.randrange(256), rng.randrange(256), rng.randrange(256))))
    ink = _contrasting(rng, background, 120)
    layer = _Layer.new(width, height, background, radius=rng.choice((0, min(width, height) // 12)))
    x0, x1 = int(width * 0.07), int(width * 0.93)
    if rng.random() < 0.35:  # a vertical strip on the side, as on many Korean packages
        strip = int(width * 0.16)
        accent = _contrasting(rng, background, 60)
        ImageDraw.Draw(layer.rgb).rectangle((0, 0, strip, height), fill=accent)
        words = [w for w in lexicon.GOODS_DESCRIPTORS if re.fullmatch(r"[가-힣]{2,4}", w)]
        text = rng.choice(words)
        size = min(strip * 0.6, height * 0.8 / (len(text) * 1.12))
        style = _style(rng, fonts, text, size, _contrasting(rng, accent, 120), bold=True)
        row = int(style.size * 1.12)
        _vertical_word(layer, text, style, strip // 2, (height - row * len(text)) // 2, row)
        x0 = strip + int(width * 0.05)
    brand = [rng.choice(lexicon.GOODS_BRANDS)]
    product = [rng.choice(lexicon.GOODS_NAMES)]
    if rng.random() < 0.5:
        product.insert(0, rng.choice(lexicon.GOODS_DESCRIPTORS))
    details = [rng.choice(lexicon.GOODS_DESCRIPTORS), rng.choice(lexicon.UNIT_WORDS)]
    rows = [
        _Row(brand, _style(rng, fonts, brand[0], height * 0.09, ink, bold=True), align=rng.choice(("left", "center"))),
        _Row(product, _style(rng, fonts, "".join(product), height * 0.2, ink, bold=True)),
        _Row(details, _style(rng, fonts, "".join(details), height * 0.085, ink), space=0.8),
    ]
    if rng.random() < 0.4:
        rows.append(_Row([lexicon.price(rng)], _style(rng, fonts, "0123456789,원", height * 0.1, ink, bold=True)))
    for _ in range(rng.randint(1, 3)):
        rows.append(_tiny_row(rng, fonts, ink, rng.randint(3, 7)))
    _stack(layer, rows, (x0, int(height * 0.05), x1, int(height * 0.96)), rng)
    return layer


def _price_tag(rng: random.Random, fonts: Sequence[FontFace], width: int, height: int) -> _Layer:
    background = rng.choice(((255, 255, 255), (255, 235, 80), (250, 250, 235)))
    ink = rng.choice(((20, 20, 20), (200, 20, 30), (20, 40, 120)))
    layer = _Layer.new(width, height, background)
    name = [rng.choice(lexicon.GOODS_NAMES)]
    amount = [lexicon.price(rng)]
    rows = [_Row(name, _style(rng, fonts, name[0], height * 0.22, ink)),
            _Row(amount, _style(rng, fonts, amount[0], height * 0.34, ink, bold=True))]
    if rng.random() < 0.5:
        rows.append(_tiny_row(rng, fonts, ink, rng.randint(2, 4)))
    margin = max(4, width // 14)
    _stack(layer, rows, (margin, 2, width - margin, height - 2), rng)
    return layer


def _arrow(draw: ImageDraw.ImageDraw, box: Box, direction: str, colour: Colour) -> None:
    """A road-sign arrow (a shape, not text, so it has no gt)."""
    x0, y0, x1, y1 = box
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    shaft = [(cx - w * 0.12, cy + h * 0.45), (cx + w * 0.12, cy + h * 0.45), (cx + w * 0.12, cy - h * 0.05),
             (cx + w * 0.4, cy - h * 0.05), (cx, cy - h * 0.45), (cx - w * 0.4, cy - h * 0.05), (cx - w * 0.12, cy - h * 0.05)]
    turn = {"up": 0.0, "left": -math.pi / 2, "right": math.pi / 2}[direction]
    points = [(cx + (x - cx) * math.cos(turn) - (y - cy) * math.sin(turn),
               cy + (x - cx) * math.sin(turn) + (y - cy) * math.cos(turn)) for x, y in shaft]
    draw.polygon(points, fill=colour)


def _direction_sign(rng: random.Random, fonts: Sequence[FontFace], width: int, height: int) -> _Layer:
    background = rng.choice(((0, 82, 164), (0, 120, 70), (10, 95, 60), (20, 70, 150)))
    white = (250, 250, 250)
    layer = _Layer.new(width, height, background, radius=max(4, height // 18))
    draw = ImageDraw.Draw(layer.rgb)
    draw.rounded_rectangle((4, 4, width - 5, height - 5), radius=max(3, height // 20), outline=white,
                           width=max(2, height // 60))
    places = rng.sample(lexicon.PLACES, rng.randint(1, 3))
    block = (height - 16) / len(places)
    korean_face = _pick_face(rng, fonts, "".join(p[0] for p in places), bold=True)
    latin_face = _pick_face(rng, fonts, "".join(p[1] for p in places))
    for k, (korean, latin) in enumerate(places):
        top = 8 + block * k
        size = int(min(block * 0.5, width * 0.14))
        arrow = int(block * 0.55)
        _arrow(draw, (14, int(top + block * 0.2), 14 + arrow, int(top + block * 0.2) + arrow),
               rng.choice(("up", "left", "right")), white)
        x = 14 + arrow + max(10, width // 30)
        korean_row = _Row([korean], _Style(korean_face, size, white), align="left")
        latin_row = _Row(latin.split(), _Style(latin_face, max(MIN_CARE_SIZE, int(size * 0.42)), white), align="left")
        if rng.random() < 0.6:
            distance = _Row([lexicon.distance(rng)], _Style(latin_face, max(MIN_CARE_SIZE, int(size * 0.55)), white))
            if _fit_row(distance, width * 0.3):
                _draw_row(layer, distance, int(width * 0.68), width - 14, int(top + block * 0.25))
                limit = int(width * 0.66)
            else:
                limit = width - 14
        else:
            limit = width - 14
        if _fit_row(korean_row, limit - x):
            _draw_row(layer, korean_row, x, limit, int(top + block * 0.06))
        if _fit_row(latin_row, limit - x):
            _draw_row(layer, latin_row, x, limit, int(top + block * 0.06 + _row_height(korean_row)))
    return layer


def _warning_sign(rng: random.Random, fonts: Sequence[FontFace], width: int, height: int) -> _Layer:
    background, ink, border = rng.choice((((250, 250, 250), (20, 20, 20), (210, 30, 30)),
                                          ((250, 200, 20), (20, 20, 20), (20, 20, 20)),
                                          ((250, 250, 250), (210, 30, 30), (210, 30, 30)),
                                          ((0, 82, 164), (250, 250, 250), (250, 250, 250))))
    layer = _Layer.new(width, height, background, radius=min(width, height) // 10)
    line = max(3, min(width, height) // 22)
    ImageDraw.Draw(layer.rgb).rounded_rectangle((line, line, width - line - 1, height - line - 1),
                                                radius=min(width, height) // 12, outline=border, width=line)
    first = [rng.choice(lexicon.TRAFFIC_WORDS)]
    rows = [_Row(first, _style(rng, fonts, first[0], height * 0.3, ink, bold=True))]
    if rng.random() < 0.6:
        second = [rng.choice(lexicon.TRAFFIC_LATIN + lexicon.TRAFFIC_WORDS)]
        rows.append(_Row(second, _style(rng, fonts, second[0], height * 0.2, ink, bold=True)))
    if rng.random() < 0.5:
        rows.append(_tiny_row(rng, fonts, ink, rng.randint(2, 3), "center"))
    inner = 3 * line
    _stack(layer, rows, (inner, inner, width - inner, height - inner), rng)
    return layer


def _book_page(rng: random.Random, fonts: Sequence[FontFace], width: int, height: int) -> _Layer:
    background = rng.choice(((250, 248, 240), (244, 238, 220), (255, 255, 255), (235, 235, 230)))
    ink = rng.choice(((15, 15, 15), (40, 40, 45), (60, 50, 40)))
    layer = _Layer.new(width, height, background)
    margin_x, margin_y = int(width * rng.uniform(0.07, 0.12)), int(height * rng.uniform(0.05, 0.09))
    size = max(MIN_CARE_SIZE + 1, int(width / rng.uniform(20, 30)))
    words = iter(lexicon.book_words(rng, 400))
    body_face = _pick_face(rng, fonts, "".join(lexicon.BOOK_SENTENCES), bold=False, serif=rng.random() < 0.7)
    y = margin_y
    if rng.random() < 0.5:  # running header in fine print
        header = _tiny_row(rng, fonts, ink, rng.randint(2, 4), rng.choice(("left", "right")))
        _draw_row(layer, header, margin_x, width - margin_x, y)
        y += _row_height(header) + size // 2
    if rng.random() < 0.6:
        title = rng.sample(lexicon.BOOK_TITLES, rng.randint(1, 3))
        row = _Row(title, _style(rng, fonts, "".join(title), size * 1.7, ink, bold=True), align=rng.choice(("left", "center")))
        if _fit_row(row, width - 2 * margin_x):
            _draw_row(layer, row, margin_x, width - margin_x, y)
            y += int(_row_height(row) * 1.5)
    footer = size * 2 + (TINY_SIZE[1] * 3 if rng.random() < 0.5 else 0)
    _paragraph(layer, words, _Style(body_face, size, ink), (margin_x, y, width - margin_x, height - margin_y - footer),
               rng.uniform(1.35, 1.7))
    bottom = height - margin_y - footer
    if footer > size * 2:
        for k in range(2):
            note = _tiny_row(rng, fonts, ink, rng.randint(4, 8))
            if _fit_row(note, width - 2 * margin_x):
                _draw_row(layer, note, margin_x, width - margin_x, bottom + 4 + k * (TINY_SIZE[1] + 5))
    number = _Row([str(rng.randint(3, 380))], _Style(body_face, max(MIN_CARE_SIZE, int(size * 0.8)), ink),
                  align=rng.choice(("center", "right")))
    _draw_row(layer, number, margin_x, width - margin_x, height - margin_y - _row_height(number))
    return layer


# --- scenes -------------------------------------------------------------------------------

def _background(rng: random.Random, noise: np.random.Generator, width: int, height: int, kind: str) -> Image.Image:
    """A text-free, softly blurred backdrop (street, shelf, road or desk) with some mottling."""
    sw, sh = max(16, width // 3), max(16, height // 3)
    small = Image.new("RGB", (sw, sh))
    draw = ImageDraw.Draw(small)

    def jitter(c: Colour, amount: int = 25) -> Colour:
        return tuple(min(255, max(0, v + rng.randint(-amount, amount))) for v in c)  # type: ignore[return-value]

    if kind == "street":
        draw.rectangle((0, 0, sw, sh), fill=jitter((170, 160, 150), 50))
        draw.rectangle((0, 0, sw, int(sh * rng.uniform(0.05, 0.3))), fill=jitter((170, 200, 230), 30))
        for _ in range(rng.randint(4, 12)):
            x, y = rng.randrange(sw), rng.randrange(sh)
            draw.rectangle((x, y, x + rng.randint(4, sw // 3), y + rng.randint(4, sh // 3)),
                           fill=jitter(rng.choice(((60, 70, 90), (200, 190, 170), (120, 60, 50), (90, 90, 90))), 30))
        if rng.random() < 0.6:  # a grid of windows
            pane, step = rng.randint(4, 10), rng.randint(12, 24)
            glass = jitter((70, 90, 110), 30)
            for x in range(rng.randint(0, step), sw, step):
                for y in range(rng.randint(0, step), sh, step):
                    draw.rectangle((x, y, x + pane, y + pane * 2 // 3), fill=glass)
    elif kind == "shelf":
        draw.rectangle((0, 0, sw, sh), fill=jitter((200, 200, 195), 40))
        for _ in range(rng.randint(8, 24)):
            x, y = rng.randrange(sw), rng.randrange(sh)
            draw.rectangle((x, y, x + rng.randint(3, sw // 5), y + rng.randint(5, sh // 3)),
                           fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        for k in range(1, 4):
            y = int(sh * k / 4)
            draw.rectangle((0, y, sw, y + max(1, sh // 30)), fill=jitter((235, 235, 235), 15))
    elif kind == "road":
        horizon = int(sh * rng.uniform(0.55, 0.8))
        draw.rectangle((0, 0, sw, horizon), fill=jitter((150, 190, 230), 40))
        draw.rectangle((0, horizon, sw, sh), fill=jitter((95, 95, 100), 20))
        for _ in range(rng.randint(3, 10)):
            x, y, r = rng.randrange(sw), rng.randint(horizon // 2, horizon), rng.randint(3, sw // 6)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=jitter((60, 110, 50), 30))
        for k in range(rng.randint(0, 3)):  # lane markings
            x = rng.randrange(sw)
            draw.line((x, sh, x + rng.randint(-sw // 4, sw // 4), horizon), fill=(220, 220, 200), width=2)
    else:  # desk
        draw.rectangle((0, 0, sw, sh), fill=jitter(rng.choice(((140, 100, 60), (90, 90, 95), (200, 190, 170))), 30))
        for k in range(0, sh, 3):
            draw.line((0, k, sw, k), fill=jitter((120, 90, 60), 15), width=1)
    small = small.filter(ImageFilter.GaussianBlur(0.8))
    mottle = noise.normal(0.0, rng.uniform(2, 8), size=(max(2, height // 24), max(2, width // 24), 1))
    mottle_image = Image.fromarray(np.clip(mottle[:, :, 0] + 128, 0, 255).astype(np.uint8), "L")
    mottle_full = np.asarray(mottle_image.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32) - 128
    base = np.asarray(small.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)
    return Image.fromarray(np.clip(base + mottle_full[:, :, None] + 0.5, 0, 255).astype(np.uint8), "RGB")


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination in plain floats (bit-identical everywhere, unlike LAPACK)."""
    n = len(b)
    m = [row[:] + [b[k]] for k, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col and m[r][col] != 0.0:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col])]
    return [m[k][n] / m[k][k] for k in range(n)]


def homography(src: Sequence[Point], dst: Sequence[Point]) -> Matrix:
    """The 3x3 projective map taking the four ``src`` points to the four ``dst`` points."""
    a: list[list[float]] = []
    b: list[float] = []
    for (x, y), (u, v) in zip(src, dst):
        a.append([x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y])
        b.append(u)
        a.append([0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y])
        b.append(v)
    h = _solve(a, b)
    return [h[0:3], h[3:6], [h[6], h[7], 1.0]]


def apply_homography(h: Matrix, points: Sequence[Point]) -> list[Point]:
    out = []
    for x, y in points:
        w = h[2][0] * x + h[2][1] * y + h[2][2]
        out.append(((h[0][0] * x + h[0][1] * y + h[0][2]) / w, (h[1][0] * x + h[1][1] * y + h[1][2]) / w))
    return out


def _inverse(h: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, i, j) = h
    det = a * (e * j - f * i) - b * (d * j - f * g) + c * (d * i - e * g)
    adj = [[e * j - f * i, c * i - b * j, b * f - c * e],
           [f * g - d * j, a * j - c * g, c * d - a * f],
           [d * i - e * g, b * g - a * i, a * e - b * d]]
    return [[v / det for v in row] for row in adj]


def pillow_coefficients(image_to_source: Matrix) -> tuple[float, ...]:
    """Pillow's PERSPECTIVE data: the map from output pixels back to source pixels, h33 = 1."""
    n = image_to_source[2][2]
    return tuple(image_to_source[r][c] / n for r in range(3) for c in range(3))[:8]


def _placement(rng: random.Random, width: int, height: int, slot: Box) -> Matrix:
    """A homography putting a ``width`` x ``height`` object inside ``slot``, turned and in perspective."""
    sx0, sy0, sx1, sy1 = slot
    wild = rng.random() < 0.15
    angle = math.radians(rng.uniform(-25, 25) if wild else max(-12.0, min(12.0, rng.gauss(0, 4))))
    keystone_x = rng.uniform(-0.18, 0.18) if rng.random() < 0.6 else 0.0
    keystone_y = rng.uniform(-0.1, 0.1) if rng.random() < 0.4 else 0.0
    jitter = [(rng.uniform(-0.02, 0.02) * width, rng.uniform(-0.02, 0.02) * height) for _ in range(4)]
    src = [(0.0, 0.0), (float(width), 0.0), (float(width), float(height)), (0.0, float(height))]
    shape = []
    for k, (x, y) in enumerate(src):
        dx, dy = x - width / 2, y - height / 2
        dy *= 1 + (keystone_x if dx > 0 else -keystone_x) / 2
        dx *= 1 + (keystone_y if dy > 0 else -keystone_y) / 2
        dx, dy = dx + jitter[k][0], dy + jitter[k][1]
        shape.append((dx * math.cos(angle) - dy * math.sin(angle), dx * math.sin(angle) + dy * math.cos(angle)))
    xs, ys = [p[0] for p in shape], [p[1] for p in shape]
    scale = min(1.0, (sx1 - sx0 - 2) / (max(xs) - min(xs)), (sy1 - sy0 - 2) / (max(ys) - min(ys)))
    room_x = (sx1 - sx0) - (max(xs) - min(xs)) * scale
    room_y = (sy1 - sy0) - (max(ys) - min(ys)) * scale
    left = sx0 + rng.uniform(0.15, 0.85) * max(0.0, room_x) - min(xs) * scale
    top = sy0 + rng.uniform(0.15, 0.85) * max(0.0, room_y) - min(ys) * scale
    dst = [(left + x * scale, top + y * scale) for x, y in shape]
    return homography(src, dst)


def _canvas_size(rng: random.Random, landscape: float) -> tuple[int, int]:
    long = rng.randint(*LONG_SIDE)
    short = int(long * rng.uniform(0.62, 0.8))
    return (long, short) if rng.random() < landscape else (short, long)


def _scene(rng: random.Random, fonts: Sequence[FontFace], category: str) -> tuple[int, int, str, list[tuple[_Layer, Box]]]:
    """Canvas size, backdrop kind and the objects with the slot each must stay inside."""
    def fill(slot: Box, lo: float = 0.72, hi: float = 0.9) -> tuple[int, int]:
        return int((slot[2] - slot[0]) * rng.uniform(lo, hi)), int((slot[3] - slot[1]) * rng.uniform(lo, hi))

    objects: list[tuple[_Layer, Box]] = []
    if category == "Signboard":
        width, height = _canvas_size(rng, 0.75)
        mode = rng.random()
        if mode < 0.35:
            split = int(width * rng.uniform(0.18, 0.26))
            vertical_slot, other = ((8, 8, split, height - 8), (split + 8, 8, width - 8, height - 8))
            if rng.random() < 0.5:
                vertical_slot, other = ((width - split, 8, width - 8, height - 8), (8, 8, width - split - 8, height - 8))
            vw, vh = fill(vertical_slot, 0.7, 0.92)
            objects.append((_vertical_sign(rng, fonts, vw, vh), vertical_slot))
            ow, _ = fill(other)
            objects.append((_horizontal_sign(rng, fonts, ow, int(ow / rng.uniform(2.2, 4.0))), other))
        elif mode < 0.6:
            split = int(height * rng.uniform(0.45, 0.6))
            for slot in ((8, 8, width - 8, split - 4), (8, split + 4, width - 8, height - 8)):
                sw, sh = fill(slot)
                objects.append((_horizontal_sign(rng, fonts, sw, min(sh, int(sw / rng.uniform(2.2, 4.5)))), slot))
        else:
            slot = (8, 8, width - 8, height - 8)
            sw, sh = fill(slot)
            objects.append((_horizontal_sign(rng, fonts, sw, min(sh, int(sw / rng.uniform(2.0, 4.0)))), slot))
        return width, height, "street", objects
    if category == "Goods":
        width, height = _canvas_size(rng, 0.6)
        if rng.random() < 0.45:
            split = int(width * rng.uniform(0.6, 0.7))
            label_slot, tag_slot = (8, 8, split - 4, height - 8), (split + 4, height // 2, width - 8, height - 8)
            tw, th = fill(tag_slot, 0.8, 0.95)
            objects.append((_price_tag(rng, fonts, tw, min(th, int(tw * 0.6))), tag_slot))
        else:
            label_slot = (8, 8, width - 8, height - 8)
        lw, lh = fill(label_slot)
        objects.insert(0, (_goods_label(rng, fonts, lw, lh), label_slot))
        return width, height, "shelf", objects
    if category == "Traffic_Sign":
        width, height = _canvas_size(rng, 0.7)
        main_slot = (8, 8, width - 8, int(height * 0.75))
        if rng.random() < 0.35:
            split = int(width * 0.2)
            banner_slot = (width - split, 8, width - 8, height - 8)
            main_slot = (8, 8, width - split - 8, int(height * 0.75))
            bw, bh = fill(banner_slot, 0.6, 0.85)
            words = [w for w in lexicon.TRAFFIC_WORDS if len(w) <= 7]
            objects.append((_vertical_sign(rng, fonts, bw, bh, words), banner_slot))
        mw, mh = fill(main_slot)
        if rng.random() < 0.65:
            sign = _direction_sign(rng, fonts, mw, min(mh, int(mw * rng.uniform(0.45, 0.7))))
        else:
            sign = _warning_sign(rng, fonts, mw, min(mh, int(mw * rng.uniform(0.4, 0.7))))
        objects.insert(0, (sign, main_slot))
        return width, height, "road", objects
    width, height = _canvas_size(rng, 0.35)
    slot = (8, 8, width - 8, height - 8)
    ph = int((height - 16) * rng.uniform(0.85, 0.98))
    pw = min(int(ph * rng.uniform(0.66, 0.76)), int((width - 16) * 0.95))
    objects.append((_book_page(rng, fonts, pw, ph), slot))
    return width, height, "desk", objects


def _finish(image: Image.Image, rng: random.Random, noise: np.random.Generator) -> Image.Image:
    """Camera effects that never move text: lighting, blur, sensor noise, JPEG artefacts."""
    width, height = image.size
    blur = rng.random()
    if blur < 0.6:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    elif blur < 0.7:  # camera shake: a short horizontal or vertical smear
        line = [0.0] * 25
        horizontal = rng.random() < 0.5
        for k in range(5):
            line[10 + k if horizontal else 2 + 5 * k] = 1.0
        image = image.filter(ImageFilter.Kernel((5, 5), line, scale=5))
    pixels = np.asarray(image, dtype=np.float32)
    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None]
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]
    light = rng.uniform(0.8, 1.05) + rng.uniform(-0.3, 0.3) * xs + rng.uniform(-0.3, 0.3) * ys
    cast = np.array([1 + rng.uniform(-0.05, 0.05) for _ in range(3)], dtype=np.float32)
    pixels = pixels * np.clip(light, 0.5, 1.2)[:, :, None] * cast
    pixels += noise.normal(0.0, rng.uniform(1.5, 7.0), size=pixels.shape).astype(np.float32)
    image = Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=rng.randint(30, 85))
    buffer.seek(0)
    with Image.open(buffer) as degraded:
        return degraded.convert("RGB")


def category_of(index: int) -> str:
    """The category of the ``index``-th image (0-based) of every set."""
    return _CATEGORY_CYCLE[index % len(_CATEGORY_CYCLE)]


def stem_of(index: int, count: int) -> str:
    return f"{STEM_PREFIX}{index + 1:0{max(4, len(str(count)))}d}"


def render_sample(seed: int, index: int, fonts: Sequence[FontFace], *, stem: str | None = None,
                  with_masks: bool = False) -> Sample:
    """Draw image ``index`` of the set ``seed``: same arguments, same pixels and words.

    ``with_masks`` also warps each word's ink on its own with the image's transform (used to
    check that every gt polygon sits on its ink).
    """
    rng = random.Random(f"korean-ocr-bench/synth/{seed}/{index}")
    noise = np.random.default_rng(rng.getrandbits(64))
    category = category_of(index)
    width, height, kind, objects = _scene(rng, fonts, category)
    canvas = _background(rng, noise, width, height, kind)
    words: list[SynthWord] = []
    for layer, slot in objects:
        h = _placement(rng, *layer.size, slot)
        coefficients = pillow_coefficients(_inverse(h))
        if kind == "road":  # a pole under the sign, drawn before it so it never covers text
            bottom = apply_homography(h, [(layer.size[0] * 0.5, float(layer.size[1]))])[0]
            pole = max(4, layer.size[0] // 40)
            ImageDraw.Draw(canvas).rectangle((bottom[0] - pole, bottom[1] - 10, bottom[0] + pole, height),
                                             fill=(120, 120, 125))
        warped = layer.rgb.transform((width, height), Image.Transform.PERSPECTIVE, coefficients,
                                     Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))
        alpha = layer.alpha.transform((width, height), Image.Transform.PERSPECTIVE, coefficients,
                                      Image.Resampling.BILINEAR, fillcolor=0)
        canvas.paste(warped, (0, 0), alpha)
        masks = _warp_masks(layer, coefficients, (width, height)) if with_masks else [None] * len(layer.words)
        for ink, mask in zip(layer.words, masks):
            x0, y0, x1, y1 = ink.box
            pad = 1 + min(3, (y1 - y0) // 16)
            corners = [(x0 - pad, y0 - pad), (x1 + pad, y0 - pad), (x1 + pad, y1 + pad), (x0 - pad, y1 + pad)]
            points = [(min(max(x, 0.0), width), min(max(y, 0.0), height)) for x, y in apply_homography(h, corners)]
            words.append(SynthWord(tuple(points), ink.text if ink.care else DONT_CARE, ink.vertical, mask))  # type: ignore[arg-type]
    image = _finish(canvas, rng, noise)
    return Sample(stem or stem_of(index, index + 1), category, image, tuple(words))


def _warp_masks(layer: _Layer, coefficients: tuple[float, ...], size: tuple[int, int]) -> list[WordMask]:
    """Each word's ink pixels (coverage >= 50 %) warped exactly like the image, one label map per object.

    Built from the pixels alone, independently of the gt polygons, so comparing the two checks them.
    """
    labels = Image.new("I", layer.size, 0)
    for k, ink in enumerate(layer.words, start=1):
        cut = min(128, max(1, ink.patch.getextrema()[1] // 2))  # tiny words may never reach 50 %
        solid = ink.patch.point(lambda v: 255 if v >= cut else 0)
        labels.paste(k, (*ink.origin, ink.origin[0] + ink.patch.width, ink.origin[1] + ink.patch.height), solid)
    warped = np.asarray(labels.transform(size, Image.Transform.PERSPECTIVE, coefficients,
                                         Image.Resampling.NEAREST, fillcolor=0))
    masks = []
    for k in range(1, len(layer.words) + 1):
        ys, xs = np.nonzero(warped == k)
        if len(xs) == 0:
            masks.append(WordMask((0, 0), np.zeros((1, 1), dtype=np.uint8)))
            continue
        x0, y0 = int(xs.min()), int(ys.min())
        pixels = np.zeros((int(ys.max()) - y0 + 1, int(xs.max()) - x0 + 1), dtype=np.uint8)
        pixels[ys - y0, xs - x0] = 255
        masks.append(WordMask((x0, y0), pixels))
    return masks


# --- writing a set --------------------------------------------------------------------------

@dataclass
class SetSummary:
    """What ``write_set`` produced, for the CLI's closing line and the tests."""

    out: Path
    images: int = 0
    words: int = 0
    dont_care: int = 0
    vertical: int = 0
    per_category: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def format_summary(summary: SetSummary) -> str:
    """The CLI's closing line: how many images, words, ### and vertical words went where."""
    per_category = ", ".join(f"{name} {count}" for name, count in sorted(summary.per_category.items()))
    return (f"wrote {summary.images} images ({per_category}) with {summary.words} words "
            f"({summary.dont_care} ###, {summary.vertical} vertical) to {summary.out} in {summary.seconds:.1f} s")


def encode_jpeg(image: Image.Image) -> bytes:
    """Fixed quality, no EXIF or timestamps: equal pixels give equal bytes."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    return buffer.getvalue()


def write_set(out: Path | str, count: int, seed: int, *, overwrite: bool = False, progress: bool = True,
              fonts: Sequence[FontFace] | None = None) -> SetSummary:
    """Write ``count`` images to ``OUT/images/<category>/``, gt to ``OUT/gt/`` and ``OUT/categories.csv``.

    Refuses to mix with an earlier set in ``out`` unless ``overwrite`` (which deletes only the
    files such a set consists of), so stale gt can never outlive its image.
    """
    out = Path(out)
    if count < 1:
        raise InputError(f"--images must be at least 1, got {count}")
    if seed < 0:
        raise InputError(f"--seed must be 0 or more, got {seed}")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    existing = existing_outputs(out, "*/*.jpg", (".jpg",), ("categories.csv",))
    refuse_to_mix(out, existing, overwrite)
    faces = tuple(fonts) if fonts is not None else find_korean_fonts()
    remove_outputs(existing)
    ensure_folder(out / "gt")
    summary = SetSummary(out)
    started = time.perf_counter()
    rows: list[tuple[str, str]] = []
    from adapters.core.progress import progress_bar

    with staged():  # the images, gt files and categories.csv appear together, or none does
        for index in progress_bar(range(count), desc="synth", unit="img", enabled=progress, min_items=6):
            stem = stem_of(index, count)
            sample = render_sample(seed, index, faces, stem=stem)
            folder = out / "images" / sample.category
            ensure_folder(folder)
            write_bytes_atomic(folder / f"{stem}.jpg", encode_jpeg(sample.image))
            write_text_atomic(out / "gt" / f"{stem}.txt", "".join(w.gt_line() + "\n" for w in sample.words))
            rows.append((stem, sample.category))
            summary.images += 1
            summary.words += len(sample.words)
            summary.dont_care += sum(not w.care for w in sample.words)
            summary.vertical += sum(w.vertical for w in sample.words)
            summary.per_category[sample.category] = summary.per_category.get(sample.category, 0) + 1
        with atomic_open(out / "categories.csv", "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(("stem", "category"))
            writer.writerows(rows)
    summary.seconds = time.perf_counter() - started
    return summary
