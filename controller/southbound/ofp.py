"""Plain message descriptions (southbound.messages) to OpenFlow 1.3 messages.

Uses Ryu's message classes (``ryu.ofproto``) but no event machinery, so tests can
build and inspect real messages without a switch.
"""

from __future__ import annotations

import functools
import struct
from typing import Any

from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from controller.network.model import PortInfo
from controller.southbound.messages import (
    EchoRequest,
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
    PortCounters,
    PortStatsRequest,
)


def to_ofp_match(m: Match) -> Any:
    fields: dict[str, Any] = {}
    if m.in_port is not None:
        fields["in_port"] = m.in_port
    if m.eth_type is not None:
        fields["eth_type"] = m.eth_type
    if m.eth_src is not None:
        fields["eth_src"] = m.eth_src
    if m.eth_dst is not None:
        fields["eth_dst"] = m.eth_dst
    return parser.OFPMatch(**fields)


def to_ofp(datapath: Any, msg: Message) -> Any:
    """One Ryu message for ``datapath`` from a plain description."""
    if isinstance(msg, FlowAdd):
        if msg.out_port == ofp.OFPP_CONTROLLER:
            actions = [parser.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)]
        else:
            actions = [parser.OFPActionOutput(msg.out_port)]
        inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
        if msg.meter_id is not None:  # the meter instruction runs first (OF 1.3.5 5.9)
            inst.insert(0, parser.OFPInstructionMeter(msg.meter_id, ofp.OFPIT_METER))
        return parser.OFPFlowMod(
            datapath,
            cookie=msg.cookie,
            command=ofp.OFPFC_ADD,
            priority=msg.priority,
            idle_timeout=msg.idle_timeout,
            hard_timeout=msg.hard_timeout,
            flags=ofp.OFPFF_SEND_FLOW_REM if msg.notify_removal else 0,
            match=to_ofp_match(msg.match),
            instructions=inst,
        )
    if isinstance(msg, FlowDelete):
        strict = msg.match is not None
        return parser.OFPFlowMod(
            datapath,
            cookie=msg.cookie,
            cookie_mask=msg.cookie_mask,
            command=ofp.OFPFC_DELETE_STRICT if strict else ofp.OFPFC_DELETE,
            table_id=ofp.OFPTT_ALL,
            priority=msg.priority if strict else 0,
            out_port=ofp.OFPP_ANY,
            out_group=ofp.OFPG_ANY,
            match=to_ofp_match(msg.match) if msg.match is not None else parser.OFPMatch(),
        )
    if isinstance(msg, PacketOut):
        actions = [parser.OFPActionOutput(p) for p in msg.out_ports]
        return parser.OFPPacketOut(
            datapath,
            buffer_id=ofp.OFP_NO_BUFFER,
            in_port=msg.in_port,
            actions=actions,
            data=msg.data,
        )
    if isinstance(msg, PortStatsRequest):
        return parser.OFPPortStatsRequest(datapath, 0, ofp.OFPP_ANY)
    if isinstance(msg, FlowStatsRequest):
        return parser.OFPFlowStatsRequest(
            datapath,
            0,
            ofp.OFPTT_ALL,
            ofp.OFPP_ANY,
            ofp.OFPG_ANY,
            msg.cookie,
            msg.cookie_mask,
            parser.OFPMatch(),
        )
    if isinstance(msg, EchoRequest):
        return parser.OFPEchoRequest(datapath, data=msg.data)
    if isinstance(msg, MeterFeaturesRequest):
        return parser.OFPMeterFeaturesStatsRequest(datapath, 0)
    if isinstance(msg, MeterSet):
        return parser.OFPMeterMod(
            datapath,
            command=ofp.OFPMC_MODIFY if msg.modify else ofp.OFPMC_ADD,
            flags=ofp.OFPMF_PKTPS | ofp.OFPMF_BURST,
            meter_id=msg.meter_id,
            bands=[parser.OFPMeterBandDrop(rate=msg.rate_pps, burst_size=msg.burst)],
        )
    raise TypeError(f"cannot translate {type(msg).__name__}")


# --- FlowMod encoded with struct: Ryu's OFPMatch (MAC strings to bytes) took over a third
# of the controller's time in the flow-setup benchmark. Layout per OpenFlow 1.3.5 §7.3.4.
_HEADER = struct.Struct("!BBHI")
_FLOW_MOD = struct.Struct("!QQBBHHHIIIH2x")
_MATCH_HEAD = struct.Struct("!HH")
_INSTRUCTION = struct.Struct("!HH4x")
_METER_INSTRUCTION = struct.Struct("!HHI")
_OUTPUT = struct.Struct("!HHIH6x")
_OXM_IN_PORT = struct.Struct("!II")
_OXM_MAC = struct.Struct("!I6s")
_OXM_ETH_TYPE = struct.Struct("!IH")
OXM_IN_PORT, OXM_ETH_DST, OXM_ETH_SRC, OXM_ETH_TYPE = 0x80000004, 0x80000606, 0x80000806, 0x80000A02


