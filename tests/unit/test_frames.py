"""The struct-based frame parser against Ryu-built frames, bad input, and a seeded fuzz run."""

from __future__ import annotations

import os
import struct
import time

import pytest
from ryu.lib.packet import arp, ethernet, ipv4, lldp, packet, tcp, udp, vlan

from controller.southbound import frames
from controller.southbound.frames import (
    MAX_FRAME_LEN,
    ArpInfo,
    Frame,
    FrameError,
    Ipv4Info,
    arp_frame,
    arp_reply,
    ethernet_frame,
    ipv4_checksum,
    ipv4_packet,
    is_multicast,
    parse_frame,
)
from testbed import fuzz_frames
from testbed.alarm import Hang, bounded

H1, H2 = "00:00:00:00:00:01", "0a:bb:cc:dd:ee:02"
IP1, IP2 = "10.0.0.1", "10.0.0.2"
FUZZ_FRAMES = int(os.environ.get("SDN_FUZZ_FRAMES", "80000"))
FUZZ_SEED = int(os.environ.get("SDN_FUZZ_SEED", "20240"))
FUZZ_SECONDS = float(os.environ.get("SDN_FUZZ_SECONDS", "15"))


def ryu_frame(*protocols: object) -> bytes:
    pkt = packet.Packet()
    for proto in protocols:
        pkt.add_protocol(proto)
    pkt.serialize()
    return bytes(pkt.data)


def test_arp_request_from_ryu() -> None:
    data = ryu_frame(
        ethernet.ethernet("ff:ff:ff:ff:ff:ff", H1, 0x0806),
        arp.arp(opcode=1, src_mac=H1, src_ip=IP1, dst_mac="00:00:00:00:00:00", dst_ip=IP2),
    )
    frame = parse_frame(data)
    assert frame == Frame(
        "ff:ff:ff:ff:ff:ff", H1, 0x0806, None, ArpInfo(1, H1, IP1, "00:00:00:00:00:00", IP2), None
    )
    assert frame.dst_is_multicast and not frame.src_is_multicast and not frame.is_lldp


def test_arp_reply_from_ryu() -> None:
    data = ryu_frame(
        ethernet.ethernet(H1, H2, 0x0806),
        arp.arp(opcode=2, src_mac=H2, src_ip=IP2, dst_mac=H1, dst_ip=IP1),
    )
    assert parse_frame(data).arp == ArpInfo(2, H2, IP2, H1, IP1)


def test_arp_reply_is_byte_for_byte_what_ryu_builds() -> None:
    expected = ryu_frame(
        ethernet.ethernet(H1, H2, 0x0806),
        arp.arp(opcode=2, src_mac=H2, src_ip=IP2, dst_mac=H1, dst_ip=IP1),
    )
    assert arp_reply(requester_mac=H1, requester_ip=IP1, target_mac=H2, target_ip=IP2) == expected
    assert len(expected) == 60


def test_ipv4_udp_from_ryu() -> None:
    data = ryu_frame(
        ethernet.ethernet(H2, H1, 0x0800),
        ipv4.ipv4(src=IP1, dst=IP2, proto=17),
        udp.udp(src_port=5000, dst_port=53),
        b"payload",
    )
    frame = parse_frame(data)
    assert (frame.dst, frame.src, frame.ethertype, frame.vlan, frame.arp) == (
        H2,
        H1,
        0x0800,
        None,
        None,
    )
    assert frame.ipv4 == Ipv4Info(IP1, IP2, 17, 5000, 53)


def test_ipv4_tcp_from_ryu() -> None:
    data = ryu_frame(
        ethernet.ethernet(H2, H1, 0x0800),
        ipv4.ipv4(src=IP1, dst=IP2, proto=6),
        tcp.tcp(src_port=40000, dst_port=80, bits=tcp.TCP_SYN),
    )
    assert parse_frame(data).ipv4 == Ipv4Info(IP1, IP2, 6, 40000, 80)


