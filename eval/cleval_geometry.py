"""Vectorised geometry for CLEval: box shape, pseudo-character centres, containment and overlap.

Everything here works on whole arrays of boxes at once so that an image costs a handful of numpy
and shapely 2 calls rather than a Python loop per (ground truth, detection) pair. Each formula
follows the floating-point order of the reference ``cleval`` 0.1.1 package, because CLEval's
decisions are threshold tests (area precision >= 0.3, a point inside a box) where the last bit
can matter:

* shape (aspect ratio, pseudo-character centres) is computed from the points as given;
* area, overlap and point-in-polygon use the points truncated to integers, as the package's
  ``QUAD`` does before it builds its polygon;
* a self-intersecting outline is filled by the even-odd rule (what the package's polygon clipper
  does), while a box's own area is the absolute shoelace sum (what the package's ``area()`` does).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

#: Margin (in pixels) added around each box before the cheap bounding-box pre-filter, so that no
#: point the exact even-odd test would count as inside is dropped by rounding in the pre-filter.
_BBOX_MARGIN = 1.0


def _shift(a: np.ndarray, by: int) -> np.ndarray:
    """``np.roll(a, -by, axis=1)`` (element i takes element i + by, cyclically), cheaper."""
    index = (np.arange(a.shape[1]) + by) % a.shape[1]
    return a[:, index]


def width_groups(widths: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """``(width, row indices)`` for each distinct padded width.

    Polygons of several images are padded to the widest of the batch, but a row sum over a
    padded axis is not the same float once the axis reaches 8 (numpy then sums pairwise): every
    sum that depends on a width is taken at the width the image alone would have had.
    """
    if len(widths) and (widths == widths[0]).all():
        return [(int(widths[0]), np.arange(len(widths)))]
    return [(int(w), np.flatnonzero(widths == w)) for w in np.unique(widths)]


def as_points(polygon: Sequence | np.ndarray) -> np.ndarray:
    """An ``(n, 2)`` float64 array from a sequence of (x, y) points or a flat x1, y1, ... list."""
    points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(points) < 3:
        raise ValueError(f"a CLEval box needs at least 3 points, got {len(points)}")
    if not np.isfinite(points).all():
        raise ValueError("a CLEval box has a non-finite coordinate")
    return points


def as_point_arrays(polygons: Sequence) -> list[np.ndarray]:
    """``as_points`` for every box, in one conversion when they all have the same shape."""
    if len(polygons) == 0:
        return []
    try:
        stacked = np.asarray(polygons, dtype=np.float64)
    except (ValueError, TypeError):
        return [as_points(p) for p in polygons]
    if stacked.dtype == object or stacked.ndim < 2:
        return [as_points(p) for p in polygons]
    stacked = stacked.reshape(len(polygons), -1, 2)
    if stacked.shape[1] < 3:
        raise ValueError(f"a CLEval box needs at least 3 points, got {stacked.shape[1]}")
    if not np.isfinite(stacked).all():
        raise ValueError("a CLEval box has a non-finite coordinate")
    return list(stacked)


def padded_points(polygons: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """``pad_polygons(as_point_arrays(polygons))`` and each polygon's point count, faster.

    Polygons with the same number of entries are converted in one numpy call, so a batch of
    4-point boxes with a few other outlines among them is not converted box by box; anything
    irregular goes through ``as_points`` one by one (which says what is wrong).
    """
    if len(polygons) == 0:
        return np.zeros((0, 4, 2)), np.zeros(0, dtype=np.int64)
    stacked = _stacked_points(polygons)
    if stacked is not None:
        return stacked, np.full(len(polygons), stacked.shape[1], dtype=np.int64)
    by_size: dict[int, list[int]] = {}
    for index, polygon in enumerate(polygons):
        by_size.setdefault(len(polygon), []).append(index)
    parts = []
    for rows in by_size.values():
        part = _stacked_points([polygons[i] for i in rows])
        if part is None:
            points = as_point_arrays(polygons)
            return pad_polygons(points), np.fromiter(map(len, points), dtype=np.int64, count=len(points))
        parts.append((np.array(rows), part))
    out = np.empty((len(polygons), max(part.shape[1] for _, part in parts), 2))
    counts = np.empty(len(polygons), dtype=np.int64)
    for rows, part in parts:
        out[rows, :part.shape[1]] = part
        out[rows, part.shape[1]:] = part[:, -1:]
        counts[rows] = part.shape[1]
    return out, counts


def _stacked_points(polygons: Sequence) -> np.ndarray | None:
    """``(N, V, 2)`` float64 points when the polygons convert together into good boxes, else None."""
    try:
        stacked = np.asarray(polygons, dtype=np.float64)
    except (ValueError, TypeError):
        return None
    if stacked.dtype == object or stacked.ndim < 2 or stacked[0].size % 2:
        return None
    stacked = stacked.reshape(len(polygons), -1, 2)
    if stacked.shape[1] < 3 or not np.isfinite(stacked).all():
        return None
    return stacked


def reference_quads_of(padded: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``reference_quads`` of the polygons ``padded_points`` gave."""
    if len(padded) and padded.shape[1] == 4 and (counts == 4).all():
        return padded.copy()
    quads = np.empty((len(padded), 4, 2), dtype=np.float64)
    four = counts == 4
    if four.any():
        quads[four] = padded[four, :4]
    for index in np.flatnonzero(~four).tolist():
        quads[index] = _rectangle_quad(padded[index, :counts[index]])
    return quads


