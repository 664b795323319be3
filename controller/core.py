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

from ryu.lib.packet import arp, ethernet, ipv4, packet

from controller.config import METRICS, Config
from controller.hosts import HostTable
from controller.lldp import build_probe, parse_probe
from controller.messages import (
    COOKIE_APP,
    COOKIE_APP_MASK,
    COOKIE_BASE,
    ETH_TYPE_LLDP,
    OFPP_CONTROLLER,
    OFPP_TABLE,
    FlowAdd,
    FlowDelete,
    InstallJob,
    Match,
    Message,
    PacketOut,
    PortStatsRequest,
    Stage,
)
from controller.routing import NoPath, Path, Router
from controller.stats import PortCounters, TrafficStats
from controller.topology import LinkKey, NetworkGraph, PortInfo, TopologyChange

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

    def extend(self, other: Output) -> Output:
        self.messages.extend(other.messages)
        self.jobs.extend(other.jobs)
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
    cookie: int
    path: Path
    hops: tuple[Hop, ...]
    """Hops from a to b."""
    installed: bool = False


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


def pair_key(a: str, b: str) -> PairKey:
    return (a, b) if a <= b else (b, a)


class ControllerCore:
    """Plain-logic controller; see the module docstring."""

    def __init__(self, config: Config | None = None, nonce: int = 0) -> None:
        self.config = config or Config()
        self.nonce = nonce
        self.topo = NetworkGraph(self.config)
        self.hosts = HostTable()
        self.router = Router(self.topo)
        self.metric = self.config.metric
        self.routes: dict[PairKey, PairRoute] = {}
        self.held: dict[PairKey, list[tuple[int, int, bytes]]] = {}
        self.counters = Counters()
        self.traffic = TrafficStats()
        self._cookies = itertools.count(1)
        self._recent_floods: OrderedDict[bytes, float] = OrderedDict()

    # ================================================================== switches
    def on_switch_up(self, dpid: int, ports: list[PortInfo], now: float) -> Output:
        """A switch finished its handshake: reset our flows on it and take its ports."""
        self.counters.switch_ups += 1
        change = self.topo.add_switch(dpid, ports, now)
        self.hosts.forget_at(dpid)
        out = Output(
            [
                FlowDelete(dpid, COOKIE_APP, COOKIE_APP_MASK),
                FlowAdd(dpid, Match(), OFPP_CONTROLLER, PRIORITY_MISS, COOKIE_BASE),
                FlowAdd(
                    dpid, Match(eth_type=ETH_TYPE_LLDP), OFPP_CONTROLLER, PRIORITY_LLDP, COOKIE_BASE
                ),
            ]
        )
        stale = [k for k, r in self.routes.items() if any(h.dpid == dpid for h in r.hops)]
        for key in stale:  # our flows on it are gone; re-install (or drop) those pairs
            out.extend(self._reroute(key, now))
        out.extend(self._on_change(change, now))
        out.messages.extend(self.probes_for(dpid, now))
        return out

    def on_switch_down(self, dpid: int, now: float) -> Output:
        change = self.topo.remove_switch(dpid)
        self.traffic.forget_switch(dpid)
        self.hosts.forget_at(dpid)
        out = self._on_change(change, now)
        for key, route in list(self.routes.items()):
            if any(h.dpid == dpid for h in route.hops):
                out.extend(self._reroute(key, now))
        return out

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
        for _, dst, data in self.topo.graph.out_edges(dpid, data=True):
            state = data["state"]
            t = self.traffic.get(dpid, state.src_port)
            if t is None or t.current is None:
                continue
            state.tx_bps = t.current.tx_bps
            state.tx_pps = t.current.tx_pps
            state.utilization = min(t.current.tx_bps / state.capacity_bps, 1.0)
            state.extra.update(
                ewma_tx_bps=t.ewma_tx_bps,
                drops_ps=t.current.drops_ps,
                errors_ps=t.current.errors_ps,
            )
            self.topo.refresh_weights(dpid, dst)

    # ================================================================== discovery
    def probes_for(self, dpid: int, now: float) -> list[PacketOut]:
        if not self.topo.has_switch(dpid):
            return []
        return [
            PacketOut(
                dpid,
                OFPP_CONTROLLER,
                (p.port_no,),
                build_probe(dpid, p.port_no, p.hw_addr, now, self.nonce),
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
        return out

    def _on_lldp(self, dpid: int, in_port: int, data: bytes, now: float) -> Output:
        self.counters.lldp_in += 1
        probe = parse_probe(data)
        if probe is None or probe.nonce != self.nonce:
            return Output()
        key = LinkKey(probe.dpid, probe.port_no, dpid, in_port)
        change = self.topo.link_seen(key, now)
        if change.added:
            # Both ends are switch ports: anything learned there was not a host.
            for end in ((key.src, key.src_port), (key.dst, key.dst_port)):
                for mac in self.hosts.forget_at(*end):
                    log.info("forgot %s: (%016x, %d) is a link port", mac, *end)
        return self._on_change(change, now)

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
                out.extend(self._reroute(key, now))
        return out

    # ================================================================== packets
    def on_packet_in(self, dpid: int, in_port: int, data: bytes, now: float) -> Output:
        """A packet reached the controller (table miss or LLDP)."""
        self.counters.packet_ins += 1
        if not self.topo.has_switch(dpid):
            return Output()
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
        return self._reroute(key, now)

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
            path = self.router.shortest_path(ha.dpid, hb.dpid, self.metric)
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
            # Flows of the old path on switches the new path leaves are removed now;
            # the others are overwritten in place by the new stages.
            new_switches = {h.dpid for h in hops}
            out.messages.extend(
                FlowDelete(h.dpid, old.cookie)
                for h in old.hops
                if h.dpid not in new_switches or h not in hops
            )
            cookie = old.cookie
        else:
            cookie = COOKIE_APP | next(self._cookies)
        route = PairRoute(key[0], key[1], cookie, path, tuple(hops))
        self.routes[key] = route
        self.held.setdefault(key, [])
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
                    route.cookie,
                    cfg.idle_timeout,
                    cfg.hard_timeout,
                    notify_removal=True,
                ),
                FlowAdd(
                    hop.dpid,
                    Match(in_port=hop.out_port, eth_src=route.b, eth_dst=route.a),
                    hop.in_port,
                    cfg.flow_priority,
                    route.cookie,
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
        if not ok and reason == "superseded":
            return Output()  # the newer job releases the held packets
        held = self.held.pop(key, [])
        route = self.routes.get(key)
        if route is None:
            return Output()
        if not ok:
            log.warning("installing %s <-> %s failed: %s", key[0], key[1], reason)
            return self._drop_route(key)
        route.installed = True
        self.counters.paths_installed += 1
        return Output([PacketOut(d, p, (OFPP_TABLE,), data) for d, p, data in held])

    def on_flow_removed(self, dpid: int, cookie: int, idle: bool) -> Output:
        """A pair flow timed out: forget the pair everywhere (its next packet re-installs)."""
        if not idle:
            return Output()
        for key, route in list(self.routes.items()):
            if route.cookie == cookie and route.installed:
                return self._drop_route(key)
        return Output()

    def _reroute(self, key: PairKey, now: float) -> Output:
        return self._install(key, now)

    def _drop_route(self, key: PairKey) -> Output:
        route = self.routes.pop(key, None)
        self.held.pop(key, None)
        if route is None:
            return Output()
        return Output([FlowDelete(h.dpid, route.cookie) for h in route.hops])

    # ================================================================== operators
    def set_metric(self, metric: str) -> None:
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
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
