"""The cost round on arrays gives what one link at a time would: the same weights as
``link_weight`` on each edge's state, the model's own prediction, the path arrays kept in
step; and the rings' field gathers equal their full-sample reads."""

from __future__ import annotations

import math
import random

import networkx as nx
import numpy as np
import pytest

from controller.config import Config
from controller.linkcost.rings import RATE_FIELDS, PortRing
from controller.linkcost.service import LinkCostService
from controller.linkcost.stats import PortCounters
from controller.network.graph import NetworkGraph
from controller.network.model import LinkKey, PortInfo
from controller.network.weights import link_weight
from controller.routing.arrays import WeightArrays
from topologies import spec


def network(n: int, seed: int) -> NetworkGraph:
    """The stats benchmark's kind of network: random 4-regular, ports numbered by link."""
    topo = NetworkGraph(Config(link_timeout=1e9, lldp_interval=1.0))
    links = spec.random_regular(n, 4, seed).links
    for d in sorted({d for link in links for d in (link.a, link.b)}):
        topo.add_switch(d, [PortInfo(p, speed_bps=10**9) for p in range(1, 6)], 0.0)
    ports: dict[int, int] = {}
    for link in links:
        pu = ports[link.a] = ports.get(link.a, 1) + 1
        pv = ports[link.b] = ports.get(link.b, 1) + 1
        topo.link_seen(LinkKey(link.a, pu, link.b, pv), 1.0)
        topo.link_seen(LinkKey(link.b, pv, link.a, pu), 1.0)
    return topo


@pytest.mark.parametrize("seed", range(4))
def test_the_round_weighs_as_link_weight_and_predicts_as_the_model(seed: int) -> None:
    rng = random.Random(seed)
    topo = network(30, seed)
    edges = list(topo.graph.edges(data=True))
    for _, _, data in edges:  # most in the shipped model's range, some far outside it
        data["state"].capacity_bps = rng.choice((10_000_000, 10_000_000, 10**11))
    service = LinkCostService(Config(link_timeout=1e9, lldp_interval=1.0), topo)
    assert service.model is not None
    arrays = WeightArrays(topo)
    totals: dict[tuple[int, int], list[int]] = {}
    for r in range(8):
        now = 10.0 + r
        for u, v, _ in edges:
            if rng.random() < 0.9:  # some links keep their old delay, or none at all
                topo.update_link(u, v, latency_ms=rng.uniform(0.2, 5.0))
            if rng.random() < 0.05:
                topo.update_link(u, v, cost_override=rng.choice((None, 0.5, 7.0)))
        for d in topo.switches():
            counters = []
            for p in topo.ports(d):
                c = totals.setdefault((d, p), [0, 0, 0, 0])
                step = rng.randrange(1, 600_000)
                c[0] += step
                c[1] += step
                c[2] += step // 1000 + 1
                c[3] += step // 1000 + 1
                counters.append(PortCounters(p, *c))
            service.on_port_stats(d, counters, now)
        before = topo.version("cost")
        arrays.distances(1, "cost", towards=False)  # built: kept in step from here
        predicted = service.update_costs(now)
        for u, v, data in edges:
            st = data["state"]
            assert data["cost"] == link_weight(st, "cost", "delay"), (u, v)
            if st.predicted_latency_ms is not None:
                assert st.features is not None and st.features_at == now
                want = service.model.predict_latency_ms(np.asarray([st.features]))[0]
                assert st.predicted_latency_ms == pytest.approx(want, rel=1e-12, abs=1e-12)
                assert st.predicted_cost == pytest.approx(1.0 + st.predicted_latency_ms)
                assert st.fallback_cost is None
            else:
                assert st.predicted_cost is None and st.fallback_cost is not None
        if r >= 3:
            assert 0 < predicted < len(edges)  # both kinds present
            assert topo.version("cost") != before  # path caches see the new weights
        graph_cost = {(u, v): data["cost"] for u, v, data in edges}
        want_dist = nx.single_source_dijkstra_path_length(topo.graph, 1, weight="cost")
        got = arrays.distances(1, "cost", towards=False)
        for node, dist in want_dist.items():
            assert got[arrays.index[node]] == pytest.approx(dist, rel=1e-12)
        assert all(w > 0 for w in graph_cost.values())


