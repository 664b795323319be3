"""The forwarding runtime alone: one record per pair, the staged install sequence,
barrier/error/timeout/switch-loss outcomes (a scripted transport, no network)."""

from __future__ import annotations

import pytest

from controller.config import Config
from controller.forwarding.plan import Direction, PairKey
from controller.forwarding.runtime import ForwardingRuntime, HeldPacket, Outcome, PairState
from controller.hosts.table import HostTable
from controller.network.graph import NetworkGraph
from controller.network.model import LinkKey, PortInfo
from controller.routing.paths import Router
from controller.southbound.messages import OFPP_TABLE, FlowAdd, FlowDelete, Message, PacketOut
from tests.fakes import FakeNetwork
from topologies.spec import parse_spec

A, B, C = "00:00:00:00:00:01", "00:00:00:00:00:02", "00:00:00:00:00:03"


class Script:
    """A transport that records what is sent and lets the test answer barriers."""

    def __init__(self) -> None:
        self.sent: list[tuple[Message, int | None]] = []
        self.barriers: list[tuple[int, int]] = []
        self.down: set[int] = set()

    def send(self, msg: Message, xid: int | None = None) -> bool:
        if msg.dpid in self.down:
            return False
        self.sent.append((msg, xid))
        return True

    def send_barrier(self, dpid: int, xid: int) -> bool:
        if dpid in self.down:
            return False
        self.barriers.append((dpid, xid))
        return True


def line(n: int) -> NetworkGraph:
    """Switches 1..n in a row; port 1 a host, 2 towards n, 3 towards 1."""
    g = NetworkGraph(Config())
    for d in range(1, n + 1):
        g.add_switch(d, [PortInfo(1), PortInfo(2), PortInfo(3)], 0.0)
    for d in range(1, n):
        g.link_seen(LinkKey(d, 2, d + 1, 3), 1.0)
        g.link_seen(LinkKey(d + 1, 3, d, 2), 1.0)
    return g


def runtime(n: int = 3, **cfg: float) -> tuple[ForwardingRuntime, Script, HostTable]:
    graph, hosts, script = line(n), HostTable(), Script()
    hosts.learn(A, 1, 1, 0.0)
    hosts.learn(B, n, 1, 0.0)
    hosts.learn(C, 2, 1, 0.0)
    rt = ForwardingRuntime(Config(**cfg), graph, Router(graph), hosts.by_mac, lambda: "hop", script)
    return rt, script, hosts


def packet(data: bytes = b"x") -> HeldPacket:
    return HeldPacket(1, 1, data)


def test_every_switch_but_the_ingress_at_once_then_the_ingress_then_the_release() -> None:
    rt, script, _ = runtime()
    rt.forward(A, B, packet(), now=10.0)
    record = rt.record(A, B)
    assert record is not None and record.state is PairState.INSTALLING
    assert [d for d, _ in script.barriers] == [3, 2]  # egress first, both at once
    for dpid, xid in script.barriers:
        stage_msgs = [m for m, x in script.sent if x == xid]
        assert {m.dpid for m in stage_msgs} == {dpid} and len(stage_msgs) == 2
        assert all(isinstance(m, FlowAdd) for m in stage_msgs)
    rt.on_barrier_reply(*script.barriers[0], now=10.1)
    assert len(script.barriers) == 2  # the ingress waits for switch 2 too
    rt.on_barrier_reply(*script.barriers[1], now=10.1)
    assert [d for d, _ in script.barriers] == [3, 2, 1]
    assert not any(isinstance(m, PacketOut) for m, _ in script.sent)  # still held
    rt.on_barrier_reply(*script.barriers[2], now=10.2)
    assert record.state is PairState.INSTALLED and record.held == []
    assert script.sent[-1][0] == PacketOut(1, 1, (OFPP_TABLE,), b"x")
    assert [r.outcome for r in rt.results] == [Outcome.DONE]
    assert rt.counters.paths_installed == 1


def test_each_stage_gets_its_own_xid_and_wrong_or_repeated_barriers_are_ignored() -> None:
    rt, script, _ = runtime()
    rt.forward(A, B, packet(), now=0.0)
    (d3, x3), (d2, x2) = script.barriers
    assert x3 != x2
    rt.on_barrier_reply(d3, x3 + 7, now=0.1)  # wrong xid
    rt.on_barrier_reply(d2, x3, now=0.1)  # another switch's xid
    rt.on_barrier_reply(d3, x3, now=0.1)
    rt.on_barrier_reply(d3, x3, now=0.1)  # answered twice: counts once
    assert len(script.barriers) == 2
    rt.on_barrier_reply(d2, x2, now=0.1)
    assert len(script.barriers) == 3 and script.barriers[2][1] not in (x2, x3)


def test_packets_arriving_meanwhile_are_held_bounded_and_one_install_runs() -> None:
    rt, _, _ = runtime()
    for i in range(40):
        rt.forward(A, B, packet(bytes([i])), now=0.0)
    record = rt.record(A, B)
    assert record is not None and len(record.held) == 16
    assert rt.counters.installs_started == 1


