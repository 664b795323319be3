"""The forwarding runtime: one record per host pair and the whole install sequence.

Ryu-free. It plans with :mod:`controller.forwarding.plan`, sends through a
:class:`Transport` (the Ryu shell's, or the test network's) and is told of barrier
replies, errors, switch losses and the time. Installation is staged (one stage per
switch): every switch but the sender's ingress at once, then, once all their barrier
replies are in, the ingress; the packets that triggered it are held meanwhile and
released through the table at the end. A move confirms one switch after another.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable, KeysView

from controller.config import Config
from controller.forwarding.plan import (
    SYMMETRIC_METRICS,
    Direction,
    PairKey,
    PairPlan,
    changed_switches,
    install_stages,
    move_stages,
    plan_paths,
)
from controller.forwarding.records import (
    BarrierWaits,
    ForwardingCounters,
    HeldPacket,
    Install,
    InstallResult,
    Outcome,
    PairIds,
    PairRecord,
    PairState,
    ingress_stats_requests,
    observe_ingress_counters,
)
from controller.forwarding.reoptimize import Verdict, WhatIf, describe_moves, evaluate
from controller.forwarding.table import PairTable
from controller.hosts.table import Host
from controller.network.graph import NetworkGraph
from controller.routing.paths import Router
from controller.southbound.messages import (
    DIRECTION_MASK,
    OFPP_TABLE,
    PAIR_MASK,
    FlowCounters,
    FlowDelete,
    Message,
    PacketOut,
    path_cookie,
    split_cookie,
)
from controller.southbound.transport import Transport
from controller.telemetry import RTT_BUCKETS_S, SETUP_BUCKETS_S, Histogram

log = logging.getLogger("controller.forwarding")

MAX_HELD_PACKETS = 16
MAX_EVALUATIONS = 256
"""Pairs evaluated per re-optimization round (round robin over rounds)."""
MOVE_DRAIN_S = 1.0
"""After a move, how long the old path's flows stay: packets in flight on it, and switch
datapath caches that still point at it (OVS revalidates them after the barrier), drain."""
XID_BASE = 0x5D00_0000
RESULT_HISTORY = 256


class ForwardingRuntime:
    """Host-pair routes: plan, install (staged, barrier-confirmed), reroute, remove."""

    def __init__(
        self,
        config: Config,
        graph: NetworkGraph,
        router: Router,
        host_of: Callable[[str], Host | None],
        metric: Callable[[], str],
        transport: Transport,
        pair_ids: PairIds | None = None,
    ) -> None:
        self.config = config
        self.graph = graph
        self.router = router
        self.host_of = host_of
        self.metric = metric
        self.transport = transport
        self.table = PairTable()
        self.pairs: dict[PairKey, PairRecord] = self.table.records  # read-only: see table
        self.counters = ForwardingCounters()
        self.results: deque[InstallResult] = deque(maxlen=RESULT_HISTORY)
        """The latest install outcomes (for tests and diagnostics)."""
        self._waits = BarrierWaits()
        self.pair_ids = pair_ids or PairIds()
        self._xids = itertools.count(XID_BASE)
        self._reoptimize_cursor = 0
        self.setup_seconds = Histogram(SETUP_BUCKETS_S)
        """Installations (new pairs, re-installs, moves): start to the last barrier."""
        self.barrier_seconds = Histogram(RTT_BUCKETS_S)

    # ------------------------------------------------------------------ reading
    def record(self, a: str, b: str) -> PairRecord | None:
        return self.pairs.get(PairKey.of(a, b))

    def hosts_in_use(self) -> KeysView[str]:
        return self.table.hosts()

    def installing(self) -> list[PairKey]:
        return sorted(r.key for r in self.table.busy() if r.install is not None)

    def record_of(self, pair_id: int) -> PairRecord | None:
        return self.table.by_pair_id(pair_id)

    def adopt(self, record: PairRecord) -> None:
        """Take over a pair whose flows a switch already holds (found by adoption)."""
        self._put(record)
        self.counters.paths_adopted += 1

    # ------------------------------------------------------------------ packets
    def forward(self, src: str, dst: str, packet: HeldPacket, now: float) -> None:
        """A new pair's first packets: install its route, then release them (held, bounded)."""
        key = PairKey.of(src, dst)
        record = self.pairs.get(key)
        if record is None or record.state is not PairState.INSTALLING:
            record = self._install(key, now, sender=key.direction_from(src))
        if record is not None and len(record.held) < MAX_HELD_PACKETS:
            record.held.append(packet)

    def transit_miss(self, src: str, dst: str, packet: HeldPacket, now: float) -> None:
        """A pair's packet missed a flow inside the fabric: re-install; while an install
        runs (the other end sent at once, before its path was ready), hold it for it."""
        if self.host_of(src) is None or self.host_of(dst) is None:
            return
        record = self.pairs.get(PairKey.of(src, dst))
        if record is None or record.state is not PairState.INSTALLING:
            self._install(PairKey.of(src, dst), now)
        elif len(record.held) < MAX_HELD_PACKETS:
            record.held.append(packet)

    # ------------------------------------------------------------------ topology
    def reroute(self, dead: set[tuple[int, int]], now: float) -> None:
        """Links went away: re-install exactly the pairs whose path crossed one."""
        for key, record in list(self.pairs.items()):
            if record.links() & dead:
                self.counters.reroutes += 1
                self._install(key, now)

    def drop_hosts(self, macs: list[str]) -> None:
        for key in self.table.keys_of(macs):
            self.drop(key)

    def drop_at_port(self, dpid: int, port: int) -> None:
        """A port went down: pairs with an end attached there cannot be reached."""
        for key, record in list(self.pairs.items()):
            first, last = record.hops[Direction.A_TO_B][0], record.hops[Direction.A_TO_B][-1]
            if (dpid, port) in ((first.dpid, first.in_port), (last.dpid, last.out_port)):
                self.drop(key)

    def drop(self, key: PairKey) -> None:
        """Forget a pair: cancel its installation if one runs, delete its flows."""
        record = self._pop(key)
        if record is None:
            return
        if record.install is not None:
            self._end_install(record, Outcome.CANCELLED)
        for dpid in record.all_switches():
            self.transport.send(FlowDelete(dpid, record.cookie, PAIR_MASK))

    # ------------------------------------------------------------------ switch replies
    def on_barrier_reply(self, dpid: int, xid: int, now: float) -> None:
        record = self._running(dpid, xid)
        if record is None or record.install is None:
            return
        run = record.install
        self.barrier_seconds.observe(now - run.sent_at)
        self._waits.answered(run, dpid, xid)
        if run.waiting:
            return  # the step's other switches
        run.index += 1
        if run.index >= len(run.steps):
            self._finish(record, Outcome.DONE, now=now)
        else:
            self._send_step(record, now)

    def on_error(self, dpid: int, xid: int, detail: str) -> None:
        """The switch refused a message of a running stage (same xid as its barrier)."""
        record = self._running(dpid, xid)
        if record is not None:
            self._finish(record, Outcome.SWITCH_ERROR, detail)

    def on_switch_gone(self, dpid: int) -> None:
        for record in [r for r in self.pairs.values() if r.install and dpid in r.install.waiting]:
            self._finish(record, Outcome.SWITCH_GONE, f"switch {dpid:016x} disconnected")

    def expire(self, now: float) -> None:
        """Stages whose barrier did not come back in time fail; so does (a backstop) an
        install older than its stages plus one may take. Drained moved-from paths go."""
        for record in self.table.busy():
            for msg in record.retire_due(now):
                self.transport.send(msg)
            run = record.install
            if run is None:
                continue
            if now > run.deadline:
                self._finish(record, Outcome.BARRIER_TIMEOUT)
            elif now - run.started > self.config.barrier_timeout * (run.stage_count() + 1):
                self._finish(record, Outcome.GAVE_UP)

    def on_flow_removed(self, dpid: int, cookie: int, timed_out: bool) -> None:
        """A path flow timed out. Only the ingress flow of one direction of the pair's
        current install counts: that direction goes everywhere (the other may still be
        busy, e.g. one-way UDP); with neither left the pair is forgotten until it sends."""
        parts = split_cookie(cookie)
        if not timed_out or parts is None:
            return
        record, direction = self.record_of(parts[0]), Direction(cookie & 1)
        if record is None or not record.is_ingress_flow(dpid, cookie):
            return  # an older installation, or a non-ingress switch
        if direction not in record.live:
            return  # done already
        record.live.discard(direction)
        every_generation = path_cookie(record.pair_id, 0, direction)
        for h in record.hops[direction]:
            self.transport.send(FlowDelete(h.dpid, every_generation, DIRECTION_MASK))
        if not record.live:
            self._pop(record.key)

    # ------------------------------------------------------------------ pair rates
    def flow_stats_requests(self) -> list[Message]:
        """Our flows' counters from every switch where an installed pair enters."""
        return list[Message](ingress_stats_requests(self.pairs.values()))

    def on_flow_stats(self, dpid: int, flows: list[FlowCounters], now: float) -> None:
        """Byte counters of ingress flows -> each direction's own rate."""
        observe_ingress_counters(self.record_of, dpid, flows, now)

    # ------------------------------------------------------------------ re-optimization
    def reoptimize(
        self,
        now: float,
        reason: str,
        what_if: WhatIf,
        tx_bps: Callable[[int, int], float],
    ) -> int:
        """Evaluate every installed pair under the active metric; move (make-before-break)
        those whose best path beats the current one by the margin, unless held down."""
        cfg, metric, moved = self.config, self.metric(), 0
        touched: set[tuple[int, int]] = set()  # links a move changed: theirs wait a round
        records = list(self.pairs.values())
        start = self._reoptimize_cursor % len(records) if records else 0
        budget = MAX_EVALUATIONS  # a round's work is bounded; the next round goes on
        for visited, record in enumerate(records[start:] + records[:start], start=1):
            self._reoptimize_cursor = start + visited
            if not record.movable(now, cfg.reoptimize_holddown) or touched & record.links():
                continue
            budget -= 1
            verdicts = evaluate(record, self.router, self.host_of, metric, cfg, what_if, tx_bps)
            if any(v.move for _, v in verdicts) and self._move(record, now, reason, verdicts):
                moved += 1
                touched |= record.links() | self.pairs[record.key].links()
            if budget == 0:
                break
        return moved

    def _move(
        self, old: PairRecord, now: float, reason: str, verdicts: list[tuple[Direction, Verdict]]
    ) -> bool:
        ha, hb = self.host_of(old.a), self.host_of(old.b)
        planned = ha and hb and plan_paths(self.graph, self.router, self.metric(), ha, hb)
        if not planned:
            return False
        paths, hops = planned
        if self.metric() not in SYMMETRIC_METRICS:  # only the directions judged worth it
            for d, v in verdicts:
                if not v.move:
                    paths[d], hops[d] = old.paths[d], old.hops[d]
        if hops == old.hops:
            return False
        record = PairRecord(
            old.key, old.pair_id, old.generation + 1, paths, hops, PairState.INSTALLING, now,
            installed_at=old.installed_at, moves=old.moves + 1, last_move=reason,
            last_move_at=now, previous=old.plan(), rate_bps=dict(old.rate_bps),
        )  # fmt: skip
        self._put(record)
        self.counters.moves += 1
        for line in describe_moves(old.key, old.paths, paths, verdicts, reason):
            log.info("%s", line)
        stages = move_stages(old.plan(), record.plan(), self.config)
        record.install = Install.one_by_one(stages, now)
        self.table.mark_busy(record)
        self._send_step(record, now)
        return True

    # ------------------------------------------------------------------ the sequence
    def _install(
        self, key: PairKey, now: float, sender: Direction | None = None
    ) -> PairRecord | None:
        """Plan the pair's path and start installing it (egress first for ``sender``)."""
        if key not in self.pairs and len(self.table) >= self.config.max_pairs:
            self.counters.pairs_refused += 1  # a host spraying new destinations: bounded
            return None
        ha, hb = self.host_of(key.a), self.host_of(key.b)
        if ha is None or hb is None:
            self.drop(key)
            return None
        planned = plan_paths(self.graph, self.router, self.metric(), ha, hb)
        if planned is None:
            log.info("no path for %s <-> %s", key.a, key.b)
            self.drop(key)
            return None
        paths, hops = planned
        old = self.pairs.get(key)
        if old is not None:
            new_plan = PairPlan(key, old.pair_id, old.generation + 1, hops)
            stale = changed_switches(old.plan(), new_plan)
            if old.previous is not None:  # a move was under way: its old path too
                stale += [d for d in changed_switches(old.previous, new_plan) if d not in stale]
            for dpid in stale:
                self.transport.send(FlowDelete(dpid, old.cookie, PAIR_MASK))
            if old.install is not None:
                self._end_install(old, Outcome.SUPERSEDED)
            record = PairRecord(
                key, old.pair_id, old.generation + 1, paths, hops, PairState.INSTALLING, now,
                held=old.held, moves=old.moves, last_move=old.last_move,
                last_move_at=old.last_move_at,
            )  # fmt: skip
        else:
            pair_id = self.pair_ids.allocate(self.table.pair_ids())
            record = PairRecord(key, pair_id, 1, paths, hops, PairState.INSTALLING, now)
        self._put(record)
        self.counters.installs_started += 1
        stages = install_stages(record.plan(), self.config, sender or Direction.A_TO_B)
        record.install = Install.ingress_last(stages, started=now)
        self.table.mark_busy(record)
        if stages:
            self._send_step(record, now)
        else:
            self._finish(record, Outcome.DONE, now=now)
        return record if record.key in self.pairs else None

    def _send_step(self, record: PairRecord, now: float) -> None:
        run = record.install
        assert run is not None
        run.deadline, run.sent_at = now + self.config.barrier_timeout, now
        for stage in run.steps[run.index]:
            xid = next(self._xids) & 0xFFFFFFFF
            self._waits.expect(run, record.key, stage.dpid, xid)
            sent = all(self.transport.send(m, xid) for m in stage.messages)
            if not (sent and self.transport.send_barrier(stage.dpid, xid)):
                self._finish(record, Outcome.SWITCH_GONE, f"switch {stage.dpid:016x} gone")
                return

    def _finish(
        self, record: PairRecord, outcome: Outcome, detail: str = "", now: float | None = None
    ) -> None:
        """An installation ended: release the held packets, or give the pair up."""
        if outcome is Outcome.DONE and record.install is not None and now is not None:
            self.setup_seconds.observe(now - record.install.started)
        self._end_install(record, outcome, detail)
        if outcome is not Outcome.DONE:
            self.counters.installs_failed += 1
            log.warning("installing %s <-> %s failed: %s %s", *record.key, outcome.value, detail)
            self.drop(record.key)
            return
        record.state = PairState.INSTALLED
        if record.previous is not None:  # a move: its old path drains, then goes
            record.retire_at = (now or 0.0) + MOVE_DRAIN_S
            self.table.mark_busy(record)
        record.installed_at = now
        self.counters.paths_installed += 1
        held, record.held = record.held, []
        for p in held:
            self.transport.send(PacketOut(p.dpid, p.in_port, (OFPP_TABLE,), p.data))

    def _end_install(self, record: PairRecord, outcome: Outcome, detail: str = "") -> None:
        run = record.install
        if run is None:
            return
        self._waits.forget(run)
        record.install = None
        self.results.append(InstallResult(record.key, record.generation, outcome, detail))

    def _running(self, dpid: int, xid: int) -> PairRecord | None:
        key = self._waits.owner(dpid, xid)
        record = self.pairs.get(key) if key is not None else None
        waiting = record.install.waiting if record and record.install else {}
        return record if waiting.get(dpid) == xid else None

    def _put(self, record: PairRecord) -> None:
        self.table.put(record)

    def _pop(self, key: PairKey) -> PairRecord | None:
        record = self.table.pop(key)
        if record is not None:
            self._waits.forget(record.install)
        return record
