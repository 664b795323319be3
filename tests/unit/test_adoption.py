"""A controller restart without an outage: the new process adopts the flows it finds.

The fake network's switches keep their flow tables when the controller is replaced
(``FakeNetwork.restart_controller``), as OVS in secure fail mode does; the new core reads
them at switch up and decides what to keep (controller/forwarding/adoption.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import networkx as nx

from controller.forwarding.plan import Direction, PairKey
from controller.forwarding.records import PairState
from controller.northbound import api
from controller.northbound.view import ControllerView
from controller.southbound.messages import (
    COOKIE_APP,
    COOKIE_BASE,
    COOKIE_PORT_MISS,
    OFPP_CONTROLLER,
    FlowAdd,
    FlowDelete,
    Match,
    path_cookie,
    split_cookie,
)
from tests.fakes import FakeNetwork, FlowEntry
from topologies.spec import parse_spec

FOREIGN = FlowAdd(2, Match(eth_dst="00:00:00:00:00:98"), 3, 5, 0x1234)


def ring(n: int) -> nx.Graph:
    return parse_spec(f"ring,{n}").to_networkx()


def ready(graph: nx.Graph, hosts: Mapping[str, int] | None = None, **kwargs: Any) -> FakeNetwork:
    net = FakeNetwork(graph, hosts, **kwargs)
    net.discover()
    net.announce_all()
    return net


def pair_state(net: FakeNetwork) -> dict[PairKey, tuple[int, int, Any]]:
    return {k: (r.pair_id, r.generation, r.hops) for k, r in net.runtime.pairs.items()}


def path_flows(net: FakeNetwork) -> set[tuple[int, FlowEntry]]:
    return {(d, e) for d, e in net.tables.flows() if e.cookie != COOKIE_BASE}


def restarted(net: FakeNetwork, nonce: int | None = None) -> None:
    """The controller restarts and every switch reconnects to the new process."""
    net.restart_controller(nonce)
    net.start()


def wait_grace(net: FakeNetwork) -> None:
    net.advance(net.core.adoption.grace + 2 * net.config.lldp_interval)


def get(net: FakeNetwork, path: str) -> Any:
    reply = api.handle(api.ApiContext(ControllerView(net.core)), api.Request("GET", path))
    assert reply.status == 200, reply.body
    return reply.body


def test_complete_paths_are_adopted_as_they_are_and_forward_throughout() -> None:
    net = ready(ring(4))
    assert net.deliver("h1", "h3") == [1, 2, 3]
    net.deliver("h2", "h4")
    before, flows = pair_state(net), path_flows(net)
    restarted(net)
    assert path_flows(net) == flows  # switch up deleted nothing
    end = net.now + net.core.adoption.grace + 2
    while net.now < end:  # packets follow the old flows while the view is rebuilt
        assert net.walk("h1", "h3") == [1, 2, 3] and net.walk("h3", "h1") == [3, 2, 1]
        net.advance(net.config.lldp_interval / 2)
    # Adopted as installed routes: same pair ids, generations, hops; nothing re-installed.
    assert pair_state(net) == before
    assert all(r.state is PairState.INSTALLED for r in net.runtime.pairs.values())
    assert net.counters.paths_adopted == 2 and net.counters.installs_started == 0
    assert path_flows(net) == flows
    routes = get(net, "/v1/routes")
    h1, h3 = net.host("h1"), net.host("h3")
    (r13,) = [r for r in routes if set(r["hosts"]) == {h1.mac, h3.mac}]
    assert [hop["dpid"] for hop in r13["hops"]] == [f"{d:016x}" for d in (1, 2, 3)]
    # Its hosts are known where the flows put them (no frame of theirs reached the new core).
    known = net.core.hosts.table.by_mac(h1.mac)
    assert known is not None and (known.dpid, known.port) == (h1.dpid, h1.port)
    assert net.deliver("h1", "h3") == [1, 2, 3] and net.counters.installs_started == 0
    # The adopted record is a route like any other: a cut reroutes it, an idle-out counts.
    net.link_down(1, 2)
    assert net.walk("h1", "h3") == [1, 4, 3]
    record = net.runtime.record(h1.mac, h3.mac)
    assert record is not None
    d = record.key.direction_from(h1.mac)
    net.idle_timeout(record.ingress(d), record.flow_cookie(d))
    assert record.live == {Direction(1 - d)}


def test_stale_incomplete_and_strange_flows_are_kept_for_the_grace_period_then_deleted() -> None:
    net = ready(ring(4))
    net.deliver("h1", "h3")  # 1-2-3
    net.deliver("h2", "h4")
    h1, h2, h3, h4 = (net.host(n) for n in ("h1", "h2", "h3", "h4"))
    r13, r24 = net.runtime.record(h1.mac, h3.mac), net.runtime.record(h2.mac, h4.mac)
    assert r13 is not None and r24 is not None
    # An interrupted reroute of h1 -> h3: a newer generation, on s4 only.
    d13 = r13.key.direction_from(h1.mac)
    newer = FlowAdd(
        4,
        Match(in_port=net.link_port(4, 1), eth_src=h1.mac, eth_dst=h3.mac),
        net.link_port(4, 3),
        net.config.flow_priority,
        path_cookie(r13.pair_id, r13.generation + 1, d13),
        net.config.idle_timeout,
    )
    # h2 -> h4 lost its flow on the transit switch: that pair is incomplete.
    d24 = r24.key.direction_from(h2.mac)
    transit = r24.hops[d24][1]
    net.tables.table(transit.dpid).remove_cookie(r24.flow_cookie(d24))
    odd = FlowAdd(2, Match(eth_dst="00:00:00:00:00:99"), 3, 5, COOKIE_APP | 0xDEADBEEF)
    stray = FlowAdd(3, Match(eth_type=0x0806), OFPP_CONTROLLER, 7, COOKIE_BASE)
    net.tables.apply_all([newer, odd, stray, FOREIGN])
    flows_24 = net.tables.with_cookie(r24.cookie)
    restarted(net)
    net.advance(net.core.adoption.grace - 1)  # h1 <-> h3 adopted; the rest still waits
    assert net.runtime.record(h1.mac, h3.mac) is not None
    assert [e for _, e in net.tables.flows(4) if e.cookie == newer.cookie] == []  # gone
    for flow in (odd, stray):
        assert any(e.cookie == flow.cookie for _, e in net.tables.flows(flow.dpid))
    assert net.tables.with_cookie(r24.cookie) == flows_24
    assert net.walk("h4", "h2")  # its intact direction still forwards meanwhile
    wait_grace(net)
    cookies = {e.cookie for _, e in net.tables.flows()}
    assert odd.cookie not in cookies and FOREIGN.cookie in cookies
    assert [e for _, e in net.tables.flows(3) if e.cookie == COOKIE_BASE and e.priority == 7] == []
    assert net.tables.with_cookie(r24.cookie) == []
    assert net.runtime.record(h2.mac, h4.mac) is None
    assert net.counters.found_flows_deleted == 1 + len(flows_24) + 2
    # The adopted pair never noticed; the deleted one is installed again on demand (its
    # hosts, unknown to the new process, are learned from their frames).
    assert net.walk("h1", "h3") == [1, 2, 3]
    net.deliver("h2", "h4")
    net.deliver("h4", "h2")
    fresh = net.runtime.record(h2.mac, h4.mac)
    assert fresh is not None and fresh.pair_id != r24.pair_id


def test_a_host_that_moved_while_the_controller_was_down_is_not_adopted_where_it_was() -> None:
    net = ready(ring(4), extra_ports=1)
    net.deliver("h1", "h3")
    h1, h3 = net.host("h1"), net.host("h3")
    old = net.runtime.record(h1.mac, h3.mac)
    assert old is not None
    restarted(net)
    net.advance(0.5)
    net.move_host("h1", 2)  # its old port went down: the flows from it lead nowhere
    net.advance(3)
    net.announce("h1")
    assert net.runtime.record(h1.mac, h3.mac) is None  # not adopted at the dead port
    wait_grace(net)
    assert net.tables.with_cookie(old.cookie) == []
    known = net.core.hosts.table.by_mac(h1.mac)
    assert known is not None and (known.dpid, known.port) == (2, h1.port)
    assert net.deliver("h3", "h1")[-1] == 2 and net.deliver("h1", "h3")[0] == 2


def test_a_host_heard_elsewhere_first_makes_its_found_pair_go_at_once() -> None:
    net = ready(ring(4), extra_ports=1)
    net.deliver("h1", "h3")
    h1, h3 = net.host("h1"), net.host("h3")
    old = net.runtime.record(h1.mac, h3.mac)
    assert old is not None
    restarted(net)
    t0 = net.now
    net.move_host("h1", 2, unplug=False)  # left its port (still up) for s2
    net.advance(1)
    net.now += 1  # s2's ports just became access ports; no housekeeping ran yet
    net.announce("h1")  # heard at s2 before its pair's flows could be adopted
    net.advance(2)  # links found: the flows are complete, but h1 is elsewhere now
    assert net.now - t0 < net.core.adoption.grace  # deleted without waiting for it
    assert net.runtime.record(h1.mac, h3.mac) is None
    assert net.tables.with_cookie(old.cookie) == []
    assert net.deliver("h3", "h1")[-1] == 2


def test_a_host_silent_until_its_pair_was_adopted_moves_when_it_speaks() -> None:
    net = ready(ring(4), extra_ports=1)
    net.deliver("h1", "h3")
    h1, h3 = net.host("h1"), net.host("h3")
    restarted(net)
    net.move_host("h1", 2, unplug=False)
    wait_grace(net)  # h1 said nothing: adopted where the flows put it
    adopted = net.runtime.record(h1.mac, h3.mac)
    assert adopted is not None and adopted.hops[adopted.key.direction_from(h1.mac)][0].dpid == 1
    net.announce("h1")  # no frame of it ever reached this process: believed at once
    known = net.core.hosts.table.by_mac(h1.mac)
    assert known is not None and (known.dpid, known.port) == (2, h1.port)
    assert net.tables.with_cookie(adopted.cookie) == []
    assert net.deliver("h3", "h1")[-1] == 2


def test_flows_over_a_link_that_failed_meanwhile_go_at_once_and_the_pair_reroutes() -> None:
    net = ready(ring(4))
    net.deliver("h1", "h3")  # 1-2-3
    h1, h3 = net.host("h1"), net.host("h3")
    old = net.runtime.record(h1.mac, h3.mac)
    assert old is not None
    net.restart_controller()
    net.link_down(2, 3)  # nobody was connected to hear of it
    net.start()
    net.advance(1)  # the first try: s2's flow leads out of a down port
    assert net.tables.with_cookie(old.cookie) == []
    net.advance(2)
    net.deliver("h1", "h3")  # h3 is unknown to this process: flooded, and h1 learned
    assert net.deliver("h3", "h1") == [3, 4, 1] and net.walk("h1", "h3") == [1, 4, 3]


def test_a_switch_reconnecting_to_a_running_controller_keeps_its_pairs_current_flows() -> None:
    net = ready(ring(4))
    net.deliver("h1", "h3")  # 1-2-3
    record = net.runtime.record(net.host("h1").mac, net.host("h3").mac)
    assert record is not None
    older = FlowAdd(  # an entry of an earlier installation, left on s4
        4,
        Match(in_port=net.link_port(4, 1), eth_src=record.a, eth_dst=record.b),
        net.link_port(4, 3),
        net.config.flow_priority,
        path_cookie(record.pair_id, record.generation - 1, 0),
        net.config.idle_timeout,
    )
    current = set(net.tables.with_cookie(record.cookie))
    net.tables.apply(older)
    mark = len(net.sent)
    net.connect(4)  # s4 reconnects (no switch-down seen); its flows are read
    assert [e for _, e in net.tables.flows(4) if e.cookie == older.cookie] == []  # at once
    deletes = [m for m in net.sent[mark:] if isinstance(m, FlowDelete)]
    # Path flows: only the older installation's entry; besides, the per-port miss entries
    # are cleared at switch up (and set again: see controller.discovery.miss_meter).
    assert deletes == [
        FlowDelete(4, COOKIE_PORT_MISS),
        FlowDelete(4, older.cookie, match=older.match, priority=older.priority),
    ]
    net.advance(3)
    assert net.walk("h1", "h3") == [1, 2, 3] and net.counters.paths_adopted == 0
    assert set(net.tables.with_cookie(record.cookie)) == current


def test_new_pairs_never_take_a_pair_id_read_from_a_switch() -> None:
    """Same nonce: the new process counts pair ids from where the old one did."""
    hosts = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 1}
    net = ready(ring(4), hosts)
    net.deliver("h1", "h3")
    net.deliver("h2", "h4")
    old_ids = {r.pair_id for r in net.runtime.pairs.values()}
    flows = path_flows(net)
    restarted(net, nonce=net.core.nonce)
    net.advance(2.5)  # access ports quiet; s1's flows read (links not all known yet)
    net.deliver("h5", "h1")  # a new pair on s1 alone
    new = net.runtime.record(net.host("h5").mac, net.host("h1").mac)
    assert new is not None and new.pair_id not in old_ids
    wait_grace(net)
    assert {r.pair_id for r in net.runtime.pairs.values()} == old_ids | {new.pair_id}
    assert flows <= path_flows(net)  # no adopted flow was touched
    net.deliver("h2", "h5")
    assert len({r.pair_id for r in net.runtime.pairs.values()}) == 4


def test_a_pair_id_clash_with_a_late_switch_hurts_neither_pair() -> None:
    """A new pair took, before a switch connected, the id its old flows carry: those
    flows are not adopted, and deleting them (strictly) leaves the new pair's alone."""
    hosts = {"h1": 1, "h2": 2, "h3": 3, "h4": 3}
    net = ready(parse_spec("linear,3").to_networkx(), hosts)
    net.deliver("h1", "h2")
    old = net.runtime.record(net.host("h1").mac, net.host("h2").mac)
    assert old is not None
    net.restart_controller(nonce=net.core.nonce)
    net.connect(3)
    net.advance(2.5)
    net.announce("h3")
    net.announce("h4")
    net.deliver("h3", "h4")  # s1, s2 not read yet: the old pair's id is free to take
    new = net.runtime.record(net.host("h3").mac, net.host("h4").mac)
    assert new is not None and new.pair_id == old.pair_id
    net.start()
    net.advance(3)
    assert net.walk("h1", "h2") == [1, 2]  # still forwarding on the old flows
    assert net.runtime.record(net.host("h1").mac, net.host("h2").mac) is None
    wait_grace(net)
    sent = [m for m in net.sent if isinstance(m, FlowDelete) and m.cookie == old.flow_cookie(0)]
    assert sent and all(m.match is not None for m in sent)  # strict deletes only
    assert net.walk("h3", "h4") == [3] and net.walk("h4", "h3") == [3]
    net.announce("h1")
    net.announce("h2")
    assert net.deliver("h1", "h2") == [1, 2]  # re-installed under a fresh id
    fresh = net.runtime.record(net.host("h1").mac, net.host("h2").mac)
    assert fresh is not None and fresh.pair_id != new.pair_id


