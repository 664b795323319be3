"""The network as a networkx ``DiGraph``: switches, their ports, and directed links.

One edge per direction. Each edge carries its ports, capacity, live traffic figures
and a weight per routing metric (see :mod:`controller.routing`). Plain logic: no Ryu.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import networkx as nx

from controller.config import Config
from controller.metrics import link_weights

OFPP_MAX = 0xFFFFFF00  # OpenFlow 1.3: port numbers above this are reserved (LOCAL, ...)


@dataclass
class PortInfo:
    """One switch port as the controller knows it."""

    port_no: int
    name: str = ""
    hw_addr: str = ""
    up: bool = True
    speed_bps: int = 0
    since: float = 0.0
    """When the port was (last) seen coming up: ports need a quiet period to count as access."""


@dataclass(frozen=True, order=True)
class LinkKey:
    """A directed switch-to-switch link (src dpid, src port) -> (dst dpid, dst port)."""

    src: int
    src_port: int
    dst: int
    dst_port: int

    def reverse(self) -> LinkKey:
        return LinkKey(self.dst, self.dst_port, self.src, self.src_port)


@dataclass
class LinkState:
    """What an edge carries besides its endpoints."""

    src_port: int
    dst_port: int
    capacity_bps: int
    last_seen: float
    tx_bps: float = 0.0
    tx_pps: float = 0.0
    utilization: float = 0.0
    latency_ms: float | None = None
    predicted_cost: float | None = None
    cost_override: float | None = None
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TopologyChange:
    """What one update changed: links added and removed (as keys)."""

    added: tuple[LinkKey, ...] = ()
    removed: tuple[LinkKey, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


class NetworkGraph:
    """Switches, ports and links; updated from discovery and port events."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.graph: nx.DiGraph = nx.DiGraph()
        self.version = 0  # bumped on every structural change (for caches)

    # ------------------------------------------------------------------ switches
    def add_switch(self, dpid: int, ports: list[PortInfo], now: float) -> TopologyChange:
        """A switch connected (or reconnected): replace what we knew of it."""
        change = self.remove_switch(dpid) if dpid in self.graph else TopologyChange()
        table = {}
        for p in ports:
            if p.port_no < OFPP_MAX:
                p.since = now
                table[p.port_no] = p
        self.graph.add_node(dpid, ports=table)
        self.version += 1
        return change

    def remove_switch(self, dpid: int) -> TopologyChange:
        if dpid not in self.graph:
            return TopologyChange()
        removed = [
            self._key(u, v) for u, v in [*self.graph.in_edges(dpid), *self.graph.out_edges(dpid)]
        ]
        self.graph.remove_node(dpid)
        self.version += 1
        return TopologyChange(removed=tuple(sorted(set(removed))))

    def has_switch(self, dpid: int) -> bool:
        return dpid in self.graph

    def switches(self) -> list[int]:
        return sorted(self.graph.nodes)

    def ports(self, dpid: int) -> dict[int, PortInfo]:
        ports: dict[int, PortInfo] = self.graph.nodes[dpid]["ports"]
        return ports

    # ------------------------------------------------------------------ ports
    def port_status(
        self, dpid: int, port: PortInfo, now: float, deleted: bool = False
    ) -> TopologyChange:
        """A port was added, modified or deleted; a port that is not up loses its links."""
        if dpid not in self.graph or port.port_no >= OFPP_MAX:
            return TopologyChange()
        table = self.ports(dpid)
        old = table.get(port.port_no)
        if deleted:
            table.pop(port.port_no, None)
        else:
            if old is None or (port.up and not old.up):
                port.since = now
            else:
                port.since = old.since
            table[port.port_no] = port
        if deleted or not port.up:
            return self._remove_links_on(dpid, port.port_no)
        return TopologyChange()

    def _remove_links_on(self, dpid: int, port_no: int) -> TopologyChange:
        removed = []
        for u, v, data in list(self.graph.out_edges(dpid, data=True)):
            if data["state"].src_port == port_no:
                removed.append(self._key(u, v))
        for u, v, data in list(self.graph.in_edges(dpid, data=True)):
            if data["state"].dst_port == port_no:
                removed.append(self._key(u, v))
        # A link is bidirectional in reality: drop the reverse direction too.
        keys = set(removed) | {k.reverse() for k in removed}
        return self._drop(keys)

    def _drop(self, keys: set[LinkKey]) -> TopologyChange:
        gone = []
        for k in keys:
            if self.graph.has_edge(k.src, k.dst) and self._key(k.src, k.dst) == k:
                self.graph.remove_edge(k.src, k.dst)
                gone.append(k)
        if gone:
            self.version += 1
        return TopologyChange(removed=tuple(sorted(gone)))

    # ------------------------------------------------------------------ links
    def _key(self, u: int, v: int) -> LinkKey:
        s: LinkState = self.graph.edges[u, v]["state"]
        return LinkKey(u, s.src_port, v, s.dst_port)

    def link_seen(self, key: LinkKey, now: float) -> TopologyChange:
        """LLDP from (src, src_port) arrived at (dst, dst_port)."""
        if key.src not in self.graph or key.dst not in self.graph or key.src == key.dst:
            return TopologyChange()
        sp, dp = self.ports(key.src).get(key.src_port), self.ports(key.dst).get(key.dst_port)
        if sp is None or dp is None or not sp.up or not dp.up:
            return TopologyChange()
        removed: set[LinkKey] = set()
        if self.graph.has_edge(key.src, key.dst):
            state: LinkState = self.graph.edges[key.src, key.dst]["state"]
            if (state.src_port, state.dst_port) == (key.src_port, key.dst_port):
                state.last_seen = now
                return TopologyChange()
            # Parallel links between two switches: keep the one seen last (a DiGraph holds one).
            removed.add(self._key(key.src, key.dst))
        # Any other link that claims one of these ports is stale (recabling).
        for other in self.links():
            if other != key and (
                (other.src, other.src_port) == (key.src, key.src_port)
                or (other.dst, other.dst_port) == (key.dst, key.dst_port)
            ):
                removed.add(other)
        dropped = self._drop(removed).removed
        capacity = (
            self.config.capacity_override(key.src, key.dst)
            or sp.speed_bps
            or (self.config.default_capacity_bps)
        )
        state = LinkState(key.src_port, key.dst_port, capacity, last_seen=now)
        self.graph.add_edge(key.src, key.dst, state=state, **link_weights(state))
        self.version += 1
        return TopologyChange(added=(key,), removed=dropped)

    def expire_links(self, now: float) -> TopologyChange:
        """Remove links whose LLDP has not been seen within ``link_timeout``."""
        stale = {k for k in self.links() if now - self.link(k).last_seen > self.config.link_timeout}
        return self._drop(stale)

    def refresh_weights(self, src: int, dst: int) -> None:
        """Recompute the per-metric weights stored on edge (src, dst) from its state."""
        data = self.graph.edges[src, dst]
        data.update(link_weights(data["state"]))

    def links(self) -> Iterator[LinkKey]:
        for u, v in sorted(self.graph.edges):
            yield self._key(u, v)

    def link(self, key: LinkKey) -> LinkState:
        state: LinkState = self.graph.edges[key.src, key.dst]["state"]
        return state

    def edge(self, src: int, dst: int) -> LinkState | None:
        if not self.graph.has_edge(src, dst):
            return None
        state: LinkState = self.graph.edges[src, dst]["state"]
        return state

    def link_ports(self) -> set[tuple[int, int]]:
        """Every (dpid, port) that is an end of a switch-to-switch link."""
        ends = set()
        for u, v, data in self.graph.edges(data=True):
            s: LinkState = data["state"]
            ends.add((u, s.src_port))
            ends.add((v, s.dst_port))
        return ends

    def is_link_port(self, dpid: int, port_no: int) -> bool:
        return (dpid, port_no) in self.link_ports()

    def is_access_port(self, dpid: int, port_no: int, now: float) -> bool:
        """An up port with no link that has been quiet long enough for LLDP to have spoken.

        Until then a port may still turn out to be switch-to-switch: treating it as
        access would flood into the fabric and learn hosts from the wrong place.
        """
        if dpid not in self.graph:
            return False
        p = self.ports(dpid).get(port_no)
        if p is None or not p.up:
            return False
        if now - p.since < 2 * self.config.lldp_interval:
            return False
        return not self.is_link_port(dpid, port_no)

    def access_ports(self, now: float) -> dict[int, list[int]]:
        ends = self.link_ports()
        out: dict[int, list[int]] = {}
        for dpid in self.switches():
            ports = [
                p.port_no
                for p in self.ports(dpid).values()
                if p.up
                and (dpid, p.port_no) not in ends
                and now - p.since >= 2 * self.config.lldp_interval
            ]
            out[dpid] = sorted(ports)
        return out

    def out_port(self, src: int, dst: int) -> int:
        """The port on ``src`` that leads to neighbour ``dst``."""
        return self.graph.edges[src, dst]["state"].src_port
