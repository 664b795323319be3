"""Every link's feature vector at once, from the rings (see :mod:`rings`).

The same numbers as :func:`controller.linkcost.features.link_features` gives one link at
a time (the reference, used by the tools; a unit test holds the two together on random
histories), for a whole network in a few array operations: at 4,000 links the loop took
about 100 ms a round, this takes a few.

Histories are sample-major, one row per sample and one column per link (as
:meth:`~controller.linkcost.rings.Ring.last_fields` gives them): a reduction over a
link's few samples then adds whole rows, several times faster than along short rows.
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
    """Least-squares slope of y over t per column, over the valid points (0 below two
    points or without spread in t)."""
    n = valid.sum(axis=0)
    safe_n = np.maximum(n, 1)
    t0, y0 = np.where(valid, t, 0.0), np.where(valid, y, 0.0)
    mt, my = t0.sum(axis=0) / safe_n, y0.sum(axis=0) / safe_n
    dt = np.where(valid, t - mt, 0.0)
    var = (dt * dt).sum(axis=0)
    cov = (dt * np.where(valid, y - my, 0.0)).sum(axis=0)
    ok = (n >= 2) & (var > 0)
    return np.where(ok, cov / np.where(ok, var, 1.0), 0.0)


def switch_overload(
    ports: PortRing, port_rows: np.ndarray, switch_of_port: np.ndarray, switches: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per switch, :func:`~controller.linkcost.features.switch_overload_bps` aligned on the
    newest sample: ``(sums, n)`` with ``sums[k, s]`` the k-th newest sample's rx - tx
    bit/s summed over the switch's ports with history, valid for ``k < n[s]``."""
    have = port_rows >= 0
    rows, owner = port_rows[have], switch_of_port[have]
    counts = ports.count[rows]
    rows, owner, counts = rows[counts > 0], owner[counts > 0], counts[counts > 0]
    n = np.full(switches, TREND_SAMPLES, dtype=np.int64)
    np.minimum.at(n, owner, np.minimum(counts, TREND_SAMPLES))
    n[np.bincount(owner, minlength=switches) == 0] = 0
    (rx, tx), _ = ports.last_fields(rows, TREND_SAMPLES, (RX_BPS, TX_BPS))
    diff = (rx - tx)[::-1]  # newest first
    sums = np.stack([np.bincount(owner, weights=d, minlength=switches) for d in diff])
    k = np.arange(TREND_SAMPLES)
    return np.where(k[:, None] < n[None, :], sums, 0.0), n


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
    source switch (:func:`switch_overload`, column ``src_switch``). ``ok`` is False where
    :func:`link_features` gives None (no rate yet, no capacity, no delay)."""
    depth = ports.depth
    # The whole ring of the tx port's time and tx rate (saturation looks back that far),
    # the newest sample's other figures: only the values the features use are gathered.
    (at, tx_bps), hvalid = ports.last_fields(tx_rows, depth, (AT, TX_BPS))
    (pps, tx_drops, tx_errors), _ = ports.last_fields(tx_rows, 1, (TX_PPS, DROPS_PS, ERRORS_PS))
    pps, tx_drops, tx_errors = pps[0], tx_drops[0], tx_errors[0]
    cap = np.where(capacity_bps > 0, capacity_bps, 1.0)
    has_tx = (tx_rows >= 0) & (ports.count[np.maximum(tx_rows, 0)] > 0)
    cur_at, cur_bps = at[-1], tx_bps[-1]
    rvalid = hvalid[-TREND_SAMPLES:]
    util = tx_bps[-TREND_SAMPLES:] / cap
    (rx_bps, rx_drops, rx_errors), rx_valid = ports.last_fields(
        rx_rows, 1, (RX_BPS, DROPS_PS, ERRORS_PS)
    )
    rx_has = rx_valid[0]
    rx_rate = np.where(rx_has, rx_bps[0], cur_bps)
    drops = tx_drops + np.where(rx_has, rx_drops[0], 0.0)
    errors = tx_errors + np.where(rx_has, rx_errors[0], 0.0)
    mean_pkt = np.where(pps > 0, cur_bps / 8 / np.where(pps > 0, pps, 1.0), 0.0)
    # saturated: the newest run of samples at or above SATURATED (the whole ring), i.e.
    # the samples after the newest one that is not (-1: none is not)
    sat = hvalid & (tx_bps / cap >= SATURATED)
    last_unsaturated = np.where(sat, -1, np.arange(depth)[:, None]).max(axis=0)
    run = depth - 1 - last_unsaturated
    since = at[np.clip(depth - run, 0, depth - 1), np.arange(at.shape[1])]
    saturated_s = np.where(run > 0, cur_at - since, 0.0)
    saturated_s += np.where((run > 0) & hvalid[-2], cur_at - at[-2], 0.0)
    sums, n = overload
    n_src = n[src_switch]
    over = np.maximum(sums[:, src_switch], 0.0) / cap  # newest first
    over_now = np.where(n_src > 0, over[0], 0.0)
    over_max = np.where(np.arange(TREND_SAMPLES)[:, None] < n_src, over, 0.0).max(axis=0)
    (d_at, d_ms), dvalid = delays.last_fields(delay_rows, TREND_SAMPLES, (0, 1))
    has_delay = dvalid[-1]
    d_now = d_ms[-1]
    d_prev = np.where(dvalid[-2], d_ms[-2], d_now)
    d_max = np.where(dvalid, d_ms, -np.inf).max(axis=0)
    columns = [
        cur_bps / cap,
        ports.ewma_tx_bps[np.maximum(tx_rows, 0)] / cap,
        np.where(rvalid, util, -np.inf).max(axis=0),
        slope(at[-TREND_SAMPLES:], util, rvalid),
        rx_rate / cap,
        cur_bps / 1e6,
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
        slope(d_at, d_ms, dvalid),
    ]
    assert len(columns) == len(FEATURE_NAMES)
    with np.errstate(invalid="ignore", over="ignore"):
        x = np.stack(columns).T  # column-major: a feature's values contiguous, as made
    x[~np.isfinite(x)] = 0.0
    return x, has_tx & (capacity_bps > 0) & has_delay
