"""Re-weighing only the metrics a changed field touches gives the weights a full
re-weigh would: every LinkState field is listed, and no listed set misses a metric."""

from __future__ import annotations

import dataclasses
import random

import pytest

from controller.config import FALLBACKS
from controller.network.model import LinkState
from controller.network.weights import affected_metrics, link_weights

VALUES = {
    "utilization": lambda r: r.choice([0.0, r.random(), 0.999, -1.0]),
    "latency_ms": lambda r: r.choice([None, 0.0, r.uniform(0.01, 50), float("nan")]),
    "predicted_cost": lambda r: r.choice([None, r.uniform(1, 30), 0.0]),
    "fallback_cost": lambda r: r.choice([None, r.uniform(1, 30)]),
    "cost_override": lambda r: r.choice([None, r.uniform(0.5, 100)]),
    "tx_bps": lambda r: r.uniform(0, 1e9),
    "tx_pps": lambda r: r.uniform(0, 1e6),
    "features": lambda r: r.choice([None, [r.random() for _ in range(18)]]),
    "features_at": lambda r: r.choice([None, r.uniform(0, 1e4)]),
    "predicted_latency_ms": lambda r: r.choice([None, r.uniform(0, 50)]),
    "last_seen": lambda r: r.uniform(0, 1e4),
    "capacity_bps": lambda r: r.choice([10**7, 10**9]),
}


def random_state(r: random.Random) -> LinkState:
    s = LinkState(1, 2, 10**9, 0.0)
    for name, make in VALUES.items():
        setattr(s, name, make(r))
    return s


def test_every_field_is_listed() -> None:
    fields = {f.name for f in dataclasses.fields(LinkState) if f.init} - {"src_port", "dst_port"}
    assert fields == set(affected_metrics()) == set(VALUES)


@pytest.mark.parametrize("fallback", FALLBACKS)
def test_a_field_changes_no_weight_outside_its_metrics(fallback: str) -> None:
    r = random.Random(hash(fallback) & 0xFFFF)
    affects = affected_metrics(fallback)
    for _ in range(3000):
        state = random_state(r)
        name = r.choice(list(VALUES))
        before = link_weights(state, fallback)
        setattr(state, name, VALUES[name](r))
        after = link_weights(state, fallback)
        changed = {m for m in before if before[m] != after[m]}
        assert changed <= set(affects[name]), (fallback, name, changed)
