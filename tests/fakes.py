"""Test doubles for the controller core: fake flow tables and a fake network around them.

:class:`FakeFlowTables` applies the plain messages of :mod:`controller.southbound.messages`
(one table per switch) and answers "a packet entering switch S on port P leaves by which
port?". :class:`FakeNetwork` is the :class:`~controller.southbound.transport.Transport` of
a real :class:`~controller.core.ControllerCore`, exactly as the Ryu shell's transport is:
the production forwarding runtime runs its own install sequence and this network only
carries messages and answers barriers. Switches, cables and hosts come from a networkx
graph; real Ethernet/ARP/IPv4/LLDP frames move hop by hop through the fake tables:
misses become packet-ins, packet-outs become frames on the wire.

Everything runs on one FIFO event queue (packet-ins, barrier replies, frames sent by
hosts), so the order in which the controller sees things is the order a real network
would produce. Time only moves when the test says so (``net.now``, ``net.advance``).
"""

from __future__ import annotations

import contextlib
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

import networkx as nx

from controller.config import Config
from controller.core import ControllerCore
from controller.forwarding.runtime import ForwardingRuntime, InstallResult
from controller.network.model import PortInfo
from controller.southbound import frames
from controller.southbound.messages import (
    ETH_TYPE_LLDP,
    OFPP_CONTROLLER,
    OFPP_TABLE,
    PAIR_MASK,
    FlowAdd,
    FlowCounters,
    FlowDelete,
    FlowStatsRequest,
    Match,
    Message,
    MeterFeatures,
    MeterFeaturesRequest,
    MeterSet,
    PacketOut,
    split_cookie,
)

ETH_TYPE_IPV4 = 0x0800
ETH_TYPE_ARP = 0x0806
BROADCAST = "ff:ff:ff:ff:ff:ff"
IP_PROTO_EXPERIMENT = 253  # RFC 3692: for experimentation and testing
OVS_METER_FEATURES = MeterFeatures(
    max_meter=262144, band_types=1 << 1, capabilities=0xF, max_bands=8
)
"""What Open vSwitch 3.1's userspace datapath answers (kbps, pktps, burst, stats; drop)."""
OFPET_BAD_REQUEST, OFPBRC_BAD_MULTIPART = 1, 3
OFPET_METER_MOD_FAILED, OFPMMFC_METER_EXISTS, OFPMMFC_UNKNOWN_METER = 12, 1, 7


class NetworkFault(AssertionError):
    """The fake network saw something a correct controller must never cause."""


class LoopDetected(NetworkFault):
    """A frame passed more switches than the hop limit (a forwarding loop)."""


class PacketStorm(NetworkFault):
    """More events than the event limit in one run (a packet-in / packet-out storm)."""


class AmbiguousFlows(NetworkFault):
    """Two entries of the same (highest) priority match one packet with different actions."""


class NotDelivered(AssertionError):
    """``FakeNetwork.deliver`` did not get the frame to its destination host."""


# ====================================================================== flow tables
@dataclass(frozen=True)
class FlowEntry:
    """One installed flow (what a FlowAdd leaves in a table)."""

    priority: int
    match: Match
    out_port: int
    cookie: int
    idle_timeout: int = 0
    hard_timeout: int = 0
    notify_removal: bool = False
    meter_id: int | None = None

    def matches(self, in_port: int, eth_src: str, eth_dst: str, eth_type: int) -> bool:
        m = self.match
        return (
            (m.in_port is None or m.in_port == in_port)
            and (m.eth_src is None or m.eth_src == eth_src.lower())
            and (m.eth_dst is None or m.eth_dst == eth_dst.lower())
            and (m.eth_type is None or m.eth_type == eth_type)
        )


def _normal_match(m: Match) -> Match:
    """The match with MAC addresses lower-cased (a switch compares the bytes)."""
    return replace(
        m,
        eth_src=m.eth_src.lower() if m.eth_src else None,
        eth_dst=m.eth_dst.lower() if m.eth_dst else None,
    )


