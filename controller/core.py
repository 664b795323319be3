"""The controller's brain: discovery, host tracking, flooding, path installation, recovery.

Every entry point takes plain values and the current time and returns an
:class:`Output` (messages to send now, install jobs to run). No Ryu event machinery;
the app shell in ``controller/app.py`` translates events and sends what comes back.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from ryu.lib.packet import arp, ethernet, ipv4, packet

from controller.config import METRIC_CHOICES, Config
from controller.discovery.lldp import build_probe, parse_probe
from controller.hosts.table import HostTable
from controller.linkcost.features import FEATURE_NAMES, link_features, switch_overload_bps
from controller.linkcost.latency import LatencyEstimator, echo_payload, echo_sent_at
from controller.linkcost.model import CostModel, ModelError, cost_from_latency
from controller.linkcost.stats import PortCounters, TrafficStats
from controller.network.graph import NetworkGraph
from controller.network.model import LinkKey, PortInfo, TopologyChange
from controller.routing.paths import NoPath, Path, Router
from controller.southbound.messages import (
    COOKIE_APP,
    COOKIE_APP_MASK,
    COOKIE_BASE,
    DIRECTION_MASK,
    ETH_TYPE_LLDP,
    OFPP_CONTROLLER,
    OFPP_TABLE,
    PAIR_MASK,
    EchoRequest,
    FlowAdd,
    FlowDelete,
    InstallJob,
    Match,
    Message,
    PacketOut,
    PortStatsRequest,
    Stage,
    path_cookie,
    split_cookie,
)

log = logging.getLogger("controller.core")

PRIORITY_LLDP = 65000
PRIORITY_MISS = 0
MAX_HELD_PACKETS = 16
PairKey = tuple[str, str]


@dataclass
class Output:
    """What the shell must do: send ``messages`` in order, then start ``jobs``."""

    messages: list[Message] = field(default_factory=list)
    jobs: list[InstallJob] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    """Install jobs to abandon (their pair was dropped); before anything else."""

    def extend(self, other: Output) -> Output:
        self.messages.extend(other.messages)
        self.jobs.extend(other.jobs)
        self.cancel.extend(other.cancel)
        return self


@dataclass(frozen=True)
class Hop:
    dpid: int
    in_port: int
    out_port: int


@dataclass
class PairRoute:
    """The installed route of one host pair (both directions share the path, reversed)."""

    a: str
    b: str
    pair_id: int
    generation: int
    path: Path
    hops: tuple[Hop, ...]
    """Hops from a to b."""
    installed: bool = False
    live: set[int] = field(default_factory=lambda: {0, 1})
    """Directions whose flows are in place (0: a->b, 1: b->a)."""
    since: float = 0.0

    @property
    def cookie(self) -> int:
        """The pair's cookie with generation and direction bits clear."""
        return path_cookie(self.pair_id, 0, 0)

    def flow_cookie(self, direction: int) -> int:
        return path_cookie(self.pair_id, self.generation, direction)

    def ingress(self, direction: int) -> int:
        return self.hops[0].dpid if direction == 0 else self.hops[-1].dpid


@dataclass
class Counters:
    packet_ins: int = 0
    lldp_in: int = 0
    floods: int = 0
    flood_duplicates_dropped: int = 0
    arp_proxied: int = 0
    paths_installed: int = 0
    reroutes: int = 0
    malformed: int = 0
    unclassified_port_drops: int = 0
    transit_misses: int = 0
    fabric_multicast_drops: int = 0
    switch_ups: int = 0
    hosts_aged_out: int = 0
    lldp_rejected: int = 0
    hosts_refused: int = 0


def pair_key(a: str, b: str) -> PairKey:
    return (a, b) if a <= b else (b, a)


