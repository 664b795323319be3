"""A bounded-time gate in front of Ryu's OpenFlow parser: which received messages it may see.

Ryu 4.34's parser loops forever on zero-length sub-structures (HELLO elements, multipart
entries, instructions, set-field actions) and raises on other lies; under eventlet one such
loop stops the whole controller. :func:`check` walks an OpenFlow 1.3 message (header
included) the way Ryu's parser will, in bounded time (every loop advances by at least four
bytes through at most 64 KiB), and returns a :class:`Verdict`:

* ``ACCEPT``: on the allowlist (below), every variable-length part checked (at least the
  minimum length of its kind, 8-byte multiples where the spec requires them, fixed sizes
  where Ryu assumes them, no overrun of what encloses it), version 0x04 (a HELLO may carry
  any version Ryu has a parser for). Ryu parses such a message without error.
* ``REJECT``: malformed (a lying length, a truncated part, a wrong version): the peer is
  broken or hostile, its byte stream untrustworthy; drop the connection.
* ``IGNORE``: well framed but not on the allowlist (a type a switch has no reason to send
  us, an experimenter message, a multipart reply we never request, a vendor action or OXM
  field Ryu does not know). Framing is by the header's length, so skipping keeps the
  stream in step (a switch with an extension stays connected; Ryu never parses what
  nobody vouched for). Malformation anywhere in a message wins over ignoring.

Allowlist (switch to controller): HELLO, ERROR, ECHO_REQUEST, ECHO_REPLY, FEATURES_REPLY,
GET_CONFIG_REPLY, PACKET_IN, FLOW_REMOVED, PORT_STATUS, BARRIER_REPLY, ROLE_REPLY,
GET_ASYNC_REPLY, and MULTIPART_REPLY of DESC, FLOW, AGGREGATE, TABLE, PORT_STATS, QUEUE,
PORT_DESC, METER_FEATURES. :func:`install` wraps ``ryu.ofproto.ofproto_parser.msg`` (Ryu
calls it for every message): a rejected one (also one that takes a switch past
:data:`~controller.southbound.portcap.MAX_PORTS`) raises :class:`UnsafeMessage` and Ryu
closes that connection; an ignored one yields no event. No Ryu import here.
"""

from __future__ import annotations

import enum
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controller.southbound.ofsizes import (
    ACTION_LIST_INSTRUCTIONS,
    ACTION_SIZES,
    EXPERIMENTER_OXM_VALUE_SIZES,
    INSTRUCTION_SIZES,
    NX_EXPERIMENTER_ID,
    OFPAT_EXPERIMENTER,
    OFPAT_SET_FIELD,
    ONF_EXPERIMENTER_ID,
    ONF_EXT256_VALUE_SIZES,
    OXM_CLASS_EXPERIMENTER,
    OXM_VALUE_SIZES,
)
from controller.southbound.portcap import over_budget

LOG = logging.getLogger(__name__)

OFP_VERSION = 0x04
# HELLO versions Ryu 4.34 parses: 1.0, 1.2 ignore the body; 1.3-1.5 read elements (one loop).
HELLO_BODY_IGNORED = frozenset({0x01, 0x03})
HELLO_WITH_ELEMENTS = frozenset({0x04, 0x05, 0x06})

HEADER, U16, U32, TLV = (struct.Struct(f) for f in ("!BBHI", "!H", "!I", "!HH"))

