"""Decode the busiest switch messages straight from their bytes (no Ryu objects).

Packet-ins, port-stats replies and echo replies are nearly all a controller reads from
its switches. Ryu turns each one into parsed objects (an ``OFPMatch`` of OXM fields, a
stats entry per port), an event, a trip through the app's event queue and a greenlet
switch; at 1,000 switches that alone kept a core busy. These decoders read the few
fields the controller uses with ``struct``, and run on messages that
:mod:`controller.southbound.ofguard` has already walked and accepted, so every length
here is known to be in bounds. A unit test checks them against Ryu's own parser on
generated and mutated messages.

Everything else (barrier replies, errors, flow-removed, port status, ...) keeps Ryu's
path, so replies to what the controller sent stay in the order the switch sent them.
"""

from __future__ import annotations

import struct

from controller.southbound.messages import PortCounters

ECHO_REPLY, PACKET_IN, MULTIPART_REPLY = 3, 10, 19
MP_PORT_STATS = 4
OFPXMC_OPENFLOW_BASIC, OFPXMT_OFB_IN_PORT = 0x8000, 0

_HDR = 8
_PACKET_IN = struct.Struct("!IHBBQ")  # buffer_id, total_len, reason, table_id, cookie
_MATCH_HDR = struct.Struct("!HH")  # type, length
_OXM_HDR = struct.Struct("!I")
_U32 = struct.Struct("!I")
_U16 = struct.Struct("!H")
_MP_HDR = struct.Struct("!HH4x")  # type, flags, pad
_PORT_STATS = struct.Struct("!I4x12Q")  # port_no, pad, 12 counters (durations ignored)
PORT_STATS_LEN = 112

FAST_TYPES = frozenset((ECHO_REPLY, PACKET_IN, MULTIPART_REPLY))
"""Message types worth a look; a multipart reply is taken only for port stats."""


class Undecodable(ValueError):
    """The message is not what this module decodes (Ryu's path takes it instead)."""


def packet_in(buf: bytes) -> tuple[int | None, bytes]:
    """``(in_port, frame)`` of an OpenFlow 1.3 packet-in (in_port None when the match
    has none: the caller ignores such a packet-in, as it does Ryu's)."""
    match_at = _HDR + _PACKET_IN.size
    if len(buf) < match_at + _MATCH_HDR.size:
        raise Undecodable("short packet-in")
    _mtype, mlen = _MATCH_HDR.unpack_from(buf, match_at)
    end = match_at + mlen
    at = match_at + _MATCH_HDR.size
    in_port = None
    while at + 4 <= end:  # the last in_port wins, as in Ryu's OFPMatch.get
        (oxm,) = _OXM_HDR.unpack_from(buf, at)
        length = oxm & 0xFF
        if oxm >> 16 == OFPXMC_OPENFLOW_BASIC and (oxm >> 9) & 0x7F == OFPXMT_OFB_IN_PORT:
            # a masked or odd-sized in_port is no port (Ryu would hand over a tuple)
            plain = oxm & 0x1FF == 4 and at + 8 <= end
            in_port = _U32.unpack_from(buf, at + 4)[0] if plain else None
        at += 4 + length
    data_at = match_at + (mlen + 7) // 8 * 8 + 2
    (total_len,) = _U16.unpack_from(buf, _HDR + 4)
    # as Ryu: total_len trims a switch's padding, never lengthens the frame
    return in_port, bytes(buf[data_at : data_at + total_len])


def port_stats(buf: bytes) -> list[PortCounters]:
    """The counters of a port-stats multipart reply (Undecodable for other multiparts)."""
    mtype, _flags = _MP_HDR.unpack_from(buf, _HDR)
    if mtype != MP_PORT_STATS:
        raise Undecodable("not a port-stats reply")
    out = []
    start = _HDR + _MP_HDR.size
    for at in range(start, len(buf) - PORT_STATS_LEN + 1, PORT_STATS_LEN):
        f = _PORT_STATS.unpack_from(buf, at)  # port_no, rx/tx packets, bytes, drops, errors
        out.append(PortCounters(f[0], f[4], f[3], f[2], f[1], f[6], f[5], f[8], f[7]))
    return out


def xid(buf: bytes) -> int:
    """The transaction id of any message."""
    return int(_U32.unpack_from(buf, 4)[0])


def echo_data(buf: bytes) -> bytes:
    """The data an echo reply carries back."""
    return bytes(buf[_HDR:])
