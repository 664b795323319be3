"""Adoption: a restarted controller takes over the path flows its switches still hold.

At switch up the controller reads the switch's flows in its cookie space (a flow-stats
request; the reply tells each entry's match, output, priority and timeouts) instead of
deleting them, so packets keep flowing while it rebuilds its view. A path flow of a pair
the runtime does not know waits in a pool, by its cookie's pair id, until either

- the pool holds, for one installation (generation) of that pair id, exactly the flows
  the runtime would install for some path: each direction a complete, loop-free walk from
  one access port to the other over links discovery has found, and neither host known
  anywhere else. The pair is then adopted as an installed record with that pair id and
  generation (its flows stay untouched), its hosts learned where the flows put them when
  still unknown, its other flows deleted; or
- the grace period is over (discovery had ``link_timeout`` to see the links, and ports
  their quiet time, after the last switch came up): its flows are deleted. Flows that
  can never fit go at once, so that their packets reach the controller: one uses a port
  that is down or gone, or the complete pair they form has a host known elsewhere (it
  moved) or was installed again meanwhile.

Deletes are strict (exact cookie, match and priority), so an entry a newer installation
has since overwritten stays. Flows of a pair the runtime knows (a switch reconnecting to
a running controller) are judged at once: its current and draining installations' stay.
Pair ids in the pool are reserved (no new pair gets one meanwhile; ids also start at a
random point per process, ``first_pair_id``, against a switch read late). Whatever
switches report, the pool holds ``max_pairs`` ids of ``MAX_FOUND_PER_PAIR`` flows at
most (the rest is deleted at once), and adoption keeps the host and pair tables' limits.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from controller.config import Config
from controller.discovery.service import base_flows
from controller.forwarding.plan import Direction, Hop, PairKey, PairPlan, pair_flows
from controller.forwarding.records import PairRecord, PairState
from controller.forwarding.runtime import ForwardingRuntime
from controller.hosts.table import HostTable
from controller.network.graph import NetworkGraph
from controller.network.model import OFPP_MAX
from controller.routing.paths import Path
from controller.southbound.messages import (
    COOKIE_APP,
    COOKIE_APP_MASK,
    COOKIE_BASE,
    COOKIE_PORT_MISS,
    GEN_MASK,
    FlowAdd,
    FlowCounters,
    FlowDelete,
    FlowStatsRequest,
    Match,
    Message,
    split_cookie,
)
from controller.southbound.transport import Transport

log = logging.getLogger("controller.adoption")

RETRY_S = 0.5
"""Pending pairs are tried again at most this often (and at once after a reply)."""
MAX_HOLD_S = 60.0
"""However often switches come up, a found flow is judged within this long."""
MAX_FOUND_PER_PAIR = 128
"""Found flows pooled per pair id (a pair has two per switch of its path, and older
installations' until they go): more are deleted at once."""

Entry = tuple[int, int, Match | None, int | None, int, int, int]
"""What identifies an installed entry: dpid, cookie, match, output, priority, timeouts."""


@dataclass(frozen=True)
class FoundFlow:
    """One entry read from a switch, in this app's cookie space."""

    dpid: int
    cookie: int
    match: Match | None
    out_port: int | None
    priority: int
    idle_timeout: int
    hard_timeout: int

    @classmethod
    def of(cls, dpid: int, f: FlowCounters) -> FoundFlow:
        return cls(dpid, f.cookie, f.match, f.out_port, f.priority, f.idle_timeout, f.hard_timeout)

    @property
    def entry(self) -> Entry:
        m = self
        return (m.dpid, m.cookie, m.match, m.out_port, m.priority, m.idle_timeout, m.hard_timeout)

    def delete(self) -> FlowDelete:
        """Exactly this entry (strict), while it still carries this cookie."""
        if self.match is None:  # a match we cannot express: by exact cookie alone
            return FlowDelete(self.dpid, self.cookie)
        return FlowDelete(self.dpid, self.cookie, match=self.match, priority=self.priority)


def planned_entry(f: FlowAdd) -> Entry:
    return (f.dpid, f.cookie, f.match, f.out_port, f.priority, f.idle_timeout, f.hard_timeout)


BASE_ENTRIES = {(f.priority, f.match) for f in base_flows(0)}


@dataclass
class PendingPair:
    """The found flows of one pair id, not (yet) adopted."""

    first_seen: float
    flows: dict[tuple[int, int, Match | None, int], FoundFlow] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """A pair as its found flows describe it."""

    record: PairRecord
    a_at: tuple[int, int]
    b_at: tuple[int, int]
    """(dpid, port) where each host is attached, by the flows."""


class FlowAdoption:
    """The pool of found path flows; see the module docstring."""

    def __init__(
        self,
        config: Config,
        graph: NetworkGraph,
        hosts: HostTable,
        runtime: ForwardingRuntime,
        transport: Transport,
        probe_period: Callable[[], int] = lambda: 1,
    ) -> None:
        self.probe_period = probe_period
        """LLDP rounds per sweep of every port (discovery's; more on a large network)."""
        self.config = config
        self.graph = graph
        self.hosts = hosts
        self.runtime = runtime
        self.transport = transport
        self.pending: dict[int, PendingPair] = {}
        """Pair id -> its found flows (0: entries in our cookie space that no pair owns)."""
        self._reading: dict[int, float] = {}  # dpid -> until when its replies are read here
        self._last_switch_up = -math.inf
        self._next_try = 0.0

    @property
    def grace(self) -> float:
        """How long after the last switch up a found flow may wait to be adopted."""
        sweeps = self.probe_period()
        return (self.config.link_timeout + 2 * self.config.lldp_interval) * sweeps

    # ------------------------------------------------------------------ reading
    def switch_up(self, dpid: int, now: float) -> list[Message]:
        """Ask a switch that came up for its flows (the reply goes to ``on_flow_stats``)."""
        self._last_switch_up = now
        self._reading[dpid] = now + self.grace
        for p in self.pending.values():  # read again, from this connection
            p.flows = {k: f for k, f in p.flows.items() if f.dpid != dpid}
        return [FlowStatsRequest(dpid, COOKIE_APP, COOKIE_APP_MASK)]

    def on_flow_stats(self, dpid: int, flows: list[FlowCounters], now: float) -> None:
        """A flow-stats reply (or one part of it): within the switch's reading window,
        every entry is judged or pooled."""
        until = self._reading.get(dpid)
        if until is None or now > until:
            return
        planned: dict[int, set[Entry]] = {}  # known pairs' entries, worked out once
        overflow = []
        for f in flows:
            found = FoundFlow.of(dpid, f)
            if not self._take(found, now, planned):
                overflow.append(found)
        if overflow:
            self._delete(overflow, "the pool of found flows is full")
        self._next_try = now

    def _take(self, found: FoundFlow, now: float, planned: dict[int, set[Entry]]) -> bool:
        """Judge or pool one found flow; False: it does not fit in the pool."""
        parts = split_cookie(found.cookie)
        pair_id = parts[0] if parts is not None else 0
        if pair_id == 0:
            if found.cookie == COOKIE_PORT_MISS or (
                found.cookie == COOKIE_BASE
                and (found.match is None or (found.priority, found.match) in BASE_ENTRIES)
            ):
                return True  # a base or per-port miss entry (set again at switch up), or
                # one we cannot single out
        else:
            record = self.runtime.record_of(pair_id)
            if record is not None and self._owned_by(record, found):
                if record.install is None and not self._in_plans(record, found, planned):
                    self._delete([found], "an older installation of a known pair")
                return True
        pending = self.pending.get(pair_id)
        key = (found.dpid, found.cookie, found.match, found.priority)
        if pending is None:
            if pair_id and len(self.pending) - (0 in self.pending) >= self.config.max_pairs:
                return False
            pending = self.pending[pair_id] = PendingPair(now)
            if pair_id:
                self.runtime.pair_ids.reserve(pair_id)
        elif key not in pending.flows and len(pending.flows) >= MAX_FOUND_PER_PAIR:
            return False
        pending.flows[key] = found
        return True

    def _forget(self, pair_id: int) -> PendingPair:
        """A pair id's pool entry is decided: out of the pool, its id free again."""
        self.runtime.pair_ids.release(pair_id)
        return self.pending.pop(pair_id)

    @staticmethod
    def _owned_by(record: PairRecord, found: FoundFlow) -> bool:
        """Does the entry forward this record's pair (not another pair's, by an id clash)?"""
        m = found.match
        return m is not None and (m.eth_src, m.eth_dst) in {record.key.ends(d) for d in Direction}

    def _in_plans(
        self, record: PairRecord, found: FoundFlow, planned: dict[int, set[Entry]]
    ) -> bool:
        """Is the entry one of the record's installation's (or of the one it moves from)?"""
        entries = planned.get(record.pair_id)
        if entries is None:
            plans = [record.plan()] + ([record.previous] if record.previous else [])
            flows = [f for plan in plans for f in pair_flows(plan, self.config)]
            entries = planned[record.pair_id] = {planned_entry(f) for f in flows}
        return found.entry in entries

    # ------------------------------------------------------------------ judging
    def tick(self, now: float) -> None:
        """Adopt what now fits; delete what waited past its deadline."""
        self._reading = {d: t for d, t in self._reading.items() if now <= t}
        if not self.pending:
            return
        if now >= self._next_try:
            self._next_try = now + RETRY_S
            for pair_id in [p for p in self.pending if p != 0]:
                self._try(pair_id, now)
        for pair_id, pending in list(self.pending.items()):
            deadline = max(pending.first_seen, self._last_switch_up) + self.grace
            if now >= min(deadline, pending.first_seen + MAX_HOLD_S):
                self._forget(pair_id)
                self._delete(pending.flows.values(), "no pair fits them")

    def _try(self, pair_id: int, now: float) -> None:
        pending = self.pending[pair_id]
        if self.runtime.record_of(pair_id) is not None:
            return  # the id of a newer pair (it clashed): these wait for their deadline
        if any(self._dead_end(f) for f in pending.flows.values()):
            self._forget(pair_id)  # never adoptable; its packets must reach us now
            self._delete(pending.flows.values(), "a port they use is down or gone")
            return
        by_generation: dict[int, list[FoundFlow]] = {}
        for f in pending.flows.values():
            by_generation.setdefault((f.cookie >> 1) & GEN_MASK, []).append(f)
        for generation in sorted(by_generation, reverse=True):
            found = self._candidate(pair_id, generation, by_generation[generation], now)
            if found is None:
                continue
            self._forget(pair_id)
            others = [f for g, fs in by_generation.items() if g != generation for f in fs]
            reason = self._refusal(found)
            if reason:
                self._delete(pending.flows.values(), reason)
                return
            self._adopt(found, now)
            self._delete(others, "another installation of an adopted pair")
            return

    def _dead_end(self, f: FoundFlow) -> bool:
        """Does the entry use a port its (connected) switch reports down or lacks?"""
        if not self.graph.has_switch(f.dpid):
            return False
        ports = self.graph.ports(f.dpid)
        used = (f.match.in_port if f.match else None, f.out_port)
        return any(
            p is not None and p < OFPP_MAX and (p not in ports or not ports[p].up) for p in used
        )

    def _candidate(
        self, pair_id: int, generation: int, flows: list[FoundFlow], now: float
    ) -> Candidate | None:
        """The pair these flows install, if they are exactly one installation of it."""
        links = {(k.src, k.src_port): (k.dst, k.dst_port) for k in self.graph.links()}
        hops: dict[Direction, tuple[Hop, ...]] = {}
        macs: dict[Direction, tuple[str, str]] = {}
        for d in Direction:
            shape = _shape([f for f in flows if f.cookie & 1 == d])
            walk = _walk(shape[1], links) if shape is not None else None
            if shape is None or walk is None:
                return None
            macs[d], hops[d] = shape[0], walk
        key = PairKey.of(*macs[Direction.A_TO_B])
        if any(key.ends(d) != macs[d] for d in Direction):
            return None  # not the two directions of one pair, a->b from the lower MAC
        ab, ba = hops[Direction.A_TO_B], hops[Direction.B_TO_A]
        a_at, b_at = (ab[0].dpid, ab[0].in_port), (ab[-1].dpid, ab[-1].out_port)
        if (ba[0].dpid, ba[0].in_port) != b_at or (ba[-1].dpid, ba[-1].out_port) != a_at:
            return None
        if not all(self.graph.is_access_port(*at, now) for at in (a_at, b_at)):
            return None  # not (yet) known as a host's port
        plan = PairPlan(key, pair_id, generation, hops)
        if {planned_entry(f) for f in pair_flows(plan, self.config)} != {f.entry for f in flows}:
            return None  # not what we install (another priority or timeout, a flow more)
        metric = self.runtime.metric()
        paths = {d: self._path(hops[d], metric) for d in Direction}
        record = PairRecord(
            key, pair_id, generation, paths, hops, PairState.INSTALLED, now, installed_at=now
        )
        return Candidate(record, a_at, b_at)

    def _path(self, hops: tuple[Hop, ...], metric: str) -> Path:
        costs = tuple(
            self.graph.weight(u.dpid, v.dpid, metric) for u, v in itertools.pairwise(hops)
        )
        return Path(tuple(h.dpid for h in hops), costs, metric)

    def _refusal(self, c: Candidate) -> str:
        """Why a complete pair is not adopted after all ("": it is)."""
        if c.record.key in self.runtime.pairs:
            return "the pair was installed again meanwhile"
        if len(self.runtime.pairs) >= self.runtime.config.max_pairs:
            return "the pair table is full (max_pairs)"
        new = 0
        for mac, at in ((c.record.a, c.a_at), (c.record.b, c.b_at)):
            host = self.hosts.by_mac(mac)
            if host is not None and (host.dpid, host.port) != at:
                return f"host {mac} is at {host.dpid:016x}/{host.port} now"
            if host is None:  # it would be learned: within the host table's limits only
                new += 1
                if self.hosts.count_at(*at) >= self.config.max_macs_per_port:
                    return f"port {at[0]:016x}/{at[1]} holds max_macs_per_port hosts"
        if new and len(self.hosts) + new > self.config.max_hosts:
            return "the host table is full (max_hosts)"
        return ""

    def _adopt(self, c: Candidate, now: float) -> None:
        for mac, (dpid, port) in ((c.record.a, c.a_at), (c.record.b, c.b_at)):
            if self.hosts.by_mac(mac) is None:
                self.hosts.learn(mac, dpid, port, now)
                host = self.hosts.by_mac(mac)
                if host is not None:  # no frame of it reached us: a move is believed at once
                    host.last_frame = 0.0
        self.runtime.adopt(c.record)
        path = " ".join(f"{d:x}" for d in c.record.path.dpids)
        log.info("adopted %s <-> %s (pair %d): %s", *c.record.key, c.record.pair_id, path)

    def _delete(self, flows: Iterable[FoundFlow], reason: str) -> None:
        flows = list(flows)
        for f in flows:
            parts = split_cookie(f.cookie)
            if f.match is None and parts is not None and self.runtime.record_of(parts[0]):
                continue  # not to be singled out, and its cookie is a live pair's too
            self.transport.send(f.delete())
        self.runtime.counters.found_flows_deleted += len(flows)
        if flows:
            log.info("deleted %d found flow(s): %s", len(flows), reason)


def _shape(flows: list[FoundFlow]) -> tuple[tuple[str, str], list[Hop]] | None:
    """(source MAC, destination MAC) and hops of one direction's flows, when every one
    is of the shape we install: in port, both MACs (the same for all), one output."""
    hops, macs = [], set()
    for f in flows:
        m = f.match
        if m is None or m.in_port is None or f.out_port is None or m.eth_type is not None:
            return None
        if m.eth_src is None or m.eth_dst is None:
            return None
        macs.add((m.eth_src, m.eth_dst))
        hops.append(Hop(f.dpid, m.in_port, f.out_port))
    return (macs.pop(), hops) if len(macs) == 1 else None


def _walk(hops: list[Hop], links: dict[tuple[int, int], tuple[int, int]]) -> tuple[Hop, ...] | None:
    """The hops in path order: one per switch, each output leading over a link to the next
    one's in port, the last leaving the fabric; None when they are anything else
    (incomplete, branching, looping)."""
    at = {(h.dpid, h.in_port): h for h in hops}
    arrivals = {links[(h.dpid, h.out_port)] for h in hops if (h.dpid, h.out_port) in links}
    starts = [h for h in hops if (h.dpid, h.in_port) not in arrivals]
    if len(at) != len(hops) or len(starts) != 1:
        return None
    walk, seen, h = [starts[0]], {starts[0].dpid}, starts[0]
    while (h.dpid, h.out_port) in links:
        nxt = at.get(links[(h.dpid, h.out_port)])
        if nxt is None or nxt.dpid in seen:
            return None  # the next switch lacks the flow, or a loop
        walk.append(nxt)
        seen.add(nxt.dpid)
        h = nxt
    return tuple(walk) if len(walk) == len(hops) else None
