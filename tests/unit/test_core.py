"""ControllerCore against fake flow tables: discovery, forwarding, ARP, flooding, recovery.

Each test builds a small network (tests/fakes.py), lets the core discover it, sends
real frames from hosts and asks the fake tables where packets go (STYLE.md section 3).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

import networkx as nx
import pytest
from ryu.lib.packet import arp, ethernet, packet

from controller.config import METRICS, Config
from controller.core import ControllerCore
from controller.forwarding.runtime import Outcome
from controller.northbound import api
from controller.northbound.view import ControllerView
from controller.southbound import frames
from controller.southbound.messages import (
    COOKIE_APP,
    COOKIE_APP_MASK,
    COOKIE_BASE,
    COOKIE_PORT_MISS,
    ETH_TYPE_LLDP,
    OFPP_CONTROLLER,
    PAIR_MASK,
    FlowAdd,
    FlowDelete,
    FlowStatsRequest,
    Match,
    Message,
    PacketOut,
)
from tests.fakes import FakeNetwork, NotDelivered, RecordingTransport, Sent, ipv4_frame
from topologies.spec import parse_spec

# ---------------------------------------------------------------------- topologies


def ring(n: int) -> nx.Graph:
    return parse_spec(f"ring,{n}").to_networkx()


def line(n: int) -> nx.Graph:
    return parse_spec(f"linear,{n}").to_networkx()


FAT_TREE = parse_spec("fattree,4")
FAT_TREE_HOSTS = FAT_TREE.hosts_by_name()

SCENARIOS: dict[str, tuple[nx.Graph, Mapping[str, int] | None]] = {
    "ring6": (ring(6), None),
    "fattree": (FAT_TREE.to_networkx(), FAT_TREE_HOSTS),
}


def ready(graph: nx.Graph, hosts: Mapping[str, int] | None = None, **kwargs: object) -> FakeNetwork:
    """Discovered network whose hosts have all announced themselves (gratuitous ARP)."""
    net = FakeNetwork(graph, hosts, **kwargs)  # type: ignore[arg-type]
    net.discover()
    net.announce_all()
    return net


def cookie_of(net: FakeNetwork, a: str, b: str) -> int:
    route = net.runtime.record(net.host(a).mac, net.host(b).mac)
    assert route is not None, f"no route {a} <-> {b}"
    return route.cookie


def smallest_shortest_path(graph: nx.Graph, src: int, dst: int) -> list[int]:
    return min(nx.all_shortest_paths(graph, src, dst))


def assert_shortest(graph: nx.Graph, trace: list[int], src: int, dst: int) -> None:
    assert trace[0] == src and trace[-1] == dst, trace
    assert all(graph.has_edge(u, v) for u, v in itertools.pairwise(trace)), trace
    assert len(trace) == nx.shortest_path_length(graph, src, dst) + 1, trace


def messages_to(msgs: list[Message], dpid: int) -> list[Message]:
    return [m for m in msgs if m.dpid == dpid]


def packet_outs(out: Sent) -> list[PacketOut]:
    """The output's messages, which must all be packet-outs."""
    assert all(isinstance(m, PacketOut) for m in out.messages), out.messages
    return [m for m in out.messages if isinstance(m, PacketOut)]


# ---------------------------------------------------------------------- discovery
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_discovery_finds_every_cable_and_every_access_port(name: str) -> None:
    graph, hosts = SCENARIOS[name]
    net = ready(graph, hosts)
    topo = net.core.graph
    assert topo.switches() == sorted(graph.nodes)
    found = {(k.src, k.dst) for k in topo.links()}
    assert found == {(u, v) for u, v in graph.edges} | {(v, u) for u, v in graph.edges}
    for key in topo.links():  # the ports are the real cable ends
        assert net.wires[(key.src, key.src_port)] == (key.dst, key.dst_port)
    access = {(d, p) for d, ports in topo.access_ports(net.now).items() for p in ports}
    assert access == {(h.dpid, h.port) for h in net.hosts.values()}
    for h in net.hosts.values():
        known = net.core.hosts.table.by_mac(h.mac)
        assert known is not None and (known.dpid, known.port, known.ipv4) == (
            h.dpid,
            h.port,
            h.ip,
        )


def test_probes_of_another_controller_are_ignored() -> None:
    net = FakeNetwork(line(2))
    net.discover()
    other = ControllerCore(Config(), RecordingTransport(), nonce=net.core.nonce + 1)
    other.on_switch_up(2, net.port_infos(2), net.now)
    probes = other.discovery.probes_for(2, net.now)
    probe = next(m for m in probes if m.out_ports == (net.link_port(2, 1),))
    net.connect(1)  # s1 reconnects: its links are gone until probes cross both ways
    assert list(net.core.graph.links()) == []
    lldp_in = net.counters.lldp_in
    out = net.packet_in(1, net.link_port(1, 2), probe.data)  # a stranger's probe from s2
    assert out.messages == [] and out.installs == 0
    assert net.counters.lldp_in == lldp_in + 1
    assert list(net.core.graph.links()) == []


