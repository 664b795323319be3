"""The network's edge: hosts learned on access ports, proxy ARP, storm-free flooding.

Decides what a frame from a host means (learn, answer, flood, or route it) and returns
plain messages; routing itself is the forwarding runtime's.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Container
from dataclasses import dataclass, field

from controller.config import Config
from controller.hosts.table import HostMove, HostTable
from controller.network.graph import NetworkGraph
from controller.network.model import LinkKey
from controller.southbound.frames import ARP_REQUEST, Frame, arp_reply
from controller.southbound.messages import OFPP_CONTROLLER, Message, PacketOut

log = logging.getLogger("controller.hosts")

MAX_REFUSED_MOVES = 4096
"""Recently refused moves remembered (a second, to answer repeats without work)."""


@dataclass
class HostCounters:
    floods: int = 0
    flood_duplicates_dropped: int = 0
    arp_proxied: int = 0
    hosts_aged_out: int = 0
    hosts_refused: int = 0
    """New MACs beyond ``max_hosts`` or ``max_macs_per_port``."""
    moves_refused: int = 0
    """A known MAC at another port while its old one is up and it is not silent there."""
    ip_claims_refused: int = 0
    """ARP claiming an address bound to another MAC (dropped, never flooded)."""


@dataclass
class EdgeDecision:
    """What to do with a frame from an access port."""

    messages: list[Message] = field(default_factory=list)
    moved: HostMove | None = None
    """Its sender was known elsewhere: its routes are stale."""
    route: bool = False
    """A unicast to a known host: hand it to forwarding."""


class HostService:
    def __init__(
        self,
        config: Config,
        graph: NetworkGraph,
        port_busy: Callable[[int, int, float], bool] = lambda dpid, port, now: False,
    ) -> None:
        self.config = config
        self.graph = graph
        self.table = HostTable(config.static_hosts)
        self.counters = HostCounters()
        self.port_busy = port_busy
        """Does a switch port receive traffic now (its rx counters grew lately)?"""
        self._refused_moves: OrderedDict[str, float] = OrderedDict()  # mac -> when
        self._recent_floods: OrderedDict[bytes, float] = OrderedDict()
        self._last_sweep = 0.0

    def on_frame(
        self, frame: Frame, dpid: int, in_port: int, data: bytes, now: float
    ) -> EdgeDecision:
        """A frame from an access port (its source MAC is unicast)."""
        if self._is_flood_copy(data, now):
            # It came back through a link LLDP has not found yet: not evidence of where
            # its sender is, and not to be flooded again.
            self.counters.flood_duplicates_dropped += 1
            return EdgeDecision()
        src = frame.src
        if not self._may_learn(src, dpid, in_port, now):
            return EdgeDecision()
        decision = EdgeDecision()
        arp = frame.arp
        sender_ip = arp.sender_ip if arp is not None and arp.sender_mac == src else None
        if sender_ip is not None and not self.table.may_bind(src, sender_ip):
            self.counters.ip_claims_refused += 1  # poisoning: never learned, never flooded
            log.info("refused %s claiming %s (bound to another host)", src, sender_ip)
            return decision
        decision.moved = self.table.learn(src, dpid, in_port, now, sender_ip)
        if decision.moved is not None:
            m = decision.moved
            log.info("host %s moved from %s to %s", m.mac, m.old, m.new)
        if arp is not None and arp.opcode == ARP_REQUEST:
            target = self.table.mac_for_ip(arp.target_ip)
            if target is not None and target != src:
                self.counters.arp_proxied += 1
                reply = arp_reply(arp.sender_mac, arp.sender_ip, target, arp.target_ip)
                decision.messages.append(PacketOut(dpid, OFPP_CONTROLLER, (in_port,), reply))
            else:
                decision.messages += self.flood(dpid, in_port, data, now)
        elif frame.dst_is_multicast or self.table.by_mac(frame.dst) is None:
            decision.messages += self.flood(dpid, in_port, data, now)
        else:
            decision.route = True
        return decision

    def _may_learn(self, mac: str, dpid: int, port: int, now: float) -> bool:
        """A new MAC within the table's and the port's limits; a known one at a new port
        only when its old port is gone or down, or it went silent there."""
        known = self.table.by_mac(mac)
        if known is not None and (known.dpid, known.port) == (dpid, port):
            return True
        if known is None and len(self.table) >= self.config.max_hosts:
            self.counters.hosts_refused += 1  # a MAC flood must not grow the table forever
            return False
        if self.table.count_at(dpid, port) >= self.config.max_macs_per_port:
            self.counters.hosts_refused += 1
            return False
        if known is None:
            return True
        refused = self._refused_moves.get(mac)
        if refused is not None and now - refused < 1.0:
            self.counters.moves_refused += 1  # asked again at once: same answer, no work
            return False
        if self.graph.is_access_port(known.dpid, known.port, now) and (
            now - known.last_frame < self.config.host_move_quiet
            or self.port_busy(known.dpid, known.port, now)
        ):
            self.counters.moves_refused += 1
            self._refused_moves[mac] = now
            self._refused_moves.move_to_end(mac)
            while len(self._refused_moves) > MAX_REFUSED_MOVES:
                self._refused_moves.popitem(last=False)
            log.info("refused a move of %s to (%016x, %d): still at %s", mac, dpid, port,
                     (known.dpid, known.port))  # fmt: skip
            return False
        return True

    def flood(self, dpid: int, in_port: int, data: bytes, now: float) -> list[Message]:
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
        for sw, ports in self.graph.access_ports(now).items():
            targets = tuple(p for p in ports if (sw, p) != (dpid, in_port))
            if targets:
                msgs.append(PacketOut(sw, OFPP_CONTROLLER, targets, data))
        return msgs

    def _is_flood_copy(self, data: bytes, now: float) -> bool:
        seen = self._recent_floods.get(_fingerprint(data))
        return seen is not None and now - seen < self.config.flood_dedup_window

    def forget_at(self, dpid: int, port: int | None = None) -> list[str]:
        return self.table.forget_at(dpid, port)

    def active_at(self, dpid: int, port: int, now: float) -> bool:
        """A host frame came in at (dpid, port) within ``host_port_quiet``."""
        t = self.table.frame_at(dpid, port)
        return t is not None and now - t < self.config.host_port_quiet

    def forget_link_ends(self, key: LinkKey) -> list[str]:
        """Both ends of a cable are switch ports: anything learned there was not a host."""
        forgotten: list[str] = []
        for end in key.ends():
            if self.table.any_at(*end):
                for mac in self.table.forget_at(*end):
                    log.info("forgot %s: (%016x, %d) is a link port", mac, *end)
                    forgotten.append(mac)
        return forgotten

    def tick(self, now: float, in_use: Container[str]) -> None:
        """Forget old flood fingerprints; once a second, age out silent hosts."""
        horizon = now - self.config.flood_dedup_window
        while self._recent_floods and next(iter(self._recent_floods.values())) < horizon:
            self._recent_floods.popitem(last=False)
        if now - self._last_sweep >= 1.0:
            self._last_sweep = now
            self._age(now, in_use)

    def _age(self, now: float, in_use: Container[str]) -> None:
        """Forget hosts silent for ``host_timeout`` that no installed route uses."""
        for host in self.table.all():
            if host.mac in in_use:
                host.last_seen = now  # its traffic runs on flows, not packet-ins
            elif now - host.last_seen > self.config.host_timeout:
                self.table.forget(host.mac)
                self.counters.hosts_aged_out += 1


def _fingerprint(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()
