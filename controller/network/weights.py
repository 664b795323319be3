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
