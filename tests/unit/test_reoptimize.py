"""Installed routes follow link costs: re-optimization on the fake network.

Hysteresis (margin and floor), hold-down, per-direction paths, make-before-break order
(no moment at which a switch on the way lacks the entry it needs), the triggers (a link
coming back, a metric change, a cost override) and the pair's own load."""

from __future__ import annotations

import itertools
import logging

import networkx as nx
import pytest

from controller.config import Config
from controller.forwarding.plan import Direction, PairKey
from controller.forwarding.reoptimize import Verdict, describe_moves, judge
from controller.forwarding.runtime import MOVE_DRAIN_S
from controller.routing.paths import Path
from controller.southbound.messages import FlowCounters
from tests.fakes import FakeNetwork
from topologies.spec import parse_spec


def ring(n: int) -> nx.Graph:
    return parse_spec(f"ring,{n}").to_networkx()


def ready(graph: nx.Graph, hosts: dict[str, int] | None = None, **cfg: object) -> FakeNetwork:
    net = FakeNetwork(graph, hosts, Config(model_path="", **cfg))  # type: ignore[arg-type]
    net.discover()
    net.announce_all()
    return net


def route(net: FakeNetwork, a: str, b: str):  # type: ignore[no-untyped-def]
    r = net.runtime.record(net.host(a).mac, net.host(b).mac)
    assert r is not None
    return r


def dpids(r, d: Direction) -> list[int]:  # type: ignore[no-untyped-def]
    return [h.dpid for h in r.hops[d]]


def settle(net: FakeNetwork, seconds: float = 0.4) -> None:
    """Let housekeeping run (it re-optimizes when due or asked)."""
    net.advance(seconds, lldp=True)


# ------------------------------------------------------------------ the decision
def path(dpids: tuple[int, ...], costs: tuple[float, ...]) -> Path:
    return Path(dpids, costs, "utilization")


def test_judge_needs_both_the_margin_and_the_floor() -> None:
    current = path((1, 2, 3), (2.0, 2.0))
    cheaper = path((1, 4, 3), (1.0, 1.0))
    free = lambda u, v, add, remove: 1.0  # noqa: E731
    assert judge(current, cheaper, 0.0, free, margin=0.2, min_gain=0.5).move
    assert not judge(current, cheaper, 0.0, free, margin=0.6, min_gain=0.5).move  # margin
    assert not judge(current, cheaper, 0.0, free, margin=0.2, min_gain=2.5).move  # floor
    assert not judge(current, current, 0.0, free, margin=0.0, min_gain=0.0).move


def test_judge_prices_the_candidate_with_the_pairs_own_load() -> None:
    current = path((1, 2, 3), (10.0, 10.0))  # busy, mostly with this pair's own traffic
    idle = path((1, 4, 3), (1.0, 1.0))
    full_if_loaded = lambda u, v, add, remove: 10.0 if add > 0 else 1.0  # noqa: E731
    assert judge(current, idle, 0.0, full_if_loaded, 0.2, 0.5).move  # unfair: would flap
    verdict = judge(current, idle, 9e6, full_if_loaded, 0.2, 0.5)
    assert not verdict.move and verdict.current == verdict.candidate == 20.0


# ------------------------------------------------------------------ on the fake network
def test_no_move_below_the_margin_then_a_move_per_direction() -> None:
    net = ready(ring(4), {"h1": 1, "h3": 3}, metric="cost")
    assert net.deliver("h1", "h3") == [1, 2, 3]
    r = route(net, "h1", "h3")
    net.core.set_cost_override(1, 2, 1.3)  # 2.3 against 2.0: a gain under the floor
    settle(net)
    assert route(net, "h1", "h3") is r and net.counters.moves == 0
    net.core.set_cost_override(1, 2, 5.0)  # 6 against 2: move h1 -> h3 only
    settle(net)
    moved = route(net, "h1", "h3")
    assert moved.generation == r.generation + 1 and moved.moves == 1
    assert moved.last_move == "cost override"
    assert dpids(moved, Direction.A_TO_B) == [1, 4, 3]
    assert dpids(moved, Direction.B_TO_A) == [3, 2, 1]  # 2->1 still costs 1: stays
    assert net.walk("h1", "h3") == [1, 4, 3] and net.walk("h3", "h1") == [3, 2, 1]
    settle(net, MOVE_DRAIN_S)
    old = [e for _, e in net.tables.flows() if e.cookie in {r.flow_cookie(d) for d in Direction}]
    assert old == []  # the old installation's entries are gone after the drain time


