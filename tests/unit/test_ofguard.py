"""The OpenFlow guard: what Ryu builds and the emulator sends passes and parses; every lying
length is rejected in bounded time; the freeze is real without the guard and gone with it;
the hook into Ryu is idempotent; and a seeded fuzz run finds nothing."""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import os
import re
import signal
import struct
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from ryu.base import app_manager  # noqa: F401  (ryu.controller.controller needs it first)
from ryu.controller import controller as ryu_controller
from ryu.ofproto import ofproto_parser
from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from controller.southbound import ofguard
from controller.southbound.ofguard import Action, UnsafeMessage
from testbed import fuzz_openflow as fz
from testbed import ofemu
from topologies import spec

DP = fz.DP
VALID = fz.valid_messages()
# The CI run: seconds. SDN_FUZZ_OF_MESSAGES scales it up; `make fuzz` is the long run.
FUZZ_MESSAGES = int(os.environ.get("SDN_FUZZ_OF_MESSAGES", "10000"))
FUZZ_SEED = 20240601


def verdict(data: bytes) -> ofguard.Verdict:
    return ofguard.check(data)


def put(msg: bytes, offset: int, fmt: str, *values: int) -> bytes:
    data = bytearray(msg)
    struct.pack_into(fmt, data, offset, *values)
    return bytes(data)


# ----------------------------------------------------------------------- tables vs Ryu
def test_oxm_value_sizes_agree_with_ryu() -> None:
    plain: dict[tuple[int, int], int] = {}
    experimenter: dict[tuple[int, int], int] = {}
    ext256: dict[int, int] = {}
    for f in ofp.oxm_types:
        size = f.type.size
        if isinstance(f.num, int):
            plain[(f.num >> 7, f.num & 0x7F)] = size
        elif f.num[1] >= ofguard.OXM_CLASS_EXPERIMENTER << 7:
            experimenter[(f.num[0], f.num[1] & 0x7F)] = size
        else:
            ext256[f.num[1]] = size
    assert plain == ofguard.OXM_VALUE_SIZES
    assert experimenter == ofguard.EXPERIMENTER_OXM_VALUE_SIZES
    assert ext256 == ofguard.ONF_EXT256_VALUE_SIZES


def test_action_and_instruction_tables_agree_with_ryu() -> None:
    fixed = {
        t: cls.cls_action_len
        for t, cls in parser.OFPAction._ACTION_TYPES.items()
        if t not in (ofp.OFPAT_SET_FIELD, ofp.OFPAT_EXPERIMENTER)
    }
    assert fixed == ofguard.ACTION_SIZES
    assert set(parser.OFPInstruction._INSTRUCTION_TYPES) == set(ofguard.INSTRUCTION_SIZES) | set(
        ofguard.ACTION_LIST_INSTRUCTIONS
    )
    assert ofguard.INSTRUCTION_SIZES == {
        ofp.OFPIT_GOTO_TABLE: ofp.OFP_INSTRUCTION_GOTO_TABLE_SIZE,
        ofp.OFPIT_WRITE_METADATA: ofp.OFP_INSTRUCTION_WRITE_METADATA_SIZE,
        ofp.OFPIT_METER: ofp.OFP_INSTRUCTION_METER_SIZE,
    }


