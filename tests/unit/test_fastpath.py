"""The fast decoders read what Ryu's parser reads, on every message the guard accepts."""

from __future__ import annotations

import random
import struct
from types import SimpleNamespace

import pytest
from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from controller.southbound import fastpath, ofguard
from controller.southbound import ofp as ofp_codec
from testbed import fuzz_openflow as fz


def port_stats_entry(port_no: int, rng: random.Random) -> bytes:
    counters = [rng.getrandbits(64) for _ in range(12)]
    return struct.pack(ofp.OFP_PORT_STATS_PACK_STR, port_no, *counters, 5, 6)


def packet_ins(rng: random.Random) -> list[bytes]:
    frames = [b"", bytes(14), rng.randbytes(60), rng.randbytes(1500)]
    matches = [
        parser.OFPMatch(in_port=3),
        parser.OFPMatch(in_port=0xFFFFFF00),
        parser.OFPMatch(),
        parser.OFPMatch(in_port=7, eth_type=0x88CC, eth_src="02:00:00:00:00:01"),
        parser.OFPMatch(eth_dst="02:00:00:00:00:02", in_port=2, vlan_vid=0x1005),
        parser.OFPMatch(in_port=1, in_phy_port=9, metadata=(5, 0xFF)),
    ]
    return [fz.packet_in(m, f) for m in matches for f in frames]


def ryu_packet_in(msg: bytes) -> tuple[object, bytes]:
    parsed = fz.ryu_parse(msg)
    return parsed.match.get("in_port"), bytes(parsed.data)


def test_packet_in_matches_ryu_on_well_formed_messages() -> None:
    for msg in packet_ins(random.Random(1)):
        assert fastpath.packet_in(msg) == ryu_packet_in(msg)


def test_port_stats_match_ryu() -> None:
    rng = random.Random(2)
    for n in (0, 1, 5, 64):
        body = b"".join(port_stats_entry(p, rng) for p in range(1, n + 1))
        msg = fz.multipart_reply(ofp.OFPMP_PORT_STATS, body)
        ours = fastpath.port_stats(msg)
        theirs = [ofp_codec.port_counters(s) for s in fz.ryu_parse(msg).body]
        assert ours == theirs and len(ours) == n


def test_echo_reply_data_and_xid() -> None:
    msg = fz.message(ofp.OFPT_ECHO_REPLY, b"payload", xid=0xDEADBEEF)
    assert fastpath.echo_data(msg) == b"payload"
    assert fastpath.xid(msg) == 0xDEADBEEF


def test_other_multiparts_are_left_to_ryu() -> None:
    msg = fz.multipart_reply(ofp.OFPMP_PORT_DESC, fz.port_bytes(1))
    with pytest.raises(fastpath.Undecodable):
        fastpath.port_stats(msg)


@pytest.mark.parametrize("seed", [11, 12])
def test_mutated_messages_the_guard_accepts_decode_as_ryu_reads_them(seed: int) -> None:
    """Seeded mutations of packet-ins and port-stats replies: on each one the guard
    accepts, the fast decoder agrees with Ryu (or declines, leaving it to Ryu)."""
    rng = random.Random(seed)
    stats = b"".join(port_stats_entry(p, rng) for p in range(1, 4))
    seeds = [*packet_ins(rng), fz.multipart_reply(ofp.OFPMP_PORT_STATS, stats)]
    compared = 0
    for msg in fz.generate(rng, seeds):
        if compared >= 3000:
            break
        framed = fz.frame(msg)
        if framed is None or ofguard.check(framed).action is not ofguard.Action.ACCEPT:
            continue
        msg_type = framed[1]
        if msg_type == ofp.OFPT_PACKET_IN:
            in_port, data = ryu_packet_in(framed)
            ours = fastpath.packet_in(framed)
            # Ryu hands over a (value, mask) tuple for a masked in_port: ours is no port.
            assert ours == (in_port if isinstance(in_port, int) else None, data), framed.hex()
            compared += 1
        elif msg_type == ofp.OFPT_MULTIPART_REPLY:
            parsed = fz.ryu_parse(framed)
            if not isinstance(parsed, parser.OFPPortStatsReply):
                with pytest.raises(fastpath.Undecodable):
                    fastpath.port_stats(framed)
                continue
            theirs = [ofp_codec.port_counters(s) for s in parsed.body]
            assert fastpath.port_stats(framed) == theirs, framed.hex()
            compared += 1
    assert compared >= 3000


class Sessions:
    def __init__(self, owners: dict[object, int]) -> None:
        self.owners, self.heard_from = owners, []

    def owner(self, dp: object) -> int | None:
        return self.owners.get(dp)

    def heard(self, dp: object, now: float) -> None:
        self.heard_from.append(dp)