def test_hold_down_delays_a_second_move() -> None:
    net = ready(ring(4), {"h1": 1, "h3": 3}, metric="cost", reoptimize_holddown=20.0)
    net.deliver("h1", "h3")
    net.core.set_cost_override(1, 2, 5.0)
    settle(net)
    assert dpids(route(net, "h1", "h3"), Direction.A_TO_B) == [1, 4, 3]
    net.core.set_cost_override(1, 2, None)
    net.core.set_cost_override(1, 4, 5.0)  # now the first path is better again
    settle(net)
    assert dpids(route(net, "h1", "h3"), Direction.A_TO_B) == [1, 4, 3]  # held down
    net.advance(21, lldp=True)
    r = route(net, "h1", "h3")
    assert dpids(r, Direction.A_TO_B) == [1, 2, 3] and r.moves == 2


def test_a_detoured_pair_returns_when_its_link_comes_back() -> None:
    net = ready(ring(5), {"h1": 1, "h3": 3})
    assert net.deliver("h1", "h3") == [1, 2, 3]
    net.link_down(1, 2)
    assert net.walk("h1", "h3") == [1, 5, 4, 3]
    assert net.counters.moves == 0  # a failure reroute is not a planned move
    net.link_up(1, 2)
    net.advance(3, lldp=True)  # LLDP finds the link; "link up" re-optimizes at once
    r = route(net, "h1", "h3")
    assert net.walk("h1", "h3") == [1, 2, 3] and net.walk("h3", "h1") == [3, 2, 1]
    assert r.last_move == "link up" and net.counters.moves == 1


def test_a_move_logs_one_line_with_both_directions(caplog: pytest.LogCaptureFixture) -> None:
    net = ready(ring(5), {"h1": 1, "h3": 3})
    net.deliver("h1", "h3")
    net.link_down(1, 2)
    net.link_up(1, 2)
    with caplog.at_level(logging.INFO, logger="controller.forwarding"):
        net.advance(3, lldp=True)  # the pair moves back, both directions at once
    assert net.counters.moves == 1
    moves = [r.getMessage() for r in caplog.records if r.getMessage().startswith("move ")]
    h1, h3 = net.host("h1").mac, net.host("h3").mac
    assert moves == [
        f"move {h1} <-> {h3} (link up): {h1} -> {h3} 1-5-4-3 -> 1-2-3, cost 3 -> 2; "
        f"{h3} -> {h1} 3-4-5-1 -> 3-2-1, cost 3 -> 2 (costs with its own load)"
    ]


def test_describe_moves_names_only_the_directions_that_move() -> None:
    key = PairKey.of("00:00:00:00:00:01", "00:00:00:00:00:03")
    old = {Direction.A_TO_B: path((1, 2, 3), (1.0, 1.0)), Direction.B_TO_A: path((3, 2, 1), (1, 1))}
    new = {Direction.A_TO_B: path((1, 4, 3), (1.0, 1.0)), Direction.B_TO_A: old[Direction.B_TO_A]}
    verdicts = [
        (Direction.A_TO_B, Verdict(True, 6.0, 2.0)),
        (Direction.B_TO_A, Verdict(False, 2, 2)),
    ]
    assert describe_moves(key, old, new, verdicts, "cost override") == [
        "move 00:00:00:00:00:01 <-> 00:00:00:00:00:03 (cost override): "
        "00:00:00:00:00:01 -> 00:00:00:00:00:03 1-2-3 -> 1-4-3, cost 6 -> 2 "
        "(costs with its own load)"
    ]
    assert describe_moves(key, old, old, verdicts, "cost override") == []


def test_a_metric_change_moves_a_congested_pair_at_once() -> None:
    net = ready(ring(4), {"h1": 1, "h3": 3}, metric="hop")
    net.deliver("h1", "h3")
    for u, v in ((1, 2), (2, 3)):
        net.core.graph.update_link(u, v, tx_bps=9.5e8, utilization=0.95)
    r = route(net, "h1", "h3")
    for t, sent in ((net.now, 0), (net.now + 1, 1_250_000), (net.now + 2, 2_500_000)):
        net.core.on_flow_stats(1, [FlowCounters(r.flow_cookie(Direction.A_TO_B), sent, 0)], t)
    settle(net, 6)
    assert net.counters.moves == 0  # under hop, load does not matter
    net.core.set_metric("utilization")
    settle(net, 0.3)
    r = route(net, "h1", "h3")
    assert r.last_move == "metric change" and dpids(r, Direction.A_TO_B) == [1, 4, 3]


