"""Discovery that hosts cannot forge (hardening finding 4), on the fake network.

Two colluding hosts relaying our signed probes between their access ports, a host
reflecting a probe back, a replayed or late probe: none makes a link or a route through
the attackers, and a rejected probe changes nothing (no host is forgotten)."""

from __future__ import annotations

from controller.discovery.service import DiscoveryService
from controller.southbound.messages import PacketOut
from tests.fakes import FakeNetwork
from topologies.spec import parse_spec


def ring4() -> FakeNetwork:
    """ring,4 with h1..h4 on s1..s4 and two attackers: h5 on s1, h6 on s3."""
    net = FakeNetwork(
        parse_spec("ring,4").to_networkx(), {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 1, "h6": 3}
    )
    net.discover()
    net.announce_all()
    return net


def probe_out_of(net: FakeNetwork, dpid: int, port: int) -> bytes:
    """The probe the controller sends out of (dpid, port) now: what the host there gets."""
    probes = net.core.discovery.probes_for(dpid, net.now)
    return next(p.data for p in probes if isinstance(p, PacketOut) and p.out_ports == (port,))


def links(net: FakeNetwork) -> set[tuple[int, int]]:
    return {(k.src, k.dst) for k in net.core.graph.links()}


def test_hosts_relaying_probes_one_way_make_no_link_and_no_route() -> None:
    net = ring4()
    before = links(net)
    h5, h6 = net.host("h5"), net.host("h6")
    for _ in range(3):
        net.now += 1.0
        data = probe_out_of(net, h5.dpid, h5.port)
        net.packet_in(h6.dpid, h6.port, data)  # h5 hands it to h6, who injects it
    assert links(net) == before  # no edge s1 -> s3 from one direction
    assert net.deliver("h1", "h3") in ([1, 2, 3], [1, 4, 3])


def test_rejected_probes_leave_no_state_behind() -> None:
    """Delay records were kept for cables never accepted (a host reflecting probes)."""
    net = ring4()
    latency = net.core.linkcost.latency
    known = set(latency.link_ms) | set(latency.samples)
    h5 = net.host("h5")
    for _ in range(50):
        net.now += 0.1
        net.packet_in(h5.dpid, h5.port, probe_out_of(net, h5.dpid, h5.port))  # reflected
        net.packet_in(h5.dpid, h5.port, probe_out_of(net, 3, net.host("h6").port))  # relayed
    assert set(latency.link_ms) | set(latency.samples) <= known


def test_chatty_hosts_relaying_probes_both_ways_make_no_link() -> None:
    net = ring4()
    before = links(net)
    h5, h6 = net.host("h5"), net.host("h6")
    net.send("h5", net.ipv4("h5", "h6"))  # they talk, as hosts do
    rejected = net.counters.lldp_at_host_ports
    net.now += 0.5
    net.packet_in(h6.dpid, h6.port, probe_out_of(net, h5.dpid, h5.port))
    net.packet_in(h5.dpid, h5.port, probe_out_of(net, h6.dpid, h6.port))
    assert links(net) == before
    assert net.counters.lldp_at_host_ports == rejected + 2
    assert net.core.hosts.table.by_mac(h5.mac) is not None  # nothing forgotten


def test_a_reflected_probe_is_rejected_and_forgets_no_host() -> None:
    net = ring4()
    h5 = net.host("h5")
    net.now += 0.5
    out = net.packet_in(h5.dpid, h5.port, probe_out_of(net, h5.dpid, h5.port))
    assert out.messages == [] and net.counters.lldp_reflected == 1
    assert net.core.hosts.table.by_mac(h5.mac) is not None
    assert net.core.hosts.table.by_mac(net.host("h1").mac) is not None
    assert net.deliver("h5", "h3")[-1] == 3


def test_a_probe_counts_once_and_only_while_fresh() -> None:
    net = FakeNetwork(parse_spec("linear,2").to_networkx())
    net.discover()
    d = net.core.discovery
    p12, p21 = net.link_port(1, 2), net.link_port(2, 1)
    net.now += 0.5
    data = probe_out_of(net, 1, p12)
    replayed = d.counters.lldp_replayed
    assert d.on_probe(2, p21, data, net.now + 0.01) is not None
    assert d.on_probe(2, p21, data, net.now + 0.02) is None  # a copy: a replay
    assert d.counters.lldp_replayed == replayed + 1
    late = probe_out_of(net, 1, p12)
    assert d.on_probe(2, p21, late, net.now + net.config.probe_max_age + 0.1) is None


def test_the_accepted_probe_memory_is_bounded_by_the_probe_age() -> None:
    net = FakeNetwork(parse_spec("linear,2").to_networkx())
    net.discover()
    d: DiscoveryService = net.core.discovery
    p12, p21 = net.link_port(1, 2), net.link_port(2, 1)
    for _ in range(1000):  # 1,000 probe rounds at 10 per second
        net.now += 0.1
        d.on_probe(2, p21, probe_out_of(net, 1, p12), net.now)
    window = net.config.probe_max_age / 0.1
    assert len(d._accepted) <= window + 2
