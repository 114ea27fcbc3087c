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


def candidate_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) whose bounding boxes touch: the only pairs that can overlap."""
    if len(a) == 0 or len(b) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    if len(a) * len(b) > _DENSE_PAIR_LIMIT:
        j, i = shapely.STRtree(a).query(b)
        return i.astype(np.int64), j.astype(np.int64)
    ba, bb = shapely.bounds(a), shapely.bounds(b)
    touch = ((ba[:, None, 0] <= bb[None, :, 2]) & (bb[None, :, 0] <= ba[:, None, 2])
             & (ba[:, None, 1] <= bb[None, :, 3]) & (bb[None, :, 1] <= ba[:, None, 3]))
    i, j = np.nonzero(touch)
    return i.astype(np.int64), j.astype(np.int64)


def intersection_areas(a: np.ndarray, b: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Area of ``a[i] ∩ b[j]`` for each pair, in one vectorised call."""
    if i.size == 0:
        return np.empty(0, dtype=float)
    return shapely.area(shapely.intersection(a[i], b[j]))
