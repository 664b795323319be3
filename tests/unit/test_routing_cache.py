"""The path cache: repeated queries are served from it; any change empties it."""

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
    topo.edge(1, 2).cost_override = 10.0
    topo.refresh_weights(1, 2)  # a weight change empties the cache
    assert router.shortest_path(1, 3, "cost").dpids == (1, 4, 3)
    topo.expire_links(100.0)  # every link times out: a structural change
    assert not list(topo.links())


def test_an_unchanged_refresh_keeps_the_cache() -> None:
    topo = ring4()
    router = Router(topo)
    first = router.shortest_path(1, 3, "hop")
    topo.refresh_weights(1, 2)  # same weights: nothing to invalidate
    assert router.shortest_path(1, 3, "hop") is first
