"""Draw what a provider read on top of the image (``bench show``, and the report's worst images).

With ground truth every item gets the colour of its fate at the headline IoU threshold:
matched and read right, matched but read wrong, a gt word nobody found, a prediction that
matches nothing, or something the protocol ignores (don't-care regions, discarded
predictions). A legend strip below the image names the colours and counts them, so the
picture never hides the original pixels. Texts are drawn with a Hangul-capable font.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont, ImageOps

from adapters.core.schema import ImageResult, Point
from eval.evaluate import EvalOptions, MatchRow, evaluate_image
from gt.reader import Word

MATCH, WRONG, MISSED, FALSE, IGNORED, PREDICTION = "match", "wrong_text", "missed", "false", "ignored", "prediction"
COLOURS: dict[str, tuple[int, int, int]] = {
    MATCH: (0, 158, 115),       # green
    WRONG: (230, 120, 0),       # orange
    MISSED: (213, 0, 0),        # red
    FALSE: (0, 90, 200),        # blue
    IGNORED: (140, 140, 140),   # grey
    PREDICTION: (150, 0, 170),  # purple: predictions shown without ground truth
}
LEGEND = {MATCH: "matched, text right", WRONG: "matched, text wrong", MISSED: "missed (gt)",
          FALSE: "false (no gt)", IGNORED: "ignored (don't care / discarded)", PREDICTION: "prediction"}
ERROR_KINDS = (WRONG, MISSED, FALSE)
MAX_DRAW_PIXELS = 50_000_000  # as bench serve's --max-pixels: about 0.8 GB of decoding and drawing at most


@dataclass(frozen=True)
class Mark:
    """One polygon to draw, its colour class and its label."""

    kind: str
    points: tuple[Point, ...]
    label: str = ""


@dataclass
class Overlay:
    """Everything drawn for one image, and what it counted."""

    stem: str
    marks: list[Mark]
    counts: dict[str, int]
    banner: str = ""  # e.g. the provider's error for this image
    unplaced: int = 0  # items that have no geometry (cannot be drawn)

    @property
    def has_errors(self) -> bool:
        return bool(self.banner) or any(self.counts.get(k, 0) for k in ERROR_KINDS)


def marks_from_rows(rows: Sequence[MatchRow], words: Sequence[Word], result: ImageResult | None) -> tuple[list[Mark], int]:
    """Marks for an evaluated image: gt polygons for missed / don't-care words, prediction
    polygons for everything the provider returned. Returns the marks and the undrawable count."""
    by_line = {w.line: w for w in words}
    items = result.items if result is not None and result.is_ok else ()
    marks: list[Mark] = []
    unplaced = 0
    for row in rows:
        if row.kind == "match":
            polygon = items[row.pred_index].polygon
            if row.correct:
                marks.append(Mark(MATCH, polygon, row.pred_text or ""))
            else:
                marks.append(Mark(WRONG, polygon, f"{row.pred_text or ''} ≠ {row.gt_text or ''}"))
        elif row.kind == "missed":
            marks.append(Mark(MISSED, by_line[row.gt_line].points, row.gt_text or ""))
        elif row.kind == "false":
            marks.append(Mark(FALSE, items[row.pred_index].polygon, row.pred_text or ""))
        elif row.kind == "dont_care":
            marks.append(Mark(IGNORED, by_line[row.gt_line].points))
        elif row.kind == "discarded":
            marks.append(Mark(IGNORED, items[row.pred_index].polygon))
        else:  # no_geometry, below_min_score: nothing to place
            unplaced += 1
    # Ignored first, errors last: the important outlines are drawn on top.
    order = {IGNORED: 0, MATCH: 1, WRONG: 2, FALSE: 3, MISSED: 4}
    marks.sort(key=lambda m: order[m.kind])
    return marks, unplaced


def marks_without_gt(result: ImageResult | None) -> tuple[list[Mark], int]:
    items = result.items if result is not None and result.is_ok else ()
    marks = [Mark(PREDICTION, item.polygon, item.text) for item in items if item.polygon]
    return marks, sum(item.polygon is None for item in items)


def build_overlay(stem: str, result: ImageResult | None, words: Sequence[Word] | None,
                  options: EvalOptions = EvalOptions()) -> Overlay:
    """Classify one image's items (evaluating it when gt is given) into marks to draw."""
    if words is not None:
        evaluation = evaluate_image(stem, words, result, options)
        marks, unplaced = marks_from_rows(evaluation.rows, words, result)
    else:
        marks, unplaced = marks_without_gt(result)
    counts: dict[str, int] = {}
    for mark in marks:
        counts[mark.kind] = counts.get(mark.kind, 0) + 1
    banner = ""
    if result is None:
        banner = "no result for this image"
    elif not result.is_ok:
        banner = f"provider error: {result.error}"
    return Overlay(stem, marks, counts, banner, unplaced)