def reference_quads(polygons: Sequence[np.ndarray]) -> np.ndarray:
    """One quad ``(N, 4, 2)`` per box that its shape (aspect ratio, character centres) is read from.

    A 4-point box is its own reference quad, first point top-left, clockwise, as in ICDAR files.
    Any other box (3 points, or 5 and more) uses its minimum rotated rectangle with the long side
    first, pointing right (or down), so that its characters run along its long axis. The package
    has no rule for such boxes (its ``POLY`` type fails before scoring), so this is our extension.
    """
    if len(polygons) and all(len(p) == 4 for p in polygons):
        return np.array(polygons, dtype=np.float64).reshape(-1, 4, 2)
    quads = np.empty((len(polygons), 4, 2), dtype=np.float64)
    for index, points in enumerate(polygons):
        quads[index] = points if len(points) == 4 else _rectangle_quad(points)
    return quads


def _rectangle_quad(points: np.ndarray) -> np.ndarray:
    """The minimum rotated rectangle of ``points`` as a quad whose first side is its long side."""
    rect = shapely.minimum_rotated_rectangle(shapely.multipoints(points))
    coords = np.asarray(shapely.get_coordinates(rect), dtype=np.float64)
    if len(coords) < 4:  # collinear or a single point: a rectangle of width zero
        first, last = coords[0], coords[-1]
        return np.array([first, last, last, first])
    corners = coords[:4]
    side_a, side_b = corners[1] - corners[0], corners[2] - corners[1]
    long_side, short_side = (side_a, side_b) if np.hypot(*side_a) >= np.hypot(*side_b) else (side_b, side_a)
    if long_side[0] < 0 or (long_side[0] == 0 and long_side[1] < 0):
        long_side = -long_side
    if short_side[1] < 0 or (short_side[1] == 0 and short_side[0] > 0):
        short_side = -short_side
    start = corners[np.argmin(corners @ long_side + corners @ short_side)]
    return np.array([start, start + long_side, start + long_side + short_side, start + short_side])


