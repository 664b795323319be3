"""Plain messages -> real Ryu OpenFlow 1.3 messages that serialize; Ryu ports -> PortInfo."""

from __future__ import annotations

import struct
from types import SimpleNamespace
from typing import Any

import pytest
from ryu.ofproto import ofproto_parser
from ryu.ofproto import ofproto_v1_3 as ofp_v13
from ryu.ofproto import ofproto_v1_3_parser as parser

from controller.southbound import ofp
from controller.southbound.messages import (
    COOKIE_APP,
    COOKIE_APP_MASK,
    OFPP_CONTROLLER,
    OFPP_TABLE,
    FlowAdd,
    FlowDelete,
    Match,
    PacketOut,
    PortStatsRequest,
)

A, B = "00:00:00:00:00:01", "00:00:00:00:00:02"


@pytest.fixture
def dp() -> Any:
    """Enough of a Ryu Datapath for building and serializing messages."""
    return SimpleNamespace(id=1, ofproto=ofp_v13, ofproto_parser=parser)


def serialized(msg: Any) -> bytes:
    msg.serialize()
    data = bytes(msg.buf)
    version, msg_type, length, _xid = ofproto_parser.header(data)
    assert version == ofp_v13.OFP_VERSION
    assert msg_type == msg.cls_msg_type
    assert length == len(data)
    return data


def reparsed(dp: Any, msg: Any) -> Any:
    data = serialized(msg)
    return ofproto_parser.msg(dp, *ofproto_parser.header(data), data)


def test_constants_agree_with_ryu() -> None:
    assert OFPP_CONTROLLER == ofp_v13.OFPP_CONTROLLER
    assert OFPP_TABLE == ofp_v13.OFPP_TABLE


def test_flow_add_to_a_port(dp: Any) -> None:
    plain = FlowAdd(
        1,
        Match(in_port=3, eth_src=A, eth_dst=B),
        out_port=4,
        priority=100,
        cookie=COOKIE_APP | 9,
        idle_timeout=60,
        hard_timeout=300,
        notify_removal=True,
    )
    msg = ofp.to_ofp(dp, plain)
    assert isinstance(msg, parser.OFPFlowMod)
    back = reparsed(dp, msg)
    assert back.command == ofp_v13.OFPFC_ADD
    assert (back.priority, back.cookie) == (100, COOKIE_APP | 9)
    assert (back.idle_timeout, back.hard_timeout) == (60, 300)
    assert back.flags & ofp_v13.OFPFF_SEND_FLOW_REM
    assert dict(back.match.items()) == {"in_port": 3, "eth_src": A, "eth_dst": B}
    (inst,) = back.instructions
    assert inst.type == ofp_v13.OFPIT_APPLY_ACTIONS
    assert [a.port for a in inst.actions] == [4]


def test_flow_add_to_the_controller_sends_whole_packets(dp: Any) -> None:
    plain = FlowAdd(1, Match(eth_type=0x88CC), OFPP_CONTROLLER, priority=65000, cookie=COOKIE_APP)
    back = reparsed(dp, ofp.to_ofp(dp, plain))
    assert dict(back.match.items()) == {"eth_type": 0x88CC}
    assert not back.flags & ofp_v13.OFPFF_SEND_FLOW_REM
    (action,) = back.instructions[0].actions
    assert action.port == ofp_v13.OFPP_CONTROLLER
    assert action.max_len == ofp_v13.OFPCML_NO_BUFFER


def test_table_miss_matches_everything(dp: Any) -> None:
    back = reparsed(dp, ofp.to_ofp(dp, FlowAdd(1, Match(), OFPP_CONTROLLER, 0, COOKIE_APP)))
    assert dict(back.match.items()) == {}
    assert back.priority == 0


def test_flow_delete_by_cookie_in_every_table(dp: Any) -> None:
    back = reparsed(dp, ofp.to_ofp(dp, FlowDelete(1, COOKIE_APP, COOKIE_APP_MASK)))
    assert back.command == ofp_v13.OFPFC_DELETE
    assert (back.cookie, back.cookie_mask) == (COOKIE_APP, COOKIE_APP_MASK)
    assert back.table_id == ofp_v13.OFPTT_ALL
    assert back.out_port == ofp_v13.OFPP_ANY
    assert back.out_group == ofp_v13.OFPG_ANY
    assert dict(back.match.items()) == {}