HELLO, ERROR, ECHO_REQUEST, ECHO_REPLY, EXPERIMENTER, FEATURES_REPLY = 0, 1, 2, 3, 4, 6
GET_CONFIG_REPLY, PACKET_IN, FLOW_REMOVED, PORT_STATUS, MULTIPART_REPLY = 8, 10, 11, 12, 19
BARRIER_REPLY, ROLE_REPLY, GET_ASYNC_REPLY = 21, 25, 27
ALLOWED_TYPES = {
    HELLO: "HELLO", ERROR: "ERROR", ECHO_REQUEST: "ECHO_REQUEST", ECHO_REPLY: "ECHO_REPLY",
    FEATURES_REPLY: "FEATURES_REPLY", GET_CONFIG_REPLY: "GET_CONFIG_REPLY",
    PACKET_IN: "PACKET_IN", FLOW_REMOVED: "FLOW_REMOVED", PORT_STATUS: "PORT_STATUS",
    MULTIPART_REPLY: "MULTIPART_REPLY", BARRIER_REPLY: "BARRIER_REPLY",
    ROLE_REPLY: "ROLE_REPLY", GET_ASYNC_REPLY: "GET_ASYNC_REPLY",
}  # fmt: skip
# Messages of one fixed size (OpenFlow 1.3.5 section 7; Ryu unpacks them at fixed offsets).
FIXED_SIZES = {
    FEATURES_REPLY: 32, GET_CONFIG_REPLY: 12, PORT_STATUS: 80, BARRIER_REPLY: 8,
    ROLE_REPLY: 24, GET_ASYNC_REPLY: 32,
}  # fmt: skip
MP_FLOW = 1
# Multipart replies made of fixed-size entries: subtype -> name, entry size, exactly one.
MULTIPART_ENTRIES = {
    0: ("DESC", 1056, True), 2: ("AGGREGATE", 24, True), 3: ("TABLE", 24, False),
    4: ("PORT_STATS", 112, False), 5: ("QUEUE", 40, False), 13: ("PORT_DESC", 64, False),
    11: ("METER_FEATURES", 16, False),
}  # fmt: skip
ALLOWED_MULTIPART = {MP_FLOW: "FLOW", **{k: v[0] for k, v in MULTIPART_ENTRIES.items()}}

MULTIPART_HEADER_SIZE, OFPMT_OXM = 16, 1
ERROR_SIZE, ERROR_EXPERIMENTER_SIZE, OFPET_HELLO_FAILED, OFPET_EXPERIMENTER = 12, 16, 0, 0xFFFF
# Where the match starts: in a PACKET_IN, a FLOW_REMOVED, a flow-stats entry.
PACKET_IN_MATCH_AT, FLOW_REMOVED_MATCH_AT, FLOW_STATS_MATCH_AT = 24, 48, 48


class Action(enum.Enum):
    ACCEPT = "accept"
    IGNORE = "ignore"
    REJECT = "reject"


@dataclass(frozen=True)
class Verdict:
    """What to do with one received message, and why (empty for ``ACCEPT``)."""

    action: Action
    reason: str = ""


ACCEPTED = Verdict(Action.ACCEPT)


class UnsafeMessage(Exception):
    """A received OpenFlow message the guard rejected; raised so Ryu drops the connection."""

    def __init__(self, reason: str, peer: str = "") -> None:
        super().__init__(f"unsafe OpenFlow message from {peer or 'a peer'}: {reason}")
        self.reason = reason
        self.peer = peer


class _Malformed(Exception):
    """Raised inside the walk; its text is the verdict's reason."""


def _need(condition: bool, reason: str, *args: object) -> None:
    """Raise :class:`_Malformed` with ``reason % args`` (formatted only then) unless true."""
    if not condition:
        raise _Malformed(reason % args)