class FlowTable:
    """Table 0 of one switch: FlowAdd adds or replaces by (priority, match);
    FlowDelete removes every entry whose cookie matches under the mask (a strict one, with
    a match: only the entry of that priority and match, if its cookie matches)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[int, Match], FlowEntry] = {}

    def apply(self, msg: FlowAdd | FlowDelete) -> None:
        if isinstance(msg, FlowAdd):
            match = _normal_match(msg.match)
            self.entries[(msg.priority, match)] = FlowEntry(
                msg.priority,
                match,
                msg.out_port,
                msg.cookie,
                msg.idle_timeout,
                msg.hard_timeout,
                msg.notify_removal,
                msg.meter_id,
            )
        elif isinstance(msg, FlowDelete):
            mask = msg.cookie_mask
            strict = None if msg.match is None else (msg.priority, _normal_match(msg.match))
            for key, entry in list(self.entries.items()):
                if entry.cookie & mask == msg.cookie & mask and strict in (None, key):
                    del self.entries[key]
        else:  # pragma: no cover - a test bug
            raise TypeError(f"not a flow message: {msg!r}")

    def remove_cookie(self, cookie: int) -> list[FlowEntry]:
        """Remove (as an idle timeout would) the entries with exactly this cookie."""
        gone = [e for e in self.entries.values() if e.cookie == cookie]
        self.entries = {k: e for k, e in self.entries.items() if e.cookie != cookie}
        return gone

    def lookup(
        self, in_port: int, eth_src: str, eth_dst: str, eth_type: int = ETH_TYPE_IPV4
    ) -> int | None:
        """The out port of the highest-priority matching entry; None when nothing matches."""
        entry = self.lookup_entry(in_port, eth_src, eth_dst, eth_type)
        return None if entry is None else entry.out_port

    def lookup_entry(
        self, in_port: int, eth_src: str, eth_dst: str, eth_type: int = ETH_TYPE_IPV4
    ) -> FlowEntry | None:
        """The highest-priority matching entry; None when nothing matches."""
        hits = [e for e in self.entries.values() if e.matches(in_port, eth_src, eth_dst, eth_type)]
        if not hits:
            return None
        top = max(e.priority for e in hits)
        tops = [e for e in hits if e.priority == top]
        outs = {e.out_port for e in tops}
        if len(outs) > 1:
            raise AmbiguousFlows(
                f"priority {top}: {in_port}/{eth_src}->{eth_dst} matches entries "
                f"with outputs {sorted(outs)}"
            )
        return tops[0]

    def flows(self) -> list[FlowEntry]:
        return sorted(self.entries.values(), key=lambda e: (-e.priority, repr(e.match)))

    def stats(self, cookie: int, mask: int) -> list[FlowCounters]:
        """A flow-stats reply's entries: what each matching entry is (no byte counters)."""
        found = [e for e in self.flows() if e.cookie & mask == cookie & mask]
        return [
            FlowCounters(
                e.cookie, 0, 0, e.match, e.out_port, e.priority, e.idle_timeout, e.hard_timeout
            )
            for e in found
        ]

    def __len__(self) -> int:
        return len(self.entries)


class FakeFlowTables:
    """One :class:`FlowTable` per switch (created on first use)."""

    def __init__(self) -> None:
        self.tables: dict[int, FlowTable] = {}

    def table(self, dpid: int) -> FlowTable:
        return self.tables.setdefault(dpid, FlowTable())

    def apply(self, msg: FlowAdd | FlowDelete) -> None:
        self.table(msg.dpid).apply(msg)

    def apply_all(self, msgs: Iterable[Message]) -> None:
        for m in msgs:
            if isinstance(m, FlowAdd | FlowDelete):
                self.apply(m)

    def lookup(
        self,
        dpid: int,
        in_port: int,
        eth_src: str,
        eth_dst: str,
        eth_type: int = ETH_TYPE_IPV4,
    ) -> int | None:
        """Where a packet entering ``dpid`` on ``in_port`` goes: a port, OFPP_CONTROLLER
        (the table-miss entry) or None (no entry matches: dropped)."""
        if dpid not in self.tables:
            return None
        return self.tables[dpid].lookup(in_port, eth_src, eth_dst, eth_type)

    def flows(self, dpid: int | None = None) -> list[tuple[int, FlowEntry]]:
        dpids = sorted(self.tables) if dpid is None else [dpid]
        return [(d, e) for d in dpids if d in self.tables for e in self.tables[d].flows()]

    def with_cookie(self, cookie: int) -> list[tuple[int, FlowEntry]]:
        """Entries with this cookie; for a path cookie, every flow of that host pair
        (any installation, either direction)."""
        if split_cookie(cookie) is None:
            return [(d, e) for d, e in self.flows() if e.cookie == cookie]
        return [(d, e) for d, e in self.flows() if e.cookie & PAIR_MASK == cookie & PAIR_MASK]

    def outputs_on(self, dpid: int, port: int) -> list[FlowEntry]:
        """Entries on ``dpid`` that send packets out of ``port``."""
        return [e for _, e in self.flows(dpid) if e.out_port == port]