def test_host_ports_are_quiet_until_lldp_had_its_chance() -> None:
    net = FakeNetwork(line(2))
    net.start()
    frame = net.ipv4("h1", "h2")
    out = net.packet_in(1, 1, frame)
    assert out.messages == [] and out.installs == 0
    assert net.core.hosts.table.by_mac(net.host("h1").mac) is None
    assert net.counters.unclassified_port_drops == 1


# ---------------------------------------------------------------------- forwarding
PAIRS = [
    ("ring6", "h1", "h4"),
    ("ring6", "h2", "h6"),
    ("ring6", "h5", "h3"),
    ("fattree", "h1", "h4"),
    ("fattree", "h3", "h2"),
    ("fattree", "h1", "h2"),
]


@pytest.mark.parametrize("name,src,dst", PAIRS)
def test_first_packet_installs_a_shortest_path_both_ways(name: str, src: str, dst: str) -> None:
    graph, hosts = SCENARIOS[name]
    net = ready(graph, hosts)
    s, d = net.host(src), net.host(dst)

    trace = net.deliver(src, dst)
    assert_shortest(graph, trace, s.dpid, d.dpid)
    assert trace == smallest_shortest_path(graph, s.dpid, d.dpid)  # deterministic choice
    # The flows alone now carry the pair, both ways, without the controller.
    assert net.walk(src, dst) == trace
    assert net.walk(dst, src) == trace[::-1]
    packet_ins = len(net.packet_ins)
    assert net.deliver(src, dst) == trace
    assert net.deliver(dst, src) == trace[::-1]
    assert len(net.packet_ins) == packet_ins
    # Nothing else received the pair's packets (only broadcasts and LLDP probes).
    others = [r for h in net.hosts.values() if h.name not in (src, dst) for r in h.received]
    assert all(int(ethernet_of(r.data).dst[:2], 16) & 1 for r in others)


def ethernet_of(data: bytes) -> ethernet.ethernet:
    eth: ethernet.ethernet = packet.Packet(data).get_protocol(ethernet.ethernet)
    return eth


def test_every_pair_of_the_fat_tree_is_delivered_loop_free() -> None:
    graph, hosts = SCENARIOS["fattree"]
    net = ready(graph, hosts)
    for a in net.hosts:
        for b in net.hosts:
            if a != b:
                trace = net.deliver(a, b)
                assert_shortest(graph, trace, net.host(a).dpid, net.host(b).dpid)
    n = len(net.hosts)
    assert len(net.runtime.pairs) == n * (n - 1) // 2


def test_hosts_on_one_switch() -> None:
    net = ready(line(2), {"h1": 1, "h2": 1, "h3": 2})
    assert net.deliver("h1", "h2") == [1]
    assert net.walk("h2", "h1") == [1]


def test_unknown_destination_is_flooded_then_learned() -> None:
    net = FakeNetwork(ring(4))
    net.discover()
    net.announce("h1")
    frame = net.ipv4("h1", "h3")
    trace = net.deliver("h1", "h3", frame)  # h3 never spoke: the controller floods
    assert trace == [1, 3]  # packet-in at s1, packet-out at s3 (not through the fabric)
    assert net.counters.floods >= 2
    # h3 answers; now both are known and a path is installed for the reply.
    net.send("h3", net.ipv4("h3", "h1"))
    assert net.walk("h1", "h3") == [1, 2, 3]


# ---------------------------------------------------------------------- installation order
@pytest.mark.parametrize(
    "src,dst",
    [
        ("h1", "h4"),
        pytest.param("h4", "h1"),
    ],
)
def test_install_stages_go_egress_first(src: str, dst: str) -> None:
    net = ready(ring(6))
    trace = net.deliver(src, dst)
    assert net.counters.installs_started == 1
    assert [st.dpid for st in net.stages_sent] == trace[::-1]
    # Each stage carries that switch's flows of both directions, then its barrier.
    for st in net.stages_sent:
        assert len(st.messages) == 2 and all(m.dpid == st.dpid for m in st.messages)


def test_the_ingress_waits_for_every_other_switchs_barrier() -> None:
    net = ready(ring(6))
    net.auto_barrier = False
    h1, h4 = net.host("h1"), net.host("h4")
    frame = net.ipv4("h1", "h4")
    net.send("h1", frame)
    assert [st.dpid for st in net.stages_sent] == [4, 3, 2]  # at once, egress first
    assert net.tables.lookup(1, h1.port, h1.mac, h4.mac) == OFPP_CONTROLLER  # ingress: not yet
    net.release_barriers(2)
    assert [st.dpid for st in net.stages_sent] == [4, 3, 2]  # switch 2 has not answered
    assert net.tables.lookup(1, h1.port, h1.mac, h4.mac) == OFPP_CONTROLLER
    net.release_barriers(1)
    assert [st.dpid for st in net.stages_sent] == [4, 3, 2, 1]
    assert frame not in h4.frames()  # held until the whole path is in
    net.release_barriers()
    assert h4.frames().count(frame) == 1
    assert net.walk("h1", "h4") == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "src,dst",
    [
        ("h1", "h4"),
        pytest.param("h4", "h1"),
    ],
)
def test_no_packet_is_lost_while_a_path_is_installed(src: str, dst: str) -> None:
    net = ready(ring(6))
    net.auto_barrier = False
    first, second = net.ipv4(src, dst), net.ipv4(src, dst)
    net.send(src, first)
    net.release_barriers(1)  # one stage confirmed, the rest pending
    net.send(src, second)
    net.release_barriers()
    assert [f for f in net.host(dst).frames() if f in (first, second)] == [first, second]


