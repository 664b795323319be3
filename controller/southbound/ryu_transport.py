"""The Ryu shell's transport: plain messages encoded for connected datapaths, sent later.

``send`` only encodes and queues (it never yields), so a core entry point runs to its
end without another greenlet seeing half-updated state; the shell calls :meth:`flush`
after each entry point.

One outbox per switch, bounded, and a flush that never blocks: Ryu's ``Datapath.send``
waits when the switch's 16-message queue is full, so a switch that stops reading would
stall whoever sends to it, and with one shared queue every other switch behind it (all
links dropped on each probe cycle: a finding of the hardening review). Here ``flush``
hands a switch only as many messages as its Ryu queue has room for and leaves the rest
in that switch's outbox, in order; the shell drains outboxes that are left over
(:attr:`backlogged`). A switch far behind gets no more packet-outs (probes, floods,
released packets: the traffic that can be lost) past ``LOW_VALUE_BACKLOG``, nothing
past ``MAX_OUTBOX``; one that has taken nothing for ``STUCK_S`` is reported by
:meth:`stuck`, for the shell to disconnect.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from controller.southbound import ofp
from controller.southbound.listener import write_now
from controller.southbound.messages import (
    EchoRequest,
    FlowAdd,
    Message,
    PacketOut,
    PortStatsRequest,
)

log = logging.getLogger("controller.southbound")

MAX_OUTBOX = 4096
"""Messages queued for one switch at most; more are dropped (and counted)."""
MAX_BATCH = 64
"""Encoded messages joined into one write to a switch (one queue slot, one syscall)."""
LOW_VALUE_BACKLOG = 256
"""A switch with this many messages waiting gets no more packet-outs."""
STUCK_S = 10.0
"""A switch that took no message for this long, with messages waiting, is stuck."""


@dataclass
class TransportCounters:
    messages_dropped_congested: int = 0
    messages_lost_closing: int = 0
    switches_disconnected_stuck: int = 0


@dataclass
class _Outbox:
    dp: Any
    queue: deque[bytes | Any] = field(default_factory=deque)
    blocked_since: float | None = None


def room(dp: Any) -> int:
    """How many messages Ryu's queue for ``dp`` takes now without blocking (0: closing)."""
    q = getattr(dp, "send_q", None)
    if q is None:
        return 0
    return max(0, int(q.maxsize) - int(q.qsize()))


