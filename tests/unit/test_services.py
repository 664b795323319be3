"""Each service behind the core, alone: discovery, hosts (edge), link cost.

A plain NetworkGraph and hand-made inputs; no core, no fake network. (The forwarding
runtime has its own file, tests/unit/test_runtime.py.)"""

from __future__ import annotations

import pytest

from controller.config import Config
from controller.discovery.lldp import build_probe
from controller.discovery.service import DiscoveryService, base_flows, probe_key_for
from controller.hosts.service import HostService
from controller.linkcost.latency import echo_payload
from controller.linkcost.service import LinkCostService
from controller.linkcost.stats import PortCounters
from controller.network.graph import NetworkGraph
from controller.network.model import LinkKey, PortInfo
from controller.southbound import frames
from controller.southbound.messages import (
    ETH_TYPE_LLDP,
    OFPP_CONTROLLER,
    EchoRequest,
    FlowAdd,
    PacketOut,
    PortStatsRequest,
)

NONCE = 0x5EED
A, B = "00:00:00:00:00:01", "00:00:00:00:00:02"


def two_switches(config: Config | None = None) -> NetworkGraph:
    """s1 port 1 - s2 port 1 cabled; port 2 of each free (a host's)."""
    g = NetworkGraph(config or Config())
    for d in (1, 2):
        g.add_switch(d, [PortInfo(1, hw_addr=f"0a:00:00:00:00:0{d}"), PortInfo(2)], 0.0)
    return g


# ------------------------------------------------------------------ discovery
def test_base_flows_are_a_miss_and_an_lldp_entry_and_delete_nothing() -> None:
    msgs = base_flows(7)
    assert all(isinstance(m, FlowAdd) and m.dpid == 7 for m in msgs)
    assert {m.out_port for m in msgs} == {OFPP_CONTROLLER} and len(msgs) == 2
    assert {m.match.eth_type for m in msgs} == {None, ETH_TYPE_LLDP}


def test_discovery_probes_every_up_port_and_a_probe_back_makes_a_link() -> None:
    g = two_switches()
    d = DiscoveryService(Config(), g, NONCE)
    probes = d.probes_for(1, now=1.0)
    assert [p.out_ports for p in probes] == [(1,), (2,)]
    arrival = d.on_probe(2, 1, probes[0].data, now=1.01)
    assert arrival is not None and arrival.key == LinkKey(1, 1, 2, 1)
    assert not arrival.change and g.edge(1, 2) is None  # one direction is not a link yet
    back = d.on_probe(1, 1, d.probes_for(2, now=1.02)[0].data, now=1.03)
    assert back is not None
    assert set(back.change.added) == {LinkKey(1, 1, 2, 1), LinkKey(2, 1, 1, 1)}
    assert g.edge(1, 2) is not None and g.edge(2, 1) is not None
    assert d.counters.lldp_in == 2 and d.counters.lldp_rejected == 0


def test_discovery_rejects_forged_stale_and_foreign_probes() -> None:
    cfg = Config()
    d = DiscoveryService(cfg, two_switches(cfg), NONCE)
    stale = build_probe(1, 1, "", 1.0, probe_key_for(NONCE))
    assert d.on_probe(2, 1, stale, now=1.0 + 2 * cfg.link_timeout + 0.1) is None
    foreign = build_probe(1, 1, "", 1.0, probe_key_for(NONCE + 1))
    assert d.on_probe(2, 1, foreign, now=1.01) is None
    assert d.on_probe(2, 1, b"\x00" * 64, now=1.01) is None
    assert d.counters.lldp_rejected == 3 and d.counters.lldp_in == 3


def test_discovery_expires_silent_links_and_port_down_removes_them() -> None:
    cfg = Config()
    g = two_switches(cfg)
    d = DiscoveryService(cfg, g, NONCE)
    for sw, port, peer in ((1, 1, 2), (2, 1, 1)):
        probe = next(p for p in d.probes_for(sw, 1.0) if p.out_ports == (port,))
        d.on_probe(peer, 1, probe.data, now=1.0)
    assert d.expire(1.0 + cfg.link_timeout / 2).removed == ()
    change = d.port_status(1, PortInfo(1, up=False), now=2.0)
    assert set(change.removed) == {LinkKey(1, 1, 2, 1), LinkKey(2, 1, 1, 1)}


# ------------------------------------------------------------------ hosts
def arp_request(src: str, src_ip: str, target_ip: str) -> frames.Frame:
    raw = frames.arp_frame(frames.ARP_REQUEST, src, src_ip, "00:00:00:00:00:00", target_ip)
    return frames.parse_frame(raw)


