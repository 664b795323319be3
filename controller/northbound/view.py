"""A read-only view of the controller for readers (REST, CLI, metrics, a web page).

Built from the same planning functions the forwarding runtime installs with
(:mod:`controller.forwarding.plan`), so a path or flow shown here is the one that is, or
would be, installed. Readers get plain records and copies, never the core's objects;
the two operator commands (metric, cost override) go through the core's methods.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controller.config import METRICS
from controller.discovery.service import base_flows
from controller.forwarding.plan import Direction, Hop, PartialHop, hops_along, pair_flows
from controller.forwarding.records import PairRecord
from controller.hosts.table import Host
from controller.network.model import LinkKey, LinkState, PortInfo
from controller.routing.paths import Path
from controller.southbound.messages import FlowAdd
from controller.telemetry import Histogram

if TYPE_CHECKING:
    from controller.core import ControllerCore


@dataclass(frozen=True)
class LinkView:
    key: LinkKey
    state: LinkState
    """A copy: changing it changes nothing."""
    weights: dict[str, float]


@dataclass(frozen=True)
class LinkGauges:
    """One link direction's numbers for the metrics exporter (no copies of the state)."""

    src: int
    dst: int
    utilization: float
    tx_bps: float
    capacity_bps: int
    latency_ms: float | None
    predicted_latency_ms: float | None
    cost: float


@dataclass(frozen=True)
class DirectionView:
    src: str
    dst: str
    path: Path
    hops: tuple[PartialHop, ...]
    live: bool
    """Its flows are in place (False once it idled out while the other still runs)."""


@dataclass(frozen=True)
class PairView:
    a: str
    b: str
    cookie: int
    installed: bool
    path: Path
    hops: tuple[PartialHop, ...]
    """a -> b."""
    directions: tuple[DirectionView, DirectionView]
    installed_at: float | None
    moves: int
    last_move: str
    last_move_at: float | None


@dataclass(frozen=True)
class FlowView:
    """One flow this app installs (or is installing), with what it serves."""

    flow: FlowAdd
    purpose: str  # "table-miss", "lldp" or "path"
    hosts: tuple[str, str] | None = None
    path: tuple[int, ...] | None = None
    installed: bool = True


@dataclass(frozen=True)
class PathView:
    path: Path
    hops: tuple[PartialHop, ...]