def test_flow_delete_default_mask_is_exact(dp: Any) -> None:
    back = reparsed(dp, ofp.to_ofp(dp, FlowDelete(1, COOKIE_APP | 5)))
    assert back.cookie_mask == 0xFFFF_FFFF_FFFF_FFFF


def test_a_flow_delete_with_a_match_is_strict(dp: Any) -> None:
    plain = FlowDelete(
        1, COOKIE_APP | 5, match=Match(in_port=3, eth_src=A, eth_dst=B), priority=100
    )
    back = reparsed(dp, ofp.to_ofp(dp, plain))
    assert back.command == ofp_v13.OFPFC_DELETE_STRICT
    assert (back.cookie, back.cookie_mask, back.priority) == (COOKIE_APP | 5, 2**64 - 1, 100)
    assert dict(back.match.items()) == {"in_port": 3, "eth_src": A, "eth_dst": B}


def _stats(match: Any, actions: list[Any]) -> Any:
    """One flow-stats entry as Ryu's parser hands it over."""
    inst = [parser.OFPInstructionActions(ofp_v13.OFPIT_APPLY_ACTIONS, actions)]
    return parser.OFPFlowStats(
        table_id=0, duration_sec=1, duration_nsec=0, priority=100, idle_timeout=60,
        hard_timeout=0, flags=1, cookie=COOKIE_APP | 0x10002, packet_count=5, byte_count=500,
        match=match, instructions=inst,
    )  # fmt: skip


def test_flow_counters_tell_what_an_entry_of_ours_is() -> None:
    stats = _stats(parser.OFPMatch(in_port=3, eth_src=A, eth_dst=B), [parser.OFPActionOutput(4)])
    got = ofp.flow_counters(stats)
    assert (got.cookie, got.byte_count, got.packet_count) == (COOKIE_APP | 0x10002, 500, 5)
    assert got.match == Match(in_port=3, eth_src=A, eth_dst=B)
    assert (got.out_port, got.priority, got.idle_timeout, got.hard_timeout) == (4, 100, 60, 0)
    lldp = ofp.flow_counters(_stats(parser.OFPMatch(eth_type=0x88CC), []))
    assert lldp.match == Match(eth_type=0x88CC) and lldp.out_port is None


@pytest.mark.parametrize(
    "match,actions",
    [
        (parser.OFPMatch(eth_dst=(B, "ff:ff:ff:00:00:00")), [parser.OFPActionOutput(4)]),
        (parser.OFPMatch(in_port=3, vlan_vid=5), [parser.OFPActionOutput(4)]),
        (parser.OFPMatch(in_port=3), [parser.OFPActionOutput(4), parser.OFPActionOutput(5)]),
        (parser.OFPMatch(in_port=3), [parser.OFPActionSetField(eth_dst=B)]),
    ],
)
def test_flow_counters_of_an_entry_we_do_not_install(match: Any, actions: list[Any]) -> None:
    got = ofp.flow_counters(_stats(match, actions))
    assert got.match is None or got.out_port is None


@pytest.mark.parametrize(
    "in_port,out_ports",
    [(OFPP_CONTROLLER, (1, 2, 5)), (3, (OFPP_TABLE,)), (OFPP_CONTROLLER, (7,))],
)
def test_packet_out(dp: Any, in_port: int, out_ports: tuple[int, ...]) -> None:
    frame = bytes(range(60))
    msg = ofp.to_ofp(dp, PacketOut(1, in_port, out_ports, frame))
    assert isinstance(msg, parser.OFPPacketOut)
    assert msg.buffer_id == ofp_v13.OFP_NO_BUFFER
    assert msg.in_port == in_port
    assert [a.port for a in msg.actions] == list(out_ports)
    data = serialized(msg)
    assert data.endswith(frame)


def test_port_stats_request(dp: Any) -> None:
    msg = ofp.to_ofp(dp, PortStatsRequest(1))
    assert isinstance(msg, parser.OFPPortStatsRequest)
    assert msg.port_no == ofp_v13.OFPP_ANY
    serialized(msg)


def test_messages_build_without_a_datapath() -> None:
    msg = ofp.to_ofp(None, FlowAdd(1, Match(in_port=1), 2, 10, COOKIE_APP))
    assert isinstance(msg, parser.OFPFlowMod)


