"""Shortest paths on the :class:`~controller.network.graph.NetworkGraph` under a routing metric.

Weights come from :mod:`controller.network.weights` and are stored on each edge under the
metric's name, so networkx reads them directly. Ties are broken deterministically:
among equal-cost paths the one whose dpid sequence, read from the lower-numbered
endpoint, is lexicographically smallest wins (so both directions pick the same path).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import networkx as nx

from controller.config import METRICS
from controller.network.graph import NetworkGraph
from controller.network.weights import link_weight, link_weights
from controller.routing.arrays import WeightArrays

__all__ = ["NoPath", "Path", "Router", "link_weight", "link_weights"]


@dataclass(frozen=True)
class Path:
    """A switch path with the weight of each link under the metric it was computed with."""

    dpids: tuple[int, ...]
    link_costs: tuple[float, ...]
    metric: str

    @property
    def total(self) -> float:
        return float(sum(self.link_costs))

    def __len__(self) -> int:
        return len(self.dpids)


REL_TOL = 1e-9
CACHE_SIZE = 65536  # path cache entries (oldest evicted first)


class NoPath(LookupError):
    """No path between two switches (unknown switch or disconnected)."""


class Router:
    """Path computation with the graph's current weights."""

    def __init__(self, topo: NetworkGraph) -> None:
        self.topo = topo
        self.arrays = WeightArrays(topo)
        self._cache: dict[str, dict[tuple[int, int], Path]] = {m: {} for m in METRICS}
        self._cache_version: dict[str, int] = {}
        self.cache_hits = 0
        self.cache_misses = 0

    def _weight_fn(self, metric: str) -> str:
        """The edge attribute that holds ``metric``'s weight."""
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
        return metric

    def path_of(self, dpids: list[int] | tuple[int, ...], metric: str) -> Path:
        """The path along ``dpids`` with its link weights under ``metric`` now."""
        costs = tuple(self.topo.weight(u, v, metric) for u, v in itertools.pairwise(dpids))
        return Path(tuple(dpids), costs, metric)

    def _check(self, src: int, dst: int) -> None:
        for d in (src, dst):
            if d not in self.topo.graph:
                raise NoPath(f"switch {d:016x} is not in the topology")

    def _tied_paths(self, src: int, dst: int, metric: str, limit: int) -> list[list[int]]:
        """Up to ``limit`` equal-cost shortest paths, in canonical order.

        Canonical order: the dpid sequence read from the lower-numbered endpoint, smallest
        first. So a path and its reverse are chosen alike (both directions of a host pair
        agree under symmetric weights), the order does not depend on edge insertion
        order, and path sums that differ only by float rounding count as ties.
        """
        g = self.topo.graph
        w = self._weight_fn(metric)
        forward = src <= dst
        # Walk from the lower endpoint ("start") towards the other ("goal"), choosing among
        # the neighbours that stay on a shortest path; dist is measured to/from the goal
        # in the direction the packets travel (one C Dijkstra on the kept arrays).
        start, goal = (src, dst) if forward else (dst, src)
        arr = self.arrays.distances(goal, metric, towards=forward)
        index = self.arrays.index

        def dist(v: int) -> float:
            return float(arr[index[v]])

        if forward:

            def steps(u: int) -> list[tuple[int, float]]:
                return [(v, g.edges[u, v][w]) for v in g.successors(u)]
        else:

            def steps(u: int) -> list[tuple[int, float]]:
                return [(v, g.edges[v, u][w]) for v in g.predecessors(u)]

        if not math.isfinite(dist(start)):
            raise NoPath(f"no path from {src:016x} to {dst:016x}")
        found: list[list[int]] = []
        stack: list[list[int]] = [[start]]
        while stack and len(found) < limit:
            path = stack.pop()
            u = path[-1]
            if u == goal:
                found.append(path if forward else path[::-1])
                continue
            du = dist(u)
            nxt = sorted(
                v
                for v, wt in steps(u)
                if v not in path and math.isfinite(dist(v)) and _close(wt + dist(v), du)
            )
            stack.extend([*path, v] for v in reversed(nxt))  # smallest popped first
        return found

    def equal_cost_paths(self, src: int, dst: int, metric: str, limit: int = 64) -> list[Path]:
        """The equal-cost shortest paths (up to ``limit``), in canonical order."""
        self._check(src, dst)
        if src == dst:
            return [Path((src,), (), metric)]
        return [self.path_of(p, metric) for p in self._tied_paths(src, dst, metric, limit)]

    def shortest_path(self, src: int, dst: int, metric: str) -> Path:
        """The canonical shortest path (see :meth:`_tied_paths`); repeated queries are
        answered from a per-metric cache, emptied when the graph's structure or a weight
        under that metric changes (port counters do not empty the ``hop`` cache)."""
        cache = self._cache.get(metric)
        if cache is None:
            raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
        version = self.topo.version(metric)
        if self._cache_version.get(metric) != version:
            cache.clear()
            self._cache_version[metric] = version
        path = cache.get((src, dst))
        if path is not None:
            self.cache_hits += 1
            return path
        self.cache_misses += 1
        path = self.equal_cost_paths(src, dst, metric, limit=1)[0]
        if len(cache) >= CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[(src, dst)] = path
        return path

    def k_shortest_paths(self, src: int, dst: int, metric: str, k: int) -> list[Path]:
        """Up to ``k`` loop-free paths ordered by total weight; the first is
        :meth:`shortest_path`, ties are ordered canonically."""
        if k < 1:
            raise ValueError("k must be >= 1")
        best = self.shortest_path(src, dst, metric)
        if len(best.dpids) == 1 or k == 1:
            return [best]
        flip = src > dst
        gen = nx.shortest_simple_paths(self.topo.graph, src, dst, weight=self._weight_fn(metric))
        # Read a few extra so that ties at the cut are ordered canonically.
        others = {tuple(p) for p in itertools.islice(gen, k + 8)} - {best.dpids}
        paths = [self.path_of(list(p), metric) for p in others]
        paths.sort(key=lambda p: (round(p.total, 9), p.dpids[::-1] if flip else p.dpids))
        return [best, *paths[: k - 1]]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(1.0, abs(a), abs(b))
