"""Handle the busiest switch messages straight from their bytes (no Ryu objects).

Packet-ins, barrier replies (with errors, which must stay in order with them), port-stats
replies and echo replies are nearly all a controller reads from its switches. Ryu turns
each one into parsed objects (an ``OFPMatch`` of OXM fields, a stats entry per port), an
event, a trip through the app's event queue and a greenlet switch; at 1,000 switches
that alone kept a core busy. These decoders read the few
fields the controller uses with ``struct``, and run on messages that
:mod:`controller.southbound.ofguard` has already walked and accepted, so every length
here is known to be in bounds. A unit test checks them against Ryu's own parser on
generated and mutated messages.

Everything else (flow-removed, port status, other multiparts, ...) keeps Ryu's path.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from typing import Any, Protocol

from controller.southbound.messages import PortCounters

log = logging.getLogger("controller.southbound")

ERROR, ECHO_REPLY, PACKET_IN, MULTIPART_REPLY, BARRIER_REPLY = 1, 3, 10, 19, 21
OFPET_EXPERIMENTER = 0xFFFF
MP_PORT_STATS = 4
OFPXMC_OPENFLOW_BASIC, OFPXMT_OFB_IN_PORT = 0x8000, 0

_HDR = 8
_PACKET_IN = struct.Struct("!IHBBQ")  # buffer_id, total_len, reason, table_id, cookie
_MATCH_HDR = struct.Struct("!HH")  # type, length
_OXM_HDR = struct.Struct("!I")
_U32 = struct.Struct("!I")
_U16 = struct.Struct("!H")
_ERROR = struct.Struct("!HH")
_MP_HDR = struct.Struct("!HH4x")  # type, flags, pad
_PORT_STATS = struct.Struct("!I4x12Q")  # port_no, pad, 12 counters (durations ignored)
PORT_STATS_LEN = 112

FAST_TYPES = frozenset((ERROR, ECHO_REPLY, PACKET_IN, MULTIPART_REPLY, BARRIER_REPLY))
"""Message types worth a look; a multipart reply is taken only for port stats. Errors
and barrier replies go together: an error comes before the barrier reply of its stage,
and both must keep that order."""


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


def error(buf: bytes) -> tuple[int, int]:
    """``(type, code)`` of an error message (Undecodable for an experimenter error)."""
    err_type, code = _ERROR.unpack_from(buf, _HDR)
    if err_type == OFPET_EXPERIMENTER:
        raise Undecodable("experimenter error")
    return err_type, code


def xid(buf: bytes) -> int:
    """The transaction id of any message."""
    return int(_U32.unpack_from(buf, 4)[0])


def echo_data(buf: bytes) -> bytes:
    """The data an echo reply carries back."""
    return bytes(buf[_HDR:])


class Core(Protocol):
    def on_packet_in(self, dpid: int, in_port: int, data: bytes, now: float) -> None: ...
    def on_barrier_reply(self, dpid: int, xid: int, now: float) -> None: ...
    def on_port_stats(self, dpid: int, counters: list[PortCounters], now: float) -> None: ...
    def on_echo_reply(self, dpid: int, data: bytes, now: float) -> None: ...


class FastPath:
    """The guard's ``fast`` hook (see :func:`controller.southbound.ofguard.install`): runs
    on the connection's greenlet, with the checks of the shell's Ryu handlers (only the
    dpid's holder counts; a standby reads echo replies only). Returns False to hand a
    message to Ryu; a defect of ours is logged, never closes the switch's connection."""

    def __init__(
        self,
        sessions: Any,
        transport: Any,
        core: Core,
        on_error: Callable[[int, int, int, int], None],
        flush_soon: Callable[[], None],
    ) -> None:
        self.sessions, self.transport, self.core = sessions, transport, core
        self.on_error, self.flush_soon = on_error, flush_soon

    def __call__(self, dp: Any, msg_type: int, msg: bytes) -> bool:
        if msg_type not in FAST_TYPES:
            return False
        now = time.monotonic()
        try:
            if msg_type == PACKET_IN:
                in_port, frame = packet_in(msg)
            elif msg_type == MULTIPART_REPLY:
                counters = port_stats(msg)  # other multiparts: Ryu's
            elif msg_type == ERROR:
                err_type, err_code = error(msg)  # experimenter errors: Ryu's
            elif msg_type == ECHO_REPLY:
                self.sessions.heard(dp, now)  # a contested holder answering, maybe
                dp.acknowledge_echo_reply(xid(msg))  # as Ryu's own handler does
        except Undecodable:
            return False
        dpid = self.sessions.owner(dp)
        if dpid is None or (self.transport.passive and msg_type != ECHO_REPLY):
            return True
        try:
            if msg_type == PACKET_IN:
                if in_port is not None:
                    self.core.on_packet_in(dpid, in_port, frame, now)
            elif msg_type == BARRIER_REPLY:
                self.core.on_barrier_reply(dpid, xid(msg), now)
            elif msg_type == MULTIPART_REPLY:
                self.core.on_port_stats(dpid, counters, now)
            elif msg_type == ERROR:
                self.on_error(dpid, xid(msg), err_type, err_code)
            else:
                self.core.on_echo_reply(dpid, echo_data(msg), now)
        except Exception:
            log.exception("switch %016x: message type %d", dpid, msg_type)
        finally:
            self.flush_soon()
        return True
