"""The switch emulator's pure parts: topologies (from ``topologies.spec``, or any networkx
graph), the flow table, the wire format (checked against Ryu's own OpenFlow 1.3 parser
and serializer), and the data plane of switches on fake transports (LLDP reflection, path
walking, flow-setup completion)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import networkx as nx
import pytest
from ryu.ofproto import ofproto_parser
from ryu.ofproto import ofproto_v1_3 as ofp_v13
from ryu.ofproto import ofproto_v1_3_parser as parser

from controller.discovery.lldp import build_probe, parse_probe
from testbed import ofemu
from testbed.ofemu import FlowEntry, FlowTable, Match
from topologies import spec
from topologies.spec import OC192_BPS, TopologySpec

DP = SimpleNamespace(id=1, ofproto=ofp_v13, ofproto_parser=parser)
MAC_A, MAC_B = ofemu.host_mac(1), ofemu.host_mac(2)


def ryu_serialize(msg: Any) -> bytes:
    msg.serialize()
    return bytes(msg.buf)


def ryu_parse_all(data: bytes) -> list[Any]:
    """Every message in a byte stream, parsed by Ryu."""
    out = []
    while data:
        version, msg_type, length, xid = ofproto_parser.header(data)
        out.append(ofproto_parser.msg(DP, version, msg_type, length, xid, data[:length]))
        data = data[length:]
    return out


# ----------------------------------------------------------------------------- topology
def test_fat_tree_4_from_the_spec() -> None:
    fat = spec.fattree(4)
    topo = ofemu.Topology.from_spec(fat)
    assert topo.n_switches == 20 and topo.n_links == 32 and len(topo.hosts) == 16
    assert sorted(topo.ports) == list(range(1, 21))
    edges = [d for d in fat.switches if fat.role_of(d) == "edge"]
    assert len(edges) == 8 and {h.dpid for h in topo.hosts} == set(edges)
    # One host on every switch instead, as the discovery benchmark uses it.
    assert len(ofemu.Topology.from_spec(fat, hosts_per_switch=1).hosts) == 20


def test_parse_topo_takes_every_spec_name_and_the_old_regular() -> None:
    assert ofemu.parse_topo("ring,5") == spec.ring(5)
    assert ofemu.parse_topo("tree,2,3") == spec.tree(2, 3)
    assert ofemu.parse_topo("mesh,4") == spec.mesh(4)
    assert ofemu.parse_topo("ring") == spec.ring()
    regular = ofemu.parse_topo("regular,30,4")
    assert regular == spec.random_regular(30, 4) == ofemu.parse_topo("random,30")
    g = regular.to_networkx()
    assert nx.is_connected(g) and {d for _, d in g.degree} == {4}
    for bad, fragment in (
        ("torus,3", "valid names"),
        ("ring,x", "n must be an integer"),
        ("regular,4,4", "degree must be < n"),
        ("random,5,3", "must be even"),
        ("fattree,3", "k must be even"),
    ):
        with pytest.raises(ValueError, match=fragment):
            ofemu.parse_topo(bad)


def test_from_spec_numbers_ports_like_mininet_and_announces_the_spec_dpids() -> None:
    topo = ofemu.Topology.from_spec(spec.linear(3))
    # linear,3: h<i> on port 1 of s<i>; s1 p2 - p2 s2 p3 - p2 s3.
    assert topo.ports == {1: [1, 2], 2: [1, 2, 3], 3: [1, 2]}
    assert topo.links == {(1, 2): (2, 2), (2, 2): (1, 2), (2, 3): (3, 2), (3, 2): (2, 3)}
    assert [(h.name, h.dpid, h.port) for h in topo.hosts] == [
        ("h1", 1, 1),
        ("h2", 2, 1),
        ("h3", 3, 1),
    ]
    assert set(topo.link_speed_bps.values()) == {1_000_000_000}
    assert set(topo.link_speed_bps) == set(topo.links)


def test_from_spec_hosts_have_the_mininet_addresses() -> None:
    topo = ofemu.Topology.from_spec(spec.fattree(12))  # 432 hosts
    h256 = topo.hosts[255]
    assert (h256.name, h256.ip_str, h256.mac_str) == ("h256", "10.0.1.0", "00:00:00:00:01:00")
    assert len({h.mac for h in topo.hosts}) == len({h.ip for h in topo.hosts}) == 432


def test_from_spec_keeps_parallel_links() -> None:
    double = TopologySpec("double", (1, 2), ((1, 2, 10**9), (1, 2, 10**9)), (("h1", 1, 1),))
    topo = ofemu.Topology.from_spec(double)
    assert topo.n_links == 2
    assert topo.links[(1, 2)] == (2, 1) and topo.links[(1, 3)] == (2, 2)


def test_ports_per_edge_then_hosts() -> None:
    # The ring of four as a bare graph: nodes 0..3, no speeds.
    bare = nx.relabel_nodes(nx.Graph(spec.ring(4).to_networkx().edges), lambda d: d - 1)
    topo = ofemu.Topology.from_graph(bare, hosts_per_switch=2)
    assert sorted(topo.ports) == [1, 2, 3, 4]  # dpids are never 0
    assert topo.n_switches == 4 and topo.n_links == 4 and len(topo.hosts) == 8
    assert all(ports == [1, 2, 3, 4] for ports in topo.ports.values())
    for (a, pa), (b, pb) in topo.links.items():
        assert topo.links[(b, pb)] == (a, pa) and pa <= 2 and pb <= 2
    h = topo.hosts[0]
    assert (h.dpid, h.port) == (1, 3) and topo.host_at[(1, 3)] is h
    assert len({x.mac for x in topo.hosts}) == 8 and h.ip_str == "10.0.0.1"
    assert h.mac_str == "00:00:00:00:00:01" and h.name == "h1"
    assert not int(h.mac_str[:2], 16) & 1  # unicast
    assert topo.link_speed_bps == {}  # the graph gives no speeds


def test_from_graph_of_a_spec_graph_matches_from_spec_links() -> None:
    ring = spec.ring(5)
    by_graph = ofemu.Topology.from_graph(ring.to_networkx(), hosts_per_switch=1)
    by_spec = ofemu.Topology.from_spec(ring)
    assert sorted(by_graph.ports) == sorted(by_spec.ports) == list(ring.switches)

    def pairs(topo: ofemu.Topology) -> list[tuple[int, int, int]]:
        return sorted(
            (a, b, topo.link_speed_bps[(a, pa)]) for (a, pa), (b, _) in topo.links.items()
        )

    assert pairs(by_graph) == pairs(by_spec)


def test_choose_pairs_are_distinct_and_cross_switch() -> None:
    topo = ofemu.Topology.from_spec(spec.linear(3), hosts_per_switch=2)
    pairs = ofemu.choose_pairs(topo.hosts, 100, seed=3)
    keys = {frozenset((a.number, b.number)) for a, b in pairs}
    assert len(keys) == len(pairs) == 12  # 6 hosts, 15 pairs, 3 of them on one switch
    assert all(a.dpid != b.dpid for a, b in pairs)


# ----------------------------------------------------------------------------- flow table
def test_highest_priority_match_wins_and_table_miss_catches_the_rest() -> None:
    t = FlowTable()
    t.add(FlowEntry(ofemu.EMPTY_MATCH, 0, 1, (ofemu.OFPP_CONTROLLER,)))
    t.add(FlowEntry(Match(eth_type=ofemu.ETH_TYPE_LLDP), 65000, 1, (ofemu.OFPP_CONTROLLER,)))
    t.add(FlowEntry(Match(in_port=1, eth_dst=MAC_B, eth_src=MAC_A), 100, 7, (2,)))
    t.add(FlowEntry(Match(eth_dst=MAC_B), 50, 8, (3,)))
    hit = t.lookup(1, MAC_B, MAC_A, 0x0800)
    assert hit is not None and hit.outputs == (2,)
    other = t.lookup(4, MAC_B, MAC_A, 0x0800)
    assert other is not None and other.outputs == (3,)
    miss = t.lookup(4, MAC_A, MAC_B, 0x0800)
    assert miss is not None and miss.is_table_miss
    lldp = t.lookup(2, MAC_A, MAC_B, ofemu.ETH_TYPE_LLDP)
    assert lldp is not None and lldp.priority == 65000


def test_add_replaces_same_match_and_priority() -> None:
    t = FlowTable()
    m = Match(in_port=1, eth_dst=MAC_B)
    t.add(FlowEntry(m, 10, 1, (2,)))
    t.add(FlowEntry(m, 10, 2, (3,)))
    assert len(t) == 1
    e = t.lookup(1, MAC_B, MAC_A, 0x0800)
    assert e is not None and e.outputs == (3,)


def test_delete_by_cookie_mask_leaves_foreign_flows() -> None:
    t = FlowTable()
    ours, foreign = 0x5D << 56, 0x11 << 56
    t.add(FlowEntry(Match(in_port=1, eth_dst=MAC_B), 100, ours | 0x10001, (2,)))
    t.add(FlowEntry(Match(in_port=2, eth_dst=MAC_A), 100, ours | 0x10000, (1,)))
    t.add(FlowEntry(Match(in_port=3, eth_dst=MAC_A), 100, ours | 0x20000, (1,)))
    t.add(FlowEntry(Match(in_port=4, eth_dst=MAC_A), 100, foreign, (1,)))
    gone = t.delete(cookie=ours | 0x10000, cookie_mask=(0xFF << 56) | (0xFFFF << 16))
    assert len(gone) == 2 and len(t) == 2
    assert t.lookup(1, MAC_B, MAC_A, 0x0800) is None
    t.delete(cookie=ours, cookie_mask=0xFF << 56)
    assert [e.cookie for e in t.entries()] == [foreign]


def test_strict_and_match_scoped_delete() -> None:
    t = FlowTable()
    t.add(FlowEntry(Match(in_port=1, eth_dst=MAC_B), 100, 0, (2,)))
    t.add(FlowEntry(Match(in_port=1, eth_dst=MAC_A), 100, 0, (2,)))
    t.add(FlowEntry(Match(in_port=2, eth_dst=MAC_A), 100, 0, (2,)))
    assert len(t.delete(Match(in_port=1))) == 2
    assert t.delete(Match(in_port=2), strict=True, priority=100) == []
    assert len(t.delete(Match(in_port=2, eth_dst=MAC_A), strict=True, priority=100)) == 1
    assert len(t) == 0


# ----------------------------------------------------------------------------- wire format
def test_ryu_flow_mods_decode() -> None:
    match = parser.OFPMatch(in_port=3, eth_src=ofemu.mac_str(MAC_A), eth_dst=ofemu.mac_str(MAC_B))
    inst = [parser.OFPInstructionActions(ofp_v13.OFPIT_APPLY_ACTIONS, [parser.OFPActionOutput(7)])]
    raw = ryu_serialize(
        parser.OFPFlowMod(
            DP, cookie=0x5D00000000010002, priority=100, idle_timeout=60, match=match,
            instructions=inst, flags=ofp_v13.OFPFF_SEND_FLOW_REM,
        )
    )  # fmt: skip
    fm = ofemu.decode_flow_mod(raw)
    assert fm.command == ofemu.OFPFC_ADD and fm.priority == 100 and fm.idle_timeout == 60
    assert fm.cookie == 0x5D00000000010002 and fm.outputs == (7,)
    assert fm.match == Match(in_port=3, eth_dst=MAC_B, eth_src=MAC_A)

    delete = ofemu.decode_flow_mod(
        ryu_serialize(
            parser.OFPFlowMod(
                DP, cookie=0x5D << 56, cookie_mask=0xFF << 56, command=ofp_v13.OFPFC_DELETE,
                table_id=ofp_v13.OFPTT_ALL, out_port=ofp_v13.OFPP_ANY,
                out_group=ofp_v13.OFPG_ANY, match=parser.OFPMatch(),
            )
        )
    )  # fmt: skip
    assert delete.command == ofemu.OFPFC_DELETE and delete.match == ofemu.EMPTY_MATCH
    assert delete.cookie_mask == 0xFF << 56 and delete.outputs == ()

    lldp = ofemu.decode_flow_mod(
        ryu_serialize(
            parser.OFPFlowMod(DP, match=parser.OFPMatch(eth_type=0x88CC, ipv4_src="10.0.0.1"))
        )
    )
    assert lldp.match.eth_type == 0x88CC and lldp.match.other  # ipv4_src kept, never matches


def test_our_flow_mod_and_packet_out_parse_in_ryu() -> None:
    m = Match(in_port=2, eth_dst=MAC_B, eth_src=MAC_A, eth_type=0x0800)
    raw = ofemu.encode_flow_mod(m, (5,), priority=9, cookie=42, xid=77)
    (fm,) = ryu_parse_all(raw)
    assert isinstance(fm, parser.OFPFlowMod) and fm.xid == 77 and fm.cookie == 42
    assert fm.match["in_port"] == 2 and fm.match["eth_dst"] == ofemu.mac_str(MAC_B)
    assert fm.instructions[0].actions[0].port == 5
    assert ofemu.decode_flow_mod(raw).match == m

    # Ryu cannot parse a PacketOut (a controller-to-switch message): compare bytes.
    ryu_po = parser.OFPPacketOut(
        DP, buffer_id=ofp_v13.OFP_NO_BUFFER, in_port=4,
        actions=[parser.OFPActionOutput(ofp_v13.OFPP_TABLE, 0)], data=b"x" * 60,
    )  # fmt: skip
    ryu_po.xid = 5
    ours = ofemu.encode_packet_out(4, (ofemu.OFPP_TABLE,), b"x" * 60, xid=5)
    assert ours[:24] == ryu_serialize(ryu_po)[:24]  # header and fixed part
    assert ofemu.decode_packet_out(ours).outputs == (ofemu.OFPP_TABLE,)


def test_packet_in_round_trip_through_ryu() -> None:
    data = bytes(range(64))
    raw = ofemu.encode_packet_in(9, data, ofemu.OFPR_ACTION, cookie=0x5D << 56, xid=3)
    (pi,) = ryu_parse_all(raw)
    assert isinstance(pi, parser.OFPPacketIn)
    assert pi.match["in_port"] == 9 and pi.data == data and pi.reason == ofemu.OFPR_ACTION
    assert pi.cookie == 0x5D << 56 and pi.buffer_id == ofemu.OFP_NO_BUFFER
    back = ofemu.decode_packet_in(raw)
    assert back.match.in_port == 9 and back.data == data

    out = ryu_serialize(
        parser.OFPPacketOut(
            DP, buffer_id=ofp_v13.OFP_NO_BUFFER, in_port=ofp_v13.OFPP_CONTROLLER,
            actions=[parser.OFPActionOutput(2), parser.OFPActionOutput(3)], data=data,
        )
    )  # fmt: skip
    po = ofemu.decode_packet_out(out)
    assert po.in_port == ofemu.OFPP_CONTROLLER and po.outputs == (2, 3) and po.data == data


# ----------------------------------------------------------------------------- switches
class FakeTransport:
    def __init__(self) -> None:
        self.written = bytearray()

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def take(self) -> list[Any]:
        msgs = ryu_parse_all(bytes(self.written))
        self.written.clear()
        return msgs


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


def emulator(
    loop: asyncio.AbstractEventLoop, topology: TopologySpec, hosts: int | None = None
) -> tuple[ofemu.Emulator, dict[int, FakeTransport]]:
    """An emulator whose switches write to fake transports (flushed by hand); ``hosts``
    per switch instead of the spec's."""
    emu = ofemu.Emulator(ofemu.Topology.from_spec(topology, hosts), ("127.0.0.1", 1))
    emu._loop = loop
    wires = {}
    for dpid in emu.topo.ports:
        sw = ofemu.SwitchConn(emu, dpid)
        sw.transport = wires.setdefault(dpid, FakeTransport())  # type: ignore[assignment]
        emu.switches[dpid] = sw
    return emu, wires


