"""The cost round's array features equal the one-link reference on random histories."""

from __future__ import annotations

import random
from collections import deque

import numpy as np
import pytest

from controller.linkcost.batch import feature_matrix, switch_overload
from controller.linkcost.features import (
    FEATURE_NAMES,
    TREND_SAMPLES,
    link_features,
    switch_overload_bps,
)
from controller.linkcost.rings import DelayRing
from controller.linkcost.stats import PortCounters, TrafficStats


def scenario(seed: int) -> dict:
    rng = random.Random(seed)
    switches, ports = rng.randint(2, 12), rng.randint(1, 6)
    stats = TrafficStats()
    totals: dict[tuple[int, int], list[int]] = {}
    now = 100.0
    for _ in range(rng.randint(0, 22)):  # rounds: some fewer than the trend, some more
        now += rng.choice((0.5, 1.0, 1.0, 1.3))
        for d in range(1, switches + 1):
            if rng.random() < 0.15:
                continue  # this switch's reply did not come
            counters = []
            for p in range(1, ports + 1):
                if rng.random() < 0.1:
                    continue
                c = totals.setdefault((d, p), [0] * 8)
                if rng.random() < 0.03:
                    c[:] = [0] * 8  # a counter reset
                mode = rng.random()
                step = 0 if mode < 0.1 else rng.randrange(10**7 if mode < 0.6 else 10**5)
                c[0] += step
                c[1] += rng.randrange(10**7)
                c[2] += 0 if mode < 0.2 else step // 900 + 1
                c[3] += rng.randrange(10**4)
                c[4] += rng.choice((0, 0, 0, rng.randrange(50)))
                c[5] += rng.choice((0, 0, rng.randrange(5)))
                c[6] += rng.choice((0, 0, 0, 1))
                counters.append(PortCounters(p, *c))
            stats.update(d, counters, now)
    links = []
    for _ in range(rng.randint(1, 40)):
        u, v = rng.randint(1, switches), rng.randint(1, switches)
        link = (u, rng.randint(1, ports), v, rng.randint(1, ports))
        if link not in links:
            links.append(link)
    delays: dict[tuple[int, int, int, int], deque] = {}
    ring = DelayRing(TREND_SAMPLES)
    for link in links:
        history: deque = deque(maxlen=TREND_SAMPLES)
        t = 100.0
        for _ in range(rng.choice((0, 1, 2, 3, 7))):
            t += 1.0
            sample = (t, rng.choice((0.1, 0.5, 3.0, rng.uniform(0, 80))))
            history.append(sample)
            ring.push(link, sample)
        delays[link] = history
    capacities = [rng.choice((0.0, 5e6, 10e6, 15e6, 20e6, 30e6, 1e9)) for _ in links]
    return dict(stats=stats, links=links, delays=delays, ring=ring, capacities=capacities,
                switches=switches, ports=ports)  # fmt: skip


@pytest.mark.parametrize("seed", range(60))
def test_array_features_equal_the_reference(seed: int) -> None:
    s = scenario(seed)
    stats, links = s["stats"], s["links"]
    switch_ids = list(range(1, s["switches"] + 1))
    ends = [(d, p) for d in switch_ids for p in range(1, s["ports"] + 1)]
    overload = switch_overload(
        stats.ring,
        stats.ring.lookup(ends),
        np.array([d - 1 for d, _ in ends], dtype=np.int64),
        len(switch_ids),
    )
    x, ok = feature_matrix(
        stats.ring,
        s["ring"],
        stats.ring.lookup((u, up) for u, up, _, _ in links),
        stats.ring.lookup((v, vp) for _, _, v, vp in links),
        s["ring"].lookup(links),
        np.array(s["capacities"]),
        overload,
        np.array([u - 1 for u, _, _, _ in links], dtype=np.int64),
    )
    for i, (u, up, v, vp) in enumerate(links):
        ports_u = [t for p in range(1, s["ports"] + 1) if (t := stats.get(u, p)) is not None]
        ref = link_features(
            stats.get(u, up),
            stats.get(v, vp),
            s["capacities"][i],
            switch_overload_bps(ports_u),
            s["delays"][(u, up, v, vp)],
        )
        assert ok[i] == (ref is not None), (i, ref)
        if ref is not None:
            got = dict(zip(FEATURE_NAMES, x[i].tolist(), strict=True))
            want = dict(zip(FEATURE_NAMES, ref, strict=True))
            for name in FEATURE_NAMES:
                assert got[name] == pytest.approx(want[name], rel=1e-9, abs=1e-9), name


def test_cost_weights_equal_link_weight() -> None:
    from controller.network.model import LinkState
    from controller.network.weights import cost_weights, link_weight

    rng = random.Random(3)
    values = (None, None, 0.0, -1.0, float("nan"), float("inf"), 0.4, 2.5, 1e6)
    states = [
        LinkState(
            1,
            2,
            10**7,
            0.0,
            latency_ms=rng.choice(values),
            predicted_cost=rng.choice(values),
            fallback_cost=rng.choice(values),
            cost_override=rng.choice(values),
        )
        for _ in range(3000)
    ]
    want = [link_weight(st, "cost", "delay") for st in states]
    assert cost_weights(states) == pytest.approx(want, rel=1e-12)
    known = {"predicted_cost": [st.predicted_cost for st in states]}
    assert cost_weights(states, known) == pytest.approx(want, rel=1e-12)