def test_field_gathers_equal_full_sample_reads() -> None:
    rng = np.random.default_rng(3)
    ring = PortRing(16)
    keys = [(d, p) for d in range(1, 40) for p in range(1, 4)]
    for _ in range(40):  # past the ring's depth and its first growth
        for key in keys:
            if rng.random() < 0.7:
                ring.push_rates(key, tuple(rng.random(len(RATE_FIELDS))), 0.0)
    ring.forget(keys[:5])
    rows = ring.lookup([*keys, (99, 1)])  # forgotten and unknown keys: -1
    for n in (1, 5, 16):
        values, valid = ring.last(rows, n)
        fields = tuple(int(f) for f in rng.permutation(len(RATE_FIELDS))[:3])
        got, got_valid = ring.last_fields(rows, n, fields)
        assert np.array_equal(got_valid, valid.T)
        for f, column in zip(fields, got, strict=True):
            assert np.array_equal(column, values[:, :, f].T)


def test_rounds_across_structure_changes_keep_states_arrays_and_rows_in_step() -> None:
    """Links going and coming between rounds: every state still reads what the round
    wrote for it, the path arrays follow, and figures written for an old structure are
    refused rather than lost."""
    rng = random.Random(11)
    topo = network(24, 1)
    for _, _, data in topo.graph.edges(data=True):
        data["state"].capacity_bps = 10_000_000
    service = LinkCostService(Config(link_timeout=1e9, lldp_interval=1.0), topo)
    arrays = WeightArrays(topo)
    totals: dict[tuple[int, int], list[int]] = {}
    removed: list[LinkKey] = []
    for r in range(10):
        now = 10.0 + r
        if r in (4, 7):  # a cable goes (its port down), and at 7 the first one comes back
            key = next(topo.links())
            assert topo.port_status(key.src, PortInfo(key.src_port, up=False), now).removed
            removed.append(key)
        if r == 7:
            back = removed[0]
            topo.port_status(back.src, PortInfo(back.src_port, speed_bps=10**9), now)
            topo.link_seen(back, now)
            assert topo.link_seen(back.reverse(), now).added
        edges = list(topo.graph.edges(data=True))
        for u, v, _ in edges:
            topo.update_link(u, v, latency_ms=rng.uniform(0.2, 5.0))
        for d in topo.switches():
            counters = []
            for p in topo.ports(d):
                c = totals.setdefault((d, p), [0, 0, 0, 0])
                c[0] += (step := rng.randrange(1, 600_000))
                c[1] += step
                counters.append(PortCounters(p, *c))
            service.on_port_stats(d, counters, now)
        arrays.distances(1, "cost", towards=False)
        stale_edges, stale_rows = topo.cost_round_rows()
        service.update_costs(now)
        for u, v, data in edges:
            assert data["cost"] == link_weight(data["state"], "cost", "delay"), (r, u, v)
        want = nx.single_source_dijkstra_path_length(topo.graph, 1, weight="cost")
        got = arrays.distances(1, "cost", towards=False)
        for node, dist in want.items():
            assert got[arrays.index[node]] == pytest.approx(dist, rel=1e-12)
    assert service.predicted_links > 0
    gone = removed[1]  # a structure change: the rows held are stale now
    topo.port_status(gone.src, PortInfo(gone.src_port, speed_bps=10**9), 30.0)
    topo.link_seen(gone, 30.0)
    assert topo.link_seen(gone.reverse(), 30.0).added
    n = len(stale_edges)
    with pytest.raises(ValueError, match="stale"):
        topo.set_cost_round(stale_rows, {"predicted_cost": [2.0] * n}, np.full(n, 2.0))