def aspect_ratios(quads: np.ndarray) -> np.ndarray:
    """Mean horizontal side over mean vertical side, ``(top+bottom)/2 / (left+right)/2``.

    The ``1e-5`` terms keep a degenerate box finite, as in the package.
    """
    def side(a: int, b: int) -> np.ndarray:
        dx = np.abs(quads[:, a, 0] - quads[:, b, 0])
        dy = np.abs(quads[:, a, 1] - quads[:, b, 1])
        return np.sqrt(dx * dx + dy * dy)

    avg_hor = (side(0, 1) + side(2, 3)) / 2
    avg_ver = (side(1, 2) + side(3, 0)) / 2
    return (avg_hor + 1e-5) / (avg_ver + 1e-5)


def pseudo_lengths(ratios: np.ndarray) -> np.ndarray:
    """How many characters a don't-care box stands for: its elongation, rounded, at most 10."""
    return np.minimum(np.round(0.5 + np.maximum(ratios, 1 / ratios)), 10).astype(np.int64)


def false_positive_lengths(ratios: np.ndarray) -> np.ndarray:
    """How many characters an unmatched detection is charged with (the package's formula).

    It uses ``1 / aspect ratio``, so a wide box counts as one character and only a tall one more;
    kept as is because it decides the detection precision denominator.
    """
    return np.minimum(np.round(0.5 + 1 / (1e-5 + ratios)), 10).astype(np.int64)


