"""Fuzz the OpenFlow guard in front of Ryu's parser: bounded verdicts, and what it accepts
Ryu parses without error.

    python -m testbed.fuzz_openflow --messages 1000000 --seed 7 --seconds 60

Inputs are seeded random bytes and mutations of valid OpenFlow 1.3 messages built with
Ryu's own classes and struct layouts (and a few known-bad ones: the zero-length HELLO
element, the zero-length flow-stats entry): bit flips, truncation, extension, splices,
lying or zeroed length fields at every nesting level (header, hello element, match, OXM,
flow-stats entry, instruction, action), other types and versions. Each input is framed as
Ryu's receive loop frames it, judged by ``controller.southbound.ofguard.check`` and, only
when accepted, parsed by Ryu's parser for its version, all under a per-message time bound
enforced by ``setitimer`` (main thread). Failure: a call over the bound (a hang), an
exception from the guard, or any exception from Ryu on an accepted message (none is
acceptable: the guard must only accept what Ryu parses). Exit status 1 on failure.
tests/unit/test_ofguard.py runs the same generator for a short while.
"""

from __future__ import annotations

import argparse
import gc
import random
import signal
import struct
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from ryu.ofproto import ofproto_parser, ofproto_protocol  # noqa: F401  (registers every version)
from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from controller.southbound import ofguard
from testbed import ofemu
from testbed.alarm import AlarmTimer, Hang

DEFAULT_BOUND_S = 1.0
RETRY_PAUSES_S = (0.1, 0.5)  # before timing an input over the bound again
GC_EVERY = 5_000  # inputs between garbage collections (never while a bound is armed)
MAX_KEPT_FAILURES = 20
DP = SimpleNamespace(id=None, ofproto=ofp, ofproto_parser=parser)
MAC1, MAC2 = "00:00:00:00:00:01", "02:00:00:00:00:02"


# ----------------------------------------------------------------------------- seeds
def serialized(msg: Any, xid: int = 7) -> bytes:
    msg.xid = xid
    msg.serialize()
    return bytes(msg.buf)


def message(
    msg_type: int, body: bytes = b"", xid: int = 7, version: int = ofp.OFP_VERSION
) -> bytes:
    return struct.pack(ofp.OFP_HEADER_PACK_STR, version, msg_type, 8 + len(body), xid) + body


def hello(version: int = ofp.OFP_VERSION, *bitmaps: int, pad: bool = False) -> bytes:
    """A HELLO with one version-bitmap element (none without bitmaps); ``pad`` adds the
    spec's padding to 8 bytes, which Ryu reads as a zero-length element."""
    if not bitmaps:
        return message(ofp.OFPT_HELLO, version=version)
    elem_len = 4 + 4 * len(bitmaps)
    elem = struct.pack(ofp.OFP_HELLO_ELEM_VERSIONBITMAP_HEADER_PACK_STR, 1, elem_len)
    elem += b"".join(struct.pack("!I", b) for b in bitmaps)
    return message(ofp.OFPT_HELLO, elem + bytes((-elem_len) % 8 if pad else 0), version=version)


def match_bytes(match: Any) -> bytes:
    buf = bytearray()
    match.serialize(buf, 0)
    return bytes(buf)


def packet_in(match: Any, data: bytes, reason: int = ofp.OFPR_NO_MATCH) -> bytes:
    fixed = struct.pack(ofp.OFP_PACKET_IN_PACK_STR, ofp.OFP_NO_BUFFER, len(data), reason, 0, 9)
    return message(ofp.OFPT_PACKET_IN, fixed + match_bytes(match) + b"\0\0" + data)


def flow_removed(match: Any) -> bytes:
    fixed = struct.pack(
        ofp.OFP_FLOW_REMOVED_PACK_STR0, 5, 100, ofp.OFPRR_IDLE_TIMEOUT, 0, 3, 4, 60, 0, 10, 1000
    )
    return message(ofp.OFPT_FLOW_REMOVED, fixed + match_bytes(match))


def port_bytes(port_no: int, name: bytes = b"s1-eth1") -> bytes:
    """An ``ofp_port``: up, 1 Gbit/s copper (curr, advertised, supported), 1e6 kbit/s."""
    mac, features, kbps = bytes.fromhex("020000000001"), 0x820, 1_000_000
    fields = (port_no, mac, name, 0, ofp.OFPPS_LIVE, *(features,) * 3, 0, kbps, kbps)
    return struct.pack(ofp.OFP_PORT_PACK_STR, *fields)


