"""Ethernet frame parsing for packet-in data: bounded, ``struct``-based, no Ryu.

Packet-in data comes from hosts and is untrusted. Ryu's packet library loops forever on some
malformed input (a TCP option of length 0) and so freezes the eventlet controller. This module
reads only the fields the controller uses, with a fixed amount of work per frame, and raises one
exception, :class:`FrameError`, for anything malformed. It also builds the few frames we send.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import struct
from dataclasses import dataclass

ETH_TYPE_IPV4 = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_VLAN = 0x8100  # 802.1Q customer tag
ETH_TYPE_QINQ = 0x88A8  # 802.1ad service tag
ETH_TYPE_LLDP = 0x88CC
IP_PROTO_TCP = 6
IP_PROTO_UDP = 17
ARP_REQUEST = 1
ARP_REPLY = 2
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"

MAX_FRAME_LEN = 65535 + 18
"""Longest packet-in data accepted: a maximum-size IPv4 packet behind Ethernet and one tag."""
MAX_VLAN_TAGS = 2
_MIN_ETH_PAYLOAD = 46  # pad to the 60-byte Ethernet minimum, as Ryu's serializer does
_TAG_TYPES = (ETH_TYPE_VLAN, ETH_TYPE_QINQ)

_ETH = struct.Struct("!6s6sH")  # dst, src, ethertype
_TAG = struct.Struct("!HH")  # TCI, next ethertype
_ARP = struct.Struct("!HHBBH6s4s6s4s")  # htype, ptype, hlen, plen, opcode, sha, spa, tha, tpa
_IPV4 = struct.Struct("!BBHHHBBH4s4s")  # ver/ihl, tos, length, id, flags/frag, ttl, proto, ...
_PORTS = struct.Struct("!HH")
_ARP_ETHERNET_IPV4 = (1, ETH_TYPE_IPV4, 6, 4)
_MAC_RE = re.compile(r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}")


class FrameError(ValueError):
    """Packet-in data that is not a frame we can read: too short or long, bad ARP or IPv4."""


@dataclass(frozen=True, slots=True)
class ArpInfo:
    """An Ethernet/IPv4 ARP message (request: opcode 1, reply: opcode 2)."""

    opcode: int
    sender_mac: str
    sender_ip: str
    target_mac: str
    target_ip: str


@dataclass(frozen=True, slots=True)
class Ipv4Info:
    """The IPv4 addresses and protocol; TCP/UDP ports when the first fragment carries them."""

    src: str
    dst: str
    proto: int
    src_port: int | None
    dst_port: int | None


@dataclass(frozen=True, slots=True)
class Frame:
    """What the controller needs from one frame; ``ethertype`` is the one inside VLAN tags."""

    dst: str
    src: str
    ethertype: int
    vlan: int | None
    arp: ArpInfo | None
    ipv4: Ipv4Info | None
    inner_error: str | None = None
    """Lenient parse only: why the ARP/IPv4 header was unreadable (then it is None)."""

    @property
    def is_lldp(self) -> bool:
        """An untagged LLDP frame (our topology probes, or a neighbour's)."""
        return self.ethertype == ETH_TYPE_LLDP and self.vlan is None

    @property
    def src_is_multicast(self) -> bool:
        """Source with the I/G bit set: never a real host, so never learned."""
        return int(self.src[:2], 16) & 1 == 1

    @property
    def dst_is_multicast(self) -> bool:
        """Destination with the I/G bit set (broadcast included)."""
        return int(self.dst[:2], 16) & 1 == 1


def parse_frame(data: bytes, lenient: bool = False) -> Frame:
    """Parse packet-in data; FrameError if it is truncated, oversized or has bad ARP/IPv4.
    ``lenient``: a bad ARP/IPv4 header leaves that part None (``inner_error`` says why)
    and the Ethernet part stands, as a switch would forward it. No loop depends on the
    input beyond the two-tag limit, so no input can make this slow."""
    size = len(data)
    if size < _ETH.size:
        raise FrameError(f"frame of {size} bytes is shorter than an Ethernet header")
    if size > MAX_FRAME_LEN:
        raise FrameError(f"frame of {size} bytes is longer than {MAX_FRAME_LEN}")
    dst, src, ethertype = _ETH.unpack_from(data)
    offset = _ETH.size
    vlan: int | None = None
    for depth in range(MAX_VLAN_TAGS + 1):
        if ethertype not in _TAG_TYPES:
            break
        if depth == MAX_VLAN_TAGS:
            raise FrameError(f"more than {MAX_VLAN_TAGS} VLAN tags")
        if size < offset + _TAG.size:
            raise FrameError("truncated VLAN tag")
        tci, ethertype = _TAG.unpack_from(data, offset)
        if vlan is None:
            vlan = tci & 0x0FFF
        offset += _TAG.size
    try:
        arp = _parse_arp(data, offset) if ethertype == ETH_TYPE_ARP else None
        ipv4 = _parse_ipv4(data, offset) if ethertype == ETH_TYPE_IPV4 else None
    except FrameError as exc:
        if not lenient:
            raise
        return Frame(dst.hex(":"), src.hex(":"), ethertype, vlan, None, None, str(exc))
    return Frame(dst.hex(":"), src.hex(":"), ethertype, vlan, arp, ipv4)


def _parse_arp(data: bytes, offset: int) -> ArpInfo:
    """The ARP message at ``offset``; only Ethernet/IPv4 ARP is accepted."""
    if len(data) < offset + _ARP.size:
        raise FrameError(f"truncated ARP message ({len(data) - offset} of {_ARP.size} bytes)")
    htype, ptype, hlen, plen, opcode, sha, spa, tha, tpa = _ARP.unpack_from(data, offset)
    if (htype, ptype, hlen, plen) != _ARP_ETHERNET_IPV4:
        raise FrameError(
            f"ARP with htype {htype}, ptype {ptype:#06x}, hlen {hlen}, plen {plen} "
            "is not Ethernet/IPv4"
        )
    return ArpInfo(opcode, sha.hex(":"), socket.inet_ntoa(spa), tha.hex(":"), socket.inet_ntoa(tpa))


def _parse_ipv4(data: bytes, offset: int) -> Ipv4Info:
    """The IPv4 header at ``offset`` and, for a first TCP/UDP fragment, the ports."""
    available = len(data) - offset
    if available < _IPV4.size:
        raise FrameError(f"truncated IPv4 header ({available} bytes)")
    ver_ihl, _tos, total_len, _id, frag, _ttl, proto, _sum, src, dst = _IPV4.unpack_from(
        data, offset
    )
    version, header_len = ver_ihl >> 4, (ver_ihl & 0x0F) * 4
    if version != 4:
        raise FrameError(f"IPv4 header with version {version}")
    if header_len < _IPV4.size:
        raise FrameError(f"IPv4 header length {header_len} is below 20")
    if total_len < header_len:
        raise FrameError(f"IPv4 total length {total_len} is below the header length {header_len}")
    if available < header_len:
        raise FrameError(f"truncated IPv4 options ({available} of {header_len} bytes)")
    src_port: int | None = None
    dst_port: int | None = None
    # Data may be cut short by the switch, and Ethernet padding after total_len is not payload.
    transport_len = min(total_len, available) - header_len
    first_fragment = frag & 0x1FFF == 0
    if proto in (IP_PROTO_TCP, IP_PROTO_UDP) and first_fragment and transport_len >= _PORTS.size:
        src_port, dst_port = _PORTS.unpack_from(data, offset + header_len)
    return Ipv4Info(socket.inet_ntoa(src), socket.inet_ntoa(dst), proto, src_port, dst_port)


def mac_bytes(mac: str) -> bytes:
    """The 6 bytes of a MAC string "aa:bb:cc:dd:ee:ff"; ValueError for any other form."""
    if not isinstance(mac, str) or not _MAC_RE.fullmatch(mac):
        raise ValueError(f"not a MAC address: {mac!r}")
    return bytes.fromhex(mac.replace(":", ""))


def is_multicast(mac: str) -> bool:
    """I/G bit of a MAC string; an invalid string counts as multicast (never a host)."""
    try:
        return mac_bytes(mac)[0] & 1 == 1
    except ValueError:
        return True


def _ip_bytes(ip: str) -> bytes:
    return ipaddress.IPv4Address(ip).packed


def ethernet_frame(
    dst: str, src: str, ethertype: int, payload: bytes, vlan: int | None = None
) -> bytes:
    """An Ethernet frame (one 802.1Q tag if ``vlan``), zero-padded to 60 bytes like Ryu's."""
    if not 0 <= ethertype <= 0xFFFF:
        raise ValueError(f"ethertype {ethertype} out of range")
    if vlan is None:
        body = payload
        outer_type = ethertype
    else:
        if not 0 <= vlan <= 0x0FFF:
            raise ValueError(f"VLAN id {vlan} out of range")
        body = _TAG.pack(vlan, ethertype) + payload
        outer_type = ETH_TYPE_VLAN
    padding = b"\x00" * max(0, _MIN_ETH_PAYLOAD - len(body))
    return _ETH.pack(mac_bytes(dst), mac_bytes(src), outer_type) + body + padding


def arp_frame(
    opcode: int,
    sender_mac: str,
    sender_ip: str,
    target_mac: str,
    target_ip: str,
    eth_dst: str | None = None,
) -> bytes:
    """An Ethernet/IPv4 ARP frame from ``sender_mac``; by default a request is broadcast and
    anything else goes to ``target_mac``."""
    if not 0 <= opcode <= 0xFFFF:
        raise ValueError(f"ARP opcode {opcode} out of range")
    if eth_dst is None:
        eth_dst = BROADCAST_MAC if opcode == ARP_REQUEST else target_mac
    message = _ARP.pack(
        *_ARP_ETHERNET_IPV4,
        opcode,
        mac_bytes(sender_mac),
        _ip_bytes(sender_ip),
        mac_bytes(target_mac),
        _ip_bytes(target_ip),
    )
    return ethernet_frame(eth_dst, sender_mac, ETH_TYPE_ARP, message)


def arp_reply(requester_mac: str, requester_ip: str, target_mac: str, target_ip: str) -> bytes:
    """The proxy-ARP answer "target_ip is at target_mac", sent to the requester."""
    return arp_frame(ARP_REPLY, target_mac, target_ip, requester_mac, requester_ip, requester_mac)


def ipv4_checksum(header: bytes) -> int:
    """Internet checksum of an IPv4 header (0 when computed over a header with a valid sum)."""
    total: int = sum(struct.unpack(f"!{len(header) // 2}H", header[: len(header) // 2 * 2]))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_packet(
    src_mac: str, dst_mac: str, src_ip: str, dst_ip: str, proto: int, payload: bytes
) -> bytes:
    """An Ethernet frame carrying one IPv4 packet (TTL 64, no options, valid header checksum)."""
    total_len = _IPV4.size + len(payload)
    if total_len > 0xFFFF:
        raise ValueError(f"IPv4 packet of {total_len} bytes is too long")
    if not 0 <= proto <= 0xFF:
        raise ValueError(f"IP protocol {proto} out of range")
    fields = [0x45, 0, total_len, 0, 0, 64, proto, 0, _ip_bytes(src_ip), _ip_bytes(dst_ip)]
    fields[7] = ipv4_checksum(_IPV4.pack(*fields))
    return ethernet_frame(dst_mac, src_mac, ETH_TYPE_IPV4, _IPV4.pack(*fields) + payload)