def test_two_elephants_on_one_path_settle_one_per_path() -> None:
    """Both pairs' traffic fills 1-2-3 (each measured at 4.5e8 b/s by its ingress flow's
    counters); moving one leaves both paths half full. The second then stays."""
    net = ready(ring(4), {"h1": 1, "h2": 1, "h3": 3, "h4": 3}, metric="utilization")
    net.deliver("h1", "h3")
    net.deliver("h2", "h4")
    pairs = [route(net, "h1", "h3"), route(net, "h2", "h4")]
    assert all(dpids(r, Direction.A_TO_B) == [1, 2, 3] for r in pairs)
    for u, v in ((1, 2), (2, 3)):
        net.core.graph.update_link(u, v, tx_bps=9e8, utilization=0.9)
    for t, sent in ((net.now, 0), (net.now + 1, 56_250_000), (net.now + 2, 112_500_000)):
        for r in pairs:
            counters = [FlowCounters(r.flow_cookie(Direction.A_TO_B), sent, 0)]
            net.core.on_flow_stats(1, counters, t)
    net.call(lambda: net.core.reoptimize(net.now + 2, "periodic"))
    moved = [r for r in (route(net, "h1", "h3"), route(net, "h2", "h4")) if r.moves]
    assert len(moved) == 1 and dpids(moved[0], Direction.A_TO_B) == [1, 4, 3]
    assert moved[0].installed  # the move completed (every barrier answered)
    # The traffic follows: each path half full. Nothing moves any more.
    for u, v in ((1, 2), (2, 3), (1, 4), (4, 3)):
        net.core.graph.update_link(u, v, tx_bps=4.5e8, utilization=0.45)
    for step in range(10):
        net.call(lambda step=step: net.core.reoptimize(net.now + 30 * (step + 2), "periodic"))
    assert net.counters.moves == 1


def test_make_before_break_never_leaves_a_switch_without_its_entry() -> None:
    net = ready(ring(6), {"h1": 1, "h4": 4}, metric="cost")
    net.deliver("h1", "h4")
    before = route(net, "h1", "h4")
    net.auto_barrier = False
    net.core.set_cost_override(2, 3, 50.0)
    net.core.set_cost_override(3, 2, 50.0)
    net.housekeeping()
    steps = 0
    while net.pending_barriers:
        # At every point of the move both directions still reach their host.
        assert net.walk("h1", "h4")[-1] == 4 and net.walk("h4", "h1")[-1] == 1
        net.release_barriers(1)
        steps += 1
    after = route(net, "h1", "h4")
    assert after.generation == before.generation + 1 and steps >= 4
    assert net.walk("h1", "h4") == [1, 6, 5, 4] and net.walk("h4", "h1") == [4, 5, 6, 1]
    # The old path stays for the drain time: a packet in flight on it still arrives.
    old_cookies = {before.flow_cookie(d) for d in Direction}
    assert [e for _, e in net.tables.flows() if e.cookie in old_cookies]
    on_old_path = before.hops[Direction.A_TO_B][1]  # at s2, arriving from s1
    assert net.walk_from("h1", "h4", on_old_path.dpid, on_old_path.in_port)[-1] == 4
    net.advance(MOVE_DRAIN_S - 0.3, lldp=False)
    assert [e for _, e in net.tables.flows() if e.cookie in old_cookies]
    net.advance(0.4, lldp=False)
    assert [e for _, e in net.tables.flows() if e.cookie in old_cookies] == []
    assert net.walk("h1", "h4") == [1, 6, 5, 4] and net.walk("h4", "h1") == [4, 5, 6, 1]


def test_a_pair_dropped_while_its_old_path_drains_leaves_nothing_behind() -> None:
    net = ready(ring(6), {"h1": 1, "h4": 4}, metric="cost")
    net.deliver("h1", "h4")
    net.core.set_cost_override(2, 3, 50.0)
    net.core.set_cost_override(3, 2, 50.0)
    settle(net, 0.3)
    r = route(net, "h1", "h4")
    assert r.moves == 1 and r.previous is not None
    pair_flows = lambda: [e for _, e in net.tables.flows() if e.match.eth_src]  # noqa: E731
    assert pair_flows()
    net.call(lambda: net.runtime.drop(r.key))
    assert pair_flows() == []


