"""Many emulated OpenFlow 1.3 switches in one asyncio process, for controller benchmarks.

    python -m testbed.ofemu --controller 127.0.0.1:6653 --topo fattree,4 --hosts 1 \\
        --mode discover --rest http://127.0.0.1:8080 --duration 60
    python -m testbed.ofemu --controller 127.0.0.1:6653 --topo tree,3,2 --hosts 4 \\
        --mode flowsetup --pairs 1000 --window 16 --rest http://127.0.0.1:8080 --duration 60
    python -m testbed.ofemu --mode ceiling --topo tree,3,2 --hosts 4 --pairs 5000

Each switch is one TCP connection to the controller (loopback only) speaking OpenFlow
1.3 with hand-written ``struct`` code: handshake (HELLO, FEATURES, port descriptions),
echo, barrier, port statistics (synthetic counters: a per-port base rate growing with
time, plus what the emulated data plane carried), SET/GET_CONFIG and role requests.
Every switch keeps a single flow table (match ``in_port``/``eth_src``/``eth_dst``/
``eth_type``; FlowMod add/modify/delete, by cookie and mask; output actions), and the
switches form a data plane over the emulated topology (a ``topologies.spec`` topology
with the dpids, hosts, addresses and port numbers Mininet would give it, or H hosts per
switch instead; or any networkx graph, one switch per node): a PacketOut or a flow's
output to a link port enters the peer switch's table; a table-miss or controller action
becomes a PACKET_IN; a host port delivers to the emulated host. So LLDP probes sent out
of a link port come back as a PACKET_IN from the peer, flooding works, and a released
packet really walks the installed path (or does not).

What the flow-setup benchmark measures (the same for every controller app):

* Before timing: every switch has a table-miss entry; each host has sent one ARP request
  (the first host's is broadcast, the others ask for the first host's address) and the
  controller has learned it (GET /v1/hosts when ``rest_url`` is given, else no
  controller traffic for ``quiet`` seconds).
* A *setup* is one IPv4/UDP packet of a new host pair (unordered pairs are never reused;
  hosts on different switches) injected at the sender's host port. It misses the
  ingress table, so the switch sends a PACKET_IN (timestamp t0).
* The setup is *complete* at the first of (t1): the ingress switch receives a FlowMod
  whose match covers the packet and whose actions output it (not to the controller), or
  a PacketOut carrying exactly this packet. For our app the ingress FlowMod is the
  *last* stage of the egress-first, barrier-confirmed path installation, so t1 - t0
  covers the whole path; for ``simple_switch_13`` it is one switch's decision.
* Also reported: ``delivered`` latency (t2 - t0), when the packet reaches the
  destination host port through the emulated tables: end to end for both apps
  (hop-by-hop packet-ins for a learning switch, one installation for ours).
* Closed loop: at most ``window`` setups in flight; ``setups_per_s`` is completions over
  the time from the first PACKET_IN to the last completion. Bounded by pair count and
  ``timeout``.

Limitations: one table (GOTO_TABLE ignored), no buffering (buffer_id is always
NO_BUFFER, PACKET_IN data is never truncated), no idle/hard timeouts or FLOW_REMOVED,
matches on other fields never match, no groups or meters (METER_FEATURES answers
max_meter 0), no port-status changes.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import json
import operator
import os
import random
import signal
import struct
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import networkx as nx

from topologies import spec as topology_spec
from topologies.spec import TopologySpec

ROOT = Path(__file__).resolve().parent.parent

# ============================================================================ protocol
OFP_VERSION = 0x04
OFPT_HELLO = 0
OFPT_ERROR = 1
OFPT_ECHO_REQUEST = 2
OFPT_ECHO_REPLY = 3
OFPT_FEATURES_REQUEST = 5
OFPT_FEATURES_REPLY = 6
OFPT_GET_CONFIG_REQUEST = 7
OFPT_GET_CONFIG_REPLY = 8
OFPT_SET_CONFIG = 9
OFPT_PACKET_IN = 10
OFPT_PACKET_OUT = 13
OFPT_FLOW_MOD = 14
OFPT_MULTIPART_REQUEST = 18
OFPT_MULTIPART_REPLY = 19
OFPT_BARRIER_REQUEST = 20
OFPT_BARRIER_REPLY = 21
OFPT_ROLE_REQUEST = 24
OFPT_ROLE_REPLY = 25
OFPT_GET_ASYNC_REQUEST = 26
OFPT_GET_ASYNC_REPLY = 27

OFPMP_DESC = 0
OFPMP_PORT_STATS = 4
OFPMP_PORT_DESC = 13
OFPMP_METER_FEATURES = 11
OFPMPF_REPLY_MORE = 1

OFPP_MAX = 0xFFFFFF00
OFPP_IN_PORT = 0xFFFFFFF8
OFPP_TABLE = 0xFFFFFFF9
OFPP_NORMAL = 0xFFFFFFFA
OFPP_FLOOD = 0xFFFFFFFB
OFPP_ALL = 0xFFFFFFFC
OFPP_CONTROLLER = 0xFFFFFFFD
OFPP_LOCAL = 0xFFFFFFFE
OFPP_ANY = 0xFFFFFFFF
OFP_NO_BUFFER = 0xFFFFFFFF
OFPCML_NO_BUFFER = 0xFFFF

OFPR_NO_MATCH = 0
OFPR_ACTION = 1

OFPFC_ADD = 0
OFPFC_MODIFY = 1
OFPFC_MODIFY_STRICT = 2
OFPFC_DELETE = 3
OFPFC_DELETE_STRICT = 4

OFPIT_WRITE_ACTIONS = 3
OFPIT_APPLY_ACTIONS = 4
OFPAT_OUTPUT = 0
OFPMT_OXM = 1
OFPPS_LIVE = 4
OFPPF_1GB_FD = 1 << 5
OFPPF_COPPER = 1 << 11

OXM_IN_PORT = 0x80000004
OXM_ETH_DST = 0x80000606
OXM_ETH_SRC = 0x80000806
OXM_ETH_TYPE = 0x80000A02

ETH_TYPE_IPV4 = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_LLDP = 0x88CC
BROADCAST = b"\xff" * 6

HEADER = struct.Struct("!BBHI")
FEATURES = struct.Struct("!QIBB2xII")
MULTIPART = struct.Struct("!HH4x")
PORT_DESC = struct.Struct("!I4x6s2x16sIIIIIIII")
PORT_STATS = struct.Struct("!I4x12QII")
FLOW_MOD = struct.Struct("!QQBBHHHIIIH2x")
PACKET_OUT = struct.Struct("!IIH6x")
PACKET_IN = struct.Struct("!IHBBQ")
ACTION_OUTPUT = struct.Struct("!HHIH6x")
INSTRUCTION = struct.Struct("!HH4x")
TLV = struct.Struct("!HH")
MAX_HOPS = 64
"""A frame crossing more switches than this in the data plane is dropped (a loop)."""


class Match(NamedTuple):
    """The fields the emulated table understands (None: wildcard).

    ``other`` holds the raw OXM TLVs of any other field (or a masked one): such a flow is
    kept and can be deleted, but never matches a packet.
    """

    in_port: int | None = None
    eth_dst: bytes | None = None
    eth_src: bytes | None = None
    eth_type: int | None = None
    other: bytes = b""

    def covers(self, in_port: int, eth_dst: bytes, eth_src: bytes, eth_type: int) -> bool:
        """Does a packet with these header fields match?"""
        return (
            not self.other
            and (self.in_port is None or self.in_port == in_port)
            and (self.eth_dst is None or self.eth_dst == eth_dst)
            and (self.eth_src is None or self.eth_src == eth_src)
            and (self.eth_type is None or self.eth_type == eth_type)
        )

    def within(self, pattern: Match) -> bool:
        """Is this match at least as specific as ``pattern`` (non-strict delete/modify)?"""
        return (
            (pattern.in_port is None or pattern.in_port == self.in_port)
            and (pattern.eth_dst is None or pattern.eth_dst == self.eth_dst)
            and (pattern.eth_src is None or pattern.eth_src == self.eth_src)
            and (pattern.eth_type is None or pattern.eth_type == self.eth_type)
            and (not pattern.other or pattern.other == self.other)
        )


EMPTY_MATCH = Match()


class FlowMod(NamedTuple):
    xid: int
    cookie: int
    cookie_mask: int
    table_id: int
    command: int
    idle_timeout: int
    hard_timeout: int
    priority: int
    buffer_id: int
    out_port: int
    out_group: int
    flags: int
    match: Match
    outputs: tuple[int, ...]
    """Output ports of the apply/write actions; other actions are ignored."""
    max_lens: tuple[int, ...] = ()


class PacketOut(NamedTuple):
    xid: int
    buffer_id: int
    in_port: int
    outputs: tuple[int, ...]
    data: bytes


class PacketIn(NamedTuple):
    xid: int
    buffer_id: int
    total_len: int
    reason: int
    table_id: int
    cookie: int
    match: Match
    data: bytes


def header(msg_type: int, length: int, xid: int) -> bytes:
    return HEADER.pack(OFP_VERSION, msg_type, length, xid)


def message(msg_type: int, xid: int, body: bytes = b"") -> bytes:
    return HEADER.pack(OFP_VERSION, msg_type, 8 + len(body), xid) + body


def _pad8(n: int) -> int:
    return (n + 7) // 8 * 8


def encode_match(m: Match) -> bytes:
    """An OXM ``ofp_match`` (padded to 8 bytes)."""
    tlvs = b""
    if m.in_port is not None:
        tlvs += struct.pack("!II", OXM_IN_PORT, m.in_port)
    if m.eth_dst is not None:
        tlvs += struct.pack("!I6s", OXM_ETH_DST, m.eth_dst)
    if m.eth_src is not None:
        tlvs += struct.pack("!I6s", OXM_ETH_SRC, m.eth_src)
    if m.eth_type is not None:
        tlvs += struct.pack("!IH", OXM_ETH_TYPE, m.eth_type)
    tlvs += m.other
    length = 4 + len(tlvs)
    return TLV.pack(OFPMT_OXM, length) + tlvs + bytes(_pad8(length) - length)


def decode_match(buf: bytes, off: int) -> tuple[Match, int]:
    """The match at ``off`` and the offset just after it (padding included)."""
    _mtype, length = TLV.unpack_from(buf, off)
    if length < 4 or off + length > len(buf):
        raise ValueError(f"bad match length {length}")
    in_port = eth_dst = eth_src = eth_type = None
    other = b""
    pos, end = off + 4, off + length
    while pos + 4 <= end:
        (oxm,) = struct.unpack_from("!I", buf, pos)
        size = oxm & 0xFF
        value = buf[pos + 4 : pos + 4 + size]
        if oxm == OXM_IN_PORT:
            (in_port,) = struct.unpack("!I", value)
        elif oxm == OXM_ETH_DST:
            eth_dst = bytes(value)
        elif oxm == OXM_ETH_SRC:
            eth_src = bytes(value)
        elif oxm == OXM_ETH_TYPE:
            (eth_type,) = struct.unpack("!H", value)
        else:
            other += bytes(buf[pos : pos + 4 + size])
        pos += 4 + size
    return Match(in_port, eth_dst, eth_src, eth_type, other), off + _pad8(length)


def encode_outputs(ports: Iterable[int], max_len: int = OFPCML_NO_BUFFER) -> bytes:
    return b"".join(ACTION_OUTPUT.pack(OFPAT_OUTPUT, 16, p, max_len) for p in ports)


def decode_actions(buf: bytes, off: int, end: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Output ports (and their max_len) of the action list in ``buf[off:end]``."""
    ports: list[int] = []
    lens: list[int] = []
    while off + 4 <= end:
        atype, alen = TLV.unpack_from(buf, off)
        if alen < 8:
            raise ValueError(f"bad action length {alen}")
        if atype == OFPAT_OUTPUT:
            _, _, port, max_len = ACTION_OUTPUT.unpack_from(buf, off)
            ports.append(port)
            lens.append(max_len)
        off += alen
    return tuple(ports), tuple(lens)


