"""Every link's feature vector at once, from the rings (see :mod:`rings`).

The same numbers as :func:`controller.linkcost.features.link_features` gives one link at
a time (the reference, used by the tools; a unit test holds the two together on random
histories), for a whole network in a few array operations: at 4,000 links the loop took
about 100 ms a round, this takes a few.
"""

from __future__ import annotations

import numpy as np

from controller.linkcost.features import FEATURE_NAMES, SATURATED, TREND_SAMPLES
from controller.linkcost.rings import (
    AT,
    DROPS_PS,
    ERRORS_PS,
    RX_BPS,
    TX_BPS,
    TX_PPS,
    DelayRing,
    PortRing,
)


def slope(t: np.ndarray, y: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Least-squares slope of y over t per row, over the valid points (0 below two
    points or without spread in t)."""
    n = valid.sum(axis=1)
    safe_n = np.maximum(n, 1)
    t0, y0 = np.where(valid, t, 0.0), np.where(valid, y, 0.0)
    mt, my = t0.sum(axis=1) / safe_n, y0.sum(axis=1) / safe_n
    dt = np.where(valid, t - mt[:, None], 0.0)
    var = (dt * dt).sum(axis=1)
    cov = (dt * np.where(valid, y - my[:, None], 0.0)).sum(axis=1)
    ok = (n >= 2) & (var > 0)
    return np.where(ok, cov / np.where(ok, var, 1.0), 0.0)


def switch_overload(
    ports: PortRing, port_rows: np.ndarray, switch_of_port: np.ndarray, switches: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per switch, :func:`~controller.linkcost.features.switch_overload_bps` aligned on the
    newest sample: ``(sums, n)`` with ``sums[s, k]`` the k-th newest sample's rx - tx bit/s
    summed over the switch's ports with history, valid for ``k < n[s]``."""
    have = port_rows >= 0
    rows, owner = port_rows[have], switch_of_port[have]
    counts = ports.count[rows]
    rows, owner, counts = rows[counts > 0], owner[counts > 0], counts[counts > 0]
    n = np.full(switches, TREND_SAMPLES, dtype=np.int64)
    np.minimum.at(n, owner, np.minimum(counts, TREND_SAMPLES))
    n[np.bincount(owner, minlength=switches) == 0] = 0
    values, _ = ports.last(rows, TREND_SAMPLES)
    diff = (values[:, :, RX_BPS] - values[:, :, TX_BPS])[:, ::-1]  # newest first
    sums = np.zeros((switches, TREND_SAMPLES))
    np.add.at(sums, owner, diff)
    k = np.arange(TREND_SAMPLES)
    return np.where(k[None, :] < n[:, None], sums, 0.0), n


def feature_matrix(
    ports: PortRing,
    delays: DelayRing,
    tx_rows: np.ndarray,
    rx_rows: np.ndarray,
    delay_rows: np.ndarray,
    capacity_bps: np.ndarray,
    overload: tuple[np.ndarray, np.ndarray],
    src_switch: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``(features, ok)`` for links given by their rows: the tx port's, the far end's rx
    port's (-1: none), their delay history's; their capacity; the overload of their
    source switch (:func:`switch_overload`, row ``src_switch``). ``ok`` is False where
    :func:`link_features` gives None (no rate yet, no capacity, no delay)."""
    depth = ports.depth
    hist, hvalid = ports.last(tx_rows, depth)  # the whole ring: saturation looks back
    cap = np.where(capacity_bps > 0, capacity_bps, 1.0)
    has_tx = (tx_rows >= 0) & (ports.count[np.maximum(tx_rows, 0)] > 0)
    cur = hist[:, -1]
    recent, rvalid = hist[:, -TREND_SAMPLES:], hvalid[:, -TREND_SAMPLES:]
    util = recent[:, :, TX_BPS] / cap[:, None]
    rx_cur, rx_valid = ports.last(rx_rows, 1)
    rx_has = rx_valid[:, 0]
    rx_rate = np.where(rx_has, rx_cur[:, 0, RX_BPS], cur[:, TX_BPS])
    drops = cur[:, DROPS_PS] + np.where(rx_has, rx_cur[:, 0, DROPS_PS], 0.0)
    errors = cur[:, ERRORS_PS] + np.where(rx_has, rx_cur[:, 0, ERRORS_PS], 0.0)
    pps = cur[:, TX_PPS]
    mean_pkt = np.where(pps > 0, cur[:, TX_BPS] / 8 / np.where(pps > 0, pps, 1.0), 0.0)
    # saturated: the newest run of samples at or above SATURATED (the whole ring)
    sat = hvalid & (hist[:, :, TX_BPS] / cap[:, None] >= SATURATED)
    run = np.cumprod(sat[:, ::-1], axis=1).sum(axis=1)
    since = hist[np.arange(len(hist)), np.clip(depth - run, 0, depth - 1), AT]
    previous = hist[:, -2, AT]
    saturated_s = np.where(run > 0, cur[:, AT] - since, 0.0)
    saturated_s += np.where((run > 0) & hvalid[:, -2], cur[:, AT] - previous, 0.0)
    sums, n = overload
    over = np.maximum(sums[src_switch], 0.0) / cap[:, None]  # newest first
    k_ok = np.arange(TREND_SAMPLES)[None, :] < n[src_switch][:, None]
    over_now = np.where(n[src_switch] > 0, over[:, 0], 0.0)
    over_max = np.where(k_ok, over, 0.0).max(axis=1)
    dh, dvalid = delays.last(delay_rows, TREND_SAMPLES)
    has_delay = dvalid[:, -1]
    d_now = dh[:, -1, 1]
    d_prev = np.where(dvalid[:, -2], dh[:, -2, 1], d_now)
    d_max = np.where(dvalid, dh[:, :, 1], -np.inf).max(axis=1)
    columns = [
        cur[:, TX_BPS] / cap,
        ports.ewma_tx_bps[np.maximum(tx_rows, 0)] / cap,
        np.where(rvalid, util, -np.inf).max(axis=1),
        slope(recent[:, :, AT], util, rvalid),
        rx_rate / cap,
        cur[:, TX_BPS] / 1e6,
        pps / 1e3,
        mean_pkt,
        drops,
        errors,
        np.log10(cap),
        saturated_s,
        over_now,
        over_max,
        d_now,
        d_prev,
        d_max,
        slope(dh[:, :, 0], dh[:, :, 1], dvalid),
    ]
    assert len(columns) == len(FEATURE_NAMES)
    with np.errstate(invalid="ignore", over="ignore"):
        x = np.stack(columns, axis=1)
    x[~np.isfinite(x)] = 0.0
    return x, has_tx & (capacity_bps > 0) & has_delay