def test_unknown_message_type_is_refused(dp: Any) -> None:
    with pytest.raises(TypeError, match="str"):
        ofp.to_ofp(dp, "flow please")  # type: ignore[arg-type]


def test_barrier_carries_the_xid(dp: Any) -> None:
    msg = ofp.barrier(dp, 0x5D000007)
    data = serialized(msg)
    assert ofproto_parser.header(data)[3] == 0x5D000007


# ---------------------------------------------------------------------- ports
def ryu_port(port_no: int = 3, config: int = 0, state: int = 0, speed_kbps: int = 0) -> Any:
    return parser.OFPPort(
        port_no=port_no,
        hw_addr="0a:00:00:00:01:03",
        name=b"s1-eth3",
        config=config,
        state=state,
        curr=0,
        advertised=0,
        supported=0,
        peer=0,
        curr_speed=speed_kbps,
        max_speed=0,
    )


def test_port_info_converts_speed_to_bits_per_second() -> None:
    info = ofp.port_info(ryu_port(speed_kbps=10_000_000))  # 10 Gbit/s in kbit/s
    assert info.speed_bps == 10_000_000_000
    assert (info.port_no, info.name, info.hw_addr, info.up) == (
        3,
        "s1-eth3",
        "0a:00:00:00:01:03",
        True,
    )


@pytest.mark.parametrize(
    "config,state,up",
    [
        (0, 0, True),
        (0, ofp_v13.OFPPS_LIVE, True),
        (0, ofp_v13.OFPPS_LINK_DOWN, False),
        (ofp_v13.OFPPC_PORT_DOWN, 0, False),
        (ofp_v13.OFPPC_PORT_DOWN, ofp_v13.OFPPS_LINK_DOWN, False),
        (ofp_v13.OFPPC_NO_FWD, 0, True),
    ],
)
def test_port_info_down_state(config: int, state: int, up: bool) -> None:
    assert ofp.port_info(ryu_port(config=config, state=state)).up is up


def test_port_info_accepts_a_text_name() -> None:
    p = ryu_port()._replace(name="eth9")
    assert ofp.port_info(p).name == "eth9"
    assert ofp.port_info(ryu_port(speed_kbps=0)).speed_bps == 0


# ---------------------------------------------------------------------- struct-built FlowMods
@pytest.mark.parametrize(
    "msg",
    [
        FlowAdd(
            7,
            Match(in_port=3, eth_src="00:00:00:00:00:01", eth_dst="0a:bc:de:f0:12:34"),
            5,
            100,
            0x5D00_0001_0000_0003,
            60,
            0,
            notify_removal=True,
        ),
        FlowAdd(7, Match(), 0xFFFFFFFD, 0, 0x5D << 56),  # table-miss to the controller
        FlowAdd(7, Match(eth_type=0x88CC), 0xFFFFFFFD, 65000, 0x5D << 56, 0, 30),
        FlowAdd(7, Match(), 0xFFFFFFFD, 0, 0x5D << 56, meter_id=1),  # metered table-miss
    ],
)
def test_struct_flow_mod_equals_ryus(dp: Any, msg: FlowAdd) -> None:
    from controller.southbound.ofp import encode_flow_add, to_ofp

    ours = encode_flow_add(msg, xid=42)
    version, msg_type, length, xid = ofproto_parser.header(ours)
    assert (version, msg_type, length, xid) == (4, 14, len(ours), 42)
    parsed = ofproto_parser.msg(dp, version, msg_type, length, xid, ours)
    theirs = to_ofp(dp, msg)
    theirs.xid = 42
    theirs.serialize()
    ref = ofproto_parser.msg(dp, version, msg_type, len(theirs.buf), 42, bytes(theirs.buf))
    for field in (
        "cookie",
        "cookie_mask",
        "table_id",
        "command",
        "idle_timeout",
        "hard_timeout",
        "priority",
        "buffer_id",
        "out_port",
        "out_group",
        "flags",
    ):
        assert getattr(parsed, field) == getattr(ref, field), field
    assert dict(parsed.match.items()) == dict(ref.match.items())
    assert [i.to_jsondict() for i in parsed.instructions] == [
        i.to_jsondict() for i in ref.instructions
    ]
    assert bytes(ours[8:]) == bytes(theirs.buf[8:])


