"""Link weights per routing metric (always finite and > 0).

* ``hop``: 1 per link.
* ``latency``: the link's measured one-way delay in ms (``DEFAULT_LATENCY_MS`` until
  measured), plus a small per-hop term so that unmeasured links do not look free.
* ``utilization``: ``1 / (1 - u)`` with ``u`` the link's utilization capped at 0.99:
  1 on an idle link (the hop metric), growing steeply as the link fills.
* ``cost``: an operator override, else the model's predicted cost, else (fallback
  ``delay``, the default) the cost the link-cost service set on the same scale from the
  measured delay, else the weight under the configured fallback metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from controller.config import METRICS
from controller.network.model import LinkState

DEFAULT_LATENCY_MS = 1.0
HOP_EPSILON = 1e-3
MAX_UTILIZATION = 0.99


def _finite_positive(value: float, fallback: float = 1.0) -> float:
    if value is None or not math.isfinite(value) or value <= 0:
        return fallback
    return float(value)


def link_weight(state: LinkState, metric: str, cost_fallback: str = "delay") -> float:
    """The weight of one directed link under ``metric``."""
    if metric == "hop":
        return 1.0
    if metric == "latency":
        lat = DEFAULT_LATENCY_MS if state.latency_ms is None else max(state.latency_ms, 0.0)
        return _finite_positive(lat + HOP_EPSILON, DEFAULT_LATENCY_MS)
    if metric == "utilization":
        u = min(max(state.utilization, 0.0), MAX_UTILIZATION)
        return _finite_positive(1.0 / (1.0 - u))
    if metric == "cost":
        if state.cost_override is not None:
            return _finite_positive(state.cost_override)
        if state.predicted_cost is not None:
            return _finite_positive(state.predicted_cost)
        if cost_fallback == "delay":
            if state.fallback_cost is not None:
                return _finite_positive(state.fallback_cost)
            lat = DEFAULT_LATENCY_MS if state.latency_ms is None else max(state.latency_ms, 0.0)
            return _finite_positive(1.0 + lat)  # before the first cost round: ms_per_hop 1
        return link_weight(state, cost_fallback) if cost_fallback != "cost" else 1.0
    raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")


def cost_weights(
    states: Sequence[LinkState], known: Mapping[str, Sequence[float | None]] | None = None
) -> list[float]:
    """:func:`link_weight` under ``cost`` with fallback ``delay``, for many links in a few
    array operations (a cost round re-weighs every link; a unit test holds the two
    together). ``known``: fields whose values per link the caller has at hand."""

    def column(name: str) -> tuple[np.ndarray, np.ndarray]:
        """(values, set): None or NaN is not set (as a state reads a NaN: see
        :class:`~controller.network.model.LinkFigures`)."""
        values = known[name] if known and name in known else [getattr(st, name) for st in states]
        array = np.array([np.nan if x is None else x for x in values], dtype=float)
        return array, ~np.isnan(array)

    return list(
        cost_weight_array(
            column("cost_override"),
            column("predicted_cost"),
            column("fallback_cost"),
            column("latency_ms"),
        ).tolist()
    )


Column = tuple[np.ndarray, np.ndarray]
"""A field of many links: (values, set); a value that is not set is ignored."""


def cost_weight_array(
    override: Column, predicted: Column, fallback: Column, latency: Column | None = None
) -> np.ndarray:
    """:func:`cost_weights` of fields given as arrays (a cost round has them as such).
    ``latency`` may be left out where every link has a predicted or a fallback cost (it
    is then never read)."""

    def usable(x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.isfinite(x) & (x > 0)

    (o, has_o), (p, has_p), (f, has_f) = override, predicted, fallback
    if latency is None:
        if not (has_p | has_f).all():
            raise ValueError("a link without a predicted or a fallback cost needs its latency")
        before_first = np.ones(len(o))  # never chosen
    else:
        latency_ms, has_l = latency
        with np.errstate(invalid="ignore"):
            lat = np.where(has_l, np.maximum(latency_ms, 0.0), DEFAULT_LATENCY_MS)
        before_first = np.where(usable(1.0 + lat), 1.0 + lat, 1.0)
    w = np.where(has_f, np.where(usable(f), f, 1.0), before_first)
    w = np.where(has_p, np.where(usable(p), p, 1.0), w)
    return np.where(has_o, np.where(usable(o), o, 1.0), w)


def set_weights(
    edges: Sequence[tuple[int, int, dict[str, Any]]], metric: str, weights: Sequence[float]
) -> list[int]:
    """Set each edge's weight under ``metric`` (edges as ``graph.edges(data=True)`` gives
    them); returns the indexes of those that changed (plain ints: a round that re-weighs
    thousands of links leaves no thousands of new objects for the garbage collector)."""
    changed = []
    for i, ((_, _, data), w) in enumerate(zip(edges, weights, strict=True)):
        if data.get(metric) != w:
            data[metric] = w
            changed.append(i)
    return changed


def link_weights(state: LinkState, cost_fallback: str = "delay") -> dict[str, float]:
    """The weight of a link under every metric."""
    return {m: link_weight(state, m, cost_fallback) for m in METRICS}


def affected_metrics(cost_fallback: str = "delay") -> dict[str, tuple[str, ...]]:
    """For each :class:`LinkState` field, the metrics whose weight can depend on it (a
    field not listed may change every weight). A stats round changes a few fields of
    thousands of links; re-weighing only what they touch halves its cost."""
    cost_too = ("cost",)
    return {
        "utilization": ("utilization", *(cost_too if cost_fallback == "utilization" else ())),
        "latency_ms": ("latency", "cost"),
        "predicted_cost": cost_too,
        "fallback_cost": cost_too,
        "cost_override": cost_too,
        "tx_bps": (),
        "tx_pps": (),
        "features": (),
        "features_at": (),
        "predicted_latency_ms": (),
        "last_seen": (),
        "capacity_bps": (),
    }
