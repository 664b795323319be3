"""The edges' figures and weights, with a version per routing metric.

:class:`WeightedGraph` is the networkx ``DiGraph`` under :class:`~controller.network.graph.
NetworkGraph`: each edge carries a :class:`LinkState` and a weight per metric (see
:mod:`controller.network.weights`). Every change of a figure goes through
:meth:`WeightedGraph.update_link` or :meth:`WeightedGraph.update_links`, which re-weigh the
edge and bump the version of exactly the metrics whose weight changed, so path caches of
the other metrics stay valid. Plain logic: no Ryu.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import networkx as nx
import numpy as np

from controller.config import METRICS, Config
from controller.network.model import (
    LINK_FIELDS,
    ROUND_FIGURES,
    LinkFigures,
    LinkKey,
    LinkState,
)
from controller.network.weights import affected_metrics, cost_weights, link_weight, set_weights

Edge = tuple[int, int, dict[str, Any]]
BatchListener = Callable[[str, list[Edge], np.ndarray, np.ndarray], None]
"""(metric, edges, the indexes in ``edges`` of those whose weight changed, their new
weights); ``edges`` as ``graph.edges(data=True)`` gives them (the same list object from one
cost round to the next while the structure lasts: listeners may key a cache on it)."""


class WeightedGraph:
    """Directed edges with their state and weights; switches and cables are the
    subclass's."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.graph: nx.DiGraph = nx.DiGraph()
        self.structure_version = 0
        """Bumped when switches, ports that carry links, or links change."""
        self._affects = affected_metrics(self.config.model_fallback)
        self.weight_listeners: list[Callable[[int, int, str, float], None]] = []
        """Told of every weight change (src, dst, metric, weight): views kept in step."""
        self.batch_weight_listeners: list[BatchListener] = []
        """The same for :meth:`update_links` and :meth:`set_cost_round` (see
        :data:`BatchListener`)."""
        self._rows: _Rows | None = None
        self._versions: dict[str, int] = dict.fromkeys(METRICS, 0)
        """Per metric: bumped by a change of structure or of a weight under that metric
        (path caches of other metrics stay valid: counters move ``utilization``, not
        ``hop``)."""

    def _key(self, u: int, v: int) -> LinkKey:
        s: LinkState = self.graph.edges[u, v]["state"]
        return LinkKey(u, s.src_port, v, s.dst_port)

    def version(self, metric: str) -> int:
        """Changes whenever a path computed under ``metric`` may change (for caches)."""
        return self._versions[metric]

    def _structure_changed(self) -> None:
        self.structure_version += 1
        for metric in self._versions:
            self._versions[metric] += 1

    def update_link(self, src: int, dst: int, **figures: Any) -> None:
        """The one way to change what an edge carries (traffic, delay, predictions,
        override): sets the :class:`LinkState` fields and recomputes the edge's weights,
        bumping the version of exactly the metrics whose weight changed."""
        data = self.graph.edges[src, dst]
        state: LinkState = data["state"]
        metrics: set[str] = set()
        for name, value in figures.items():
            if name not in LINK_FIELDS:
                raise AttributeError(f"LinkState has no field {name!r}")
            setattr(state, name, value)
            metrics.update(self._affects.get(name, METRICS))
        self._reweigh(src, dst, data, metrics)

    def update_links(
        self,
        edges: list[tuple[int, int, Any]],
        weights: Mapping[str, list[float]] | None = None,
        states: list[LinkState] | None = None,
        **columns: list[Any],
    ) -> None:
        """:meth:`update_link` for many edges (as ``graph.edges(data=True)`` gives them) at
        once, each field a list of one value per edge (a cost round). ``weights``: per
        metric, the new weights as :func:`link_weight` gives them, priced by the caller
        on its own arrays (a unit test holds the cost round's to it); others recomputed.
        ``states``: the edges' states, if the caller has them at hand."""
        if unknown := [n for n in columns if n not in LINK_FIELDS]:
            raise AttributeError(f"LinkState has no field {unknown[0]!r}")
        if states is None:
            states = [data["state"] for _, _, data in edges]
        for name, values in columns.items():
            for state, value in zip(states, values, strict=True):
                setattr(state, name, value)
        fallback, given = self.config.model_fallback, weights or {}
        metrics = set(given).union(*(self._affects.get(n, METRICS) for n in columns))
        for metric in sorted(metrics):
            if metric in given:
                new = given[metric]
            elif metric == "cost" and fallback == "delay":
                new = cost_weights(states)  # as the states now read
            else:
                new = [link_weight(st, metric, fallback) for st in states]
            if changed := set_weights(edges, metric, new):
                if metric == "cost" and self._rows is not None:
                    self._rows.cost = None  # read afresh at the next cost round
                self._versions[metric] += 1
                idx = np.asarray(changed, dtype=np.int64)
                self._tell(metric, edges, idx, np.asarray(new, dtype=float)[idx])

    def cost_round_rows(self) -> tuple[list[Edge], LinkFigures]:
        """Every edge, as ``graph.edges(data=True)`` gives them, and one
        :class:`LinkFigures` with a row per edge in that order that every edge's state
        reads its round figures from: both kept (the same objects) until the structure
        changes. What :meth:`set_cost_round` writes."""
        rows = self._current_rows()
        return rows.edges, rows.figures

    def _current_rows(self) -> _Rows:
        if self._rows is None or self._rows.version != self.structure_version:
            self._rows = _Rows(self.structure_version, list(self.graph.edges(data=True)))
        return self._rows

    def set_cost_round(
        self, figures: LinkFigures, columns: Mapping[str, list[Any]], cost: np.ndarray
    ) -> None:
        """A cost round's figures of every edge, one column each in
        :meth:`cost_round_rows` order (float columns with NaN for not set), and their
        weights under ``cost`` (as :func:`link_weight` gives them from these figures; a
        unit test holds the round to it): a few list assignments and array operations,
        not a write per edge."""
        rows = self._current_rows()
        edges = rows.edges
        if figures is not rows.figures:
            raise ValueError("the cost round's rows are stale: the structure changed")
        n = len(edges)
        for name, values in columns.items():  # all checked before anything is written
            if name not in ROUND_FIGURES:
                raise AttributeError(f"not a cost round figure: {name!r}")
            if len(values) != n:
                raise ValueError(f"{name}: {len(values)} values for {n} edges")
        if cost.shape != (n,):
            raise ValueError(f"cost: shape {cost.shape} for {n} edges")
        for name, values in columns.items():
            setattr(figures, name, values)  # the lists become the columns: not copied
        if rows.cost is None:  # each edge's weight under cost, kept in step from here
            rows.cost = np.array([data["cost"] for data in rows.datas], dtype=float)
        changed = np.flatnonzero(rows.cost != cost)
        datas = rows.datas
        for i, w in zip(changed.tolist(), cost[changed].tolist(), strict=True):
            datas[i]["cost"] = w
        rows.cost = np.array(cost, dtype=float)  # a copy: the caller keeps its own
        if len(changed):
            self._versions["cost"] += 1
            self._tell("cost", edges, changed, cost[changed])

    def _tell(self, metric: str, edges: list[Edge], idx: np.ndarray, weights: np.ndarray) -> None:
        for listener in self.batch_weight_listeners:
            listener(metric, edges, idx, weights)

    def _reweigh(
        self, src: int, dst: int, data: dict[str, Any], metrics: Iterable[str] = METRICS
    ) -> None:
        fallback = self.config.model_fallback
        for metric in metrics:
            weight = link_weight(data["state"], metric, fallback)
            if data.get(metric) != weight:
                data[metric] = weight
                if metric == "cost" and self._rows is not None:
                    self._rows.cost_changed(src, dst, weight)
                self._versions[metric] += 1
                for listener in self.weight_listeners:
                    listener(src, dst, metric, weight)

    def links(self) -> Iterator[LinkKey]:
        for u, v in sorted(self.graph.edges):
            yield self._key(u, v)

    def link(self, key: LinkKey) -> LinkState:
        state: LinkState = self.graph.edges[key.src, key.dst]["state"]
        return state

    def edge(self, src: int, dst: int) -> LinkState | None:
        if not self.graph.has_edge(src, dst):
            return None
        state: LinkState = self.graph.edges[src, dst]["state"]
        return state

    def weight(self, src: int, dst: int, metric: str) -> float:
        """The weight of edge ``src -> dst`` under ``metric``."""
        return float(self.graph.edges[src, dst][metric])


class _Rows:
    """The edges of one structure in a fixed order, their round figures' store, and
    their weights under ``cost`` as last written (a cost round compares on the array)."""

    def __init__(self, version: int, edges: list[Edge]) -> None:
        self.version = version
        self.edges = edges
        self.datas = [data for _, _, data in edges]
        self.figures = LinkFigures.gather([data["state"] for data in self.datas])
        self.cost: np.ndarray | None = None
        self._index: dict[tuple[int, int], int] | None = None

    def cost_changed(self, u: int, v: int, weight: float) -> None:
        """One edge's weight under ``cost`` changed outside a round (a measured delay)."""
        if self.cost is None:
            return
        if self._index is None:
            self._index = {(a, b): i for i, (a, b, _) in enumerate(self.edges)}
        if (i := self._index.get((u, v))) is not None:
            self.cost[i] = weight