def test_packets_arriving_during_installation_are_held_and_released_in_order() -> None:
    net = ready(ring(6))
    net.auto_barrier = False
    frames = [net.ipv4("h1", "h4") for _ in range(3)]
    for f in frames:
        net.send("h1", f)
    assert net.counters.installs_started == 1  # one installation, not one per packet
    net.release_barriers()
    got = [f for f in net.host("h4").frames() if f in frames]
    assert got == frames


def test_barrier_timeout_gives_the_pair_up() -> None:
    net = ready(ring(6))
    net.auto_barrier = False
    net.send("h1", net.ipv4("h1", "h4"))
    cookie = cookie_of(net, "h1", "h4")
    net.now += net.config.barrier_timeout + 0.1
    net.housekeeping()
    assert net.runtime.record(net.host("h1").mac, net.host("h4").mac) is None
    assert net.tables.with_cookie(cookie) == []
    net.auto_barrier = True
    net.pending_barriers.clear()
    assert net.deliver("h1", "h4") == [1, 2, 3, 4]  # the next packet tries again


def test_reroute_during_installation_keeps_the_held_packet() -> None:
    net = ready(ring(4))
    net.auto_barrier = False
    frame = net.ipv4("h1", "h3")
    net.send("h1", frame)  # path 1-2-3 being installed, frame held
    net.link_down(2, 3)  # reroute: a new job supersedes the running one
    net.release_barriers()
    assert net.walk("h1", "h3") == [1, 4, 3]
    assert frame in net.host("h3").frames()


# ---------------------------------------------------------------------- ARP and flooding
def test_arp_for_a_known_host_is_answered_by_the_controller() -> None:
    net = ready(ring(4))
    h1, h3 = net.host("h1"), net.host("h3")
    request = net.arp_request("h1", h3.ip)
    out = net.packet_in(h1.dpid, h1.port, request)
    assert out.installs == 0
    (reply,) = out.messages
    assert isinstance(reply, PacketOut)
    assert (reply.dpid, reply.out_ports) == (h1.dpid, (h1.port,))
    pkt = packet.Packet(reply.data)
    eth, rep = pkt.get_protocol(ethernet.ethernet), pkt.get_protocol(arp.arp)
    assert (eth.src, eth.dst) == (h3.mac, h1.mac)
    assert rep.opcode == arp.ARP_REPLY
    assert (rep.src_mac, rep.src_ip, rep.dst_mac, rep.dst_ip) == (h3.mac, h3.ip, h1.mac, h1.ip)
    assert net.counters.arp_proxied == 1
    # Through the network: h1 gets the answer, h3 never sees the request.
    seen_by_h3 = len(net.host("h3").received)
    net.send("h1", net.arp_request("h1", h3.ip))
    assert reply.data in h1.frames()
    assert len(net.host("h3").received) == seen_by_h3


def test_arp_for_an_unknown_host_floods_access_ports_only_once() -> None:
    net = ready(ring(4), extra_ports=1)
    h1 = net.host("h1")
    request = net.arp_request("h1", "10.0.0.99")
    out = net.packet_in(h1.dpid, h1.port, request)
    assert out.installs == 0
    flood = packet_outs(out)
    assert all(m.data == request for m in flood)
    reached = {(m.dpid, p) for m in flood for p in m.out_ports}
    access = {(d, p) for d, ports in net.core.graph.access_ports(net.now).items() for p in ports}
    assert reached == access - {(h1.dpid, h1.port)}
    assert not reached & net.link_ports()
    assert len(reached) == 3 + 4  # three other hosts, four free ports
    floods = net.counters.floods

    again = net.packet_in(h1.dpid, h1.port, request)  # e.g. back through an unknown link
    assert again.messages == [] and again.installs == 0
    assert net.counters.flood_duplicates_dropped == 1
    assert net.counters.floods == floods

    net.now += net.config.flood_dedup_window
    later = net.packet_in(h1.dpid, h1.port, request)  # a retry after the window
    assert {(m.dpid, p) for m in packet_outs(later) for p in m.out_ports} == reached
    assert net.counters.floods == floods + 1


def test_broadcast_never_enters_the_fabric() -> None:
    net = ready(*SCENARIOS["fattree"])
    request = net.arp_request("h1", "10.0.0.99")
    net.send("h1", request)
    copies = [r for h in net.hosts.values() for r in h.received if r.data == request]
    assert len(copies) == len(net.hosts) - 1  # each other host once
    assert all(len(r.trace) <= 2 for r in copies)  # ingress packet-in, egress packet-out
    for m in net.sent:
        if isinstance(m, PacketOut) and m.data == request:
            assert not {(m.dpid, p) for p in m.out_ports} & net.link_ports()