def encode_flow_mod(
    match: Match,
    outputs: Sequence[int] = (),
    *,
    command: int = OFPFC_ADD,
    priority: int = 0,
    cookie: int = 0,
    cookie_mask: int = 0,
    table_id: int = 0,
    idle_timeout: int = 0,
    hard_timeout: int = 0,
    out_port: int = OFPP_ANY,
    flags: int = 0,
    xid: int = 0,
) -> bytes:
    actions = encode_outputs(outputs)
    inst = INSTRUCTION.pack(OFPIT_APPLY_ACTIONS, 8 + len(actions)) + actions if outputs else b""
    body = (
        FLOW_MOD.pack(
            cookie,
            cookie_mask,
            table_id,
            command,
            idle_timeout,
            hard_timeout,
            priority,
            OFP_NO_BUFFER,
            out_port,
            0xFFFFFFFF,
            flags,
        )
        + encode_match(match)
        + inst
    )
    return message(OFPT_FLOW_MOD, xid, body)


_PATH_FLOW_MOD = struct.Struct(
    "!4xI" + FLOW_MOD.format[1:] + "HHII" + "I6s" * 2 + "HH4x" + "HHIH6x"
)
"""A FlowMod of one exact layout, the one controllers send most (match in_port, eth_dst,
eth_src; one apply-actions instruction with one output): decoded in one unpack."""
_PATH_FLOW_LEN = 104


def decode_flow_mod(msg: bytes) -> FlowMod:
    if len(msg) == _PATH_FLOW_LEN:
        f = _PATH_FLOW_MOD.unpack_from(msg)
        if (
            f[12:15] == (OFPMT_OXM, 32, OXM_IN_PORT)
            and f[16] == OXM_ETH_DST
            and f[18] == OXM_ETH_SRC
            and f[20:24] == (OFPIT_APPLY_ACTIONS, 24, OFPAT_OUTPUT, 16)
        ):
            match = Match(f[15], f[17], f[19], None, b"")
            return FlowMod._make((*f[:12], match, (f[24],), (f[25],)))
    return _decode_flow_mod_any(msg)


def _decode_flow_mod_any(msg: bytes) -> FlowMod:
    (xid,) = struct.unpack_from("!I", msg, 4)
    fields = FLOW_MOD.unpack_from(msg, 8)
    match, off = decode_match(msg, 48)
    ports: tuple[int, ...] = ()
    lens: tuple[int, ...] = ()
    end = len(msg)
    while off + 4 <= end:
        itype, ilen = TLV.unpack_from(msg, off)
        if ilen < 4:
            raise ValueError(f"bad instruction length {ilen}")
        if itype in (OFPIT_APPLY_ACTIONS, OFPIT_WRITE_ACTIONS):
            p, ln = decode_actions(msg, off + 8, off + ilen)
            ports += p
            lens += ln
        off += ilen
    return FlowMod._make((xid, *fields, match, ports, lens))


def encode_packet_out(
    in_port: int, outputs: Sequence[int], data: bytes, xid: int = 0, buffer_id: int = OFP_NO_BUFFER
) -> bytes:
    actions = encode_outputs(outputs)
    return message(
        OFPT_PACKET_OUT, xid, PACKET_OUT.pack(buffer_id, in_port, len(actions)) + actions + data
    )


def decode_packet_out(msg: bytes) -> PacketOut:
    (xid,) = struct.unpack_from("!I", msg, 4)
    buffer_id, in_port, actions_len = PACKET_OUT.unpack_from(msg, 8)
    ports, _ = decode_actions(msg, 24, 24 + actions_len)
    return PacketOut(xid, buffer_id, in_port, ports, bytes(msg[24 + actions_len :]))


_PACKET_IN_MATCH = struct.Struct("!HHII4x")  # OXM match with in_port only: 12 bytes + pad


def encode_packet_in(
    in_port: int, data: bytes, reason: int = OFPR_NO_MATCH, cookie: int = 0, xid: int = 0
) -> bytes:
    body = (
        PACKET_IN.pack(OFP_NO_BUFFER, len(data), reason, 0, cookie)
        + _PACKET_IN_MATCH.pack(OFPMT_OXM, 12, OXM_IN_PORT, in_port)
        + b"\x00\x00"
        + data
    )
    return message(OFPT_PACKET_IN, xid, body)


def decode_packet_in(msg: bytes) -> PacketIn:
    (xid,) = struct.unpack_from("!I", msg, 4)
    buffer_id, total_len, reason, table_id, cookie = PACKET_IN.unpack_from(msg, 8)
    match, off = decode_match(msg, 24)
    return PacketIn(
        xid, buffer_id, total_len, reason, table_id, cookie, match, bytes(msg[off + 2 :])
    )


def hello(xid: int = 0) -> bytes:
    """HELLO with a version bitmap element that offers OpenFlow 1.3 only."""
    return message(OFPT_HELLO, xid, struct.pack("!HHI", 1, 8, 1 << OFP_VERSION))


# ============================================================================ flow table
@dataclass(slots=True)
class FlowEntry:
    match: Match
    priority: int
    cookie: int
    outputs: tuple[int, ...]
    idle_timeout: int = 0
    hard_timeout: int = 0
    flags: int = 0
    packets: int = 0

    @property
    def to_controller(self) -> bool:
        return OFPP_CONTROLLER in self.outputs

    @property
    def is_table_miss(self) -> bool:
        return self.priority == 0 and self.match == EMPTY_MATCH


_FIELDS = ("in_port", "eth_dst", "eth_src", "eth_type")