def test_vlan_tagged_ipv4_from_ryu() -> None:
    data = ryu_frame(
        ethernet.ethernet(H2, H1, 0x8100),
        vlan.vlan(vid=42, ethertype=0x0800, pcp=5),
        ipv4.ipv4(src=IP1, dst=IP2, proto=17),
        udp.udp(src_port=1, dst_port=2),
    )
    frame = parse_frame(data)
    assert (frame.ethertype, frame.vlan) == (0x0800, 42)
    assert frame.ipv4 == Ipv4Info(IP1, IP2, 17, 1, 2)


def test_double_tag_reports_outer_vlan() -> None:
    data = ryu_frame(
        ethernet.ethernet(H2, H1, 0x88A8),
        vlan.svlan(vid=300, ethertype=0x8100),
        vlan.vlan(vid=7, ethertype=0x0806),
        arp.arp(opcode=1, src_mac=H1, src_ip=IP1, dst_mac="00:00:00:00:00:00", dst_ip=IP2),
    )
    frame = parse_frame(data)
    assert (frame.ethertype, frame.vlan) == (0x0806, 300)
    assert frame.arp is not None and frame.arp.sender_ip == IP1


def test_three_tags_rejected() -> None:
    inner = ethernet_frame(H2, H1, 0x0800, ipv4_packet(H1, H2, IP1, IP2, 17, bytes(8))[14:], 1)
    tags = struct.pack("!HHHH", 0x88A8, 10, 0x8100, 20)
    with pytest.raises(FrameError, match="VLAN tags"):
        parse_frame(inner[:12] + tags + inner[12:])


def test_lldp_from_ryu() -> None:
    tlvs = (
        lldp.ChassisID(subtype=lldp.ChassisID.SUB_LOCALLY_ASSIGNED, chassis_id=b"dpid:1"),
        lldp.PortID(subtype=lldp.PortID.SUB_PORT_COMPONENT, port_id=b"\x00\x01"),
        lldp.TTL(ttl=120),
        lldp.End(),
    )
    data = ryu_frame(ethernet.ethernet("01:80:c2:00:00:0e", H1, 0x88CC), lldp.lldp(tlvs))
    frame = parse_frame(data)
    assert frame.is_lldp and frame.arp is None and frame.ipv4 is None


def test_unknown_ethertype_is_not_an_error() -> None:
    data = ryu_frame(ethernet.ethernet(H2, H1, 0x1234), b"whatever")
    frame = parse_frame(data)
    assert (frame.ethertype, frame.arp, frame.ipv4, frame.is_lldp) == (0x1234, None, None, False)


def test_builders_read_back_by_ryu() -> None:
    data = ipv4_packet(H1, H2, IP1, IP2, 17, struct.pack("!HHHH", 7, 9, 8, 0))
    eth, ip, udp_hdr = packet.Packet(data).protocols[:3]
    assert (eth.src, eth.dst, eth.ethertype) == (H1, H2, 0x0800)
    assert (ip.src, ip.dst, ip.proto, ip.total_length) == (IP1, IP2, 17, 28)
    assert ipv4_checksum(data[14:34]) == 0
    assert (udp_hdr.src_port, udp_hdr.dst_port) == (7, 9)

    request = packet.Packet(arp_frame(1, H1, IP1, "00:00:00:00:00:00", IP2))
    assert request.protocols[0].dst == "ff:ff:ff:ff:ff:ff"
    assert request.protocols[1].dst_ip == IP2

    tagged = packet.Packet(ethernet_frame(H2, H1, 0x0800, data[14:], vlan=99))
    assert tagged.protocols[1].vid == 99 and tagged.protocols[2].src == IP1


@pytest.mark.parametrize("seed", fuzz_frames.seed_frames(), ids=lambda d: d[12:14].hex())
def test_every_truncation_parses_or_raises_frame_error(seed: bytes) -> None:
    rejected = []
    for length in range(len(seed) + 1):
        try:
            result = parse_frame(seed[:length])
        except FrameError:
            rejected.append(length)
        else:
            assert isinstance(result, Frame)
    # Only the prefixes shorter than the headers the parser needs are rejected.
    assert rejected == list(range(len(rejected)))
    assert 14 <= len(rejected) <= len(seed)