def test_flood_copy_over_an_undiscovered_link_does_not_move_hosts() -> None:
    net = FakeNetwork(ring(3))
    net.block_lldp(2, 3)  # a cable LLDP cannot cross: both ends look like access ports
    net.discover()
    net.announce_all()
    for h in net.hosts.values():
        known = net.core.hosts.table.by_mac(h.mac)
        assert known is not None and (known.dpid, known.port) == (h.dpid, h.port), h.name


# ---------------------------------------------------------------------- host learning
def test_no_host_is_learned_from_a_link_port() -> None:
    net = ready(ring(4))
    stranger = "02:00:00:00:00:99"
    port = net.link_port(1, 2)
    frame = ipv4_frame(stranger, net.host("h3").mac, "10.9.9.9", net.host("h3").ip, b"x")
    out = net.packet_in(1, port, frame)
    assert out.messages == [] and out.installs == 0
    assert net.core.hosts.table.by_mac(stranger) is None
    assert net.counters.transit_misses == 1
    broadcast = net.arp_request("h3", "10.0.0.1")  # h3's ARP arriving over a link
    out = net.packet_in(1, port, broadcast)
    assert out.messages == []
    assert net.counters.fabric_multicast_drops == 1
    known = net.core.hosts.table.by_mac(net.host("h3").mac)
    assert known is not None and (known.dpid, known.port) == (3, net.host("h3").port)


def test_host_learned_on_a_port_that_turns_out_to_be_a_link_is_forgotten() -> None:
    net = FakeNetwork(line(2))
    net.connect(1)  # s2 is not connected yet: s1's port to it looks like an access port
    net.advance(3)
    port = net.link_port(1, 2)
    assert net.core.graph.is_access_port(1, port, net.now)
    ghost = "02:00:00:00:00:77"
    net.packet_in(1, port, ipv4_frame(ghost, "ff:ff:ff:ff:ff:ff", "10.7.7.7", "10.7.7.255", b""))
    assert net.core.hosts.table.by_mac(ghost) is not None
    net.connect(2)  # its probes arrive at s1 on that port, where a "host" just spoke
    assert not net.core.graph.is_link_port(1, port)
    assert net.counters.lldp_at_host_ports >= 1
    net.advance(net.config.host_port_quiet + 1)  # quiet since: the cable is believed
    assert net.core.graph.is_link_port(1, port)
    assert net.core.hosts.table.by_mac(ghost) is None


def test_host_move_drops_that_hosts_routes_only() -> None:
    net = ready(ring(4), extra_ports=1)
    net.deliver("h1", "h3")
    net.deliver("h2", "h4")
    old, other = cookie_of(net, "h1", "h3"), cookie_of(net, "h2", "h4")
    other_flows = net.tables.with_cookie(other)

    moved = net.move_host("h1", 3)  # to the free port of s3
    assert net.deliver("h1", "h3") == [3]
    known = net.core.hosts.table.by_mac(moved.mac)
    assert known is not None and (known.dpid, known.port) == (3, moved.port)
    assert net.tables.with_cookie(old) == []
    assert cookie_of(net, "h1", "h3") != old
    assert net.tables.with_cookie(other) == other_flows
    assert net.deliver("h4", "h1") == [4, 3]
    assert net.walk("h1", "h3") == [3]


# ---------------------------------------------------------------------- failures
def test_link_down_reroutes_exactly_the_affected_pair() -> None:
    net = ready(ring(5))
    assert net.deliver("h1", "h3") == [1, 2, 3]
    assert net.deliver("h4", "h5") == [4, 5]
    assert net.deliver("h1", "h2") == [1, 2]
    affected = cookie_of(net, "h1", "h3")
    untouched = {
        c: net.tables.with_cookie(c)
        for c in (cookie_of(net, "h4", "h5"), cookie_of(net, "h1", "h2"))
    }
    sent_before = len(net.sent)
    dead = {(2, net.link_port(2, 3)), (3, net.link_port(3, 2))}

    net.link_down(2, 3)

    for d, p in dead:
        assert net.tables.outputs_on(d, p) == [], (d, p)
    deletes = [m for m in net.sent[sent_before:] if isinstance(m, FlowDelete)]
    assert deletes and all(m.cookie == affected for m in deletes)
    for c, flows in untouched.items():
        assert net.tables.with_cookie(c) == flows
    packet_ins = len(net.packet_ins)
    assert net.walk("h1", "h3") == [1, 5, 4, 3]
    assert net.deliver("h1", "h3") == [1, 5, 4, 3]
    assert net.deliver("h3", "h1") == [3, 4, 5, 1]
    assert net.deliver("h1", "h2") == [1, 2]
    assert len(net.packet_ins) == packet_ins
    assert net.counters.reroutes == 1


def test_link_down_in_the_fat_tree_moves_to_another_equal_cost_path() -> None:
    graph, hosts = SCENARIOS["fattree"]
    net = ready(graph, hosts)
    far = list(net.hosts)[-1]  # in the last pod: the path crosses a core switch
    first = net.deliver("h1", far)
    assert len(first) == 5
    core_link = (first[2], first[3])  # core -> aggregation of the far pod
    net.link_down(*core_link)
    dead = {(u, net.link_port(u, v)) for u, v in (core_link, core_link[::-1])}
    for d, p in dead:
        assert net.tables.outputs_on(d, p) == []
    second = net.walk("h1", far)
    assert second != first and len(second) == 5  # another equal-cost path
    assert core_link not in set(itertools.pairwise(second))
    assert net.deliver(far, "h1") == second[::-1]