_SHAPES: dict[tuple[bool, bool, bool, bool], tuple[int, ...]] = {
    (a, b, c, d): tuple(i for i, unset in enumerate((a, b, c, d)) if not unset)
    for a in (False, True)
    for b in (False, True)
    for c in (False, True)
    for d in (False, True)
}


def _fields_getter(shape: tuple[int, ...]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """``lambda t: tuple(t[i] for i in shape)``, without a generator per call."""
    if len(shape) > 1:
        return operator.itemgetter(*shape)
    if shape:
        i = shape[0]
        return lambda t: (t[i],)
    return lambda t: ()


_KEY_OF = {shape: _fields_getter(shape) for shape in _SHAPES.values()}


def _shape(m: Match) -> tuple[int, ...]:
    """Indices of the fields this match sets (its "wildcard shape"; one dict probe: it
    runs for every FlowMod)."""
    return _SHAPES[(m[0] is None, m[1] is None, m[2] is None, m[3] is None)]


class FlowTable:
    """One OpenFlow table: highest priority match wins; indexed by wildcard shape, so a
    lookup costs one dict probe per distinct shape (a handful), not one per flow."""

    def __init__(self) -> None:
        self._entries: dict[tuple[int, Match], FlowEntry] = {}
        self._index: dict[tuple[int, ...], dict[tuple[Any, ...], list[FlowEntry]]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[FlowEntry]:
        return sorted(self._entries.values(), key=lambda e: -e.priority)

    def _unindex(self, e: FlowEntry) -> None:
        if e.match.other:
            return
        shape = _shape(e.match)
        key = _KEY_OF[shape](e.match)
        bucket = self._index[shape]
        lst = bucket[key]
        lst.remove(e)
        if not lst:
            del bucket[key]
            if not bucket:
                del self._index[shape]

    def add(self, e: FlowEntry) -> None:
        """Add (an identical match and priority is replaced, as OFPFC_ADD does)."""
        old = self._entries.pop((e.priority, e.match), None)
        if old is not None:
            self._unindex(old)
        self._entries[(e.priority, e.match)] = e
        if e.match.other:
            return
        shape = _shape(e.match)
        key = _KEY_OF[shape](e.match)
        self._index.setdefault(shape, {}).setdefault(key, []).append(e)

    def select(
        self,
        match: Match,
        cookie: int = 0,
        cookie_mask: int = 0,
        out_port: int = OFPP_ANY,
        strict: bool = False,
        priority: int | None = None,
    ) -> list[FlowEntry]:
        """Entries a delete/modify with these arguments applies to."""
        if strict:
            e = self._entries.get((priority or 0, match))
            cands = [e] if e is not None else []
        else:
            cands = [e for e in self._entries.values() if e.match.within(match)]
        return [
            e
            for e in cands
            if (e.cookie & cookie_mask) == (cookie & cookie_mask)
            and (out_port == OFPP_ANY or out_port in e.outputs)
        ]

    def delete(
        self,
        match: Match = EMPTY_MATCH,
        cookie: int = 0,
        cookie_mask: int = 0,
        out_port: int = OFPP_ANY,
        strict: bool = False,
        priority: int | None = None,
    ) -> list[FlowEntry]:
        gone = self.select(match, cookie, cookie_mask, out_port, strict, priority)
        for e in gone:
            del self._entries[(e.priority, e.match)]
            self._unindex(e)
        return gone

    def apply(self, fm: FlowMod) -> list[FlowEntry]:
        """Apply a FlowMod; returns the entries added, modified or deleted."""
        if fm.command == OFPFC_ADD:
            e = FlowEntry(
                fm.match,
                fm.priority,
                fm.cookie,
                fm.outputs,
                fm.idle_timeout,
                fm.hard_timeout,
                fm.flags,
            )
            self.add(e)
            return [e]
        if fm.command in (OFPFC_MODIFY, OFPFC_MODIFY_STRICT):
            hit = self.select(
                fm.match,
                fm.cookie,
                fm.cookie_mask,
                strict=fm.command == OFPFC_MODIFY_STRICT,
                priority=fm.priority,
            )
            for e in hit:
                e.outputs = fm.outputs
            return hit
        if fm.command in (OFPFC_DELETE, OFPFC_DELETE_STRICT):
            return self.delete(
                fm.match,
                fm.cookie,
                fm.cookie_mask,
                fm.out_port,
                strict=fm.command == OFPFC_DELETE_STRICT,
                priority=fm.priority,
            )
        return []

    def lookup(
        self, in_port: int, eth_dst: bytes, eth_src: bytes, eth_type: int
    ) -> FlowEntry | None:
        """The highest-priority entry a packet matches (None: no entry, the packet drops)."""
        pkt = (in_port, eth_dst, eth_src, eth_type)
        best: FlowEntry | None = None
        for shape, bucket in self._index.items():
            lst = bucket.get(_KEY_OF[shape](pkt))
            if lst:
                for e in lst:
                    if best is None or e.priority > best.priority:
                        best = e
        return best


# ============================================================================ topology
class Host(NamedTuple):
    number: int
    """The host is ``h<number>``; its MAC and IPv4 address derive from the number as in
    Mininet (``topologies.spec.host_mac``/``host_ip``)."""
    mac: bytes
    ip: bytes
    dpid: int
    port: int

    @property
    def name(self) -> str:
        return f"h{self.number}"

    @property
    def mac_str(self) -> str:
        return mac_str(self.mac)

    @property
    def ip_str(self) -> str:
        return ".".join(str(b) for b in self.ip)


def mac_str(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def host_mac(number: int) -> bytes:
    """MAC address of host ``h<number>``."""
    return bytes.fromhex(topology_spec.host_mac(number).replace(":", ""))


def host_ipv4(number: int) -> bytes:
    """IPv4 address of host ``h<number>``."""
    address, _, _prefix = topology_spec.host_ip(number).partition("/")
    return bytes(int(part) for part in address.split("."))


def port_hw_addr(dpid: int, port: int) -> bytes:
    return b"\x06" + (dpid & 0xFFFFFF).to_bytes(3, "big") + (port & 0xFFFF).to_bytes(2, "big")


@dataclass
class Topology:
    """Switches (dpid -> port numbers), links (both directions) and hosts, with the
    nominal speed of link ports where known."""

    ports: dict[int, list[int]]
    links: dict[tuple[int, int], tuple[int, int]]
    hosts: list[Host]
    node_of: dict[int, Any] = field(default_factory=dict)
    link_speed_bps: dict[tuple[int, int], int] = field(default_factory=dict)
    host_at: dict[tuple[int, int], Host] = field(init=False)
    host_by_mac: dict[bytes, Host] = field(init=False)

    def __post_init__(self) -> None:
        self.host_at = {(h.dpid, h.port): h for h in self.hosts}
        self.host_by_mac = {h.mac: h for h in self.hosts}

    @property
    def n_switches(self) -> int:
        return len(self.ports)

    @property
    def n_links(self) -> int:
        """Undirected switch-to-switch links."""
        return len(self.links) // 2

    @classmethod
    def from_spec(cls, spec: TopologySpec, hosts_per_switch: int | None = None) -> Topology:
        """The spec's switches (its dpids), links (port speed = link capacity) and hosts
        (its numbers, hence names and addresses), with ports numbered as Mininet numbers
        them for the same spec: host ports first, in host-number order, then one port per
        link end in the spec's link order. ``hosts_per_switch`` replaces the spec's hosts
        with that many on every switch, numbered in switch order."""
        if hosts_per_switch is None:
            placed = [(h.number, h.dpid) for h in spec.hosts]
        else:
            per_switch = [d for d in spec.switches for _ in range(hosts_per_switch)]
            placed = list(enumerate(per_switch, start=1))
        node_of = {d: d for d in spec.switches}
        return cls._assemble(node_of, spec.links, placed, hosts_first=True)

    @classmethod
    def from_graph(cls, graph: nx.Graph, hosts_per_switch: int = 0) -> Topology:
        """One switch per node (dpid = node attribute ``dpid``, else position + 1 in
        sorted order), one port per edge end (in edge order, from 1; port speed from the
        edge attribute ``speed_bps`` if set), then ``hosts_per_switch`` host ports (a node
        attribute ``hosts`` overrides it); hosts numbered from 1 in node order."""
        try:
            nodes = sorted(graph.nodes)
        except TypeError:
            nodes = sorted(graph.nodes, key=str)
        dpid_of = {n: int(graph.nodes[n].get("dpid", i + 1)) for i, n in enumerate(nodes)}
        if len(set(dpid_of.values())) != len(dpid_of):
            raise ValueError("two nodes share a dpid")
        links = [(dpid_of[u], dpid_of[v], speed) for u, v, speed in graph.edges(data="speed_bps")]
        host_dpids = [
            dpid_of[n]
            for n in nodes
            for _ in range(int(graph.nodes[n].get("hosts", hosts_per_switch)))
        ]
        node_of = {d: n for n, d in dpid_of.items()}
        return cls._assemble(node_of, links, enumerate(host_dpids, start=1), hosts_first=False)

    @classmethod
    def _assemble(
        cls,
        node_of: dict[int, Any],
        links: Iterable[tuple[int, int, int | None]],
        hosts: Iterable[tuple[int, int]],
        hosts_first: bool,
    ) -> Topology:
        """Number the ports of the switches ``node_of`` (dpid -> graph node, in order):
        ``links`` are (dpid, dpid, speed in bit/s or None; self-loops skipped), ``hosts``
        (number, dpid)."""
        ports: dict[int, list[int]] = {d: [] for d in node_of}
        peers: dict[tuple[int, int], tuple[int, int]] = {}
        speeds: dict[tuple[int, int], int] = {}
        placed: list[Host] = []

        def new_port(dpid: int) -> int:
            port = len(ports[dpid]) + 1
            ports[dpid].append(port)
            return port

        def add_links() -> None:
            for a, b, speed in links:
                if a == b:
                    continue
                pa, pb = new_port(a), new_port(b)
                peers[(a, pa)] = (b, pb)
                peers[(b, pb)] = (a, pa)
                if speed:
                    speeds[(a, pa)] = speeds[(b, pb)] = int(speed)

        def add_hosts() -> None:
            for number, dpid in hosts:
                placed.append(
                    Host(number, host_mac(number), host_ipv4(number), dpid, new_port(dpid))
                )

        for step in (add_hosts, add_links) if hosts_first else (add_links, add_hosts):
            step()
        return cls(ports, peers, placed, node_of, speeds)


def parse_topo(text: str) -> TopologySpec:
    """``--topo``: any ``topologies.spec`` name and arguments ("fattree,4", "random,1000",
    "tree,3,2" ...); ``regular,N,D`` is the old name of ``random,N,D``."""
    name, sep, rest = text.partition(",")
    if name.strip() == "regular":
        text = "random" + sep + rest
    return topology_spec.parse_spec(text)


# ============================================================================ frames
def _ip_checksum(hdr: bytes) -> int:
    s = sum(struct.unpack(f"!{len(hdr) // 2}H", hdr))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_frame(src: Host, dst: Host, seq: int) -> bytes:
    """An Ethernet/IPv4/UDP frame src -> dst whose payload carries ``seq`` (unique bytes)."""
    payload = struct.pack("!Q", seq) + bytes(8)
    udp = struct.pack("!HHHH", 40000 + (seq & 0x3FFF), 9, 8 + len(payload), 0) + payload
    ip = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq & 0xFFFF, 0, 64, 17, 0, src.ip, dst.ip
        )
    )
    ip[10:12] = struct.pack("!H", _ip_checksum(bytes(ip)))
    return dst.mac + src.mac + struct.pack("!H", ETH_TYPE_IPV4) + bytes(ip) + udp


def arp_request(src: Host, target_ip: bytes) -> bytes:
    """A broadcast ARP request from ``src`` for ``target_ip``."""
    arp = struct.pack(
        "!HHBBH6s4s6s4s", 1, ETH_TYPE_IPV4, 6, 4, 1, src.mac, src.ip, bytes(6), target_ip
    )
    return BROADCAST + src.mac + struct.pack("!H", ETH_TYPE_ARP) + arp + bytes(18)


# ============================================================================ switches
@dataclass
class Setup:
    """One measured flow setup (see the module docstring)."""

    seq: int
    src: Host
    dst: Host
    data: bytes
    t_sent: float = 0.0
    t_done: float | None = None
    how: str = ""
    t_delivered: float | None = None


class SetupTracker:
    """Matches FlowMods, PacketOuts and deliveries to the setups in flight."""

    def __init__(self, on_complete: Callable[[Setup], None]) -> None:
        self.on_complete = on_complete
        self.pending_at: dict[int, dict[int, Setup]] = collections.defaultdict(dict)
        self.pending_data: dict[bytes, Setup] = {}
        self.by_data: dict[bytes, Setup] = {}
        self.done: list[Setup] = []
        self.in_flight = 0

    def add(self, s: Setup) -> None:
        self.pending_at[s.src.dpid][s.seq] = s
        self.pending_data[s.data] = s
        self.by_data[s.data] = s
        self.in_flight += 1

    def _complete(self, s: Setup, now: float, how: str) -> None:
        del self.pending_at[s.src.dpid][s.seq]
        del self.pending_data[s.data]
        s.t_done, s.how = now, how
        self.in_flight -= 1
        self.done.append(s)
        self.on_complete(s)

    def on_flow_added(self, dpid: int, e: FlowEntry, now: float) -> None:
        pend = self.pending_at.get(dpid)
        if not pend or not e.outputs or e.to_controller:
            return
        m = e.match
        for s in list(pend.values()):
            if m.covers(s.src.port, s.dst.mac, s.src.mac, ETH_TYPE_IPV4):
                self._complete(s, now, "flowmod")

    def on_packet_out(self, dpid: int, data: bytes, now: float) -> None:
        s = self.pending_data.get(data)
        if s is not None and s.src.dpid == dpid:
            self._complete(s, now, "packetout")

    def on_delivered(self, host: Host, data: bytes, now: float) -> None:
        s = self.by_data.get(data)
        if s is not None and s.dst is host and s.t_delivered is None:
            s.t_delivered = now


class SwitchConn(asyncio.Protocol):
    """One emulated switch: its OpenFlow connection, flow table and port counters."""

    def __init__(self, emu: Emulator, dpid: int) -> None:
        self.emu = emu
        self.dpid = dpid
        self.ports = emu.topo.ports[dpid]
        self.table = FlowTable()
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._out: list[bytes] = []
        self._xid = 0
        self.started = time.monotonic()
        self.connected_at: float | None = None
        self.features_at: float | None = None
        self.port_desc_at: float | None = None
        self.lost = False
        self.miss_send_len = 0xFFFF
        # data-plane counters per port: [rx_packets, tx_packets, rx_bytes, tx_bytes]
        self.dp_counters: dict[int, list[int]] = {p: [0, 0, 0, 0] for p in self.ports}
        self._handlers: dict[int, Callable[[bytes, int], None]] = {
            OFPT_HELLO: self._on_hello,
            OFPT_ECHO_REQUEST: self._on_echo_request,
            OFPT_ECHO_REPLY: self._ignore,
            OFPT_FEATURES_REQUEST: self._on_features_request,
            OFPT_GET_CONFIG_REQUEST: self._on_get_config,
            OFPT_SET_CONFIG: self._on_set_config,
            OFPT_PACKET_OUT: self._on_packet_out,
            OFPT_FLOW_MOD: self._on_flow_mod,
            OFPT_MULTIPART_REQUEST: self._on_multipart,
            OFPT_BARRIER_REQUEST: self._on_barrier,
            OFPT_ROLE_REQUEST: self._on_role,
            OFPT_GET_ASYNC_REQUEST: self._on_get_async,
        }

    # ------------------------------------------------------------------ connection
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.connected_at = time.monotonic()
        self.send(hello(self.next_xid()))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.transport = None
        self.emu.count("connections_lost")

    def next_xid(self) -> int:
        self._xid = (self._xid + 1) & 0xFFFFFFFF
        return self._xid

    def send(self, msg: bytes) -> None:
        if self.transport is None:
            return
        if not self._out:
            self.emu.schedule_flush(self)
        self._out.append(msg)

    def flush(self) -> None:
        if self._out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self._out))
        self._out.clear()

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        now = time.perf_counter()
        self.emu.now = now
        off, n = 0, len(buf)
        handlers = self._handlers
        while n - off >= 8:
            length = (buf[off + 2] << 8) | buf[off + 3]
            if length < 8:
                self.emu.count("protocol_errors")
                if self.transport is not None:
                    self.transport.close()
                return
            if n - off < length:
                break
            msg = bytes(buf[off : off + length])
            off += length
            handler = handlers.get(msg[1])
            if handler is None:
                self.emu.count(f"ignored_type_{msg[1]}")
                continue
            try:
                handler(msg, int.from_bytes(msg[4:8], "big"))
            except (ValueError, struct.error, IndexError) as exc:
                self.emu.count("malformed")
                self.emu.note(f"switch {self.dpid:x}: malformed type {msg[1]}: {exc}")
        del buf[:off]

    # ------------------------------------------------------------------ handlers
    def _ignore(self, msg: bytes, xid: int) -> None:
        pass

    def _on_hello(self, msg: bytes, xid: int) -> None:
        if msg[0] < OFP_VERSION:
            self.emu.note(f"switch {self.dpid:x}: controller offers version {msg[0]}")

    def _on_echo_request(self, msg: bytes, xid: int) -> None:
        self.emu.count("echo_requests")
        self.send(message(OFPT_ECHO_REPLY, xid, msg[8:]))

    def _on_features_request(self, msg: bytes, xid: int) -> None:
        self.send(message(OFPT_FEATURES_REPLY, xid, FEATURES.pack(self.dpid, 0, 254, 0, 0x7, 0)))
        self.features_at = time.monotonic()

    def _on_get_config(self, msg: bytes, xid: int) -> None:
        self.send(message(OFPT_GET_CONFIG_REPLY, xid, struct.pack("!HH", 0, self.miss_send_len)))

    def _on_set_config(self, msg: bytes, xid: int) -> None:
        if len(msg) >= 12:
            (self.miss_send_len,) = struct.unpack_from("!H", msg, 10)

    def _on_role(self, msg: bytes, xid: int) -> None:
        self.send(message(OFPT_ROLE_REPLY, xid, msg[8:]))

    def _on_get_async(self, msg: bytes, xid: int) -> None:
        self.send(message(OFPT_GET_ASYNC_REPLY, xid, bytes(24)))

    def _on_barrier(self, msg: bytes, xid: int) -> None:
        self.emu.count("barriers")
        self.send(message(OFPT_BARRIER_REPLY, xid))

    def _on_flow_mod(self, msg: bytes, xid: int) -> None:
        fm = decode_flow_mod(msg)
        self.emu.count("flow_mods")
        changed = self.table.apply(fm)
        if fm.command == OFPFC_ADD:
            self.emu.activity()
            tracker = self.emu.tracker
            if tracker is not None:
                tracker.on_flow_added(self.dpid, changed[0], self.emu.now)
        elif fm.command in (OFPFC_DELETE, OFPFC_DELETE_STRICT):
            self.emu.count("flows_deleted", len(changed))

    def _on_packet_out(self, msg: bytes, xid: int) -> None:
        po = decode_packet_out(msg)
        emu = self.emu
        lldp = po.data[12:14] == b"\x88\xcc"
        emu.count("packet_outs_lldp" if lldp else "packet_outs")
        if po.buffer_id != OFP_NO_BUFFER:
            emu.count("packet_outs_buffered_ignored")
            return
        if not lldp:
            emu.activity()
            if emu.tracker is not None:
                emu.tracker.on_packet_out(self.dpid, po.data, emu.now)
        for port in po.outputs:
            emu.output(self, po.in_port, po.data, port, 0)

    def _on_multipart(self, msg: bytes, xid: int) -> None:
        mtype, _flags = MULTIPART.unpack_from(msg, 8)
        if mtype == OFPMP_PORT_DESC:
            self._reply_multipart(xid, mtype, [self._port_desc(p) for p in self.ports])
            if self.port_desc_at is None:
                self.port_desc_at = time.monotonic()
        elif mtype == OFPMP_PORT_STATS:
            self.emu.count("port_stats_requests")
            (port_no,) = struct.unpack_from("!I", msg, 16) if len(msg) >= 20 else (OFPP_ANY,)
            ports = self.ports if port_no == OFPP_ANY else [p for p in self.ports if p == port_no]
            self._reply_multipart(xid, mtype, [self._port_stats(p) for p in ports])
        elif mtype == OFPMP_DESC:
            desc = b"".join(
                s.encode().ljust(n, b"\0")
                for s, n in (
                    ("sdn-costroute", 256),
                    ("ofemu", 256),
                    ("testbed/ofemu.py", 256),
                    (f"{self.dpid:016x}", 32),
                    (f"emulated switch {self.dpid}", 256),
                )
            )
            self._reply_multipart(xid, mtype, [desc])
        elif mtype == OFPMP_METER_FEATURES:  # no meters (max_meter 0), as the docstring says
            self._reply_multipart(xid, mtype, [struct.pack("!IIIBB2x", 0, 0, 0, 0, 0)])
        else:
            self.emu.count(f"multipart_{mtype}_empty_reply")
            self._reply_multipart(xid, mtype, [])

    def _reply_multipart(self, xid: int, mtype: int, items: list[bytes]) -> None:
        chunks: list[list[bytes]] = [[]]
        size = 16
        for it in items:
            if size + len(it) > 0xFFF0:
                chunks.append([])
                size = 16
            chunks[-1].append(it)
            size += len(it)
        for i, chunk in enumerate(chunks):
            flags = OFPMPF_REPLY_MORE if i < len(chunks) - 1 else 0
            self.send(
                message(OFPT_MULTIPART_REPLY, xid, MULTIPART.pack(mtype, flags) + b"".join(chunk))
            )

    def _port_desc(self, p: int) -> bytes:
        curr = OFPPF_1GB_FD | OFPPF_COPPER
        name = f"s{self.dpid}-eth{p}".encode()[:15]
        # A link port reports its link's capacity; other ports the emulator-wide speed.
        speed_bps = self.emu.topo.link_speed_bps.get((self.dpid, p))
        kbps = self.emu.port_speed_kbps if speed_bps is None else min(speed_bps // 1000, 2**32 - 1)
        return PORT_DESC.pack(
            p,
            port_hw_addr(self.dpid, p),
            name,
            0,
            OFPPS_LIVE,
            curr,
            curr,
            curr,
            0,
            kbps,
            kbps,
        )

    def _port_stats(self, p: int) -> bytes:
        """Synthetic counters: a per-port base rate (0.5x to 1.5x of the configured rate,
        fixed per port) integrated over the switch's uptime, plus real data-plane counts."""
        age = time.monotonic() - self.started
        factor = 0.5 + ((self.dpid * 7919 + p * 104729) % 1000) / 1000
        base_bytes = int(self.emu.port_rate_bps * factor * age / 8)
        base_pkts = base_bytes // 1000
        rxp, txp, rxb, txb = self.dp_counters[p]
        sec = int(age)
        return PORT_STATS.pack(
            p,
            base_pkts + rxp,
            base_pkts + txp,
            base_bytes + rxb,
            base_bytes + txb,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            sec,
            int((age - sec) * 1e9),
        )

    # ------------------------------------------------------------------ data plane
    def packet_in(self, in_port: int, data: bytes, reason: int, cookie: int) -> None:
        if self.transport is None:
            self.emu.count("packet_ins_not_connected")
            return
        lldp = data[12:14] == b"\x88\xcc"
        self.emu.count("packet_ins_lldp" if lldp else "packet_ins")
        self.send(encode_packet_in(in_port, data, reason, cookie, self.next_xid()))

    def receive(self, in_port: int, data: bytes, depth: int) -> None:
        """A frame arrives on ``in_port``: through the table."""
        c = self.dp_counters.get(in_port)
        if c is not None:
            c[0] += 1
            c[2] += len(data)
        etype = (data[12] << 8) | data[13]
        e = self.table.lookup(in_port, data[0:6], data[6:12], etype)
        if e is None:
            self.emu.count("table_miss_drops")
            return
        e.packets += 1
        for port in e.outputs:
            if port == OFPP_CONTROLLER:
                self.packet_in(
                    in_port, data, OFPR_NO_MATCH if e.is_table_miss else OFPR_ACTION, e.cookie
                )
            else:
                self.emu.output(self, in_port, data, port, depth)


@dataclass
class StartReport:
    """Seconds from the first connect attempt until every switch was connected, had
    answered FEATURES, and had finished the handshake."""

    connect_s: float
    features_s: float
    handshake_s: float


class Emulator:
    """All switches of one topology, their connections and the data plane between them."""

    def __init__(
        self,
        topo: Topology,
        controller: tuple[str, int],
        *,
        port_rate_bps: float = 10e6,
        port_speed_kbps: int = 1_000_000,
        connect_concurrency: int = 32,
    ) -> None:
        if controller[0] not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the emulator only connects to a controller on loopback")
        self.topo = topo
        self.controller = controller
        self.port_rate_bps = port_rate_bps
        self.port_speed_kbps = port_speed_kbps
        self.connect_concurrency = connect_concurrency
        self.switches: dict[int, SwitchConn] = {}
        self.counters: collections.Counter[str] = collections.Counter()
        self.tracker: SetupTracker | None = None
        self.now = time.perf_counter()
        self.last_activity = time.monotonic()
        self.notes: list[str] = []
        self.delivered: collections.Counter[int] = collections.Counter()
        self._dirty: list[SwitchConn] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ bookkeeping
    def count(self, what: str, n: int = 1) -> None:
        self.counters[what] += n

    def note(self, text: str) -> None:
        if len(self.notes) < 20:
            self.notes.append(text)

    def activity(self) -> None:
        """Controller traffic that is not periodic (for quiescence detection)."""
        self.last_activity = time.monotonic()

    def schedule_flush(self, sw: SwitchConn) -> None:
        if not self._dirty:
            assert self._loop is not None
            self._loop.call_soon(self._flush_all)
        self._dirty.append(sw)

    def _flush_all(self) -> None:
        dirty, self._dirty = self._dirty, []
        for sw in dirty:
            sw.flush()

    # ------------------------------------------------------------------ life cycle
    async def start(self, timeout: float = 60, port_desc: bool = True) -> StartReport:
        """Connect every switch (at most ``connect_concurrency`` connects in progress)
        and wait until each has answered FEATURES and, with ``port_desc`` (Ryu asks for
        them before an app sees the switch), the port descriptions."""
        loop = self._loop = asyncio.get_running_loop()
        t0 = time.monotonic()
        sem = asyncio.Semaphore(self.connect_concurrency)
        failed: list[str] = []

        async def connect(dpid: int) -> None:
            sw = SwitchConn(self, dpid)
            async with sem:
                try:
                    await loop.create_connection(lambda: sw, *self.controller)
                except OSError as exc:
                    failed.append(f"switch {dpid:x}: connect failed: {exc}")
                    return
            self.switches[dpid] = sw

        await asyncio.wait_for(
            asyncio.gather(*(connect(d) for d in self.topo.ports)), timeout=timeout
        )
        connect_s = time.monotonic() - t0
        if failed:
            raise ConnectionError(f"{len(failed)} switches could not connect: {failed[:3]}")

        def done(sw: SwitchConn) -> float | None:
            return sw.port_desc_at if port_desc else sw.features_at

        await wait_until(
            lambda: all(done(sw) is not None for sw in self.switches.values()),
            max(1.0, timeout - connect_s),
            "every switch's handshake" + (" (features and port descriptions)" if port_desc else ""),
        )
        return StartReport(
            connect_s=connect_s,
            features_s=max(s.features_at or t0 for s in self.switches.values()) - t0,
            handshake_s=max(done(s) or t0 for s in self.switches.values()) - t0,
        )

    async def stop(self) -> None:
        self._flush_all()
        for sw in self.switches.values():
            if sw.transport is not None:
                sw.transport.close()
        await asyncio.sleep(0.05)

    async def __aenter__(self) -> Emulator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ data plane
    def output(self, sw: SwitchConn, in_port: int, data: bytes, port: int, depth: int) -> None:
        """Send ``data`` out of ``port`` of ``sw`` (it came in on ``in_port``)."""
        if port == OFPP_IN_PORT:
            port = in_port
        elif port == in_port:
            return  # OpenFlow: output to the ingress port needs OFPP_IN_PORT
        if port <= OFPP_MAX:
            c = sw.dp_counters.get(port)
            if c is None:
                self.count("output_unknown_port")
                return
            c[1] += 1
            c[3] += len(data)
            peer = self.topo.links.get((sw.dpid, port))
            if peer is not None:
                if depth >= MAX_HOPS:
                    self.count("dataplane_loop_drops")
                    return
                nsw = self.switches.get(peer[0])
                if nsw is not None and not nsw.lost:
                    nsw.receive(peer[1], data, depth + 1)
                return
            host = self.topo.host_at.get((sw.dpid, port))
            if host is not None:
                self.delivered[host.number] += 1
                self.count("delivered_to_hosts")
                if self.tracker is not None:
                    self.tracker.on_delivered(host, data, self.now)
            return
        if port in (OFPP_FLOOD, OFPP_ALL):
            for p in sw.ports:
                if p != in_port:
                    self.output(sw, in_port, data, p, depth)
        elif port == OFPP_TABLE:
            sw.receive(in_port, data, depth)
        elif port == OFPP_CONTROLLER:
            sw.packet_in(in_port, data, OFPR_ACTION, 0)
        else:
            self.count("output_unsupported_port")

    def inject(self, host: Host, data: bytes) -> None:
        """``host`` sends ``data``: it enters its switch on the host port."""
        self.now = time.perf_counter()
        self.switches[host.dpid].receive(host.port, data, 0)

    def trace(self, src: Host, dst: Host, max_hops: int = MAX_HOPS) -> tuple[list[int], bool]:
        """Walk a src -> dst IPv4 packet through the current tables without sending
        anything: (dpids visited, delivered to ``dst``)."""
        dpid, in_port, visited = src.dpid, src.port, []
        for _ in range(max_hops):
            visited.append(dpid)
            e = self.switches[dpid].table.lookup(in_port, dst.mac, src.mac, ETH_TYPE_IPV4)
            if e is None or len(e.outputs) != 1 or e.outputs[0] > OFPP_MAX:
                return visited, False
            out = e.outputs[0]
            if self.topo.host_at.get((dpid, out)) is dst:
                return visited, True
            peer = self.topo.links.get((dpid, out))
            if peer is None:
                return visited, False
            dpid, in_port = peer
        return visited, False

    def has_table_miss(self) -> bool:
        return all(
            any(e.is_table_miss and e.to_controller for e in sw.table.entries())
            for sw in self.switches.values()
        )

    # ------------------------------------------------------------------ phases
    async def wait_discovered(self, rest_url: str, timeout: float) -> dict[str, Any]:
        """Poll GET /v1/health until it reports every switch and both directions of
        every link."""
        want = (self.topo.n_switches, 2 * self.topo.n_links)
        last: dict[str, Any] = {}

        async def complete() -> bool:
            nonlocal last
            h = await rest_get(f"{rest_url}/v1/health")
            if isinstance(h, dict):
                last = h
                return (h.get("switches"), h.get("links")) == want
            return False

        try:
            await wait_until_async(complete, timeout, "discovery", interval=0.2)
        except TimeoutError as exc:
            raise TimeoutError(
                f"{exc}: health says {last.get('switches')} switches / {last.get('links')} "
                f"links, want {want[0]} / {want[1]}"
            ) from None
        return last

    async def learn_hosts(
        self, rest_url: str | None, timeout: float, quiet: float = 1.0, rate: float = 2000
    ) -> dict[str, Any]:
        """Make every host known to the controller (see the module docstring): an ARP
        request from each (the first broadcast, the rest for the first host's address),
        paced at ``rate`` per second; with ``rest_url``, re-sent for hosts GET /v1/hosts
        does not list yet, until all are listed."""
        hosts = self.topo.hosts
        t0 = time.monotonic()
        if not hosts:
            return {"learn_s": 0.0, "hosts": 0}
        first = hosts[0]
        deadline = t0 + timeout
        missing = list(hosts)
        rounds = 0
        while missing and time.monotonic() < deadline:
            rounds += 1
            if first in missing:
                self.inject(first, arp_request(first, b"\x0a\xff\xff\xfe"))
                await asyncio.sleep(0.2)
            batch = max(1, int(rate / 20))
            rest = [h for h in missing if h is not first]
            for i in range(0, len(rest), batch):
                for h in rest[i : i + batch]:
                    self.inject(h, arp_request(h, first.ip))
                await asyncio.sleep(0.05)
            if rest_url is None:
                await wait_until(
                    lambda: time.monotonic() - self.last_activity > quiet,
                    max(0.1, deadline - time.monotonic()),
                    "the controller to go quiet after host learning",
                )
                missing = []
                break
            known: set[str] = set()
            until = min(deadline, time.monotonic() + 2.0)
            while time.monotonic() < until:
                body = await rest_get(f"{rest_url}/v1/hosts")
                if isinstance(body, list):
                    known = {str(h.get("mac", "")).lower() for h in body}
                if all(h.mac_str in known for h in missing):
                    break
                await asyncio.sleep(0.2)
            missing = [h for h in missing if h.mac_str not in known]
        if missing:
            raise TimeoutError(
                f"{len(missing)} of {len(hosts)} hosts not learned within {timeout:.0f}s "
                f"(e.g. {missing[0].mac_str} on {missing[0].dpid:x}:{missing[0].port})"
            )
        return {"learn_s": round(time.monotonic() - t0, 3), "hosts": len(hosts), "rounds": rounds}

    async def prepare(
        self, rest_url: str | None, timeout: float, learn: bool = True
    ) -> dict[str, Any]:
        """Everything before a flow-setup measurement: a table-miss entry on every
        switch; with ``rest_url``, discovery complete and the host ports old enough to
        count as access ports (2 LLDP intervals); then every host learned."""
        t0 = time.monotonic()
        out: dict[str, Any] = {}
        await wait_until(self.has_table_miss, timeout, "a table-miss entry on every switch")
        if rest_url is not None:
            await self.wait_discovered(rest_url, timeout - (time.monotonic() - t0))
            out["discovery_wait_s"] = round(time.monotonic() - t0, 3)
            up = max(sw.port_desc_at or t0 for sw in self.switches.values())
            await asyncio.sleep(max(0.0, up + 2.2 - time.monotonic()))
        if learn:
            out.update(await self.learn_hosts(rest_url, timeout - (time.monotonic() - t0)))
        return out

    async def flowsetup(
        self,
        pairs: Sequence[tuple[Host, Host]],
        window: int,
        timeout: float,
        on_finished: Callable[[], object] | None = None,
    ) -> list[Setup]:
        """Measure one setup per pair (closed loop, ``window`` in flight); see the
        module docstring. Returns every setup started (incomplete ones have no t_done).
        ``on_finished`` runs when the last setup completed (or at the timeout), before
        the short wait for in-flight deliveries."""
        loop = asyncio.get_running_loop()
        todo = iter(enumerate(pairs))
        started: list[Setup] = []
        finished = asyncio.Event()
        launching = False

        def launch(_: Setup | None = None) -> None:
            nonlocal launching
            if launching:
                return
            launching = True
            try:
                while tracker.in_flight < window:
                    nxt = next(todo, None)
                    if nxt is None:
                        if tracker.in_flight == 0:
                            finished.set()
                        return
                    seq, (src, dst) = nxt
                    s = Setup(seq, src, dst, ipv4_frame(src, dst, seq))
                    tracker.add(s)
                    started.append(s)
                    before = self.counters["packet_ins"]
                    s.t_sent = time.perf_counter()
                    self.inject(src, s.data)
                    if self.counters["packet_ins"] == before:
                        # The ingress table already forwards it: not a new setup.
                        self.count("setups_skipped_table_hit")
                        tracker._complete(s, s.t_sent, "table-hit")
            finally:
                launching = False

        def completed(_: Setup) -> None:
            loop.call_soon(launch)

        tracker = SetupTracker(completed)
        self.tracker = tracker
        try:
            launch()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), timeout)
            if on_finished is not None:
                on_finished()
            # Let in-flight deliveries finish (bounded), for the end-to-end figures.
            end = time.monotonic() + min(1.0, max(0.0, timeout / 10))
            while time.monotonic() < end and any(
                s.t_done is not None and s.t_delivered is None and s.how != "table-hit"
                for s in started[-window:]
            ):
                await asyncio.sleep(0.02)
        finally:
            self.tracker = None
        return started


