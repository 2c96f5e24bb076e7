"""Exact great-circle nearest-neighbour search over points given in WGS84 degrees.

Points become 3-D unit vectors (``geo.distance.unit_vectors``); chord order equals great-circle order, so a
k-d tree on the vectors answers k-nearest and within-radius queries exactly, including near the poles and
across the antimeridian. The k-d tree is our own, in C (``geo/_sphere_tree.c``): one call makes the point's unit
vector, searches and writes metres, so a single k=10 query at 1M points takes a few µs (``bench/nearest.py``:
pykdtree's call alone, which served before, took ~10 µs; scipy's cKDTree ~40 µs). Distances are great-circle
metres, 2R·asin(chord / 2).

A ``NearestIndex`` is immutable: build a new one after the points change and swap the reference.

>>> index = NearestIndex([120.16, 120.17, 120.30], [30.25, 30.25, 30.30])
>>> found = index.query(120.161, 30.25, k=2)
>>> found.index.tolist(), found.distance_m.round(1).tolist()
([0, 1], [96.1, 864.5])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:  # scipy and rtree load when a radius batch or a box is first asked: nearest needs neither
    from rtree import index as rtree_index
    from scipy.spatial import cKDTree

from geo._sphere_tree import SphereTree
from geo.distance import EARTH_RADIUS_M, chord_from_m, unit_vectors

Accept = Callable[[NDArray[np.intp]], NDArray[np.bool_]]
"""Filter for candidates: takes point positions, returns which of them may be answered."""

MAX_FIRST_FETCH = 1024
"""Most candidates a filtered query asks the tree for at first, whatever share its filter passes."""
_CHORD_SLACK = 1e-12  # widen the chord bound a hair; the exact cut in metres is applied afterwards


def _metres(chord: NDArray[np.float64]) -> NDArray[np.float64]:
    """``m_from_chord`` in place on a fresh array: a third of the ufunc calls."""
    np.minimum(chord, 2.0, out=chord)  # rounding can push an antipodal chord a hair past 2
    chord *= 0.5
    np.arcsin(chord, out=chord)
    chord *= 2.0 * EARTH_RADIUS_M
    return chord


def _chord_bound(radius_m: float) -> float:
    return float(chord_from_m(radius_m)) * (1 + _CHORD_SLACK) + 1e-15


def _cells(vectors: NDArray[np.float64], side: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The distinct cells (side ``side``) that unit vectors fall in, each an int64 of three 21-bit numbers, sorted,
    and how many vectors each holds."""
    whole = np.floor(vectors / side).astype(np.int64) + (1 << 20)
    return np.unique((whole[:, 0] << 42) | (whole[:, 1] << 21) | whole[:, 2], return_counts=True)


_NEIGHBOUR_OFFSETS = [(x << 42) + (y << 21) + z for x in (-1, 0, 1) for y in (-1, 0, 1) for z in (-1, 0, 1)]
"""What a cell's number changes by to each of the 27 cells around it, itself included (``_cells``)."""


@dataclass(frozen=True, slots=True)
class Neighbours:
    """Positions of the found points (into the indexed arrays) and their distances in metres, nearest first."""

    index: NDArray[np.intp]
    distance_m: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.index)


_EMPTY = Neighbours(np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64))


