"""How the plain-logic controller reaches switches: a transport the shell supplies.

The Ryu app's transport encodes and writes to the datapath; the unit tests' fake network
applies messages to fake flow tables. Nothing else differs between the two.
"""

from __future__ import annotations

from typing import Protocol

from controller.southbound.messages import Message


class Transport(Protocol):
    def send(self, msg: Message, xid: int | None = None) -> bool:
        """Send one message (with this xid when given); False: the switch is not connected."""

    def send_barrier(self, dpid: int, xid: int) -> bool:
        """Send a barrier request; False: the switch is not connected."""
