"""NetworkGraph: switches, ports, directed links from LLDP, expiry and access ports."""

from __future__ import annotations

import pytest

from controller.config import Config
from controller.network.graph import NetworkGraph
from controller.network.model import OFPP_MAX, LinkKey, PortInfo

T0 = 100.0


def ports(*numbers: int, speed_bps: int = 0) -> list[PortInfo]:
    return [PortInfo(n, f"eth{n}", speed_bps=speed_bps) for n in numbers]


def both(topo: NetworkGraph, key: LinkKey, now: float = T0) -> None:
    """LLDP seen in both directions of a cable."""
    topo.link_seen(key, now)
    topo.link_seen(key.reverse(), now)


@pytest.fixture
def topo() -> NetworkGraph:
    """Three switches with ports 1..4 each, no links yet."""
    t = NetworkGraph(Config())
    for dpid in (1, 2, 3):
        t.add_switch(dpid, ports(1, 2, 3, 4), T0)
    return t


# ---------------------------------------------------------------------- switches
def test_add_switch_keeps_only_physical_ports() -> None:
    t = NetworkGraph()
    t.add_switch(7, [*ports(1, 2), PortInfo(0xFFFFFFFE, "local")], T0)
    assert t.has_switch(7)
    assert t.switches() == [7]
    assert sorted(t.ports(7)) == [1, 2]
    assert all(p.since == T0 for p in t.ports(7).values())
    assert 0xFFFFFFFE >= OFPP_MAX


def test_remove_switch_removes_its_links_in_both_directions(topo: NetworkGraph) -> None:
    both(topo, LinkKey(1, 2, 2, 2))
    both(topo, LinkKey(2, 3, 3, 3))
    change = topo.remove_switch(2)
    assert set(change.removed) == {
        LinkKey(1, 2, 2, 2),
        LinkKey(2, 2, 1, 2),
        LinkKey(2, 3, 3, 3),
        LinkKey(3, 3, 2, 3),
    }
    assert not topo.has_switch(2)
    assert list(topo.links()) == []
    assert not topo.remove_switch(2)  # unknown: no change


def test_switch_reconnect_replaces_ports_and_drops_links(topo: NetworkGraph) -> None:
    both(topo, LinkKey(1, 2, 2, 2))
    version = topo.structure_version
    change = topo.add_switch(2, ports(1, 2), T0 + 5)
    assert set(change.removed) == {LinkKey(1, 2, 2, 2), LinkKey(2, 2, 1, 2)}
    assert sorted(topo.ports(2)) == [1, 2]
    assert topo.ports(2)[1].since == T0 + 5
    assert topo.structure_version > version


# ---------------------------------------------------------------------- links
def test_a_link_needs_lldp_both_ways(topo: NetworkGraph) -> None:
    """One direction alone is what two hosts relaying a probe between their access ports
    could fake: it makes no edge (its ports are no access ports meanwhile)."""
    key = LinkKey(1, 2, 2, 3)
    change = topo.link_seen(key, T0)
    assert not change and list(topo.links()) == []
    assert topo.edge(1, 2) is None and topo.edge(2, 1) is None
    change = topo.link_seen(key.reverse(), T0)
    assert set(change.added) == {key, key.reverse()} and not change.removed
    assert set(topo.links()) == {key, key.reverse()}
    assert topo.out_port(1, 2) == 2 and topo.out_port(2, 1) == 3
    assert topo.link_ports() == {(1, 2), (2, 3)}


def test_link_seen_again_only_refreshes(topo: NetworkGraph) -> None:
    key = LinkKey(1, 2, 2, 3)
    both(topo, key)
    version = topo.structure_version
    change = topo.link_seen(key, T0 + 1)
    assert not change
    assert topo.link(key).last_seen == T0 + 1
    assert topo.structure_version == version


@pytest.mark.parametrize(
    "key",
    [
        LinkKey(1, 2, 1, 3),  # a loop on one switch
        LinkKey(1, 2, 9, 1),  # unknown switch
        LinkKey(1, 9, 2, 1),  # unknown port
    ],
)
def test_link_seen_ignores_impossible_links(topo: NetworkGraph, key: LinkKey) -> None:
    assert not topo.link_seen(key, T0)
    assert list(topo.links()) == []


def test_link_seen_ignores_a_down_port(topo: NetworkGraph) -> None:
    topo.port_status(2, PortInfo(1, up=False), T0)
    assert not topo.link_seen(LinkKey(1, 1, 2, 1), T0)