class ControllerCore:
    """Plain-logic controller; see the module docstring."""

    def __init__(self, config: Config | None = None, nonce: int = 0) -> None:
        self.config = config or Config()
        self.nonce = nonce
        # The LLDP signing key: derived from the nonce (random per process in the app).
        self.probe_key = hashlib.sha256(b"sdn-lldp" + nonce.to_bytes(32, "big")).digest()
        self.topo = NetworkGraph(self.config)
        self.hosts = HostTable()
        self.router = Router(self.topo)
        self.metric = self.config.metric
        self.routes: dict[PairKey, PairRoute] = {}
        self.held: dict[PairKey, list[tuple[int, int, bytes]]] = {}
        self.held_since: dict[PairKey, float] = {}
        self._last_host_sweep = 0.0
        self.counters = Counters()
        self.traffic = TrafficStats()
        self.latency = LatencyEstimator()
        self.model: CostModel | None = None
        self.model_error = ""
        self.last_prediction_at: float | None = None
        self.predicted_links = 0
        self.load_model()
        self._pair_ids = itertools.count(1)
        self._by_pair_id: dict[int, PairKey] = {}
        self._recent_floods: OrderedDict[bytes, float] = OrderedDict()

    # ================================================================== switches
    def on_switch_up(self, dpid: int, ports: list[PortInfo], now: float) -> Output:
        """A switch finished its handshake: reset our flows on it and take its ports."""
        self.counters.switch_ups += 1
        change = self.topo.add_switch(dpid, ports, now)
        forgotten = self.hosts.forget_at(dpid)
        out = Output(
            [
                FlowDelete(dpid, COOKIE_APP, COOKIE_APP_MASK),
                FlowAdd(dpid, Match(), OFPP_CONTROLLER, PRIORITY_MISS, COOKIE_BASE),
                FlowAdd(
                    dpid, Match(eth_type=ETH_TYPE_LLDP), OFPP_CONTROLLER, PRIORITY_LLDP, COOKIE_BASE
                ),
            ]
        )
        out.extend(self._drop_routes_of(forgotten))
        # Every other pair through it used one of its links, which add_switch dropped:
        # _on_change re-installs (or drops) exactly those.
        out.extend(self._on_change(change, now))
        out.messages.extend(self.probes_for(dpid, now))
        return out

    def on_switch_down(self, dpid: int, now: float) -> Output:
        change = self.topo.remove_switch(dpid, now)
        self.traffic.forget_switch(dpid)
        self.latency.forget_switch(dpid)
        out = self._drop_routes_of(self.hosts.forget_at(dpid))
        return out.extend(self._on_change(change, now))

    def on_port_status(
        self, dpid: int, port: PortInfo, now: float, deleted: bool = False
    ) -> Output:
        change = self.topo.port_status(dpid, port, now, deleted)
        out = self._on_change(change, now)
        if deleted or not port.up:
            # Pairs attached on this port cannot be reached there any more.
            for key, route in list(self.routes.items()):
                if route.hops and (
                    (route.hops[0].dpid, route.hops[0].in_port) == (dpid, port.port_no)
                    or (route.hops[-1].dpid, route.hops[-1].out_port) == (dpid, port.port_no)
                ):
                    out.extend(self._drop_route(key))
        return out

    # ================================================================== traffic
    def stats_requests(self) -> list[Message]:
        """One port-stats request per switch (the shell sends them each stats interval)."""
        return [PortStatsRequest(d) for d in self.topo.switches()]

    def on_port_stats(self, dpid: int, counters: list[PortCounters], now: float) -> None:
        """Port counters arrived: update the rates and the links leaving ``dpid``."""
        if not self.topo.has_switch(dpid):
            return
        self.traffic.update(dpid, counters, now)
        # A cable whose far end received traffic while this end sent it works, even when a
        # full queue drops its LLDP probes (sustained overload would otherwise "cut" it).
        fresh = 2 * self.config.stats_interval
        for key in self.topo.cables_from(dpid):
            tx, rx = self.traffic.get(dpid, key.src_port), self.traffic.get(key.dst, key.dst_port)
            if (
                tx is not None
                and tx.current is not None
                and tx.current.tx_bps > 0
                and rx is not None
                and rx.current is not None
                and rx.current.rx_bps > 0
                and now - rx.current.at <= fresh
            ):
                self.topo.touch_cable(key, now)
        for _, dst, data in self.topo.graph.out_edges(dpid, data=True):
            state = data["state"]
            t = self.traffic.get(dpid, state.src_port)
            if t is None or t.current is None:
                continue
            state.tx_bps = t.current.tx_bps
            state.tx_pps = t.current.tx_pps
            state.utilization = min(t.current.tx_bps / state.capacity_bps, 1.0)
            self.topo.refresh_weights(dpid, dst)

    def echo_requests(self, now: float) -> list[Message]:
        """Timestamped echo requests: the control RTT that latency estimates subtract."""
        return [EchoRequest(d, echo_payload(now)) for d in self.topo.switches()]

    def on_echo_reply(self, dpid: int, data: bytes, now: float) -> None:
        sent_at = echo_sent_at(data)
        if sent_at is not None and self.topo.has_switch(dpid):
            self.latency.on_echo_reply(dpid, sent_at, now)

    # ================================================================== link costs
    def load_model(self) -> None:
        """Load the configured model; on failure run without one (and say why)."""
        path = self.config.model_file()
        self.model, self.model_error = None, ""
        if path is None:
            self.model_error = "no model configured (model_path is empty)"
            return
        try:
            self.model = CostModel.load(path)
        except ModelError as exc:
            self.model_error = str(exc)
            log.warning(
                "link-cost model not loaded: %s; cost falls back to %s",
                exc,
                self.config.model_fallback,
            )

    def update_costs(self, now: float) -> int:
        """Features for every link from the latest counters, then one batch prediction.

        Links without features (fewer than two samples) or outside the model's training
        range get no prediction: their ``cost`` weight falls back as configured.
        Returns how many links were predicted.
        """
        edges = list(self.topo.graph.edges(data=True))
        overload = {
            d: switch_overload_bps(
                [t for p in self.topo.ports(d) if (t := self.traffic.get(d, p)) is not None]
            )
            for d in self.topo.switches()
        }
        rows, states = [], []
        for u, v, data in edges:
            st = data["state"]
            st.features = link_features(
                self.traffic.get(u, st.src_port),
                self.traffic.get(v, st.dst_port),
                st.capacity_bps,
                overload[u],
            )
            st.predicted_cost = st.predicted_latency_ms = None
            st.features_at = now if st.features is not None else None
            if st.features is not None:
                rows.append(st.features)
                states.append(st)
        predicted = 0
        if self.model is not None and rows:
            x = np.asarray(rows, dtype=np.float64)
            ok = self.model.in_range(x)
            if ok.any():
                ms = self.model.predict_latency_ms(x[ok])
                for st, value in zip(
                    (s for s, good in zip(states, ok, strict=True) if good), ms, strict=True
                ):
                    st.predicted_latency_ms = float(value)
                    st.predicted_cost = cost_from_latency(float(value), self.config.cost_ms_per_hop)
                    predicted += 1
        for u, v, _ in edges:
            self.topo.refresh_weights(u, v)
        if predicted:
            self.last_prediction_at = now
        self.predicted_links = predicted
        return predicted

    def effective_metric(self) -> str:
        """The metric routing uses now (``auto`` resolves to cost once predictions exist)."""
        if self.metric != "auto":
            return self.metric
        return "cost" if self.model is not None and self.predicted_links > 0 else "hop"

    def model_status(self, now: float | None = None) -> dict[str, object]:
        m = self.model
        links = []
        for key in self.topo.links():
            st = self.topo.link(key)
            links.append(
                {
                    "src": f"{key.src:016x}",
                    "dst": f"{key.dst:016x}",
                    "predicted_latency_ms": st.predicted_latency_ms,
                    "predicted_cost": st.predicted_cost,
                    "measured_latency_ms": st.latency_ms,
                    "cost_override": st.cost_override,
                }
            )
        return {
            "loaded": m is not None,
            "path": m.path if m is not None else self.config.model_path,
            "error": self.model_error or None,
            "features": list(FEATURE_NAMES),
            "target": "one-way link delay in the next stats interval, ms",
            "target_transform": m.target_transform if m is not None else None,
            "metrics": m.metrics if m is not None else None,
            "layers": m.net.layer_sizes if m is not None else None,
            "fallback": self.config.model_fallback,
            "cost_ms_per_hop": self.config.cost_ms_per_hop,
            "last_prediction_age_s": (
                None
                if self.last_prediction_at is None or now is None
                else round(now - self.last_prediction_at, 3)
            ),
            "predicted_links": self.predicted_links,
            "links": links,
        }

    # ================================================================== discovery
    def probes_for(self, dpid: int, now: float) -> list[PacketOut]:
        if not self.topo.has_switch(dpid):
            return []
        return [
            PacketOut(
                dpid,
                OFPP_CONTROLLER,
                (p.port_no,),
                build_probe(dpid, p.port_no, p.hw_addr, now, self.probe_key),
            )
            for p in sorted(self.topo.ports(dpid).values(), key=lambda p: p.port_no)
            if p.up
        ]

    def lldp_round(self, now: float) -> list[Message]:
        """One LLDP probe out of every up port of every switch."""
        return [m for dpid in self.topo.switches() for m in self.probes_for(dpid, now)]

    def tick(self, now: float) -> Output:
        """Periodic housekeeping: expire silent links, forget old flood fingerprints."""
        out = self._on_change(self.topo.expire_links(now), now)
        horizon = now - self.config.flood_dedup_window
        while self._recent_floods and next(iter(self._recent_floods.values())) < horizon:
            self._recent_floods.popitem(last=False)
        # An installation that never finished (a lost job) must not hold a pair forever.
        for key in [k for k, t in self.held_since.items() if now - t > self._held_limit(k)]:
            log.warning("giving up the installation of %s <-> %s", *key)
            out.extend(self._drop_route(key))
        if now - self._last_host_sweep >= 1.0:
            self._last_host_sweep = now
            self._age_hosts(now)
        return out

    def _held_limit(self, key: PairKey) -> float:
        """A backstop only (the installer times out each stage): all stages plus one."""
        route = self.routes.get(key)
        stages = len(route.hops) if route is not None else 1
        return self.config.barrier_timeout * (stages + 1)

    def _age_hosts(self, now: float) -> None:
        """Forget hosts silent for ``host_timeout`` that no installed route uses."""
        in_use = {mac for key in self.routes for mac in key}
        for host in self.hosts.all():
            if host.mac in in_use:
                host.last_seen = now  # its traffic runs on flows, not packet-ins
            elif now - host.last_seen > self.config.host_timeout:
                self.hosts.forget(host.mac)
                self.counters.hosts_aged_out += 1

    def _on_lldp(self, dpid: int, in_port: int, data: bytes, now: float) -> Output:
        self.counters.lldp_in += 1
        probe = parse_probe(data)
        if probe is None or not probe.verify(self.probe_key):
            self.counters.lldp_rejected += 1
            return Output()  # not ours: another controller's, or forged
        age = now - probe.sent_at
        # Generous (two link timeouts): a busy controller may take a while to get to a
        # probe, and rejecting every late one would lose every link exactly when busy.
        if not -0.01 <= age <= 2 * self.config.link_timeout:
            self.counters.lldp_rejected += 1
            return Output()  # a replay of an old probe (or a clock oddity)
        key = LinkKey(probe.dpid, probe.port_no, dpid, in_port)
        change = self.topo.link_seen(key, now)
        delay_ms = self.latency.on_probe(key, probe.sent_at, now)
        state = self.topo.edge(key.src, key.dst)
        if (
            delay_ms is not None
            and state is not None
            and ((state.src_port, state.dst_port) == (key.src_port, key.dst_port))
        ):
            state.latency_ms = delay_ms
            self.topo.refresh_weights(key.src, key.dst)
        out = Output()
        if self.hosts.any_at(key.src, key.src_port) or self.hosts.any_at(key.dst, key.dst_port):
            # Both ends are switch ports (a new edge or a parallel cable): anything learned
            # there was not a host, and any path built towards it is wrong.
            for end in ((key.src, key.src_port), (key.dst, key.dst_port)):
                forgotten = self.hosts.forget_at(*end)
                for mac in forgotten:
                    log.info("forgot %s: (%016x, %d) is a link port", mac, *end)
                out.extend(self._drop_routes_of(forgotten))
        return out.extend(self._on_change(change, now))

    def _on_change(self, change: TopologyChange, now: float) -> Output:
        out = Output()
        if not change.removed:
            return out
        dead = set(change.removed) | {k.reverse() for k in change.removed}
        dead_edges = {(k.src, k.dst) for k in dead}
        for key, route in list(self.routes.items()):
            used = set(itertools.pairwise(route.path.dpids))
            used |= {(v, u) for u, v in used}
            if used & dead_edges:
                self.counters.reroutes += 1
                out.extend(self._install(key, now))
        return out

    # ================================================================== packets
    def on_packet_in(self, dpid: int, in_port: int, data: bytes, now: float) -> Output:
        """A packet reached the controller (table miss or LLDP)."""
        self.counters.packet_ins += 1
        if not self.topo.has_switch(dpid):
            return Output()
        if data[12:14] == b"\x88\xcc":  # LLDP: our own fast parser, before Ryu's
            return self._on_lldp(dpid, in_port, data, now)
        try:
            pkt = packet.Packet(data)
            eth = pkt.get_protocol(ethernet.ethernet)
        except Exception:
            eth = None
        if eth is None:
            self.counters.malformed += 1
            return Output()
        if eth.ethertype == ETH_TYPE_LLDP:
            return self._on_lldp(dpid, in_port, data, now)
        src, dst = eth.src.lower(), eth.dst.lower()
        if _is_multicast(src):
            self.counters.malformed += 1
            return Output()
        if self.topo.is_link_port(dpid, in_port):
            # Something we flooded or a packet in transit whose next flow is missing: never
            # learn here, never flood again. Re-install the pair's path if we know it.
            if _is_multicast(dst):
                self.counters.fabric_multicast_drops += 1
                return Output()
            return self._transit_miss(src, dst, now)
        if not self.topo.is_access_port(dpid, in_port, now):
            self.counters.unclassified_port_drops += 1
            return Output()  # port not yet classified: wait for LLDP
        arp_pkt = pkt.get_protocol(arp.arp)
        ip_pkt = pkt.get_protocol(ipv4.ipv4)
        sender_ip = None
        if arp_pkt is not None and arp_pkt.src_mac.lower() == src:
            sender_ip = arp_pkt.src_ip
        elif ip_pkt is not None:
            sender_ip = ip_pkt.src
        if self._is_flood_copy(data, now):
            # It came back through a link LLDP has not found yet: not evidence of where
            # its sender is, and not to be flooded again.
            self.counters.flood_duplicates_dropped += 1
            return Output()
        out = Output()
        if self.hosts.by_mac(src) is None and len(self.hosts) >= self.config.max_hosts:
            self.counters.hosts_refused += 1  # a MAC flood must not grow the table forever
            return out
        move = self.hosts.learn(src, dpid, in_port, now, sender_ip)
        if move is not None:
            log.info("host %s moved from %s to %s", move.mac, move.old, move.new)
            for key in [k for k in self.routes if src in k]:
                out.extend(self._drop_route(key))
        if arp_pkt is not None and arp_pkt.opcode == arp.ARP_REQUEST:
            target = self.hosts.by_ip(arp_pkt.dst_ip)
            if target is not None and target.mac != src:
                self.counters.arp_proxied += 1
                out.messages.append(
                    PacketOut(dpid, OFPP_CONTROLLER, (in_port,), _arp_reply(arp_pkt, target.mac))
                )
                return out
            return out.extend(self._flood(dpid, in_port, data, now))
        if _is_multicast(dst):
            return out.extend(self._flood(dpid, in_port, data, now))
        target = self.hosts.by_mac(dst)
        if target is None:
            return out.extend(self._flood(dpid, in_port, data, now))
        return out.extend(self._route_packet(src, dst, dpid, in_port, data, now))

    def _flood(self, dpid: int, in_port: int, data: bytes, now: float) -> Output:
        """Deliver to every access port of every switch (never across a switch link).

        The controller reaches each switch directly, so a broadcast never enters the
        fabric and no loop can carry it. A copy seen again within the dedup window
        (it came back through a link LLDP has not found yet) is dropped.
        """
        digest = _fingerprint(data)
        self._recent_floods[digest] = now
        self._recent_floods.move_to_end(digest)
        self.counters.floods += 1
        msgs: list[Message] = []
        for sw, ports in self.topo.access_ports(now).items():
            targets = tuple(p for p in ports if (sw, p) != (dpid, in_port))
            if targets:
                msgs.append(PacketOut(sw, OFPP_CONTROLLER, targets, data))
        return Output(msgs)

    def _is_flood_copy(self, data: bytes, now: float) -> bool:
        seen = self._recent_floods.get(_fingerprint(data))
        return seen is not None and now - seen < self.config.flood_dedup_window

    def _transit_miss(self, src: str, dst: str, now: float) -> Output:
        self.counters.transit_misses += 1
        if self.hosts.by_mac(src) is None or self.hosts.by_mac(dst) is None:
            return Output()
        key = pair_key(src, dst)
        if key in self.held:
            return Output()
        return self._install(key, now)

    # ================================================================== paths
    def _route_packet(
        self, src: str, dst: str, dpid: int, in_port: int, data: bytes, now: float
    ) -> Output:
        key = pair_key(src, dst)
        if key in self.held:  # an installation is under way: hold the packet, bounded
            if len(self.held[key]) < MAX_HELD_PACKETS:
                self.held[key].append((dpid, in_port, data))
            return Output()
        out = self._install(key, now, sender=src)
        if key in self.held:
            self.held[key].append((dpid, in_port, data))
        return out

    def _install(self, key: PairKey, now: float, sender: str | None = None) -> Output:
        """Compute the pair's path and plan its installation (egress first for ``sender``)."""
        ha, hb = self.hosts.by_mac(key[0]), self.hosts.by_mac(key[1])
        if ha is None or hb is None:
            return self._drop_route(key)
        try:
            path = self.router.shortest_path(ha.dpid, hb.dpid, self.effective_metric())
        except NoPath as exc:
            log.info("no path for %s <-> %s: %s", key[0], key[1], exc)
            return self._drop_route(key)
        hops = [
            Hop(
                d,
                ha.port if i == 0 else self.topo.in_port(path.dpids[i - 1], d),
                hb.port if i == len(path.dpids) - 1 else self.topo.out_port(d, path.dpids[i + 1]),
            )
            for i, d in enumerate(path.dpids)
        ]
        old = self.routes.get(key)
        out = Output()
        if old is not None:
            # Flows of the old path on switches the new path leaves (or uses differently)
            # are removed now; the others are overwritten in place by the new stages.
            out.messages.extend(
                FlowDelete(h.dpid, old.cookie, PAIR_MASK) for h in old.hops if h not in hops
            )
            pair_id, generation = old.pair_id, old.generation + 1
        else:
            pair_id, generation = next(self._pair_ids), 1
        route = PairRoute(key[0], key[1], pair_id, generation, path, tuple(hops), since=now)
        self.routes[key] = route
        self._by_pair_id[pair_id] = key
        if key not in self.held:
            self.held[key] = []
        self.held_since[key] = now  # a new job: its own time to finish
        out.jobs.append(self.plan_install(route, sender))
        return out

    def plan_install(self, route: PairRoute, sender: str | None = None) -> InstallJob:
        """Both directions' flows, one stage per switch, egress first.

        The egress is the far end for the host whose packet triggered the install
        (``sender``; ``route.a`` when none did): its packets are held meanwhile, and the
        switch they enter is programmed last, so none meets a switch without the flow.
        """
        cfg = self.config
        stages = []
        order = route.hops if sender == route.b else tuple(reversed(route.hops))
        for hop in order:
            flows = (
                FlowAdd(
                    hop.dpid,
                    Match(in_port=hop.in_port, eth_src=route.a, eth_dst=route.b),
                    hop.out_port,
                    cfg.flow_priority,
                    route.flow_cookie(0),
                    cfg.idle_timeout,
                    cfg.hard_timeout,
                    notify_removal=True,
                ),
                FlowAdd(
                    hop.dpid,
                    Match(in_port=hop.out_port, eth_src=route.b, eth_dst=route.a),
                    hop.in_port,
                    cfg.flow_priority,
                    route.flow_cookie(1),
                    cfg.idle_timeout,
                    cfg.hard_timeout,
                    notify_removal=True,
                ),
            )
            stages.append(Stage(hop.dpid, flows))
        return InstallJob(job_name(route.a, route.b), tuple(stages))

    def on_job_done(self, name: str, ok: bool, reason: str = "") -> Output:
        """An install job finished: release the held packets (or give the pair up)."""
        key = key_of_job(name)
        if not ok and reason in ("superseded", "cancelled"):
            # superseded: the newer job releases the held packets; cancelled: the pair was
            # dropped (held packets with it), and a new job of that name may be running.
            return Output()
        held = self.held.pop(key, [])
        self.held_since.pop(key, None)
        route = self.routes.get(key)
        if route is None:
            return Output()
        if not ok:
            log.warning("installing %s <-> %s failed: %s", key[0], key[1], reason)
            return self._drop_route(key)
        route.installed = True
        self.counters.paths_installed += 1
        return Output([PacketOut(d, p, (OFPP_TABLE,), data) for d, p, data in held])

    def on_flow_removed(self, dpid: int, cookie: int, timed_out: bool) -> Output:
        """A path flow timed out (idle or hard). Only the ingress flow of one direction of
        the pair's current installation counts: that direction is removed everywhere (the
        other may still be busy, e.g. a one-way UDP stream); when neither direction is
        left, the pair is forgotten. Its next packet installs it again."""
        parts = split_cookie(cookie)
        if not timed_out or parts is None:
            return Output()
        pair_id, generation, direction = parts
        key = self._by_pair_id.get(pair_id)
        route = self.routes.get(key) if key is not None else None
        if (
            route is None
            or generation != route.generation & 0x7FFF
            or dpid != route.ingress(direction)
            or direction not in route.live
        ):
            return Output()  # an older installation, a non-ingress switch, or done already
        route.live.discard(direction)
        out = Output(
            [
                FlowDelete(h.dpid, path_cookie(pair_id, 0, direction), DIRECTION_MASK)
                for h in route.hops
            ]
        )
        if not route.live:
            assert key is not None
            self.routes.pop(key, None)
            self._by_pair_id.pop(pair_id, None)
            self.held.pop(key, None)
            self.held_since.pop(key, None)
        return out

    def _drop_route(self, key: PairKey) -> Output:
        """Forget a pair: cancel its installation if one runs, delete its flows."""
        route = self.routes.pop(key, None)
        self.held.pop(key, None)
        self.held_since.pop(key, None)
        if route is None:
            return Output()
        self._by_pair_id.pop(route.pair_id, None)
        return Output(
            [FlowDelete(h.dpid, route.cookie, PAIR_MASK) for h in route.hops],
            cancel=[job_name(route.a, route.b)],
        )

    def _drop_routes_of(self, macs: list[str]) -> Output:
        out = Output()
        for key in [k for k in self.routes if k[0] in macs or k[1] in macs]:
            out.extend(self._drop_route(key))
        return out

    # ================================================================== operators
    def set_metric(self, metric: str) -> None:
        if metric not in METRIC_CHOICES:
            raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRIC_CHOICES)}")
        self.metric = metric

    def set_cost_override(self, src: int, dst: int, cost: float | None) -> None:
        """Operator cost for link src->dst (None clears it); beats the model's prediction."""
        state = self.topo.edge(src, dst)
        if state is None:
            raise KeyError(f"no link {src:016x} -> {dst:016x}")
        if cost is not None and not (math.isfinite(cost) and cost > 0):
            raise ValueError("a cost override must be finite and > 0")
        state.cost_override = cost
        self.topo.refresh_weights(src, dst)

    def route_of(self, a: str, b: str) -> PairRoute | None:
        return self.routes.get(pair_key(a.lower(), b.lower()))


def job_name(a: str, b: str) -> str:
    return f"pair:{a}|{b}"


def key_of_job(name: str) -> PairKey:
    a, _, b = name.removeprefix("pair:").partition("|")
    return (a, b)


def _fingerprint(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _is_multicast(mac: str) -> bool:
    try:
        return bool(int(mac[:2], 16) & 1)
    except ValueError:
        return True


def _arp_reply(req: arp.arp, target_mac: str) -> bytes:
    pkt = packet.Packet()
    pkt.add_protocol(ethernet.ethernet(req.src_mac, target_mac, ethernet.ether.ETH_TYPE_ARP))
    pkt.add_protocol(
        arp.arp(
            opcode=arp.ARP_REPLY,
            src_mac=target_mac,
            src_ip=req.dst_ip,
            dst_mac=req.src_mac,
            dst_ip=req.src_ip,
        )
    )
    pkt.serialize()
    return bytes(pkt.data)