class ControllerView:
    def __init__(self, core: ControllerCore) -> None:
        self._core = core

    # ------------------------------------------------------------------ topology
    def switches(self) -> list[int]:
        return self._core.graph.switches()

    def has_switch(self, dpid: int) -> bool:
        return self._core.graph.has_switch(dpid)

    def ports(self, dpid: int) -> list[PortInfo]:
        ports = self._core.graph.ports(dpid).values()
        return [dataclasses.replace(p) for p in sorted(ports, key=lambda p: p.port_no)]

    def miss_meters(self, dpid: int) -> dict[str, object]:
        """The switch's per-port table-miss meters: state (see MeterState), ports metered,
        each meter's rate and burst."""
        meters = self._core.meters
        return {
            "state": meters.state.get(dpid, "unknown"),
            "ports": sorted(meters.metered.get(dpid, ())),
            "rate_pps": meters.rate,
            "burst": meters.burst,
        }

    def counts(self) -> dict[str, int]:
        """Switches, directed links, hosts and host-pair routes (cheap: no copies)."""
        core = self._core
        return {
            "switches": core.graph.graph.number_of_nodes(),
            "links": core.graph.graph.number_of_edges(),
            "hosts": len(core.hosts.table),
            "routes": len(core.forwarding.pairs),
        }

    def links(self) -> list[LinkView]:
        return [self._link_view(k) for k in self._core.graph.links()]

    def link_gauges(self) -> list[LinkGauges]:
        """Every link direction's gauges, cheaply (a scrape reads thousands)."""
        out = []
        for (src, dst), data in sorted(self._core.graph.graph.edges.items()):
            st: LinkState = data["state"]
            out.append(
                LinkGauges(src, dst, st.utilization, st.tx_bps, st.capacity_bps, st.latency_ms,
                           st.predicted_latency_ms, float(data["cost"]))
            )  # fmt: skip
        return out

    def link(self, src: int, dst: int) -> LinkView | None:
        state = self._core.graph.edge(src, dst)
        if state is None:
            return None
        return self._link_view(LinkKey(src, state.src_port, dst, state.dst_port))

    def _link_view(self, key: LinkKey) -> LinkView:
        graph = self._core.graph
        state = graph.link(key)
        weights = {m: graph.weight(key.src, key.dst, m) for m in METRICS}
        copy = dataclasses.replace(
            state, features=list(state.features) if state.features is not None else None
        )
        return LinkView(key, copy, weights)

    # ------------------------------------------------------------------ hosts
    def hosts(self) -> list[Host]:
        return [dataclasses.replace(h) for h in self._core.hosts.table.all()]

    def host_by_mac(self, mac: str) -> Host | None:
        h = self._core.hosts.table.by_mac(mac)
        return dataclasses.replace(h) if h is not None else None

    def host_by_ip(self, ip: str) -> Host | None:
        h = self._core.hosts.table.by_ip(ip)
        return dataclasses.replace(h) if h is not None else None

    # ------------------------------------------------------------------ routing
    def metric(self) -> str:
        return self._core.metric

    def active_metric(self) -> str:
        return self._core.effective_metric()

    def paths(
        self,
        src: int,
        dst: int,
        metric: str,
        k: int,
        src_port: int | None = None,
        dst_port: int | None = None,
    ) -> list[PathView]:
        """Up to ``k`` paths, the first the one forwarding would install; hops as the
        runtime computes them (raises NoPath)."""
        paths = self._core.router.k_shortest_paths(src, dst, metric, k)
        graph = self._core.graph
        return [
            PathView(p, tuple(_partial(h) for h in hops_along(graph, p.dpids, src_port, dst_port)))
            for p in paths
        ]

    def pairs(self) -> list[PairView]:
        records = sorted(self._core.forwarding.pairs.values(), key=lambda r: r.key)
        return [
            PairView(
                r.a,
                r.b,
                r.cookie,
                r.installed,
                r.path,
                tuple(_partial(h) for h in r.hops[Direction.A_TO_B]),
                (self._direction(r, Direction.A_TO_B), self._direction(r, Direction.B_TO_A)),
                r.installed_at,
                r.moves,
                r.last_move,
                r.last_move_at,
            )
            for r in records
        ]

    @staticmethod
    def _direction(r: PairRecord, d: Direction) -> DirectionView:
        src, dst = r.key.ends(d)
        hops = tuple(_partial(h) for h in r.hops[d])
        return DirectionView(src, dst, r.paths[d], hops, d in r.live)

    def flows(self, dpid: int | None = None) -> list[FlowView]:
        """Every flow of this app on ``dpid`` (or on every switch): the base entries each
        switch gets, then each pair's flows, from the plans the runtime installs."""
        core = self._core
        out: list[FlowView] = []
        for d in core.graph.switches():
            if dpid is not None and d != dpid:
                continue
            for msg in [*base_flows(d), *core.meters.entries(d)]:
                purpose = "lldp" if msg.match.eth_type is not None else "table-miss"
                out.append(FlowView(msg, purpose))
        for r in sorted(core.forwarding.pairs.values(), key=lambda r: r.key):
            for flow in pair_flows(r.plan(), core.config):
                if dpid is not None and flow.dpid != dpid:
                    continue
                direction = Direction(flow.cookie & 1)
                if direction not in r.live:
                    continue  # idled out and removed
                hosts = r.key.ends(direction)
                path = tuple(h.dpid for h in r.hops[direction])
                out.append(FlowView(flow, "path", hosts, path, r.installed))
        return out

    # ------------------------------------------------------------------ status
    def counters(self) -> dict[str, int]:
        return self._core.counter_values()

    def model_status(self, now: float | None) -> dict[str, object]:
        return copy.deepcopy(self._core.linkcost.status(now))

    def model_summary(self) -> dict[str, object]:
        """The model's state and live quality, without the per-link list (cheap)."""
        return copy.deepcopy(self._core.linkcost.summary(None))

    def timings(self) -> dict[str, Histogram]:
        """Copies of the latency histograms: flow setup and barrier round trip."""
        fw = self._core.forwarding
        return {
            "flow_setup": copy.deepcopy(fw.setup_seconds),
            "barrier_rtt": copy.deepcopy(fw.barrier_seconds),
        }

    def cache_stats(self) -> dict[str, int]:
        router = self._core.router
        return {"hits": router.cache_hits, "misses": router.cache_misses}

    # ------------------------------------------------------------------ operator commands
    def set_metric(self, metric: str) -> None:
        self._core.set_metric(metric)

    def set_cost_override(self, src: int, dst: int, cost: float | None) -> None:
        self._core.set_cost_override(src, dst, cost)


def _partial(h: Hop | PartialHop) -> PartialHop:
    return PartialHop(h.dpid, h.in_port, h.out_port)
