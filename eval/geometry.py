"""Polygons and overlap measures, vectorised with shapely 2.

Rules (README, protocol rule 2): point order and orientation do not matter; a
self-intersecting outline (e.g. points given TL, TR, BL, BR) is read as the convex hull of its
points; fewer than three points, or collinear points, give a zero-area shape that never matches.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import shapely

from adapters.schema import Point

# Above this many candidate pairs an STR-tree is cheaper than a dense bounding-box test.
_DENSE_PAIR_LIMIT = 250_000


def make_polygons(outlines: Sequence[Sequence[Point]]) -> np.ndarray:
    """One valid shapely geometry per outline (an object array); invalid ones become hulls."""
    n = len(outlines)
    if n == 0:
        return np.empty(0, dtype=object)
    counts = np.fromiter((len(o) for o in outlines), dtype=np.int64, count=n)
    geoms = np.empty(n, dtype=object)
    if (counts == 4).all():
        geoms[:] = shapely.polygons(np.asarray(outlines, dtype=float))
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
    if int((na * nb).sum()) > _DENSE_PAIR_LIMIT:
        i, j = shapely.STRtree(b).query(a)
        same = a_group[i] == b_group[j]
        return i[same].astype(np.int64), j[same].astype(np.int64)
    i, j = _pairs_within_groups(a_group, b_group)
    ba, bb = shapely.bounds(a), shapely.bounds(b)
    touch = ((ba[i, 0] <= bb[j, 2]) & (bb[j, 0] <= ba[i, 2])
             & (ba[i, 1] <= bb[j, 3]) & (bb[j, 1] <= ba[i, 3]))
    return i[touch].astype(np.int64), j[touch].astype(np.int64)


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
        out[rest] = shapely.area(shapely.intersection(a[i[rest]], b[j[rest]]))
    return out


def _is_box(geoms: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """True where a geometry fills its bounding box, i.e. is an axis-aligned rectangle."""
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    with np.errstate(invalid="ignore"):
        return (box_area > 0) & np.isclose(shapely.area(geoms), box_area, rtol=1e-12, atol=0.0)