class NearestIndex:
    """Immutable exact nearest-neighbour index over WGS84 points."""

    def __init__(self, lon: ArrayLike, lat: ArrayLike, leafsize: int = 16) -> None:
        self.lon = np.array(lon, dtype=np.float64).reshape(-1)
        self.lat = np.array(lat, dtype=np.float64).reshape(-1)
        if self.lon.shape != self.lat.shape:
            raise ValueError(f"lon and lat differ in length: {self.lon.size} != {self.lat.size}")
        self.lon.flags.writeable = self.lat.flags.writeable = False
        self._tree = SphereTree(unit_vectors(self.lon, self.lat), leafsize, 2.0 * EARTH_RADIUS_M)

    def __len__(self) -> int:
        return int(self.lon.size)

    def query(
        self,
        lon: float,
        lat: float,
        *,
        k: int | None = 10,
        radius_m: float | None = None,
        accept: Accept | None = None,
        share: float = 1.0,
    ) -> Neighbours:
        """The ``k`` nearest accepted points to (lon, lat), optionally only those within ``radius_m``.

        With ``k=None`` every accepted point within ``radius_m`` is returned. Results are sorted by
        distance (exact ties in the tree's own fixed order). ``accept`` is called on candidate positions nearest-first,
        so filters cost time in proportion to the candidates looked at, not to the size of the index. ``share`` is
        the caller's guess of the share of points ``accept`` passes: the first batch of candidates is that much
        larger (at most ``MAX_FIRST_FETCH``), so that a selective filter does not ask the tree again and again.
        """
        if k is None and radius_m is None:
            raise ValueError("give k, radius_m or both")
        n = len(self)
        if not n or k == 0:
            return _EMPTY
        want = n if k is None else min(k, n)
        if accept is None and radius_m is None:  # the plain k nearest (a rider's query): one call
            index, distance = np.empty(want, dtype=np.intp), np.empty(want)
            count = self._tree.nearest(lon, lat, want, math.inf, index, distance)  # fewer only for a NaN point
            return Neighbours(index[:count], distance[:count])
        bound = math.inf if radius_m is None else _chord_bound(radius_m)
        fetch = min(n, max(2 * want, 16) if accept is not None or k is None else want)
        if accept is not None and share < 1.0:
            fetch = min(n, max(fetch, min(math.ceil(fetch / max(share, 1e-6)), MAX_FIRST_FETCH)))
        while True:
            found, distance = np.empty(fetch, dtype=np.intp), np.empty(fetch)
            count = self._tree.nearest(lon, lat, fetch, bound, found, distance)
            found, distance = found[:count], distance[:count]
            exhausted = count < fetch or fetch == n
            if accept is not None and count:
                keep = accept(found)
                found, distance = found[keep], distance[keep]
            if found.size >= want or exhausted:
                break
            fetch = min(n, fetch * 4)
        found, distance = found[:want], distance[:want]
        if radius_m is not None:
            keep = distance <= radius_m
            found, distance = found[keep], distance[keep]
        return Neighbours(found, distance)

    def query_many(self, lon: ArrayLike, lat: ArrayLike, k: int = 1) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Unfiltered k-nearest for many query points at once: ``(index, distance_m)``, each of shape (m, k).

        Where fewer than ``k`` points exist the row is padded with index -1 and distance inf. Queries are
        answered in a spatially sorted order (far fewer cache misses) and returned in the caller's order.
        """
        q_lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        q_lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        m = q_lon.size
        order = np.lexsort((q_lat, np.floor(q_lon * 20.0), np.floor(q_lat * 20.0)))
        in_order, in_order_m = np.empty((m, k), dtype=np.intp), np.empty((m, k))
        self._tree.nearest_many(unit_vectors(q_lon[order], q_lat[order]), k, in_order, in_order_m)
        index, distance = np.empty_like(in_order), np.empty_like(in_order_m)
        index[order], distance[order] = in_order, in_order_m
        return index, distance

    @cached_property
    def _ball_tree(self) -> cKDTree:
        """A scipy k-d tree on the unit vectors, for radius queries of many points at once; built on first use
        (the sphere tree answers k-nearest only)."""
        from scipy.spatial import cKDTree

        return cKDTree(unit_vectors(self.lon, self.lat))

    def within_many(
        self, lon: ArrayLike, lat: ArrayLike, radius_m: float
    ) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
        """Every (query point, indexed point) pair at most ``radius_m`` metres apart, in one batched query.

        Returns ``(query, position, distance_m)``: positions into the query arrays and into the indexed
        points, and great-circle metres, sorted by query, then distance, then position. The cost grows with
        the number of points and of pairs found, never with queries × points.

        >>> index = NearestIndex([120.16, 120.1601, 120.30], [30.25, 30.25, 30.30])
        >>> query, position, distance_m = index.within_many([120.16, 120.5], [30.25, 30.5], 50.0)
        >>> query.tolist(), position.tolist(), distance_m.round(1).tolist()
        ([0, 0], [0, 1], [0.0, 9.6])
        """
        q_lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        q_lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        if not len(self) or not q_lon.size:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64)
        from scipy.spatial import cKDTree

        queries = cKDTree(unit_vectors(q_lon, q_lat))
        pairs = queries.sparse_distance_matrix(self._ball_tree, _chord_bound(radius_m), output_type="ndarray")
        query, position = pairs["i"].astype(np.intp), pairs["j"].astype(np.intp)
        distance = _metres(pairs["v"].astype(np.float64))
        keep = distance <= radius_m
        query, position, distance = query[keep], position[keep], distance[keep]
        order = np.lexsort((position, distance, query))
        return query[order], position[order], distance[order]

    def pairs_within(
        self, radius_m: float, chunk: int = 1 << 18
    ) -> Iterator[tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]]:
        """Every pair of indexed points at most ``radius_m`` metres apart, once each, found in one call (scipy's
        ``query_pairs``: one walk of the tree, several times faster than ``within_many`` of the points against
        themselves, which meets every pair twice) and handed out ``chunk`` candidate pairs at a time, so that
        millions of pairs never need more than a few MB of temporaries besides their positions.

        Yields ``(first, second, distance_m)``: positions with ``first < second`` and great-circle metres, in no
        particular order.

        >>> index = NearestIndex([120.16, 120.1601, 120.30], [30.25, 30.25, 30.30])
        >>> [(f.tolist(), s.tolist(), d.round(1).tolist()) for f, s, d in index.pairs_within(50)]
        [([0], [1], [9.6])]
        """
        if len(self) < 2:
            return
        points = self._ball_tree.data
        pairs = self._ball_tree.query_pairs(_chord_bound(radius_m), output_type="ndarray")
        for start in range(0, len(pairs), chunk):
            first, second = pairs[start : start + chunk, 0], pairs[start : start + chunk, 1]
            delta = np.take(points, first, axis=0)  # take: ~10x faster than points[first] on rows
            delta -= np.take(points, second, axis=0)
            distance = _metres(np.sqrt(np.einsum("ij,ij->i", delta, delta)))
            keep = np.flatnonzero(distance <= radius_m)
            yield first.take(keep), second.take(keep), distance.take(keep)

    def count_pairs_within(
        self, radius_m: float, lon: ArrayLike | None = None, lat: ArrayLike | None = None, *, exact: bool = False
    ) -> int:
        """How many pairs lie within ``radius_m`` (a hair over, as the trees' chord bound): pairs of the indexed
        points among themselves (each once) when no points are given, else pairs (given point, indexed point).

        Without ``exact``, an upper bound from a grid of cells the chord wide (a point's partners lie in its cell or
        the 26 around it): a few numpy calls, ~0.1 s at 500,000 points, about 3x the true count for spread points.
        With it, scipy's dual-tree ``count_neighbors``, which counts whole nodes within reach at once (a pile of
        points on one spot costs nothing; ~1 s for 500,000 points with 20 million pairs). Neither lists a pair:
        this is what a caller checks before asking for pairs that might not fit in memory.

        >>> index = NearestIndex([120.16, 120.1601, 120.30], [30.25, 30.25, 30.30])
        >>> index.count_pairs_within(50, exact=True), index.count_pairs_within(50, [120.16], [30.25], exact=True)
        (1, 2)
        """
        from scipy.spatial import cKDTree

        chord = _chord_bound(radius_m)
        points = self._ball_tree.data
        given = None if lon is None or lat is None else unit_vectors(np.atleast_1d(lon), np.atleast_1d(lat))
        if given is not None and (not len(given) or not len(points)):
            return 0
        if not exact and 2.0 / chord < 2**20:  # cell numbers fit 21 bits an axis
            cells, counts = _cells(points, chord)
            mine, own_counts = (cells, counts) if given is None else _cells(given, chord)
            near = np.zeros(len(mine), dtype=np.int64)
            for offset in _NEIGHBOUR_OFFSETS:
                wanted = mine + offset
                at = np.minimum(np.searchsorted(cells, wanted), len(cells) - 1)
                near += np.where(cells[at] == wanted, counts[at], 0)
            total = int((own_counts * near).sum())
        else:
            tree = self._ball_tree if given is None else cKDTree(given)
            total = int(tree.count_neighbors(self._ball_tree, chord))
        return total if given is not None else (total - len(self)) // 2  # each pair twice, and each point itself

    @cached_property
    def _bbox_tree(self) -> rtree_index.Index:
        """2-D R-tree on lon/lat for box listing; built on first use."""
        stream = ((i, (x, y, x, y), None) for i, (x, y) in enumerate(zip(self.lon, self.lat, strict=True)))
        from rtree import index as rtree_index

        return rtree_index.Index(stream) if len(self) else rtree_index.Index()

    def in_bbox(self, west: float, south: float, east: float, north: float) -> NDArray[np.intp]:
        """Sorted positions of points inside a lon/lat box; ``west > east`` means it crosses the antimeridian."""
        boxes = (
            [(west, south, east, north)] if west <= east else [(west, south, 180, north), (-180, south, east, north)]
        )
        hits = {i for box in boxes for i in self._bbox_tree.intersection(box)}
        return np.array(sorted(hits), dtype=np.intp)
