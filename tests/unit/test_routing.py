"""Link weights per metric and path computation: determinism, k-shortest, equal cost."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable

import networkx as nx
import pytest

from controller.config import METRICS
from controller.network.graph import NetworkGraph
from controller.network.model import LinkKey, LinkState, PortInfo
from controller.routing.paths import NoPath, Router, link_weight, link_weights

T0 = 10.0


def state(**fields: float | None) -> LinkState:
    return LinkState(src_port=1, dst_port=1, capacity_bps=1_000_000, last_seen=0.0, **fields)  # type: ignore[arg-type]


def make_topo(edges: Iterable[tuple[int, int]]) -> NetworkGraph:
    """Switches and bidirectional links, added in the order given (ports assigned in order)."""
    edges = list(edges)
    t = NetworkGraph()
    nodes = sorted({n for e in edges for n in e})
    degree = {n: sum(n in e for e in edges) for n in nodes}
    for n in nodes:
        t.add_switch(n, [PortInfo(p) for p in range(1, degree[n] + 1)], 0.0)
    next_port = dict.fromkeys(nodes, 1)
    for a, b in edges:
        pa, pb = next_port[a], next_port[b]
        next_port[a] += 1
        next_port[b] += 1
        t.link_seen(LinkKey(a, pa, b, pb), T0)
        t.link_seen(LinkKey(b, pb, a, pa), T0)
    return t


def set_link(t: NetworkGraph, u: int, v: int, **fields: float | None) -> None:
    """Set traffic/cost figures on edge u->v and refresh its stored weights."""
    t.update_link(u, v, **fields)


def set_both(t: NetworkGraph, u: int, v: int, **fields: float | None) -> None:
    set_link(t, u, v, **fields)
    set_link(t, v, u, **fields)


RING4 = [(1, 2), (2, 3), (3, 4), (4, 1)]


# ---------------------------------------------------------------------- weights
WEIRD = [0.0, -1.0, 1e-300, 0.5, 1.0, 2.5, 1e12, math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("value", WEIRD)
def test_every_weight_is_finite_and_positive(metric: str, value: float) -> None:
    for fields in (
        {},
        {"latency_ms": value},
        {"utilization": value},
        {"predicted_cost": value},
        {"cost_override": value},
        {"predicted_cost": value, "cost_override": value},
    ):
        w = link_weight(state(**fields), metric)
        assert math.isfinite(w) and w > 0, (metric, fields, w)


def test_hop_weight_is_one() -> None:
    assert link_weight(state(latency_ms=50, utilization=0.9, cost_override=7), "hop") == 1.0


def test_latency_weight_follows_measured_delay() -> None:
    unmeasured = link_weight(state(), "latency")
    zero = link_weight(state(latency_ms=0.0), "latency")
    slow = link_weight(state(latency_ms=20.0), "latency")
    assert 0 < zero < unmeasured < slow
    assert slow == pytest.approx(20.0, rel=1e-3)


def test_utilization_weight_is_one_when_idle_and_grows_with_load() -> None:
    loads = [0.0, 0.1, 0.5, 0.9, 0.99, 1.0, 5.0]
    weights = [link_weight(state(utilization=u), "utilization") for u in loads]
    assert weights[0] == 1.0
    assert weights == sorted(weights)
    assert all(a < b for a, b in itertools.pairwise(weights[:5]))
    assert weights[2] == pytest.approx(2.0)
    assert weights[-1] == weights[-2]  # capped, stays finite


def test_cost_weight_override_beats_prediction_beats_fallback() -> None:
    assert link_weight(state(), "cost", "hop") == 1.0
    assert link_weight(state(), "cost") == 2.0  # fallback delay, unmeasured: 1 + 1 ms
    assert link_weight(state(latency_ms=3.0), "cost") == 4.0  # before any cost round
    assert link_weight(state(latency_ms=3.0, fallback_cost=6.5), "cost") == 6.5
    assert link_weight(state(predicted_cost=3.5, fallback_cost=6.5), "cost") == 3.5
    assert link_weight(state(predicted_cost=3.5), "cost") == 3.5
    assert link_weight(state(predicted_cost=3.5, cost_override=9.0), "cost") == 9.0


def test_unknown_metric_is_rejected() -> None:
    with pytest.raises(ValueError, match="nope"):
        link_weight(state(), "nope")
    with pytest.raises(ValueError, match="nope"):
        Router(make_topo(RING4)).shortest_path(1, 3, "nope")


def test_link_weights_cover_every_metric_and_are_stored_on_the_edge() -> None:
    t = make_topo(RING4)
    set_link(t, 1, 2, latency_ms=4.0, utilization=0.5)
    weights = link_weights(t.link(LinkKey(1, 1, 2, 1)))
    assert set(weights) == set(METRICS)
    assert {m: t.graph.edges[1, 2][m] for m in METRICS} == weights


# ---------------------------------------------------------------------- shortest paths
@pytest.mark.parametrize("metric", METRICS)
def test_ring_ties_go_to_the_smallest_dpid_sequence(metric: str) -> None:
    router = Router(make_topo(RING4))
    assert router.shortest_path(1, 3, metric).dpids == (1, 2, 3)
    assert router.shortest_path(3, 1, metric).dpids == (3, 2, 1)
    assert router.shortest_path(2, 4, metric).dpids == (2, 1, 4)


def test_tie_break_does_not_depend_on_edge_insertion_order() -> None:
    edges = [(1, 2), (1, 3), (1, 4), (2, 5), (3, 5), (4, 5), (5, 6), (2, 7), (7, 6)]
    results = set()
    for seed in range(8):
        shuffled = edges[:]
        random.Random(seed).shuffle(shuffled)
        flip = random.Random(seed + 100)
        shuffled = [(b, a) if flip.random() < 0.5 else (a, b) for a, b in shuffled]
        router = Router(make_topo(shuffled))
        results.add(
            (
                router.shortest_path(1, 6, "hop").dpids,
                router.shortest_path(6, 1, "hop").dpids,
                tuple(p.dpids for p in router.equal_cost_paths(1, 6, "hop")),
            )
        )
    assert results == {
        (
            (1, 2, 5, 6),
            (6, 5, 2, 1),
            ((1, 2, 5, 6), (1, 2, 7, 6), (1, 3, 5, 6), (1, 4, 5, 6)),
        )
    }


def _grid_edges(n: int) -> list[tuple[int, int]]:
    g = nx.grid_2d_graph(n, n)
    number = {node: i + 1 for i, node in enumerate(sorted(g.nodes))}
    return sorted((number[a], number[b]) for a, b in g.edges)


def test_tie_break_is_deterministic_with_many_equal_cost_paths() -> None:
    edges = _grid_edges(6)  # corner to corner: C(10, 5) = 252 shortest paths
    results = set()
    for seed in range(6):
        shuffled = edges[:]
        random.Random(seed).shuffle(shuffled)
        results.add(Router(make_topo(shuffled)).shortest_path(1, 36, "hop").dpids)
    assert results == {(1, 2, 3, 4, 5, 6, 12, 18, 24, 30, 36)}


def test_metric_changes_the_path() -> None:
    t = make_topo(RING4)
    router = Router(t)
    set_both(t, 1, 2, latency_ms=10.0, utilization=0.95, cost_override=50.0)
    for metric in ("latency", "utilization", "cost"):
        path = router.shortest_path(1, 3, metric)
        assert path.dpids == (1, 4, 3), metric
        assert path.metric == metric
    assert router.shortest_path(1, 3, "hop").dpids == (1, 2, 3)


def test_path_carries_its_link_costs() -> None:
    t = make_topo([(1, 2), (2, 3)])
    set_link(t, 1, 2, latency_ms=2.0)
    set_link(t, 2, 3, latency_ms=5.0)
    path = Router(t).shortest_path(1, 3, "latency")
    assert path.dpids == (1, 2, 3)
    assert len(path) == 3
    assert path.link_costs == pytest.approx((2.001, 5.001))
    assert path.total == pytest.approx(7.002)


def test_weights_are_per_direction() -> None:
    t = make_topo(RING4)
    set_link(t, 1, 2, cost_override=10.0)  # only 1 -> 2 is expensive
    router = Router(t)
    assert router.shortest_path(1, 3, "cost").dpids == (1, 4, 3)
    assert router.shortest_path(3, 1, "cost").dpids == (3, 2, 1)


def test_same_switch_is_a_one_switch_path() -> None:
    router = Router(make_topo(RING4))
    assert router.shortest_path(2, 2, "hop").dpids == (2,)
    assert router.shortest_path(2, 2, "hop").total == 0.0
    assert [p.dpids for p in router.k_shortest_paths(2, 2, "hop", 3)] == [(2,)]


# ---------------------------------------------------------------------- equal cost
def test_equal_cost_paths_lists_every_tie_sorted() -> None:
    # Two pods of a small fat-tree: four equal-cost paths between edge switches 7 and 9.
    edges = [(1, 3), (1, 5), (2, 4), (2, 6), (3, 7), (4, 7), (5, 9), (6, 9)]
    edges += [(1, 4), (1, 6), (2, 3), (2, 5)]
    router = Router(make_topo(edges))
    paths = router.equal_cost_paths(7, 9, "hop")
    assert [p.dpids for p in paths] == [
        (7, 3, 1, 5, 9),
        (7, 3, 1, 6, 9),
        (7, 3, 2, 5, 9),
        (7, 3, 2, 6, 9),
        (7, 4, 1, 5, 9),
        (7, 4, 1, 6, 9),
        (7, 4, 2, 5, 9),
        (7, 4, 2, 6, 9),
    ]
    assert len({p.total for p in paths}) == 1
    assert router.shortest_path(7, 9, "hop") == paths[0]


def test_equal_cost_paths_exclude_longer_paths() -> None:
    t = make_topo(RING4)
    set_both(t, 1, 4, latency_ms=3.0)
    router = Router(t)
    assert [p.dpids for p in router.equal_cost_paths(1, 3, "hop")] == [(1, 2, 3), (1, 4, 3)]
    assert [p.dpids for p in router.equal_cost_paths(1, 3, "latency")] == [(1, 2, 3)]


def test_float_rounding_near_ties_are_still_ties() -> None:
    # Both sides carry the same three latencies, summed in a different order:
    # (0.801 + 4.301) + 3.801 != (0.801 + 3.801) + 4.301 in binary floating point.
    t = make_topo([(1, 2), (2, 3), (3, 6), (1, 4), (4, 5), (5, 6)])
    for (u, v), lat in {(1, 2): 0.8, (2, 3): 4.3, (3, 6): 3.8}.items():
        set_link(t, u, v, latency_ms=lat)
    for (u, v), lat in {(1, 4): 0.8, (4, 5): 3.8, (5, 6): 4.3}.items():
        set_link(t, u, v, latency_ms=lat)
    paths = Router(t).equal_cost_paths(1, 6, "latency")
    assert [p.dpids for p in paths] == [(1, 2, 3, 6), (1, 4, 5, 6)]


# ---------------------------------------------------------------------- k shortest
def test_k_shortest_paths_ordered_by_total_then_dpids() -> None:
    t = make_topo([*RING4, (1, 3)])
    router = Router(t)
    paths = router.k_shortest_paths(1, 3, "hop", 10)
    assert [p.dpids for p in paths] == [(1, 3), (1, 2, 3), (1, 4, 3)]
    assert router.k_shortest_paths(1, 3, "hop", 1) == [router.shortest_path(1, 3, "hop")]
    assert [p.dpids for p in router.k_shortest_paths(1, 3, "hop", 2)] == [(1, 3), (1, 2, 3)]


def test_k_shortest_paths_follow_the_metric() -> None:
    t = make_topo([*RING4, (1, 3)])
    set_both(t, 1, 3, latency_ms=10.0)
    paths = Router(t).k_shortest_paths(1, 3, "latency", 3)
    assert [p.dpids for p in paths] == [(1, 2, 3), (1, 4, 3), (1, 3)]
    totals = [p.total for p in paths]
    assert totals == sorted(totals)


def test_k_shortest_paths_are_loop_free() -> None:
    router = Router(make_topo(_grid_edges(3)))
    for p in router.k_shortest_paths(1, 9, "hop", 12):
        assert len(set(p.dpids)) == len(p.dpids)
        assert p.dpids[0] == 1 and p.dpids[-1] == 9


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Router(make_topo(RING4)).k_shortest_paths(1, 3, "hop", 0)


# ---------------------------------------------------------------------- no path
@pytest.mark.parametrize("src,dst", [(1, 99), (99, 1), (98, 99)])
def test_unknown_switch_is_no_path(src: int, dst: int) -> None:
    router = Router(make_topo(RING4))
    for call in (router.shortest_path, router.equal_cost_paths):
        with pytest.raises(NoPath):
            call(src, dst, "hop")
    with pytest.raises(NoPath):
        router.k_shortest_paths(src, dst, "hop", 2)


def test_disconnected_switches_are_no_path() -> None:
    t = make_topo([(1, 2), (3, 4)])
    router = Router(t)
    with pytest.raises(NoPath):
        router.shortest_path(1, 4, "hop")
    with pytest.raises(NoPath):
        router.k_shortest_paths(1, 4, "hop", 3)
    assert issubclass(NoPath, LookupError)


def test_one_way_link_is_not_a_path_back() -> None:
    t = make_topo([(1, 2)])
    t.port_status(1, PortInfo(1, up=False), T0)  # drops both directions
    t.link_seen(LinkKey(2, 1, 1, 1), T0)  # refused: port 1 of s1 is down
    with pytest.raises(NoPath):
        Router(t).shortest_path(2, 1, "hop")