# ============================================================================ helpers
async def wait_until(
    cond: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
        await asyncio.sleep(interval)


async def wait_until_async(
    cond: Callable[[], Any], timeout: float, what: str, interval: float = 0.2
) -> None:
    deadline = time.monotonic() + timeout
    while not await cond():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
        await asyncio.sleep(interval)


def _get_json(url: str) -> Any:
    if not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        raise ValueError("REST URL must be on loopback")
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


async def rest_get(url: str) -> Any:
    """GET a JSON document in a worker thread; None when it fails."""
    try:
        return await asyncio.to_thread(_get_json, url)
    except (OSError, ValueError):
        return None


def parse_controller(spec: str | tuple[str, int]) -> tuple[str, int]:
    if isinstance(spec, tuple):
        return spec
    host, _, port = spec.rpartition(":")
    return host or "127.0.0.1", int(port)


def proc_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process (Linux /proc), None if unavailable."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU use of this process (the emulator) and optionally the controller over a span."""

    def __init__(self, controller_pid: int | None = None) -> None:
        self.pid = controller_pid
        self.t0 = time.monotonic()
        self.own0 = time.process_time()
        self.ctl0 = proc_cpu_seconds(controller_pid)

    def report(self) -> dict[str, Any]:
        wall = max(1e-9, time.monotonic() - self.t0)
        out: dict[str, Any] = {
            "wall_s": round(wall, 3),
            "emulator_cpu_util": round((time.process_time() - self.own0) / wall, 3),
        }
        ctl1 = proc_cpu_seconds(self.pid)
        if self.ctl0 is not None and ctl1 is not None:
            out["controller_cpu_util"] = round((ctl1 - self.ctl0) / wall, 3)
        return out


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    xs = sorted(values)
    k = max(0, min(len(xs) - 1, round(q / 100 * len(xs) + 0.5) - 1))
    return xs[k]


def choose_pairs(
    hosts: Sequence[Host], n: int, seed: int = 1, cross_switch: bool = True
) -> list[tuple[Host, Host]]:
    """Up to ``n`` distinct unordered host pairs (random sender side), hosts on
    different switches when ``cross_switch``."""
    rng = random.Random(seed)
    seen: set[tuple[int, int]] = set()
    out: list[tuple[Host, Host]] = []
    if len(hosts) < 2:
        return out
    for _ in range(n * 20 + 100):
        if len(out) >= n:
            break
        a, b = rng.choice(hosts), rng.choice(hosts)
        if a is b or (cross_switch and a.dpid == b.dpid):
            continue
        key = (min(a.number, b.number), max(a.number, b.number))
        if key in seen:
            continue
        seen.add(key)
        out.append((a, b))
    return out


def summarize_setups(setups: Sequence[Setup]) -> dict[str, Any]:
    real = [s for s in setups if s.how != "table-hit"]
    done = [s for s in real if s.t_done is not None]
    lat = [(s.t_done - s.t_sent) * 1e3 for s in done if s.t_done is not None]
    e2e = [(s.t_delivered - s.t_sent) * 1e3 for s in real if s.t_delivered is not None]
    span = (
        max(s.t_done for s in done if s.t_done is not None) - min(s.t_sent for s in done)
        if done
        else 0.0
    )
    hows = collections.Counter(s.how for s in done)

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return {
        "started": len(real),
        "completed": len(done),
        "incomplete": len(real) - len(done),
        "skipped_table_hit": len(setups) - len(real),
        "completed_by": dict(hows),
        "span_s": round(span, 3),
        "setups_per_s": round(len(done) / span, 1) if span > 0 else None,
        "latency_ms_p50": r(percentile(lat, 50)),
        "latency_ms_p99": r(percentile(lat, 99)),
        "latency_ms_max": r(max(lat) if lat else None),
        "delivered": len(e2e),
        "delivered_ms_p50": r(percentile(e2e, 50)),
        "delivered_ms_p99": r(percentile(e2e, 99)),
    }


def _counter_delta(
    after: collections.Counter[str], before: collections.Counter[str]
) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in sorted(after.items()) if v - before.get(k, 0)}


