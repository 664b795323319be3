"""A host table that cannot be poisoned cheaply (hardening finding 5), on the fake network.

An attacker on its own access port sends a gratuitous ARP for a victim's address, a
spoofed IPv4 source, a frame with the victim's MAC, or floods MACs: proxy ARP still
answers with the victim's MAC, the victim stays where it is and keeps its routes, and
honest hosts elsewhere are still learned."""

from __future__ import annotations

from controller.config import Config
from controller.southbound.frames import ARP_REPLY, arp_frame, parse_frame
from controller.southbound.messages import PacketOut
from tests.fakes import FakeNetwork, ipv4_frame
from topologies.spec import parse_spec

VICTIM, ATTACKER, ASKER = "h1", "h4", "h2"


def net_with(**cfg: object) -> FakeNetwork:
    graph = parse_spec("ring,4").to_networkx()
    hosts = {"h1": 1, "h2": 2, "h3": 3, "h4": 4}
    config = Config(model_path="", **cfg)  # type: ignore[arg-type]
    net = FakeNetwork(graph, hosts, config, extra_ports=1)
    net.discover()
    net.announce_all()
    return net


def proxy_answer(net: FakeNetwork, asker: str, ip: str) -> str | None:
    """The MAC the controller answers ``asker``'s ARP request for ``ip`` with."""
    a = net.host(asker)
    request = arp_frame(1, a.mac, a.ip, "00:00:00:00:00:00", ip)
    out = net.packet_in(a.dpid, a.port, request)
    for m in out.messages:
        if isinstance(m, PacketOut) and m.out_ports == (a.port,):
            arp = parse_frame(m.data).arp
            if arp is not None and arp.opcode == ARP_REPLY:
                return arp.sender_mac
    return None


def test_a_gratuitous_arp_for_a_bound_address_is_refused_and_not_flooded() -> None:
    net = net_with()
    v, x = net.host(VICTIM), net.host(ATTACKER)
    garp = arp_frame(2, x.mac, v.ip, "ff:ff:ff:ff:ff:ff", v.ip, eth_dst="ff:ff:ff:ff:ff:ff")
    out = net.packet_in(x.dpid, x.port, garp)
    assert out.messages == []  # not flooded to the victim's neighbours either
    assert net.counters.ip_claims_refused == 1
    assert proxy_answer(net, ASKER, v.ip) == v.mac


def test_a_spoofed_ipv4_source_binds_nothing() -> None:
    net = net_with()
    v, x = net.host(VICTIM), net.host(ATTACKER)
    net.packet_in(x.dpid, x.port, ipv4_frame(x.mac, net.host("h3").mac, v.ip, "10.0.0.3", b""))
    assert proxy_answer(net, ASKER, v.ip) == v.mac


def test_a_frame_with_the_victims_mac_from_another_port_does_not_move_it() -> None:
    net = net_with()
    v, x = net.host(VICTIM), net.host(ATTACKER)
    assert net.deliver(VICTIM, "h3")
    spoofed = ipv4_frame(v.mac, net.host("h3").mac, v.ip, "10.0.0.3", b"")
    for _ in range(3):
        net.packet_in(x.dpid, x.port, spoofed)
    known = net.core.hosts.table.by_mac(v.mac)
    assert known is not None and (known.dpid, known.port) == (v.dpid, v.port)
    assert net.counters.moves_refused == 3
    assert net.runtime.record(v.mac, net.host("h3").mac) is not None  # routes kept
    assert net.walk(VICTIM, "h3")[-1] == 3


def test_a_host_that_really_moves_is_followed() -> None:
    net = net_with()
    assert net.deliver(VICTIM, "h3")
    net.move_host(VICTIM, 3, unplug=False)  # it left; its old port stays up
    net.advance(net.config.host_move_quiet + 0.5)  # silent there since
    assert net.deliver(VICTIM, "h3") == [3]
    known = net.core.hosts.table.by_mac(net.host(VICTIM).mac)
    assert known is not None and known.dpid == 3


def test_a_mac_flood_on_one_port_leaves_room_for_honest_hosts_elsewhere() -> None:
    net = net_with(max_hosts=100, max_macs_per_port=8)
    x = net.host(ATTACKER)
    for i in range(200):
        mac = f"02:00:00:00:{i >> 8:02x}:{i & 0xFF:02x}"
        frame = ipv4_frame(mac, "ff:ff:ff:ff:ff:ff", "10.9.9.9", "10.255.255.255", b"")
        net.packet_in(x.dpid, x.port, frame)
    assert net.core.hosts.table.count_at(x.dpid, x.port) == 8
    assert net.counters.hosts_refused >= 190
    port = net.free_ports(2)[0]
    newcomer = "02:00:00:00:aa:01"
    net.packet_in(2, port, arp_frame(1, newcomer, "10.0.0.77", "00:00:00:00:00:00", "10.0.0.1"))
    assert net.core.hosts.table.by_mac(newcomer) is not None