def test_link_down_without_another_path_drops_the_route() -> None:
    net = ready(line(3))
    net.deliver("h1", "h3")
    cookie = cookie_of(net, "h1", "h3")
    net.link_down(2, 3)
    assert net.runtime.record(net.host("h1").mac, net.host("h3").mac) is None
    assert net.tables.with_cookie(cookie) == []
    with pytest.raises(NotDelivered):
        net.deliver("h1", "h3")
    net.link_up(2, 3)
    net.advance(3)  # LLDP finds the cable again
    assert net.deliver("h1", "h3") == [1, 2, 3]


def test_host_port_down_drops_routes_attached_there() -> None:
    net = ready(ring(4))
    net.deliver("h1", "h3")
    cookie = cookie_of(net, "h1", "h3")
    net.set_port(3, net.host("h3").port, up=False)
    assert net.runtime.record(net.host("h1").mac, net.host("h3").mac) is None
    assert net.tables.with_cookie(cookie) == []


def test_silent_link_expires_and_traffic_moves() -> None:
    net = ready(ring(4))
    assert net.deliver("h1", "h3") == [1, 2, 3]
    net.block_lldp(1, 2)  # the cable still forwards, but LLDP stops getting through
    net.advance(net.config.link_timeout + 2)
    assert net.core.graph.edge(1, 2) is None
    assert net.walk("h1", "h3") == [1, 4, 3]


def test_switch_reconnect_installs_base_flows_reads_the_rest_and_deletes_what_is_stale() -> None:
    net = ready(ring(4))
    net.deliver("h1", "h3")
    net.deliver("h2", "h4")
    stale = FlowAdd(2, Match(eth_dst="00:00:00:00:00:99"), 3, 5, COOKIE_APP | 0xDEADBEEF)
    foreign = FlowAdd(2, Match(eth_dst="00:00:00:00:00:98"), 3, 5, 0x1234)
    net.tables.apply_all([stale, foreign])
    start = len(net.sent)
    net.connect(2)
    to_s2 = messages_to(net.sent[start:], 2)
    base = [m for m in to_s2[:2] if isinstance(m, FlowAdd)]
    assert len(base) == 2  # no wholesale delete: the flows are read, not wiped
    assert all(m.cookie == COOKIE_BASE and m.out_port == OFPP_CONTROLLER for m in base)
    assert {m.match.eth_type for m in base} == {None, ETH_TYPE_LLDP}
    assert FlowStatsRequest(2, COOKIE_APP, COOKIE_APP_MASK) in to_s2
    assert not any(isinstance(m, FlowDelete) and m.cookie_mask == COOKIE_APP_MASK for m in to_s2)
    # Once discovery had its time, no app flow outside the base ones and the pairs' own
    # survives on s2 from before the reconnect; a foreign flow is left alone.
    net.advance(net.core.adoption.grace + 0.5)
    cookies = {e.cookie for _, e in net.tables.flows(2)}
    assert stale.cookie not in cookies and foreign.cookie in cookies
    base_cookies = (COOKIE_BASE, COOKIE_PORT_MISS, 0x1234)
    leftovers = [e for _, e in net.tables.flows(2) if e.cookie not in base_cookies]
    assert all(
        e.cookie & PAIR_MASK in {r.cookie for r in net.runtime.pairs.values()} for e in leftovers
    )
    # Pairs through s2 still work; h2 (on s2) speaks again and is re-learned.
    net.advance(3)
    assert net.deliver("h1", "h3") in ([1, 2, 3], [1, 4, 3])
    net.announce("h2")
    net.announce("h4")
    assert net.deliver("h2", "h4") in ([2, 1, 4], [2, 3, 4])


def test_a_deleted_port_forgets_its_hosts_and_their_routes() -> None:
    net = ready(ring(4))
    net.deliver("h1", "h3")
    h1, h3 = net.host("h1"), net.host("h3")
    cookie = cookie_of(net, "h1", "h3")
    port = net.port_info(h1.dpid, h1.port)
    assert (h1.dpid, h1.port, False) in net.core.limiter._buckets  # its packet-ins came
    net.call(lambda: net.core.on_port_status(h1.dpid, port, net.now, deleted=True))
    assert net.core.hosts.table.by_mac(h1.mac) is None
    assert net.runtime.record(h1.mac, h3.mac) is None
    assert net.tables.with_cookie(cookie) == []
    assert not [k for k in net.core.limiter._buckets if k[:2] == (h1.dpid, h1.port)]


def test_switch_down_then_up_keeps_forwarding() -> None:
    net = ready(ring(4))
    net.deliver("h1", "h3")
    net.disconnect(2)
    assert net.walk("h1", "h3") == [1, 4, 3]
    net.connect(2)
    net.advance(3)
    assert net.deliver("h3", "h1") in ([3, 4, 1], [3, 2, 1])


