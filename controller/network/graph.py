"""The network as a networkx ``DiGraph``: switches, their ports, and directed links.

One edge per direction, found by LLDP (the cables it crosses both ways). Each edge
carries its ports, capacity, live traffic figures and a weight per routing metric (see
:mod:`controller.network.weighted`). Plain logic: no Ryu.
"""

from __future__ import annotations

from typing import Any

from controller.config import Config
from controller.network.model import OFPP_MAX, LinkKey, LinkState, PortInfo, TopologyChange
from controller.network.weighted import WeightedGraph
from controller.network.weights import link_weights


class NetworkGraph(WeightedGraph):
    """Switches, ports and links; updated from discovery and port events."""

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config or Config())
        self.cables: dict[LinkKey, float] = {}
        """Every directed cable LLDP has crossed recently -> when; the graph holds one per
        switch pair and direction, parallel cables are kept here."""
        # Indexes over the cables, kept in step by _add_cable/_del_cable, so that a probe
        # costs the same whatever the size of the network.
        self._by_end: dict[tuple[int, int], set[LinkKey]] = {}
        self._by_pair: dict[tuple[int, int], set[LinkKey]] = {}
        self._by_switch: dict[int, set[LinkKey]] = {}
        self.former_link_ports: dict[tuple[int, int], float] = {}
        """Ports whose cable LLDP stopped seeing while the port stayed up -> since when.
        They are not access ports for ``former_link_hold`` seconds: the cable may still
        be there (probes lost in a full queue), and a frame still in flight on it must
        not make a host appear on a switch port."""
        self.ports_version = 0
        """Bumped when a switch's set of ports changes."""

    # ------------------------------------------------------------------ switches
    def add_switch(self, dpid: int, ports: list[PortInfo], now: float) -> TopologyChange:
        """A switch connected (or reconnected): replace what we knew of it."""
        change = self.remove_switch(dpid, now) if dpid in self.graph else TopologyChange()
        table = {}
        for p in ports:
            if p.port_no < OFPP_MAX:
                p.since = now
                table[p.port_no] = p
        self.graph.add_node(dpid, ports=table)
        self.ports_version += 1
        self._structure_changed()
        return change

    def remove_switch(self, dpid: int, now: float = 0.0) -> TopologyChange:
        if dpid not in self.graph:
            return TopologyChange()
        removed = [
            self._key(u, v) for u, v in [*self.graph.in_edges(dpid), *self.graph.out_edges(dpid)]
        ]
        gone = list(self._by_switch.get(dpid, ()))
        for c in gone:
            self._del_cable(c)
        # The neighbours' ports stay up and may still carry frames from this switch.
        self._remember_former(gone, now)
        for end in [e for e in self.former_link_ports if e[0] == dpid]:
            del self.former_link_ports[end]
        self.graph.remove_node(dpid)
        self._structure_changed()
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
        self.ports_version += old is None or deleted
        if deleted:
            table.pop(port.port_no, None)
        else:
            if old is None or (port.up and not old.up):
                port.since = now
                # Down then up (a replug): whatever is there now is new.
                self.former_link_ports.pop((dpid, port.port_no), None)
            else:
                port.since = old.since
            table[port.port_no] = port
        if deleted or not port.up:
            return self._remove_links_on(dpid, port.port_no, now)
        return TopologyChange()

    def _remove_links_on(self, dpid: int, port_no: int, now: float) -> TopologyChange:
        """Forget every cable with an end on this port (both directions) and resync edges."""
        gone = list(self._by_end.get((dpid, port_no), ()))
        for c in gone:
            self._del_cable(c)
        self._remember_former(gone, now)  # the far end's port is still up
        return self._sync({(c.src, c.dst) for c in gone})

    def _add_cable(self, key: LinkKey, now: float) -> None:
        self.cables[key] = now
        for end in key.ends():
            self._by_end.setdefault(end, set()).add(key)
        self._by_pair.setdefault((key.src, key.dst), set()).add(key)
        for d in (key.src, key.dst):
            self._by_switch.setdefault(d, set()).add(key)

    def _del_cable(self, key: LinkKey) -> None:
        if self.cables.pop(key, None) is None:
            return
        for end in key.ends():
            _discard(self._by_end, end, key)
        _discard(self._by_pair, (key.src, key.dst), key)
        for d in (key.src, key.dst):
            _discard(self._by_switch, d, key)

    def _both_ways(self, key: LinkKey) -> bool:
        """A cable becomes an edge once LLDP crossed it both ways (one way alone is what a
        host relaying probes between two access ports could fake)."""
        return key in self.cables and key.reverse() in self.cables

    def _sync(self, pairs: set[tuple[int, int]]) -> TopologyChange:
        """Make the edge of each (src, dst) pair, and of (dst, src), follow the cables LLDP
        currently sees: a new edge needs its cable seen both ways; an edge stays while
        its own direction is seen.

        An edge keeps its cable while that cable is fresh (no churn between parallel
        cables); otherwise it moves to the lowest-numbered fresh cable, or disappears.
        """
        added: list[LinkKey] = []
        removed: list[LinkKey] = []
        both = self._both_ways
        for u, v in sorted(pairs | {(v, u) for u, v in pairs}):
            if u not in self.graph or v not in self.graph:
                continue
            current = self._key(u, v) if self.graph.has_edge(u, v) else None
            if current is not None and current in self.cables:
                continue  # an edge stays while its own direction is seen
            if current is not None:
                self.graph.remove_edge(u, v)
                removed.append(current)
            candidates = sorted(c for c in self._by_pair.get((u, v), ()) if both(c))
            if candidates:
                self._add_edge(candidates[0], self.cables[candidates[0]])
                added.append(candidates[0])
        if added or removed:
            self._structure_changed()
        return TopologyChange(added=tuple(added), removed=tuple(removed))

    def _add_edge(self, key: LinkKey, now: float) -> None:
        speed = self.ports(key.src).get(key.src_port)
        capacity = (
            self.config.capacity_override(key.src, key.dst)
            or (speed.speed_bps if speed is not None else 0)
            or self.config.default_capacity_bps
        )
        state = LinkState(key.src_port, key.dst_port, capacity, last_seen=now)
        self.graph.add_edge(
            key.src, key.dst, state=state, **link_weights(state, self.config.model_fallback)
        )

    # ------------------------------------------------------------------ links
    def can_link(self, key: LinkKey) -> bool:
        """Could a cable join these ends: two known switches, known up ports?"""
        if key.src not in self.graph or key.dst not in self.graph or key.src == key.dst:
            return False
        sp, dp = self.ports(key.src).get(key.src_port), self.ports(key.dst).get(key.dst_port)
        return sp is not None and dp is not None and sp.up and dp.up

    def link_seen(self, key: LinkKey, now: float) -> TopologyChange:
        """LLDP from (src, src_port) arrived at (dst, dst_port)."""
        if not self.can_link(key):
            return TopologyChange()
        # Recabling: a cable that shares a port with this one (other than this cable's
        # other direction) no longer exists, in either direction.
        ends = set(key.ends())
        sharing = set().union(*(self._by_end.get(end, set()) for end in ends))
        stale = sorted(c for c in sharing if c not in (key, key.reverse()))
        if not stale and key in self.cables:  # the usual probe: a known cable, seen again
            edge = self.edge(key.src, key.dst)
            if edge is not None and (edge.src_port, edge.dst_port) == (key.src_port, key.dst_port):
                self.cables[key] = now
                edge.last_seen = now
                return TopologyChange()
        for c in stale:
            self._del_cable(c)
        self._add_cable(key, now)
        self.former_link_ports.pop((key.src, key.src_port), None)
        self.former_link_ports.pop((key.dst, key.dst_port), None)
        self._remember_former(stale, now)
        edge = self.edge(key.src, key.dst)
        if edge is not None and (edge.src_port, edge.dst_port) == (key.src_port, key.dst_port):
            edge.last_seen = now
        return self._sync({(key.src, key.dst)} | {(c.src, c.dst) for c in stale})

    def cables_from(self, dpid: int) -> list[LinkKey]:
        """The cables (directions) that leave ``dpid``."""
        return [c for c in self._by_switch.get(dpid, ()) if c.src == dpid]

    def touch_cable(self, key: LinkKey, now: float) -> None:
        """Evidence other than LLDP that a known cable works (traffic crossed it)."""
        if key in self.cables and self.cables[key] < now:
            self.cables[key] = now
            edge = self.edge(key.src, key.dst)
            if edge is not None and (edge.src_port, edge.dst_port) == (key.src_port, key.dst_port):
                edge.last_seen = now

    def expire_links(self, now: float, timeout: float | None = None) -> TopologyChange:
        """Forget cables whose LLDP has not been seen within ``timeout`` (default
        ``link_timeout``)."""
        limit = self.config.link_timeout if timeout is None else timeout
        stale = [c for c, t in self.cables.items() if now - t > limit]
        for c in stale:
            self._del_cable(c)
        self._remember_former(stale, now)
        hold = self.config.former_link_hold
        for end in [e for e, t in self.former_link_ports.items() if now - t > hold]:
            del self.former_link_ports[end]
        return self._sync({(c.src, c.dst) for c in stale})

    def _remember_former(self, gone: list[LinkKey], now: float) -> None:
        for c in gone:
            for end in c.ends():
                if end not in self._by_end:
                    self.former_link_ports[end] = now

    def link_ports(self) -> set[tuple[int, int]]:
        """Every (dpid, port) that is an end of a cable LLDP sees (parallel ones included)."""
        return set(self._by_end)

    def is_link_port(self, dpid: int, port_no: int) -> bool:
        return (dpid, port_no) in self._by_end

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
        if self._recently_link(dpid, port_no, now):
            return False
        return not self.is_link_port(dpid, port_no)

    def _recently_link(self, dpid: int, port_no: int, now: float) -> bool:
        t = self.former_link_ports.get((dpid, port_no))
        return t is not None and now - t < self.config.former_link_hold

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
                and not self._recently_link(dpid, p.port_no, now)
            ]
            out[dpid] = sorted(ports)
        return out

    def in_port(self, src: int, dst: int) -> int:
        """The port on ``dst`` where the link from neighbour ``src`` arrives."""
        state: LinkState = self.graph.edges[src, dst]["state"]
        return state.dst_port

    def out_port(self, src: int, dst: int) -> int:
        """The port on ``src`` that leads to neighbour ``dst``."""
        state: LinkState = self.graph.edges[src, dst]["state"]
        return state.src_port


def _discard(index: dict[Any, set[LinkKey]], bucket: Any, key: LinkKey) -> None:
    """Remove ``key`` from ``index[bucket]``, dropping the bucket when it empties."""
    keys = index.get(bucket)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[bucket]