def two_pairs_restarted_with(**limits: int) -> FakeNetwork:
    """h1 <-> h3 and h2 <-> h4 installed, then a restart under tighter ``limits`` and its
    grace period over."""
    net = ready(ring(4))
    net.deliver("h1", "h3")
    net.deliver("h2", "h4")
    net.config = dataclasses.replace(net.config, **limits)  # type: ignore[arg-type]
    restarted(net)
    wait_grace(net)
    return net


def test_found_pairs_beyond_max_pairs_are_not_adopted_and_their_flows_go() -> None:
    """A switch reports pairs' flows at connection: adoption fills the pair table only up
    to ``max_pairs`` (a switch cannot grow it by what it claims to hold)."""
    net = two_pairs_restarted_with(max_pairs=1)
    assert len(net.runtime.pairs) == 1 and net.counters.paths_adopted == 1
    (kept,) = net.runtime.pairs.values()
    pair_ids = {p[0] for _, e in net.tables.flows() if (p := split_cookie(e.cookie))}
    assert pair_ids == {kept.pair_id}  # the other pair's flows are gone from every switch
    assert net.counters.found_flows_deleted > 0


def test_the_pool_of_found_flows_is_bounded_whatever_a_switch_claims_to_hold() -> None:
    """A switch reporting thousands of path flows (distinct pair ids, or one id over and
    over) fills the pool only to its bounds; the rest is deleted at once, and the pair
    ids reserved meanwhile are free again once the pool is decided."""
    from controller.forwarding.adoption import MAX_FOUND_PER_PAIR

    net = ready(ring(4))
    net.config = dataclasses.replace(net.config, max_pairs=10)
    many_ids = [
        FlowAdd(2, Match(in_port=1, eth_src=f"02:00:00:00:{i >> 8:02x}:{i & 0xFF:02x}",
                         eth_dst="02:00:00:00:ff:ff"), 3, 5, path_cookie(1000 + i, 1, 0))
        for i in range(1000)
    ]  # fmt: skip
    one_id = [
        FlowAdd(3, Match(in_port=1, eth_src="02:00:00:00:ee:ee",
                         eth_dst=f"02:00:00:01:{i >> 8:02x}:{i & 0xFF:02x}"), 2, 5,
                path_cookie(999, 1, 0))
        for i in range(500)
    ]  # fmt: skip
    net.tables.apply_all([*many_ids, *one_id])
    restarted(net)
    net.advance(1.0)
    adoption = net.core.adoption
    assert len([p for p in adoption.pending if p]) == 10  # max_pairs ids (0: no pair's)
    assert all(len(p.flows) <= MAX_FOUND_PER_PAIR for p in adoption.pending.values())
    assert len(net.runtime.pair_ids._reserved) == 10
    assert net.counters.found_flows_deleted >= 1000 - 11 + 500 - MAX_FOUND_PER_PAIR
    wait_grace(net)
    assert adoption.pending == {} and net.runtime.pair_ids._reserved == set()
    assert [e for _, e in net.tables.flows() if split_cookie(e.cookie)] == []
    assert net.deliver("h1", "h3")  # and forwarding goes on


def test_adoption_keeps_the_host_tables_limits() -> None:
    """Adopting a pair learns its hosts: not beyond ``max_hosts`` (a switch claiming
    pairs cannot fill the host table and shut every new host out)."""
    net = two_pairs_restarted_with(max_hosts=3)
    assert net.counters.paths_adopted == 1 and len(net.runtime.pairs) == 1
    assert len(net.core.hosts.table) <= 3
    (kept,) = net.runtime.pairs.values()
    a, b = sorted(name for name, h in net.hosts.items() if h.mac in kept.key)
    assert net.walk(a, b) and net.walk(b, a)  # the adopted pair forwards as it was