def test_flow_removal_is_per_direction_and_only_at_the_ingress() -> None:
    net = ready(ring(4))
    net.deliver("h1", "h3")
    route = net.runtime.record(net.host("h1").mac, net.host("h3").mac)
    assert route is not None
    a_to_b = 0 if route.a == net.host("h1").mac else 1
    # A removal reported by a transit switch changes nothing.
    net.idle_timeout(2, route.flow_cookie(a_to_b))
    assert net.runtime.record(route.a, route.b) is route and route.live == {0, 1}
    # h1 -> h3 idles out at its ingress: that direction goes, the other stays.
    net.idle_timeout(route.ingress(a_to_b), route.flow_cookie(a_to_b))
    assert route.live == {1 - a_to_b}
    assert net.walk("h3", "h1") == [3, 2, 1]  # the busy direction still forwards
    assert all(e.cookie & 1 == 1 - a_to_b for _, e in net.tables.with_cookie(route.cookie))
    # The REST view shows exactly what is left on the switches.
    flows = [f for f in ControllerView(net.core).flows() if f.purpose == "path"]
    assert {(f.flow.dpid, f.flow.match, f.flow.out_port) for f in flows} == {
        (d, e.match, e.out_port) for d, e in net.tables.with_cookie(route.cookie)
    }
    # The other direction idles out too: the pair is forgotten, every flow gone.
    net.idle_timeout(route.ingress(1 - a_to_b), route.flow_cookie(1 - a_to_b))
    assert net.runtime.record(route.a, route.b) is None
    assert net.tables.with_cookie(route.cookie) == []
    assert net.deliver("h1", "h3") == [1, 2, 3]  # re-installed on demand
    assert cookie_of(net, "h1", "h3") != route.cookie


def test_removals_from_an_older_installation_or_not_timeouts_are_ignored() -> None:
    net = ready(ring(4))
    net.deliver("h1", "h3")
    route = net.runtime.record(net.host("h1").mac, net.host("h3").mac)
    assert route is not None
    old_cookie = route.flow_cookie(0)
    out = net.call(lambda: net.core.on_flow_removed(route.ingress(0), old_cookie, False))
    assert out.messages == [] and out.installs == 0
    net.link_down(2, 3)  # reroute: a new generation of the same pair
    new = net.runtime.record(route.a, route.b)
    assert new is not None and new.generation == route.generation + 1
    out = net.call(lambda: net.core.on_flow_removed(new.ingress(0), old_cookie, True))
    assert out.messages == [] and new.live == {0, 1}
    assert net.call(lambda: net.core.on_flow_removed(2, COOKIE_APP | 0xABCDEF, True)).messages == []


def test_transit_miss_repairs_the_path() -> None:
    net = ready(ring(4))
    net.deliver("h1", "h3")
    route = net.runtime.record(net.host("h1").mac, net.host("h3").mac)
    assert route is not None
    for direction in (0, 1):  # s2 lost the pair's flows silently
        net.tables.table(2).remove_cookie(route.flow_cookie(direction))
    net.send("h1", net.ipv4("h1", "h3"))
    assert net.counters.transit_misses == 1
    assert net.walk("h1", "h3") == [1, 2, 3]
    assert net.walk("h3", "h1") == [3, 2, 1]


def test_parallel_cables_forward_without_loops_or_churn() -> None:
    g = nx.MultiGraph()
    g.add_edges_from([(1, 2), (1, 2), (2, 3)])
    net = ready(g)
    assert net.deliver("h1", "h3") == [1, 2, 3]
    reroutes = net.counters.reroutes
    net.advance(3)
    assert net.counters.reroutes == reroutes
    assert net.deliver("h3", "h1") == [3, 2, 1]


# ---------------------------------------------------------------------- bad input
def test_a_broken_ip_header_still_teaches_where_its_sender_is() -> None:
    """As with Ryu's parser before: the Ethernet header stands, the IPv4 part is ignored."""
    net = ready(ring(4), {"h1": 1, "h3": 3, "h9": 2})
    h9 = net.host("h9")
    net.core.hosts.table.forget(h9.mac)
    bad = frames.ethernet_frame(net.host("h1").mac, h9.mac, 0x0800, b"\x15" + bytes(40))
    net.packet_in(h9.dpid, h9.port, bad)
    known = net.core.hosts.table.by_mac(h9.mac)
    assert known is not None and (known.dpid, known.port, known.ipv4) == (2, h9.port, None)
    assert net.counters.bad_inner_headers == 1 and net.counters.malformed == 0


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\x01", b"\x02" * 13],
    ids=["empty", "two-bytes", "short-header"],
)
def test_malformed_packet_in_is_counted_and_ignored(data: bytes) -> None:
    net = ready(ring(4))
    hosts = len(net.core.hosts.table)
    out = net.packet_in(1, net.host("h1").port, data)
    assert out.messages == [] and out.installs == 0
    assert net.counters.malformed == 1
    assert len(net.core.hosts.table) == hosts
    assert net.deliver("h1", "h3") == [1, 2, 3]  # still working


