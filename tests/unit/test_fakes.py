"""The test doubles themselves: the fake flow table and the fake network's wiring."""

from __future__ import annotations

import pytest

from controller.southbound.messages import (
    COOKIE_APP,
    COOKIE_APP_MASK,
    COOKIE_PORT_MISS,
    OFPP_CONTROLLER,
    FlowAdd,
    FlowDelete,
    Match,
)
from tests.fakes import AmbiguousFlows, FakeFlowTables, FakeNetwork, LoopDetected
from topologies import spec

A, B = "00:00:00:00:00:01", "00:00:00:00:00:02"


def test_empty_table_and_unknown_switch_match_nothing() -> None:
    t = FakeFlowTables()
    assert t.lookup(1, 1, A, B) is None
    t.apply(FlowAdd(1, Match(in_port=1, eth_src=A, eth_dst=B), 2, 100, COOKIE_APP | 1))
    assert t.lookup(2, 1, A, B) is None
    assert t.lookup(1, 3, A, B) is None


def test_highest_priority_wins_and_table_miss_goes_to_the_controller() -> None:
    t = FakeFlowTables()
    t.apply(FlowAdd(1, Match(), OFPP_CONTROLLER, 0, COOKIE_APP))
    t.apply(FlowAdd(1, Match(eth_type=0x88CC), OFPP_CONTROLLER, 65000, COOKIE_APP))
    t.apply(FlowAdd(1, Match(in_port=1, eth_src=A, eth_dst=B), 2, 100, COOKIE_APP | 1))
    assert t.lookup(1, 1, A, B) == 2
    assert t.lookup(1, 1, A, B, eth_type=0x88CC) == OFPP_CONTROLLER
    assert t.lookup(1, 1, B, A) == OFPP_CONTROLLER
    assert t.lookup(1, 1, A.upper(), B) == 2


def test_same_priority_and_match_replaces() -> None:
    t = FakeFlowTables()
    t.apply(FlowAdd(1, Match(in_port=1, eth_src=A, eth_dst=B), 2, 100, COOKIE_APP | 1))
    t.apply(FlowAdd(1, Match(in_port=1, eth_src=A.upper(), eth_dst=B), 3, 100, COOKIE_APP | 2))
    assert len(t.table(1)) == 1
    assert t.lookup(1, 1, A, B) == 3


def test_overlapping_entries_of_one_priority_are_reported() -> None:
    t = FakeFlowTables()
    t.apply(FlowAdd(1, Match(eth_src=A), 2, 100, COOKIE_APP | 1))
    t.apply(FlowAdd(1, Match(eth_dst=B), 3, 100, COOKIE_APP | 2))
    with pytest.raises(AmbiguousFlows):
        t.lookup(1, 1, A, B)


def test_delete_by_cookie_and_mask() -> None:
    t = FakeFlowTables()
    t.apply(FlowAdd(1, Match(in_port=1), 2, 100, COOKIE_APP | 1))
    t.apply(FlowAdd(1, Match(in_port=2), 1, 100, COOKIE_APP | 2))
    t.apply(FlowAdd(1, Match(in_port=3), 1, 100, 0x42))  # somebody else's flow
    t.apply(FlowDelete(1, COOKIE_APP | 1))
    assert [e.cookie for _, e in t.flows(1)] == [COOKIE_APP | 2, 0x42]
    t.apply(FlowDelete(1, COOKIE_APP, COOKIE_APP_MASK))
    assert [e.cookie for _, e in t.flows(1)] == [0x42]


def test_a_strict_delete_takes_one_entry_and_only_while_its_cookie_matches() -> None:
    t = FakeFlowTables()
    m1, m2 = Match(in_port=1, eth_src=A, eth_dst=B), Match(in_port=2, eth_src=A, eth_dst=B)
    t.apply(FlowAdd(1, m1, 2, 100, COOKIE_APP | 1))
    t.apply(FlowAdd(1, m2, 1, 100, COOKIE_APP | 1))
    t.apply(FlowDelete(1, COOKIE_APP | 9, match=m1, priority=100))  # another cookie now
    assert len(t.table(1)) == 2
    t.apply(FlowDelete(1, COOKIE_APP | 1, match=m1, priority=100))
    assert [e.match for _, e in t.flows(1)] == [m2]


def test_the_switches_answer_flow_stats_and_keep_their_tables_across_a_restart() -> None:
    net = FakeNetwork(spec.linear(2).to_networkx())
    net.discover()
    flows = net.tables.flows()
    old = net.core
    new = net.restart_controller()
    assert new is not old and new.nonce != old.nonce and net.connected == set()
    assert net.tables.flows() == flows
    seen: list[tuple[int, int]] = []
    new.on_flow_stats = lambda dpid, fl, now: seen.append((dpid, len(fl)))  # type: ignore[method-assign]
    net.connect(1)
    # The reply lists what the table held when the request arrived: before the per-port
    # miss entries, cleared at switch up, were set again.
    held = [e for _, e in net.tables.flows(1) if e.cookie != COOKIE_PORT_MISS]
    assert seen == [(1, len(held))]


def test_network_wiring_and_hosts() -> None:
    net = FakeNetwork(spec.linear(3).to_networkx(), extra_ports=1)
    assert net.link_port(1, 2) == 2 and net.wires[(1, 2)] == (2, 2)
    assert net.wires[(2, 3)] == (3, 2)
    assert net.free_ports(2) == [4]
    h1 = net.host("h1")
    assert (h1.dpid, h1.port, h1.mac, h1.ip) == (1, 1, A, "10.0.0.1")
    with pytest.raises(KeyError):
        net.link_port(1, 3)


def test_a_forwarding_loop_is_detected() -> None:
    net = FakeNetwork(spec.ring(3).to_networkx())
    net.connected.update({1, 2, 3})
    for d in (1, 2, 3):  # everything goes round the ring
        nxt = d % 3 + 1
        net.tables.apply(FlowAdd(d, Match(), net.link_port(d, nxt), 1, COOKIE_APP))
    with pytest.raises(LoopDetected):
        net.send("h1", net.ipv4("h1", "h2"))