def test_a_state_copy_has_its_own_row_and_nan_reads_as_not_set() -> None:
    import dataclasses

    from controller.network.model import LinkFigures, LinkState

    a, b = LinkState(1, 2, 10**7, 0.0, latency_ms=2.0), LinkState(3, 4, 10**9, 0.0)
    rows = LinkFigures.gather([a, b])
    assert rows.latency_ms[0] == 2.0 and math.isnan(rows.latency_ms[1])
    assert rows.capacity_bps == [10**7, 10**9]
    rows.predicted_cost = [3.0, math.nan]  # what a round does: a column at once
    assert (a.predicted_cost, b.predicted_cost) == (3.0, None)
    copy = dataclasses.replace(a, utilization=0.5)
    assert copy.predicted_cost == 3.0 and copy.latency_ms == 2.0
    rows.predicted_cost = [4.0, 5.0]
    assert (copy.predicted_cost, a.predicted_cost) == (3.0, 4.0)  # the copy stays
    a.fallback_cost = math.nan
    assert a.fallback_cost is None
    assert copy == dataclasses.replace(copy)  # equality reads the fields, not the rows


def test_a_weight_set_between_rounds_is_overwritten_by_the_next_round() -> None:
    """The round compares against the weights as last written: one set outside a round
    (here a prediction put in by hand) must not hide from it."""
    topo = network(12, 2)
    for _, _, data in topo.graph.edges(data=True):
        data["state"].capacity_bps = 10_000_000
    service = LinkCostService(Config(link_timeout=1e9, lldp_interval=1.0), topo)
    totals: dict[tuple[int, int], int] = {}
    for r in range(5):
        for u, v, _ in topo.graph.edges(data=True):
            topo.update_link(u, v, latency_ms=1.0)
        for d in topo.switches():
            counters = []
            for p in topo.ports(d):
                totals[(d, p)] = totals.get((d, p), 0) + 100_000
                counters.append(PortCounters(p, totals[(d, p)], totals[(d, p)], 100, 100))
            service.on_port_stats(d, counters, 10.0 + r)
        service.update_costs(10.0 + r)
    u, v, data = next(iter(topo.graph.edges(data=True)))
    before = data["cost"]
    topo.update_link(u, v, predicted_cost=before + 5.0)  # outside a round
    assert data["cost"] == before + 5.0
    service.update_costs(14.0)  # the same figures again: the same prediction
    assert data["state"].predicted_cost == pytest.approx(before)
    assert data["cost"] == link_weight(data["state"], "cost", "delay")


def test_a_cost_round_write_is_checked_whole_before_anything_is_written() -> None:
    topo = network(8, 3)
    edges, rows = topo.cost_round_rows()
    n = len(edges)
    before = [(d["cost"], d["state"].predicted_cost) for _, _, d in edges]
    bad = [
        ({"latency_ms": [40.0] * n}, np.full(n, 3.0)),  # not a round's: its weights stay
        ({"predicted_cost": [7.0] * n, "fallback_cost": [1.0]}, np.full(n, 7.0)),
        ({"predicted_cost": [7.0] * n}, np.full(1, 7.0)),
    ]
    for columns, cost in bad:
        with pytest.raises((ValueError, AttributeError)):
            topo.set_cost_round(rows, columns, cost)
        assert [(d["cost"], d["state"].predicted_cost) for _, _, d in edges] == before
    with pytest.raises(AttributeError):
        topo.update_link(edges[0][0], edges[0][1], _row=1)  # not a field


def test_copies_and_pickles_of_a_state_have_their_own_row() -> None:
    import copy
    import pickle

    topo = network(6, 4)
    edges, rows = topo.cost_round_rows()
    st = edges[0][2]["state"]
    st.latency_ms = 2.0
    for other in (copy.copy(st), copy.deepcopy(st), pickle.loads(pickle.dumps(st))):
        assert other == st and other.latency_ms == 2.0
        other.latency_ms = 9.0
        assert st.latency_ms == 2.0 and rows.latency_ms[0] == 2.0
    assert len(pickle.dumps(st)) < 1000  # the state, not the whole store
