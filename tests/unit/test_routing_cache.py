"""The path cache: repeated queries are served from it; a change of the structure or
of a weight under the query's metric empties it, a change under another metric does not."""

from __future__ import annotations

from controller.config import Config
from controller.network.graph import NetworkGraph
from controller.network.model import LinkKey, PortInfo
from controller.routing.paths import Router


def ring4() -> NetworkGraph:
    topo = NetworkGraph(Config())
    for d in range(1, 5):
        topo.add_switch(d, [PortInfo(1), PortInfo(2), PortInfo(3)], 0.0)
    for a in range(1, 5):
        b = a % 4 + 1
        topo.link_seen(LinkKey(a, 2, b, 3), 1.0)
        topo.link_seen(LinkKey(b, 3, a, 2), 1.0)
    return topo


def test_repeated_queries_hit_the_cache_and_changes_invalidate_it() -> None:
    topo = ring4()
    router = Router(topo)
    first = router.shortest_path(1, 3, "cost")
    assert router.shortest_path(1, 3, "cost") is first  # served from the cache
    assert first.dpids == (1, 2, 3)
    topo.update_link(1, 2, cost_override=10.0)  # a weight change empties the cache
    assert router.shortest_path(1, 3, "cost").dpids == (1, 4, 3)
    topo.expire_links(100.0)  # every link times out: a structural change
    assert not list(topo.links())


def test_an_unchanged_refresh_keeps_the_cache() -> None:
    topo = ring4()
    router = Router(topo)
    first = router.shortest_path(1, 3, "hop")
    topo.update_link(1, 2)  # re-weighed, same weights: nothing to invalidate
    assert router.shortest_path(1, 3, "hop") is first


def test_traffic_changes_keep_the_hop_cache_and_empty_the_utilization_cache() -> None:
    topo = ring4()
    router = Router(topo)
    hop = router.shortest_path(1, 3, "hop")
    util = router.shortest_path(1, 3, "utilization")
    hits = router.cache_hits
    for u, v in ((1, 2), (2, 3)):  # a port-stats round: traffic on the short path
        topo.update_link(u, v, tx_bps=9e8, utilization=0.9)
    assert router.shortest_path(1, 3, "hop") is hop  # hop weights did not move
    assert router.cache_hits == hits + 1
    moved = router.shortest_path(1, 3, "utilization")
    assert moved is not util and moved.dpids == (1, 4, 3)
    assert router.cache_misses == 3


def test_update_link_rejects_unknown_fields() -> None:
    topo = ring4()
    try:
        topo.update_link(1, 2, utilisation=0.5)
    except AttributeError as exc:
        assert "utilisation" in str(exc)
    else:
        raise AssertionError("a misspelt field was accepted")
