"""Shortest paths on the :class:`~controller.topology.NetworkGraph` under a routing metric.

Weights come from :mod:`controller.metrics` and are stored on each edge under the
metric's name, so networkx reads them directly. Ties are broken deterministically:
among equal-cost paths the one whose dpid sequence is lexicographically smallest wins.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import networkx as nx

from controller.config import METRICS
from controller.metrics import link_weight, link_weights
from controller.topology import NetworkGraph

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


class NoPath(LookupError):
    """No path between two switches (unknown switch or disconnected)."""


class Router:
    """Path computation with the graph's current weights."""

    def __init__(self, topo: NetworkGraph) -> None:
        self.topo = topo

    def _weight_fn(self, metric: str) -> str:
        """The edge attribute that holds ``metric``'s weight."""
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
        return metric

    def _path(self, dpids: list[int], metric: str) -> Path:
        costs = tuple(
            link_weight(self.topo.graph.edges[u, v]["state"], metric)
            for u, v in itertools.pairwise(dpids)
        )
        return Path(tuple(dpids), costs, metric)

    def _check(self, src: int, dst: int) -> None:
        for d in (src, dst):
            if d not in self.topo.graph:
                raise NoPath(f"switch {d:016x} is not in the topology")

    def equal_cost_paths(self, src: int, dst: int, metric: str, limit: int = 64) -> list[Path]:
        """All shortest paths (up to ``limit``), in deterministic order."""
        self._check(src, dst)
        if src == dst:
            return [Path((src,), (), metric)]
        try:
            found = list(
                itertools.islice(
                    nx.all_shortest_paths(
                        self.topo.graph, src, dst, weight=self._weight_fn(metric)
                    ),
                    limit,
                )
            )
        except nx.NetworkXNoPath:
            raise NoPath(f"no path from {src:016x} to {dst:016x}") from None
        paths = [self._path(p, metric) for p in found]
        best = min(p.total for p in paths)
        # Floating-point sums of equal weights can differ in the last bits: keep near-ties.
        tied = [p for p in paths if p.total <= best * (1 + 1e-9) + 1e-12]
        return sorted(tied, key=lambda p: p.dpids)

    def shortest_path(self, src: int, dst: int, metric: str) -> Path:
        return self.equal_cost_paths(src, dst, metric)[0]

    def k_shortest_paths(self, src: int, dst: int, metric: str, k: int) -> list[Path]:
        """Up to ``k`` loop-free paths ordered by total weight (ties by dpid sequence)."""
        if k < 1:
            raise ValueError("k must be >= 1")
        self._check(src, dst)
        if src == dst:
            return [Path((src,), (), metric)]
        try:
            gen = nx.shortest_simple_paths(
                self.topo.graph, src, dst, weight=self._weight_fn(metric)
            )
            # Read a few extra so that ties at the cut are ordered deterministically.
            found = [self._path(p, metric) for p in itertools.islice(gen, k + 8)]
        except nx.NetworkXNoPath:
            raise NoPath(f"no path from {src:016x} to {dst:016x}") from None
        found.sort(key=lambda p: (round(p.total, 9), p.dpids))
        return found[:k]
