"""Per-link features for the cost model: port counters, and the link's measured delay.

For a directed link u:p -> v:q the features describe what u transmits on p (and v
receives on q) over the last polling intervals, and the one-way delay our probes
measured on it at each of those intervals (the delay *now* is the best single predictor
of the delay a second later; the counters say whether a queue is about to grow or
drain). Rates are scale-free where that makes sense (utilization), with the capacity as
its own feature, so one model can serve links of different speeds within the range it
was trained on.

The training data (``training/collect_dataset.py``) records these same features from a
live controller, so what the model learns from is what it is given at run time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from controller.linkcost.stats import PortRates, PortTraffic

FEATURE_NAMES: tuple[str, ...] = (
    "utilization",  # tx bit/s over capacity, last interval
    "utilization_ewma",  # smoothed
    "utilization_max",  # max over the last TREND_SAMPLES intervals
    "utilization_trend",  # least-squares slope of utilization per second, same window
    "rx_utilization",  # what the far end received, over capacity
    "tx_mbps",
    "tx_kpps",
    "mean_packet_bytes",
    "drops_ps",  # drops per second at both ends
    "errors_ps",
    "log10_capacity_bps",
    "saturated_s",  # how long utilization has stayed above SATURATED (s)
    "src_overload",  # (rx - tx) over all ports of the source switch, over capacity:
    #   traffic arriving faster than it leaves, i.e. a queue growing
    "src_overload_max",  # its maximum over the last TREND_SAMPLES intervals
    "delay_ms",  # the link's measured one-way delay now (ms)
    "delay_prev_ms",  # the same one stats interval earlier (= delay_ms at first)
    "delay_max_ms",  # its maximum over the last TREND_SAMPLES intervals
    "delay_trend",  # least-squares slope of the delay, ms per second, same window
)
DELAY_FEATURES = ("delay_ms", "delay_prev_ms", "delay_max_ms", "delay_trend")
UNBOUNDED_FEATURES = ("drops_ps", "errors_ps")
"""Features a model is never range-checked on (clipped to its training range instead):
hardware that counts drops must not put a dropping link out of range, and so cheap."""
SATURATED = 0.95
TREND_SAMPLES = 5


def _slope(points: Sequence[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(u for _, u in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    if var <= 0:
        return 0.0
    return sum((t - mx) * (u - my) for t, u in points) / var


def switch_overload_bps(ports: Sequence[PortTraffic]) -> list[float]:
    """Per recent sample (oldest first, up to TREND_SAMPLES): received minus transmitted
    bit/s summed over a switch's ports (all polled in one reply, so samples line up)."""
    histories = [list(p.history)[-TREND_SAMPLES:] for p in ports if p.history]
    if not histories:
        return []
    n = min(len(h) for h in histories)
    return [
        sum(h[len(h) - n + i].rx_bps - h[len(h) - n + i].tx_bps for h in histories)
        for i in range(n)
    ]


def delay_features(delays: Sequence[tuple[float, float]]) -> list[float]:
    """The :data:`DELAY_FEATURES` from (time, measured delay ms) samples, one per stats
    interval, oldest first, the last one now (at least one)."""
    recent = list(delays)[-TREND_SAMPLES:]
    now_ms = recent[-1][1]
    prev_ms = recent[-2][1] if len(recent) > 1 else now_ms
    return [now_ms, prev_ms, max(ms for _, ms in recent), _slope(recent)]


def link_features(
    tx: PortTraffic | None,
    rx: PortTraffic | None,
    capacity_bps: float,
    overload_bps: Sequence[float] = (),
    delays: Sequence[tuple[float, float]] = (),
) -> list[float] | None:
    """Feature vector (in :data:`FEATURE_NAMES` order), or None before two counter
    samples and one delay measurement exist.

    ``overload_bps`` is :func:`switch_overload_bps` of the link's source switch;
    ``delays`` the link's measured delays, one per stats interval (see
    :func:`delay_features`).
    """
    if tx is None or tx.current is None or capacity_bps <= 0 or not delays:
        return None
    cur: PortRates = tx.current
    recent = list(tx.history)[-TREND_SAMPLES:]
    utils = [(r.at, r.tx_bps / capacity_bps) for r in recent]
    rx_rate = rx.current.rx_bps if rx is not None and rx.current is not None else cur.tx_bps
    drops = cur.drops_ps + (rx.current.drops_ps if rx is not None and rx.current else 0.0)
    errors = cur.errors_ps + (rx.current.errors_ps if rx is not None and rx.current else 0.0)
    mean_pkt = (cur.tx_bps / 8 / cur.tx_pps) if cur.tx_pps > 0 else 0.0
    saturated_since = None
    for r in reversed(tx.history):
        if r.tx_bps / capacity_bps < SATURATED:
            break
        saturated_since = r.at
    saturated_s = cur.at - saturated_since if saturated_since is not None else 0.0
    if saturated_since is not None and len(tx.history) > 1:
        saturated_s += cur.at - tx.history[-2].at  # the first saturated interval counts
    over = [max(0.0, o) / capacity_bps for o in overload_bps] or [0.0]
    values = [
        cur.tx_bps / capacity_bps,
        tx.ewma_tx_bps / capacity_bps,
        max(u for _, u in utils),
        _slope(utils),
        rx_rate / capacity_bps,
        cur.tx_bps / 1e6,
        cur.tx_pps / 1e3,
        mean_pkt,
        drops,
        errors,
        math.log10(capacity_bps),
        saturated_s,
        over[-1],
        max(over),
        *delay_features(delays),
    ]
    return [v if math.isfinite(v) else 0.0 for v in values]