def pseudo_character_centres(quads: np.ndarray, lengths: np.ndarray, ratios: np.ndarray,
                             vertical_threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evenly spaced centres, one per character, along the mid-line of each box.

    Returns ``(points (P, 2), owner box index (P,), character index within its box (P,))``.
    A box narrower than ``vertical_threshold`` (aspect ratio) is read top to bottom: its corners
    are turned a quarter so that its "left" side is its top.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    turned = np.where((ratios < vertical_threshold)[:, None, None], quads[:, [3, 0, 1, 2]], quads)
    left_top, right_top, right_bottom, left_bottom = (turned[:, k] for k in range(4))
    start = (left_top + left_bottom) / 2
    end = (right_top + right_bottom) / 2
    owner = np.repeat(np.arange(len(quads)), lengths)
    if len(owner) == 0:
        return np.empty((0, 2)), owner, owner.copy()
    first = np.cumsum(lengths) - lengths
    index = np.arange(len(owner)) - np.repeat(first, lengths)
    safe = np.maximum(lengths, 1)[:, None]
    unit = ((end - start) / safe)[owner]
    points = start[owner] + unit / 2 + unit * index[:, None].astype(np.float64)
    return points, owner, index


def pad_polygons(polygons: Sequence[np.ndarray]) -> np.ndarray:
    """Stack polygons into ``(N, V, 2)``, repeating each one's last vertex up to ``V``.

    A repeated vertex adds a zero-length edge, which changes neither area nor containment.
    """
    width = max((len(p) for p in polygons), default=4)
    if all(len(p) == width for p in polygons):
        return np.array(polygons, dtype=np.float64).reshape(-1, width, 2)
    out = np.empty((len(polygons), width, 2), dtype=np.float64)
    for index, points in enumerate(polygons):
        out[index, :len(points)] = points
        out[index, len(points):] = points[-1]
    return out


def shoelace_areas(padded: np.ndarray, widths: np.ndarray | None = None) -> np.ndarray:
    """Absolute shoelace area of each outline (no even-odd fill: a bow-tie's lobes cancel).

    ``widths``: each outline's own padded width (``width_groups``), when rows of several
    images share one array.
    """
    if len(padded) == 0:
        return np.zeros(0)
    if widths is not None and (widths != padded.shape[1]).any():
        areas = np.empty(len(padded))
        for width, rows in width_groups(widths):
            areas[rows] = shoelace_areas(padded[rows, :width])
        return areas
    x, y = padded[..., 0], padded[..., 1]
    x_next, y_next = _shift(x, 1), _shift(y, 1)
    return 0.5 * np.abs(((x + x_next) * (y_next - y)).sum(axis=1))


def bounding_boxes(padded: np.ndarray) -> np.ndarray:
    """``(N, 4)`` min x, min y, max x, max y."""
    if len(padded) == 0:
        return np.zeros((0, 4))
    return np.concatenate([padded.min(axis=1), padded.max(axis=1)], axis=1)


def candidate_pairs(boxes_a: np.ndarray, boxes_b: np.ndarray, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) whose bounding boxes touch or overlap (``margin`` widens ``boxes_b``)."""
    if len(boxes_a) == 0 or len(boxes_b) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    if len(boxes_a) * len(boxes_b) <= 250_000:
        hit = ((boxes_a[:, None, 0] <= boxes_b[None, :, 2] + margin)
               & (boxes_b[None, :, 0] - margin <= boxes_a[:, None, 2])
               & (boxes_a[:, None, 1] <= boxes_b[None, :, 3] + margin)
               & (boxes_b[None, :, 1] - margin <= boxes_a[:, None, 3]))
        rows, cols = np.nonzero(hit)
        return rows.astype(np.int64), cols.astype(np.int64)
    grown = boxes_b + np.array([-margin, -margin, margin, margin])
    tree = shapely.STRtree(shapely.box(*grown.T))
    rows, cols = tree.query(shapely.box(*boxes_a.T))
    return rows.astype(np.int64), cols.astype(np.int64)


def grouped_candidate_pairs(boxes_a: np.ndarray, group_a: np.ndarray, boxes_b: np.ndarray,
                            group_b: np.ndarray, limit: int = 1_000_000) -> tuple[np.ndarray, np.ndarray]:
    """``candidate_pairs`` of each group (image) at once: pairs never cross groups.

    Both sides must be sorted by group. Within a group the pairs come in the order
    ``candidate_pairs`` gives them, which matters where they are unioned in that order.
    """
    empty = np.zeros(0, dtype=np.int64)
    if len(boxes_a) == 0 or len(boxes_b) == 0:
        return empty, empty.copy()
    n = int(max(group_a.max(), group_b.max())) + 1
    count_a, count_b = np.bincount(group_a, minlength=n), np.bincount(group_b, minlength=n)
    start_a, start_b = np.cumsum(count_a) - count_a, np.cumsum(count_b) - count_b
    big = count_a * count_b > 250_000  # candidate_pairs uses a tree there: its order, so call it
    spans = np.where(big[group_a], 0, count_b[group_a])
    if spans.sum() > limit:
        big[:] = True
        spans[:] = 0
    rows = np.repeat(np.arange(len(boxes_a)), spans)
    cols = np.repeat(start_b[group_a], spans) + np.arange(len(rows)) - np.repeat(np.cumsum(spans) - spans, spans)
    a, b = boxes_a[rows], boxes_b[cols]
    hit = (a[:, 0] <= b[:, 2]) & (b[:, 0] <= a[:, 2]) & (a[:, 1] <= b[:, 3]) & (b[:, 1] <= a[:, 3])
    parts_r, parts_c = [rows[hit]], [cols[hit]]
    for g in np.flatnonzero(big & (count_a > 0) & (count_b > 0)).tolist():
        r, c = candidate_pairs(boxes_a[start_a[g]:start_a[g] + count_a[g]], boxes_b[start_b[g]:start_b[g] + count_b[g]])
        parts_r.append(r + start_a[g])
        parts_c.append(c + start_b[g])
    return np.concatenate(parts_r), np.concatenate(parts_c)


def _sweep_keys(point_y: np.ndarray, low: np.ndarray, high: np.ndarray, point_group: np.ndarray | None,
                box_group: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort keys for the points and the boxes' y ranges: the y values themselves, or, with groups,
    ``group * size + rank of y`` (integers ordered as (group, y) are, ties kept)."""
    if point_group is None or box_group is None:
        return point_y, low, high
    _, rank = np.unique(np.concatenate([point_y, low, high]), return_inverse=True)
    size = len(rank) + 1
    p, b = len(point_y), len(low)
    return (point_group * size + rank[:p], box_group * size + rank[p:p + b], box_group * size + rank[p + b:])


def points_near_boxes(points: np.ndarray, boxes: np.ndarray, margin: float, point_group: np.ndarray | None = None,
                      box_group: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(point, box) pairs with the point in the box grown by ``margin``: a sweep over the points
    sorted by y (text lines are flat, so a box's y range holds few points), then an x filter.
    With groups (images), only a point and a box of the same group make a pair."""
    point_key, low_key, high_key = _sweep_keys(points[:, 1], boxes[:, 1] - margin, boxes[:, 3] + margin,
                                               point_group, box_group)
    order = np.argsort(point_key, kind="stable")
    ys = point_key[order]
    low = np.searchsorted(ys, low_key, side="left")
    high = np.searchsorted(ys, high_key, side="right")
    spans = np.maximum(high - low, 0)
    box_idx = np.repeat(np.arange(len(boxes)), spans)
    offset = np.arange(len(box_idx)) - np.repeat(np.cumsum(spans) - spans, spans)
    point_idx = order[np.repeat(low, spans) + offset]
    x = points[point_idx, 0]
    keep = (x >= boxes[box_idx, 0] - margin) & (x <= boxes[box_idx, 2] + margin)
    return point_idx[keep], box_idx[keep]


def points_inside(points: np.ndarray, padded: np.ndarray, point_group: np.ndarray | None = None,
                  poly_group: np.ndarray | None = None, bounds: np.ndarray | None = None,
                  counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All (point index, polygon index) pairs with the point inside the polygon (even-odd rule),
    of the same group (image) when groups are given (``bounds``: the polygons' bounding boxes,
    and ``counts``: their numbers of points, if already known).

    The test is the classic crossing-number one with the same half-open edge rule and the same
    arithmetic as the package's polygon library, so a point exactly on an edge is decided the
    same way (inside on a left or top edge, outside on a right or bottom one, for a plain box).
    """
    if len(points) == 0 or len(padded) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    bounds = bounding_boxes(padded) if bounds is None else bounds
    point_idx, poly_idx = points_near_boxes(points, bounds, _BBOX_MARGIN, point_group, poly_group)
    if len(point_idx) == 0:
        return point_idx, poly_idx
    if counts is None:
        inside = _odd_crossings(points[point_idx], padded[poly_idx])
    else:  # a padding vertex only adds edges of length zero, which never cross: test each at its own size
        inside = np.empty(len(point_idx), dtype=bool)
        for width, rows in width_groups(counts[poly_idx]):
            inside[rows] = _odd_crossings(points[point_idx[rows]], padded[poly_idx[rows], :width])
    return point_idx[inside], poly_idx[inside]


def _odd_crossings(points: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Whether each point is inside its polygon: an odd number of edges crossed to its right."""
    x, y = points[:, 0][:, None], points[:, 1][:, None]
    xi, yi = polygons[..., 0], polygons[..., 1]
    xj, yj = _shift(xi, -1), _shift(yi, -1)
    spans = ((yi <= y) & (y < yj)) | ((yj <= y) & (y < yi))
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing_x = (xj - xi) * (y - yi) / (yj - yi) + xi
    crossings = spans & (x < crossing_x)
    return (crossings.sum(axis=1) % 2) == 1


def even_odd_geometries(padded: np.ndarray) -> np.ndarray:
    """Shapely polygons for the outlines, filled by the even-odd rule where they cross themselves."""
    if len(padded) == 0:
        return np.empty(0, dtype=object)
    geoms = shapely.polygons(padded)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.make_valid(geoms[invalid], method="linework")
    return geoms


class LazyGeometries:
    """Shapely polygons for outlines, built on first use: most pairs of boxes never need one.

    ``widths`` (default: the array's) is each outline's own padded width: a polygon is built from
    the points its image alone would have given it, repeated last vertices included.
    """

    def __init__(self, outlines: np.ndarray, widths: np.ndarray | None = None) -> None:
        self.outlines = outlines
        self.widths = np.full(len(outlines), outlines.shape[1] if outlines.ndim == 3 else 4) if widths is None else widths
        self.geoms = np.empty(len(outlines), dtype=object)
        self.built = np.zeros(len(outlines), dtype=bool)

    def __getitem__(self, index: np.ndarray) -> np.ndarray:
        index = np.asarray(index, dtype=np.int64)
        missing = np.unique(index[~self.built[index]])
        if len(missing):
            for width, rows in width_groups(self.widths[missing]):
                self.geoms[missing[rows]] = even_odd_geometries(self.outlines[missing[rows], :width])
            self.built[missing] = True
        return self.geoms[index]

    def replace(self, index: np.ndarray, geoms: np.ndarray) -> None:
        """Use ``geoms`` for ``index`` from now on (a don't-care region less the words in it)."""
        self.geoms[index] = geoms
        self.built[index] = True


def axis_aligned(padded: np.ndarray) -> np.ndarray:
    """Which 4-point outlines are rectangles with sides parallel to the axes."""
    if len(padded) == 0 or padded.shape[1] != 4:
        return np.zeros(len(padded), dtype=bool)
    x, y = padded[..., 0], padded[..., 1]
    clockwise = (y[:, 0] == y[:, 1]) & (x[:, 1] == x[:, 2]) & (y[:, 2] == y[:, 3]) & (x[:, 3] == x[:, 0])
    turned = (x[:, 0] == x[:, 1]) & (y[:, 1] == y[:, 2]) & (x[:, 2] == x[:, 3]) & (y[:, 3] == y[:, 0])
    return clockwise | turned


def convex_quads(padded: np.ndarray) -> np.ndarray:
    """Which outlines are strictly convex quads (every turn the same way, none straight)."""
    if len(padded) == 0 or padded.shape[1] != 4:
        return np.zeros(len(padded), dtype=bool)
    edges = _shift(padded, 1) - padded
    nxt = _shift(edges, 1)
    turns = edges[..., 0] * nxt[..., 1] - edges[..., 1] * nxt[..., 0]
    return (turns > 0).all(axis=1) | (turns < 0).all(axis=1)


def convex_overlap_areas(subject: np.ndarray, clip: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
    """Overlap area of convex quad pairs ``(K, 4, 2)``: Sutherland-Hodgman clipping, vectorised.

    Each of the clip quad's four sides cuts every subject polygon at once; polygons are kept in
    a padded array with a vertex count per row. The final shoelace sum runs over the padded
    width, which is the most vertices of any pair in the call; with ``group`` (the image of each
    pair) a pair's sum runs at its group's width, so its area is the one a call on its group
    alone gives (numpy's sum of 8 or more terms is pairwise, so the width can change a bit).
    """
    k = len(subject)
    if k == 0:
        return np.zeros(0)
    poly, count = _clipped(subject, clip)
    if group is None:
        widths = np.full(k, poly.shape[1])
    else:
        most = np.zeros(int(group.max()) + 1, dtype=np.int64)
        np.maximum.at(most, group, count)
        widths = np.maximum(most[group], 1)
    area = np.empty(k)
    for width, rows in width_groups(widths):
        area[rows] = _closed_area(poly[rows, :width], count[rows])
    return np.where(count >= 3, area, 0.0)


def _clipped(subject: np.ndarray, clip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each subject quad clipped by its clip quad: padded vertices ``(K, W, 2)`` and counts ``(K,)``."""
    k = len(subject)
    x, y = clip[..., 0], clip[..., 1]
    signed = ((x + _shift(x, 1)) * (_shift(y, 1) - y)).sum(axis=1)
    clip = np.where((signed < 0)[:, None, None], clip[:, ::-1], clip)  # one orientation for all
    poly, count = subject.copy(), np.full(k, 4)
    rows = np.arange(k)[:, None]
    for side in range(4):
        a, b = clip[:, side][:, None, :], clip[:, (side + 1) % 4][:, None, :]
        width = poly.shape[1]
        index = np.arange(width)[None, :]
        valid = index < count[:, None]
        prev = np.where(index == 0, count[:, None] - 1, index - 1)
        ab = b - a
        dist = ab[..., 0] * (poly[..., 1] - a[..., 1]) - ab[..., 1] * (poly[..., 0] - a[..., 0])
        dist_prev = dist[rows, prev]
        poly_prev = poly[rows, prev]
        inside, inside_prev = dist >= 0, dist_prev >= 0
        crossing = valid & (inside != inside_prev)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(crossing, dist_prev / (dist_prev - dist), 0.0)
        cut = poly_prev + t[..., None] * (poly - poly_prev)
        candidates = np.stack([cut, poly], axis=2).reshape(k, 2 * width, 2)
        keep = np.stack([crossing, valid & inside], axis=2).reshape(k, 2 * width)
        count = keep.sum(axis=1)
        order = np.argsort(~keep, axis=1, kind="stable")
        width = max(int(count.max()), 1)
        poly = candidates[rows, order[:, :width]]
    return poly, count


def _closed_area(poly: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Absolute shoelace area of clipped polygons, the slots past each count filled with its first vertex."""
    index = np.arange(poly.shape[1])[None, :]
    poly = np.where((index < count[:, None])[..., None], poly, poly[:, :1])
    x, y = poly[..., 0], poly[..., 1]
    return 0.5 * np.abs(((x + _shift(x, 1)) * (_shift(y, 1) - y)).sum(axis=1))


def intersection_areas(geoms_a: LazyGeometries, boxes_a: np.ndarray, rect_a: np.ndarray, convex_a: np.ndarray,
                       geoms_b: LazyGeometries, boxes_b: np.ndarray, rect_b: np.ndarray, convex_b: np.ndarray,
                       rows: np.ndarray, cols: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
    """Overlap area of each pair ``(geoms_a[rows[k]], geoms_b[cols[k]])``; ``group`` is each
    pair's image when pairs of several images are scored at once (``convex_overlap_areas``).

    Two axis-parallel rectangles (the usual document case) overlap in a rectangle whose area is
    exact from their bounds; two convex quads are clipped in numpy; the rest (bow-ties, other
    polygons, don't-care regions with words cut out) go through one vectorised shapely call.
    """
    areas = np.zeros(len(rows), dtype=np.float64)
    if len(rows) == 0:
        return areas
    fast = rect_a[rows] & rect_b[cols]
    if fast.any():
        ba, bb = boxes_a[rows[fast]], boxes_b[cols[fast]]
        width = np.minimum(ba[:, 2], bb[:, 2]) - np.maximum(ba[:, 0], bb[:, 0])
        height = np.minimum(ba[:, 3], bb[:, 3]) - np.maximum(ba[:, 1], bb[:, 1])
        areas[fast] = np.maximum(width, 0) * np.maximum(height, 0)
    convex = ~fast & convex_a[rows] & convex_b[cols]
    if convex.any():
        areas[convex] = convex_overlap_areas(geoms_b.outlines[cols[convex], :4], geoms_a.outlines[rows[convex], :4],
                                             None if group is None else group[convex])
    slow = np.flatnonzero(~fast & ~convex)
    if len(slow):  # each distinct pair once (a don't-care box's pair can be listed twice)
        key = rows[slow] * (int(cols.max()) + 1) + cols[slow]
        _, first, back = np.unique(key, return_index=True, return_inverse=True)
        pair_a, pair_b = rows[slow[first]], cols[slow[first]]
        areas[slow] = shapely.area(shapely.intersection(geoms_a[pair_a], geoms_b[pair_b]))[back]
    return areas
