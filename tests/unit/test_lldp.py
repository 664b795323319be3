"""LLDP probes: build and parse back; anything that is not our probe parses to None."""

from __future__ import annotations

import struct

import pytest
from ryu.lib.packet import ethernet, lldp, packet

from controller.discovery.lldp import (
    LLDP_MAC_NEAREST_BRIDGE,
    OUI,
    SUBTYPE_PROBE,
    Probe,
    build_probe,
    parse_probe,
    probe_tag,
)

KEY = b"k" * 32
TAG = probe_tag(KEY, 5, 3, 1.0)


@pytest.mark.parametrize(
    "dpid,port_no,sent_at",
    [
        (1, 1, 0.0),
        (0x0000_0000_0000_00FF, 48, 1234.5678),
        (0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FF00, 1e9 + 0.125),
    ],
)
def test_round_trip(dpid: int, port_no: int, sent_at: float) -> None:
    data = build_probe(dpid, port_no, "0a:00:00:00:00:01", sent_at, KEY)
    probe = parse_probe(data)
    assert probe == Probe(dpid, port_no, sent_at, probe_tag(KEY, dpid, port_no, sent_at))
    assert probe.verify(KEY)
    assert not probe.verify(b"another controller's key")


def test_a_forged_probe_does_not_verify() -> None:
    """A host sees real probes; it cannot re-label one for another port or time."""
    real = parse_probe(build_probe(5, 3, "0a:00:00:00:05:03", 1.0, KEY))
    assert real is not None and real.verify(KEY)
    assert not Probe(5, 4, 1.0, real.tag).verify(KEY)
    assert not Probe(6, 3, 1.0, real.tag).verify(KEY)
    assert not Probe(5, 3, 2.0, real.tag).verify(KEY)


def test_probe_is_an_lldp_frame_to_the_nearest_bridge_group() -> None:
    data = build_probe(5, 3, "0a:00:00:00:05:03", 1.0, KEY)
    eth = packet.Packet(data).get_protocol(ethernet.ethernet)
    assert eth.dst == LLDP_MAC_NEAREST_BRIDGE
    assert eth.src == "0a:00:00:00:05:03"
    assert eth.ethertype == 0x88CC


@pytest.mark.parametrize("hw_addr", ["", "00:00:00:00:00:00"])
def test_probe_without_a_port_address_uses_a_unicast_source(hw_addr: str) -> None:
    data = build_probe(5, 3, hw_addr, 1.0, KEY)
    eth = packet.Packet(data).get_protocol(ethernet.ethernet)
    assert not int(eth.src[:2], 16) & 1
    assert eth.src != "00:00:00:00:00:00"
    assert parse_probe(data) == Probe(5, 3, 1.0, TAG)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"\xff" * 13,
        b"\xff" * 14,
        b"\x01\x80\xc2\x00\x00\x0e" + b"\x02" * 6 + b"\x88\xcc",  # LLDP type, no TLVs
        b"\x01\x80\xc2\x00\x00\x0e" + b"\x02" * 6 + b"\x88\xcc" + b"\xde\xad\xbe\xef" * 8,
    ],
)
def test_garbage_is_none(data: bytes) -> None:
    assert parse_probe(data) is None


def test_truncated_probe_is_none() -> None:
    data = build_probe(5, 3, "0a:00:00:00:05:03", 1.0, KEY)
    for cut in range(0, len(data) - 1, 3):
        assert parse_probe(data[:cut]) is None, cut


def test_non_lldp_frame_is_none() -> None:
    pkt = packet.Packet()
    pkt.add_protocol(ethernet.ethernet("ff:ff:ff:ff:ff:ff", "00:00:00:00:00:01", 0x0800))
    pkt.add_protocol(b"\x45" + b"\x00" * 40)
    pkt.serialize()
    assert parse_probe(bytes(pkt.data)) is None


def _lldp_frame(*tlvs: object) -> bytes:
    pkt = packet.Packet()
    pkt.add_protocol(ethernet.ethernet(LLDP_MAC_NEAREST_BRIDGE, "0a:00:00:00:00:09", 0x88CC))
    pkt.add_protocol(lldp.lldp(tlvs))
    pkt.serialize()
    return bytes(pkt.data)


def _org(oui: bytes = OUI, subtype: int = SUBTYPE_PROBE, info: bytes | None = None) -> object:
    if info is None:
        info = struct.pack("!d16s", 1.0, TAG)
    return lldp.OrganizationallySpecific(oui=oui, subtype=subtype, info=info)


def _chassis(ident: bytes = b"dpid:0000000000000005") -> object:
    return lldp.ChassisID(subtype=lldp.ChassisID.SUB_LOCALLY_ASSIGNED, chassis_id=ident)


def _port(port_id: bytes = struct.pack("!I", 3)) -> object:
    return lldp.PortID(subtype=lldp.PortID.SUB_PORT_COMPONENT, port_id=port_id)


def test_hand_built_probe_parses() -> None:
    """The helpers below build a valid probe; each foreign variant changes one thing."""
    data = _lldp_frame(_chassis(), _port(), lldp.TTL(ttl=120), _org(), lldp.End())
    assert parse_probe(data) == Probe(5, 3, 1.0, TAG)


@pytest.mark.parametrize(
    "tlvs",
    [
        # A switch's own LLDP: MAC chassis id, interface name, no organizational TLV.
        (
            lldp.ChassisID(
                subtype=lldp.ChassisID.SUB_MAC_ADDRESS, chassis_id=b"\x0a\x00\x00\x00\x00\x09"
            ),
            lldp.PortID(subtype=lldp.PortID.SUB_INTERFACE_NAME, port_id=b"eth3"),
            lldp.TTL(ttl=120),
            lldp.End(),
        ),
        # Ryu's switches app: dpid chassis, but no probe TLV.
        (_chassis(), _port(), lldp.TTL(ttl=120), lldp.End()),
        (_chassis(), _port(), lldp.TTL(ttl=120), _org(oui=b"\x00\x12\x0f"), lldp.End()),
        (_chassis(), _port(), lldp.TTL(ttl=120), _org(subtype=1), lldp.End()),
        (_chassis(), _port(), lldp.TTL(ttl=120), _org(info=b"short"), lldp.End()),
        (_chassis(b"host:05"), _port(), lldp.TTL(ttl=120), _org(), lldp.End()),
        (_chassis(b"dpid:not-hex"), _port(), lldp.TTL(ttl=120), _org(), lldp.End()),
        (_chassis(), _port(b"s5-eth3"), lldp.TTL(ttl=120), _org(), lldp.End()),
    ],
    ids=[
        "switch-lldp",
        "no-org-tlv",
        "other-oui",
        "other-subtype",
        "short-info",
        "not-dpid",
        "bad-hex",
        "port-name",
    ],
)
def test_foreign_lldp_is_none(tlvs: tuple[object, ...]) -> None:
    assert parse_probe(_lldp_frame(*tlvs)) is None