# ====================================================================== frames
def eth_fields(data: bytes) -> tuple[str, str, int] | None:
    """(src, dst, ethertype) of a frame, or None when it has no Ethernet header."""
    try:
        f = frames.parse_frame(data)
    except frames.FrameError:
        return None
    return f.src, f.dst, f.ethertype


def ipv4_frame(src_mac: str, dst_mac: str, src_ip: str, dst_ip: str, payload: bytes) -> bytes:
    return frames.ipv4_packet(src_mac, dst_mac, src_ip, dst_ip, IP_PROTO_EXPERIMENT, payload)


def arp_frame(
    opcode: int,
    src_mac: str,
    src_ip: str,
    dst_mac: str,
    dst_ip: str,
    eth_dst: str | None = None,
) -> bytes:
    """An ARP request (to broadcast unless ``eth_dst``) or reply (to ``dst_mac``)."""
    return frames.arp_frame(opcode, src_mac, src_ip, dst_mac, dst_ip, eth_dst)


def parse_arp(data: bytes) -> frames.ArpInfo | None:
    try:
        return frames.parse_frame(data).arp
    except frames.FrameError:
        return None


# ====================================================================== network
@dataclass(frozen=True)
class Received:
    """A frame that reached a host, and the switches it passed on the way."""

    data: bytes
    trace: tuple[int, ...]


@dataclass
class FakeHost:
    name: str
    mac: str
    ip: str
    dpid: int
    port: int
    answers_arp: bool = True
    """Reply to ARP requests for our IP, as a real host's stack does."""
    received: list[Received] = field(default_factory=list)

    def frames(self) -> list[bytes]:
        return [r.data for r in self.received]


@dataclass(frozen=True)
class _Context:
    """The frame whose packet-in caused what is being processed, and its trace so far."""

    data: bytes
    trace: tuple[int, ...]


@dataclass(frozen=True)
class _PacketIn:
    dpid: int
    in_port: int
    data: bytes
    trace: tuple[int, ...]


@dataclass(frozen=True)
class _BarrierReply:
    dpid: int
    xid: int
    ctx: _Context | None


@dataclass(frozen=True)
class _Error:
    dpid: int
    xid: int
    err_type: int = -1
    err_code: int = -1


@dataclass(frozen=True)
class _MeterFeaturesReply:
    dpid: int
    features: MeterFeatures


@dataclass
class FakeMeter:
    """A meter with one pktps drop band, as a token bucket in the network's time."""

    rate_pps: int
    burst: int
    tokens: float
    at: float
    dropped: int = 0

    def admit(self, now: float) -> bool:
        self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate_pps)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self.dropped += 1
        return False


@dataclass(frozen=True)
class _HostSends:
    host: str
    data: bytes


@dataclass(frozen=True)
class _FlowStatsReply:
    dpid: int
    flows: tuple[FlowCounters, ...]


_Event = _PacketIn | _BarrierReply | _Error | _HostSends | _FlowStatsReply | _MeterFeaturesReply


@dataclass(frozen=True)
class StageSent:
    """A stage the runtime sent: messages to one switch, then a barrier request."""

    dpid: int
    xid: int
    messages: tuple[Message, ...]


@dataclass
class Sent:
    """What the controller did while handling one event (before later events ran)."""

    messages: list[Message] = field(default_factory=list)
    installs: int = 0
    """Installations started."""


def host_mac(number: int) -> str:
    return f"00:00:00:00:{number >> 8 & 0xFF:02x}:{number & 0xFF:02x}"


def host_ip(number: int) -> str:
    return f"10.0.{number >> 8 & 0xFF}.{number & 0xFF}"


class RecordingTransport:
    """A transport to nowhere that keeps what was sent (for a core without a network)."""

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send(self, msg: Message, xid: int | None = None) -> bool:
        self.sent.append(msg)
        return True

    def send_barrier(self, dpid: int, xid: int) -> bool:
        return True


class _Wire:
    """The :class:`~controller.southbound.transport.Transport` the core is given."""

    def __init__(self, net: FakeNetwork) -> None:
        self.net = net

    def send(self, msg: Message, xid: int | None = None) -> bool:
        return self.net.transmit(msg, xid)

    def send_barrier(self, dpid: int, xid: int) -> bool:
        return self.net.barrier(dpid, xid)


