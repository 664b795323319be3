"""LLDP probes for link discovery: build a probe for (dpid, port), parse one back.

The chassis ID carries the dpid ("dpid:%016x", as Ryu's own discovery does), the port ID
the port number, and an organizationally specific TLV the send time and an HMAC over
all three with a per-process secret key. Probes go out of host ports too (a port may
become a link any time), so a host sees them: the tag stops it from forging a probe
for another port or time, and probes of another controller instance do not verify.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

LLDP_MAC_NEAREST_BRIDGE = "01:80:c2:00:00:0e"
OUI = b"\x00\x26\xe1"  # used with our own subtype below
SUBTYPE_PROBE = 0x5D
_PROBE = struct.Struct("!d16s")
_SIGNED = struct.Struct("!QId")


@dataclass(frozen=True)
class Probe:
    dpid: int
    port_no: int
    sent_at: float
    tag: bytes

    def verify(self, key: bytes) -> bool:
        return hmac.compare_digest(self.tag, probe_tag(key, self.dpid, self.port_no, self.sent_at))


def probe_tag(key: bytes, dpid: int, port_no: int, sent_at: float) -> bytes:
    msg = _SIGNED.pack(dpid & 0xFFFFFFFFFFFFFFFF, port_no & 0xFFFFFFFF, sent_at)
    return hmac.new(key, msg, hashlib.sha256).digest()[:16]


_TLV = struct.Struct("!H")
_LLDP_DST = bytes.fromhex("0180c200000e")
_ETH_LLDP = b"\x88\xcc"
TLV_END, TLV_CHASSIS, TLV_PORT, TLV_TTL, TLV_ORG = 0, 1, 2, 3, 127
CHASSIS_LOCAL = 7  # chassis id subtype: locally assigned
PORT_COMPONENT = 2  # port id subtype: port component
DEFAULT_SRC = bytes.fromhex("020000000001")


def _tlv(kind: int, value: bytes) -> bytes:
    return _TLV.pack((kind << 9) | len(value)) + value


def _mac_bytes(mac: str) -> bytes:
    try:
        raw = bytes.fromhex(mac.replace(":", ""))
    except ValueError:
        return DEFAULT_SRC
    return raw if len(raw) == 6 and any(raw) else DEFAULT_SRC


def build_probe(dpid: int, port_no: int, hw_addr: str, sent_at: float, key: bytes) -> bytes:
    """An LLDP frame that says "sent from (dpid, port_no) at sent_at", signed with ``key``.

    Built with ``struct`` (a probe goes out of every port every second; Ryu's packet
    library took a tenth of the controller's time at 1,000 switches)."""
    info = _PROBE.pack(sent_at, probe_tag(key, dpid, port_no, sent_at))
    return b"".join(
        (
            _LLDP_DST,
            _mac_bytes(hw_addr),
            _ETH_LLDP,
            _tlv(
                TLV_CHASSIS,
                bytes([CHASSIS_LOCAL]) + f"dpid:{dpid & 0xFFFFFFFFFFFFFFFF:016x}".encode(),
            ),
            _tlv(TLV_PORT, bytes([PORT_COMPONENT]) + struct.pack("!I", port_no & 0xFFFFFFFF)),
            _tlv(TLV_TTL, struct.pack("!H", 120)),
            _tlv(TLV_ORG, OUI + bytes([SUBTYPE_PROBE]) + info),
            _tlv(TLV_END, b""),
        )
    )


def parse_probe(data: bytes) -> Probe | None:
    """The probe in ``data``, or None if it is not one of ours (or malformed)."""
    if len(data) < 14 or data[12:14] != _ETH_LLDP:
        return None
    off, end = 14, len(data)
    chassis = port = info = None
    first = True
    while off + 2 <= end:
        (head,) = _TLV.unpack_from(data, off)
        kind, length = head >> 9, head & 0x1FF
        off += 2
        if off + length > end:
            return None
        value = data[off : off + length]
        off += length
        if first and kind != TLV_CHASSIS:
            return None  # LLDP requires the chassis id first
        first = False
        if kind == TLV_END:
            break
        if kind == TLV_CHASSIS:
            chassis = value
        elif kind == TLV_PORT:
            port = value
        elif kind == TLV_ORG and value[:3] == OUI and len(value) >= 4 and value[3] == SUBTYPE_PROBE:
            info = value[4:]
    else:
        return None  # no End TLV
    if chassis is None or port is None or info is None:
        return None
    if chassis[:1] != bytes([CHASSIS_LOCAL]) or not chassis[1:].startswith(b"dpid:"):
        return None
    if port[:1] != bytes([PORT_COMPONENT]) or len(port) != 5 or len(info) != _PROBE.size:
        return None
    try:
        dpid = int(chassis[6:], 16)
    except ValueError:
        return None
    if not chassis[6:] or dpid > 0xFFFFFFFFFFFFFFFF:
        return None
    (port_no,) = struct.unpack("!I", port[1:])
    sent_at, tag = _PROBE.unpack(info)
    return Probe(dpid, port_no, sent_at, tag)