def test_message_sizes_agree_with_ryu() -> None:
    assert ofguard.FIXED_SIZES == {
        ofp.OFPT_FEATURES_REPLY: ofp.OFP_SWITCH_FEATURES_SIZE,
        ofp.OFPT_GET_CONFIG_REPLY: ofp.OFP_SWITCH_CONFIG_SIZE,
        ofp.OFPT_PORT_STATUS: ofp.OFP_PORT_STATUS_SIZE,
        ofp.OFPT_BARRIER_REPLY: ofp.OFP_HEADER_SIZE,
        ofp.OFPT_ROLE_REPLY: ofp.OFP_ROLE_REQUEST_SIZE,
        ofp.OFPT_GET_ASYNC_REPLY: ofp.OFP_ASYNC_CONFIG_SIZE,
    }
    sizes = {k: v[1] for k, v in ofguard.MULTIPART_ENTRIES.items()}
    assert sizes == {
        ofp.OFPMP_DESC: ofp.OFP_DESC_SIZE,
        ofp.OFPMP_AGGREGATE: ofp.OFP_AGGREGATE_STATS_REPLY_SIZE,
        ofp.OFPMP_TABLE: ofp.OFP_TABLE_STATS_SIZE,
        ofp.OFPMP_PORT_STATS: ofp.OFP_PORT_STATS_SIZE,
        ofp.OFPMP_QUEUE: ofp.OFP_QUEUE_STATS_SIZE,
        ofp.OFPMP_PORT_DESC: ofp.OFP_PORT_SIZE,
        ofp.OFPMP_METER_FEATURES: ofp.OFP_METER_FEATURES_SIZE,
    }
    single = {k for k, v in ofguard.MULTIPART_ENTRIES.items() if v[2]}
    assert single == {
        t
        for t, cls in parser.OFPMultipartReply._STATS_MSG_TYPES.items()
        if cls.cls_body_single_struct and t in ofguard.MULTIPART_ENTRIES
    }
    assert ofguard.PACKET_IN_MATCH_AT == ofp.OFP_PACKET_IN_SIZE - ofp.OFP_MATCH_SIZE
    assert ofguard.FLOW_REMOVED_MATCH_AT == ofp.OFP_FLOW_REMOVED_SIZE - ofp.OFP_MATCH_SIZE
    assert ofguard.FLOW_STATS_MATCH_AT == ofp.OFP_FLOW_STATS_0_SIZE
    for t, name in ofguard.ALLOWED_TYPES.items():
        assert getattr(ofp, f"OFPT_{name}") == t


# ----------------------------------------------------------------------- what passes
@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_messages_pass_and_ryu_parses_them(name: str) -> None:
    data = VALID[name]
    assert verdict(data) == ofguard.ACCEPTED
    msg = fz.ryu_parse(data)
    assert msg.msg_type == data[1] and msg.msg_len == len(data)


def test_the_rich_flow_stats_reply_really_carries_its_parts() -> None:
    reply = fz.ryu_parse(VALID["mp_flow"])
    assert isinstance(reply, parser.OFPFlowStatsReply) and len(reply.body) == 6
    rich, vendor = reply.body[3], reply.body[5]
    assert rich.match["tcp_flags"] == 2 and rich.match["pbb_uca"] == 1
    kinds = [type(i).__name__ for i in rich.instructions]
    assert kinds.count("OFPInstructionActions") == 3 and "OFPInstructionGotoTable" in kinds
    assert len(rich.instructions[0].actions) == 8
    assert vendor.match["reg0"] == 5 and vendor.match["ct_state"] == (0x20, 0x20)
    (apply_actions,) = vendor.instructions
    assert [a.key for a in apply_actions.actions] == [
        "reg1",
        "tcp_flags",
        "ipv6_src",
        "pbb_isid",
        "nsh_c1",
    ]


def test_hello_of_any_version_ryu_negotiates_with_passes() -> None:
    for version, bitmaps in ((0x01, ()), (0x03, ()), (0x04, (0x10,)), (0x06, (0x7E,))):
        data = fz.hello(version, *bitmaps)
        assert verdict(data).action is Action.ACCEPT, version
        msg = fz.ryu_parse(data)
        assert getattr(msg, "elements", []) == [] or msg.elements[0].versions
    assert verdict(fz.hello(0x02)).reason == "HELLO version 0x2 has no parser"


class FakeTransport:
    def __init__(self) -> None:
        self.written = bytearray()

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


def split_messages(stream: bytes) -> list[bytes]:
    out = []
    while stream:
        length = struct.unpack_from("!H", stream, 2)[0]
        out.append(stream[:length])
        stream = stream[length:]
    return out


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