class FakeNetwork:
    """Switches (graph nodes, int dpids), cables (graph edges) and hosts around a core.

    Port numbering per switch: its hosts first (1, 2, ...), then one port per incident
    edge in sorted edge order, then ``extra_ports`` free ports. An edge attribute
    ``speed_bps`` sets both ends' port speed. A ``nx.MultiGraph`` gives parallel cables.

    ``hosts`` maps host name -> dpid (default: one host ``h<dpid>`` per switch); host
    number i (in mapping order, from 1) gets MAC ``00:00:00:00:00:<i>`` and IP ``10.0.0.<i>``.
    """

    def __init__(
        self,
        graph: nx.Graph,
        hosts: Mapping[str, int] | None = None,
        config: Config | None = None,
        *,
        extra_ports: int = 0,
        start: float = 1000.0,
        nonce: int = 0x5EED,
        hop_limit: int = 64,
        event_limit: int = 20_000,
    ) -> None:
        self.graph = graph
        self.config = config or Config()
        self.tables = FakeFlowTables()
        self.now = start
        self.hop_limit = hop_limit
        self.event_limit = event_limit

        self.ports: dict[int, dict[int, PortInfo]] = {d: {} for d in sorted(graph.nodes)}
        self.wires: dict[tuple[int, int], tuple[int, int]] = {}
        self.hosts: dict[str, FakeHost] = {}
        self.connected: set[int] = set()
        self.lldp_blocked: set[frozenset[tuple[int, int]]] = set()
        """Cables that drop LLDP frames (e.g. through a bridge that filters them)."""
        self.refuse: set[int] = set()
        """Switches that answer every message with an error (to the stage's xid)."""
        self.meter_features: MeterFeatures | None = OVS_METER_FEATURES
        """What every switch answers to METER_FEATURES (None: it has no meters at all)."""
        self.meters: dict[int, dict[int, FakeMeter]] = {}
        """Each switch's meters (kept across reconnects and controller restarts)."""

        # What happened, for assertions.
        self.sent: list[Message] = []
        """Every message the controller sent to a connected switch, in order."""
        self.stages_sent: list[StageSent] = []
        self.packet_ins: list[tuple[int, int, bytes]] = []
        self.drops: list[tuple[int, int, str]] = []

        self.auto_barrier = True
        """False: barrier replies wait in ``pending_barriers`` until ``release_barriers``."""
        self.pending_barriers: list[_BarrierReply] = []
        self._queue: deque[_Event] = deque()
        self._draining = False
        self._payloads = itertools.count(1)
        self._ctx: _Context | None = None
        self._stage_messages: dict[tuple[int, int], list[Message]] = {}
        self.core = ControllerCore(self.config, _Wire(self), nonce=nonce)

        if hosts is None:
            hosts = {f"h{d}": d for d in sorted(graph.nodes)}
        for number, (name, dpid) in enumerate(hosts.items(), start=1):
            port = self._new_port(dpid)
            self.hosts[name] = FakeHost(name, host_mac(number), host_ip(number), dpid, port)
        edges = sorted(graph.edges(data=True), key=lambda e: (min(e[0], e[1]), max(e[0], e[1])))
        for u, v, data in edges:
            speed = int(data.get("speed_bps", 0))
            pu, pv = self._new_port(u, speed), self._new_port(v, speed)
            self.wires[(u, pu)] = (v, pv)
            self.wires[(v, pv)] = (u, pu)
        for dpid in self.ports:
            for _ in range(extra_ports):
                self._new_port(dpid)

    def _new_port(self, dpid: int, speed_bps: int = 0) -> int:
        port_no = len(self.ports[dpid]) + 1
        self.ports[dpid][port_no] = PortInfo(
            port_no,
            name=f"s{dpid}-eth{port_no}",
            hw_addr=f"0a:00:00:00:{dpid & 0xFF:02x}:{port_no:02x}",
            speed_bps=speed_bps,
        )
        return port_no

    # ------------------------------------------------------------------ lookups
    def host(self, name: str) -> FakeHost:
        return self.hosts[name]

    def port_info(self, dpid: int, port_no: int) -> PortInfo:
        """A fresh copy (the core keeps and mutates what it is given)."""
        p = self.ports[dpid][port_no]
        return PortInfo(p.port_no, p.name, p.hw_addr, p.up, p.speed_bps)

    def port_infos(self, dpid: int) -> list[PortInfo]:
        return [self.port_info(dpid, n) for n in sorted(self.ports[dpid])]

    def link_port(self, a: int, b: int) -> int:
        """The (lowest) port on switch ``a`` cabled to switch ``b``."""
        for (d, p), (nd, _) in sorted(self.wires.items()):
            if d == a and nd == b:
                return p
        raise KeyError(f"no cable between {a} and {b}")

    def link_ports(self) -> set[tuple[int, int]]:
        return set(self.wires)

    def host_at(self, dpid: int, port: int) -> FakeHost | None:
        for h in self.hosts.values():
            if (h.dpid, h.port) == (dpid, port):
                return h
        return None

    def free_ports(self, dpid: int) -> list[int]:
        used = {(h.dpid, h.port) for h in self.hosts.values()} | set(self.wires)
        return [p for p in sorted(self.ports[dpid]) if (dpid, p) not in used]

    # ------------------------------------------------------------------ switches and time
    @property
    def counters(self) -> SimpleNamespace:
        """Every counter of the core (health view), as attributes."""
        return SimpleNamespace(**self.core.counter_values())

    @property
    def runtime(self) -> ForwardingRuntime:
        return self.core.forwarding

    @property
    def results(self) -> list[InstallResult]:
        """Every installation outcome so far (the runtime keeps the latest)."""
        return list(self.core.forwarding.results)

    def connect(self, dpid: int) -> Sent:
        """The switch (re)connects: the core resets it and probes its ports."""
        self.connected.add(dpid)
        ports = self.port_infos(dpid)
        return self.call(lambda: self.core.on_switch_up(dpid, ports, self.now))

    def disconnect(self, dpid: int) -> Sent:
        """The control channel dropped (the switch keeps its flows, as OVS fail-secure does)."""
        self.connected.discard(dpid)
        return self.call(lambda: self.core.on_switch_down(dpid, self.now))

    def start(self) -> None:
        for dpid in sorted(self.ports):
            if dpid not in self.connected:
                self.connect(dpid)

    def restart_controller(self, nonce: int | None = None) -> ControllerCore:
        """The controller process is replaced by a new one that knows nothing (``nonce``:
        the new process's, by default another one). The switches lose their connections
        but keep their flow tables (OVS fail-secure); ``connect``/``start`` reconnects."""
        self.connected.clear()
        self._queue.clear()
        self.pending_barriers.clear()
        self._stage_messages.clear()
        nonce = self.core.nonce + 1 if nonce is None else nonce
        self.core = ControllerCore(self.config, _Wire(self), nonce=nonce)
        return self.core

    def lldp_round(self) -> None:
        self.call(lambda: self.core.lldp_round(self.now))

    def housekeeping(self) -> None:
        self.call(lambda: self.core.tick(self.now))

    def advance(self, seconds: float, lldp: bool = True) -> None:
        """Let time pass in LLDP-interval steps: probes (unless ``lldp=False``), expiry."""
        step = self.config.lldp_interval
        end = self.now + seconds
        while self.now < end:
            self.now = min(self.now + step, end)
            if lldp:
                self.lldp_round()
            self.housekeeping()

    def discover(self) -> None:
        """Connect every switch, run LLDP and wait out the access-port quiet period."""
        self.start()
        self.lldp_round()
        self.advance(3 * self.config.lldp_interval)

    # ------------------------------------------------------------------ events on the wire
    def set_port(self, dpid: int, port_no: int, up: bool) -> Sent:
        """The port changes state; a connected switch reports it (port status)."""
        self.ports[dpid][port_no].up = up
        if dpid not in self.connected:
            return Sent()
        port = self.port_info(dpid, port_no)
        return self.call(lambda: self.core.on_port_status(dpid, port, self.now))

    def link_down(self, a: int, b: int) -> None:
        """The cable between ``a`` and ``b`` fails: both ends go down."""
        pa = self.link_port(a, b)
        nb, pb = self.wires[(a, pa)]
        self.set_port(a, pa, up=False)
        self.set_port(nb, pb, up=False)

    def link_up(self, a: int, b: int) -> None:
        pa = self.link_port(a, b)
        nb, pb = self.wires[(a, pa)]
        self.set_port(a, pa, up=True)
        self.set_port(nb, pb, up=True)

    def block_lldp(self, a: int, b: int) -> None:
        """The cable between ``a`` and ``b`` carries everything but LLDP."""
        pa = self.link_port(a, b)
        self.lldp_blocked.add(frozenset({(a, pa), self.wires[(a, pa)]}))

    def move_host(
        self, name: str, dpid: int, port: int | None = None, unplug: bool = True
    ) -> FakeHost:
        """Re-attach a host to a free port (the first free one of ``dpid`` by default).
        ``unplug``: its old port goes down (the switch reports it), as when a cable is
        pulled; otherwise the old port stays up (the host just left it)."""
        free = self.free_ports(dpid)
        if port is None:
            port = free[0]
        if port not in free:
            raise ValueError(f"port {dpid}/{port} is not free")
        h = self.hosts[name]
        old = (h.dpid, h.port)
        h.dpid, h.port = dpid, port
        if unplug:
            self.set_port(*old, up=False)
        return h

    def idle_timeout(self, dpid: int, cookie: int) -> Sent:
        """The switch's flows with ``cookie`` idle out and it reports the removal."""
        gone = self.tables.table(dpid).remove_cookie(cookie)
        if not any(e.notify_removal for e in gone):
            return Sent()
        return self.call(lambda: self.core.on_flow_removed(dpid, cookie, timed_out=True))

    def packet_in(self, dpid: int, in_port: int, data: bytes) -> Sent:
        """Hand the core a packet-in directly (bypassing the tables); what it sent."""
        self.packet_ins.append((dpid, in_port, data))
        return self.call(
            lambda: self.core.on_packet_in(dpid, in_port, data, self.now),
            _Context(data, (dpid,)),
        )

    def inject(self, dpid: int, in_port: int, data: bytes) -> None:
        """A frame arrives on a switch port from outside (e.g. a device we do not model)."""
        self._forward(dpid, in_port, data, ())
        self._drain()

    def send(self, name: str, data: bytes) -> None:
        """Host ``name`` puts a frame on its cable."""
        self._queue.append(_HostSends(name, data))
        self._drain()

    def release_barriers(self, count: int | None = None) -> None:
        """Answer pending barrier requests (all, until none is left, or just ``count``)."""
        n = 0
        while self.pending_barriers and (count is None or n < count):
            self._queue.append(self.pending_barriers.pop(0))
            n += 1
            self._drain()

    # ------------------------------------------------------------------ host traffic
    def ipv4(self, src: str, dst: str, payload: bytes | None = None) -> bytes:
        s, d = self.hosts[src], self.hosts[dst]
        if payload is None:
            payload = b"probe-%d" % next(self._payloads)
        return ipv4_frame(s.mac, d.mac, s.ip, d.ip, payload)

    def arp_request(self, src: str, target_ip: str) -> bytes:
        s = self.hosts[src]
        return arp_frame(frames.ARP_REQUEST, s.mac, s.ip, "00:00:00:00:00:00", target_ip)

    def announce(self, name: str) -> None:
        """Gratuitous ARP: the controller learns the host (and floods it)."""
        h = self.hosts[name]
        self.send(name, arp_frame(frames.ARP_REQUEST, h.mac, h.ip, "00:00:00:00:00:00", h.ip))

    def announce_all(self) -> None:
        for name in self.hosts:
            self.announce(name)

    def deliver(self, src: str, dst: str, data: bytes | None = None) -> list[int]:
        """Send an IPv4 frame from ``src`` to ``dst``; the switches its copy passed on the
        way to ``dst`` (raises NotDelivered when none arrived)."""
        if data is None:
            data = self.ipv4(src, dst)
        target = self.hosts[dst]
        before = len(target.received)
        self.send(src, data)
        for r in target.received[before:]:
            if r.data == data:
                return list(r.trace)
        raise NotDelivered(
            f"{src} -> {dst}: not delivered; drops {self.drops[-3:]}, "
            f"packet-ins {len(self.packet_ins)}"
        )

    def walk(self, src: str, dst: str) -> list[int]:
        """Follow the installed flows only (no controller): the switches a frame from
        ``src`` to ``dst`` passes; raises NotDelivered on a miss or a wrong exit."""
        s = self.hosts[src]
        return self.walk_from(src, dst, s.dpid, s.port)

    def walk_from(self, src: str, dst: str, dpid: int, in_port: int) -> list[int]:
        """``walk`` for a frame already in flight: it enters ``dpid`` on ``in_port``."""
        s, d = self.hosts[src], self.hosts[dst]
        trace: list[int] = []
        while True:
            trace.append(dpid)
            if len(trace) > self.hop_limit:
                raise LoopDetected(f"{src} -> {dst}: {trace}")
            out = self.tables.lookup(dpid, in_port, s.mac, d.mac)
            if out is None or out == OFPP_CONTROLLER:
                raise NotDelivered(f"{src} -> {dst}: {'miss' if out else 'drop'} at {trace}")
            if (dpid, out) in self.wires:
                dpid, in_port = self.wires[(dpid, out)]
                continue
            if (dpid, out) != (d.dpid, d.port):
                raise NotDelivered(f"{src} -> {dst}: left {dpid}/{out}, not {dst}'s port")
            return trace

    # ------------------------------------------------------------------ the transport
    def transmit(self, msg: Message, xid: int | None = None) -> bool:
        """Transport: carry one message to its switch (False when not connected)."""
        if msg.dpid not in self.connected:
            self.drops.append((msg.dpid, 0, f"not connected: {type(msg).__name__}"))
            return False
        self.sent.append(msg)
        if xid is not None:
            self._stage_messages.setdefault((msg.dpid, xid), []).append(msg)
        if isinstance(msg, FlowAdd | FlowDelete):
            if msg.dpid in self.refuse and xid is not None:
                self._queue.append(_Error(msg.dpid, xid))
                return True
            meter = msg.meter_id if isinstance(msg, FlowAdd) else None
            if meter is not None and meter not in self.meters.get(msg.dpid, {}):
                unknown = _Error(msg.dpid, xid or 0, OFPET_METER_MOD_FAILED, OFPMMFC_UNKNOWN_METER)
                self._queue.append(unknown)
                return True
            self.tables.apply(msg)
        elif isinstance(msg, MeterFeaturesRequest):
            if self.meter_features is None:
                self._queue.append(_Error(msg.dpid, 0, OFPET_BAD_REQUEST, OFPBRC_BAD_MULTIPART))
            else:
                self._queue.append(_MeterFeaturesReply(msg.dpid, self.meter_features))
        elif isinstance(msg, MeterSet):
            self._set_meter(msg)
        elif isinstance(msg, PacketOut):
            self._packet_out(msg, self._ctx)
        elif isinstance(msg, FlowStatsRequest):  # answered in turn, like a barrier
            flows = self.tables.table(msg.dpid).stats(msg.cookie, msg.cookie_mask)
            self._queue.append(_FlowStatsReply(msg.dpid, tuple(flows)))
        return True

    def _set_meter(self, msg: MeterSet) -> None:
        meters = self.meters.setdefault(msg.dpid, {})
        if msg.modify != (msg.meter_id in meters):
            code = OFPMMFC_UNKNOWN_METER if msg.modify else OFPMMFC_METER_EXISTS
            self._queue.append(_Error(msg.dpid, 0, OFPET_METER_MOD_FAILED, code))
            return
        meters[msg.meter_id] = FakeMeter(msg.rate_pps, msg.burst, float(msg.burst), self.now)

    def barrier(self, dpid: int, xid: int) -> bool:
        """Transport: a barrier request; its reply comes back as a later event."""
        if dpid not in self.connected:
            return False
        msgs = tuple(self._stage_messages.pop((dpid, xid), []))
        self.stages_sent.append(StageSent(dpid, xid, msgs))
        reply = _BarrierReply(dpid, xid, self._ctx)
        if self.auto_barrier:
            self._queue.append(reply)
        else:
            self.pending_barriers.append(reply)
        return True

    # ------------------------------------------------------------------ the machinery
    def call(self, handler: Callable[[], None], ctx: _Context | None = None) -> Sent:
        """Run one core entry point (as the Ryu shell does for one event); returns what it
        sent itself, then lets the network carry everything that follows."""
        mark, started = len(self.sent), self.core.forwarding.counters.installs_started
        with self._context(ctx):
            handler()
        sent = Sent(self.sent[mark:], self.core.forwarding.counters.installs_started - started)
        self._drain()
        return sent

    def _packet_out(self, msg: PacketOut, ctx: _Context | None) -> None:
        trace: tuple[int, ...] = ()
        if ctx is not None and ctx.data == msg.data:  # the same frame, continuing its way
            trace = ctx.trace[:-1] if ctx.trace[-1:] == (msg.dpid,) else ctx.trace
        for port in msg.out_ports:
            if port == OFPP_TABLE:
                self._forward(msg.dpid, msg.in_port, msg.data, trace)
            else:
                nxt = self._emit(msg.dpid, port, msg.data, (*trace, msg.dpid))
                if nxt is not None:
                    self._forward(nxt[0], nxt[1], msg.data, (*trace, msg.dpid))

    def _forward(self, dpid: int, in_port: int, data: bytes, trace: tuple[int, ...]) -> None:
        """A frame enters ``dpid`` on ``in_port``: follow the tables until it leaves."""
        fields = eth_fields(data)
        while True:
            trace = (*trace, dpid)
            if len(trace) > self.hop_limit:
                raise LoopDetected(f"frame passed {len(trace)} switches: {trace}")
            if fields is None:
                self.drops.append((dpid, in_port, "not ethernet"))
                return
            entry = self.tables.table(dpid).lookup_entry(in_port, *fields)
            if entry is None:
                self.drops.append((dpid, in_port, "no matching flow"))
                return
            out = entry.out_port
            if entry.meter_id is not None:
                meter = self.meters.get(dpid, {}).get(entry.meter_id)
                if meter is not None and not meter.admit(self.now):
                    self.drops.append((dpid, in_port, "meter"))
                    return
            if out == OFPP_CONTROLLER:
                if dpid in self.connected:
                    self._queue.append(_PacketIn(dpid, in_port, data, trace))
                else:
                    self.drops.append((dpid, in_port, "miss, switch not connected"))
                return
            if out == in_port:  # OpenFlow drops output to the in_port unless OFPP_IN_PORT
                self.drops.append((dpid, in_port, "output to in_port"))
                return
            nxt = self._emit(dpid, out, data, trace)
            if nxt is None:
                return
            dpid, in_port = nxt

    def _emit(
        self, dpid: int, port: int, data: bytes, trace: tuple[int, ...]
    ) -> tuple[int, int] | None:
        """The frame leaves ``dpid`` by ``port``: the next (switch, in_port), or None when
        it reached a host (or was lost)."""
        if port not in self.ports[dpid] or not self.ports[dpid][port].up:
            self.drops.append((dpid, port, "port down or missing"))
            return None
        if (dpid, port) in self.wires:
            nd, np_ = self.wires[(dpid, port)]
            if not self.ports[nd][np_].up:
                self.drops.append((dpid, port, "far end down"))
                return None
            if frozenset({(dpid, port), (nd, np_)}) in self.lldp_blocked:
                fields = eth_fields(data)
                if fields is not None and fields[2] == ETH_TYPE_LLDP:
                    self.drops.append((dpid, port, "LLDP blocked"))
                    return None
            return nd, np_
        h = self.host_at(dpid, port)
        if h is None:
            self.drops.append((dpid, port, "nothing attached"))
            return None
        h.received.append(Received(data, trace))
        self._host_reacts(h, data)
        return None

    def _host_reacts(self, h: FakeHost, data: bytes) -> None:
        req = parse_arp(data)
        if h.answers_arp and req is not None and req.opcode == frames.ARP_REQUEST:
            if req.target_ip == h.ip and req.sender_ip != h.ip:
                reply = arp_frame(frames.ARP_REPLY, h.mac, h.ip, req.sender_mac, req.sender_ip)
                self._queue.append(_HostSends(h.name, reply))

    @contextlib.contextmanager
    def _context(self, ctx: _Context | None) -> Iterator[None]:
        """Packet-outs sent meanwhile continue the trace of the frame that caused them."""
        outer, self._ctx = self._ctx, ctx
        try:
            yield
        finally:
            self._ctx = outer

    def _drain(self) -> None:
        if self._draining:
            return
        self._draining = True
        try:
            for _ in range(self.event_limit):
                if not self._queue:
                    return
                ev = self._queue.popleft()
                if isinstance(ev, _PacketIn):
                    self.packet_ins.append((ev.dpid, ev.in_port, ev.data))
                    with self._context(_Context(ev.data, ev.trace)):
                        self.core.on_packet_in(ev.dpid, ev.in_port, ev.data, self.now)
                elif isinstance(ev, _BarrierReply):
                    with self._context(ev.ctx):
                        self.core.on_barrier_reply(ev.dpid, ev.xid, self.now)
                elif isinstance(ev, _Error):
                    detail = f"error type={ev.err_type} code={ev.err_code}"
                    self.core.on_error(ev.dpid, ev.xid, detail, ev.err_type, ev.err_code)
                elif isinstance(ev, _MeterFeaturesReply):
                    if ev.dpid in self.connected:
                        self.core.on_meter_features(ev.dpid, [ev.features])
                elif isinstance(ev, _FlowStatsReply):
                    if ev.dpid in self.connected:
                        self.core.on_flow_stats(ev.dpid, list(ev.flows), self.now)
                else:
                    h = self.hosts[ev.host]
                    if self.ports[h.dpid][h.port].up:
                        self._forward(h.dpid, h.port, ev.data, ())
                    else:
                        self.drops.append((h.dpid, h.port, "host port down"))
            raise PacketStorm(f"more than {self.event_limit} events in one run")
        finally:
            self._draining = False