def test_per_direction_paths_under_a_direction_dependent_metric() -> None:
    net = ready(ring(4), {"h1": 1, "h3": 3}, metric="cost")
    net.core.set_cost_override(1, 2, 9.0)  # only the direction 1 -> 2 is expensive
    assert net.deliver("h1", "h3") == [1, 4, 3]
    assert net.deliver("h3", "h1") == [3, 2, 1]
    r = route(net, "h1", "h3")
    assert dpids(r, Direction.A_TO_B) == [1, 4, 3] and dpids(r, Direction.B_TO_A) == [3, 2, 1]


def test_under_hop_both_directions_share_the_path() -> None:
    net = ready(ring(6), {"h1": 1, "h4": 4}, metric="hop")
    net.deliver("h1", "h4")
    r = route(net, "h1", "h4")
    assert dpids(r, Direction.B_TO_A) == dpids(r, Direction.A_TO_B)[::-1]


@pytest.mark.parametrize("interval", [0.0])
def test_reoptimize_interval_zero_turns_it_off(interval: float) -> None:
    net = ready(ring(4), {"h1": 1, "h3": 3}, metric="cost", reoptimize_interval=interval)
    mark = len(net.sent)  # (switch up reads each switch's flows once: adoption)
    net.deliver("h1", "h3")
    net.core.set_cost_override(1, 2, 50.0)
    settle(net, 10)
    assert net.counters.moves == 0 and net.walk("h1", "h3") == [1, 2, 3]
    assert not any(
        type(m).__name__ == "FlowStatsRequest" for m in itertools.islice(net.sent, mark, None)
    )


def test_only_the_direction_worth_moving_moves() -> None:
    """h1 -> h3 fills 1-2-3 by itself (nothing to gain elsewhere: it would fill that path
    too); h3 -> h1 meets others' traffic on 3-2-1 with a small rate of its own: only the
    way back moves."""
    net = ready(ring(4), {"h1": 1, "h3": 3}, metric="utilization")
    net.deliver("h1", "h3")
    r = route(net, "h1", "h3")
    for u, v in ((1, 2), (2, 3), (3, 2), (2, 1)):
        net.core.graph.update_link(u, v, tx_bps=9e8, utilization=0.9)
    rates = {Direction.A_TO_B: 112_500_000, Direction.B_TO_A: 125_000}  # 9e8 and 1e6 b/s
    for t, k in ((net.now, 0), (net.now + 1, 1), (net.now + 2, 2)):
        for d, per_s in rates.items():
            ingress = r.ingress(d)
            net.core.on_flow_stats(ingress, [FlowCounters(r.flow_cookie(d), k * per_s, 0)], t)
    net.call(lambda: net.core.reoptimize(net.now + 2, "periodic"))
    moved = route(net, "h1", "h3")
    assert moved.moves == 1
    assert dpids(moved, Direction.A_TO_B) == [1, 2, 3]
    assert dpids(moved, Direction.B_TO_A) == [3, 4, 1]
    assert net.walk("h1", "h3") == [1, 2, 3] and net.walk("h3", "h1") == [3, 4, 1]


def test_a_round_evaluates_a_bounded_number_of_pairs_round_robin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from controller.forwarding import runtime

    hosts = {f"h{i}": 1 + (i - 1) % 2 for i in range(1, 7)}  # 3 on s1, 3 on s2
    net = ready(parse_spec("linear,2").to_networkx(), hosts, metric="hop")
    for a in ("h1", "h3", "h5"):
        for b in ("h2", "h4"):
            net.deliver(a, b)
    assert len(net.runtime.pairs) == 6
    seen: list[tuple[str, str]] = []
    real = runtime.evaluate

    def counting(record, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(record.key)
        return real(record, *args, **kwargs)

    monkeypatch.setattr(runtime, "MAX_EVALUATIONS", 4)
    monkeypatch.setattr(runtime, "evaluate", counting)
    net.core.reoptimize(net.now, "periodic")
    assert len(seen) == 4
    net.core.reoptimize(net.now + 5, "periodic")
    assert len(seen) == 8 and set(seen) == set(net.runtime.pairs)  # every pair in turn