def test_hosts_learn_proxy_arp_and_flood_to_access_ports_only() -> None:
    cfg = Config()
    g = two_switches(cfg)
    g.link_seen(LinkKey(1, 1, 2, 1), 0.5)
    g.link_seen(LinkKey(2, 1, 1, 1), 0.5)
    hosts = HostService(cfg, g)
    now = 10.0  # every port long past its quiet period
    ask = arp_request(A, "10.0.0.1", "10.0.0.2")
    decision = hosts.on_frame(ask, 1, 2, b"request-1", now)
    (flood,) = decision.messages  # B unknown: flooded to the other access port only
    assert isinstance(flood, PacketOut) and (flood.dpid, flood.out_ports) == (2, (2,))
    assert hosts.on_frame(ask, 1, 2, b"request-1", now + 0.01).messages == []  # a copy
    hosts.on_frame(arp_request(B, "10.0.0.2", "10.0.0.2"), 2, 2, b"announce", now)
    decision = hosts.on_frame(ask, 1, 2, b"request-2", now + 1)
    (reply,) = decision.messages  # B known: answered by the controller
    assert isinstance(reply, PacketOut) and reply.out_ports == (2,)
    answer = frames.parse_frame(reply.data).arp
    assert answer is not None and (answer.sender_mac, answer.sender_ip) == (B, "10.0.0.2")
    unicast = frames.parse_frame(frames.ipv4_packet(A, B, "10.0.0.1", "10.0.0.2", 17, b""))
    assert hosts.on_frame(unicast, 1, 2, b"data", now + 2).route
    assert hosts.counters.arp_proxied == 1 and hosts.counters.flood_duplicates_dropped == 1


def test_hosts_report_moves_bound_the_table_and_age_out() -> None:
    cfg = Config(max_hosts=1, host_timeout=5.0)
    hosts = HostService(cfg, two_switches(cfg))
    hosts.on_frame(arp_request(A, "10.0.0.1", "10.0.0.1"), 1, 2, b"a", 10.0)
    later = 10.0 + cfg.host_move_quiet  # silent at its old port since: a move
    moved = hosts.on_frame(arp_request(A, "10.0.0.1", "10.0.0.1"), 2, 2, b"b", later).moved
    assert moved is not None and (moved.old, moved.new) == ((1, 2), (2, 2))
    hosts.on_frame(arp_request(B, "10.0.0.2", "10.0.0.2"), 1, 2, b"c", 11.0)
    assert hosts.table.by_mac(B) is None and hosts.counters.hosts_refused == 1
    hosts.tick(20.0, in_use={A})  # in use: kept (its traffic runs on flows)
    assert hosts.table.by_mac(A) is not None
    hosts.tick(30.0, in_use=set())
    assert hosts.table.by_mac(A) is None and hosts.counters.hosts_aged_out == 1


# ------------------------------------------------------------------ link cost
def test_linkcost_polls_turns_counters_into_link_figures_and_weights() -> None:
    cfg = Config(model_path="")
    g = two_switches(cfg)
    g.link_seen(LinkKey(1, 1, 2, 1), 0.0)
    g.link_seen(LinkKey(2, 1, 1, 1), 0.0)
    cost = LinkCostService(cfg, g)
    assert cost.model is None and "model_path" in cost.model_error
    assert cost.stats_requests() == [PortStatsRequest(1), PortStatsRequest(2)]
    assert all(isinstance(m, EchoRequest) for m in cost.echo_requests(1.0))
    capacity = g.edge(1, 2).capacity_bps  # type: ignore[union-attr]
    util_version = g.version("utilization")
    hop_version = g.version("hop")
    working = []
    for i, t in enumerate((1.0, 2.0, 3.0)):
        sent = int(i * capacity / 8 / 2)  # half the capacity per second
        working = cost.on_port_stats(1, [PortCounters(1, sent, 0, 10 * i, 0)], t)
        cost.on_port_stats(2, [PortCounters(1, 0, sent, 0, 10 * i)], t)
    edge = g.edge(1, 2)
    assert edge is not None and abs(edge.utilization - 0.5) < 1e-6
    assert g.version("utilization") != util_version and g.version("hop") == hop_version
    assert working == [LinkKey(1, 1, 2, 1)]  # sent here, received there: the cable works
    assert cost.update_costs(4.0) == 0  # no delay measured yet: no features
    assert edge.features is None and edge.fallback_cost == 2.0  # 1 + UNMEASURED_MS / 1 ms
    g.update_link(1, 2, latency_ms=0.7)
    assert cost.update_costs(5.0) == 0  # no model: features only
    assert edge.features is not None and edge.predicted_cost is None
    assert edge.fallback_cost == pytest.approx(1.7)  # the same scale: 1 + 0.7 ms / 1 ms


def test_linkcost_measures_delay_from_echo_and_probe_times() -> None:
    cfg = Config(model_path="")
    g = two_switches(cfg)
    g.link_seen(LinkKey(1, 1, 2, 1), 0.0)
    g.link_seen(LinkKey(2, 1, 1, 1), 0.0)
    cost = LinkCostService(cfg, g)
    for d in (1, 2):
        cost.on_echo_reply(d, echo_payload(10.0), 10.002)  # 2 ms control round trip
    cost.on_probe(LinkKey(1, 1, 2, 1), sent_at=11.0, now=11.007)
    edge = g.edge(1, 2)
    assert edge is not None and edge.latency_ms is not None
    assert abs(edge.latency_ms - 5.0) < 1e-6  # 7 ms travel minus two half round trips