# ============================================================================ runs
async def run_discovery(
    controller: str | tuple[str, int],
    topo: Topology,
    rest_url: str,
    timeout: float = 60,
    controller_pid: int | None = None,
    hold: float = 0.0,
) -> dict[str, Any]:
    """Connect the topology and time until GET /v1/health reports every switch and
    link. Times are seconds from the first connect attempt. With ``hold``, stay
    connected that many seconds more and report the steady-state message rates (and
    the controller's CPU use when ``controller_pid`` is given) under ``steady``."""
    emu = Emulator(topo, parse_controller(controller))
    cpu = CpuMeter(controller_pid)
    t0 = time.monotonic()
    result: dict[str, Any] = {
        "switches": topo.n_switches,
        "links": topo.n_links,
        "hosts": len(topo.hosts),
    }
    try:
        rep = await emu.start(timeout)
        result.update(
            connect_s=round(rep.connect_s, 3),
            features_s=round(rep.features_s, 3),
            handshake_s=round(rep.handshake_s, 3),
        )
        try:
            await emu.wait_discovered(rest_url, max(1.0, timeout - (time.monotonic() - t0)))
            result["discovered_s"] = round(time.monotonic() - t0, 3)
        except TimeoutError as exc:
            result["discovered_s"] = None
            result["error"] = str(exc)
        result.update(cpu.report())
        health = await rest_get(f"{rest_url}/v1/health")
        if isinstance(health, dict):
            result["controller_counters"] = health.get("counters")
        if hold > 0:
            before = collections.Counter(emu.counters)
            steady = CpuMeter(controller_pid)
            await asyncio.sleep(hold)
            health = await rest_get(f"{rest_url}/v1/health")
            result["steady"] = {
                **steady.report(),
                "per_s": {
                    k: round(v / hold, 1) for k, v in _counter_delta(emu.counters, before).items()
                },
                "links_at_end": health.get("links") if isinstance(health, dict) else None,
            }
        result["messages"] = dict(sorted(emu.counters.items()))
        result["lldp_per_s"] = round(
            emu.counters["packet_outs_lldp"] / max(1e-9, time.monotonic() - t0), 1
        )
    finally:
        await emu.stop()
    return result