class _Walk:
    """One message being checked: its bytes and the first ignorable part found."""

    def __init__(self, data: bytes | bytearray) -> None:
        self.data = data
        self.ignore_reason = ""

    def ignore(self, reason: str) -> None:
        self.ignore_reason = self.ignore_reason or reason

    def tlv(self, off: int, end: int, what: str) -> tuple[int, int]:
        """Type and length of the 4-byte type/length header at ``off``, inside ``end``."""
        _need(off + 4 <= end, "%s header overruns its container at offset %s", what, off)
        return TLV.unpack_from(self.data, off)

    def match(self, off: int, end: int) -> int:
        """Check an OXM ``ofp_match`` at ``off``; its length with padding."""
        mtype, length = self.tlv(off, end, "match")
        _need(mtype == OFPMT_OXM, "match type %s is not OXM", mtype)
        _need(length >= 4, "match length %s < 4", length)
        _need(off + length <= end, "match length %s overruns its container", length)
        self.oxm_fields(off + 4, off + length)
        return (length + 7) & ~7

    def oxm_fields(self, off: int, end: int) -> None:
        while off < end:
            _need(off + 4 <= end, "OXM header overruns the match at offset %s", off)
            (header,) = U32.unpack_from(self.data, off)
            off = self.oxm_field(header, off + 4, end)

    def oxm_field(self, header: int, payload: int, end: int) -> int:
        """Check one OXM field whose payload starts at ``payload``; the offset after it."""
        oxm_class, field = header >> 16, (header >> 9) & 0x7F
        has_mask, length = bool(header & 0x100), header & 0xFF
        _need(payload + length <= end, "OXM %#x:%s length %s overruns", oxm_class, field, length)
        value_len = length
        size: int | None
        if oxm_class == OXM_CLASS_EXPERIMENTER:
            _need(length >= 4, "experimenter OXM length %s < 4", length)
            (experimenter,) = U32.unpack_from(self.data, payload)
            if experimenter == ONF_EXPERIMENTER_ID and field == 0:
                _need(length >= 6, "ONF EXT-256 OXM length %s < 6", length)
                (exp_type,) = U16.unpack_from(self.data, payload + 4)
                size, value_len = ONF_EXT256_VALUE_SIZES.get(exp_type), length - 6
            else:
                key = (experimenter, field)
                size, value_len = EXPERIMENTER_OXM_VALUE_SIZES.get(key), length - 4
            if size is None:
                self.ignore(f"experimenter OXM field {experimenter:#x}:{field}")
        else:
            size = OXM_VALUE_SIZES.get((oxm_class, field))
        if has_mask:
            _need(value_len % 2 == 0, "masked OXM %#x:%s of odd length", oxm_class, field)
            value_len //= 2
        _need(value_len > 0, "OXM %#x:%s without a value", oxm_class, field)
        _need(size in (None, value_len), "OXM %#x:%s of %s bytes", oxm_class, field, value_len)
        return payload + length

    def instructions(self, off: int, end: int) -> None:
        while off < end:
            itype, length = self.tlv(off, end, "instruction")
            _need(length >= 8 and length % 8 == 0, "instruction length %s", length)
            _need(off + length <= end, "instruction length %s overruns the entry", length)
            size = INSTRUCTION_SIZES.get(itype)
            if size is not None:
                _need(length == size, "instruction %s length %s, expected %s", itype, length, size)
            elif itype in ACTION_LIST_INSTRUCTIONS:
                self.actions(off + 8, off + length)
            else:
                self.ignore(f"instruction type {itype}")
            off += length

    def actions(self, off: int, end: int) -> None:
        while off < end:
            atype, length = self.tlv(off, end, "action")
            _need(length >= 8 and length % 8 == 0, "action length %s", length)
            _need(off + length <= end, "action length %s overruns its instruction", length)
            size = ACTION_SIZES.get(atype)
            if size is not None:
                _need(length == size, "action %s length %s, expected %s", atype, length, size)
            elif atype == OFPAT_SET_FIELD:
                (header,) = U32.unpack_from(self.data, off + 4)
                _need(not header & 0x100, "set-field with a mask")
                self.oxm_field(header, off + 8, off + length)
            elif atype == OFPAT_EXPERIMENTER:
                (experimenter,) = U32.unpack_from(self.data, off + 4)
                if experimenter == NX_EXPERIMENTER_ID:
                    self.ignore("Nicira action")
            else:
                self.ignore(f"action type {atype}")
            off += length


def _check_hello(w: _Walk, version: int) -> None:
    if version in HELLO_BODY_IGNORED:
        return
    _need(version in HELLO_WITH_ELEMENTS, "HELLO version %#x has no parser", version)
    off, end = 8, len(w.data)
    # Ryu steps by each element's length without the spec's padding: so must we.
    while off < end:
        _etype, length = w.tlv(off, end, "hello element")
        _need(length >= 4, "hello element length %s < 4", length)
        _need(off + length <= end, "hello element length %s overruns the message", length)
        off += length