def multipart_reply(subtype: int, body: bytes, flags: int = 0) -> bytes:
    head = struct.pack(ofp.OFP_MULTIPART_REPLY_PACK_STR, subtype, flags)
    return message(ofp.OFPT_MULTIPART_REPLY, head + body)


def flow_stats_entry(match: Any, instructions: list[Any], cookie: int = 1) -> bytes:
    """One ``ofp_flow_stats``: its match and instructions serialized by Ryu (as a FlowMod's)."""
    fm = parser.OFPFlowMod(DP, match=match, instructions=instructions)
    tail = serialized(fm)[ofp.OFP_FLOW_MOD_SIZE - ofp.OFP_MATCH_SIZE :]
    length = ofp.OFP_FLOW_STATS_0_SIZE + len(tail)
    # table, duration s and ns, priority, idle and hard timeouts, flags; cookie, packets, bytes
    fixed = struct.pack(
        ofp.OFP_FLOW_STATS_0_PACK_STR, length, 0, 12, 500, 100, 60, 0, 0, cookie, 3, 9
    )
    return fixed + tail


def apply(*actions: Any) -> Any:
    return parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, list(actions))


def valid_messages() -> dict[str, bytes]:
    """A valid message of every kind on the guard's allowlist, by name."""
    to_ctl = parser.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)
    full_match = parser.OFPMatch(
        in_port=1,
        eth_dst=MAC2,
        eth_src=MAC1,
        eth_type=0x0800,
        ipv4_src=("10.0.0.0", "255.0.0.0"),
        ip_proto=6,
        tcp_dst=80,
        vlan_vid=(0x1000, 0x1000),
        ipv6_exthdr=1,
        pbb_uca=1,
        tcp_flags=2,
        actset_output=3,
    )
    vendor_match = parser.OFPMatch(
        in_port_nxm=3,
        eth_src_nxm=(MAC1, "ff:ff:ff:00:00:00"),
        reg0=5,
        xxreg1=7,
        ct_state=(0x20, 0x20),
        tun_ipv4_src="10.1.1.1",
        _dp_hash=3,
        nsh_spi=1,
    )
    vendor_set_fields = [
        parser.OFPActionSetField(reg1=3),
        parser.OFPActionSetField(tcp_flags=3),
        parser.OFPActionSetField(ipv6_src="::1"),
        parser.OFPActionSetField(pbb_isid=5),
        parser.OFPActionSetField(nsh_c1=9),
    ]
    rich = [
        apply(
            parser.OFPActionSetField(eth_dst=MAC2),
            parser.OFPActionPushVlan(0x8100),
            parser.OFPActionSetField(vlan_vid=0x1005),
            parser.OFPActionOutput(2),
            parser.OFPActionGroup(1),
            parser.OFPActionSetQueue(1),
            parser.OFPActionDecNwTtl(),
            parser.OFPActionExperimenterUnknown(0x00ABCDEF, b"12345678"),
        ),
        parser.OFPInstructionActions(ofp.OFPIT_WRITE_ACTIONS, [parser.OFPActionOutput(3)]),
        parser.OFPInstructionActions(ofp.OFPIT_CLEAR_ACTIONS, []),
        parser.OFPInstructionWriteMetadata(1, 0xFF),
        parser.OFPInstructionMeter(1),
        parser.OFPInstructionGotoTable(1),
    ]
    flows = [
        flow_stats_entry(parser.OFPMatch(), [apply(to_ctl)], cookie=0),
        flow_stats_entry(parser.OFPMatch(eth_type=0x88CC), [apply(to_ctl)]),
        flow_stats_entry(
            parser.OFPMatch(in_port=3, eth_src=MAC1, eth_dst=MAC2),
            [apply(parser.OFPActionOutput(4))],
        ),
        flow_stats_entry(full_match, rich),
        flow_stats_entry(parser.OFPMatch(in_port=1), []),
        flow_stats_entry(vendor_match, [apply(*vendor_set_fields)]),
    ]
    ports = b"".join(port_bytes(p, f"s1-eth{p}".encode()) for p in (1, 2, ofp.OFPP_LOCAL))
    desc = struct.pack(
        ofp.OFP_DESC_PACK_STR, b"Nicira, Inc.", b"Open vSwitch", b"3.1.0", b"None", b"s1"
    )
    port_stats = b"".join(
        struct.pack(ofp.OFP_PORT_STATS_PACK_STR, p, *range(12), 5, 6) for p in (1, 2)
    )
    error = parser.OFPErrorMsg(
        DP,
        type_=ofp.OFPET_BAD_REQUEST,
        code=ofp.OFPBRC_BAD_TYPE,
        data=serialized(parser.OFPBarrierRequest(DP)),
    )
    hello_failed = parser.OFPErrorMsg(
        DP, type_=ofp.OFPET_HELLO_FAILED, code=ofp.OFPHFC_INCOMPATIBLE, data=b"no common version"
    )
    exp_error = parser.OFPErrorExperimenterMsg(DP, exp_type=1, experimenter=0x2320, data=b"x")
    frame = bytes.fromhex("ffffffffffff020000000001080600010800060400010200000000010a000001")
    return {
        "hello_plain": hello(),
        "hello_bitmap_1.3": hello(ofp.OFP_VERSION, 1 << 4),
        "hello_ovs_1.0-1.5": hello(0x06, 0b1111110),
        "hello_1.0": hello(0x01),
        "hello_two_bitmaps_unpadded": hello(0x05, 1 << 4 | 1 << 5, 0),
        "hello_ofemu": ofemu.hello(3),
        "error": serialized(error),
        "error_hello_failed": serialized(hello_failed),
        "error_experimenter": serialized(exp_error),
        "echo_request": serialized(parser.OFPEchoRequest(DP, data=b"ping")),
        "echo_reply": serialized(parser.OFPEchoReply(DP, data=b"")),
        "features_reply": message(
            ofp.OFPT_FEATURES_REPLY,
            struct.pack(ofp.OFP_SWITCH_FEATURES_PACK_STR, 1, 0, 254, 0, 0x4F, 0),
        ),
        "get_config_reply": message(
            ofp.OFPT_GET_CONFIG_REPLY, struct.pack(ofp.OFP_SWITCH_CONFIG_PACK_STR, 0, 0xFFFF)
        ),
        "packet_in": packet_in(parser.OFPMatch(in_port=1), frame),
        "packet_in_rich_match": packet_in(full_match, frame + bytes(30), ofp.OFPR_ACTION),
        "packet_in_ofemu": ofemu.encode_packet_in(3, frame, ofemu.OFPR_ACTION, 5, 11),
        "packet_in_vendor_fields": packet_in(vendor_match, frame),
        "flow_removed": flow_removed(parser.OFPMatch(in_port=1, eth_dst=MAC2)),
        "port_status": message(
            ofp.OFPT_PORT_STATUS, struct.pack("!B7x", ofp.OFPPR_MODIFY) + port_bytes(2)
        ),
        "mp_desc": multipart_reply(ofp.OFPMP_DESC, desc),
        "mp_flow": multipart_reply(ofp.OFPMP_FLOW, b"".join(flows)),
        "mp_flow_empty": multipart_reply(ofp.OFPMP_FLOW, b""),
        "mp_aggregate": multipart_reply(
            ofp.OFPMP_AGGREGATE, struct.pack(ofp.OFP_AGGREGATE_STATS_REPLY_PACK_STR, 10, 1000, 3)
        ),
        "mp_table": multipart_reply(
            ofp.OFPMP_TABLE,
            b"".join(struct.pack(ofp.OFP_TABLE_STATS_PACK_STR, t, 3, 10, 7) for t in range(3)),
        ),
        "mp_port_stats": multipart_reply(ofp.OFPMP_PORT_STATS, port_stats),
        "mp_queue": multipart_reply(
            ofp.OFPMP_QUEUE, struct.pack(ofp.OFP_QUEUE_STATS_PACK_STR, 1, 0, 100, 2, 0, 5, 6)
        ),
        "mp_port_desc": multipart_reply(ofp.OFPMP_PORT_DESC, ports, ofp.OFPMPF_REPLY_MORE),
        "mp_meter_features": multipart_reply(
            ofp.OFPMP_METER_FEATURES,
            struct.pack(ofp.OFP_METER_FEATURES_PACK_STR, 64, 1 << ofp.OFPMBT_DROP, 0xF, 8, 0),
        ),
        "barrier_reply": message(ofp.OFPT_BARRIER_REPLY),
        "role_reply": message(
            ofp.OFPT_ROLE_REPLY, struct.pack(ofp.OFP_ROLE_REQUEST_PACK_STR, ofp.OFPCR_ROLE_EQUAL, 0)
        ),
        "get_async_reply": message(
            ofp.OFPT_GET_ASYNC_REPLY, struct.pack(ofp.OFP_ASYNC_CONFIG_PACK_STR, 3, 3, 7, 7, 15, 15)
        ),
    }