async def run_idle(
    controller: str | tuple[str, int],
    topo: Topology,
    duration: float = 10,
    controller_pid: int | None = None,
) -> dict[str, Any]:
    """Connect, then only answer the controller for ``duration`` seconds; reports the
    message rates the controller generates on its own."""
    emu = Emulator(topo, parse_controller(controller))
    try:
        rep = await emu.start(min(60.0, duration + 30))
        before = collections.Counter(emu.counters)
        cpu = CpuMeter(controller_pid)
        await asyncio.sleep(duration)
        msgs = _counter_delta(emu.counters, before)
        return {
            "switches": topo.n_switches,
            "links": topo.n_links,
            "connect_s": round(rep.connect_s, 3),
            "handshake_s": round(rep.handshake_s, 3),
            **cpu.report(),
            "per_s": {k: round(v / duration, 1) for k, v in msgs.items()},
        }
    finally:
        await emu.stop()


async def run_flowsetup(
    controller: str | tuple[str, int],
    topo: Topology,
    pairs: int,
    timeout: float = 60,
    *,
    rest_url: str | None = None,
    window: int = 16,
    seed: int = 1,
    controller_pid: int | None = None,
    learn: bool = True,
    lenient_handshake: bool = False,
) -> dict[str, Any]:
    """Flow setups/s and latency (see the module docstring). With ``rest_url`` (our
    app) the run first waits for discovery and the access-port quiet period and checks
    host learning through REST; without it (e.g. simple_switch_13) it waits for the
    controller to go quiet. ``timeout`` bounds the measured phase; the preparation is
    bounded separately (at most 60 s)."""
    emu = Emulator(topo, parse_controller(controller))
    chosen = choose_pairs(topo.hosts, pairs, seed)
    result: dict[str, Any] = {
        "switches": topo.n_switches,
        "links": topo.n_links,
        "hosts": len(topo.hosts),
        "pairs_requested": pairs,
        "pairs": len(chosen),
        "window": window,
    }
    t0 = time.monotonic()
    prep_timeout = 60.0
    try:
        rep = await emu.start(prep_timeout, port_desc=not lenient_handshake)
        result["handshake_s"] = round(rep.handshake_s, 3)
        result.update(await emu.prepare(rest_url, prep_timeout - (time.monotonic() - t0), learn))
        before = collections.Counter(emu.counters)
        cpu = CpuMeter(controller_pid)
        usage: dict[str, Any] = {}
        messages: dict[str, int] = {}

        def finished() -> None:
            usage.update(cpu.report())
            messages.update(_counter_delta(emu.counters, before))

        with quiet_collector():
            setups = await emu.flowsetup(chosen, window, timeout, on_finished=finished)
        result.update(summarize_setups(setups))
        result.update(usage)
        result["messages"] = messages
        if emu.notes:
            result["notes"] = emu.notes
    finally:
        await emu.stop()
    return result


