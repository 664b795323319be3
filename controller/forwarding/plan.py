"""Pure planning of a host pair's forwarding: hops along a path, flows, install stages.

The runtime installs exactly what these functions return, and the REST view shows what
they return, so what an operator reads is what the switches hold (STYLE.md section 11).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from controller.config import Config
from controller.hosts.table import Host
from controller.network.graph import NetworkGraph
from controller.routing.paths import NoPath, Path, Router
from controller.southbound.messages import FlowAdd, FlowDelete, Match, Message, Stage, path_cookie


class Direction(IntEnum):
    """A direction of a host pair: from its lower MAC to its higher, or back."""

    A_TO_B = 0
    B_TO_A = 1


DIRECTIONS: tuple[Direction, ...] = (Direction.A_TO_B, Direction.B_TO_A)
"""Both directions, in order (iterating the enum class itself is slow in the hot path)."""


class PairKey(NamedTuple):
    """A host pair, MACs in canonical order (``a < b``): one record, two directions."""

    a: str
    b: str

    @classmethod
    def of(cls, x: str, y: str) -> PairKey:
        x, y = x.lower(), y.lower()
        return cls(x, y) if x <= y else cls(y, x)

    def direction_from(self, src: str) -> Direction:
        return Direction.A_TO_B if src.lower() == self.a else Direction.B_TO_A

    def ends(self, direction: Direction) -> tuple[str, str]:
        """(source MAC, destination MAC) of ``direction``."""
        return (self.a, self.b) if direction is Direction.A_TO_B else (self.b, self.a)


@dataclass(frozen=True)
class Hop:
    """One switch of a path: where packets enter it and where they leave."""

    dpid: int
    in_port: int
    out_port: int


def hops_along(
    graph: NetworkGraph, dpids: tuple[int, ...], first_in: int | None, last_out: int | None
) -> tuple[Hop | PartialHop, ...]:
    """The hops of a switch path: between switches, the ports of the graph's edge in the
    direction of travel (with parallel cables, the cable the edge carries); at the ends,
    ``first_in`` / ``last_out`` (the hosts' ports, or None for a switch endpoint)."""
    hops: list[Hop | PartialHop] = []
    for i, dpid in enumerate(dpids):
        in_port = first_in if i == 0 else graph.in_port(dpids[i - 1], dpid)
        out_port = last_out if i == len(dpids) - 1 else graph.out_port(dpid, dpids[i + 1])
        if in_port is None or out_port is None:
            hops.append(PartialHop(dpid, in_port, out_port))
        else:
            hops.append(Hop(dpid, in_port, out_port))
    return tuple(hops)


@dataclass(frozen=True)
class PartialHop:
    """A hop at a switch endpoint of a path query (no host port on that side)."""

    dpid: int
    in_port: int | None
    out_port: int | None


def host_hops(graph: NetworkGraph, path: Path, src_port: int, dst_port: int) -> tuple[Hop, ...]:
    """The hops of a host-to-host path (every port known)."""
    hops = hops_along(graph, path.dpids, src_port, dst_port)
    assert all(isinstance(h, Hop) for h in hops)
    return tuple(h for h in hops if isinstance(h, Hop))


SYMMETRIC_METRICS = frozenset({"hop"})
"""Metrics whose link weight is the same both ways: both directions share one path."""


def plan_paths(
    graph: NetworkGraph, router: Router, metric: str, ha: Host, hb: Host
) -> tuple[dict[Direction, Path], dict[Direction, tuple[Hop, ...]]] | None:
    """Each direction's best path under ``metric`` between two hosts, and its hops (None:
    no path). Under ``hop`` b->a is a->b mirrored (the same cables both ways); under a
    metric whose weights differ per direction, each direction is computed on its own."""
    try:
        ab = router.shortest_path(ha.dpid, hb.dpid, metric)
        if metric in SYMMETRIC_METRICS:
            forward = host_hops(graph, ab, ha.port, hb.port)
            ba = Path(ab.dpids[::-1], ab.link_costs[::-1], metric)
            hops = {Direction.A_TO_B: forward, Direction.B_TO_A: mirror(forward)}
        else:
            ba = router.shortest_path(hb.dpid, ha.dpid, metric)
            hops = {
                Direction.A_TO_B: host_hops(graph, ab, ha.port, hb.port),
                Direction.B_TO_A: host_hops(graph, ba, hb.port, ha.port),
            }
    except NoPath:
        return None
    return {Direction.A_TO_B: ab, Direction.B_TO_A: ba}, hops


def mirror(hops: tuple[Hop, ...]) -> tuple[Hop, ...]:
    """The way back along the same cables: reversed, in and out swapped."""
    return tuple(Hop(h.dpid, h.out_port, h.in_port) for h in reversed(hops))


@dataclass(frozen=True)
class PairPlan:
    """What one installation of a pair puts on the switches."""

    key: PairKey
    pair_id: int
    generation: int
    hops: dict[Direction, tuple[Hop, ...]]

    def cookie(self, direction: Direction) -> int:
        return path_cookie(self.pair_id, self.generation, int(direction))

    def switches(self) -> list[int]:
        """Every switch either direction passes, each once, in a->b order first."""
        seen: dict[int, None] = {}
        for d in DIRECTIONS:
            for h in self.hops[d]:
                seen.setdefault(h.dpid, None)
        return list(seen)


def pair_flows(plan: PairPlan, config: Config) -> list[FlowAdd]:
    """Every flow of the pair, both directions (match in_port, eth_src, eth_dst)."""
    flows = []
    priority, idle, hard = config.flow_priority, config.idle_timeout, config.hard_timeout
    for direction in DIRECTIONS:
        src, dst = plan.key.ends(direction)
        cookie = plan.cookie(direction)
        for hop in plan.hops[direction]:
            match = Match(hop.in_port, src, dst)
            flows.append(FlowAdd(hop.dpid, match, hop.out_port, priority, cookie, idle, hard, True))
    return flows


def install_stages(plan: PairPlan, config: Config, sender: Direction) -> tuple[Stage, ...]:
    """One stage per switch, egress first for ``sender``'s direction: its packets are
    held meanwhile, and the switch they enter is programmed last, so none meets a switch
    without the flow. Each stage carries that switch's flows of both directions."""
    by_switch: dict[int, list[FlowAdd]] = {}
    for flow in pair_flows(plan, config):
        by_switch.setdefault(flow.dpid, []).append(flow)
    order = [h.dpid for h in reversed(plan.hops[sender])]
    order += [d for d in plan.switches() if d not in order]
    return tuple(Stage(d, tuple(by_switch[d])) for d in order)


def changed_switches(old: PairPlan, new: PairPlan) -> list[int]:
    """Switches where the old plan has a hop the new one lacks: its flows there must go
    (the others are overwritten in place by the new stages)."""
    kept = {h for d in DIRECTIONS for h in new.hops[d]}
    gone = {h.dpid for d in DIRECTIONS for h in old.hops[d] if h not in kept}
    return [d for d in old.switches() if d in gone]


def move_stages(old: PairPlan, new: PairPlan, config: Config) -> tuple[Stage, ...]:
    """Make-before-break: move a live pair from ``old`` to ``new`` without a gap.

    1. Every switch's new entries that no packet reaches yet (a match the old plan lacks)
       and entries whose action stays the same (they take the new cookie), one stage per
       switch: nothing points at the new path yet.
    2. The entries whose match exists with another action: where each direction's new
       path leaves the old one. From here packets take the new path, every switch of
       which is already programmed.

    The old installation stays until ``retire_messages`` runs, a drain time later."""
    old_actions = {(f.dpid, f.match): f.out_port for f in pair_flows(old, config)}
    prepare: dict[int, list[Message]] = {}
    switch: dict[int, list[Message]] = {}
    for flow in pair_flows(new, config):
        before = old_actions.get((flow.dpid, flow.match))
        target = switch if before is not None and before != flow.out_port else prepare
        target.setdefault(flow.dpid, []).append(flow)
    return tuple(
        Stage(dpid, tuple(msgs)) for phase in (prepare, switch) for dpid, msgs in phase.items()
    )


def retire_messages(old: PairPlan) -> list[Message]:
    """Step 3 of a move: delete what is left of the old installation (its generation's
    cookies, exactly; entries the move overwrote carry the new cookie and stay)."""
    return [FlowDelete(d, old.cookie(dr)) for d in old.switches() for dr in DIRECTIONS]