def hello_len0_element() -> bytes:
    """A HELLO whose first element claims length 0: Ryu's element loop never ends."""
    return message(ofp.OFPT_HELLO, struct.pack("!HHI", 1, 0, 1 << 4))


def flow_stats_len0_entry() -> bytes:
    """A flow-stats reply whose first entry claims length 0: Ryu's body loop never ends."""
    entry = bytearray(flow_stats_entry(parser.OFPMatch(in_port=1), []))
    entry[0:2] = b"\0\0"
    return multipart_reply(ofp.OFPMP_FLOW, bytes(entry))


def ignored_messages() -> dict[str, bytes]:
    """Well-framed messages the guard ignores: not on its allowlist."""
    nx_flow = flow_stats_entry(parser.OFPMatch(), [apply(parser.NXActionResubmitTable(table_id=1))])
    return {
        "experimenter": serialized(parser.OFPExperimenter(DP, 0x2320, 1, b"abcdefgh")),
        "flow_mod_from_switch": serialized(parser.OFPFlowMod(DP, match=parser.OFPMatch())),
        "mp_flow_nicira_action": multipart_reply(ofp.OFPMP_FLOW, nx_flow),
        "mp_group_desc": multipart_reply(ofp.OFPMP_GROUP_DESC, bytes(8)),
        "mp_aggregate_empty": multipart_reply(ofp.OFPMP_AGGREGATE, b""),
        "unknown_type_99": message(99, b"whatever"),
    }