def test_everything_the_emulator_sends_our_controller_passes(loop) -> None:
    """The handshake, the stats rounds, echo, barrier, role, async config, and packet-ins
    (a table miss and an LLDP probe coming back) of testbed/ofemu.py."""
    emu = ofemu.Emulator(ofemu.Topology.from_spec(spec.linear(2)), ("127.0.0.1", 1))
    emu._loop = loop
    wires: dict[int, FakeTransport] = {}
    for dpid in emu.topo.ports:
        sw = ofemu.SwitchConn(emu, dpid)
        sw.transport = wires.setdefault(dpid, FakeTransport())  # type: ignore[assignment]
        emu.switches[dpid] = sw
        sw.send(ofemu.hello(sw.next_xid()))  # what connection_made sends
    out = [parser.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)]
    table_miss = parser.OFPFlowMod(
        DP,
        priority=0,
        match=parser.OFPMatch(),
        instructions=[parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, out)],
    )
    requests = [
        parser.OFPFeaturesRequest(DP),
        parser.OFPPortDescStatsRequest(DP, 0),
        parser.OFPSetConfig(DP, 0, 0xFFFF),
        parser.OFPGetConfigRequest(DP),
        parser.OFPEchoRequest(DP, data=b"t0"),
        parser.OFPBarrierRequest(DP),
        parser.OFPPortStatsRequest(DP, 0, ofp.OFPP_ANY),
        parser.OFPFlowStatsRequest(
            DP, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, 0, 0, parser.OFPMatch()
        ),
        parser.OFPDescStatsRequest(DP, 0),
        parser.OFPRoleRequest(DP, ofp.OFPCR_ROLE_EQUAL, 0),
        parser.OFPGetAsyncRequest(DP),
        table_miss,
        parser.OFPPacketOut(
            DP, ofp.OFP_NO_BUFFER, ofp.OFPP_CONTROLLER, [parser.OFPActionOutput(2)], bytes(60)
        ),
    ]
    for dpid in (1, 2):
        emu.switches[dpid].data_received(b"".join(fz.serialized(m) for m in requests))
    emu.inject(emu.topo.hosts[0], ofemu.arp_request(emu.topo.hosts[0], emu.topo.hosts[1].ip))
    emu._flush_all()
    sent = [m for w in wires.values() for m in split_messages(bytes(w.written))]
    types = {m[1] for m in sent}
    assert {
        ofp.OFPT_HELLO,
        ofp.OFPT_FEATURES_REPLY,
        ofp.OFPT_PACKET_IN,
        ofp.OFPT_MULTIPART_REPLY,
        ofp.OFPT_ROLE_REPLY,
        ofp.OFPT_GET_ASYNC_REPLY,
    } <= types
    assert len(sent) >= 2 * 12
    for m in sent:
        assert verdict(m) == ofguard.ACCEPTED, m.hex()
        fz.ryu_parse(m)


# ----------------------------------------------------------------------- what is rejected
def _flow_entry(match: Any, instructions: list[Any]) -> bytes:
    return fz.flow_stats_entry(match, instructions)


def _flow_reply(entry: bytes) -> bytes:
    return fz.multipart_reply(ofp.OFPMP_FLOW, entry)