@pytest.mark.parametrize(
    ("offset", "value"),
    [(14, b"\x00\x06"), (16, b"\x86\xdd"), (18, b"\x10"), (19, b"\x10")],
    ids=["htype", "ptype", "hlen", "plen"],
)
def test_non_ethernet_ipv4_arp_rejected(offset: int, value: bytes) -> None:
    good = arp_frame(1, H1, IP1, "00:00:00:00:00:00", IP2)
    with pytest.raises(FrameError, match="ARP"):
        parse_frame(good[:offset] + value + good[offset + len(value) :])


@pytest.mark.parametrize(
    ("offset", "value", "message"),
    [
        (14, b"\x65", "version"),
        (14, b"\x44", "header length"),
        (16, b"\x00\x13", "total length"),
        (14, b"\x4f\x00\xff\xff", "truncated IPv4 options"),
    ],
)
def test_bad_ipv4_header_rejected(offset: int, value: bytes, message: str) -> None:
    good = ipv4_packet(H1, H2, IP1, IP2, 17, bytes(8))
    with pytest.raises(FrameError, match=message):
        parse_frame(good[:offset] + value + good[offset + len(value) :])


def test_ports_only_with_a_whole_first_fragment_header() -> None:
    packet_ = ipv4_packet(H1, H2, IP1, IP2, 6, struct.pack("!HH", 1234, 80) + bytes(16))
    assert parse_frame(packet_).ipv4 == Ipv4Info(IP1, IP2, 6, 1234, 80)
    later_fragment = packet_[:20] + b"\x00\x10" + packet_[22:]
    assert parse_frame(later_fragment).ipv4 == Ipv4Info(IP1, IP2, 6, None, None)
    # Total length says 3 transport bytes; the zero padding after it is not a port.
    short = ipv4_packet(H1, H2, IP1, IP2, 17, b"\x00\x07\x00")
    assert parse_frame(short).ipv4 == Ipv4Info(IP1, IP2, 17, None, None)


def test_length_limits() -> None:
    with pytest.raises(FrameError, match="shorter"):
        parse_frame(bytes(13))
    longest = ipv4_packet(H1, H2, IP1, IP2, 17, bytes(65535 - 20))
    longest = longest[:12] + b"\x81\x00\x00\x05\x08\x00" + longest[14:]
    assert len(longest) == MAX_FRAME_LEN
    assert parse_frame(longest).ipv4 == Ipv4Info(IP1, IP2, 17, 0, 0)
    with pytest.raises(FrameError, match="longer"):
        parse_frame(longest + b"\x00")


@pytest.mark.parametrize(
    ("mac", "expected"),
    [
        ("00:00:00:00:00:01", False),
        ("0a:BB:cc:dd:ee:ff", False),
        ("01:80:c2:00:00:0e", True),
        ("ff:ff:ff:ff:ff:ff", True),
        ("33:33:00:00:00:01", True),
        ("00:00:00:00:00", True),
        ("00-00-00-00-00-01", True),
        ("0:0:0:0:0:1", True),
        ("zz:00:00:00:00:01", True),
        ("00:00:00:00:00:01\n", True),
        ("", True),
    ],
)
def test_is_multicast(mac: str, expected: bool) -> None:
    assert is_multicast(mac) is expected


@pytest.mark.parametrize(
    "kind", [fuzz_frames.TCP_OPT_EXPERIMENT, fuzz_frames.TCP_OPT_SACK], ids=["kind254", "sack"]
)
def test_tcp_option_of_length_zero_parses_fast(kind: int) -> None:
    data = fuzz_frames.tcp_option_len0_frame(kind)
    assert data[54:56] == bytes([kind, 0])
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        frame = parse_frame(data)
        timings.append(time.perf_counter() - start)
    assert frame.ipv4 == Ipv4Info("10.0.0.1", "10.0.0.2", 6, 40000, 80)
    # The baseline: ryu.lib.packet's TCP option loop never returns on this frame (stopped
    # here by the fuzzers' interval timer after 0.2 s).
    start = time.perf_counter()
    with pytest.raises(Hang), bounded(0.2):
        packet.Packet(data)
    ryu_s = time.perf_counter() - start
    print(
        f"\nTCP option kind {kind} of length 0: best of 5 parses {min(timings) * 1e6:.1f} us; "
        f"Ryu's parser still running when stopped after {ryu_s:.2f} s"
    )
    assert min(timings) < 0.001


