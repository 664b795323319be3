"""Plain descriptions of the OpenFlow messages the core wants sent.

The core plans these without a live datapath; ``controller.ofp`` turns them into Ryu
messages and the app shell sends them. Tests apply them to a fake flow table.
"""

from __future__ import annotations

from dataclasses import dataclass

COOKIE_APP = 0x5D << 56
"""High byte of every cookie this app uses; the rest identifies what a flow serves."""
COOKIE_APP_MASK = 0xFF << 56
COOKIE_BASE = COOKIE_APP  # table-miss and LLDP-to-controller entries
FULL_MASK = 0xFFFF_FFFF_FFFF_FFFF

OFPP_CONTROLLER = 0xFFFFFFFD
OFPP_TABLE = 0xFFFFFFF9
ETH_TYPE_LLDP = 0x88CC


@dataclass(frozen=True)
class Match:
    """The fields we match on (None: wildcard)."""

    in_port: int | None = None
    eth_src: str | None = None
    eth_dst: str | None = None
    eth_type: int | None = None


@dataclass(frozen=True)
class FlowAdd:
    dpid: int
    match: Match
    out_port: int
    """A port number, or OFPP_CONTROLLER."""
    priority: int
    cookie: int
    idle_timeout: int = 0
    hard_timeout: int = 0
    notify_removal: bool = False


@dataclass(frozen=True)
class FlowDelete:
    """Delete this app's flows whose cookie matches (under the mask)."""

    dpid: int
    cookie: int
    cookie_mask: int = FULL_MASK


@dataclass(frozen=True)
class PacketOut:
    dpid: int
    in_port: int
    out_ports: tuple[int, ...]
    """Ports to send to; (OFPP_TABLE,) runs the packet through the flow table."""
    data: bytes


@dataclass(frozen=True)
class PortStatsRequest:
    dpid: int


Message = FlowAdd | FlowDelete | PacketOut | PortStatsRequest


@dataclass(frozen=True)
class Stage:
    """Messages for one switch, confirmed by a barrier before the next stage is sent."""

    dpid: int
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class InstallJob:
    """Stages sent one after another (each waits for the previous switch's barrier reply),
    then ``release`` (packets held while the path was installed)."""

    name: str
    stages: tuple[Stage, ...]
    release: tuple[Message, ...] = ()
