"""Polygons and overlap measures, vectorised with shapely 2.

Rules (docs/protocol.md, rule 2): point order and orientation do not matter; a
self-intersecting outline (e.g. points given TL, TR, BL, BR) is read as the convex hull of its
points; fewer than three points, or collinear points, give a zero-area shape that never matches.
"""
from __future__ import annotations

from itertools import chain
from typing import Sequence

import numpy as np
import shapely

from adapters.core.schema import Point

# Above this many candidate pairs (in all, or per image on average) an STR-tree is cheaper than
# testing every pair's bounding boxes.
_DENSE_PAIR_LIMIT = 250_000
_TREE_PAIRS_PER_GROUP = 1_000


def make_polygons(outlines: Sequence[Sequence[Point]]) -> np.ndarray:
    """One valid shapely geometry per outline (an object array); invalid ones become hulls."""
    n = len(outlines)
    if n == 0:
        return np.empty(0, dtype=object)
    counts = np.fromiter((len(o) for o in outlines), dtype=np.int64, count=n)
    geoms = np.empty(n, dtype=object)
    if (counts == 4).all():
        flat = chain.from_iterable(chain.from_iterable(outlines))
        quads = np.fromiter(flat, dtype=float, count=8 * n).reshape(n, 4, 2)
        geoms[:] = shapely.polygons(quads)
        # a quad that turns the same way, strictly, at every corner is convex and simple: valid
        edge = np.roll(quads, -1, axis=1) - quads
        after = np.roll(edge, -1, axis=1)
        turn = edge[..., 0] * after[..., 1] - edge[..., 1] * after[..., 0]
        check = ~((turn > 0).all(axis=1) | (turn < 0).all(axis=1))
        invalid = np.zeros(n, dtype=bool)
        invalid[check] = ~shapely.is_valid(geoms[check])
        if invalid.any():
            geoms[invalid] = shapely.convex_hull(geoms[invalid])
        return geoms
    else:
        geoms[:] = shapely.Polygon()
        ring_rows = np.flatnonzero(counts >= 3)
        if ring_rows.size:
            coords = np.asarray([p for r in ring_rows for p in outlines[r]], dtype=float)
            index = np.repeat(np.arange(ring_rows.size), counts[ring_rows])
            geoms[ring_rows] = shapely.polygons(shapely.linearrings(coords, indices=index))
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.convex_hull(geoms[invalid])
    return geoms