@contextlib.contextmanager
def quiet_collector() -> Iterator[None]:
    """The emulator's own garbage collector out of the measurement, as the controller
    does for itself (``controller.app.GC_THRESHOLDS``): what exists is frozen, young
    collections are rarer. Its flow tables grow by tens of thousands of entries in a
    run, and the full collections they set off paused the emulator for every switch at
    once: 0.17 s of collections in a 4,000-pair run, which held our app's setups back
    (it answers in more messages than a learning switch) and the two apps' ratio."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


# ============================================================================ responder
class TrivialResponder(asyncio.Protocol):
    """A minimal OpenFlow 1.3 controller: installs a table-miss entry, then answers each
    PACKET_IN at once with a FlowMod (in_port, eth_src, eth_dst -> IN_PORT) and a
    PacketOut through the table. It stands in for an infinitely fast controller."""

    handled = 0

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(hello(1) + message(OFPT_FEATURES_REQUEST, 2))

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        off, n = 0, len(buf)
        while n - off >= 8:
            length = (buf[off + 2] << 8) | buf[off + 3]
            if length < 8 or n - off < length:
                break
            msg = bytes(buf[off : off + length])
            off += length
            mtype, xid = msg[1], int.from_bytes(msg[4:8], "big")
            if mtype == OFPT_PACKET_IN:
                pi = decode_packet_in(msg)
                d = pi.data
                in_port = pi.match.in_port if pi.match.in_port is not None else 0
                m = Match(in_port=in_port, eth_dst=d[0:6], eth_src=d[6:12])
                out.append(encode_flow_mod(m, (OFPP_IN_PORT,), priority=10, xid=xid))
                out.append(encode_packet_out(in_port, (OFPP_TABLE,), d, xid))
                TrivialResponder.handled += 1
            elif mtype == OFPT_ECHO_REQUEST:
                out.append(message(OFPT_ECHO_REPLY, xid, msg[8:]))
            elif mtype == OFPT_FEATURES_REPLY:
                out.append(encode_flow_mod(EMPTY_MATCH, (OFPP_CONTROLLER,), xid=3))
        del buf[:off]
        if out and self.transport is not None:
            self.transport.write(b"".join(out))


async def serve_responder(host: str, port: int, duration: float) -> int:
    """Run the trivial responder for at most ``duration`` seconds (or until SIGTERM);
    returns how many packet-ins it answered."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(TrivialResponder, host, port)
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration)
    return TrivialResponder.handled


