"""LLDP on a network with more ports than the probe budget: each round probes the next
share, every port once per sweep, and links live through the stretched timeout."""

from __future__ import annotations

from collections import Counter

from controller.config import Config
from controller.southbound.messages import PacketOut
from tests.fakes import FakeNetwork
from topologies import spec


def probes(net: FakeNetwork) -> list[PacketOut]:
    before = len(net.sent)
    net.lldp_round()
    return [m for m in net.sent[before:] if isinstance(m, PacketOut)
            and m.in_port == 0xFFFFFFFD]  # fmt: skip


def test_under_the_budget_every_port_every_round() -> None:
    net = FakeNetwork(spec.ring(6).to_networkx())
    net.discover()
    out = probes(net)
    assert len(out) == 18 and net.core.discovery.probe_period == 1  # 6 x (2 links + a host)


def test_over_the_budget_a_share_per_round_and_every_port_once_per_sweep() -> None:
    cfg = Config(lldp_max_probes_per_s=5.0)
    net = FakeNetwork(spec.ring(6).to_networkx(), config=cfg)
    net.discover()
    period = net.core.discovery.probe_period
    assert period == 4  # 18 up ports, 5 a round
    seen: Counter[tuple[int, int]] = Counter()
    for _ in range(period):
        out = probes(net)
        assert len(out) <= 5
        seen.update((m.dpid, m.out_ports[0]) for m in out)
    assert len(seen) == 18 and max(seen.values()) <= 2  # a sweep covers every port


def test_links_are_found_and_live_through_the_stretched_timeout() -> None:
    cfg = Config(lldp_max_probes_per_s=5.0)
    net = FakeNetwork(spec.ring(6).to_networkx(), config=cfg)
    net.discover()
    net.advance(4 * cfg.lldp_interval * 4)  # a few sweeps to find everything
    assert net.core.graph.graph.number_of_edges() == 12
    for _ in range(40):  # 40 s more: nothing expires between two probes of a cable
        net.advance(cfg.lldp_interval)
        assert net.core.graph.graph.number_of_edges() == 12
    # A cut cable still goes (its port reports it), and a silent one within a stretched
    # timeout: here, LLDP dropped on s1-s2 (the port stays up).
    net.block_lldp(1, 2)
    net.advance(cfg.link_timeout * 4 + 4 * cfg.lldp_interval)
    assert net.core.graph.graph.number_of_edges() == 10


def test_echo_requests_follow_the_share() -> None:
    """Under the budget every switch is echoed each round; over it, the share's switches
    (each once per sweep), not every switch every round."""
    from controller.southbound.messages import EchoRequest

    def echoed(net: FakeNetwork) -> set[int]:
        before = len(net.sent)
        net.lldp_round()
        return {m.dpid for m in net.sent[before:] if isinstance(m, EchoRequest)}

    net = FakeNetwork(spec.ring(6).to_networkx())
    net.discover()
    assert echoed(net) == set(range(1, 7))
    net = FakeNetwork(spec.ring(6).to_networkx(), config=Config(lldp_max_probes_per_s=5.0))
    net.discover()
    seen: set[int] = set()
    for _ in range(net.core.discovery.probe_period):
        before = len(net.sent)
        net.lldp_round()
        new = net.sent[before:]
        share = {m.dpid for m in new if isinstance(m, PacketOut) and m.in_port == 0xFFFFFFFD}
        echo = {m.dpid for m in new if isinstance(m, EchoRequest)}
        assert echo == share and len(echo) < 6
        seen |= echo
    assert seen == set(range(1, 7))
