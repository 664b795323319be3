"""Discovery: switches and their ports, LLDP probes out, probes back in, link liveness.

Keeps the :class:`~controller.network.graph.NetworkGraph`'s structure in step with
what the switches report and what the probes prove; says what changed as a
:class:`~controller.network.model.TopologyChange`. Sends nothing itself.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from controller.config import Config
from controller.discovery.lldp import build_probe, parse_probe
from controller.network.graph import NetworkGraph
from controller.network.model import LinkKey, PortInfo, TopologyChange
from controller.southbound.messages import (
    COOKIE_BASE,
    ETH_TYPE_LLDP,
    OFPP_CONTROLLER,
    FlowAdd,
    Match,
    Message,
    PacketOut,
)
from controller.sweep import Sweep

PRIORITY_LLDP = 65000
PRIORITY_MISS = 0


@dataclass
class DiscoveryCounters:
    switch_ups: int = 0
    lldp_in: int = 0
    lldp_rejected: int = 0
    """Not ours (unsigned, another controller's, forged), too old, or impossible ends."""
    lldp_replayed: int = 0
    lldp_reflected: int = 0
    lldp_at_host_ports: int = 0


@dataclass(frozen=True)
class ProbeArrival:
    """One of our probes crossed a cable: which, when it was sent, what that changed."""

    key: LinkKey
    sent_at: float
    change: TopologyChange


def probe_key_for(nonce: int) -> bytes:
    """The LLDP signing key: derived from a per-process random nonce."""
    return hashlib.sha256(b"sdn-lldp" + nonce.to_bytes(32, "big")).digest()


def base_flows(dpid: int) -> list[FlowAdd]:
    """What every connected switch holds besides path flows: a table-miss entry and an
    LLDP-to-controller entry (added again at each switch up; an add replaces in place).
    Its path flows are left alone: see :mod:`controller.forwarding.adoption`; per-port
    metered table-miss entries: see :mod:`controller.discovery.miss_meter`."""
    return [
        FlowAdd(dpid, Match(), OFPP_CONTROLLER, PRIORITY_MISS, COOKIE_BASE),
        FlowAdd(dpid, Match(eth_type=ETH_TYPE_LLDP), OFPP_CONTROLLER, PRIORITY_LLDP, COOKIE_BASE),
    ]


class DiscoveryService:
    def __init__(self, config: Config, graph: NetworkGraph, nonce: int) -> None:
        self.config = config
        self.graph = graph
        self.probe_key = probe_key_for(nonce)
        self.counters = DiscoveryCounters()
        self._accepted: OrderedDict[tuple[int, int, float], float] = OrderedDict()
        """(dpid, port, sent_at) of accepted probes younger than ``probe_max_age``."""
        self._sweep = Sweep()

    @property
    def probe_period(self) -> int:
        """LLDP rounds one sweep of every port takes (1 unless the probe rate is capped)."""
        return self._sweep.period

    # ------------------------------------------------------------------ switches, ports
    def switch_up(self, dpid: int, ports: list[PortInfo], now: float) -> TopologyChange:
        """A switch finished its handshake: replace what we knew of it."""
        self.counters.switch_ups += 1
        return self.graph.add_switch(dpid, ports, now)

    def switch_down(self, dpid: int, now: float) -> TopologyChange:
        return self.graph.remove_switch(dpid, now)

    def port_status(
        self, dpid: int, port: PortInfo, now: float, deleted: bool = False
    ) -> TopologyChange:
        return self.graph.port_status(dpid, port, now, deleted)

    def expire(self, now: float) -> TopologyChange:
        return self.graph.expire_links(now, self.config.link_timeout * self.probe_period)

    def traffic_seen(self, cables: list[LinkKey], now: float) -> None:
        """Cables that carried traffic (sent at one end, received at the other) work, even
        when a full queue drops their probes."""
        for key in cables:
            self.graph.touch_cable(key, now)

    # ------------------------------------------------------------------ LLDP
    def probes_for(self, dpid: int, now: float) -> list[PacketOut]:
        if not self.graph.has_switch(dpid):
            return []
        return [
            PacketOut(
                dpid,
                OFPP_CONTROLLER,
                (p.port_no,),
                build_probe(dpid, p.port_no, p.hw_addr, now, self.probe_key),
            )
            for p in sorted(self.graph.ports(dpid).values(), key=lambda p: p.port_no)
            if p.up
        ]

    def lldp_round(self, now: float) -> list[Message]:
        """One LLDP probe out of every up port of every switch; or, when that is more
        than ``lldp_max_probes_per_s`` allows per round, out of the next share of them
        (every port once per sweep of ``probe_period`` rounds)."""
        ports = [
            (dpid, p)
            for dpid in self.graph.switches()
            for p in sorted(self.graph.ports(dpid).values(), key=lambda p: p.port_no)
            if p.up
        ]
        chosen = self._sweep.share(
            ports, int(self.config.lldp_max_probes_per_s * self.config.lldp_interval)
        )
        return [
            PacketOut(dpid, OFPP_CONTROLLER, (p.port_no,),
                      build_probe(dpid, p.port_no, p.hw_addr, now, self.probe_key))
            for dpid, p in chosen
        ]  # fmt: skip

    def on_probe(
        self,
        dpid: int,
        in_port: int,
        data: bytes,
        now: float,
        host_active: Callable[[int, int], bool] = lambda dpid, port: False,
    ) -> ProbeArrival | None:
        """An LLDP frame came in at (dpid, in_port); None unless it is a fresh probe of
        ours that could have crossed a cable. A rejected probe changes nothing.

        Accepted: signed with this process's key; at most ``probe_max_age`` old; the
        first arrival of that probe (a copy is a replay); on another port than the one it
        left from (a host reflecting it back); neither end a port where a host spoke
        within ``host_port_quiet`` (``host_active``). The graph then needs the other
        direction too before the cable is a link."""
        c = self.counters
        c.lldp_in += 1
        probe = parse_probe(data)
        if probe is None or not probe.verify(self.probe_key):
            c.lldp_rejected += 1
            return None  # not ours: another controller's, or forged
        self._forget_accepted(now)
        age = now - probe.sent_at
        key = LinkKey(probe.dpid, probe.port_no, dpid, in_port)
        if (probe.dpid, probe.port_no) == (dpid, in_port):
            c.lldp_reflected += 1
            return None
        if not -0.01 <= age <= self.config.probe_max_age or not self.graph.can_link(key):
            c.lldp_rejected += 1
            return None  # old (a replay, or a controller too busy to read it in time)
        ident = (probe.dpid, probe.port_no, probe.sent_at)
        if ident in self._accepted:
            c.lldp_replayed += 1
            return None
        if host_active(probe.dpid, probe.port_no) or host_active(dpid, in_port):
            c.lldp_at_host_ports += 1
            return None
        self._accepted[ident] = probe.sent_at
        return ProbeArrival(key, probe.sent_at, self.graph.link_seen(key, now))

    def _forget_accepted(self, now: float) -> None:
        """Accepted probes older than ``probe_max_age`` cannot come again (bounded)."""
        horizon = now - self.config.probe_max_age - 0.01
        while self._accepted and next(iter(self._accepted.values())) < horizon:
            self._accepted.popitem(last=False)
