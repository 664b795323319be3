"""The controller: services composed, one entry point per event.

Every entry point takes plain values and the current time; what must go to switches
goes through the :class:`~controller.southbound.transport.Transport` the shell supplies
(the Ryu app's, or the unit tests' fake network). No Ryu event machinery here.

    discovery   switches, ports, LLDP, links          controller.discovery.service
    hosts       host table, proxy ARP, flooding       controller.hosts.service
    forwarding  per-pair records, staged installs     controller.forwarding.runtime
    link cost   counters -> features -> model         controller.linkcost.service
    routing     shortest paths on the graph           controller.routing.paths
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from controller.config import METRIC_CHOICES, Config
from controller.discovery.miss_meter import MissMeters
from controller.discovery.service import DiscoveryService, base_flows
from controller.forwarding.adoption import FlowAdoption
from controller.forwarding.records import PairIds, first_pair_id
from controller.forwarding.runtime import ForwardingRuntime, HeldPacket
from controller.hosts.service import HostService
from controller.linkcost.service import LinkCostService
from controller.network.graph import NetworkGraph
from controller.network.model import PortInfo, TopologyChange
from controller.routing.paths import Router
from controller.southbound.frames import FrameError, parse_frame
from controller.southbound.messages import FlowCounters, Message, MeterFeatures, PortCounters
from controller.southbound.ratelimit import PacketInLimiter
from controller.southbound.transport import Transport

MAX_COST_OVERRIDES = 10_000


@dataclass
class PacketCounters:
    packet_ins: int = 0
    malformed: int = 0
    bad_inner_headers: int = 0
    unclassified_port_drops: int = 0
    transit_misses: int = 0
    rate_limited: int = 0
    """Packet-ins dropped unread: their port was over ``packet_in_rate``."""
    fabric_multicast_drops: int = 0


class ControllerCore:
    """Plain-logic controller; see the module docstring."""

    def __init__(self, config: Config, transport: Transport, nonce: int = 0) -> None:
        self.config = config
        self.nonce = nonce
        self.transport = transport
        self.metric = config.metric
        self.graph = NetworkGraph(config)
        self.router = Router(self.graph)
        self.discovery = DiscoveryService(config, self.graph, nonce)
        self.meters = MissMeters(config)
        self.hosts = HostService(config, self.graph, self._port_receiving)
        self.linkcost = LinkCostService(config, self.graph)
        self.forwarding = ForwardingRuntime(
            config,
            self.graph,
            self.router,
            self.hosts.table.by_mac,
            self.effective_metric,
            transport,
            PairIds(first_pair_id(nonce)),
        )
        self.adoption = FlowAdoption(
            config, self.graph, self.hosts.table, self.forwarding, transport,
            probe_period=lambda: self.discovery.probe_period,
        )  # fmt: skip
        self.counters = PacketCounters()
        self.limiter = PacketInLimiter(config.packet_in_rate, 2 * config.packet_in_rate)
        self.extra_counters: list[Any] = []
        """Counter dataclasses of the shell (sessions, transport), shown with the rest."""
        self.cost_overrides: dict[tuple[int, int], float] = {}
        """Operator costs by link direction, kept across the link's absences."""
        self._next_reoptimize = 0.0
        self._reoptimize_now: str | None = None
        """Why the next housekeeping tick re-evaluates installed pairs at once."""

    # ================================================================== switches
    def on_switch_up(self, dpid: int, ports: list[PortInfo], now: float) -> None:
        """A switch finished its handshake: take its ports, add the base entries again and
        read its path flows (kept, and adopted or deleted once the view is rebuilt)."""
        change = self.discovery.switch_up(dpid, ports, now)
        self._send(base_flows(dpid))
        self._send(self.meters.switch_up(dpid))
        self.forwarding.drop_hosts(self.hosts.forget_at(dpid))
        # Every other pair through it used one of its links, which are gone until probed.
        self._topology_changed(change, now)
        self._send(self.adoption.switch_up(dpid, now))
        self._send(self.discovery.probes_for(dpid, now))

    def on_switch_down(self, dpid: int, now: float) -> None:
        self.limiter.forget(dpid)
        self.meters.switch_down(dpid)
        self.forwarding.on_switch_gone(dpid)
        change = self.discovery.switch_down(dpid, now)
        self.linkcost.forget_switch(dpid)
        self.forwarding.drop_hosts(self.hosts.forget_at(dpid))
        self._topology_changed(change, now)

    def on_port_status(self, dpid: int, port: PortInfo, now: float, deleted: bool = False) -> None:
        self._topology_changed(self.discovery.port_status(dpid, port, now, deleted), now)
        if deleted:
            self._send(self.meters.port_deleted(dpid, port.port_no))
        elif self.graph.has_switch(dpid) and port.port_no in self.graph.ports(dpid):
            self._send(self.meters.port_added(dpid, port.port_no))
        if deleted:  # what was attached there is not (a moved host is learned again)
            self.forwarding.drop_hosts(self.hosts.forget_at(dpid, port.port_no))
            self.limiter.forget(dpid, port.port_no)  # its packet-in bucket too
        if deleted or not port.up:
            self.forwarding.drop_at_port(dpid, port.port_no)

    # ================================================================== packets
    def on_packet_in(self, dpid: int, in_port: int, data: bytes, now: float) -> None:
        """A packet reached the controller (table miss or LLDP)."""
        self.counters.packet_ins += 1
        if not self.graph.has_switch(dpid) or in_port not in self.graph.ports(dpid):
            return
        if not self.limiter.allow(dpid, in_port, data, now):
            self.counters.rate_limited += 1
            return
        try:
            # Lenient: a broken ARP/IPv4 header still has a readable Ethernet header.
            frame = parse_frame(data, lenient=True)
        except FrameError:
            self.counters.malformed += 1
            return
        if frame.inner_error is not None:
            self.counters.bad_inner_headers += 1
        if frame.is_lldp:
            return self._on_lldp(dpid, in_port, data, now)
        if frame.src_is_multicast:
            self.counters.malformed += 1
        elif self.graph.is_link_port(dpid, in_port):
            # Something we flooded or a packet in transit whose next flow is missing: never
            # learn here, never flood again. Re-install the pair's path if we know it.
            if frame.dst_is_multicast:
                self.counters.fabric_multicast_drops += 1
            else:
                self.counters.transit_misses += 1
                held = HeldPacket(dpid, in_port, data)
                self.forwarding.transit_miss(frame.src, frame.dst, held, now)
        elif not self.graph.is_access_port(dpid, in_port, now):
            self.counters.unclassified_port_drops += 1  # not yet classified: wait for LLDP
        else:
            decision = self.hosts.on_frame(frame, dpid, in_port, data, now)
            if decision.moved is not None:
                self.forwarding.drop_hosts([decision.moved.mac])
            self._send(decision.messages)
            if decision.route:
                self.forwarding.forward(frame.src, frame.dst, HeldPacket(dpid, in_port, data), now)

    def _on_lldp(self, dpid: int, in_port: int, data: bytes, now: float) -> None:
        hosts = self.hosts
        arrival = self.discovery.on_probe(
            dpid, in_port, data, now, lambda d, p: hosts.active_at(d, p, now)
        )
        if arrival is None:
            return
        self.linkcost.on_probe(arrival.key, arrival.sent_at, now)
        self.forwarding.drop_hosts(self.hosts.forget_link_ends(arrival.key))
        self._topology_changed(arrival.change, now)

    # ================================================================== switch replies
    def on_barrier_reply(self, dpid: int, xid: int, now: float) -> None:
        self.forwarding.on_barrier_reply(dpid, xid, now)

    def on_error(
        self, dpid: int, xid: int, detail: str, err_type: int = -1, err_code: int = -1
    ) -> bool:
        """An error message from a switch; True when it was expected (nothing is wrong)."""
        meter_error = self.meters.on_error(dpid, err_type, err_code)
        if meter_error is not None:
            self._send(meter_error.messages)
            return meter_error.expected
        self.forwarding.on_error(dpid, xid, detail)
        return False

    def on_meter_features(self, dpid: int, features: list[MeterFeatures]) -> None:
        if self.graph.has_switch(dpid):
            ports = self.graph.ports(dpid)
            self._send(self.meters.on_features(dpid, features, list(ports)))

    def on_flow_removed(self, dpid: int, cookie: int, timed_out: bool) -> None:
        self.forwarding.on_flow_removed(dpid, cookie, timed_out)

    def on_port_stats(self, dpid: int, counters: list[PortCounters], now: float) -> None:
        self.discovery.traffic_seen(self.linkcost.on_port_stats(dpid, counters, now), now)

    def on_flow_stats(self, dpid: int, flows: list[FlowCounters], now: float) -> None:
        self.adoption.on_flow_stats(dpid, flows, now)
        self.forwarding.on_flow_stats(dpid, flows, now)

    def on_echo_reply(self, dpid: int, data: bytes, now: float) -> None:
        self.linkcost.on_echo_reply(dpid, data, now)

    # ================================================================== periodic work
    def lldp_round(self, now: float) -> None:
        """Echo requests (control RTTs for the delay estimate), then a probe per port; a
        network probed in shares echoes the share's switches (each once per sweep)."""
        probes = self.discovery.lldp_round(now)
        share = {m.dpid for m in probes} if self.discovery.probe_period > 1 else None
        self._send(self.linkcost.echo_requests(now, share))
        self._send(probes)

    def stats_round(self, now: float) -> None:
        """Costs from the counters gathered since the last round, then the next round
        (port counters; and, when re-optimization is on, the pairs' own flow counters)."""
        self.linkcost.update_costs(now)
        self._send(self.linkcost.stats_requests())
        if self.config.reoptimize_interval > 0:
            self._send(self.forwarding.flow_stats_requests())

    def tick(self, now: float) -> None:
        """Housekeeping: install timeouts, silent links, flood fingerprints, idle hosts,
        and (every ``reoptimize_interval``, or at once when asked) re-optimization."""
        self.forwarding.expire(now)
        self.adoption.tick(now)
        self._topology_changed(self.discovery.expire(now), now)
        self.hosts.tick(now, self.forwarding.hosts_in_use())
        interval = self.config.reoptimize_interval
        if interval > 0 and (self._reoptimize_now or now >= self._next_reoptimize):
            self.reoptimize(now, self._reoptimize_now or "periodic")

    def reoptimize(self, now: float, reason: str) -> int:
        """Move installed pairs whose best path is now cheaper by the margin."""
        self._reoptimize_now = None
        self._next_reoptimize = now + self.config.reoptimize_interval
        metric = self.effective_metric()
        graph = self.graph

        def what_if(u: int, v: int, add_bps: float, remove_bps: float) -> float:
            return self.linkcost.what_if(metric, u, v, add_bps, remove_bps)

        def tx_bps(u: int, v: int) -> float:
            edge = graph.edge(u, v)
            return edge.tx_bps if edge is not None else 0.0

        return self.forwarding.reoptimize(now, reason, what_if, tx_bps)

    # ================================================================== operators
    def effective_metric(self) -> str:
        """The metric routing uses now (``auto`` resolves to cost once predictions exist)."""
        if self.metric != "auto":
            return self.metric
        has_model = self.linkcost.model is not None and self.linkcost.predicted_links > 0
        return "cost" if has_model else "hop"

    def set_metric(self, metric: str) -> None:
        if metric not in METRIC_CHOICES:
            raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRIC_CHOICES)}")
        if metric != self.metric:
            self._reoptimize_now = "metric change"
        self.metric = metric

    def set_cost_override(
        self, src: int, dst: int, cost: float | None, known_link: bool = True
    ) -> None:
        """Operator cost for link src->dst (None clears it); beats the model's prediction.
        Kept while the link is gone and applied when it is back (or, with ``known_link``
        False, first discovered: shared state a new leader applies while rediscovering)."""
        if known_link and self.graph.edge(src, dst) is None:
            raise KeyError(f"no link {src:016x} -> {dst:016x}")
        if cost is not None and not (math.isfinite(cost) and cost > 0):
            raise ValueError("a cost override must be finite and > 0")
        if cost is None:
            self.cost_overrides.pop((src, dst), None)
        elif (src, dst) in self.cost_overrides or len(self.cost_overrides) < MAX_COST_OVERRIDES:
            self.cost_overrides[(src, dst)] = cost
        else:
            raise ValueError(f"at most {MAX_COST_OVERRIDES} cost overrides")
        if self.graph.edge(src, dst) is not None:
            self.graph.update_link(src, dst, cost_override=cost)
            self._reoptimize_now = "cost override"

    def counter_values(self) -> dict[str, int]:
        """Every service's counters, flat (the health view)."""
        groups = (
            self.counters,
            self.discovery.counters,
            self.hosts.counters,
            self.forwarding.counters,
            self.meters.counters,
            *self.extra_counters,
        )
        return {k: v for g in groups for k, v in dataclasses.asdict(g).items()}

    # ================================================================== internals
    def _topology_changed(self, change: TopologyChange, now: float) -> None:
        for key in change.added:
            cost = self.cost_overrides.get((key.src, key.dst))
            if cost is not None:
                self.graph.update_link(key.src, key.dst, cost_override=cost)
        if change.added and self.forwarding.pairs:
            self._reoptimize_now = "link up"
        if change.removed:
            dead = {(k.src, k.dst) for k in change.removed}
            self.forwarding.reroute(dead | {(v, u) for u, v in dead}, now)

    def _port_receiving(self, dpid: int, port: int, now: float) -> bool:
        """The switch port received traffic in its latest counters (a host there sends)."""
        t = self.linkcost.traffic.get(dpid, port)
        fresh = self.linkcost.fresh_s()
        return bool(t and t.current and t.current.rx_bps > 0 and now - t.current.at <= fresh)

    def _send(self, msgs: Iterable[Message]) -> None:
        for msg in msgs:
            self.transport.send(msg)