def test_parallel_cable_is_kept_aside_and_takes_over_when_the_first_fails(
    topo: NetworkGraph,
) -> None:
    first, second = LinkKey(1, 1, 2, 1), LinkKey(1, 2, 2, 2)
    both(topo, first)
    topo.link_seen(second, T0 + 1)
    change = topo.link_seen(second.reverse(), T0 + 1)
    assert not change  # the edges stay on the first cable while it is alive
    assert set(topo.links()) == {first, first.reverse()}
    assert topo.is_link_port(1, 2) and topo.is_link_port(2, 2)  # never access ports
    change = topo.port_status(1, PortInfo(1, up=False), T0 + 2)
    assert set(change.removed) == {first, first.reverse()}
    assert set(change.added) == {second, second.reverse()}
    assert set(topo.links()) == {second, second.reverse()}


def test_two_live_parallel_links_do_not_flap(topo: NetworkGraph) -> None:
    a, b = LinkKey(1, 1, 2, 1), LinkKey(1, 2, 2, 2)
    topo.link_seen(a, T0)
    topo.link_seen(b, T0)
    changes = []
    for i in range(1, 4):  # LLDP rounds: both cables keep answering
        changes.append(topo.link_seen(a, T0 + i))
        changes.append(topo.link_seen(b, T0 + i))
    assert not any(changes), [c for c in changes if c]


def test_recabling_replaces_the_link_that_claimed_the_port(topo: NetworkGraph) -> None:
    old = LinkKey(1, 2, 2, 2)
    both(topo, old)
    new = LinkKey(1, 2, 3, 4)  # s1 port 2 now goes to s3 port 4
    change = topo.link_seen(new, T0 + 1)
    assert set(change.removed) == {old, old.reverse()} and not change.added
    change = topo.link_seen(new.reverse(), T0 + 1)
    assert set(change.added) == {new, new.reverse()}
    assert set(topo.links()) == {new, new.reverse()}


def test_recabling_drops_the_old_cable_in_both_directions(topo: NetworkGraph) -> None:
    both(topo, LinkKey(1, 2, 2, 2))
    both(topo, LinkKey(1, 2, 3, 4), T0 + 1)
    claims = {k for k in topo.links() if (1, 2) in ((k.src, k.src_port), (k.dst, k.dst_port))}
    assert claims == {LinkKey(1, 2, 3, 4), LinkKey(3, 4, 1, 2)}


def test_port_down_removes_both_directions(topo: NetworkGraph) -> None:
    both(topo, LinkKey(1, 2, 2, 2))
    both(topo, LinkKey(2, 3, 3, 3))
    change = topo.port_status(2, PortInfo(2, up=False), T0 + 1)
    assert set(change.removed) == {LinkKey(1, 2, 2, 2), LinkKey(2, 2, 1, 2)}
    assert set(topo.links()) == {LinkKey(2, 3, 3, 3), LinkKey(3, 3, 2, 3)}
    assert not topo.ports(2)[2].up


def test_port_deleted_removes_links_and_the_port(topo: NetworkGraph) -> None:
    both(topo, LinkKey(1, 2, 2, 2))
    change = topo.port_status(1, PortInfo(2), T0 + 1, deleted=True)
    assert len(change.removed) == 2
    assert 2 not in topo.ports(1)


def test_port_status_on_unknown_switch_or_reserved_port_is_ignored(topo: NetworkGraph) -> None:
    assert not topo.port_status(9, PortInfo(1, up=False), T0)
    assert not topo.port_status(1, PortInfo(0xFFFFFFFE, up=False), T0)
    assert 0xFFFFFFFE not in topo.ports(1)


def test_expire_links_drops_only_silent_links(topo: NetworkGraph) -> None:
    cfg = topo.config
    fresh, stale = LinkKey(1, 2, 2, 2), LinkKey(2, 3, 3, 3)
    both(topo, stale, T0)
    both(topo, fresh, T0 + cfg.link_timeout)
    assert not topo.expire_links(T0 + cfg.link_timeout)  # exactly at the timeout: kept
    change = topo.expire_links(T0 + cfg.link_timeout + 0.01)
    assert set(change.removed) == {stale, stale.reverse()}
    assert set(topo.links()) == {fresh, fresh.reverse()}


def test_a_direction_stays_while_it_is_seen_and_returns_with_the_other(
    topo: NetworkGraph,
) -> None:
    key = LinkKey(1, 2, 2, 2)
    both(topo, key, T0)
    topo.link_seen(key, T0 + 3)  # only one direction keeps answering
    change = topo.expire_links(T0 + topo.config.link_timeout + 0.01)
    assert change.removed == (key.reverse(),) and list(topo.links()) == [key]
    change = topo.link_seen(key.reverse(), T0 + 5)
    assert change.added == (key.reverse(),)


