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

from controller.config import METRICS, Config
from controller.network.model import LinkKey, LinkState
from controller.network.weights import affected_metrics, cost_weights, link_weight, set_weights

Edge = tuple[int, int, dict[str, Any]]
BatchListener = Callable[[str, list[Edge], list[float]], None]
CostRoundFigures = tuple[
    list[Any], list[float | None], list[float | None], list[float | None], list[float | None]
]
"""Per edge: features, features_at, predicted_latency_ms, predicted_cost, fallback_cost."""


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
        """The same for :meth:`update_links`: (metric, the edges whose weight changed, as
        ``graph.edges(data=True)`` gives them, their new weights)."""
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
            if not hasattr(state, name):
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
        if unknown := [n for n in columns if n not in LinkState.__dataclass_fields__]:
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
                new = cost_weights(states, columns)
            else:
                new = [link_weight(st, metric, fallback) for st in states]
            if changed := set_weights(edges, metric, new):
                self._versions[metric] += 1
                if self.batch_weight_listeners:
                    moved, weights_of = [edges[i] for i in changed], [new[i] for i in changed]
                    for listener in self.batch_weight_listeners:
                        listener(metric, moved, weights_of)

    def set_cost_round(
        self,
        edges: list[Edge],
        states: list[LinkState],
        figures: CostRoundFigures,
        cost: list[float],
    ) -> None:
        """A cost round's figures of every edge (as :meth:`update_links` with these
        fields, in one pass: the round writes 4,000 edges) and their weights under
        ``cost`` (as :func:`link_weight` gives them from these figures; a unit test holds
        the round to it)."""
        changed = []
        for i, ((_, _, data), st, f, at, ms, pc, fc, w) in enumerate(
            zip(edges, states, *figures, cost, strict=True)
        ):
            st.features, st.features_at, st.predicted_latency_ms = f, at, ms
            st.predicted_cost, st.fallback_cost = pc, fc
            if data.get("cost") != w:
                data["cost"] = w
                changed.append(i)
        if changed:
            self._versions["cost"] += 1
            if self.batch_weight_listeners:
                moved, weights = [edges[i] for i in changed], [cost[i] for i in changed]
                for listener in self.batch_weight_listeners:
                    listener("cost", moved, weights)

    def _reweigh(
        self, src: int, dst: int, data: dict[str, Any], metrics: Iterable[str] = METRICS
    ) -> None:
        fallback = self.config.model_fallback
        for metric in metrics:
            weight = link_weight(data["state"], metric, fallback)
            if data.get(metric) != weight:
                data[metric] = weight
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