def seed_messages() -> list[bytes]:
    """The starting points of mutation: valid, ignorable and known-bad messages."""
    bad = [hello_len0_element(), flow_stats_len0_entry(), hello(0x04, 0x10, 0x0, pad=True)]
    return [*valid_messages().values(), *ignored_messages().values(), *bad]


# ----------------------------------------------------------------------------- mutations
def length_fields(msg: bytes) -> list[tuple[int, int]]:
    """Offsets and widths of the length fields of a well-formed seed, at every level."""
    fields = [(2, 2)]
    msg_type = msg[1]
    if msg_type == ofp.OFPT_HELLO and msg[0] >= 4:
        off = 8
        while off + 4 <= len(msg):
            fields.append((off + 2, 2))
            off += max(4, struct.unpack_from("!H", msg, off + 2)[0])
    elif msg_type == ofp.OFPT_PACKET_IN:
        fields += _match_fields(msg, 24, len(msg))
    elif msg_type == ofp.OFPT_FLOW_REMOVED:
        fields += _match_fields(msg, 48, len(msg))
    elif msg_type == ofp.OFPT_MULTIPART_REPLY and msg[9] == ofp.OFPMP_FLOW:
        off = 16
        while off + 56 <= len(msg):
            length = max(56, struct.unpack_from("!H", msg, off)[0])
            fields.append((off, 2))
            fields += _match_fields(msg, off + 48, off + length)
            mlen = (struct.unpack_from("!H", msg, off + 50)[0] + 7) & ~7
            fields += _tlv_fields(msg, off + 48 + max(8, mlen), off + length, nested=True)
            off += length
    return fields


def _match_fields(msg: bytes, off: int, end: int) -> list[tuple[int, int]]:
    if off + 4 > end:
        return []
    fields = [(off + 2, 2)]
    mend = min(end, off + struct.unpack_from("!H", msg, off + 2)[0])
    oxm = off + 4
    while oxm + 4 <= mend:
        fields.append((oxm + 3, 1))
        oxm += 4 + msg[oxm + 3]
    return fields


