"""The Ryu shell's transport: plain messages encoded for connected datapaths, sent later.

``send`` only encodes and queues (it never yields), so a core entry point runs to its
end without another greenlet seeing half-updated state; the shell calls :meth:`flush`
after each entry point. ``Datapath.send`` may block (Ryu queues 16 messages per switch)
and let other greenlets run: only ``flush`` ever does, and one flush at a time drains the
outbox in order, so messages leave in the order the core produced them.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from controller.southbound import ofp
from controller.southbound.messages import FlowAdd, Message

log = logging.getLogger("controller.southbound")


class RyuTransport:
    def __init__(self) -> None:
        self.datapaths: dict[int, Any] = {}
        """dpid -> Ryu ``Datapath`` of every connected switch (kept by the shell)."""
        self._outbox: deque[tuple[Any, bytes | Any]] = deque()
        self._flushing = False
        self.lost = 0
        """Messages a datapath refused at flush time (it was closing)."""

    def send(self, msg: Message, xid: int | None = None) -> bool:
        """Encode for the switch's datapath and queue; False when it is not connected."""
        dp = self.datapaths.get(msg.dpid)
        if dp is None:
            return False
        if isinstance(msg, FlowAdd):  # struct-built: the flow-setup hot path
            self._outbox.append((dp, ofp.encode_flow_add(msg, xid or 0)))
        else:
            req = ofp.to_ofp(dp, msg)
            if xid is not None:
                req.xid = xid
            self._outbox.append((dp, req))
        return True

    def send_barrier(self, dpid: int, xid: int) -> bool:
        dp = self.datapaths.get(dpid)
        if dp is None:
            return False
        self._outbox.append((dp, ofp.barrier(dp, xid)))
        return True

    def pending(self) -> int:
        return len(self._outbox)

    def flush(self) -> None:
        """Write what is queued, in order. Re-entered while a flush waits on a full
        switch queue, it returns at once: the running flush drains the rest."""
        if self._flushing:
            return
        self._flushing = True
        try:
            while self._outbox:
                dp, item = self._outbox.popleft()
                ok = dp.send(item) if isinstance(item, bytes) else dp.send_msg(item)
                if ok is False:
                    self.lost += 1
                    log.debug("switch %s refused a message (closing)", dp.id)
        finally:
            self._flushing = False
