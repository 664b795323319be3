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

from ryu.lib.packet import ethernet, lldp, packet

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


def build_probe(dpid: int, port_no: int, hw_addr: str, sent_at: float, key: bytes) -> bytes:
    """An LLDP frame that says "sent from (dpid, port_no) at sent_at"."""
    src = hw_addr if hw_addr and hw_addr != "00:00:00:00:00:00" else "02:00:00:00:00:01"
    pkt = packet.Packet()
    pkt.add_protocol(ethernet.ethernet(LLDP_MAC_NEAREST_BRIDGE, src, ethernet.ether.ETH_TYPE_LLDP))
    tlvs = (
        lldp.ChassisID(
            subtype=lldp.ChassisID.SUB_LOCALLY_ASSIGNED, chassis_id=f"dpid:{dpid:016x}".encode()
        ),
        lldp.PortID(subtype=lldp.PortID.SUB_PORT_COMPONENT, port_id=struct.pack("!I", port_no)),
        lldp.TTL(ttl=120),
        lldp.OrganizationallySpecific(
            oui=OUI,
            subtype=SUBTYPE_PROBE,
            info=_PROBE.pack(sent_at, probe_tag(key, dpid, port_no, sent_at)),
        ),
        lldp.End(),
    )
    pkt.add_protocol(lldp.lldp(tlvs))
    pkt.serialize()
    return bytes(pkt.data)


def parse_probe(data: bytes) -> Probe | None:
    """The probe in ``data``, or None if it is not one of ours (or malformed)."""
    try:
        pkt = packet.Packet(data)
        msg = pkt.get_protocol(lldp.lldp)
    except Exception:
        return None
    if msg is None or len(msg.tlvs) < 4:
        return None
    chassis, port, org = msg.tlvs[0], msg.tlvs[1], None
    for tlv in msg.tlvs:
        if (
            isinstance(tlv, lldp.OrganizationallySpecific)
            and tlv.oui == OUI
            and tlv.subtype == SUBTYPE_PROBE
        ):
            org = tlv
    if not isinstance(chassis, lldp.ChassisID) or not isinstance(port, lldp.PortID) or org is None:
        return None
    ident = chassis.chassis_id
    if not ident.startswith(b"dpid:") or len(port.port_id) != 4 or len(org.info) != _PROBE.size:
        return None
    try:
        dpid = int(ident[5:], 16)
    except ValueError:
        return None
    (port_no,) = struct.unpack("!I", port.port_id)
    sent_at, tag = _PROBE.unpack(org.info)
    return Probe(dpid, port_no, sent_at, tag)