def feed(emu: ofemu.Emulator, dpid: int, *msgs: Any) -> None:
    """The controller sends Ryu messages to one switch; flush what the switches answer."""
    emu.switches[dpid].data_received(b"".join(ryu_serialize(m) for m in msgs))
    emu._flush_all()


def test_handshake_echo_barrier_and_port_stats_parse_in_ryu(loop) -> None:
    emu, wires = emulator(loop, spec.linear(2))
    echo = parser.OFPEchoRequest(DP, data=b"t0")
    barrier = parser.OFPBarrierRequest(DP)
    feed(emu, 1, parser.OFPFeaturesRequest(DP), parser.OFPPortDescStatsRequest(DP, 0), echo)
    feats, desc, echo_reply = wires[1].take()
    assert isinstance(feats, parser.OFPSwitchFeatures) and feats.datapath_id == 1
    assert [p.port_no for p in desc.body] == [1, 2]
    assert desc.body[0].name == b"s1-eth1" and desc.body[0].curr_speed == 1_000_000
    assert isinstance(echo_reply, parser.OFPEchoReply) and echo_reply.data == b"t0"
    assert echo_reply.xid == echo.xid
    feed(emu, 1, parser.OFPPortStatsRequest(DP, 0, ofp_v13.OFPP_ANY), barrier)
    stats, barrier_reply = wires[1].take()
    assert sorted(s.port_no for s in stats.body) == [1, 2]
    assert isinstance(barrier_reply, parser.OFPBarrierReply) and barrier_reply.xid == barrier.xid


