"""Rate limits and bounded memory (hardening findings 6 and 7), on the fake network.

A flood from one host port is cut before parsing and leaves LLDP and other hosts alone;
200k attacker-chosen keys (source MACs, in_ports, flood fingerprints) leave every table
at its bound and the memory flat."""

from __future__ import annotations

import gc
import logging
import sys
import time
import types
from collections.abc import Iterable

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


# Shared code and the test's own side: not the controller's state.
NOT_STATE = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.CodeType,
    logging.Logger,
    FakeNetwork,
)


def retained_bytes(net: FakeNetwork) -> int:
    """Bytes of every object the controller holds: reachable from its core and from the
    controller's module globals (a module-level cache counts), not from the fake network.
    Exact and cheap, unlike tracing every allocation of a 200k-frame run."""
    roots: list[object] = [net.core]
    roots += [vars(m) for name, m in list(sys.modules.items()) if name.startswith("controller.")]
    seen: set[int] = set()
    total = 0
    stack = roots
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, NOT_STATE):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        referents: Iterable[object] = gc.get_referents(obj)
        if type(obj) is dict:  # a dict with str keys does not report them as referents
            referents = [*referents, *obj.keys()]
        stack.extend(referents)
    return total


def test_retained_bytes_sees_a_table_that_grows_with_attacker_keys() -> None:
    net = ring4()
    base = retained_bytes(net)
    net.core.leak = {f"02:00:00:{i:06x}": (i, float(i)) for i in range(20_000)}  # type: ignore[attr-defined]
    assert retained_bytes(net) - base > 20_000 * 100  # the keys, the values, the table


def test_200k_attacker_chosen_keys_leave_every_table_at_its_bound() -> None:
    net = ring4(max_hosts=1000, max_macs_per_port=64, packet_in_rate=1e9)  # no rate limit
    h1 = net.host("h1")
    base = retained_bytes(net)
    start = time.perf_counter()
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
    took = time.perf_counter() - start
    grown = retained_bytes(net) - base
    core = net.core
    assert len(core.hosts.table) <= 1000
    assert core.hosts.table.count_at(h1.dpid, h1.port) <= 64
    assert len(core.limiter) <= 2 * sum(len(core.graph.ports(d)) for d in core.graph.switches())
    assert len(core.discovery._accepted) < 100
    print(f"\n200k keys in {took:.1f} s: the controller's state grew {grown / 1e3:.1f} kB")
    assert grown < 5e6  # under 25 bytes a key: nothing is kept per key


def test_one_host_sending_to_every_other_fills_the_pair_table_only_to_max_pairs() -> None:
    """A host that sprays new destinations gets at most ``max_pairs`` pairs installed;
    the rest are refused and counted (no record, no flows), other installed pairs keep
    working, and a pair that idles out makes room again."""
    from controller.forwarding.plan import Direction, PairKey
    from tests.fakes import NotDelivered

    hosts = {f"h{i}": 1 + i % 4 for i in range(1, 13)}
    config = Config(model_path="", max_pairs=4)
    net = FakeNetwork(parse_spec("ring,4").to_networkx(), hosts, config)
    net.discover()
    net.announce_all()
    delivered = []
    for i in range(2, 13):
        try:
            net.deliver("h1", f"h{i}")
            delivered.append(f"h{i}")
        except NotDelivered:
            pass
    runtime = net.core.forwarding
    assert len(runtime.pairs) == 4 and len(delivered) == 4
    assert runtime.counters.pairs_refused >= 11 - 4  # each refused first packet, at least
    refused_pairs = [f"h{i}" for i in range(2, 13) if f"h{i}" not in delivered]
    assert all(PairKey.of(net.hosts["h1"].mac, net.hosts[h].mac) not in runtime.pairs
               for h in refused_pairs)  # fmt: skip
    for h in delivered:
        assert net.walk("h1", h)  # the installed ones still forward, switch by switch
    # One pair idles out in both directions: the next new pair gets its place.
    record = runtime.record(net.hosts["h1"].mac, net.hosts[delivered[0]].mac)
    assert record is not None
    for d in Direction:
        net.idle_timeout(record.ingress(d), record.flow_cookie(d))
    assert len(runtime.pairs) == 3
    net.deliver("h1", refused_pairs[0])
    assert len(runtime.pairs) == 4


def test_port_stats_for_ports_a_switch_does_not_have_grow_nothing() -> None:
    """A port-stats reply naming ports the switch never announced (50,000 of them) adds
    no rows to the traffic tables or the rings; its real ports are read as usual."""
    from controller.southbound.messages import PortCounters

    net = ring4()
    stats = net.core.linkcost
    dpid = 1
    real = sorted(net.core.graph.ports(dpid))
    before = len(stats.traffic.ports)
    for t in range(3):
        counters = [PortCounters(p, 1000 * t, 1000 * t, t, t) for p in real]
        counters += [PortCounters(10_000 + i, t, t, t, t) for i in range(50_000)]
        stats.on_port_stats(dpid, counters, net.now + t)
    keys = [k for k in stats.traffic.ports if k[0] == dpid]
    assert sorted(p for _, p in keys) == real
    assert len(stats.traffic.ports) <= before + len(real)
    assert all(stats.traffic.get(dpid, p) is not None for p in real)