def test_a_barrier_timeout_fails_and_drops_the_pair() -> None:
    rt, script, _ = runtime(barrier_timeout=2.0)
    rt.forward(A, B, packet(), now=0.0)
    rt.expire(now=1.9)
    assert rt.record(A, B) is not None
    rt.expire(now=2.1)
    assert rt.record(A, B) is None
    assert [r.outcome for r in rt.results] == [Outcome.BARRIER_TIMEOUT]
    assert any(isinstance(m, FlowDelete) for m, _ in script.sent)


def test_the_timeout_counts_from_the_current_stage() -> None:
    rt, script, _ = runtime(barrier_timeout=2.0)
    rt.forward(A, B, packet(), now=0.0)
    for barrier in list(script.barriers):
        rt.on_barrier_reply(*barrier, now=1.5)
    rt.expire(now=3.0)  # 3 s after the start, 1.5 s after the second step went out
    assert rt.record(A, B) is not None


def test_a_new_install_supersedes_the_running_one() -> None:
    rt, script, _ = runtime()
    rt.forward(A, B, packet(b"1"), now=0.0)
    old = script.barriers[-1]
    rt.transit_miss(A, B, packet(b"2"), now=0.1)  # under way: nothing new, held
    assert rt.counters.installs_started == 1
    rt.reroute({(1, 2)}, now=0.2)  # its link went: re-planned, generation 2
    record = rt.record(A, B)
    assert record is not None and record.generation == 2 and record.held  # packets kept
    assert [r.outcome for r in rt.results] == [Outcome.SUPERSEDED]
    rt.on_barrier_reply(*old, now=0.3)  # the old install's late reply: ignored
    assert record.install is not None and record.install.index == 0


def test_pairs_install_side_by_side_and_a_lost_switch_fails_only_its_waiters() -> None:
    rt, _, _ = runtime()
    rt.forward(A, B, packet(), now=0.0)  # waits on s3
    rt.forward(A, C, packet(), now=0.0)  # waits on s2
    assert sorted(rt.installing()) == sorted([PairKey.of(A, B), PairKey.of(A, C)])
    rt.on_switch_gone(3)
    assert rt.record(A, B) is None and rt.record(A, C) is not None
    assert [r.outcome for r in rt.results] == [Outcome.SWITCH_GONE]


def test_an_error_for_a_stage_fails_the_install() -> None:
    rt, script, _ = runtime()
    rt.forward(A, B, packet(), now=0.0)
    dpid, xid = script.barriers[-1]
    rt.on_error(dpid, xid + 7, "unrelated")
    assert rt.record(A, B) is not None
    rt.on_error(dpid, xid, "type=5 code=1")
    assert rt.record(A, B) is None
    assert [(r.outcome, r.detail) for r in rt.results] == [(Outcome.SWITCH_ERROR, "type=5 code=1")]


def test_a_switch_not_connected_fails_at_once() -> None:
    rt, script, _ = runtime()
    script.down.add(3)
    rt.forward(A, B, packet(), now=0.0)
    assert rt.record(A, B) is None
    assert [r.outcome for r in rt.results] == [Outcome.SWITCH_GONE]


def test_drop_cancels_and_deletes_by_pair_cookie() -> None:
    rt, script, _ = runtime()
    rt.forward(A, B, packet(), now=0.0)
    record = rt.record(A, B)
    assert record is not None
    rt.drop(record.key)
    assert [r.outcome for r in rt.results] == [Outcome.CANCELLED]
    deletes = [m for m, _ in script.sent if isinstance(m, FlowDelete)]
    assert {m.dpid for m in deletes} == {1, 2, 3} and all(
        m.cookie == record.cookie for m in deletes
    )
    assert rt.pairs == {} and rt.installing() == []


@pytest.mark.parametrize("src,egress", [(A, 3), (B, 1)])
def test_the_sender_decides_which_end_is_programmed_first(src: str, egress: int) -> None:
    rt, script, _ = runtime()
    dst = B if src == A else A
    rt.forward(src, dst, packet(), now=0.0)
    assert script.barriers[0][0] == egress
    record = rt.record(A, B)
    assert record is not None
    hops = record.hops
    assert [h.dpid for h in hops[Direction.B_TO_A]] == [h.dpid for h in hops[Direction.A_TO_B]][
        ::-1
    ]


def test_both_ends_sending_at_once_lose_no_first_packet() -> None:
    """h1's first packet starts the install (egress first: h4's switch is programmed
    first, both directions). h4's first packet, sent right then, crosses its own switch
    and misses at the next one, not yet programmed: it is held, not dropped."""
    net = FakeNetwork(parse_spec("linear,4").to_networkx(), {"h1": 1, "h4": 4})
    net.discover()
    net.announce_all()
    net.auto_barrier = False
    h1, h4 = net.host("h1"), net.host("h4")
    first, reply = net.ipv4("h1", "h4"), net.ipv4("h4", "h1")
    net.send("h1", first)
    net.release_barriers(1)  # s4 is programmed, s3..s1 are not yet
    net.send("h4", reply)
    assert net.counters.transit_misses == 1
    net.auto_barrier = True
    net.release_barriers()
    assert any(r.data == reply for r in h1.received)
    assert any(r.data == first for r in h4.received)
