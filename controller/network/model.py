"""What the network graph is made of: ports, directed link keys, per-link state.

Plain records shared by discovery, routing, link costs and the REST view.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def ends(self) -> tuple[tuple[int, int], tuple[int, int]]:
        return (self.src, self.src_port), (self.dst, self.dst_port)


@dataclass(slots=True)
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
    predicted_latency_ms: float | None = None
    fallback_cost: float | None = None
    """Without a prediction: its cost on the same scale, from its measured delay."""
    features: list[float] | None = None
    features_at: float | None = None
    cost_override: float | None = None


@dataclass(frozen=True)
class TopologyChange:
    """What one update changed: links added and removed (as keys)."""

    added: tuple[LinkKey, ...] = ()
    removed: tuple[LinkKey, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)