def _check_error(w: _Walk) -> None:
    data = w.data
    _need(len(data) >= ERROR_SIZE, "ERROR of %s bytes", len(data))
    (etype,) = U16.unpack_from(data, 8)
    if etype == OFPET_EXPERIMENTER:
        _need(len(data) >= ERROR_EXPERIMENTER_SIZE, "experimenter ERROR of %s bytes", len(data))
    elif etype == OFPET_HELLO_FAILED:  # Ryu's handler decodes the text as ASCII
        _need(data[ERROR_SIZE:].isascii(), "HELLO_FAILED text is not ASCII")


def _check_packet_in(w: _Walk) -> None:
    padded = w.match(PACKET_IN_MATCH_AT, len(w.data))
    need = PACKET_IN_MATCH_AT + padded + 2
    _need(need <= len(w.data), "PACKET_IN of %s bytes, match needs %s", len(w.data), need)


def _check_flow_removed(w: _Walk) -> None:
    padded = w.match(FLOW_REMOVED_MATCH_AT, len(w.data))
    _need(len(w.data) <= FLOW_REMOVED_MATCH_AT + padded, "FLOW_REMOVED with bytes after the match")


def _check_flow_stats(w: _Walk, off: int, end: int) -> None:
    while off < end:
        _need(off + 2 <= end, "flow-stats entry header overruns the reply")
        (length,) = U16.unpack_from(w.data, off)
        _need(length >= FLOW_STATS_MATCH_AT + 8, "flow-stats entry length %s < 56", length)
        _need(length % 8 == 0, "flow-stats entry length %s not a multiple of 8", length)
        _need(off + length <= end, "flow-stats entry length %s overruns the reply", length)
        padded = w.match(off + FLOW_STATS_MATCH_AT, off + length)
        _need(FLOW_STATS_MATCH_AT + padded <= length, "flow-stats match overruns its entry")
        w.instructions(off + FLOW_STATS_MATCH_AT + padded, off + length)
        off += length


def _check_multipart_reply(w: _Walk) -> None:
    data = w.data
    _need(len(data) >= MULTIPART_HEADER_SIZE, "MULTIPART_REPLY of %s bytes", len(data))
    (subtype,) = U16.unpack_from(data, 8)
    body = len(data) - MULTIPART_HEADER_SIZE
    if subtype == MP_FLOW:
        _check_flow_stats(w, MULTIPART_HEADER_SIZE, len(data))
    elif subtype in MULTIPART_ENTRIES:
        name, size, single = MULTIPART_ENTRIES[subtype]
        if single and body == 0:
            w.ignore(f"empty {name} reply")  # Ryu indexes the first entry
        elif single:
            _need(body == size, "%s reply body of %s bytes, expected %s", name, body, size)
        else:
            _need(body % size == 0, "%s reply body of %s bytes, entries are %s", name, body, size)
    else:
        w.ignore(f"MULTIPART_REPLY subtype {subtype} not on the allowlist")


_BODY_CHECKS: dict[int, Callable[[_Walk], None]] = {
    ERROR: _check_error, PACKET_IN: _check_packet_in, FLOW_REMOVED: _check_flow_removed,
    MULTIPART_REPLY: _check_multipart_reply,
}  # fmt: skip


def _check(w: _Walk) -> None:
    data = w.data
    _need(len(data) >= 8, "%s bytes, shorter than the OpenFlow header", len(data))
    version, msg_type, length, _xid = HEADER.unpack_from(data)
    _need(length == len(data), "length field %s, message of %s bytes", length, len(data))
    if msg_type == HELLO:
        _check_hello(w, version)
        return
    _need(version == OFP_VERSION, "version %#x, expected %#x", version, OFP_VERSION)
    if msg_type not in ALLOWED_TYPES:
        _need(msg_type != EXPERIMENTER or length >= 16, "EXPERIMENTER of %s bytes", length)
        w.ignore(f"message type {msg_type} not on the allowlist")
        return
    size = FIXED_SIZES.get(msg_type)
    if size is not None:
        _need(length == size, "%s of %s bytes, expected %s", ALLOWED_TYPES[msg_type], length, size)
    body_check = _BODY_CHECKS.get(msg_type)
    if body_check is not None:
        body_check(w)