def _tlv_fields(msg: bytes, off: int, end: int, nested: bool) -> list[tuple[int, int]]:
    """Instruction (and, inside action-list instructions, action) length fields."""
    fields = []
    while off + 4 <= end:
        itype, length = struct.unpack_from("!HH", msg, off)
        fields.append((off + 2, 2))
        if nested and itype in (3, 4, 5):
            fields += _tlv_fields(msg, off + 8, off + length, nested=False)
        elif not nested and itype == ofp.OFPAT_SET_FIELD:
            fields.append((off + 7, 1))
        off += max(8, length)
    return fields


def _put(msg: bytes, offset: int, value: bytes) -> bytes:
    if len(msg) < offset:
        msg += bytes(offset - len(msg))
    return msg[:offset] + value + msg[offset + len(value) :]


def fix_length(msg: bytes) -> bytes:
    """The header's length field set to the real length (how Ryu would frame it)."""
    return _put(msg, 2, struct.pack("!H", min(len(msg), 0xFFFF))) if len(msg) >= 4 else msg


def flip_bits(rng: random.Random, msg: bytes) -> bytes:
    data = bytearray(msg)
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def truncate(rng: random.Random, msg: bytes) -> bytes:
    return msg[: rng.randrange(len(msg) + 1)]


def extend(rng: random.Random, msg: bytes) -> bytes:
    return msg + (rng.randbytes(rng.randint(1, 64)) if rng.random() < 0.5 else bytes(8))


def splice(rng: random.Random, msg: bytes) -> bytes:
    start = rng.randrange(len(msg) + 1)
    end = min(len(msg), start + rng.randint(0, 16))
    return msg[:start] + rng.randbytes(rng.randint(0, 16)) + msg[end:]


def set_type(rng: random.Random, msg: bytes) -> bytes:
    """Another message type, multipart subtype or version (the body stays)."""
    roll = rng.random()
    if roll < 0.4:
        return _put(msg, 1, bytes([rng.choice((*ofguard.ALLOWED_TYPES, rng.randrange(40)))]))
    if roll < 0.8 and len(msg) >= 10:
        subtype = rng.choice((*ofguard.ALLOWED_MULTIPART, rng.randrange(16), 0xFFFF))
        return _put(msg, 8, struct.pack("!H", subtype))
    return _put(msg, 0, bytes([rng.choice((1, 2, 3, 4, 5, 6, 7, 0, 255))]))


def lie_length(rng: random.Random, msg: bytes, fields: list[tuple[int, int]]) -> bytes:
    """Rewrite one length field at some nesting level: zero, small, off by a little, huge."""
    offset, width = rng.choice(fields)
    if offset + width > len(msg):
        return msg
    (orig,) = struct.unpack_from("!H" if width == 2 else "!B", msg, offset)
    top = (1 << (8 * width)) - 1
    value = rng.choice(
        (
            0,
            0,
            1,
            2,
            3,
            4,
            5,
            7,
            8,
            9,
            12,
            16,
            orig - 1,
            orig + 1,
            orig - 4,
            orig + 4,
            orig - 8,
            orig + 8,
            top,
            rng.randrange(top + 1),
        )
    )
    value = min(max(value, 0), top)
    return _put(msg, offset, value.to_bytes(width, "big"))


def lie_oxm(rng: random.Random, msg: bytes, fields: list[tuple[int, int]]) -> bytes:
    """Rewrite one OXM header (class, field, mask bit; the length stays): Ryu checks the
    value size of the fields it knows, and raises on experimenter fields it does not."""
    oxms = [off - 3 for off, width in fields if width == 1 and off - 3 + 4 <= len(msg)]
    if not oxms:
        return msg
    oxm_class = rng.choice((0x0000, 0x0001, 0x8000, 0xFFFF, 0xFFFF, rng.getrandbits(16)))
    header = oxm_class << 16 | rng.randrange(128) << 9 | rng.getrandbits(1) << 8
    at = rng.choice(oxms)
    msg = _put(msg, at, struct.pack("!I", header | msg[at + 3]))
    if oxm_class == 0xFFFF and at + 8 <= len(msg) and rng.random() < 0.8:
        experimenter = rng.choice((0x4F4E4600, 0x2320, 0x5AD650, rng.getrandbits(32)))
        msg = _put(msg, at + 4, struct.pack("!I", experimenter))
    return msg


