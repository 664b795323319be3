"""The graph's weights as sparse matrices, kept in step with the graph, for a C Dijkstra.

networkx stays the graph of record. This keeps, per metric, the link weights in CSR form
(forward and reversed), so that a shortest-path query after a weight change is one
``scipy.sparse.csgraph.dijkstra`` call (C) instead of a Python Dijkstra over every node:
the difference between milliseconds and tens of milliseconds at 10,000 switches. A change
of structure (a switch or link added or removed) rebuilds the matrices at the next query;
a weight change patches one entry in place (the graph calls :meth:`on_weight`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from controller.config import METRICS
from controller.network.graph import NetworkGraph


class WeightArrays:
    def __init__(self, topo: NetworkGraph) -> None:
        self.topo = topo
        self._structure = -1
        self.index: dict[int, int] = {}
        """dpid -> row/column of the matrices."""
        self._forward: dict[str, csr_matrix] = {}
        self._reverse: dict[str, csr_matrix] = {}
        self._pos: dict[tuple[int, int], tuple[int, int]] = {}
        """(u, v) -> its entry in the forward and in the reversed matrices' data."""
        self.rebuilds = 0
        self._cached: tuple[list[tuple[int, int, Any]], np.ndarray] | None = None
        """A cost round's edge list (by identity) and each edge's two entries."""
        topo.weight_listeners.append(self.on_weight)
        topo.batch_weight_listeners.append(self.on_weights)

    def _current(self) -> None:
        if self._structure == self.topo.structure_version:
            return
        g = self.topo.graph
        nodes = sorted(g.nodes)
        self.index = index = {n: i for i, n in enumerate(nodes)}
        n = len(nodes)
        # One pass over the adjacency in (row, col) order: the CSR data order.
        rows: list[int] = []
        cols: list[int] = []
        weights: dict[str, list[float]] = {m: [] for m in METRICS}
        ends: list[tuple[int, int]] = []
        adj = g.adj
        for u in nodes:
            i = index[u]
            for v, data in sorted(adj[u].items(), key=lambda item: index[item[0]]):
                rows.append(i)
                cols.append(index[v])
                ends.append((u, v))
                for m in METRICS:
                    weights[m].append(data[m])
        row = np.array(rows, dtype=np.int32)
        col = np.array(cols, dtype=np.int32)
        rev = np.lexsort((row, col))  # the reversed matrix's (row, col) order
        rev_at = np.empty(len(ends), dtype=np.int64)
        rev_at[rev] = np.arange(len(ends))
        self._pos = dict(zip(ends, zip(range(len(ends)), rev_at.tolist(), strict=True),
                             strict=True))  # fmt: skip
        for m in METRICS:
            w = np.array(weights[m], dtype=np.float64)
            self._forward[m] = _csr(row, col, w, n)
            self._reverse[m] = _csr(col[rev], row[rev], w[rev], n)
        self._structure = self.topo.structure_version
        self._cached = None
        self.rebuilds += 1

    def on_weight(self, u: int, v: int, metric: str, weight: float) -> None:
        """An edge's weight changed in the graph: the same change here (if built)."""
        if self._structure != self.topo.structure_version:
            return  # rebuilt from the graph at the next query anyway
        pos = self._pos.get((u, v))
        if pos is not None and metric in self._forward:
            self._forward[metric].data[pos[0]] = weight
            self._reverse[metric].data[pos[1]] = weight

    def on_weights(
        self, metric: str, edges: list[tuple[int, int, Any]], idx: np.ndarray, weights: np.ndarray
    ) -> None:
        """Many weights of one metric changed (a cost round): the same changes here. The
        entries of a cost round's edges are looked up once per structure (the graph hands
        the same list every round) and the weights set in one array operation."""
        if self._structure != self.topo.structure_version or metric not in self._forward:
            return
        if self._cached is None or self._cached[0] is not edges:
            if 2 * len(idx) < len(edges):  # a few: look just those up
                self._patch(metric, [edges[i] for i in idx.tolist()], weights)
                return
            none = (-1, -1)
            pos = np.array([self._pos.get((u, v), none) for u, v, _ in edges], dtype=np.int64)
            self._cached = (edges, pos.reshape(-1, 2))
        pos = self._cached[1][idx]
        known = pos[:, 0] >= 0
        if not known.all():
            pos, weights = pos[known], weights[known]
        self._forward[metric].data[pos[:, 0]] = weights
        self._reverse[metric].data[pos[:, 1]] = weights

    def _patch(self, metric: str, edges: list[tuple[int, int, Any]], weights: np.ndarray) -> None:
        get = self._pos.get
        forward, reverse, found = [], [], []
        for (u, v, _), w in zip(edges, weights.tolist(), strict=True):
            if (p := get((u, v))) is not None:
                forward.append(p[0])
                reverse.append(p[1])
                found.append(w)
        if found:
            self._forward[metric].data[forward] = found
            self._reverse[metric].data[reverse] = found

    def distances(self, node: int, metric: str, towards: bool) -> np.ndarray:
        """Shortest distances from ``node`` to every node (or, ``towards``, from every
        node to ``node``) under ``metric``; ``inf`` where unreachable. Index by
        :attr:`index`."""
        self._current()
        matrix = (self._reverse if towards else self._forward)[metric]
        return np.asarray(
            dijkstra(matrix, directed=True, indices=self.index[node]), dtype=np.float64
        )


def _csr(rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n: int) -> csr_matrix:
    """A CSR matrix whose data array is in (row, col) order, entries kept as they are
    (rows and cols are sorted by row, then col: no duplicates, canonical)."""
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    m = csr_matrix((data.copy(), cols.copy(), indptr), shape=(n, n))
    m.has_sorted_indices = True
    return m