class RyuTransport:
    def __init__(self) -> None:
        self.datapaths: dict[int, Any] = {}
        """dpid -> Ryu ``Datapath`` of every connected switch (kept by the shell)."""
        self._boxes: dict[int, _Outbox] = {}
        self._waiting: dict[int, None] = {}
        """dpids whose outbox holds messages, in order (a flush looks at these only)."""
        self.counters = TransportCounters()
        self.passive = False
        """A standby of a controller group: nothing that changes a switch goes out."""

    def _box(self, dpid: int, dp: Any) -> _Outbox:
        box = self._boxes.get(dpid)
        if box is None or box.dp is not dp:  # a new connection starts afresh
            if box is not None:
                self.counters.messages_lost_closing += len(box.queue)
            box = self._boxes[dpid] = _Outbox(dp)
        return box

    def forget(self, dpid: int, dp: Any) -> None:
        """``dp``'s connection ended: its outbox goes (what waited in it is lost), so
        switches that came and went leave nothing behind (nor keep their Datapath)."""
        box = self._boxes.get(dpid)
        if box is not None and box.dp is dp:
            self.counters.messages_lost_closing += len(box.queue)
            del self._boxes[dpid]
            self._waiting.pop(dpid, None)

    def _queue(self, dpid: int, dp: Any, item: bytes | Any, low_value: bool) -> bool:
        box = self._box(dpid, dp)
        if len(box.queue) >= (LOW_VALUE_BACKLOG if low_value else MAX_OUTBOX):
            self.counters.messages_dropped_congested += 1
            return False
        box.queue.append(item)
        self._waiting[dpid] = None
        return True

    def send(self, msg: Message, xid: int | None = None) -> bool:
        """Encode for the switch's datapath and queue; False when it is not connected or
        its outbox is full."""
        dp = self.datapaths.get(msg.dpid)
        if dp is None or self.passive:
            return False
        if type(msg) is FlowAdd:  # struct-built: the flow-setup hot path
            return self._queue(msg.dpid, dp, ofp.encode_flow_add(msg, xid or 0), False)
        if isinstance(msg, PacketOut):  # struct-built too: probes, floods, released packets
            return self._queue(msg.dpid, dp, ofp.encode_packet_out(msg, xid or 0), True)
        if isinstance(msg, EchoRequest):  # and the per-round requests of every switch
            return self._queue(msg.dpid, dp, ofp.encode_echo_request(msg, xid or 0), False)
        if isinstance(msg, PortStatsRequest):
            return self._queue(msg.dpid, dp, ofp.encode_port_stats_request(xid or 0), False)
        req = ofp.to_ofp(dp, msg)
        if xid is not None:
            req.xid = xid
        return self._queue(msg.dpid, dp, req, isinstance(msg, PacketOut))

    def send_barrier(self, dpid: int, xid: int) -> bool:
        dp = self.datapaths.get(dpid)
        if dp is None or self.passive:
            return False
        return self._queue(dpid, dp, ofp.encode_barrier(xid), False)

    def send_role(self, dpid: int, master: bool, generation: int) -> bool:
        """The switch's role for this controller (sent when passive too)."""
        dp = self.datapaths.get(dpid)
        if dp is None:
            return False
        return self._queue(dpid, dp, ofp.role_request(dp, master, generation), False)

    def pending(self) -> int:
        return sum(len(self._boxes[d].queue) for d in self._waiting)

    @property
    def backlogged(self) -> bool:
        """Messages wait for a switch whose queue was full at the last flush."""
        return bool(self._waiting)

    def flush(self, now: float | None = None) -> int:
        """Hand each switch what its Ryu queue takes without blocking, in order; returns
        how many messages went out. Never yields, so it cannot be re-entered."""
        now = time.monotonic() if now is None else now
        written = 0
        for dpid in list(self._waiting):
            box = self._boxes[dpid]
            if self.datapaths.get(dpid) is not box.dp:  # disconnected or replaced
                self.counters.messages_lost_closing += len(box.queue)
                del self._boxes[dpid], self._waiting[dpid]
                continue
            dp: Any = box.dp
            queue = box.queue
            n = 0
            for _ in range(min(room(dp), len(queue))):
                if not queue:
                    break
                item = queue.popleft()
                count = 1
                if type(item) is bytes:  # one write for a run of encoded messages
                    if queue and type(queue[0]) is bytes:
                        run = [item]
                        while queue and type(queue[0]) is bytes and len(run) < MAX_BATCH:
                            run.append(queue.popleft())
                        count = len(run)
                        item = b"".join(run)
                    ok = write_now(dp, item)
                    if ok is None:
                        ok = dp.send(item)
                else:
                    ok = dp.send_msg(item)
                if ok is False:
                    self.counters.messages_lost_closing += count
                n += count
            written += n
            if box.queue and n == 0:
                box.blocked_since = box.blocked_since if box.blocked_since is not None else now
            else:
                box.blocked_since = None
            if not box.queue:
                del self._waiting[dpid]
        return written

    def stuck(self, now: float) -> list[Any]:
        """Datapaths that took nothing for ``STUCK_S`` with messages waiting; their outboxes
        are dropped (the shell disconnects them)."""
        out = []
        for dpid in list(self._waiting):
            box = self._boxes[dpid]
            if box.blocked_since is not None and now - box.blocked_since >= STUCK_S:
                self.counters.messages_lost_closing += len(box.queue)
                self.counters.switches_disconnected_stuck += 1
                del self._boxes[dpid], self._waiting[dpid]
                out.append(box.dp)
        return out
