"""Plain descriptions of the OpenFlow messages the core wants sent.

The core plans these without a live datapath; ``controller.southbound.ofp`` turns them into Ryu
messages and the app shell sends them. Tests apply them to a fake flow table.
"""

from __future__ import annotations

from dataclasses import dataclass

COOKIE_APP = 0x5D << 56
"""High byte of every cookie this app uses; the rest identifies what a flow serves."""
COOKIE_APP_MASK = 0xFF << 56
COOKIE_BASE = COOKIE_APP  # table-miss and LLDP-to-controller entries
COOKIE_PORT_MISS = COOKIE_APP | 1  # per-port metered table-miss entries (pair id 0)
# Path flows: app byte | pair id (40 bits) << 16 | install generation (15 bits) << 1 | direction.
PAIR_SHIFT = 16
PAIR_BITS = (1 << 40) - 1
GEN_MASK = 0x7FFF
PAIR_MASK = COOKIE_APP_MASK | (PAIR_BITS << PAIR_SHIFT)  # every flow of one pair
DIRECTION_MASK = PAIR_MASK | 1  # every flow of one direction of one pair


def path_cookie(pair_id: int, generation: int, direction: int) -> int:
    """Cookie of a path flow: which pair, which installation, which direction (0: a->b)."""
    return (
        COOKIE_APP
        | ((pair_id & PAIR_BITS) << PAIR_SHIFT)
        | ((generation & GEN_MASK) << 1)
        | (direction & 1)
    )


def split_cookie(cookie: int) -> tuple[int, int, int] | None:
    """(pair id, generation, direction) of one of our path flows, else None."""
    if cookie & COOKIE_APP_MASK != COOKIE_APP:
        return None
    pair_id = (cookie >> PAIR_SHIFT) & PAIR_BITS
    if pair_id == 0:
        return None
    return pair_id, (cookie >> 1) & GEN_MASK, cookie & 1


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
    meter_id: int | None = None
    """Packets go through this meter first (an OpenFlow 1.3 meter instruction)."""


@dataclass(frozen=True)
class FlowDelete:
    """Delete this app's flows whose cookie matches (under the mask); with ``match``, only
    the one entry of exactly that match and ``priority`` (a strict delete), and only while
    its cookie still matches."""

    dpid: int
    cookie: int
    cookie_mask: int = FULL_MASK
    match: Match | None = None
    priority: int = 0


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


@dataclass(frozen=True)
class EchoRequest:
    """An OpenFlow echo request carrying ``data`` (our send timestamp)."""

    dpid: int
    data: bytes


@dataclass(frozen=True)
class PortCounters:
    """Cumulative counters of one port, as a switch's port-stats reply gives them."""

    port_no: int
    tx_bytes: int
    rx_bytes: int
    tx_packets: int
    rx_packets: int
    tx_dropped: int = 0
    rx_dropped: int = 0
    tx_errors: int = 0
    rx_errors: int = 0


@dataclass(frozen=True)
class FlowStatsRequest:
    """Ask ``dpid`` for the counters of this app's flows whose cookie matches."""

    dpid: int
    cookie: int
    cookie_mask: int


@dataclass(frozen=True)
class FlowCounters:
    """One entry of a flow-stats reply: which flow (by cookie), how much it carried, and
    (read from a switch's reply) what it is: what a restarted controller adopts from."""

    cookie: int
    byte_count: int
    packet_count: int
    match: Match | None = None
    """Its match; None when not read, or when it matches on fields :class:`Match` lacks."""
    out_port: int | None = None
    """Its one output port; None when not read, or when it does anything else."""
    priority: int = 0
    idle_timeout: int = 0
    hard_timeout: int = 0


@dataclass(frozen=True)
class MeterFeaturesRequest:
    """Ask ``dpid`` what meters it has (a METER_FEATURES multipart request)."""

    dpid: int


@dataclass(frozen=True)
class MeterFeatures:
    """A switch's METER_FEATURES reply (OpenFlow 1.3.5 section 7.3.5.13)."""

    max_meter: int
    band_types: int
    """Bitmap of band types (1 << OFPMBT_DROP, ...)."""
    capabilities: int
    """Bitmap of meter flags (OFPMF_PKTPS, OFPMF_BURST, ...)."""
    max_bands: int


@dataclass(frozen=True)
class MeterSet:
    """Add (``modify=False``) or change meter ``meter_id``: one drop band at ``rate_pps``
    packets per second with a burst of ``burst`` packets."""

    dpid: int
    meter_id: int
    rate_pps: int
    burst: int
    modify: bool = False


Message = (
    FlowStatsRequest
    | FlowAdd
    | FlowDelete
    | PacketOut
    | PortStatsRequest
    | EchoRequest
    | MeterFeaturesRequest
    | MeterSet
)


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