def test_multicast_source_is_malformed() -> None:
    net = ready(ring(4))
    frame = ipv4_frame("01:00:5e:00:00:01", net.host("h3").mac, "10.0.0.1", "10.0.0.3", b"")
    out = net.packet_in(1, net.host("h1").port, frame)
    assert out.messages == [] and out.installs == 0
    assert net.counters.malformed == 1
    assert net.core.hosts.table.by_mac("01:00:5e:00:00:01") is None


def test_packet_in_from_an_unknown_switch_is_ignored() -> None:
    net = ready(ring(4))
    hosts = len(net.core.hosts.table)
    frame = ipv4_frame("02:00:00:00:00:55", net.host("h3").mac, "10.5.5.5", "10.0.0.3", b"")
    out = net.call(lambda: net.core.on_packet_in(99, 1, frame, net.now))
    assert out.messages == [] and out.installs == 0
    assert len(net.core.hosts.table) == hosts
    assert net.call(lambda: net.core.on_packet_in(99, 1, b"", net.now)) == Sent()


# ---------------------------------------------------------------------- operators
def test_set_metric_rejects_unknown_names() -> None:
    core = ControllerCore(Config(metric="latency"), RecordingTransport())
    with pytest.raises(ValueError, match="fastest"):
        core.set_metric("fastest")
    assert core.metric == "latency"
    for m in METRICS:
        core.set_metric(m)
        assert core.metric == m


def test_new_routes_use_the_metric_in_force() -> None:
    net = ready(ring(4))
    net.core.set_metric("utilization")
    for u, v in ((1, 2), (2, 1)):
        net.core.graph.update_link(u, v, utilization=0.95)
    assert net.deliver("h1", "h3") == [1, 4, 3]
    route = net.runtime.record(net.host("h1").mac, net.host("h3").mac)
    assert route is not None and route.path.metric == "utilization"


def _get(core: ControllerCore, path: str) -> tuple[int, Any]:
    reply = api.handle(api.ApiContext(ControllerView(core)), api.Request("GET", path))
    return reply.status, reply.body


def test_api_bodies_are_json() -> None:
    net = ready(ring(4))
    net.deliver("h1", "h3")
    bodies: dict[str, Any] = {}
    for name in ("health", "topology", "links", "hosts", "routes"):
        status, body = _get(net.core, f"/v1/{name}")
        assert status == 200, (name, body)
        json.loads(json.dumps(body, allow_nan=False))
        bodies[name] = body
    health = bodies["health"]
    assert isinstance(health, dict)
    assert (health["switches"], health["links"], health["hosts"], health["routes"]) == (4, 8, 4, 1)
    assert len(bodies["links"]) == 8
    assert {h["mac"] for h in bodies["hosts"]} == {h.mac for h in net.hosts.values()}
    (route,) = bodies["routes"]
    assert [hop["dpid"] for hop in route["hops"]] == [f"{d:016x}" for d in (1, 2, 3)]
    assert len(bodies["topology"]["switches"]) == 4


def test_api_on_an_empty_controller() -> None:
    core = ControllerCore(Config(), RecordingTransport())
    for name in ("health", "topology", "links", "hosts", "routes"):
        status, body = _get(core, f"/v1/{name}")
        assert status == 200
        json.dumps(body, allow_nan=False)


# ---------------------------------------------------------------------- review findings
def test_a_port_whose_link_lldp_lost_is_not_an_access_port() -> None:
    """LLDP lost on a working cable: a frame still in flight on it must not move a host."""
    net = ready(ring(4))
    net.deliver("h1", "h3")  # 1-2-3
    net.block_lldp(2, 3)
    net.advance(4)  # link 2-3 expires; the pair is rerouted via s4
    assert net.core.graph.edge(2, 3) is None
    p32 = net.link_port(3, 2)
    assert not net.core.graph.is_access_port(3, p32, net.now)
    net.inject(3, p32, net.ipv4("h1", "h3"))
    h1 = net.core.hosts.table.by_mac(net.host("h1").mac)
    assert h1 is not None and (h1.dpid, h1.port) == (1, net.host("h1").port)
    assert net.deliver("h3", "h1") == [3, 4, 1]


def test_a_host_forgotten_on_a_link_port_loses_its_routes() -> None:
    """A path built towards a 'host' that turns out to sit behind a switch link goes."""
    net = FakeNetwork(line(2), {"h1": 1, "h2": 2})
    net.connect(1)
    net.advance(3, lldp=False)  # s1's ports look like access ports; s2 not yet up
    p12 = net.link_port(1, 2)
    h1, h2 = net.host("h1"), net.host("h2")
    net.inject(1, p12, arp_frame_bytes(h2.mac, h2.ip, h1.ip))  # h2's ARP over the cable
    net.inject(1, h1.port, net.ipv4("h1", "h2"))  # h1 -> h2: a route out of the cable port
    assert net.runtime.record(h1.mac, h2.mac) is not None
    net.connect(2)
    net.advance(net.config.host_port_quiet + 1)  # the cable port fell quiet: discovered
    assert net.core.graph.is_link_port(1, p12)
    assert net.runtime.record(h1.mac, h2.mac) is None
    assert net.tables.outputs_on(1, p12) == []


