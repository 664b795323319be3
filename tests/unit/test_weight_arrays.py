"""The sparse weight arrays stay in step with the graph, and the shortest paths found
with them are the canonical shortest paths networkx finds."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest

from controller.config import METRICS, Config
from controller.network.graph import NetworkGraph
from controller.network.model import LinkKey, PortInfo
from controller.routing.paths import NoPath, Router
from topologies import spec


def build(n: int, degree: int, seed: int) -> tuple[NetworkGraph, list[LinkKey]]:
    network = spec.random_regular(n, degree, seed)
    topo = NetworkGraph(Config(link_timeout=1e9, lldp_interval=1.0))
    for dpid in network.switches:
        topo.add_switch(dpid, [PortInfo(p, speed_bps=10**9) for p in range(1, degree + 2)], 0)
    ports: dict[int, int] = {}
    keys = []
    for u, v, _ in network.links:
        pu = ports[u] = ports.get(u, 1) + 1
        pv = ports[v] = ports.get(v, 1) + 1
        for key in (LinkKey(u, pu, v, pv), LinkKey(v, pv, u, pu)):
            topo.link_seen(key, 1.0)
            keys.append(key)
    return topo, keys


def canonical(topo: NetworkGraph, src: int, dst: int, metric: str) -> tuple[int, ...]:
    """The reference: every shortest path by networkx, the canonical one chosen."""
    paths = [tuple(p) for p in nx.all_shortest_paths(topo.graph, src, dst, weight=metric)]
    if src <= dst:
        return min(paths)
    return min(paths, key=lambda p: p[::-1])


def in_step(topo: NetworkGraph, router: Router) -> None:
    arrays = router.arrays
    arrays._current()
    for (u, v), (fwd, rev) in arrays._pos.items():
        for metric in METRICS:
            w = topo.graph.edges[u, v][metric]
            assert arrays._forward[metric].data[fwd] == w
            assert arrays._reverse[metric].data[rev] == w


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_paths_match_networkx_through_weight_and_structure_changes(seed: int) -> None:
    rng = random.Random(seed)
    topo, keys = build(40, 4, seed)
    router = Router(topo)
    nodes = sorted(topo.graph.nodes)
    for step in range(60):
        for key in rng.sample(keys, 10):  # a stats round: some weights move
            if topo.graph.has_edge(key.src, key.dst):
                topo.update_link(key.src, key.dst, utilization=rng.random() * 0.9,
                                 latency_ms=rng.uniform(0.1, 20.0))  # fmt: skip
        if step % 10 == 5:  # and sometimes a link goes (its port down)
            gone = rng.choice(keys)
            change = topo.port_status(gone.src, PortInfo(gone.src_port, up=False), 2.0)
            assert change.removed
        in_step(topo, router)
        for metric in ("hop", "latency", "utilization"):
            src, dst = rng.sample(nodes, 2)
            try:
                got = router.shortest_path(src, dst, metric).dpids
            except NoPath:
                assert not nx.has_path(topo.graph, src, dst)
                continue
            assert got == canonical(topo, src, dst, metric), (step, metric, src, dst)


def test_a_structure_change_rebuilds_and_a_weight_change_patches() -> None:
    topo, keys = build(12, 3, 7)
    router = Router(topo)
    router.shortest_path(1, 5, "latency")
    built = router.arrays.rebuilds
    topo.update_link(keys[0].src, keys[0].dst, latency_ms=50.0)
    router.shortest_path(1, 5, "latency")
    assert router.arrays.rebuilds == built  # patched in place
    in_step(topo, router)
    topo.add_switch(99, [PortInfo(1)], 2.0)
    router.shortest_path(1, 5, "latency")
    assert router.arrays.rebuilds == built + 1
    with pytest.raises(NoPath):
        router.shortest_path(1, 99, "latency")
    d = router.arrays.distances(99, "hop", towards=True)
    assert np.isinf(d).sum() == len(d) - 1  # only 99 reaches itself