def _install_discovery_flows(emu: ofemu.Emulator, dpid: int) -> None:
    out = [parser.OFPActionOutput(ofp_v13.OFPP_CONTROLLER, ofp_v13.OFPCML_NO_BUFFER)]
    inst = [parser.OFPInstructionActions(ofp_v13.OFPIT_APPLY_ACTIONS, out)]
    feed(
        emu, dpid,
        parser.OFPFlowMod(DP, priority=0, match=parser.OFPMatch(), instructions=inst),
        parser.OFPFlowMod(DP, priority=65000, match=parser.OFPMatch(eth_type=0x88CC), instructions=inst),  # noqa: E501
    )  # fmt: skip


def test_port_descriptions_carry_the_link_capacity(loop) -> None:
    emu, wires = emulator(loop, spec.abilene())
    feed(emu, 1, parser.OFPPortDescStatsRequest(DP, 0))
    (desc,) = wires[1].take()
    speeds = {p.port_no: p.curr_speed for p in desc.body}
    host_port = emu.topo.hosts[0].port
    assert speeds.pop(host_port) == emu.port_speed_kbps  # not a link: the default
    assert set(speeds.values()) == {OC192_BPS // 1000}  # kbit/s


def test_lldp_probe_out_of_a_link_port_comes_back_from_the_peer(loop) -> None:
    emu, wires = emulator(loop, spec.linear(2))  # s1 p2 - p2 s2, h1 on s1 p1
    for d in (1, 2):
        _install_discovery_flows(emu, d)
    probe = build_probe(1, 2, "06:00:00:01:00:02", 123.0, b"k" * 32)
    po = parser.OFPPacketOut(
        DP, buffer_id=ofp_v13.OFP_NO_BUFFER, in_port=ofp_v13.OFPP_CONTROLLER,
        actions=[parser.OFPActionOutput(2)], data=probe,
    )  # fmt: skip
    feed(emu, 1, po)
    assert wires[1].take() == []
    (pi,) = wires[2].take()
    assert isinstance(pi, parser.OFPPacketIn) and pi.match["in_port"] == 2
    assert pi.data == probe and pi.reason == ofp_v13.OFPR_ACTION
    parsed = parse_probe(pi.data)
    assert parsed is not None and (parsed.dpid, parsed.port_no) == (1, 2)
    # Out of a host port: delivered to the host, nothing comes back.
    feed(emu, 1, parser.OFPPacketOut(DP, ofp_v13.OFP_NO_BUFFER, ofp_v13.OFPP_CONTROLLER,
                                     [parser.OFPActionOutput(1)], probe))  # fmt: skip
    assert wires[1].take() == [] and wires[2].take() == []
    assert emu.delivered[1] == 1  # h1


def test_released_packet_walks_the_installed_path_and_completes_setups(loop) -> None:
    emu, wires = emulator(loop, spec.linear(3))
    h1, h3 = emu.topo.hosts[0], emu.topo.hosts[2]
    for d in (1, 2, 3):
        _install_discovery_flows(emu, d)
    done: list[ofemu.Setup] = []
    emu.tracker = ofemu.SetupTracker(done.append)
    setup = ofemu.Setup(0, h1, h3, ofemu.ipv4_frame(h1, h3, 0), t_sent=0.0)
    emu.tracker.add(setup)
    emu.inject(h1, setup.data)
    emu._flush_all()
    (pi,) = wires[1].take()
    assert isinstance(pi, parser.OFPPacketIn) and pi.reason == ofp_v13.OFPR_NO_MATCH
    assert emu.trace(h1, h3) == ([1], False)

    def flow(dpid: int, in_port: int, out_port: int) -> None:
        match = parser.OFPMatch(in_port=in_port, eth_src=h1.mac_str, eth_dst=h3.mac_str)
        act = [parser.OFPActionOutput(out_port)]
        inst = [parser.OFPInstructionActions(ofp_v13.OFPIT_APPLY_ACTIONS, act)]
        feed(emu, dpid, parser.OFPFlowMod(DP, priority=100, match=match, instructions=inst))

    # Path 1 -> 2 -> 3 (linear,3: s1 p2 - p2 s2 p3 - p2 s3; host ports 1 come first).
    flow(3, 2, h3.port)
    flow(2, 2, 3)
    assert done == []  # not yet on the ingress switch
    flow(1, h1.port, 2)
    assert done == [setup] and setup.how == "flowmod"
    assert emu.trace(h1, h3) == ([1, 2, 3], True)
    release = parser.OFPPacketOut(
        DP, ofp_v13.OFP_NO_BUFFER, h1.port, [parser.OFPActionOutput(ofp_v13.OFPP_TABLE)],
        setup.data,
    )  # fmt: skip
    feed(emu, 1, release)
    assert setup.t_delivered is not None and emu.delivered[h3.number] == 1
    assert all(w.take() == [] for w in wires.values())  # no transit packet-ins


def test_flood_crosses_a_tree_once(loop) -> None:
    emu, wires = emulator(loop, spec.tree(2, 2), hosts=1)  # 7 switches, h1 on the root
    for d in emu.switches:
        _install_discovery_flows(emu, d)
    for w in wires.values():
        w.take()
    src = emu.topo.hosts[0]
    data = ofemu.arp_request(src, b"\x0a\x00\x00\x09")
    flood = parser.OFPPacketOut(
        DP, ofp_v13.OFP_NO_BUFFER, src.port, [parser.OFPActionOutput(ofp_v13.OFPP_FLOOD)], data
    )
    feed(emu, src.dpid, flood)
    # The table-miss entries send it to the controller from every neighbour of the root.
    assert sum(len(w.take()) for w in wires.values()) == 2


@pytest.mark.parametrize("seed", range(3))
def test_the_one_unpack_flow_mod_decoder_equals_the_general_one(seed: int) -> None:
    """Path FlowMods (what our app sends, struct-built) take the one-unpack decoder; the
    result equals the field-by-field decoder's, and any other layout of the same length
    (a byte changed anywhere) falls back to it."""
    import random

    from controller.southbound.messages import FlowAdd
    from controller.southbound.messages import Match as OurMatch
    from controller.southbound.ofp import encode_flow_add

    rng = random.Random(seed)

    def mac() -> str:
        return ":".join(f"{rng.randrange(256):02x}" for _ in range(6))

    for _ in range(100):
        ours = FlowAdd(1, OurMatch(rng.randrange(1, 1 << 32), mac(), mac()),
                       rng.randrange(1, 0xFFFFFF00), rng.randrange(1 << 16),
                       rng.randrange(1 << 64), rng.randrange(1 << 16), rng.randrange(1 << 16),
                       notify_removal=rng.random() < 0.5)  # fmt: skip
        msg = encode_flow_add(ours, rng.randrange(1 << 32))
        assert len(msg) == ofemu._PATH_FLOW_LEN
        fm = ofemu.decode_flow_mod(msg)
        assert fm == ofemu._decode_flow_mod_any(msg)
        assert fm.match.in_port == ours.match.in_port and fm.outputs == (ours.out_port,)
        mutated = bytearray(msg)
        mutated[rng.randrange(48, len(msg))] ^= 1 << rng.randrange(8)
        try:
            expected = ofemu._decode_flow_mod_any(bytes(mutated))
        except (ValueError, struct.error):
            continue
        assert ofemu.decode_flow_mod(bytes(mutated)) == expected
