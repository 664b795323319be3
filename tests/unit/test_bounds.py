"""Rate limits and bounded memory (hardening findings 6 and 7), on the fake network.

A flood from one host port is cut before parsing and leaves LLDP and other hosts alone;
200k attacker-chosen keys (source MACs, in_ports, flood fingerprints) leave every table
at its bound and the memory flat."""

from __future__ import annotations

import tracemalloc

from controller.config import Config
from tests.fakes import FakeNetwork, ipv4_frame
from topologies.spec import parse_spec


def ring4(**cfg: object) -> FakeNetwork:
    config = Config(model_path="", **cfg)  # type: ignore[arg-type]
    net = FakeNetwork(parse_spec("ring,4").to_networkx(), {"h1": 1, "h2": 2, "h3": 3}, config)
    net.discover()
    net.announce_all()
    return net


def test_a_flood_from_one_port_is_cut_before_parsing_and_starves_nobody() -> None:
    net = ring4(packet_in_rate=100.0)
    h1 = net.host("h1")
    links = len(list(net.core.graph.links()))
    parsed_before = net.counters.packet_ins - net.counters.rate_limited
    for i in range(10_000):  # 10k frames in one second of (fake) time
        net.now += 1e-4
        mac = f"02:00:00:00:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}"
        net.core.on_packet_in(
            h1.dpid,
            h1.port,
            ipv4_frame(mac, "ff:ff:ff:ff:ff:ff", "10.9.9.9", "10.9.9.10", b""),
            net.now,
        )
        if i % 1000 == 999:
            net.lldp_round()
            net.housekeeping()
    looked_at = net.counters.packet_ins - net.counters.rate_limited - parsed_before
    assert looked_at <= 2 * 100 + 100 + 10 * 2 * 8  # burst + a second's rate + the probes
    assert net.counters.rate_limited >= 9_600
    assert len(list(net.core.graph.links())) == links  # LLDP never waited behind it
    assert net.deliver("h2", "h3")  # another host's first packet still gets through


def test_200k_attacker_chosen_keys_leave_every_table_at_its_bound() -> None:
    net = ring4(max_hosts=1000, max_macs_per_port=64, packet_in_rate=1e9)  # no rate limit
    h1 = net.host("h1")
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    template = bytearray(
        ipv4_frame("02:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "10.9.9.9", "10.8.0.1", b"")
    )
    for i in range(200_000):
        net.now += 1e-3
        template[7:10] = i.to_bytes(3, "big")  # source MAC 02:00:00:xx:xx:xx
        frame = bytes(template)
        if i % 2:
            net.core.on_packet_in(h1.dpid, h1.port, frame, net.now)  # new MACs, new floods
        else:
            net.core.on_packet_in(h1.dpid, 0x10000 + i, frame, net.now)  # in_ports it lacks
        if i % 5000 == 0:
            net.housekeeping()
    grown, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    core = net.core
    assert len(core.hosts.table) <= 1000
    assert core.hosts.table.count_at(h1.dpid, h1.port) <= 64
    assert len(core.limiter) <= 2 * sum(len(core.graph.ports(d)) for d in core.graph.switches())
    assert len(core.discovery._accepted) < 100
    print(f"\n200k keys: memory grew {(grown - base) / 1e6:.1f} MB")
    assert grown - base < 20e6