async def ceiling(
    topo: Topology | None = None,
    pairs: int = 5000,
    timeout: float = 30,
    window: int = 64,
    seed: int = 1,
) -> dict[str, Any]:
    """The emulator's own ceiling: flow setups/s against the trivial responder, run in a
    child process (as a real controller would be) on a free loopback port. The default
    topology is ``tree,3,2`` with 4 hosts on every switch."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    emulated = topo if topo is not None else Topology.from_spec(topology_spec.tree(3, 2), 4)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "testbed.ofemu",
        "--mode",
        "responder",
        "--listen",
        f"127.0.0.1:{port}",
        "--duration",
        str(timeout + 90),
        cwd=str(ROOT),
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:

        async def listening() -> bool:
            try:
                _r, w = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return False
            w.close()
            return True

        await wait_until_async(listening, 10, "the trivial responder to listen", interval=0.1)
        res = await run_flowsetup(
            ("127.0.0.1", port),
            emulated,
            pairs,
            timeout,
            window=window,
            seed=seed,
            controller_pid=proc.pid,
            learn=False,
            lenient_handshake=True,
        )
        res["controller"] = "trivial responder (testbed.ofemu --mode responder)"
        return res
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()


# ============================================================================ CLI
def _hosts_per_switch(text: str) -> int | None:
    """``--hosts``: a count >= 0, or 'spec' (None: the topology's own hosts)."""
    if text == "spec":
        return None
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count or 'spec', got {text!r}") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"expected a count >= 0, got {count}")
    return count


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="testbed.ofemu", description=__doc__.split("\n\n")[0] if __doc__ else ""
    )
    p.add_argument("--controller", default="127.0.0.1:6653", help="HOST:PORT (loopback)")
    p.add_argument(
        "--topo",
        default="ring,4",
        help=f"NAME[,ARGS] as for mn --topo; names: {', '.join(topology_spec.SPEC_NAMES)} "
        "(regular,N,D = random,N,D)",
    )
    p.add_argument(
        "--hosts",
        type=_hosts_per_switch,
        default=1,
        help="host ports per switch, or 'spec' for the topology's own hosts (as in Mininet)",
    )
    p.add_argument("--pairs", type=int, default=100, help="flow setups (new host pairs)")
    p.add_argument("--window", type=int, default=16, help="flow setups in flight")
    p.add_argument("--duration", type=float, default=30, help="bound of the measured phase, s")
    p.add_argument(
        "--mode",
        default="discover",
        choices=["discover", "flowsetup", "idle", "ceiling", "responder"],
    )
    p.add_argument("--rest", default=None, help="our app's REST base URL (loopback)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--controller-pid", type=int, default=None, help="report its CPU use")
    p.add_argument("--listen", default="127.0.0.1:0", help="responder mode: HOST:PORT")
    args = p.parse_args(argv)
    try:
        if args.mode == "responder":
            host, port = parse_controller(args.listen)
            n = asyncio.run(serve_responder(host, port, args.duration))
            print(json.dumps({"packet_ins_answered": n}))
            return 0
        topo = Topology.from_spec(parse_topo(args.topo), args.hosts)
        ctl = parse_controller(args.controller)
        if args.mode == "discover":
            if not args.rest:
                p.error("--mode discover needs --rest (our app's REST URL)")
            res = asyncio.run(
                run_discovery(ctl, topo, args.rest, args.duration, args.controller_pid)
            )
        elif args.mode == "flowsetup":
            res = asyncio.run(
                run_flowsetup(
                    ctl,
                    topo,
                    args.pairs,
                    args.duration,
                    rest_url=args.rest,
                    window=args.window,
                    seed=args.seed,
                    controller_pid=args.controller_pid,
                )
            )
        elif args.mode == "idle":
            res = asyncio.run(run_idle(ctl, topo, args.duration, args.controller_pid))
        else:
            res = asyncio.run(ceiling(topo, args.pairs, args.duration, args.window, args.seed))
    except (TimeoutError, ConnectionError, ValueError) as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    res["topo"] = args.topo
    print(json.dumps(res, indent=2))
    return 0 if not res.get("error") else 1


if __name__ == "__main__":
    sys.exit(main())