class ImageTooLarge(OSError):
    """More pixels than an overlay is drawn for: decoding and drawing take about 16 bytes a pixel."""


def load_image(path: Path, max_pixels: int = MAX_DRAW_PIXELS) -> Image.Image:
    """The upright RGB image (EXIF orientation applied, as the collector sends it).

    An image over ``max_pixels`` is refused from its header, before anything is decoded (a 23 KB
    PNG of 19,000 x 10,000 pixels once took 3 GB): ``ImageTooLarge``, an ``OSError`` like any
    unreadable image.
    """
    try:
        opened = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from None
    with opened:
        width, height = opened.size
        if width * height > max_pixels:
            raise ImageTooLarge(f"{width:,} x {height:,} pixels, more than the {max_pixels:,} an overlay is drawn "
                                "for; downscale the image to draw it")
        return ImageOps.exif_transpose(opened).convert("RGB")


def _font(font_path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path, size)


def _label(draw: ImageDraw.ImageDraw, mark: Mark, font: ImageFont.FreeTypeFont, size: tuple[int, int]) -> None:
    xs = [x for x, _ in mark.points]
    ys = [y for _, y in mark.points]
    left, top, right, bottom = draw.textbbox((0, 0), mark.label, font=font)
    w, h = right - left + 6, bottom - top + 4
    x = min(max(0, min(xs)), max(0, size[0] - w))
    y = min(ys) - h - 1
    if y < 0:
        y = min(max(ys) + 1, size[1] - h)
    colour = COLOURS[mark.kind]
    draw.rectangle((x, y, x + w, y + h), fill=colour)
    draw.text((x + 3 - left, y + 2 - top), mark.label, font=font, fill=(255, 255, 255))


def render(image: Image.Image, overlay: Overlay, font_path: str, labels: bool = True) -> Image.Image:
    """The image with the overlay's polygons and labels, plus a legend strip below it."""
    image = image.convert("RGB")
    width, height = image.size
    short = min(width, height)
    line = max(2, round(short / 300))
    text_size = max(12, min(32, round(short / 40)))
    canvas = image.copy()
    draw = ImageDraw.Draw(canvas)
    font = _font(font_path, text_size)
    for mark in overlay.marks:
        points = [(float(x), float(y)) for x, y in mark.points]
        if len(points) >= 2:
            draw.line(points + [points[0]], fill=COLOURS[mark.kind], width=line, joint="curve")
    if labels:
        for mark in overlay.marks:
            if mark.label and mark.kind != IGNORED and len(mark.points) >= 2:
                _label(draw, mark, font, canvas.size)
    return _with_legend(canvas, overlay, font_path, text_size)


def _with_legend(canvas: Image.Image, overlay: Overlay, font_path: str, text_size: int) -> Image.Image:
    legend_size = max(14, text_size)
    font = _font(font_path, legend_size)
    kinds = [k for k in (MATCH, WRONG, MISSED, FALSE, IGNORED, PREDICTION) if overlay.counts.get(k)]
    entries = [(COLOURS[k], f"{LEGEND[k]}: {overlay.counts.get(k, 0)}") for k in kinds]
    notes = [overlay.banner] if overlay.banner else []
    if overlay.unplaced:
        notes.append(f"{overlay.unplaced} item(s) without geometry or below --min-score not drawn")
    if not entries and not notes:
        notes.append("nothing to draw: no predictions and no ground truth")
    row_h = legend_size + 10
    probe = ImageDraw.Draw(canvas)
    rows: list[list[tuple[tuple[int, int, int], str]]] = [[]]
    x = 8
    for colour, text in entries:  # wrap entries over as many rows as the width needs
        w = row_h + probe.textlength(text, font=font) + 20
        if rows[-1] and x + w > canvas.width:
            rows.append([])
            x = 8
        rows[-1].append((colour, text))
        x += w
    n_rows = (len(rows) if entries else 0) + len(notes)
    out = Image.new("RGB", (canvas.width, canvas.height + n_rows * row_h + 8), (255, 255, 255))
    out.paste(canvas, (0, 0))
    draw = ImageDraw.Draw(out)
    y = canvas.height + 4
    if entries:
        for row in rows:
            x = 8
            for colour, text in row:
                draw.rectangle((x, y + 3, x + row_h - 8, y + row_h - 5), fill=colour)
                draw.text((x + row_h, y + 2), text, font=font, fill=(0, 0, 0))
                x += row_h + probe.textlength(text, font=font) + 20
            y += row_h
    for note in notes:
        draw.text((8, y + 2), note, font=font, fill=(160, 0, 0))
        y += row_h
    return out


def encode(image: Image.Image, fmt: str = "PNG", max_side: int | None = None, quality: int = 85) -> bytes:
    """Image bytes, optionally shrunk so the longer side is at most ``max_side`` (for the HTML page)."""
    if max_side and max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if fmt.upper() == "JPEG":
        image.save(buffer, "JPEG", quality=quality)
    else:
        image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()
