"""Draw what a provider read on top of the image (``bench show``, and the report's worst images).

With ground truth every item gets the colour of its fate at the headline IoU threshold:
matched and read right, matched but read wrong, a gt word nobody found, a prediction that
matches nothing, or something the protocol ignores (don't-care regions, discarded
predictions). A legend strip below the image names the colours and counts them, so the
picture never hides the original pixels. Texts are drawn with a Hangul-capable font.

On a dense page, every label drawn makes a pile: with ``fit=True`` (the report's overlays) a
label is drawn only where it covers neither another label nor another item's box, errors
first, and the report shows every text on hover instead. ``bench show`` keeps drawing every
label: its PNGs are looked at one by one, at full size, with ``--no-labels`` for boxes alone.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import shapely
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


Box = tuple[float, float, float, float]  # left, top, right, bottom
# Which labels a crowded page keeps: what went wrong first, correct reads last.
LABEL_PRIORITY = {WRONG: 0, MISSED: 1, FALSE: 2, PREDICTION: 3, MATCH: 4}
COVER = 0.05  # the share of another item's box a fitted label may cover


def _label_size(draw: ImageDraw.ImageDraw, mark: Mark, font: ImageFont.FreeTypeFont) -> tuple[int, int, int, int]:
    """A label's width and height with its padding, and the text's own offset."""
    left, top, right, bottom = draw.textbbox((0, 0), mark.label, font=font)
    return right - left + 6, bottom - top + 4, left, top


def _draw_label(draw: ImageDraw.ImageDraw, mark: Mark, font: ImageFont.FreeTypeFont, box: Box,
                offset: tuple[int, int]) -> None:
    draw.rectangle(box, fill=COLOURS[mark.kind])
    draw.text((box[0] + 3 - offset[0], box[1] + 2 - offset[1]), mark.label, font=font, fill=(255, 255, 255))


def _label(draw: ImageDraw.ImageDraw, mark: Mark, font: ImageFont.FreeTypeFont, size: tuple[int, int]) -> None:
    """A label above its box (below when there is no room above), whatever it covers."""
    xs = [x for x, _ in mark.points]
    ys = [y for _, y in mark.points]
    w, h, left, top = _label_size(draw, mark, font)
    x = min(max(0, min(xs)), max(0, size[0] - w))
    y = min(ys) - h - 1
    if y < 0:
        y = min(max(ys) + 1, size[1] - h)
    _draw_label(draw, mark, font, (x, y, x + w, y + h), (left, top))


def _label_places(mark: Mark, w: float, h: float, size: tuple[int, int]) -> list[Box]:
    """Where a label may go: just above its box, else just below it, inside the canvas."""
    xs = [x for x, _ in mark.points]
    ys = [y for _, y in mark.points]
    x = min(max(0, min(xs)), max(0, size[0] - w))
    return [(x, y, x + w, y + h) for y in (min(ys) - h - 1, max(ys) + 1) if 0 <= y <= size[1] - h]


def _outline(points: Sequence[Point]) -> shapely.Geometry:
    """The area an item covers: the convex hull of its points (valid even for a bow-tie quad)."""
    return shapely.convex_hull(shapely.MultiPoint([(float(x), float(y)) for x, y in points]))


def fit_labels(marks: Sequence[Mark], sizes: Sequence[tuple[float, float]],
               canvas: tuple[int, int]) -> list[Box | None]:
    """Where each mark's label goes when it fits, else None.

    Greedy, in :data:`LABEL_PRIORITY` order: a label takes the first of its places (above, then
    below its box) that is inside the canvas, overlaps no label already placed and covers at most
    :data:`COVER` of any other item's box (a sliver of a neighbour, or a corner of a huge false
    box, but never a word), so labels never hide each other or the text they are about. ``sizes`` are
    the labels' (width, height) in pixels; ignored items and marks without a label get None.
    """
    outlines = [_outline(m.points) if len(m.points) >= 2 else None for m in marks]
    tree = shapely.STRtree([o if o is not None else shapely.Point() for o in outlines])
    placed: list[Box] = []
    out: list[Box | None] = [None] * len(marks)
    order = sorted((i for i, m in enumerate(marks) if m.label and m.kind in LABEL_PRIORITY and outlines[i] is not None),
                   key=lambda i: LABEL_PRIORITY[marks[i].kind])
    for i in order:
        w, h = sizes[i]
        for box in _label_places(marks[i], w, h, canvas):
            if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                continue
            rect = shapely.box(*box)
            others = (j for j in tree.query(rect, predicate="intersects") if j != i and outlines[j] is not None)
            if any(outlines[j].intersection(rect).area > COVER * outlines[j].area for j in others):
                continue
            out[i] = box
            placed.append(box)
            break
    return out


def draw_overlay(image: Image.Image, overlay: Overlay, font_path: str, labels: bool = True,
                 fit: bool = False) -> tuple[Image.Image, int]:
    """What :func:`render` draws, and how many labels it drew. ``fit``: only the labels that
    fit (:func:`fit_labels`); else every label."""
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
    drawn = 0
    if labels and fit:
        measured = [_label_size(draw, m, font) if m.label else (0, 0, 0, 0) for m in overlay.marks]
        boxes = fit_labels(overlay.marks, [(w, h) for w, h, _, _ in measured], canvas.size)
        for mark, box, (_, _, left, top) in zip(overlay.marks, boxes, measured):
            if box is not None:
                _draw_label(draw, mark, font, box, (left, top))
                drawn += 1
    elif labels:
        for mark in overlay.marks:
            if mark.label and mark.kind != IGNORED and len(mark.points) >= 2:
                _label(draw, mark, font, canvas.size)
                drawn += 1
    return _with_legend(canvas, overlay, font_path, text_size), drawn


def render(image: Image.Image, overlay: Overlay, font_path: str, labels: bool = True, fit: bool = False) -> Image.Image:
    """The image with the overlay's polygons and labels, plus a legend strip below it."""
    return draw_overlay(image, overlay, font_path, labels, fit)[0]


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