def check(message: bytes | bytearray | memoryview) -> Verdict:
    """The verdict on one received OpenFlow message (header included), in bounded time."""
    if len(message) == 8 and message[0] == OFP_VERSION:  # a barrier reply: a bare header
        if message[1] == BARRIER_REPLY and message[3] == 8 and not message[2]:
            return ACCEPTED  # the commonest message, what the full walk would answer
    return full_check(message)


def full_check(message: bytes | bytearray | memoryview) -> Verdict:
    """:func:`check` without its shortcut for barrier replies (tests hold them equal)."""
    w = _Walk(message if isinstance(message, bytes | bytearray) else bytes(message))
    try:
        _check(w)
    except _Malformed as exc:
        return Verdict(Action.REJECT, str(exc))
    except struct.error as exc:  # a read the checks above should have made impossible
        return Verdict(Action.REJECT, f"truncated: {exc}")
    if w.ignore_reason:
        return Verdict(Action.IGNORE, w.ignore_reason)
    return ACCEPTED


# ---------------------------------------------------------------------- Ryu hook
_ORIGINAL = "__ofguard_original__"
PeerCallback = Callable[[Any, str], None]


def peer_name(datapath: Any) -> str:
    """``dpid 0000000000000001 at 127.0.0.1:40000``, or just the address before FEATURES."""
    address = getattr(datapath, "address", None)
    where = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
    dpid = getattr(datapath, "id", None)
    return f"dpid {dpid:016x} at {where}" if isinstance(dpid, int) else where


def _notify(callback: PeerCallback | None, datapath: Any, reason: str) -> None:
    try:
        if callback is not None:
            callback(datapath, reason)
    except Exception:  # a broken logger must not let the message through
        LOG.exception("ofguard callback failed")


def install(
    parser_module: Any,
    on_reject: PeerCallback,
    on_ignore: PeerCallback | None = None,
    fast: Callable[[Any, int, bytes], bool] | None = None,
) -> Callable[..., Any]:
    """Guard ``parser_module.msg`` (``ryu.ofproto.ofproto_parser``). Rejected: calls
    ``on_reject(datapath, reason)``, raises :class:`UnsafeMessage` (Ryu closes the link);
    ignored: ``on_ignore(datapath, reason)``, returns None (no event); accepted: first to
    ``fast(datapath, msg_type, msg)`` (True: it handled it). Installing again replaces the
    callbacks, never wraps the guard."""
    original = getattr(parser_module.msg, _ORIGINAL, parser_module.msg)

    def guarded_msg(
        datapath: Any, version: int, msg_type: int, msg_len: int, xid: int, buf: Any
    ) -> Any:
        data = buf[:msg_len] if len(buf) > msg_len else buf
        try:
            verdict = check(data)
        except Exception as exc:  # fail closed
            verdict = Verdict(Action.REJECT, f"guard error {exc!r}")
        if verdict.action is Action.ACCEPT and (why := over_budget(datapath, msg_type, data)):
            verdict = Verdict(Action.REJECT, why)  # a switch's ports are bounded too
        if verdict.action is Action.ACCEPT:
            if fast is not None and fast(datapath, msg_type, data):
                return None
            return original(datapath, version, msg_type, msg_len, xid, buf)
        if verdict.action is Action.IGNORE:
            _notify(on_ignore, datapath, verdict.reason)
            return None
        _notify(on_reject, datapath, verdict.reason)
        raise UnsafeMessage(verdict.reason, peer_name(datapath))

    setattr(guarded_msg, _ORIGINAL, original)
    parser_module.msg = guarded_msg
    return guarded_msg


def uninstall(parser_module: Any) -> None:
    """Put the unguarded ``parser_module.msg`` back (tests)."""
    parser_module.msg = getattr(parser_module.msg, _ORIGINAL, parser_module.msg)