def _pairs_within_groups(a_group: np.ndarray, b_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with ``a_group[i] == b_group[j]``; both group arrays must be sorted."""
    groups = int(max(a_group.max(), b_group.max())) + 1
    na = np.bincount(a_group, minlength=groups)
    nb = np.bincount(b_group, minlength=groups)
    a_start = np.cumsum(na) - na
    b_start = np.cumsum(nb) - nb
    counts = na * nb
    group = np.repeat(np.arange(groups), counts)
    local = np.arange(int(counts.sum())) - (np.cumsum(counts) - counts)[group]
    return a_start[group] + local // nb[group], b_start[group] + local % nb[group]


def candidate_pairs(
    a: np.ndarray,
    b: np.ndarray,
    a_group: np.ndarray | None = None,
    b_group: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) in the same group (image) whose bounding boxes touch.

    Only such pairs can overlap, so everything after this works on few pairs. Groups let many
    images be handled in one vectorised pass; group arrays must be sorted.
    """
    empty = np.empty(0, dtype=np.int64)
    if len(a) == 0 or len(b) == 0:
        return empty, empty
    if a_group is None or b_group is None:
        a_group = np.zeros(len(a), dtype=np.int64)
        b_group = np.zeros(len(b), dtype=np.int64)
    na = np.bincount(a_group)
    nb = np.bincount(b_group, minlength=len(na))[: len(na)]
    ba, bb = shapely.bounds(a), shapely.bounds(b)
    pairs = int((na * nb).sum())
    if pairs > _DENSE_PAIR_LIMIT or pairs > _TREE_PAIRS_PER_GROUP * len(na):
        i, j = _tree_pairs(ba, bb, a_group, b_group)
    else:
        i, j = _pairs_within_groups(a_group, b_group)
    touch = ((ba[i, 0] <= bb[j, 2]) & (bb[j, 0] <= ba[i, 2])
             & (ba[i, 1] <= bb[j, 3]) & (bb[j, 1] <= ba[i, 3]))
    return i[touch].astype(np.int64), j[touch].astype(np.int64)


def _tree_pairs(ba: np.ndarray, bb: np.ndarray, a_group: np.ndarray,
                b_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A superset of the bounding-box pairs within groups, from one STR-tree over the batch.

    Each group is shifted along x by its own stride so images never meet in the tree; boxes are
    widened a little so rounding in the shift cannot lose a touching pair (the exact test follows).
    """
    fa, fb = np.isfinite(ba).all(1), np.isfinite(bb).all(1)  # empty geometries have NaN bounds
    if not fa.any() or not fb.any():
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    lo = min(ba[fa, 0].min(), bb[fb, 0].min())
    hi = max(ba[fa, 2].max(), bb[fb, 2].max())
    scale = max(abs(lo), abs(hi), 1.0)
    stride = 2 * (hi - lo) + scale
    pad = 1e-6 * scale

    def boxes(bounds: np.ndarray, group: np.ndarray) -> np.ndarray:
        shift = group * stride
        return shapely.box(bounds[:, 0] + shift - pad, bounds[:, 1] - pad, bounds[:, 2] + shift + pad, bounds[:, 3] + pad)

    ia, ib = np.flatnonzero(fa), np.flatnonzero(fb)
    q, t = shapely.STRtree(boxes(bb[ib], b_group[ib])).query(boxes(ba[ia], a_group[ia]))
    i, j = ia[q], ib[t]
    same = a_group[i] == b_group[j]
    return i[same], j[same]


def intersection_areas(a: np.ndarray, b: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Area of ``a[i] ∩ b[j]`` for each pair, in vectorised calls.

    Most boxes from providers and gt files are axis-aligned rectangles; for a pair of those the
    overlap is the product of the interval overlaps, which numpy does at once and more exactly
    than clipping polygons. Every other pair goes through shapely's intersection.
    """
    if i.size == 0:
        return np.empty(0, dtype=float)
    ba, bb = shapely.bounds(a), shapely.bounds(b)
    both = _is_box(a, ba)[i] & _is_box(b, bb)[j]
    out = np.empty(i.size, dtype=float)
    if both.any():
        x = np.minimum(ba[i[both], 2], bb[j[both], 2]) - np.maximum(ba[i[both], 0], bb[j[both], 0])
        y = np.minimum(ba[i[both], 3], bb[j[both], 3]) - np.maximum(ba[i[both], 1], bb[j[both], 1])
        out[both] = np.clip(x, 0, None) * np.clip(y, 0, None)
    rest = ~both
    if rest.any():
        qa, convex_a = convex_quads(a)
        qb, convex_b = convex_quads(b)
        quad = rest & convex_a[i] & convex_b[j]
        if quad.any():
            out[quad] = clipped_area(qa[i[quad]], qb[j[quad]])
        rest &= ~quad
    if rest.any():
        out[rest] = shapely.area(shapely.intersection(a[i[rest]], b[j[rest]]))
    return out


def convex_quads(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Corners of each convex 4-corner polygon, counter-clockwise, as an (n, 4, 2) array, and
    a mask of which geometries are such quads (the usual case: word boxes and their hulls)."""
    quads = np.zeros((len(geoms), 4, 2))
    ok = ((shapely.get_type_id(geoms) == 3) & (shapely.get_num_coordinates(geoms) == 5)
          & (shapely.get_num_interior_rings(geoms) == 0))
    rows = np.flatnonzero(ok)
    if rows.size:
        q = shapely.get_coordinates(shapely.get_exterior_ring(geoms[rows])).reshape(-1, 5, 2)[:, :4]
        nxt = np.roll(q, -1, axis=1)
        signed = (q[..., 0] * nxt[..., 1] - nxt[..., 0] * q[..., 1]).sum(axis=1)
        q = np.where((signed < 0)[:, None, None], q[:, ::-1], q)
        edge = np.roll(q, -1, axis=1) - q
        after = np.roll(edge, -1, axis=1)
        turn = edge[..., 0] * after[..., 1] - edge[..., 1] * after[..., 0]
        convex = (turn >= 0).all(axis=1) & (signed != 0)
        ok[rows[~convex]] = False
        quads[rows[convex]] = q[convex]
    return quads, ok


_MAX_CORNERS = 8  # a convex quad clipped by another one has at most 8 corners


def clipped_area(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Area of ``subject[k] ∩ clip[k]`` for counter-clockwise convex quads, all rows at once.

    Sutherland-Hodgman: the subject is clipped by each edge's half-plane in turn. Rows keep a
    fixed width; slots past a row's corner count repeat its first corner, so "next corner" is a
    shift. Matches GEOS to ~1e-12 relative and handles touching and identical quads exactly.
    """
    k, width = len(subject), _MAX_CORNERS
    x = np.repeat(subject[:, :1, 0], width, axis=1)
    y = np.repeat(subject[:, :1, 1], width, axis=1)
    x[:, :4], y[:, :4] = subject[..., 0], subject[..., 1]
    count = np.full(k, 4)
    slot = np.arange(width)
    row = np.broadcast_to(np.arange(k)[:, None], (k, width))
    for e in range(4):
        ax, ay = clip[:, e, 0, None], clip[:, e, 1, None]
        dx, dy = clip[:, (e + 1) % 4, 0, None] - ax, clip[:, (e + 1) % 4, 1, None] - ay
        side = dx * (y - ay) - dy * (x - ax)           # >= 0: on the inner side of this edge
        side_next = np.roll(side, -1, axis=1)
        valid = slot < count[:, None]
        keep = valid & (side >= 0)
        cross = valid & ((side >= 0) != (side_next >= 0))
        emitted = keep.view(np.int8) + cross.view(np.int8)
        end = np.cumsum(emitted, axis=1, dtype=np.int64)
        start = end - emitted
        nx, ny = np.repeat(x[:, :1], width, axis=1), np.repeat(y[:, :1], width, axis=1)
        nx[row[keep], start[keep]] = x[keep]
        ny[row[keep], start[keep]] = y[keep]
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (side / (side - side_next))[cross]
        at = (start + keep)[cross]
        nx[row[cross], at] = x[cross] + t * (np.roll(x, -1, axis=1)[cross] - x[cross])
        ny[row[cross], at] = y[cross] + t * (np.roll(y, -1, axis=1)[cross] - y[cross])
        count = end[:, -1]
        pad = slot >= count[:, None]
        x, y = np.where(pad, nx[:, :1], nx), np.where(pad, ny[:, :1], ny)
    xn, yn = np.roll(x, -1, axis=1), np.roll(y, -1, axis=1)
    twice = np.where(slot < count[:, None], x * yn - xn * y, 0.0).sum(axis=1)
    return np.where(count >= 3, np.maximum(twice / 2, 0.0), 0.0)


def _is_box(geoms: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """True where a geometry fills its bounding box, i.e. is an axis-aligned rectangle."""
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    with np.errstate(invalid="ignore"):
        return (box_area > 0) & np.isclose(shapely.area(geoms), box_area, rtol=1e-12, atol=0.0)