def test_dropping_a_pair_cancels_its_running_installation() -> None:
    net = ready(line(4), {"h1": 1, "h4": 4}, extra_ports=1)
    h1 = net.host("h1")
    net.auto_barrier = False
    net.send("h1", net.ipv4("h1", "h4"))  # install started; waits for s4's barrier
    cookie = cookie_of(net, "h1", "h4")
    assert net.runtime.installing()
    net.now += 0.6
    net.move_host("h1", 2)  # h1 moves and announces itself: its pair is dropped
    net.send("h1", arp_frame_bytes(h1.mac, h1.ip, h1.ip))
    assert net.runtime.installing() == []
    net.auto_barrier = True
    net.release_barriers()
    assert net.tables.with_cookie(cookie) == []  # nothing more was installed
    assert net.deliver("h4", "h1")[-1] == 2  # and the pair works from h1's new place


def test_silent_hosts_age_out_unless_a_route_uses_them() -> None:
    net = ready(ring(3), config=Config(host_timeout=10.0))
    net.deliver("h1", "h2")
    net.advance(12)
    hosts = {h.mac for h in net.core.hosts.table.all()}
    assert net.host("h3").mac not in hosts
    assert {net.host("h1").mac, net.host("h2").mac} <= hosts
    assert net.counters.hosts_aged_out == 1


def test_the_host_table_is_bounded() -> None:
    net = ready(line(1), {"h1": 1}, config=Config(max_hosts=3), extra_ports=0)
    port = net.host("h1").port
    for i in range(10):
        mac = f"02:00:00:00:01:{i:02x}"
        net.inject(
            1, port, ipv4_frame(mac, "ff:ff:ff:ff:ff:ff", f"10.9.0.{i + 1}", "10.9.9.9", b"x")
        )
    assert len(net.core.hosts.table) == 3
    assert net.counters.hosts_refused >= 7


def arp_frame_bytes(src_mac: str, src_ip: str, dst_ip: str) -> bytes:
    pkt = packet.Packet()
    pkt.add_protocol(ethernet.ethernet("ff:ff:ff:ff:ff:ff", src_mac, 0x0806))
    pkt.add_protocol(
        arp.arp(
            opcode=arp.ARP_REQUEST,
            src_mac=src_mac,
            src_ip=src_ip,
            dst_mac="00:00:00:00:00:00",
            dst_ip=dst_ip,
        )
    )
    pkt.serialize()
    return bytes(pkt.data)


def test_forged_or_replayed_lldp_changes_nothing() -> None:
    """A host sees our probes on its port; it can neither forge nor replay them."""
    from controller.discovery.lldp import build_probe

    net = ready(ring(4))
    net.deliver("h2", "h3")
    h1 = net.host("h1")
    before = sorted(net.core.graph.links())
    p23 = net.link_port(2, 3)
    # Forged: right format, wrong key.
    net.packet_in(h1.dpid, h1.port, build_probe(2, p23, "", net.now, b"guessed key"))
    # Replayed: a genuine probe of the s2-s3 link, injected later at h1's port.
    old_probes = net.core.discovery.probes_for(2, net.now - 10)
    genuine = next(m for m in old_probes if m.out_ports == (p23,))
    net.packet_in(h1.dpid, h1.port, genuine.data)
    assert sorted(net.core.graph.links()) == before
    assert not net.core.graph.is_link_port(h1.dpid, h1.port)
    assert net.counters.lldp_rejected == 2
    assert net.deliver("h2", "h3") == [2, 3]


def test_a_cancel_and_a_new_install_in_one_output_keep_the_new_install() -> None:
    """h1 moves while its install waits: the old job is cancelled, the new one survives."""
    net = FakeNetwork(line(3), hosts={"h1": 1, "h3": 3}, extra_ports=1)
    net.discover()
    net.announce_all()
    net.auto_barrier = False
    net.send("h1", net.ipv4("h1", "h3"))
    net.move_host("h1", 2)
    net.now += 0.1
    h1 = net.host("h1")
    out = net.packet_in(h1.dpid, h1.port, net.ipv4("h1", "h3"))
    assert out.installs == 1
    assert [r.outcome for r in net.results] == [Outcome.CANCELLED]
    assert net.runtime.installing()  # the new job is still there
    assert net.runtime.record(h1.mac, net.host("h3").mac) is not None
    net.auto_barrier = True
    net.release_barriers()
    assert net.deliver("h1", "h3") == [2, 3]


def test_a_slow_but_healthy_long_install_is_not_given_up() -> None:
    net = FakeNetwork(line(7), hosts={"h1": 1, "h7": 7})
    net.discover()
    net.announce_all()
    net.auto_barrier = False
    net.send("h1", net.ipv4("h1", "h7"))
    for _ in range(2):  # each step's switches answer after 1.5 s (the step timeout is 2 s)
        net.now += 1.5
        net.lldp_round()
        net.housekeeping()
        net.release_barriers(len(net.pending_barriers))
    assert [r.outcome for r in net.results] == [Outcome.DONE], net.results
    assert net.runtime.record(net.host("h1").mac, net.host("h7").mac) is not None