MUTATIONS: tuple[Callable[[random.Random, bytes], bytes], ...] = (
    flip_bits,
    truncate,
    extend,
    splice,
    set_type,
)


def mutate(rng: random.Random, msg: bytes, fields: list[tuple[int, int]]) -> bytes:
    """One to three stacked mutations, most of them on length fields and OXM headers;
    usually re-framed."""
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.4:
            msg = lie_length(rng, msg, fields)
        elif roll < 0.55:
            msg = lie_oxm(rng, msg, fields)
        elif msg:
            msg = rng.choice(MUTATIONS)(rng, msg)
    return fix_length(msg) if rng.random() < 0.8 else msg


def random_message(rng: random.Random) -> bytes:
    """Random bytes behind a plausible header (version 4, an allowed type, true length)."""
    body = rng.randbytes(rng.randrange(0, 96))
    msg_type = rng.choice((*ofguard.ALLOWED_TYPES, rng.randrange(40)))
    if msg_type == ofp.OFPT_MULTIPART_REPLY and len(body) >= 2 and rng.random() < 0.7:
        body = struct.pack("!H", rng.choice(list(ofguard.ALLOWED_MULTIPART))) + body[2:]
    return message(msg_type, body, xid=rng.getrandbits(32))


def generate(rng: random.Random, seeds: list[bytes]) -> Iterator[bytes]:
    """Endless inputs: 10% random, 5% unmodified seeds, the rest mutated seeds (a seed with
    more length fields more often)."""
    with_fields = [(s, length_fields(s)) for s in seeds]
    weights = [1 + len(fields) for _, fields in with_fields]  # deeper seeds more often
    while True:
        roll = rng.random()
        if roll < 0.10:
            yield random_message(rng)
        elif roll < 0.15:
            yield rng.choice(seeds)
        else:
            ((msg, fields),) = rng.choices(with_fields, weights)
            yield mutate(rng, msg, fields)


# ----------------------------------------------------------------------------- running
@dataclass
class Outcome:
    """What happened to one input."""

    verdict: str  # accept, ignore, reject, or unframed (Ryu would wait for more bytes)
    parsed: str = ""  # the class Ryu built from an accepted message
    guard_s: float = 0.0
    ryu_s: float = 0.0
    failure: str = ""


@dataclass
class FuzzReport:
    """Counts and timings of one run; ``failures`` holds what should never happen."""

    messages: int = 0
    elapsed_s: float = 0.0
    max_guard_s: float = 0.0
    max_ryu_s: float = 0.0
    stalls: int = 0  # inputs over the bound once that then finished within it
    verdicts: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def fail(self, text: str) -> None:
        self.failed += 1
        if len(self.failures) < MAX_KEPT_FAILURES:
            self.failures.append(text)

    def record(self, outcome: Outcome) -> None:
        self.messages += 1
        self.verdicts[outcome.verdict] += 1
        self.max_guard_s = max(self.max_guard_s, outcome.guard_s)
        self.max_ryu_s = max(self.max_ryu_s, outcome.ryu_s)
        if outcome.parsed:
            self.accepted[outcome.parsed] += 1
        if outcome.failure:
            self.fail(outcome.failure)

    def summary(self, bound_s: float) -> str:
        rate = self.messages / self.elapsed_s if self.elapsed_s else 0.0
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(self.accepted.items()))
        verdicts = ", ".join(f"{k} {v}" for k, v in sorted(self.verdicts.items()))
        return (
            f"{self.messages} messages in {self.elapsed_s:.1f} s ({rate:.0f}/s): {verdicts}; "
            f"max guard call {self.max_guard_s * 1e3:.3f} ms, max Ryu parse "
            f"{self.max_ryu_s * 1e3:.3f} ms (bound {bound_s * 1e3:g} ms, {self.stalls} "
            f"re-timed after a stall); failures {self.failed}; accepted and parsed by Ryu: {kinds}"
        )


def ryu_parse(data: bytes) -> Any:
    """Ryu's parser for the message's version, called as its receive loop would (without
    ``ofproto_parser.msg``'s catch-all, which would hide an exception)."""
    version, msg_type, msg_len, xid = ofproto_parser.header(data)
    return ofproto_parser._MSG_PARSERS[version](
        DP, version, msg_type, msg_len, xid, bytearray(data)
    )


