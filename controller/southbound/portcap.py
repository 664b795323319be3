"""How many ports a switch may have: a bound on what a connection's messages add.

Ryu's own handlers add a port to ``Datapath.ports`` for every port-description entry
(every part of a multipart reply flagged MORE, during the handshake) and for every
PORT_STATUS ADD, before the app sees the switch; from there ports reach the graph, the
LLDP probes, the flood targets and the meters. Without a bound, any TCP client of the
OpenFlow port could grow that without end. :func:`over_budget` is asked by the guard
(:func:`controller.southbound.ofguard.install`) for each accepted message: one that would
take its switch past :data:`MAX_PORTS` closes the connection.
"""

from __future__ import annotations

import struct
from typing import Any

MAX_PORTS = 4096
"""Ports per switch at most (a large hardware switch has a few hundred)."""
OFPT_PORT_STATUS, OFPT_MULTIPART_REPLY = 12, 19
OFPPR_ADD, OFPMP_PORT_DESC = 0, 13
PORT_SIZE = 64  # ofp_port


def over_budget(datapath: Any, msg_type: int, data: bytes | bytearray) -> str:
    """Why this message would give ``datapath`` more than ``MAX_PORTS`` ports ("": it
    would not). Reads only what the guard has already checked (sizes, framing)."""
    if msg_type == OFPT_PORT_STATUS:
        if data[8] != OFPPR_ADD:
            return ""
        offsets: range = range(16, 17)
    elif msg_type == OFPT_MULTIPART_REPLY and struct.unpack_from("!H", data, 8)[0] == (
        OFPMP_PORT_DESC
    ):
        offsets = range(16, len(data) - PORT_SIZE + 1, PORT_SIZE)
    else:
        return ""
    ports = getattr(datapath, "ports", None) or {}
    new = sum(struct.unpack_from("!I", data, at)[0] not in ports for at in offsets)
    if new and len(ports) + new > MAX_PORTS:
        return f"more than {MAX_PORTS} ports ({len(ports)} known, {new} more)"
    return ""