@functools.lru_cache(maxsize=8192)
def _mac(mac: str) -> bytes:
    """Six bytes of a MAC (cached: a network's hosts' MACs recur in every flow)."""
    return bytes.fromhex(mac.replace(":", ""))


# header | fixed part | match head | in_port | eth_dst | eth_src | instruction | output
_PATH_FLOW = struct.Struct("!BBHI" + "QQBBHHHIIIH2x" + "HH" + "II" + "I6s" * 2 + "HH4x" + "HHIH6x")
"""A whole FlowAdd of the path flows' shape (in_port, eth_dst, eth_src; one output; no
meter): header, fixed part, a 32-byte match (no padding), an apply-actions instruction."""


def encode_match(m: Match) -> bytes:
    """An OXM ``ofp_match``, padded to a multiple of 8 bytes."""
    fields = b""
    if m.in_port is not None:
        fields += _OXM_IN_PORT.pack(OXM_IN_PORT, m.in_port)
    if m.eth_dst is not None:
        fields += _OXM_MAC.pack(OXM_ETH_DST, _mac(m.eth_dst))
    if m.eth_src is not None:
        fields += _OXM_MAC.pack(OXM_ETH_SRC, _mac(m.eth_src))
    if m.eth_type is not None:
        fields += _OXM_ETH_TYPE.pack(OXM_ETH_TYPE, m.eth_type)
    length = 4 + len(fields)
    return _MATCH_HEAD.pack(ofp.OFPMT_OXM, length) + fields + bytes((-length) % 8)


def encode_flow_add(msg: FlowAdd, xid: int = 0) -> bytes:
    """The wire bytes of :func:`to_ofp` for a FlowAdd (same fields), built with struct."""
    m = msg.match
    if (
        m.in_port is not None
        and m.eth_dst is not None
        and m.eth_src is not None
        and m.eth_type is None
        and msg.meter_id is None
        and msg.out_port != ofp.OFPP_CONTROLLER
    ):  # a path flow: thousands a second, one pack
        return _PATH_FLOW.pack(
            ofp.OFP_VERSION, ofp.OFPT_FLOW_MOD, _PATH_FLOW.size, xid,
            msg.cookie, 0, 0, ofp.OFPFC_ADD, msg.idle_timeout, msg.hard_timeout,
            msg.priority, ofp.OFP_NO_BUFFER, 0, 0,
            ofp.OFPFF_SEND_FLOW_REM if msg.notify_removal else 0,
            ofp.OFPMT_OXM, 32, OXM_IN_PORT, m.in_port, OXM_ETH_DST, _mac(m.eth_dst),
            OXM_ETH_SRC, _mac(m.eth_src), ofp.OFPIT_APPLY_ACTIONS, 24,
            ofp.OFPAT_OUTPUT, 16, msg.out_port, ofp.OFPCML_MAX,
        )  # fmt: skip
    return encode_flow_add_any(msg, xid)


def encode_flow_add_any(msg: FlowAdd, xid: int = 0) -> bytes:
    """:func:`encode_flow_add` for a FlowAdd of any shape, field by field."""
    max_len = ofp.OFPCML_NO_BUFFER if msg.out_port == ofp.OFPP_CONTROLLER else ofp.OFPCML_MAX
    actions = _OUTPUT.pack(ofp.OFPAT_OUTPUT, 16, msg.out_port, max_len)
    body = (
        _FLOW_MOD.pack(
            msg.cookie,
            0,
            0,
            ofp.OFPFC_ADD,
            msg.idle_timeout,
            msg.hard_timeout,
            msg.priority,
            ofp.OFP_NO_BUFFER,
            0,  # out_port and out_group: ignored by an ADD (and what Ryu sends)
            0,
            ofp.OFPFF_SEND_FLOW_REM if msg.notify_removal else 0,
        )
        + encode_match(msg.match)
        + (
            b""
            if msg.meter_id is None
            else _METER_INSTRUCTION.pack(ofp.OFPIT_METER, 8, msg.meter_id)
        )
        + _INSTRUCTION.pack(ofp.OFPIT_APPLY_ACTIONS, 8 + len(actions))
        + actions
    )
    return _HEADER.pack(ofp.OFP_VERSION, ofp.OFPT_FLOW_MOD, 8 + len(body), xid) + body


_PACKET_OUT = struct.Struct("!IIH6x")


def encode_packet_out(msg: PacketOut, xid: int = 0) -> bytes:
    """The wire bytes of :func:`to_ofp` for a PacketOut, built with struct (probes,
    floods and released packets: thousands a second on a large network)."""
    actions = b"".join(_OUTPUT.pack(ofp.OFPAT_OUTPUT, 16, p, ofp.OFPCML_MAX) for p in msg.out_ports)
    body = _PACKET_OUT.pack(ofp.OFP_NO_BUFFER, msg.in_port, len(actions)) + actions + msg.data
    return _HEADER.pack(ofp.OFP_VERSION, ofp.OFPT_PACKET_OUT, 8 + len(body), xid) + body


_MULTIPART_REQUEST = struct.Struct("!HH4x")
_PORT_STATS_BODY = struct.Struct("!I4x")