ENTRY = _flow_entry(parser.OFPMatch(in_port=1), [fz.apply(parser.OFPActionOutput(2))])
# Offsets inside ENTRY: fixed part 48, match 16 (in_port: 4 + 8 + pad 4), then the
# APPLY_ACTIONS instruction at 64 and its OUTPUT action at 72.
MATCH_AT, INST_AT, ACTION_AT = 48, 64, 72
SET_FIELD_ENTRY = _flow_entry(
    parser.OFPMatch(), [fz.apply(parser.OFPActionSetField(eth_dst=fz.MAC1))]
)
SET_FIELD_OXM = 48 + 8 + 8 + 4  # empty match, instruction header, set-field action header
PACKET_IN = VALID["packet_in"]
REJECTED: dict[str, tuple[bytes, str]] = {
    "hello element of length 0": (fz.hello_len0_element(), "hello element length 0 < 4"),
    "hello element overrun": (put(fz.hello(4, 0x10), 10, "!H", 200), "overruns the message"),
    "hello element padded as the spec says": (fz.hello(4, 0x10, 0, pad=True), "length 0 < 4"),
    "hello element header cut": (
        fz.fix_length(fz.hello(4, 0x10) + b"\0\x01"),
        "hello element header",
    ),
    "hello of OpenFlow 1.1": (fz.hello(0x02), "has no parser"),
    "not OpenFlow 1.3": (put(VALID["echo_request"], 0, "!B", 5), "version 0x5"),
    "shorter than a header": (VALID["barrier_reply"][:7], "shorter than the OpenFlow header"),
    "header length below 8": (put(VALID["barrier_reply"], 2, "!H", 0), "length field 0"),
    "header length too long": (put(VALID["echo_request"], 2, "!H", 200), "length field 200"),
    "multipart flow-stats entry of length 0": (fz.flow_stats_len0_entry(), "entry length 0"),
    "flow-stats entry overrun": (_flow_reply(put(ENTRY, 0, "!H", 200)), "overruns the reply"),
    "flow-stats entry not 8-aligned": (_flow_reply(put(ENTRY, 0, "!H", 60)), "multiple of 8"),
    "flow-stats entry cut": (_flow_reply(ENTRY[:40]), "length 88 overruns the reply"),
    "flow-stats entry header cut": (_flow_reply(ENTRY[:1]), "entry header overruns"),
    "match length lies (short)": (_flow_reply(put(ENTRY, MATCH_AT + 2, "!H", 2)), "< 4"),
    "match length lies (long)": (_flow_reply(put(ENTRY, MATCH_AT + 2, "!H", 250)), "overruns"),
    "match of the 1.1 standard type": (_flow_reply(put(ENTRY, MATCH_AT, "!H", 0)), "not OXM"),
    "OXM length overrun": (_flow_reply(put(ENTRY, MATCH_AT + 7, "!B", 12)), "overruns"),
    "OXM of the wrong size": (_flow_reply(put(ENTRY, MATCH_AT + 7, "!B", 2)), "of 2 bytes"),
    "OXM without a value": (_flow_reply(put(ENTRY, MATCH_AT + 7, "!B", 0)), "without a value"),
    "instruction of length 0": (_flow_reply(put(ENTRY, INST_AT + 2, "!H", 0)), "length 0"),
    "instruction overrun": (_flow_reply(put(ENTRY, INST_AT + 2, "!H", 64)), "overruns"),
    "goto-table of the wrong size": (
        _flow_reply(put(ENTRY, INST_AT, "!H", ofp.OFPIT_GOTO_TABLE)),
        "length 24, expected 8",
    ),
    "action of length 0": (_flow_reply(put(ENTRY, ACTION_AT + 2, "!H", 0)), "action length 0"),
    "output action of the wrong size": (
        _flow_reply(put(put(ENTRY, ACTION_AT + 2, "!H", 8), INST_AT + 2, "!H", 24)),
        "expected 16",
    ),
    "set-field with a mask": (
        _flow_reply(put(SET_FIELD_ENTRY, SET_FIELD_OXM + 2, "!B", 7)),
        "set-field with a mask",
    ),
    "set-field OXM overrun": (
        _flow_reply(put(SET_FIELD_ENTRY, SET_FIELD_OXM + 3, "!B", 20)),
        "overruns",
    ),
    "port-stats reply truncated": (fz.fix_length(VALID["mp_port_stats"][:-12]), "entries are 112"),
    "desc reply truncated": (fz.fix_length(VALID["mp_desc"][:-1]), "expected 1056"),
    "multipart header cut": (fz.message(ofp.OFPT_MULTIPART_REPLY, b"\0\x04"), "MULTIPART_REPLY of"),
    "packet-in match length lies": (put(PACKET_IN, 26, "!H", 250), "overruns"),
    "packet-in without the pad": (fz.fix_length(PACKET_IN[: 24 + 16 + 1]), "match needs"),
    "packet-in cut inside the match": (fz.fix_length(PACKET_IN[:30]), "overruns"),
    "flow-removed with a tail": (
        fz.fix_length(VALID["flow_removed"] + bytes(8)),
        "after the match",
    ),
    "features reply of the wrong size": (
        fz.fix_length(VALID["features_reply"][:-4]),
        "expected 32",
    ),
    "error too short": (fz.message(ofp.OFPT_ERROR, b"\0\x01"), "ERROR of 10 bytes"),
    "experimenter error too short": (fz.message(ofp.OFPT_ERROR, b"\xff\xff\0\x01"), "experimenter"),
    "hello-failed text not ASCII": (fz.message(ofp.OFPT_ERROR, b"\0\0\0\0\xff"), "ASCII"),
    "experimenter message too short": (
        fz.message(ofp.OFPT_EXPERIMENTER, b"\0" * 4),
        "EXPERIMENTER of 12",
    ),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_malformed_messages_are_rejected_with_a_reason(case: str) -> None:
    data, fragment = REJECTED[case]
    v = verdict(data)
    assert v.action is Action.REJECT, (case, v)
    assert fragment in v.reason, (case, v.reason)


@pytest.mark.parametrize("name", sorted(fz.ignored_messages()))
def test_well_framed_messages_off_the_allowlist_are_ignored(name: str) -> None:
    v = verdict(fz.ignored_messages()[name])
    assert v.action is Action.IGNORE and v.reason


def test_malformation_wins_over_an_ignorable_part() -> None:
    nicira = fz.ignored_messages()["mp_flow_nicira_action"]
    assert verdict(nicira).action is Action.IGNORE
    bad = fz.multipart_reply(ofp.OFPMP_FLOW, nicira[16:] + fz.flow_stats_len0_entry()[16:])
    assert verdict(bad) == ofguard.Verdict(Action.REJECT, "flow-stats entry length 0 < 56")


def test_worst_case_messages_are_checked_quickly() -> None:
    """64 KiB of the smallest parts each walk allows: the time stays small and bounded."""
    elements = fz.message(ofp.OFPT_HELLO, struct.pack("!HHI", 1, 8, 0x10) * 8190)
    oxms = struct.pack("!IB", 0x80001001, 6) * 13000  # ip_dscp: 5 bytes each
    match = struct.pack("!HH", 1, 4 + len(oxms)) + oxms
    match += bytes((-len(match)) % 8)
    packet_in = fz.message(
        ofp.OFPT_PACKET_IN, struct.pack("!IHBBQ", 0, 0, 0, 0, 0) + match + b"\0\0"
    )
    actions = struct.pack("!HH4x", ofp.OFPAT_DEC_NW_TTL, 8) * 8000
    entry = struct.pack("!HBxIIHHHH4xQQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    entry += struct.pack("!HH4x", 1, 4) + struct.pack("!HH4x", 4, 8 + len(actions)) + actions
    entry = put(entry, 0, "!H", len(entry))
    flows = fz.multipart_reply(ofp.OFPMP_FLOW, entry)
    for data in (elements, packet_in, flows):
        assert len(data) > 60_000
        start = time.perf_counter()
        v = verdict(data)
        took = time.perf_counter() - start
        print(f"\n{len(data)} bytes of type {data[1]}: {v.action.value} in {took * 1e3:.1f} ms")
        assert v.action is Action.ACCEPT, v
        assert took < 0.5


# ----------------------------------------------------------------------- the Ryu hook
def fake_parser_module() -> tuple[SimpleNamespace, list[tuple[Any, ...]]]:
    calls: list[tuple[Any, ...]] = []

    def msg(*args: Any) -> str:
        calls.append(args)
        return "parsed"

    return SimpleNamespace(msg=msg), calls


def test_install_passes_accepted_messages_to_the_original() -> None:
    module, calls = fake_parser_module()
    ofguard.install(module, on_reject=lambda dp, why: None)
    data = bytearray(VALID["echo_request"])
    assert module.msg("dp", 4, 2, len(data), 7, data) == "parsed"
    assert calls == [("dp", 4, 2, len(data), 7, data)]


def test_install_rejects_and_ignores_without_calling_ryu() -> None:
    module, calls = fake_parser_module()
    rejected: list[tuple[Any, str]] = []
    ignored: list[tuple[Any, str]] = []
    ofguard.install(
        module,
        lambda dp, why: rejected.append((dp, why)),
        lambda dp, why: ignored.append((dp, why)),
    )
    dp = SimpleNamespace(id=None, address=("127.0.0.1", 40000))
    bad = bytearray(fz.hello_len0_element())
    with pytest.raises(
        UnsafeMessage, match=re.escape("127.0.0.1:40000: hello element length 0")
    ) as info:
        module.msg(dp, 4, 0, len(bad), 7, bad)
    assert info.value.reason == "hello element length 0 < 4"
    assert rejected == [(dp, "hello element length 0 < 4")]
    exp = bytearray(fz.ignored_messages()["experimenter"])
    assert module.msg(dp, 4, 4, len(exp), 7, exp) is None
    assert ignored == [(dp, "message type 4 not on the allowlist")] and calls == []


def test_install_is_idempotent_and_uninstall_restores() -> None:
    module, _calls = fake_parser_module()
    original = module.msg
    first: list[str] = []
    second: list[str] = []
    ofguard.install(module, lambda dp, why: first.append(why))
    ofguard.install(module, lambda dp, why: second.append(why))
    assert module.msg.__ofguard_original__ is original  # type: ignore[attr-defined]
    bad = bytearray(fz.flow_stats_len0_entry())
    with pytest.raises(UnsafeMessage):
        module.msg(None, 4, 19, len(bad), 1, bad)
    assert first == [] and second == ["flow-stats entry length 0 < 56"]
    ofguard.uninstall(module)
    assert module.msg is original
    ofguard.uninstall(module)
    assert module.msg is original


def test_a_failing_callback_does_not_let_the_message_through(caplog) -> None:
    module, calls = fake_parser_module()

    def broken(dp: Any, why: str) -> None:
        raise RuntimeError("logger down")

    ofguard.install(module, broken)
    bad = bytearray(fz.hello_len0_element())
    with pytest.raises(UnsafeMessage):
        module.msg(SimpleNamespace(id=1, address=("::1", 1)), 4, 0, len(bad), 1, bad)
    assert calls == [] and "callback failed" in caplog.text


def test_the_guard_sees_what_ryu_would_parse() -> None:
    """Ryu hands its parser exactly one message (and clamps a length below 8 to 8)."""
    module, calls = fake_parser_module()
    ofguard.install(module, lambda dp, why: None)
    two = bytearray(VALID["barrier_reply"] + fz.hello_len0_element())
    assert module.msg(None, 4, 21, 8, 1, two) == "parsed"  # only the first 8 bytes count
    assert len(calls) == 1
    clamped = bytearray(put(VALID["barrier_reply"], 2, "!H", 3))
    with pytest.raises(UnsafeMessage, match="length field 3"):
        module.msg(None, 4, 21, 8, 1, clamped)


def test_peer_names() -> None:
    assert (
        ofguard.peer_name(SimpleNamespace(id=None, address=("10.0.0.1", 6653))) == "10.0.0.1:6653"
    )
    assert (
        ofguard.peer_name(SimpleNamespace(id=5, address=("::1", 2)))
        == "dpid 0000000000000005 at ::1:2"
    )
    assert ofguard.peer_name(None) == "None"


def test_ryus_receive_loop_looks_the_parser_up_at_call_time() -> None:
    """What install relies on: Datapath._recv_loop calls ``ofproto_parser.msg(...)`` through
    the module, so replacing the module attribute guards every connection."""
    assert ryu_controller.ofproto_parser is ofproto_parser
    source = inspect.getsource(ryu_controller.Datapath)
    assert "msg = ofproto_parser.msg(" in source[source.index("def _recv_loop") :]


# ----------------------------------------------------------------------- the freeze
class Timeout(Exception):
    pass


def bounded(fn: Callable[[], Any], seconds: float) -> tuple[bool, float, Any]:
    """Run ``fn`` under an interval timer that raises :class:`Timeout` after ``seconds``
    (and again until ``fn`` gives up): (the timer fired, elapsed seconds, result or
    exception). Ryu's ``ofproto_parser.msg`` catches every exception from its parser, so
    the timer's firing is what counts. The collector is off meanwhile, so the exception
    cannot land in someone's GC callback (where it would be swallowed as "unraisable")."""
    timer = fz.AlarmTimer(Timeout)
    previous = signal.signal(signal.SIGALRM, timer.on_alarm)
    start = time.perf_counter()
    gc.disable()
    timer.arm(seconds)
    try:
        try:
            result: Any = fn()
        except Exception as exc:
            result = exc
    finally:
        timer.disarm()
        gc.enable()
        signal.signal(signal.SIGALRM, previous)
    return timer.fired > 0, time.perf_counter() - start, result


def ryu_msg(data: bytes) -> Callable[[], Any]:
    version, msg_type, msg_len, xid = ofproto_parser.header(data)
    return lambda: ofproto_parser.msg(DP, version, msg_type, msg_len, xid, bytearray(data))


@pytest.fixture
def quiet_ryu(caplog) -> Iterator[Any]:
    caplog.set_level(logging.ERROR, logger="ryu.ofproto.ofproto_parser")
    yield caplog


@pytest.mark.parametrize("make", [fz.hello_len0_element, fz.flow_stats_len0_entry])
def test_freeze_is_real_without_the_guard_and_gone_with_it(make, quiet_ryu) -> None:
    data = make()
    ofguard.uninstall(ofproto_parser)
    fired, took, _ = bounded(ryu_msg(data), 0.5)
    print(f"\nunguarded Ryu on {data[:16].hex()}...: still looping after {took:.2f} s")
    assert fired and took >= 0.5
    assert "Timeout" in quiet_ryu.text  # Ryu's catch-all logged the interrupted loop

    rejected: list[str] = []
    ofguard.install(ofproto_parser, lambda dp, why: rejected.append(why))
    try:
        fired, took, result = bounded(ryu_msg(data), 0.5)
    finally:
        ofguard.uninstall(ofproto_parser)
    print(f"guarded: {type(result).__name__} after {took * 1e3:.2f} ms ({rejected[0]})")
    assert not fired and took < 0.05
    assert isinstance(result, UnsafeMessage) and len(rejected) == 1
    assert ofproto_parser.msg.__module__ == "ryu.ofproto.ofproto_parser"


# ----------------------------------------------------------------------- fuzz
def test_fuzz_every_verdict_is_quick_and_ryu_parses_what_is_accepted() -> None:
    report = fz.run(FUZZ_MESSAGES, FUZZ_SEED)
    print(f"\nfuzz_openflow seed {FUZZ_SEED}: {report.summary(fz.DEFAULT_BOUND_S)}")
    assert report.failures == [] and report.failed == 0
    assert report.messages == FUZZ_MESSAGES
    for outcome in ("accept", "ignore", "reject"):
        assert report.verdicts[outcome] > 100, outcome
    for kind in (
        "OFPHello",
        "OFPPacketIn",
        "OFPFlowStatsReply",
        "OFPPortStatsReply",
        "OFPFlowRemoved",
        "OFPPortDescStatsReply",
        "OFPErrorMsg",
    ):
        assert report.accepted[kind] > 0, kind


# A hang interrupted inside another test's GC callback is reported as "unraisable" (and
# raised again by the repeating timer): expected here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_fuzz_catches_a_guard_that_lets_everything_through(monkeypatch, quiet_ryu) -> None:
    monkeypatch.setattr(ofguard, "check", lambda data: ofguard.ACCEPTED)
    report = fz.run(400, 3, bound_s=0.05, retry_pauses_s=())
    kinds = {f.split(":")[0] for f in report.failures}
    print(f"\npermissive guard: {report.failed} failures of {report.messages}: {sorted(kinds)}")
    assert {"Ryu hang (1 tries)", "Ryu raised on an accepted input"} <= kinds


def test_the_barrier_reply_shortcut_gives_the_full_walks_verdict() -> None:
    """Every 8- and 9-byte message (each type, version and length field): the same verdict
    as the full walk, so the shortcut accepts exactly the well-formed barrier replies."""
    import itertools
    import struct

    from controller.southbound.ofguard import check, full_check

    for version, msg_type, length, extra in itertools.product(
        (1, 4, 5), range(32), (0, 7, 8, 9, 0x108), (b"", b"\x00")
    ):
        msg = struct.pack("!BBHI", version, msg_type, length, 7) + extra
        assert check(msg) == full_check(msg), (version, msg_type, length, extra)
    assert check(struct.pack("!BBHI", 4, 21, 8, 7)).action.value == "accept"


def test_a_switch_announcing_ports_without_end_is_closed_at_the_bound() -> None:
    """Ryu adds every port of a port-description part (flagged MORE, over and over) and
    of every PORT_STATUS ADD to ``Datapath.ports``: past ``MAX_PORTS`` the guard closes
    the connection instead; re-announcing known ports and MODIFY/DELETE stay fine."""
    from controller.southbound.portcap import MAX_PORTS

    module, _calls = fake_parser_module()
    rejected: list[tuple[Any, str]] = []
    ofguard.install(module, lambda dp, why: rejected.append((dp, why)))
    dp = SimpleNamespace(id=1, address=("127.0.0.1", 40000), ports={})
    sent = 0
    with pytest.raises(UnsafeMessage, match="more than 4096 ports"):
        for start in range(1, 10 * MAX_PORTS, 1000):  # 1,000 new ports per part
            part = fz.multipart_reply(
                13, b"".join(fz.port_bytes(p) for p in range(start, start + 1000)), 1
            )
            module.msg(dp, 4, 19, len(part), 7, bytearray(part))
            dp.ports.update({p: object() for p in range(start, start + 1000)})  # as Ryu does
            sent += 1
    assert sent == MAX_PORTS // 1000 and len(dp.ports) <= MAX_PORTS and len(rejected) == 1
    known = fz.multipart_reply(13, b"".join(fz.port_bytes(p) for p in range(1, 1001)), 1)
    assert module.msg(dp, 4, 19, len(known), 8, bytearray(known)) == "parsed"  # known ports

    def status(reason: int, port_no: int) -> bytearray:
        return bytearray(fz.message(12, struct.pack("!B7x", reason) + fz.port_bytes(port_no)))

    dp.ports = {p: object() for p in range(1, MAX_PORTS + 1)}
    for msg in (status(2, 5), status(1, 5), status(0, 5)):  # MODIFY, DELETE, ADD known
        assert module.msg(dp, 4, 12, len(msg), 9, msg) == "parsed"
    with pytest.raises(UnsafeMessage, match="more than 4096 ports"):
        new = status(0, MAX_PORTS + 1)
        module.msg(dp, 4, 12, len(new), 10, new)