def test_fuzz_every_input_parses_or_raises_frame_error_quickly() -> None:
    """Bounded by count and by time; every call runs under the fuzzer's interval timer, so
    a parse that never returns fails this test within the bound, not at pytest's timeout."""
    bound_s = fuzz_frames.DEFAULT_BOUND_S
    report = fuzz_frames.run(FUZZ_FRAMES, FUZZ_SEED, seconds=FUZZ_SECONDS, bound_s=bound_s)
    print(f"\nfuzz seed {FUZZ_SEED} (cap {FUZZ_SECONDS:g} s): {report.summary(bound_s)}")
    assert report.failures == [] and report.failed == 0 and report.hangs == 0
    # All of them, unless the time cap ended the run (a slow machine): then still plenty.
    assert report.frames == FUZZ_FRAMES or report.elapsed_s >= FUZZ_SECONDS
    assert report.frames >= min(FUZZ_FRAMES, 10_000)
    assert report.elapsed_s < FUZZ_SECONDS + 1.0
    assert report.max_call_s < bound_s
    # The generator reaches every branch of the parser, not just the error paths.
    for kind in ("FrameError", "arp", "ipv4", "ipv4+ports", "lldp", "other", "vlan/ipv4+ports"):
        assert report.outcomes[kind] > 0, kind


def test_fuzz_run_interrupts_a_parse_that_never_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parser regressed to Ryu's behaviour (no return on a TCP option of length 0) is
    stopped at the per-call bound by the timer, reported as a hang, and the run goes on."""
    hostile = {fuzz_frames.tcp_option_len0_frame(k) for k in (254, fuzz_frames.TCP_OPT_SACK)}

    def regressed(data: bytes, lenient: bool = False) -> Frame:
        while data in hostile:  # Ryu's TCP option loop: never returns
            pass
        return parse_frame(data, lenient=lenient)

    monkeypatch.setattr(fuzz_frames, "parse_frame", regressed)
    bound_s = fuzz_frames.DEFAULT_BOUND_S
    start = time.perf_counter()
    report = fuzz_frames.run(400, 1, seconds=20, bound_s=bound_s)  # 5 % unmutated seeds
    took = time.perf_counter() - start
    print(f"\nregressed parser: {report.summary(bound_s)}; run took {took:.2f} s")
    assert report.hangs >= 1 and report.failed == report.hangs
    assert all(f.startswith("hang") and any(h.hex() in f for h in hostile) for f in report.failures)
    assert report.interrupted == report.hangs * (1 + len(fuzz_frames.RETRY_PAUSES_S))
    assert report.frames == 400  # every other input still parsed
    assert took < 10.0


def test_lenient_parse_keeps_the_ethernet_part_of_a_bad_inner_header() -> None:
    """As Ryu's parser did: a broken ARP/IPv4 header still tells who sent the frame."""
    bad_ip = frames.ethernet_frame(
        "00:00:00:00:00:02", "00:00:00:00:00:01", frames.ETH_TYPE_IPV4, b"\x15" + bytes(40)
    )  # version 1
    with pytest.raises(frames.FrameError):
        frames.parse_frame(bad_ip)
    f = frames.parse_frame(bad_ip, lenient=True)
    assert (f.src, f.dst, f.ipv4, f.arp) == ("00:00:00:00:00:01", "00:00:00:00:00:02", None, None)
    assert f.inner_error
    with pytest.raises(frames.FrameError):
        frames.parse_frame(b"\x00" * 10, lenient=True)  # no Ethernet header: still an error


def test_only_untagged_lldp_counts_as_lldp() -> None:
    plain = frames.ethernet_frame("01:80:c2:00:00:0e", "02:00:00:00:00:01", 0x88CC, b"\x00" * 20)
    tagged = frames.ethernet_frame(
        "01:80:c2:00:00:0e", "02:00:00:00:00:01", 0x88CC, b"\x00" * 20, vlan=5
    )
    assert frames.parse_frame(plain).is_lldp and not frames.parse_frame(tagged).is_lldp