def test_meter_messages_encode_as_the_specification_lays_them_out(dp: Any) -> None:
    from controller.southbound.messages import MeterFeaturesRequest, MeterSet

    o = ofp_v13
    add = ofp.to_ofp(dp, MeterSet(7, 1, 1000, 500))
    add.serialize()
    # ofp_meter_mod: command, flags, meter_id; one ofp_meter_band_drop: type, len, rate, burst
    assert struct.unpack_from("!HHI", add.buf, 8) == (
        o.OFPMC_ADD,
        o.OFPMF_PKTPS | o.OFPMF_BURST,
        1,
    )
    assert struct.unpack_from("!HHII", add.buf, 16) == (o.OFPMBT_DROP, 16, 1000, 500)
    modify = ofp.to_ofp(dp, MeterSet(7, 1, 10, 10, modify=True))
    modify.serialize()
    assert struct.unpack_from("!H", modify.buf, 8) == (o.OFPMC_MODIFY,)
    req = ofp.to_ofp(dp, MeterFeaturesRequest(7))
    req.serialize()
    assert struct.unpack_from("!H", req.buf, 8) == (o.OFPMP_METER_FEATURES,)


def test_meter_features_reads_ryus_reply_entry() -> None:
    stats = parser.OFPMeterFeaturesStats(64, 2, 0xF, 8, 0)
    f = ofp.meter_features(stats)
    assert (f.max_meter, f.band_types, f.capabilities, f.max_bands) == (64, 2, 0xF, 8)


@pytest.mark.parametrize(
    "msg",
    [
        PacketOut(7, 0xFFFFFFFD, (3,), b"\x01\x80\xc2\x00\x00\x0e" + bytes(54)),  # a probe
        PacketOut(7, 2, (0xFFFFFFF9,), bytes(range(60))),  # released through the table
        PacketOut(7, 1, (2, 3, 5), b"\xff" * 42),  # a flood to edge ports
        PacketOut(7, 1, (), b""),  # nothing to send (drop)
    ],
)
def test_struct_packet_out_equals_ryus(dp: Any, msg: PacketOut) -> None:
    from controller.southbound.ofp import encode_packet_out, to_ofp

    ours = encode_packet_out(msg, xid=9)
    theirs = to_ofp(dp, msg)
    theirs.xid = 9
    theirs.serialize()
    assert ours == bytes(theirs.buf)


def test_struct_requests_equal_ryus(dp: Any) -> None:
    """Echo, port-stats and barrier requests: every switch gets them every round."""
    from controller.southbound.messages import EchoRequest, PortStatsRequest

    for msg, ours in (
        (EchoRequest(7, b"\x01" * 12), ofp.encode_echo_request(EchoRequest(7, b"\x01" * 12), 9)),
        (EchoRequest(7, b""), ofp.encode_echo_request(EchoRequest(7, b""), 9)),
        (PortStatsRequest(7), ofp.encode_port_stats_request(9)),
    ):
        theirs = ofp.to_ofp(dp, msg)
        theirs.xid = 9
        theirs.serialize()
        assert ours == bytes(theirs.buf)
    barrier = ofp.barrier(dp, 0x5D000007)
    barrier.serialize()
    assert ofp.encode_barrier(0x5D000007) == bytes(barrier.buf)


@pytest.mark.parametrize("seed", range(3))
def test_path_flows_take_one_pack_with_the_same_bytes(seed: int) -> None:
    """Path flows (in_port, eth_dst, eth_src, one output) are packed whole; the bytes
    equal the field-by-field encoder's (which equals Ryu's, above)."""
    import random

    from controller.southbound.ofp import encode_flow_add, encode_flow_add_any

    rng = random.Random(seed)

    def mac() -> str:
        return ":".join(f"{rng.randrange(256):02x}" for _ in range(6))

    for _ in range(200):
        msg = FlowAdd(
            rng.randrange(1, 1 << 64),
            Match(in_port=rng.randrange(1, 0xFFFFFF00), eth_src=mac(), eth_dst=mac()),
            rng.randrange(1, 0xFFFFFF00),
            rng.randrange(1 << 16),
            rng.randrange(1 << 64),
            rng.randrange(1 << 16),
            rng.randrange(1 << 16),
            notify_removal=rng.random() < 0.5,
        )
        xid = rng.randrange(1 << 32)
        assert encode_flow_add(msg, xid) == encode_flow_add_any(msg, xid)