# ---------------------------------------------------------------------- access ports
def test_access_port_needs_the_quiet_period(topo: NetworkGraph) -> None:
    quiet = 2 * topo.config.lldp_interval
    assert not topo.is_access_port(1, 1, T0)
    assert not topo.is_access_port(1, 1, T0 + quiet - 0.01)
    assert topo.is_access_port(1, 1, T0 + quiet)
    assert topo.access_ports(T0 + quiet - 0.01)[1] == []
    assert topo.access_ports(T0 + quiet)[1] == [1, 2, 3, 4]


def test_link_ports_and_down_or_unknown_ports_are_not_access(topo: NetworkGraph) -> None:
    later = T0 + 10
    both(topo, LinkKey(1, 2, 2, 2))
    topo.port_status(1, PortInfo(3, up=False), T0)
    assert not topo.is_access_port(1, 2, later)
    assert not topo.is_access_port(1, 3, later)
    assert not topo.is_access_port(1, 9, later)
    assert not topo.is_access_port(9, 1, later)
    assert topo.access_ports(later)[1] == [1, 4]
    assert topo.access_ports(later)[2] == [1, 3, 4]


def test_port_coming_back_up_starts_a_new_quiet_period(topo: NetworkGraph) -> None:
    quiet = 2 * topo.config.lldp_interval
    topo.port_status(1, PortInfo(1, up=False), T0 + 10)
    topo.port_status(1, PortInfo(1, up=True), T0 + 20)
    assert not topo.is_access_port(1, 1, T0 + 20 + quiet / 2)
    assert topo.is_access_port(1, 1, T0 + 20 + quiet)
    # A modification of an up port keeps its history.
    topo.port_status(1, PortInfo(1, name="renamed"), T0 + 30)
    assert topo.is_access_port(1, 1, T0 + 30)


# ---------------------------------------------------------------------- capacity
def test_capacity_default_when_port_reports_no_speed() -> None:
    t = NetworkGraph(Config(default_capacity_bps=123_000))
    t.add_switch(1, ports(1), T0)
    t.add_switch(2, ports(1), T0)
    both(t, LinkKey(1, 1, 2, 1))
    assert t.edge(1, 2).capacity_bps == 123_000  # type: ignore[union-attr]


def test_capacity_port_speed_beats_default() -> None:
    t = NetworkGraph(Config(default_capacity_bps=123_000))
    t.add_switch(1, ports(1, speed_bps=10_000_000), T0)
    t.add_switch(2, ports(1, speed_bps=20_000_000), T0)
    both(t, LinkKey(1, 1, 2, 1))
    assert t.edge(1, 2).capacity_bps == 10_000_000  # type: ignore[union-attr]
    assert t.edge(2, 1).capacity_bps == 20_000_000  # type: ignore[union-attr]


def test_capacity_config_override_beats_port_speed() -> None:
    t = NetworkGraph(Config(link_capacity_bps={"0x1-2": 5_000}))
    t.add_switch(1, ports(1, speed_bps=10_000_000), T0)
    t.add_switch(2, ports(1, speed_bps=10_000_000), T0)
    both(t, LinkKey(1, 1, 2, 1))
    assert t.edge(1, 2).capacity_bps == 5_000  # type: ignore[union-attr]
    assert t.edge(2, 1).capacity_bps == 10_000_000  # type: ignore[union-attr]  # directional


def test_version_bumps_on_structural_changes_only(topo: NetworkGraph) -> None:
    v0 = topo.structure_version
    both(topo, LinkKey(1, 2, 2, 2), T0)
    v1 = topo.structure_version
    assert v1 > v0
    both(topo, LinkKey(1, 2, 2, 2), T0 + 1)
    assert topo.structure_version == v1
    topo.port_status(1, PortInfo(2, up=False), T0 + 2)
    assert topo.structure_version > v1


def test_a_neighbour_port_is_held_when_a_switch_or_the_far_port_goes(topo: NetworkGraph) -> None:
    """The far end's port stays up and may still carry frames: not an access port yet."""
    for remove in ("switch", "port"):
        t = NetworkGraph(topo.config)
        t.add_switch(1, [PortInfo(1)], 0.0)
        t.add_switch(2, [PortInfo(1)], 0.0)
        t.link_seen(LinkKey(1, 1, 2, 1), 1.0)
        t.link_seen(LinkKey(2, 1, 1, 1), 1.0)
        if remove == "switch":
            t.remove_switch(2, 5.0)
        else:
            t.port_status(2, PortInfo(1, up=False), 5.0)
        assert not t.is_access_port(1, 1, 5.01), remove
        assert t.is_access_port(1, 1, 5.0 + t.config.former_link_hold + 0.1), remove