def encode_echo_request(msg: EchoRequest, xid: int = 0) -> bytes:
    """The wire bytes of :func:`to_ofp` for an EchoRequest (one per switch per round)."""
    return _HEADER.pack(ofp.OFP_VERSION, ofp.OFPT_ECHO_REQUEST, 8 + len(msg.data), xid) + msg.data


def encode_port_stats_request(xid: int = 0) -> bytes:
    """The wire bytes of :func:`to_ofp` for a PortStatsRequest (every port, no flags)."""
    body = _MULTIPART_REQUEST.pack(ofp.OFPMP_PORT_STATS, 0) + _PORT_STATS_BODY.pack(ofp.OFPP_ANY)
    return _HEADER.pack(ofp.OFP_VERSION, ofp.OFPT_MULTIPART_REQUEST, 8 + len(body), xid) + body


def encode_barrier(xid: int) -> bytes:
    """The wire bytes of a barrier request with ``xid`` (one per install stage)."""
    return _HEADER.pack(ofp.OFP_VERSION, ofp.OFPT_BARRIER_REQUEST, 8, xid)


def role_request(datapath: Any, master: bool, generation: int) -> Any:
    """OFPRoleRequest MASTER or SLAVE with the leadership's generation id (the switch
    refuses one lower than it has seen: a deposed leader's late request)."""
    role = ofp.OFPCR_ROLE_MASTER if master else ofp.OFPCR_ROLE_SLAVE
    return parser.OFPRoleRequest(datapath, role, generation & 0xFFFF_FFFF_FFFF_FFFF)


def barrier(datapath: Any, xid: int) -> Any:
    req = parser.OFPBarrierRequest(datapath)
    req.xid = xid
    return req


def port_info(p: Any) -> PortInfo:
    """A Ryu ``OFPPort`` (from port description or port status) as :class:`PortInfo`."""
    name = p.name.decode(errors="replace") if isinstance(p.name, bytes) else str(p.name)
    down = bool(p.config & ofp.OFPPC_PORT_DOWN) or bool(p.state & ofp.OFPPS_LINK_DOWN)
    return PortInfo(
        port_no=p.port_no,
        name=name,
        hw_addr=p.hw_addr,
        up=not down,
        speed_bps=int(p.curr_speed) * 1000,
    )


_MATCH_FIELDS = {"in_port", "eth_src", "eth_dst", "eth_type"}


def flow_counters(stats: Any) -> FlowCounters:
    """One entry of a Ryu ``OFPFlowStatsReply`` body as :class:`FlowCounters`: counters,
    and what the entry is (its match and output, when they are of a shape we install)."""
    return FlowCounters(
        stats.cookie,
        stats.byte_count,
        stats.packet_count,
        match=_plain_match(stats.match),
        out_port=_single_output(stats.instructions),
        priority=stats.priority,
        idle_timeout=stats.idle_timeout,
        hard_timeout=stats.hard_timeout,
    )


def _plain_match(m: Any) -> Match | None:
    """A Ryu ``OFPMatch`` as :class:`Match`; None when it has other or masked fields."""
    fields = dict(m.items())
    if not set(fields) <= _MATCH_FIELDS:
        return None
    macs = (fields.get("eth_src"), fields.get("eth_dst"))
    if any(v is not None and not isinstance(v, str) for v in macs):
        return None  # masked (a tuple): not one of ours
    if any(not isinstance(fields.get(k, 0), int) for k in ("in_port", "eth_type")):
        return None
    return Match(
        in_port=fields.get("in_port"),
        eth_src=macs[0].lower() if macs[0] else None,
        eth_dst=macs[1].lower() if macs[1] else None,
        eth_type=fields.get("eth_type"),
    )


def _single_output(instructions: Any) -> int | None:
    """The port of an entry whose only instruction applies one output action, else None."""
    if len(instructions) != 1 or instructions[0].type != ofp.OFPIT_APPLY_ACTIONS:
        return None
    actions = instructions[0].actions
    if len(actions) != 1 or not isinstance(actions[0], parser.OFPActionOutput):
        return None
    return int(actions[0].port)


def meter_features(stats: Any) -> MeterFeatures:
    """A Ryu ``OFPMeterFeaturesStats`` as :class:`MeterFeatures`."""
    return MeterFeatures(
        max_meter=stats.max_meter,
        band_types=stats.band_types,
        capabilities=stats.capabilities,
        max_bands=stats.max_bands,
    )


def port_counters(stats: Any) -> PortCounters:
    """One entry of a Ryu ``OFPPortStatsReply`` body as :class:`PortCounters`."""
    return PortCounters(
        port_no=stats.port_no,
        tx_bytes=stats.tx_bytes,
        rx_bytes=stats.rx_bytes,
        tx_packets=stats.tx_packets,
        rx_packets=stats.rx_packets,
        tx_dropped=stats.tx_dropped,
        rx_dropped=stats.rx_dropped,
        tx_errors=stats.tx_errors,
        rx_errors=stats.rx_errors,
    )
