"""Where each link and port of a cost round sits in the round's arrays.

A cost round reads thousands of links at once from the rings (:mod:`rings`) and the
live-quality rows (:mod:`quality`); which row each link's and port's figures live in
changes only when links, ports or ring rows do, so the index arrays are built once and
kept until then (see :func:`current_layout`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from controller.linkcost.features import FEATURE_NAMES
from controller.linkcost.quality import LiveQuality
from controller.linkcost.rings import DelayRing, PortRing
from controller.network.graph import NetworkGraph
from controller.network.model import LinkFigures, LinkState

Edge = tuple[int, int]


@dataclass
class Layout:
    """Which row of each array a link or port of the cost round uses."""

    key: tuple[int, ...]
    edges: list[tuple[int, int, Any]]
    """As ``graph.edges(data=True)`` gives them (the graph's
    :meth:`~controller.network.weighted.WeightedGraph.cost_round_rows`)."""
    figures: LinkFigures
    """... and the store the round writes the links' figures to, a row per edge."""
    keys: list[Edge]
    states: list[LinkState]
    quality_rows: np.ndarray
    end_rows: np.ndarray
    """Every port of every switch: its row in the port ring (-1: none yet)."""
    end_switch: np.ndarray
    """... and the index of its switch (in ``graph.switches()`` order)."""
    switches: int
    tx_rows: np.ndarray
    """Per link: its source port's row in the port ring, ..."""
    rx_rows: np.ndarray
    """... its far end's, ..."""
    delay_rows: np.ndarray
    """... its row in the delay ring, ..."""
    src_switch: np.ndarray
    """... and the index of its source switch."""
    features: np.ndarray
    """The round's feature vectors, one row per link, kept from round to round ..."""
    feature_rows: list[np.ndarray]
    """... and a view of each row: what each link's ``LinkState.features`` is (one
    object per link for as long as the layout lasts, not thousands made every round)."""


def current_layout(
    previous: Layout | None,
    graph: NetworkGraph,
    ports: PortRing,
    delays: DelayRing,
    quality: LiveQuality,
) -> Layout:
    """``previous`` if links, ports and ring rows are as they were; else a new layout
    (links that are gone lose their delay and quality rows first)."""
    key = (graph.structure_version, graph.ports_version, ports.layout, delays.layout)
    if previous is not None and previous.key == key:
        return previous
    edges, figures = graph.cost_round_rows()
    keys = [(u, v) for u, v, _ in edges]
    live = set(keys)
    delays.forget([e for e in delays.rows if e not in live])
    quality.keep_only(live)
    states: list[LinkState] = [data["state"] for _, _, data in edges]
    switches = list(graph.switches())
    index = {d: i for i, d in enumerate(switches)}
    ends = [(d, p) for d in switches for p in graph.ports(d)]
    features = np.zeros((len(edges), len(FEATURE_NAMES)))
    return Layout(
        key=(graph.structure_version, graph.ports_version, ports.layout, delays.layout),
        edges=edges,
        figures=figures,
        keys=keys,
        states=states,
        quality_rows=quality.row_array(keys),
        end_rows=ports.lookup(ends),
        end_switch=np.fromiter((index[d] for d, _ in ends), dtype=np.int64, count=len(ends)),
        switches=len(switches),
        tx_rows=ports.lookup((u, st.src_port) for (u, _, _), st in zip(edges, states, strict=True)),
        rx_rows=ports.lookup((v, st.dst_port) for (_, v, _), st in zip(edges, states, strict=True)),
        delay_rows=delays.lookup(keys),
        src_switch=np.fromiter((index[u] for u, _ in keys), dtype=np.int64, count=len(keys)),
        features=features,
        feature_rows=list(features),
    )