def frame(data: bytes) -> bytes | None:
    """The bytes Ryu's receive loop would hand its parser, or None while it waits for more."""
    if len(data) < 8:
        return None
    msg_len = max(8, struct.unpack_from("!H", data, 2)[0])
    return data[:msg_len] if len(data) >= msg_len else None


def evaluate(data: bytes, timer: AlarmTimer, bound_s: float) -> Outcome:
    """Frame, check and (if accepted) parse one input under the bound; raises
    ``Hang(stage)`` when the bound fires."""
    stage = "guard"
    timer.arm(bound_s)
    try:
        buf = frame(data)
        start = time.perf_counter()
        verdict = ofguard.check(data if buf is None else buf)
        guard_s = time.perf_counter() - start
        if buf is None:
            bad = verdict.action is ofguard.Action.ACCEPT
            failure = f"accepted an unframed input: {data[:200].hex()}" if bad else ""
            return Outcome("unframed", "", guard_s, failure=failure)
        if verdict.action is not ofguard.Action.ACCEPT:
            return Outcome(verdict.action.value, "", guard_s)
        stage = "Ryu"
        start = time.perf_counter()
        msg = ryu_parse(buf)
        return Outcome("accept", type(msg).__name__, guard_s, time.perf_counter() - start)
    except Hang:
        raise Hang(stage) from None
    except Exception as exc:
        trace = "".join(traceback.format_exception(exc)).strip()
        what = "Ryu raised on an accepted input" if stage == "Ryu" else "the guard raised"
        failure = f"{what}:\n{trace}\ninput: {data[:300].hex()}"
        return Outcome("accept" if stage == "Ryu" else "guard error", failure=failure)
    finally:
        timer.disarm()


def run(
    messages: int,
    seed: int,
    seconds: float = float("inf"),
    bound_s: float = DEFAULT_BOUND_S,
    retry_pauses_s: tuple[float, ...] = RETRY_PAUSES_S,
) -> FuzzReport:
    """Judge up to ``messages`` generated inputs (stopping after ``seconds``) and report. An
    input over the bound is tried again after each pause: a hang is over it every time, a
    stalled machine (swapping, a preempted virtual CPU) is not. The garbage collector runs
    only between inputs: a Hang raised inside a GC callback would be swallowed."""
    rng = random.Random(seed)
    report = FuzzReport()
    inputs = generate(rng, seed_messages())
    timer = AlarmTimer()
    previous = signal.signal(signal.SIGALRM, timer.on_alarm)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    start = time.perf_counter()
    deadline = start + seconds
    try:
        for n in range(messages):
            if n % GC_EVERY == 0:
                gc.collect()
            data = next(inputs)
            outcome: Outcome | None = None
            stage = ""
            for tries, pause in enumerate((0.0, *retry_pauses_s)):
                time.sleep(pause)
                try:
                    outcome = evaluate(data, timer, bound_s)
                except Hang as hang:
                    stage = str(hang.args[0] if hang.args else "?")
                    continue
                report.stalls += tries > 0
                break
            if outcome is None:
                tries = 1 + len(retry_pauses_s)
                outcome = Outcome(
                    "hang", failure=f"{stage} hang ({tries} tries): {data[:200].hex()}"
                )
            report.record(outcome)
            if time.perf_counter() > deadline:
                break
    finally:
        timer.disarm()
        signal.signal(signal.SIGALRM, previous)
        if gc_was_enabled:
            gc.enable()
    report.elapsed_s = time.perf_counter() - start
    return report


def main(argv: list[str] | None = None) -> int:
    """Command line: run, print one summary line (and the first failures), exit 1 on failure."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--messages", type=int, default=1_000_000, help="inputs to judge at most")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    ap.add_argument("--seconds", type=float, default=60.0, help="stop after this long")
    ap.add_argument(
        "--bound-ms",
        type=float,
        default=DEFAULT_BOUND_S * 1e3,
        help="per-message time bound (a hang)",
    )
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    bound_s = args.bound_ms / 1e3
    report = run(args.messages, seed, args.seconds, bound_s)
    print(f"fuzz_openflow seed {seed}: {report.summary(bound_s)}")
    for failure in report.failures[:10]:
        print("FAILURE:", failure, file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