class Core:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_packet_in(self, dpid: int, in_port: int, data: bytes, now: float) -> None:
        self.calls.append(("packet_in", dpid, in_port, data))

    def on_barrier_reply(self, dpid: int, xid: int, now: float) -> None:
        self.calls.append(("barrier", dpid, xid))

    def on_port_stats(self, dpid: int, counters: list, now: float) -> None:
        self.calls.append(("port_stats", dpid, len(counters)))

    def on_echo_reply(self, dpid: int, data: bytes, now: float) -> None:
        self.calls.append(("echo", dpid, data))


class Dp:
    def __init__(self) -> None:
        self.acked: list[int] = []

    def acknowledge_echo_reply(self, xid: int) -> None:
        self.acked.append(xid)


def fast_path(passive: bool = False) -> tuple[fastpath.FastPath, Core, Dp, list[str]]:
    dp, core, log = Dp(), Core(), []
    fp = fastpath.FastPath(
        Sessions({dp: 7}),
        SimpleNamespace(passive=passive),
        core,
        lambda dpid, xid, t, c: core.calls.append(("error", dpid, xid, t, c)),
        lambda: log.append("flush"),
    )
    return fp, core, dp, log


def test_an_error_and_the_barrier_after_it_reach_the_core_in_wire_order() -> None:
    fp, core, dp, flushes = fast_path()
    error = fz.message(ofp.OFPT_ERROR, struct.pack("!HH", 5, 6) + bytes(8), xid=41)
    barrier = fz.message(ofp.OFPT_BARRIER_REPLY, xid=41)
    assert fp(dp, ofp.OFPT_ERROR, error) and fp(dp, ofp.OFPT_BARRIER_REPLY, barrier)
    assert core.calls == [("error", 7, 41, 5, 6), ("barrier", 7, 41)]
    assert flushes == ["flush", "flush"]


def test_packet_in_port_stats_and_echo_reach_the_core() -> None:
    fp, core, dp, _ = fast_path()
    pin = fz.packet_in(parser.OFPMatch(in_port=3), b"frame")
    stats = fz.multipart_reply(ofp.OFPMP_PORT_STATS, port_stats_entry(1, random.Random(1)))
    echo = fz.message(ofp.OFPT_ECHO_REPLY, b"t", xid=9)
    assert fp(dp, ofp.OFPT_PACKET_IN, pin) and fp(dp, ofp.OFPT_MULTIPART_REPLY, stats)
    assert fp(dp, ofp.OFPT_ECHO_REPLY, echo)
    assert core.calls == [("packet_in", 7, 3, b"frame"), ("port_stats", 7, 1), ("echo", 7, b"t")]
    assert dp.acked == [9]


def test_what_it_does_not_decode_goes_to_ryu() -> None:
    fp, core, dp, _ = fast_path()
    desc = fz.multipart_reply(ofp.OFPMP_PORT_DESC, fz.port_bytes(1))
    experimenter = fz.message(ofp.OFPT_ERROR, struct.pack("!HHI", 0xFFFF, 1, 99))
    flow_removed = fz.flow_removed(parser.OFPMatch(in_port=1))
    assert not fp(dp, ofp.OFPT_MULTIPART_REPLY, desc)
    assert not fp(dp, ofp.OFPT_ERROR, experimenter)
    assert not fp(dp, ofp.OFPT_FLOW_REMOVED, flow_removed)
    assert core.calls == []


def test_a_connection_that_holds_no_dpid_and_a_standby_change_nothing() -> None:
    fp, core, _, _ = fast_path()
    stranger = Dp()
    assert fp(stranger, ofp.OFPT_BARRIER_REPLY, fz.message(ofp.OFPT_BARRIER_REPLY, xid=1))
    standby, core2, dp, _ = fast_path(passive=True)
    pin = fz.packet_in(parser.OFPMatch(in_port=3), b"frame")
    assert standby(dp, ofp.OFPT_PACKET_IN, pin)
    assert standby(dp, ofp.OFPT_ECHO_REPLY, fz.message(ofp.OFPT_ECHO_REPLY, b"t"))
    assert core.calls == [] and core2.calls == [("echo", 7, b"t")]


def test_a_defect_in_the_core_is_logged_and_the_connection_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fp, core, dp, flushes = fast_path()

    def broken(*args: object) -> None:
        raise RuntimeError("defect")

    core.on_barrier_reply = broken  # type: ignore[method-assign]
    assert fp(dp, ofp.OFPT_BARRIER_REPLY, fz.message(ofp.OFPT_BARRIER_REPLY, xid=1))
    assert "message type 21" in caplog.text and flushes == ["flush"]
